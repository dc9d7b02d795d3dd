"""Values that validated but should not (issue 9, item 16): booleans as numbers,
non-finite floats, seeds numpy cannot take, unbounded counts, unchecked node targets."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from qorch.engine.limits import MAX_JOBS, MAX_SEED, MAX_SWEEP_SEEDS, MAX_SWEEP_TASKS
from qorch.engine.planfile import PlanErrors, load_plan

CIRCUITS = """
version: 1
kind: circuits
shots: 100
circuits:
  - {name: g, generator: ghz, qubits: 3}
targets:
  - local:aer
"""

QCNN = """
version: 1
kind: qcnn
seed: 1
train:
  steps: 5
"""

DISTRIBUTED = """
version: 1
kind: distributed
circuit: {generator: ghz, qubits: 4}
nodes:
  - {name: a, target: local:aer, capacity: 3, comm_qubits: 1}
  - {name: b, target: local:aer, capacity: 3, comm_qubits: 1}
links:
  - {between: [a, b], preset: telecom-fibre, length_km: 5}
execute:
  mode: MODE
"""
CUT = "cut\n  observables: [ZIIZ]"  # MODE for cut mode: observables are read there only
MODES = ["simulate", "estimate", CUT]


def errors_of(make_plan: Callable[..., Path], text: str) -> list[str]:
    with pytest.raises(PlanErrors) as caught:
        load_plan(make_plan(text), "plan.yaml")
    return caught.value.lines()


@pytest.mark.parametrize(
    ("base", "change", "expected"),
    [
        (CIRCUITS, ("shots: 100", "shots: true"), "plan.yaml:3: shots: must be a number, not true"),
        (CIRCUITS, ("version: 1", "version: true"), "plan.yaml:1: version: must be a number, not"),
        (
            CIRCUITS,
            ("  - local:aer", "  - {target: local:aer, optimization_level: false}"),
            "plan.yaml:7: targets[0].optimization_level: must be a number, not false",
        ),
        (
            CIRCUITS,
            (
                "qubits: 3}",
                "qubits: 4}\n  - {name: q, generator: qaoa-maxcut, qubits: 4, "
                "p: 1, gammas: [true], betas: [0.1], seed: 1}",
            ),
            "plan.yaml:6: circuits[1].gammas: must be a number, not true",
        ),
        (QCNN, ("steps: 5", "steps: 5\n  batch_size: yes"), "plan.yaml:6: train.batch_size: must"),
        (QCNN, ("seed: 1", "seed: 1\ndata: {classes: [0, true]}"), "plan.yaml:4: data.classes:"),
        (
            DISTRIBUTED,
            ("length_km: 5", "length_km: true"),
            "plan.yaml:8: links[0].length_km: must be a number, not true",
        ),
    ],
)
def test_booleans_are_not_numbers(
    make_plan: Callable[..., Path], base: str, change: tuple[str, str], expected: str
) -> None:
    lines = errors_of(make_plan, base.replace("MODE", "simulate").replace(*change))
    assert lines[0].startswith(expected), lines


def test_booleans_stay_booleans_where_they_are_meant(make_plan: Callable[..., Path]) -> None:
    text = QCNN + "  replacement: false\nmodel: {share: [true, false, true]}\n"
    load_plan(make_plan(text))
    text = CIRCUITS.replace("qubits: 3}", "qubits: 3, swaps: false}").replace("ghz", "qft")
    load_plan(make_plan(text))
    options = CIRCUITS.replace(
        "  - local:aer", "  - {target: ibm:fake_manila, options: {ideal: true}}"
    )
    load_plan(make_plan(options))


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN", "1.0e+400"])
@pytest.mark.parametrize(
    ("base", "field", "where"),
    [
        (QCNN, "train.learning_rate", "train:\n  learning_rate: VALUE\n"),
        (QCNN, "train.momentum", "train:\n  momentum: VALUE\n"),
        (QCNN, "data.test_size", "data:\n  test_size: VALUE\n"),
        (QCNN, "fine_tune.learning_rate", "fine_tune: {target: local:aer, learning_rate: VALUE}\n"),
        (QCNN, "train.early_stopping.min_delta", "train:\n  early_stopping: {min_delta: VALUE}\n"),
        (CIRCUITS, "budget.max_cost_usd", "budget:\n  max_cost_usd: VALUE\n"),
        (CIRCUITS, "targets[1].options.queue_delay_s",
         "  - {target: local:aer, options: {queue_delay_s: VALUE}}\n"),
        (DISTRIBUTED, "nodes[2].timing.t1_s",
         "  - {name: c, target: local:aer, capacity: 3, timing: {t1_s: VALUE}}\n"),
        (DISTRIBUTED, "budget.max_sampling_overhead", "budget: {max_sampling_overhead: VALUE}\n"),
    ],
)  # fmt: skip
def test_non_finite_numbers_are_refused(
    make_plan: Callable[..., Path], base: str, field: str, where: str, value: str
) -> None:
    text = base.replace("MODE", "estimate")
    if base is QCNN:
        text = text.replace("train:\n  steps: 5\n", "") + where.replace("VALUE", value)
    elif field.startswith("targets"):
        text += where.replace("VALUE", value)
    elif field.startswith("nodes"):
        text = text.replace("links:", where.replace("VALUE", value) + "links:")
    else:
        text += where.replace("VALUE", value)
    lines = errors_of(make_plan, text)
    assert any(f": {field}: " in line and "finite number" in line for line in lines), lines


def test_qaoa_angles_must_be_finite(make_plan: Callable[..., Path]) -> None:
    circuit = (
        "  - {name: q, generator: qaoa-maxcut, qubits: 4, p: 1, gammas: [.nan], betas: [0.1], "
    )
    text = CIRCUITS.replace("targets:", circuit + "seed: 1}\ntargets:")
    assert errors_of(make_plan, text)[0].startswith(
        "plan.yaml:6: circuits[1].gammas[0]: input should be a finite number"
    )


@pytest.mark.parametrize(
    ("base", "change", "field"),
    [
        (CIRCUITS, ("shots: 100", "seed: 1.0e+18"), "seed"),
        (CIRCUITS, ("shots: 100", f"seed: {MAX_SEED + 1}"), "seed"),
        (QCNN, ("seed: 1", f"seed: {10**40}"), "seed"),
        (
            CIRCUITS,
            ("{name: g, generator: ghz, qubits: 3}",
             "{name: r, generator: random, qubits: 3, depth: 2, seed: 99999999999}"),
            "circuits[0].seed",
        ),
        (DISTRIBUTED, ("execute:", "strategy: {seed: 4294967296}\nexecute:"), "strategy.seed"),
    ],
)  # fmt: skip
def test_seeds_fit_numpy(
    make_plan: Callable[..., Path], base: str, change: tuple[str, str], field: str
) -> None:
    lines = errors_of(make_plan, base.replace("MODE", "estimate").replace(*change))
    assert any(
        f": {field}: input should be less than or equal to {MAX_SEED}" in line for line in lines
    ), lines


def test_sweep_seed_count_is_bounded(make_plan: Callable[..., Path]) -> None:
    lines = errors_of(make_plan, QCNN + "sweep: {seeds: 1000000000}\n")
    assert lines == [
        f"plan.yaml:6: sweep.seeds: input should be less than or equal to {MAX_SWEEP_SEEDS}"
    ]
    listed = ", ".join(str(i) for i in range(MAX_SWEEP_SEEDS + 1))
    lines = errors_of(make_plan, QCNN + f"sweep: {{seeds: [{listed}]}}\n")
    assert f"list should have at most {MAX_SWEEP_SEEDS} items" in lines[0], lines


def test_sweep_seeds_derived_from_the_plan_seed_fit_numpy(make_plan: Callable[..., Path]) -> None:
    text = QCNN.replace("seed: 1", f"seed: {MAX_SEED - 1}") + "sweep: {seeds: 3}\n"
    lines = errors_of(make_plan, text)
    assert lines == [
        f"plan.yaml:6: sweep.seeds: 3 seeds from the plan seed {MAX_SEED - 1} reach "
        f"{MAX_SEED + 1}; seeds must be at most {MAX_SEED}"
    ]


def test_sweep_seeds_listed_twice(make_plan: Callable[..., Path]) -> None:
    lines = errors_of(make_plan, QCNN + "sweep: {seeds: [1, 2, 1]}\n")
    assert lines == ["plan.yaml:6: sweep.seeds: seed 1 is listed twice"]


def test_sweep_task_count_is_bounded(make_plan: Callable[..., Path]) -> None:
    encodings = ", ".join(
        ["angle", "amplitude", "compact-angle"] + [f"hde-{k}" for k in range(1, 10)]
    )
    text = QCNN + (
        "sweep:\n  ansatz: [ttn, sim5, sim6, sim9, sim13, sim14, sim15, so4, su4, su4-exp]\n"
        f"  encoding: [{encodings}]\n  loss: [mse, cross-entropy]\n"
        "  optimizer: [nesterov, adam, sgd, spsa, cobyla]\n  seeds: 10\n"
    )
    lines = errors_of(make_plan, text)
    assert lines == [
        f"plan.yaml:6: sweep: 12000 training tasks (10 ansätze × 12 encodings × 2 losses × "
        f"5 optimisers × 10 seeds); at most {MAX_SWEEP_TASKS}"
    ]


def test_job_count_is_bounded(make_plan: Callable[..., Path]) -> None:
    circuits = "".join(f"  - {{name: g{i}, generator: ghz, qubits: 3}}\n" for i in range(101))
    targets = "  - local:aer\n" * 100
    text = "version: 1\nkind: circuits\ncircuits:\n" + circuits + "targets:\n" + targets
    lines = errors_of(make_plan, text)
    assert lines == [
        f"plan.yaml:105: targets: 101 circuits × 100 targets make 10100 jobs; at most {MAX_JOBS} "
        "per plan"
    ]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (QCNN + "  batch_size: 1000000000000\n", "train.batch_size"),
        (QCNN + "  checkpoint_every: 1000000000000\n", "train.checkpoint_every"),
        (QCNN + "data: {width: 1000000000000}\n", "data.width"),
        (QCNN + "sweep: {workers: 1000000000}\n", "sweep.workers"),
        (QCNN + "evaluate: {targets: [local:aer], max_samples: 1000000000000}\n",
         "evaluate.max_samples"),
        (CIRCUITS.replace("  - local:aer", "  - {target: ibm:ibm_x, max_execution_time_s: "
                          "1000000000000}"), "targets[0].max_execution_time_s"),
    ],
)  # fmt: skip
def test_counts_are_bounded(make_plan: Callable[..., Path], text: str, field: str) -> None:
    lines = errors_of(make_plan, text)
    assert any(f": {field}: input should be less than or equal to" in line for line in lines), lines


# --- distributed node targets and options, in every mode ---------------------------------


@pytest.mark.parametrize("mode", MODES, ids=["simulate", "estimate", "cut"])
def test_node_targets_are_checked_in_every_mode(
    cli, make_plan: Callable[..., Path], mode: str
) -> None:  # type: ignore[no-untyped-def]
    text = DISTRIBUTED.replace("MODE", mode).replace(
        "{name: a, target: local:aer,", "{name: a, target: local:nope,"
    )
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    assert result.stderr.strip().startswith(
        f"{plan}:5: nodes[0].target: provider 'local' has no device 'nope'"
    ), result.stderr


@pytest.mark.parametrize("mode", MODES, ids=["simulate", "estimate", "cut"])
def test_node_options_are_checked_and_located(
    cli, make_plan: Callable[..., Path], mode: str
) -> None:  # type: ignore[no-untyped-def]
    text = DISTRIBUTED.replace("MODE", mode).replace(
        "capacity: 3, comm_qubits: 1}\nlinks",
        "capacity: 3, comm_qubits: 1, options: {turbo: 1}}\nlinks",
    )
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    said = (
        "option 'turbo' is not accepted by local:aer"
        if mode == CUT
        else "node options are passed to its device in cut mode only"  # not silently ignored
    )
    assert result.stderr.strip().startswith(f"{plan}:6: nodes[1].options: {said}"), result.stderr


def test_unknown_provider_and_fake_device_of_nodes(cli, make_plan: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    text = DISTRIBUTED.replace("MODE", "simulate").replace(
        "target: local:aer, capacity: 3, comm_qubits: 1}\n  - {name: b, target: local:aer",
        "target: rigetti:ankaa, capacity: 3, comm_qubits: 1}\n"
        "  - {name: b, target: ibm:fake_nowhere",
    )
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"{plan}:5: nodes[0].target: unknown provider 'rigetti'"), lines
    assert lines[1].startswith(f"{plan}:6: nodes[1].target: provider 'ibm' has no device"), lines
    assert len(lines) == 2, lines


def test_validate_of_vendor_nodes_imports_no_vendor_sdk(make_plan: Callable[..., Path]) -> None:
    text = (
        DISTRIBUTED.replace("MODE", "estimate")
        .replace("{name: a, target: local:aer,", "{name: a, target: ibm:fake_manila,")
        .replace("{name: b, target: local:aer,", "{name: b, target: braket:local,")
    )
    plan = make_plan(text)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "qorch", "validate", str(plan)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert not modules & {"qiskit_aer", "qiskit_ibm_runtime", "braket", "boto3"}


# --- every problem, not only the first -------------------------------------------------


def test_validate_lists_every_bad_target(cli, make_plan: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    text = CIRCUITS.replace("  - local:aer", "  - local:nope\n  - rigetti:ankaa\n  - local:aer")
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ", 2)[:2] for line in lines] == [
        [f"{plan}:7", "targets[0].target"],
        [f"{plan}:8", "targets[1].target"],
    ], lines


def test_validate_lists_every_bad_circuit(cli, make_plan: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    text = CIRCUITS.replace(
        "  - {name: g, generator: ghz, qubits: 3}",
        "  - {name: a, qasm: a.qasm}\n  - {name: b, qasm: b.qasm}",
    )
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ", 2)[:2] for line in lines] == [
        [f"{plan}:5", "circuits[0].qasm"],
        [f"{plan}:6", "circuits[1].qasm"],
    ], lines


def test_validate_lists_problems_of_circuit_and_links(cli, make_plan: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    text = (
        DISTRIBUTED.replace("MODE", "simulate")
        .replace("circuit: {generator: ghz, qubits: 4}", "circuit: {qasm: missing.qasm}")
        .replace("between: [a, b]", "between: [a, z]")
    )
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ", 2)[:2] for line in lines] == [
        [f"{plan}:3", "circuit.qasm"],
        [f"{plan}:8", "links[0].between"],
    ], lines
