"""Cut mode: plan, run the sub-experiments on real local backends, reconstruct."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit, qpy

from qorch.contract.errors import BudgetError, PlanError
from qorch.contract.provider import Counts, JobRequest, TargetOptions, normalise_counts
from qorch.engine import registry
from qorch.workloads.distributed.cut import (
    CutPlan,
    Estimate,
    exact_expectations,
    plan_cut,
    reconstruct,
)

GHZ_OBSERVABLES = ["ZIIIIIIZ", "ZZZZZZZZ"]  # ⟨Z₀Z₇⟩, ⟨Z⁸⟩: both exactly 1 on GHZ-8
IBM_DEVICE = "fake_santiago"
IBM_NOISE_ALLOWANCE = 0.2
"""Largest bias fake_santiago's noise may add (measured: ⟨Z₀Z₇⟩ 0.92-0.93, ⟨Z⁸⟩ 0.87)."""


def ghz(num_qubits: int = 8, measure: bool = True) -> QuantumCircuit:
    circuit = QuantumCircuit(num_qubits, name=f"ghz{num_qubits}")
    circuit.h(0)
    for qubit in range(num_qubits - 1):
        circuit.cx(qubit, qubit + 1)
    if measure:
        circuit.measure_all()
    return circuit


def random_six() -> QuantumCircuit:
    """Six qubits, partitions {0,1,2} and {3,4,5} joined by a CX and an RZZ(0.7)."""
    rng = np.random.default_rng(7)
    circuit = QuantumCircuit(6, name="rand6")
    for _ in range(2):
        for qubit in range(6):
            circuit.ry(rng.uniform(0, np.pi), qubit)
            circuit.rz(rng.uniform(0, 2 * np.pi), qubit)
        circuit.cx(0, 1)
        circuit.cx(1, 2)
        circuit.cx(3, 4)
        circuit.cz(4, 5)
    circuit.cx(2, 3)
    for qubit in range(6):
        circuit.ry(rng.uniform(0, np.pi), qubit)
    circuit.rzz(0.7, 1, 4)
    for qubit in range(6):
        circuit.rx(rng.uniform(0, np.pi), qubit)
    return circuit


def aer_counts(circuits: Sequence[QuantumCircuit], shots: int, seed: int) -> list[Counts]:
    """Seeded ideal counts from Aer in one batch, normalised as qorch providers return them."""
    from qiskit_aer import AerSimulator

    simulator = AerSimulator(method="statevector", max_parallel_threads=1)  # threads: 15x slower
    result = simulator.run(list(circuits), shots=shots, seed_simulator=seed).result()
    return [
        normalise_counts(result.get_counts(k), circuit.num_clbits)
        for k, circuit in enumerate(circuits)
    ]


def aer_repeats(
    circuits: Sequence[QuantumCircuit], shots: int, repeats: int, seed: int
) -> list[list[Counts]]:
    """``repeats`` independent seeded runs of ``shots`` shots each: one long run, split."""
    from qiskit_aer import AerSimulator

    simulator = AerSimulator(method="statevector", max_parallel_threads=1)
    result = simulator.run(
        list(circuits), shots=shots * repeats, seed_simulator=seed, memory=True
    ).result()
    runs: list[list[Counts]] = [[] for _ in range(repeats)]
    for k, circuit in enumerate(circuits):
        memory = result.get_memory(k)
        for repeat in range(repeats):
            counts: dict[str, int] = {}
            for key in memory[repeat * shots : (repeat + 1) * shots]:
                counts[key] = counts.get(key, 0) + 1
            runs[repeat].append(normalise_counts(counts, circuit.num_clbits))
    return runs


def run_on(
    target: str, circuits: Sequence[QuantumCircuit], shots: int, workdir: Path
) -> list[Counts]:
    """Translate every circuit through qorch's provider contract and ``execute`` it in this
    process (what a local worker calls; ``qorch run``'s jobs and workers run cut plans in
    test_cli_distributed)."""
    provider_name, device = registry.split_target(target)
    provider = registry.load(provider_name)
    executed: list[Counts] = []
    for k, circuit in enumerate(circuits):
        payload = provider.translate(circuit, device, TargetOptions(), seed=3)
        request = JobRequest(
            device=device,
            payload=payload,
            shots=shots,
            seed=100 + k,
            token=f"cut-{provider_name}-{k}-{time.time_ns()}",
            workdir=workdir,
        )
        counts = provider.execute(request)
        assert isinstance(counts, dict)
        executed.append(counts)
    return executed


