"""Stable import path for plugins: re-exports :mod:`qorch.contract.payload`."""

from qorch.contract.payload import *  # noqa: F403
from qorch.contract.payload import __all__ as __all__
