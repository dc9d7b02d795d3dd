"""The naive baseline every plan is weighed against, under the same comm-qubit limits.

Block placement (qubits in index order fill node 0, then node 1, ...), every cross-node
gate run on the node of its second qubit, served by a cat copy of its first qubit's
segment: one EPR pair per group of gates that copy serves, in circuit order, closed
early (and paid again) when a node runs out of communication qubits. No search, so it
is cheap and easy to state; the partitioner never returns a plan that costs more.
"""

from __future__ import annotations

from qorch.workloads.distributed.placement import block_assignment, initial_sizes
from qorch.workloads.distributed.search import Candidate, Problem, candidate


def baseline_plan(prob: Problem) -> Candidate | None:
    """The baseline plan; None when a node lacks the comm qubits for it."""
    n = prob.canon.num_qubits
    assign = block_assignment(n, initial_sizes(n, prob.capacities))
    gates = prob.gates
    where = {
        int(i): int(assign[b])
        for i, a, b in zip(gates.index.tolist(), gates.a.tolist(), gates.b.tolist(), strict=True)
        if assign[a] != assign[b]
    }
    return candidate(prob, prob.canon, gates, assign, (), where, "baseline")
