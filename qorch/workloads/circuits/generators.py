"""The built-in circuit generators (they live in :mod:`qorch.workloads.sources.generators`,
shared by every plan kind; re-exported here for older imports)."""

from qorch.workloads.sources.generators import ghz, qaoa_maxcut, qft, random

__all__ = ["ghz", "qaoa_maxcut", "qft", "random"]
