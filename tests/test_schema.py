"""The exported JSON Schema accepts what the loader accepts (issue 9, item 13).

Every example plan and every ``qorch init`` template must validate against
``plan_json_schema()`` (and the identical ``qorch schema`` output) with a JSON
Schema validator; so must every shorthand a before-validator accepts, and the
schema must refuse what the loader refuses for the values item 16 tightened.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from qorch.engine.kinds import plan_json_schema
from qorch.engine.planfile import PlanErrors, load_plan

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "plans").glob("*.yaml")) + sorted(
    (REPO / "qorch" / "workloads").glob("*/template.yaml")
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = plan_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    """Every schema error, with the deepest cause of each (``oneOf`` hides them)."""
    found = []
    for error in validator.iter_errors(data):
        causes = sorted(error.context or [error], key=lambda e: -len(e.absolute_path))
        found.append(f"{list(causes[0].absolute_path)}: {causes[0].message}")
    return found


def test_schema_command_prints_the_same_schema(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("schema")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(json.dumps(plan_json_schema()))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_examples_and_templates_validate_against_the_schema(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    load_plan(path)  # the loader accepts it
    data = yaml.safe_load(path.read_text())
    assert schema_errors(validator, data) == []


SHORTHANDS = {
    "circuits: string targets": """
        version: 1
        kind: circuits
        circuits:
          - {name: g, generator: ghz, qubits: 3}
          - {name: b, qasm: bell.qasm}
        targets:
          - local:aer
          - {target: local:aer, noise: ibm:fake_manila, options: {queue_delay_s: 0.5}}
    """,
    "qcnn: string evaluate targets and fine-tune target": """
        version: 1
        kind: qcnn
        data: {classes: [0, "1"], compression_for: {amplitude: resize}}
        model: {share: [true, false, true]}
        sweep: {seeds: [1, 2], encoding: [angle, hde-2]}
        evaluate: {targets: [local:aer, {target: local:statevector, shots: 10}]}
        fine_tune: {target: local:aer}
    """,
    "qcnn: fine-tune target as a mapping, sweep seeds as a count": """
        version: 1
        kind: qcnn
        sweep: {seeds: 4}
        fine_tune: {target: {target: local:aer, optimization_level: 2}, steps: 3}
    """,
    "distributed: unnamed generator circuit": """
        version: 1
        kind: distributed
        circuit: {generator: qaoa-maxcut, qubits: 4, gammas: [0.1], betas: [0.2], seed: 1}
        nodes: [{name: a, target: local:aer, capacity: 5}]
    """,
    "distributed: unnamed qasm circuit, named links": """
        version: 1
        kind: distributed
        circuit: {qasm: c.qasm}
        nodes:
          - {name: a, target: local:aer, capacity: 5, options: {queue_delay_s: 1}}
          - {name: b, target: local:aer, capacity: 5, timing: {t2_s: 1.0}}
        links: [{between: [a, b], preset: telecom-fibre, length_km: 5}]
        execute: {mode: cut, observables: [ZZ]}   # node options are read in cut mode only
    """,
    "distributed: named circuit": """
        version: 1
        kind: distributed
        circuit: {name: q, generator: qft, qubits: 3, value: 2}
        nodes: [{name: a, target: local:aer, capacity: 5}]
    """,
}


@pytest.mark.parametrize("text", SHORTHANDS.values(), ids=SHORTHANDS.keys())
def test_every_accepted_shape_is_in_the_schema(
    validator: jsonschema.Draft202012Validator, make_plan: Callable[..., Path], text: str
) -> None:
    load_plan(make_plan(text))
    data = yaml.safe_load(textwrap.dedent(text))
    assert schema_errors(validator, data) == []


REFUSED = {
    "boolean shots": ("circuits", "shots: true"),
    "seed above 2**32 - 1": ("circuits", "seed: 4294967296"),
    "negative seed": ("circuits", "seed: -1"),
    "unknown field": ("circuits", "colour: red"),
    "target without a device": ("circuits", "targets: [local]"),
    "option value that is a list": (
        "circuits",
        "targets: [{target: local:aer, options: {a: [1]}}]",
    ),
    "too many sweep seeds": ("qcnn", "sweep: {seeds: 1001}"),
    "boolean learning rate": ("qcnn", "train: {learning_rate: true}"),
    "unnamed circuit in a circuits plan": ("circuits", "circuits: [{generator: ghz, qubits: 3}]"),
    "node target shorthand is not a mapping": ("distributed", "nodes: [{name: a, target: {}}]"),
}

MINIMAL = {
    "circuits": {
        "version": 1,
        "kind": "circuits",
        "circuits": [{"name": "g", "generator": "ghz", "qubits": 3}],
        "targets": ["local:aer"],
    },
    "qcnn": {"version": 1, "kind": "qcnn"},
    "distributed": {
        "version": 1,
        "kind": "distributed",
        "circuit": {"generator": "ghz", "qubits": 3},
        "nodes": [{"name": "a", "target": "local:aer", "capacity": 5}],
    },
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_schema_and_loader_refuse_alike(
    validator: jsonschema.Draft202012Validator,
    make_plan: Callable[..., Path],
    case: tuple[str, str],
) -> None:
    kind, change = case
    data = {**MINIMAL[kind], **yaml.safe_load(change)}
    assert schema_errors(validator, MINIMAL[kind]) == []
    assert schema_errors(validator, data) != []
    with pytest.raises(PlanErrors):
        load_plan(make_plan(yaml.safe_dump(data)))
