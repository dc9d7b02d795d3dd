"""Gates run on a third QPU: the cheapest node for every cross-node gate, by integer program.

A diagonal gate between qubit a (on node u) and qubit b (on node v) can run wherever a
copy of both qubits' segments lives: on v (a's segment cat-entangled to v), on u, or on
any third node w that holds cat copies of both. With three or more QPUs the third
option pays: a segment copied once to a "hub" serves its gates with every qubit whose
segment is also there, so QFT-16 on four QPUs of four qubits needs 16 EPR pairs where
serving each gate from one of its own nodes needs 24.

Choosing where each gate runs so that the fewest (segment, node) copies are made is a
set-cover problem, solved by HiGHS (through ``scipy.optimize.milp``) within the
effort's branch-and-bound node limit (never a time limit, so the answer is the same on
every machine); the best plan found by then is kept. Instances with more variables than
the effort allows are skipped (their gates run on their own QPUs). Communication qubits
are not constrained here: :mod:`reorder` and :mod:`catplan` fit the copies into them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from qorch.workloads.distributed.effort import Effort, Work, effort_named
from qorch.workloads.distributed.refine import Gates, Teleport, placed


def gate_nodes(
    gates: Gates,
    assign: np.ndarray,
    teleports: Sequence[Teleport],
    costs: np.ndarray,
    comm: Sequence[int],
    bounds: Effort | None = None,
    work: Work | None = None,
    fit_comm: bool = False,
) -> dict[int, int] | None:
    """Node on which each cross-node gate runs (op index -> node), minimising copy cost.

    A copy of a segment from node u to node w costs ``costs[u, w]``; a gate may run on a
    third node only if that node has at least two communication qubits. Returns None
    when the instance is too large or the solver finds no plan (the caller then keeps
    the plans where every gate runs on one of its own nodes). With ``fit_comm``, the copies
    alive at once on a node (a copy lives, at most, from its segment's first cross gate to
    its last, in op order) never outnumber its comm qubits: a harder program, and a plan
    that needs no reordering.
    """
    bounds = bounds or effort_named("default")
    k = len(costs)
    na, nb, ka, kb = placed(gates, assign, teleports)
    cross = np.nonzero(na != nb)[0]
    if k < 3 or not len(cross):
        return None
    # gates sharing both segments are one decision
    ends, first, inverse = np.unique(
        np.stack([ka[cross], kb[cross]], axis=1), axis=0, return_index=True, return_inverse=True
    )
    inverse = inverse.reshape(-1)
    if 2 * len(ends) > (bounds.fitted_variables if fit_comm else bounds.milp_variables):
        return None  # every decision has at least two sites: too large before it is built
    home_a, home_b = na[cross][first], nb[cross][first]
    finite = costs[np.isfinite(costs) & (costs > 0)]
    scale = float(finite.min()) if len(finite) else 1.0

    x_of: list[tuple[int, int]] = []  # (decision, node)
    y_index: dict[tuple[int, int], int] = {}
    y_cost: list[float] = []

    def copy(key: int, home: int, node: int) -> int | None:
        if node == home:
            return -1
        c = float(costs[home, node])
        if math.isinf(c):
            return None
        idx = y_index.get((key, node))
        if idx is None:
            idx = y_index[(key, node)] = len(y_cost)
            y_cost.append(c / scale)
        return idx

    links: list[tuple[int, int]] = []  # (x variable, y variable): x <= y
    for d, ((sa, sb), u, v) in enumerate(zip(ends.tolist(), home_a, home_b, strict=True)):
        for w in range(k):
            if w not in (u, v) and comm[w] < 2:
                continue
            ya, yb = copy(sa, int(u), w), copy(sb, int(v), w)
            if ya is None or yb is None:
                continue
            xi = len(x_of)
            x_of.append((d, w))
            links.extend((xi, y) for y in (ya, yb) if y >= 0)
    n_x, n_y = len(x_of), len(y_cost)
    limit = bounds.fitted_variables if fit_comm else bounds.milp_variables
    if n_x + n_y > limit or not n_x:
        return None
    if work is not None:
        work.add("milp_variables", n_x + n_y)
    n_dec = len(ends)
    rows = [d for d, _ in x_of] + [n_dec + i for i in range(len(links)) for _ in (0, 1)]
    cols = list(range(n_x)) + [c for xi, yi in links for c in (xi, n_x + yi)]
    vals = [1.0] * n_x + [v for _ in links for v in (1.0, -1.0)]
    n_rows = n_dec + len(links)
    caps = _comm_rows(cross, ka, kb, y_index, comm, n_x, rows, cols, vals) if fit_comm else []
    n_rows += len(caps)
    matrix = coo_matrix((vals, (rows, cols)), shape=(n_rows, n_x + n_y)).tocsr()
    lower = np.concatenate([np.ones(n_dec), np.full(n_rows - n_dec, -np.inf)])
    upper = np.concatenate([np.ones(n_dec), np.zeros(len(links)), caps])
    objective = np.concatenate([np.zeros(n_x), np.asarray(y_cost)])
    res = milp(
        objective,
        constraints=LinearConstraint(matrix, lower, upper),
        integrality=np.ones(n_x + n_y),
        bounds=Bounds(0, 1),
        options={"node_limit": bounds.milp_nodes, "presolve": True},
    )
    if work is not None:
        work.add("milp_nodes", int(getattr(res, "mip_node_count", 0) or 0))
    if res.x is None:
        return None
    chosen = np.full(n_dec, -1)
    for xi in np.nonzero(res.x[:n_x] > 0.5)[0].tolist():
        d, w = x_of[xi]
        if chosen[d] < 0:
            chosen[d] = w
    if (chosen < 0).any():
        return None
    return {int(gates.index[pos]): int(chosen[inverse[j]]) for j, pos in enumerate(cross.tolist())}


def _comm_rows(
    cross: np.ndarray,
    ka: np.ndarray,
    kb: np.ndarray,
    y_index: dict[tuple[int, int], int],
    comm: Sequence[int],
    n_x: int,
    rows: list[int],
    cols: list[int],
    vals: list[float],
) -> list[float]:
    """Append one row per (node, time) where more copies could be alive than comm qubits."""
    n_rows = max(rows, default=-1) + 1
    span: dict[int, list[int]] = {}
    for pos in cross.tolist():
        for key in (int(ka[pos]), int(kb[pos])):
            span.setdefault(key, [pos, pos])[1] = pos
    caps: list[float] = []
    for w in range(len(comm)):
        mine = [(key, idx) for (key, node), idx in y_index.items() if node == w]
        if len(mine) <= comm[w]:
            continue
        for t in sorted({span[key][0] for key, _ in mine}):
            alive = [idx for key, idx in mine if span[key][0] <= t <= span[key][1]]
            if len(alive) > comm[w]:
                rows.extend([n_rows] * len(alive))
                cols.extend(n_x + idx for idx in alive)
                vals.extend([1.0] * len(alive))
                caps.append(float(comm[w]))
                n_rows += 1
    return caps
