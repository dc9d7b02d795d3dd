"""Device listing and capabilities: fake backends offline, real-device names by pattern."""

from __future__ import annotations

import json
import warnings

import pytest
from qorch_ibm import devices

from qorch.contract.errors import OptionError, UnknownDeviceError
from qorch.contract.provider import Provider, TargetOptions
from qorch.engine import registry
from qorch.testing import bell_circuit


@pytest.fixture
def provider() -> Provider:
    return registry.load("ibm")


def test_cheap_listing_is_the_sdks_own_fake_list(provider: Provider) -> None:
    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK warns about fake_nighthawk's properties
        sdk = sorted(backend.name for backend in FakeProviderForBackendV2().backends())
    assert provider.device_names() == sdk
    assert len(sdk) > 50


def test_big_device_capabilities(provider: Provider) -> None:
    info = provider.device("fake_brisbane")
    assert info.target == "ibm:fake_brisbane"
    assert info.num_qubits == 127
    assert "ecr" in info.native_gates
    assert not {"measure", "reset", "delay", "if_else", "for_loop"} & set(info.native_gates)
    assert info.coupling is not None and len(info.coupling) >= 126  # at least a spanning tree
    assert all(0 <= a < 127 and 0 <= b < 127 for a, b in info.coupling)
    assert info.simulator and info.local and info.price is None
    assert info.max_shots and info.max_shots >= 100_000
    assert info.description.startswith("noisy local simulation of IBM brisbane")
    json.dumps(info.to_dict())


def test_real_device_names_are_accepted_by_pattern_only(provider: Provider) -> None:
    provider.check_device("ibm_torino")
    provider.check_device("ibm_fez")
    assert not provider.device_is_local("ibm_torino")
    assert provider.device_is_local("fake_manila")
    with pytest.raises(UnknownDeviceError, match=r"did you mean fake_brisbane"):
        provider.check_device("fake_brisbne")
    for wrong in ("IBM_torino", "ibm-torino", "torino", "ibm_"):
        with pytest.raises(UnknownDeviceError, match="ibm_<name>"):
            provider.check_device(wrong)


def test_qiskit_backend_is_the_fake_backend(provider: Provider) -> None:
    backend = provider.qiskit_backend("fake_manila")
    assert backend.name == "fake_manila" and backend.num_qubits == 5
    assert provider.qiskit_backend("fake_manila") is backend  # one per process (noise model cache)
    with pytest.raises(UnknownDeviceError, match="fake_<name>"):
        provider.qiskit_backend("ibm_torino")


def test_fake_devices_are_free(provider: Provider) -> None:
    payload = provider.translate(bell_circuit(), "fake_manila", TargetOptions(), seed=1)
    cost = provider.estimate_cost("fake_manila", payload, 10_000)
    assert cost.usd == 0.0 and "free" in cost.basis


def test_qpu_time_estimate_matches_ibms_published_example(provider: Provider) -> None:
    # IBM's usage guide: a Bell circuit with 4096 shots reports about 4.1 quantum seconds.
    payload = provider.translate(bell_circuit(), "fake_brisbane", TargetOptions(), seed=1)
    seconds = devices.qpu_seconds(provider.qiskit_backend("fake_brisbane"), payload, 4096)
    assert 3.6 < seconds < 4.6
    more = devices.qpu_seconds(provider.qiskit_backend("fake_brisbane"), payload, 40_960)
    assert more - seconds == pytest.approx(9 * (seconds - devices.JOB_OVERHEAD_S))


def test_pay_as_you_go_price_is_documented() -> None:
    price = devices.PAYG_PRICE
    assert price.per_second_usd == pytest.approx(96 / 60)
    assert "ibm.com/quantum/pricing" in price.source and price.as_of


def test_options_are_checked(provider: Provider) -> None:
    provider.check_options("fake_manila", TargetOptions(extra={"queue_delay_s": 2.5}))
    provider.check_options("ibm_torino", TargetOptions(max_execution_time_s=300))
    with pytest.raises(OptionError, match="queue_delay_s"):
        provider.check_options("fake_manila", TargetOptions(extra={"queue_delay_s": -1}))
    with pytest.raises(OptionError, match="not accepted by ibm:ibm_torino"):
        provider.check_options("ibm_torino", TargetOptions(extra={"queue_delay_s": 1}))
    with pytest.raises(OptionError, match="noise"):
        provider.check_options("fake_manila", TargetOptions(noise="ibm:fake_brisbane"))


@pytest.mark.parametrize("name", ["fake_manila", "fake_kyiv", "fake_torino"])
def test_the_listing_of_qorch_backends_says_what_the_backend_says(name: str) -> None:
    """``qorch backends`` reads the shipped configuration files (68 backends without building
    one); each listed device agrees with the backend itself."""
    from qorch_ibm import devices as ibm_devices

    from qorch.engine import registry

    provider = registry.load("ibm")
    listed = ibm_devices.fake_listing("ibm", name)
    built = provider.device(name)
    assert listed is not None
    assert (listed.num_qubits, listed.native_gates, listed.max_shots, listed.coupling) == (
        built.num_qubits, built.native_gates, built.max_shots, built.coupling)  # fmt: skip
    assert {d.name for d in provider.devices()} == set(ibm_devices.fake_names())
