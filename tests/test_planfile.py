"""The plan model and loader: defaults, validation and located errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qorch.engine.kinds import plan_json_schema
from qorch.engine.planfile import PlanErrors, load_plan
from qorch.workloads.circuits.plan import CircuitsPlan
from qorch.workloads.sources.spec import QaoaMaxcutCircuit

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
    assert lines == ["plan.yaml:7: circuits[1].name: circuit name 'g' is used twice"]  # its line


def test_a_duplicate_node_points_at_the_second_nodes_line(make_plan: Callable[..., Path]) -> None:
    text = """\
version: 1
kind: distributed
circuit: {name: q, generator: qft, qubits: 4}
nodes:
  - {name: a, target: local:aer, capacity: 4}
  - {name: a, target: local:aer, capacity: 4}
links:
  - {between: [a, a], preset: telecom-fibre}
"""
    lines = errors_of(make_plan, text)
    assert lines[0] == "plan.yaml:6: nodes[1].name: node name 'a' is used twice", lines


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


# --- YAML merge keys (issue 9, item 11) -------------------------------------------------

MERGED = """
version: 1
kind: circuits
circuits:
  - &ghz
    name: g
    generator: ghz
    qubits: 3
  - <<: *ghz
    name: h
targets:
  - &aer {target: local:aer, optimization_level: 2, shots: 10}
  - <<: *aer
    noise: ibm:fake_manila
    shots: 20
"""


def test_merge_keys_are_supported(make_plan: Callable[..., Path]) -> None:
    loaded = load_plan(make_plan(MERGED))
    plan = loaded.plan
    assert isinstance(plan, CircuitsPlan)
    assert [c.name for c in plan.circuits] == ["g", "h"]
    assert plan.circuits[1].qubits == 3  # type: ignore[union-attr]
    second = plan.targets[1]
    assert (second.target, second.optimization_level, second.noise, second.shots) == (
        "local:aer",
        2,
        "ibm:fake_manila",
        20,  # the mapping's own key wins over the merged one
    )
    assert loaded.line_of("targets", 1) == 12
    assert loaded.line_of("targets", 1, "noise") == 13
    assert loaded.line_of("targets", 1, "optimization_level") == 11  # where it is written


def test_merged_fields_are_validated_and_located(make_plan: Callable[..., Path]) -> None:
    lines = errors_of(make_plan, MERGED.replace("optimization_level: 2", "optimization_level: 7"))
    assert lines == [
        "plan.yaml:11: targets[0].optimization_level: input should be less than or equal to 3",
        "plan.yaml:11: targets[1].optimization_level: input should be less than or equal to 3",
    ]
    lines = errors_of(make_plan, MERGED.replace("    qubits: 3\n", "    qubits: 3\n    x: 1\n"))
    assert lines == [
        "plan.yaml:8: circuits[0].x: unknown field",
        "plan.yaml:8: circuits[1].x: unknown field",
    ]


def test_merge_of_a_list_of_mappings_takes_the_first(make_plan: Callable[..., Path]) -> None:
    text = """
    version: 1
    kind: circuits
    circuits:
      - {name: g, generator: ghz, qubits: 3}
    targets:
      - &a {target: local:aer, optimization_level: 2}
      - &b {target: local:statevector, optimization_level: 0, shots: 5}
      - <<: [*a, *b]
    """
    plan = load_plan(make_plan(text)).plan
    assert isinstance(plan, CircuitsPlan)
    merged = plan.targets[2]
    assert (merged.target, merged.optimization_level, merged.shots) == ("local:aer", 2, 5)


@pytest.mark.parametrize("value", ["3", "[1, 2]", "[*a, 3]"])
def test_merge_of_a_non_mapping_is_located(make_plan: Callable[..., Path], value: str) -> None:
    text = BASE.replace("  - local:aer", f"  - &a {{target: local:aer}}\n  - <<: {value}")
    lines = errors_of(make_plan, text)
    assert lines == [
        "plan.yaml:9: targets[1].<<: a merge key (<<) takes a mapping or a list of mappings"
    ]


def test_explicit_duplicate_beside_a_merge_is_still_an_error(
    make_plan: Callable[..., Path],
) -> None:
    text = BASE.replace(
        "  - local:aer", "  - &a {target: local:aer}\n  - <<: *a\n    shots: 1\n    shots: 2"
    )
    assert errors_of(make_plan, text) == ["plan.yaml:11: targets[1].shots: duplicate key"]


def test_merge_keys_through_the_cli(cli, make_plan: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    result = cli("validate", str(make_plan(MERGED)))
    assert result.returncode == 0, result.stderr
    assert "ok (4 jobs)" in result.stderr