def assert_within(
    estimates: Sequence[Estimate], exact: Sequence[float], allowance: float = 0.0
) -> None:
    for estimate, value in zip(estimates, exact, strict=True):
        assert estimate.std_error > 0
        assert abs(estimate.value - value) <= 3 * estimate.std_error + allowance + 1e-12, (
            estimate,
            value,
        )


# planning -----------------------------------------------------------------


def test_ghz8_split_4_4_is_one_cx_cut_with_overhead_9() -> None:
    cut = plan_cut(ghz(), "AAAABBBB", GHZ_OBSERVABLES)
    assert cut.labels == ("A", "B")
    assert (cut.num_cuts, cut.sampling_overhead) == (1, pytest.approx(9.0))
    assert len(cut.coefficients) == 6
    assert sum(abs(c) for c in cut.coefficients) == pytest.approx(3.0)  # κ = 3
    assert cut.subobservables == {"A": ("IIIZ", "ZZZZ"), "B": ("ZIII", "ZZZZ")}
    assert cut.qubits_per_label == {"A": 4, "B": 5}  # B defers one measurement to an ancilla


def test_subexperiments_have_one_register_and_only_terminal_measurements() -> None:
    from qiskit.converters import circuit_to_dag

    cut = plan_cut(random_six(), "AAABBB", ["ZIIIIZ", "XYIIZX"])
    for label, circuits in cut.subexperiments.items():
        for circuit, readout in zip(circuits, cut.readouts[label], strict=True):
            assert [reg.name for reg in circuit.cregs] == ["c"]
            assert circuit.num_clbits == readout.num_clbits
            dag = circuit_to_dag(circuit)
            for node in dag.op_nodes():
                if node.op.name == "measure":  # nothing after a measurement on its qubit
                    assert all(s.op.name == "measure" for s in dag.op_successors(node)) or all(
                        node.qargs[0] not in s.qargs for s in dag.op_successors(node)
                    )
            measured = [
                circuit.find_bit(i.qubits[0]).index for i in circuit.data if i.name == "measure"
            ]
            assert len(measured) == len(set(measured)), "a qubit is measured twice"
            assert not {"reset", "if_else"} & set(circuit.count_ops())


def test_braket_translates_every_subexperiment() -> None:
    provider = registry.load("braket")
    cut = plan_cut(random_six(), "AAABBB", ["ZIIIIZ", "XYIIZX"])
    for circuits in cut.subexperiments.values():
        for circuit in circuits[:18]:
            provider.translate(circuit, "local", TargetOptions(), seed=1)


def test_plan_is_deterministic_down_to_qpy_bytes() -> None:
    def dump(cut: CutPlan) -> bytes:
        buffer = io.BytesIO()
        qpy.dump([c for label in cut.labels for c in cut.subexperiments[label]], buffer)
        return buffer.getvalue()

    first = plan_cut(random_six(), "AAABBB", ["ZIIIIZ", "XYIIZX"])
    second = plan_cut(random_six(), "AAABBB", ["ZIIIIZ", "XYIIZX"])
    assert dump(first) == dump(second)
    assert first.coefficients == second.coefficients and first.readouts == second.readouts


def test_overhead_over_budget_is_one_clear_line() -> None:
    circuit = ghz(measure=False)
    circuit.cx(0, 7)  # a second crossing gate: overhead 9 × 9 = 81
    with pytest.raises(BudgetError) as caught:
        plan_cut(circuit, "AAAABBBB", GHZ_OBSERVABLES, max_sampling_overhead=50)
    message = str(caught.value)
    assert "\n" not in message
    assert "81.0" in message and "max_sampling_overhead 50" in message
    assert plan_cut(ghz(), "AAAABBBB", GHZ_OBSERVABLES, max_sampling_overhead=9).num_cuts == 1


def test_too_many_subexperiments_is_refused_even_without_a_budget() -> None:
    with pytest.raises(BudgetError, match=r"cut needs \d+ sub-experiments \(10 gate cuts\)"):
        plan_cut(random_six(), "ABABAB", ["ZIIIIZ"])


