"""Issue 14, items 1–3: bounded searches, the baseline and the unlimited-comm floor,
comm-qubit reuse, no false infeasibility, capacity monotonicity, objective-aware paths."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import DraperQFTAdder
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Statevector
from qiskit.synthesis import synth_qft_full

from qorch.contract.errors import CapabilityError
from qorch.workloads.distributed.effort import effort_named
from qorch.workloads.distributed.lower import lower
from qorch.workloads.distributed.network import LinkSpec, build_network
from qorch.workloads.distributed.partition import partition_circuit
from qorch.workloads.distributed.program import count_epr_pairs
from tests.distributed.test_lower import _exact_meas_distribution, _tvd


def _mesh(k: int) -> list[list[float]]:
    return [[0.0 if i == j else 1.0 for j in range(k)] for i in range(k)]


def _draper(n: int) -> QuantumCircuit:
    return transpile(DraperQFTAdder(n // 2), basis_gates=["u", "cx", "cp"], optimization_level=0)


def _feasible_cases(count: int) -> list[tuple[int, QuantumCircuit, list[int]]]:
    """Seeded cases: 5–8 qubits on 2–4 QPUs with at most one spare data slot in all."""
    cases = []
    for seed in range(count):
        rng = np.random.default_rng(1000 + seed)
        n, k = int(rng.integers(5, 9)), int(rng.integers(2, 5))
        caps = [-(-n // k)] * k
        while sum(caps) > n + int(rng.integers(0, 2)):
            i = int(rng.integers(k))
            caps[i] -= 1 if caps[i] > 1 else 0
        prep = QuantumCircuit(n)
        for q in range(n):
            prep.ry(0.2 + 0.3 * q, q)
        body = (synth_qft_full(n, do_swaps=False) if seed % 2
                else random_circuit(n, 4, max_operands=2, seed=seed))  # fmt: skip
        cases.append((seed, prep.compose(body), caps))
    return cases


@pytest.mark.parametrize(("seed", "circuit", "caps"), _feasible_cases(8))
def test_feasible_cases_distribute_and_are_exact(seed: int, circuit, caps: list[int]) -> None:
    k = len(caps)
    part = partition_circuit(circuit, caps, _mesh(k), comm_qubits=[2] * k, seed=seed)
    program = lower(circuit, part, [f"n{i}" for i in range(k)])
    assert sum(count_epr_pairs(program.combined).values()) == part.epr_pairs
    assert part.unlimited_pairs <= part.epr_pairs
    assert part.baseline_pairs is None or part.epr_pairs <= part.baseline_pairs
    exact = Statevector(circuit).probabilities_dict()
    assert _tvd(_exact_meas_distribution(program.combined), exact) < 1e-6


def test_pairs_without_a_path_are_routed_through_a_third_qpu_not_refused() -> None:
    """a and b cannot share pairs, but both reach c: gates between them run on c. The
    search used to refuse this ('every placement needs EPR pairs ... no quantum path')."""
    qc = QuantumCircuit(5)
    qc.h(range(5))
    qc.compose(synth_qft_full(5, do_swaps=False), inplace=True)
    cost = [[0, math.inf, 1], [math.inf, 0, 1], [1, 1, 0]]
    part = partition_circuit(qc, [2, 2, 1], cost, comm_qubits=[2, 2, 2])
    assert math.isfinite(part.cost) and part.third_node_gates > 0
    program = lower(qc, part, ["a", "b", "c"])
    exact = Statevector(qc).probabilities_dict()
    assert _tvd(_exact_meas_distribution(program.combined), exact) < 1e-6


def test_a_refusal_states_the_capacities_comm_qubits_and_missing_paths() -> None:
    cost = [[0, math.inf, 1], [math.inf, 0, math.inf], [1, math.inf, 0]]
    with pytest.raises(CapabilityError) as raised:
        partition_circuit(synth_qft_full(5, do_swaps=False), [2, 2, 2], cost, comm_qubits=[1] * 3,
                          node_names=["a", "b", "c"])  # fmt: skip
    assert raised.value.message == (
        "circuit cannot be distributed: 5 of its qubits interact (gates join them), but nodes "
        "joined by a quantum path hold at most 4 data qubits together (a: 2 data + 1 comm, "
        "b: 2 data + 1 comm, c: 2 data + 1 comm; no quantum path: a–b, b–c)"
    )


def test_comm_qubits_are_reused_not_repaid() -> None:
    """Draper adder, 16 qubits on 2 QPUs with 2 comm qubits: copies' gates are run together
    (diagonal gates commute), so the limit costs little; in circuit order it cost 3x."""
    qc = _draper(16)
    limited = partition_circuit(qc, [8, 8], _mesh(2), comm_qubits=[2, 2])
    assert limited.baseline_pairs is not None
    assert limited.epr_pairs <= limited.baseline_pairs
    assert limited.epr_pairs <= limited.unlimited_pairs + 4
    assert max(limited.comm_use) <= 2


def test_more_capacity_never_costs_more_pairs() -> None:
    qc = synth_qft_full(12, do_swaps=False)
    pairs = [
        partition_circuit(qc, [c] * 3, _mesh(3), comm_qubits=[2] * 3).epr_pairs for c in (4, 5, 6)
    ]
    assert pairs == sorted(pairs, reverse=True)


def test_one_more_slot_never_costs_more_pairs_when_the_teleport_budget_runs_out() -> None:
    """The capacity levels are searched smallest first, each after those below it: the
    given capacities searched first spent the teleportation budget (shared by the whole
    partition) that the tight sizes then lacked, so 5 slots per QPU cost 32 pairs where
    4 cost 30."""
    qc = random_circuit(16, 12, max_operands=2, seed=29)
    bounded = _tight(teleport_window_gates=300)
    pairs = [
        partition_circuit(qc, [c] * 4, _mesh(4), comm_qubits=[2] * 4, seed=29, effort=bounded)
        for c in (4, 5, 6)
    ]
    assert [p.epr_pairs for p in pairs] == sorted((p.epr_pairs for p in pairs), reverse=True)


def test_each_capacity_level_weighs_teleports_within_its_own_budget() -> None:
    """Moves into a free data slot (one pair, where full QPUs need a two-pair swap) are
    what spare slots buy; with one budget for all levels, the tight sizes, searched
    first, left too little of it: 5 slots per QPU cost 21 pairs, no teleport found."""
    qc = random_circuit(16, 12, max_operands=2, seed=5)
    bounded = _tight(teleport_window_gates=2_000)
    tight = partition_circuit(qc, [4] * 4, _mesh(4), comm_qubits=[2] * 4, seed=5, effort=bounded)
    spare = partition_circuit(qc, [5] * 4, _mesh(4), comm_qubits=[2] * 4, seed=5, effort=bounded)
    assert spare.work["teleport_window_gates"] > 2_000  # two levels, a budget each
    assert spare.teleports and spare.epr_pairs <= 17 < tight.epr_pairs


def test_spare_slots_reuse_the_tight_search_instead_of_repeating_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With spare slots every level's placement starts from the same initial split (made
    once), and a placement's covers are built only when their floor is below the plan in
    hand (the third-QPU and layered plans come first): here one (placement, teleports)
    per level builds its two covers, where all of them did (12 with both teleport sets)."""
    from qorch.workloads.distributed import search

    built: Counter[str] = Counter()
    kl, make = search.kl_assignment, search.candidate
    monkeypatch.setattr(search, "kl_assignment", lambda *a: built.update(["kl"]) or kl(*a))
    monkeypatch.setattr(search, "candidate", lambda *a: built.update([a[-1]]) or make(*a))
    qc = random_circuit(24, 24, max_operands=2, seed=0)
    part = partition_circuit(
        qc, [10] * 3, _mesh(3), comm_qubits=[2] * 3, effort=_tight(reorder_ops=0)
    )
    assert built["kl"] == 1
    assert built["cover1"] + built["cover0"] <= 2 * 3
    assert part.epr_pairs <= part.baseline_pairs


