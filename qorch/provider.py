"""Stable import path for plugins: re-exports :mod:`qorch.contract.provider`."""

from qorch.contract.provider import *  # noqa: F403
from qorch.contract.provider import __all__ as __all__