@pytest.mark.parametrize(
    ("observables", "fragment"),
    [
        (["ZIIIIIIQ"], "not a Pauli label"),
        (["ZZ"], "has 2 letters; the circuit has 8 qubits"),
        ([], "give a list of observables"),
    ],
)
def test_bad_observable_is_a_plan_error(observables: list[str], fragment: str) -> None:
    with pytest.raises(PlanError, match=fragment):
        plan_cut(ghz(), "AAAABBBB", observables)


def test_bad_labels_and_uncuttable_circuits_are_plan_errors() -> None:
    with pytest.raises(PlanError, match="8 qubits need 8 partition labels"):
        plan_cut(ghz(), "AAAABBB", GHZ_OBSERVABLES)
    mid = QuantumCircuit(2, 1, name="mid")
    mid.h(0)
    mid.measure(0, 0)
    mid.cx(0, 1)
    with pytest.raises(PlanError, match="'measure' is not a unitary gate"):
        plan_cut(mid, "AB", ["ZZ"])
    wide = QuantumCircuit(3, name="wide")
    wide.ccx(0, 1, 2)
    with pytest.raises(PlanError, match="cannot cut circuit 'wide'"):
        plan_cut(wide, "AAB", ["ZZZ"])


# reconstruction -------------------------------------------------------------


def test_ghz8_on_aer_agrees_with_exact_within_3_standard_errors() -> None:
    cut = plan_cut(ghz(), "AAAABBBB", GHZ_OBSERVABLES)
    counts = {
        "A": aer_counts(cut.subexperiments["A"], 4000, seed=11),
        "B": aer_counts(cut.subexperiments["B"], 4000, seed=12),
    }
    estimates = reconstruct(cut, counts)
    assert exact_expectations(ghz(), GHZ_OBSERVABLES) == pytest.approx([1.0, 1.0])
    assert_within(estimates, [1.0, 1.0])


def test_values_match_qiskit_addon_cutting_reconstruction() -> None:
    from qiskit.primitives import SamplerResult
    from qiskit.quantum_info import PauliList
    from qiskit.result import QuasiDistribution
    from qiskit_addon_cutting import reconstruct_expectation_values

    cut = plan_cut(random_six(), "AAABBB", ["ZIIIIZ", "XYIIZX", "IZYXII"])
    counts = {label: aer_counts(cut.subexperiments[label], 200, seed=3) for label in cut.labels}
    results = {}
    for label in cut.labels:
        dists = []
        for run, readout in zip(counts[label], cut.readouts[label], strict=True):
            dist: dict[int, float] = {}
            for key, count in run.items():
                bit = [0 if b < 0 else int(key[-1 - b]) for b in readout.observable_bits]
                qpd = [0 if b < 0 else int(key[-1 - b]) for b in readout.qpd_bits]
                outcome = int("".join(map(str, reversed(bit + qpd))), 2)  # qpd bits high
                dist[outcome] = dist.get(outcome, 0.0) + count / sum(run.values())
            dists.append(QuasiDistribution(dist))
        results[label] = SamplerResult(quasi_dists=dists, metadata=[{}] * len(dists))
    observables = {label: PauliList(list(cut.subobservables[label])) for label in cut.labels}
    coefficients = [(c, None) for c in cut.coefficients]
    expected = reconstruct_expectation_values(results, coefficients, observables)
    assert [e.value for e in reconstruct(cut, counts)] == pytest.approx(expected, abs=1e-12)


def test_random_circuit_with_x_and_y_observables_within_3_standard_errors() -> None:
    observables = ["ZIIIIZ", "XYIIZX", "IZYXII", "YIXZIY"]
    cut = plan_cut(random_six(), "AAABBB", observables)
    assert cut.num_cuts == 2 and 9 < cut.sampling_overhead < 81  # an RZZ(0.7) costs less than a CX
    counts = {label: aer_counts(cut.subexperiments[label], 2000, seed=5) for label in cut.labels}
    estimates = reconstruct(cut, counts)
    exact = exact_expectations(random_six(), observables)
    assert max(abs(v) for v in exact) > 0.05  # not a trivial check
    assert_within(estimates, exact)