def test_same_answer_every_time_and_effort_trades_search_for_pairs() -> None:
    qc = synth_qft_full(12, do_swaps=False)
    runs = [partition_circuit(qc, [3] * 4, _mesh(4), comm_qubits=[2] * 4, effort=e)
            for e in ("fast", "default", "default")]  # fmt: skip
    same = [(dataclasses.replace(r, ops=()), [(op.kind, op.qubits) for op in r.ops]) for r in runs]
    assert same[1] == same[2]
    assert runs[1].epr_pairs <= runs[0].epr_pairs
    assert runs[0].effort == "fast" and sum(runs[0].work.values()) < sum(runs[1].work.values())


def _tight(**fields: int):  # type: ignore[no-untyped-def]
    return dataclasses.replace(effort_named("default"), **fields)


def test_refinement_is_bounded_by_its_evaluation_count() -> None:
    qc = random_circuit(12, 8, max_operands=2, seed=3)
    part = partition_circuit(qc, [6, 6], _mesh(2), effort=_tight(refine_evaluations=3))
    # two starts and at most three evaluations in each of the two placement searches
    assert part.work["refine_evaluations"] <= 2 * (2 + 3)
    free = partition_circuit(qc, [6, 6], _mesh(2), effort=_tight(refine_evaluations=10_000))
    assert free.work["refine_evaluations"] > 2 * (2 + 3)


def test_teleportation_sweeps_weigh_at_most_their_gate_count() -> None:
    qc = synth_qft_full(12, do_swaps=False)
    bounded = _tight(teleport_gates=5, teleport_sweeps=1)
    part = partition_circuit(qc, [6, 6], _mesh(2), comm_qubits=[2, 2], effort=bounded)
    assert 0 < part.work["teleport_gates"] <= 5 * 3  # one sweep from each of ≤ 3 starts
    free = partition_circuit(qc, [6, 6], _mesh(2), comm_qubits=[2, 2],
                             effort=_tight(teleport_sweeps=1))  # fmt: skip
    assert free.work["teleport_gates"] > 5 * 3


