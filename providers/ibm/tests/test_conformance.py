"""The IBM provider passes qorch's provider conformance suite on a fake backend."""

from __future__ import annotations

from qorch.testing import ProviderConformance


class TestIBMFake(ProviderConformance):
    """fake_santiago: 5 qubits (a fast noise model), noisy, so the default min_fidelity.

    Measured GHZ-4 fidelity (2000 shots, seeds 7-9): fake_santiago 0.91-0.93,
    fake_manila 0.82-0.84 — below the suite's 0.85, hence not manila.
    """

    provider_name = "ibm"
    device = "fake_santiago"
