"""The built-in local provider passes the conformance suite on both devices."""

from __future__ import annotations

from qorch.testing import ProviderConformance


class TestLocalAer(ProviderConformance):
    provider_name = "local"
    device = "aer"
    min_fidelity = 0.99


class TestLocalStatevector(ProviderConformance):
    provider_name = "local"
    device = "statevector"
    min_fidelity = 0.99