def test_standard_error_matches_the_spread_of_repeated_runs() -> None:
    circuit = ghz(measure=False)
    circuit.ry(0.9, 3)  # make ⟨Z⁸⟩ non-trivial
    observables = ["ZZZZZZZZ", "IIIIXXXI", "ZIIIIIIZ"]  # the last: partition means near 0
    cut = plan_cut(circuit, "AAAABBBB", observables)
    values, errors = [], []
    runs_a = aer_repeats(cut.subexperiments["A"], 400, 40, seed=1000)
    runs_b = aer_repeats(cut.subexperiments["B"], 400, 40, seed=2000)
    for run_a, run_b in zip(runs_a, runs_b, strict=True):
        estimates = reconstruct(cut, {"A": run_a, "B": run_b})
        values.append([e.value for e in estimates])
        errors.append([e.std_error for e in estimates])
    spread = np.std(values, axis=0, ddof=1)
    reported = np.sqrt(np.mean(np.square(errors), axis=0))
    assert np.all(spread / reported > 0.7) and np.all(spread / reported < 1.4), (spread, reported)
    exact = exact_expectations(circuit, observables)
    assert np.all(np.abs(np.mean(values, axis=0) - exact) < 3 * spread / math.sqrt(40))


def test_no_run_reports_an_error_far_below_the_spread() -> None:
    """GHZ-8 ⟨Z₀Z₇⟩ rests on products of near-zero partition means: a run must not
    report a fraction of the true error there (it made 3σ checks fail on shot noise)."""
    cut = plan_cut(ghz(), "AAAABBBB", ["ZIIIIIIZ"])
    runs_a = aer_repeats(cut.subexperiments["A"], 400, 40, seed=11)
    runs_b = aer_repeats(cut.subexperiments["B"], 400, 40, seed=22)
    estimates = [reconstruct(cut, {"A": a, "B": b})[0] for a, b in zip(runs_a, runs_b, strict=True)]
    spread = float(np.std([e.value for e in estimates], ddof=1))
    errors = [e.std_error for e in estimates]
    assert min(errors) > 0.7 * spread and max(errors) < 2.0 * spread, (spread, errors)


def test_counts_that_do_not_match_the_plan_are_plan_errors() -> None:
    cut = plan_cut(ghz(), "AAAABBBB", GHZ_OBSERVABLES)
    good: Mapping[str, list[Counts]] = {
        label: [{"0" * r.num_clbits: 10} for r in cut.readouts[label]] for label in cut.labels
    }
    with pytest.raises(PlanError, match="partition 'B' needs 6 counts, got none"):
        reconstruct(cut, {"A": good["A"]})
    with pytest.raises(PlanError, match="must have 4 bits"):
        reconstruct(cut, {"A": [{"0 000": 10}] * 6, "B": good["B"]})


# across providers -------------------------------------------------------------


def test_ghz8_across_aer_and_braket_local_within_3_standard_errors(tmp_path: Path) -> None:
    cut = plan_cut(ghz(), "AAAABBBB", GHZ_OBSERVABLES)
    counts = {
        "A": run_on("local:aer", cut.subexperiments["A"], 4000, tmp_path),
        "B": run_on("braket:local", cut.subexperiments["B"], 4000, tmp_path),
    }
    assert_within(reconstruct(cut, counts), [1.0, 1.0])


def test_ghz8_across_ibm_fake_backend_and_braket_local(tmp_path: Path) -> None:
    """Acceptance: A on an IBM fake backend (noisy), B on Braket's LocalSimulator.

    fake_santiago's readout and gate errors damp the parities, so the
    estimates sit below 1 by more than 3 standard errors: the check allows a
    bias of at most IBM_NOISE_ALLOWANCE, and only downwards.

    Executed in this process (what a worker calls): the same pair of targets runs through
    ``qorch run``'s jobs and workers in test_cli_distributed's
    ``test_cut_ghz8_on_ibm_and_braket_agrees_with_exact_values`` (ideal fake_santiago there).
    """
    cut = plan_cut(ghz(), "AAAABBBB", GHZ_OBSERVABLES)
    counts = {
        "A": run_on(f"ibm:{IBM_DEVICE}", cut.subexperiments["A"], 4000, tmp_path),
        "B": run_on("braket:local", cut.subexperiments["B"], 4000, tmp_path),
    }
    estimates = reconstruct(cut, counts)
    assert_within(estimates, [1.0, 1.0], allowance=IBM_NOISE_ALLOWANCE)
    assert all(e.value < 1.0 + 3 * e.std_error for e in estimates)
