"""The braket provider passes qorch's conformance suite on both local simulators."""

from __future__ import annotations

from qorch.testing import ProviderConformance


class TestBraketLocal(ProviderConformance):
    provider_name = "braket"
    device = "local"
    min_fidelity = 0.99


class TestBraketLocalDensityMatrix(ProviderConformance):
    provider_name = "braket"
    device = "local_dm"
    min_fidelity = 0.99
