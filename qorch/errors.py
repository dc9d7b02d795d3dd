"""Stable import path for plugins: re-exports :mod:`qorch.contract.errors`."""

from qorch.contract.errors import *  # noqa: F403
from qorch.contract.errors import __all__ as __all__
