"""The plan model and loader: defaults, validation and located errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qorch.plan import CircuitsPlan, QaoaMaxcutCircuit, plan_json_schema
from qorch.planfile import PlanErrors, load_plan

BASE = """
version: 1
kind: circuits
circuits:
  - name: g
    generator: ghz
    qubits: 3
targets:
  - local:aer
"""


def errors_of(make_plan: Callable[..., Path], text: str) -> list[str]:
    path = make_plan(text)
    with pytest.raises(PlanErrors) as caught:
        load_plan(path, "plan.yaml")
    return caught.value.lines()


def test_defaults_and_string_targets(make_plan: Callable[..., Path]) -> None:
    loaded = load_plan(make_plan(BASE))
    plan = loaded.plan
    assert isinstance(plan, CircuitsPlan)
    assert plan.shots == 1024 and plan.seed == 0
    assert plan.targets[0].target == "local:aer" and plan.targets[0].optimization_level == 1
    assert plan.budget.max_total_shots is None
    assert plan.target_shots(plan.targets[0]) == 1024
    assert loaded.line_of("targets", 0) == 8


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("version: 1", "version: 2"), "plan.yaml:1: version: input should be 1"),
        (("kind: circuits", "kind: qnn"), "plan.yaml:2: kind: unknown plan kind 'qnn'"),
        (("qubits: 3", "qubits: 1"), "plan.yaml:6: circuits[0].qubits: input should be"),
        (("generator: ghz", "generator: w"), "plan.yaml:4: circuits[0]: a circuit needs"),
        (
            ("local:aer", "localaer"),
            "plan.yaml:8: targets[0]: 'localaer' is not of the form provider:device",
        ),
        (
            ("  - local:aer", "  - {target: local:aer, optimization_level: 4}"),
            "plan.yaml:8: targets[0].optimization_level: input should be less than or equal to 3",
        ),
        (("targets:\n  - local:aer\n", "targets: []\n"), "plan.yaml:7: targets: list should have"),
    ],
)
def test_located_errors(
    make_plan: Callable[..., Path], change: tuple[str, str], expected: str
) -> None:
    lines = errors_of(make_plan, BASE.replace(*change))
    assert lines[0].startswith(expected), lines


def test_duplicate_key_is_an_error(make_plan: Callable[..., Path]) -> None:
    lines = errors_of(make_plan, BASE + "shots: 1\nshots: 2\n")
    assert lines == ["plan.yaml:10: shots: duplicate key"]


def test_duplicate_circuit_names(make_plan: Callable[..., Path]) -> None:
    text = BASE.replace("targets:", "  - {name: g, generator: qft, qubits: 2}\ntargets:")
    lines = errors_of(make_plan, text)
    assert "circuit name 'g' is used twice" in lines[0]


def test_qaoa_angles_must_match_p(make_plan: Callable[..., Path]) -> None:
    circuit = "  - {name: q, generator: qaoa-maxcut, qubits: 4, degree: 3, p: 2, "
    circuit += "gammas: [0.1], betas: [0.2, 0.3], seed: 1}\n"
    lines = errors_of(make_plan, BASE.replace("targets:", circuit + "targets:"))
    assert "gammas has 1 angles but p is 2" in lines[0]
    with pytest.raises(ValueError, match="must be even"):
        QaoaMaxcutCircuit(
            name="q",
            generator="qaoa-maxcut",
            qubits=5,
            degree=3,
            p=1,
            gammas=[0.1],
            betas=[0.1],
            seed=1,
        )


def test_empty_and_non_mapping_files(make_plan: Callable[..., Path]) -> None:
    assert errors_of(make_plan, "") == ["plan.yaml:1: the plan file is empty"]
    assert errors_of(make_plan, "- a\n- b\n") == ["plan.yaml:1: a plan must be a mapping of fields"]


def test_schema_lists_every_generator() -> None:
    text = str(plan_json_schema())
    for generator in ("ghz", "qft", "random", "qaoa-maxcut"):
        assert generator in text
