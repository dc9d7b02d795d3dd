"""When no plan exists, say why; when the search found none, offer a placement that fits.

Qubits joined by two-qubit gates (directly or through other qubits) form an
*interacting group*; its qubits must sit on nodes that can exchange EPR pairs, i.e. in
one *node group*: nodes joined by quantum paths, each with at least one communication
qubit (a node without any can hold only qubits that never meet another node's). A plan
exists only if the interacting groups can be packed into the node groups' data qubits.
:func:`packing` tries first-fit decreasing; :func:`refusal` states the capacities,
communication qubits and missing paths, and proves the refusal when the largest
interacting group fits in no node group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from qorch.contract.errors import CapabilityError
from qorch.workloads.distributed.catplan import CommQubitsError
from qorch.workloads.distributed.refine import Gates


class NoQuantumPathError(CapabilityError):
    """Every placement needs pairs between nodes that no quantum link joins."""


def _components(size: int, edges: Sequence[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(size))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for x in range(size):
        groups.setdefault(root(x), []).append(x)
    return sorted(groups.values(), key=lambda g: (-len(g), g))


def _node_groups(costs: np.ndarray, comm: Sequence[int]) -> list[list[int]]:
    k = len(comm)
    usable = [(u, v) for u in range(k) for v in range(u + 1, k)
              if math.isfinite(costs[u, v]) and comm[u] and comm[v]]  # fmt: skip
    return _components(k, usable)


def _interacting(gates: Gates, n: int) -> list[list[int]]:
    return _components(n, list(zip(gates.a.tolist(), gates.b.tolist(), strict=True)))


def packing(
    gates: Gates, n: int, capacities: Sequence[int], costs: np.ndarray, comm: Sequence[int]
) -> np.ndarray | None:
    """A placement keeping each interacting group inside one node group, or None."""
    room = [list(g) for g in _node_groups(costs, comm)]
    free = [sum(capacities[v] for v in g) for g in room]
    assign = np.full(n, -1, dtype=np.int64)
    left = list(capacities)
    for group in _interacting(gates, n):
        fits = [i for i, f in enumerate(free) if f >= len(group)]
        if not fits:
            return None
        i = min(fits, key=lambda j: (free[j], j))  # tightest node group that holds it
        free[i] -= len(group)
        for q in group:
            node = max(room[i], key=lambda v: (left[v], -v))
            assign[q] = node
            left[node] -= 1
    return assign


def refusal(
    gates: Gates,
    capacities: Sequence[int],
    costs: np.ndarray,
    comm: Sequence[int],
    names: Sequence[str],
) -> CapabilityError:
    """The error for a circuit no plan was found for, with the facts that decide it."""
    n = int(max(gates.a.max(initial=-1), gates.b.max(initial=-1))) + 1
    largest = _interacting(gates, n)[0] if n else []
    groups = _node_groups(costs, comm)
    held = max(sum(capacities[v] for v in g) for g in groups)
    k = len(capacities)
    facts = ", ".join(f"{names[v]}: {capacities[v]} data + {comm[v]} comm" for v in range(k))
    dead = [f"{names[u]}–{names[v]}" for u in range(k) for v in range(u + 1, k)
            if not math.isfinite(costs[u, v])]  # fmt: skip
    paths = f"; no quantum path: {', '.join(dead)}" if dead else ""
    if len(largest) <= held:
        sizes = ", ".join(str(len(g)) for g in _interacting(gates, n))
        return NoQuantumPathError(
            f"circuit cannot be distributed: no placement was found that packs its groups "
            f"of interacting qubits ({sizes}) into nodes joined by a quantum path "
            f"({facts}{paths})"
        )
    for v in sorted(range(k), key=lambda v: (-capacities[v], v)):
        if comm[v] == 0:
            trial = [1 if u == v else c for u, c in enumerate(comm)]
            if max(sum(capacities[u] for u in g) for g in _node_groups(costs, trial)) > held:
                return CommQubitsError(
                    f"node {names[v]} has no communication qubits for its EPR pairs "
                    f"({len(largest)} qubits interact, nodes that can exchange EPR pairs "
                    f"hold at most {held} of them; {facts})",
                    v,
                )
    return NoQuantumPathError(
        f"circuit cannot be distributed: {len(largest)} of its qubits interact (gates join "
        f"them), but nodes joined by a quantum path hold at most {held} data qubits together "
        f"({facts}{paths})"
    )