def test_layered_planner_tries_at_most_its_options() -> None:
    qc = random_circuit(8, 10, max_operands=2, seed=2)
    part = partition_circuit(qc, [4, 4], _mesh(2), effort=_tight(layered_beam=2, layered_options=4))
    free = partition_circuit(qc, [4, 4], _mesh(2))
    depth = free.work["layered_options"]
    assert part.work["layered_options"] < depth
    assert part.work["layered_options"] <= 2 * 2 * 4 * depth  # beam × options per layer


def test_third_qpu_program_is_skipped_above_its_variable_count_and_node_limited() -> None:
    qc = synth_qft_full(12, do_swaps=False)
    hub = partition_circuit(qc, [3] * 4, _mesh(4), effort=_tight(milp_nodes=1))
    assert 1 <= hub.work["milp_nodes"] <= 2 * 2  # one program per placement, ≤ 1 node each
    skipped = partition_circuit(qc, [3] * 4, _mesh(4), effort=_tight(milp_variables=10))
    assert "milp_nodes" not in skipped.work and skipped.third_node_gates == 0
    assert hub.third_node_gates > 0


def test_reordering_is_skipped_above_its_op_count() -> None:
    qc = _draper(12)
    bounded = _tight(reorder_ops=10)
    part = partition_circuit(qc, [6, 6], _mesh(2), comm_qubits=[1, 1], effort=bounded)
    assert "reorder_ops" not in part.work
    reordered = partition_circuit(qc, [6, 6], _mesh(2), comm_qubits=[1, 1])
    assert reordered.work["reorder_ops"] > 10


def _link(a: str, b: str, km: float, fidelity: float) -> LinkSpec:
    return LinkSpec(between=(a, b), preset="telecom-fibre", length_km=km,  # type: ignore[arg-type]
                    source_fidelity=fidelity)  # fmt: skip


def test_paths_between_qpus_follow_the_objective() -> None:
    """a–b via c is fast but its swapped pairs are unusable; via d slower but 0.9+."""
    network = build_network(
        ["a", "b", "c", "d"],
        [_link("a", "c", 1, 0.7), _link("c", "b", 1, 0.7),
         _link("a", "d", 20, 0.99), _link("d", "b", 20, 0.99)],
    )  # fmt: skip
    fast, good = network.pair_link("a", "b"), network.pair_link("a", "b", "fidelity")
    assert fast.path == ("a", "c", "b") and good.path == ("a", "d", "b")
    assert fast.fidelity is not None and good.fidelity is not None
    assert good.fidelity > 0.9 > 0.6 > fast.fidelity and good.rate_hz < fast.rate_hz
    assert network.pair_link("a", "b", "pairs").path == ("a", "c", "b")  # equal hops: faster


def test_plan_effort_and_the_report_of_baseline_and_floor(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``strategy.effort`` reaches the partitioner (left out of the plan hash at its
    default), and compile reports the baseline and the unlimited-comm pairs."""
    import json
    from pathlib import Path

    import yaml

    data = yaml.safe_load(Path("plans/distributed-qft.yaml").read_text())
    data["execute"] = {"mode": "estimate"}
    parts, hashes = {}, {}
    for effort in (None, "default", "fast"):
        plan = dict(data, strategy={**data["strategy"], **({"effort": effort} if effort else {})})
        path = tmp_path / f"{effort}.yaml"
        path.write_text(yaml.safe_dump(plan, sort_keys=False))
        result = cli("compile", str(path), "-o", str(tmp_path / str(effort)), "--json")
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        parts[effort], hashes[effort] = out["partition"], out["plan"]["hash"]
    assert hashes[None] == hashes["default"] != hashes["fast"]
    assert parts[None]["effort"] == "default" and parts["fast"]["effort"] == "fast"
    part = parts[None]
    assert part["epr_pairs_unlimited_comm"] <= part["epr_pairs"] <= part["epr_pairs_baseline"]
    text = cli("compile", str(tmp_path / "None.yaml"), "-o", str(tmp_path / "t")).stdout
    assert "naive baseline / with unlimited comm qubits" in text


def test_progress_shows_stages_on_a_terminal_once_compile_is_slow(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    from qorch.workloads.distributed import progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = iter([0.0, 0.5, 3.0])  # start, first stage, second
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    out = Tty()
    report = progress.compile_progress(out)
    report("placement")  # at 0.5 s: quiet
    assert out.getvalue() == ""
    report("teleportations")  # at 3 s: shown
    assert "partitioning: teleportations (3 s)" in out.getvalue()
    report(progress.DONE)
    assert out.getvalue().endswith("\r\x1b[2K")
    piped = io.StringIO()
    progress.compile_progress(piped)("placement")
    assert piped.getvalue() == ""
