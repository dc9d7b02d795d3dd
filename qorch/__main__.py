"""``python -m qorch``: the same entry point as the ``qorch`` console script."""

from qorch.cli.entry import main

if __name__ == "__main__":
    main()
