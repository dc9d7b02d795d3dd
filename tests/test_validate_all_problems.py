"""``qorch validate`` reports every problem at once, a circuit wider than a device included
(issue 13, item 1), from what providers know without their SDKs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qorch.engine import registry

WIDE = """
version: 1
kind: circuits
name: wide
shots: 100
circuits:
  - {name: fits, generator: ghz, qubits: 3}
  - {name: wide, generator: ghz, qubits: 7}
targets:
  - local:statevector
  - ibm:fake_manila
  - target: local:aer
    noise: ibm:fake_manila
  - braket:local
"""


def test_a_circuit_wider_than_a_device_is_refused_at_validate(
    cli, make_plan: Callable[..., Path]
) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(WIDE)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"{plan}:7: circuits[1]: circuit 'wide' needs 7 qubits but ibm:fake_manila has 5, "
        "local:aer (noise ibm:fake_manila) has 5"
    ]


def test_every_stage_reports_its_problems_together(cli, make_plan: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    """A bad target option, a circuit too wide and a check that selects nothing: all three."""
    text = WIDE.replace(
        "  - local:statevector\n", "  - target: local:statevector\n    options: {speed: 3}\n"
    )
    text += 'checks:\n  - {metric: tvd, circuit: "nothing*", max: 0.1}\n'
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{plan}:7: circuits[1]: circuit 'wide' needs 7 qubits")
    assert lines[1].startswith(f"{plan}:10: targets[0].options: option 'speed'")
    assert lines[2].startswith(f"{plan}:16: checks[0]"), lines


def test_providers_know_device_sizes_without_their_sdks() -> None:
    """The sizes validate uses are the sizes compile finds through the SDKs."""
    for target in ("local:statevector", "local:aer", "ibm:fake_manila", "ibm:fake_kyiv",
                   "braket:local", "braket:local_dm", "braket:sv1"):  # fmt: skip
        provider_name, device = registry.split_target(target)
        provider = registry.load(provider_name)
        assert provider.known_qubits(device) == provider.device(device).num_qubits, target
    assert registry.load("ibm").known_qubits("ibm_torino") is None  # only the service knows
