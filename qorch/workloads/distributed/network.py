"""Networks of QPUs joined by links; pairs without a direct link are served by swapping.

Pure: no I/O. A link is quantum (it makes Bell pairs, modelled by
:mod:`qorch.workloads.distributed.link`) or ``classical`` (messages only). A QPU pair is served
along the quantum path best for the plan's objective: by default (``time``) the one with
the smallest expected time per delivered pair; for ``fidelity`` the one delivering the
highest swapped fidelity; for ``pairs`` the one with the fewest hops:

- time per pair on a path = the slowest hop's time per pair, plus (when there is at
  least one intermediate node) the largest ``swap_time_s`` of the path's links — all
  swaps run in parallel once every hop holds a pair;
- fidelity: ideal swaps of Werner pairs, W = ∏ W_i with F = (3W + 1)/4; memory
  decoherence while hops wait for each other is not modelled here;
- latency = the sum of the hops' one-way latencies.

Ties break to fewer hops, then to the path found first by a breadth-first search
that visits neighbours in name order, so the choice is deterministic. If no quantum
path exists but a classical one does, the pair is ``classical_only`` (for circuit
cutting), with its lowest-latency path.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from pydantic import ValidationError, field_validator

from qorch.contract.errors import PlanError
from qorch.engine.plan_base import Model, Name
from qorch.workloads.distributed.link import (
    BrightState,
    Efficiency,
    LinkParams,
    LinkReport,
    Modes,
    NonNegative,
    PairFidelity,
    Positive,
    PurificationMethod,
    Rounds,
    Scheme,
    describe_validation_error,
    evaluate,
    swap_werner,
)
from qorch.workloads.distributed.presets import PRESETS, get_preset, merged_fields

SPEC_ONLY_FIELDS = ("between", "preset", "classical")


class TopologyError(PlanError):
    """A network is malformed, or a QPU pair cannot be served.

    ``field`` is a dotted path into the plan (``links.2.between``) so the plan loader
    can point at the YAML line; ``message`` holds the text without it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        return f"{self.location}: {text}" if self.location else text


class LinkSpec(Model):
    """A link in a plan: two nodes, an optional preset, and any LinkParams override.

    Every override left as None takes the preset's value (or LinkParams' default).
    """

    between: tuple[Name, Name]
    preset: str | None = None
    classical: bool = False
    length_km: NonNegative | None = None
    attenuation_db_per_km: NonNegative | None = None
    fibre_speed_km_per_s: Positive | None = None
    scheme: Scheme | None = None
    bright_state_population: BrightState | None = None
    emission_efficiency: Efficiency | None = None
    collection_efficiency: Efficiency | None = None
    detection_efficiency: Efficiency | None = None
    attempt_time_s: Positive | None = None
    attempt_rate_hz: Positive | None = None
    multiplexed_modes: Modes | None = None
    source_fidelity: PairFidelity | None = None
    t1_s: Positive | None = None
    t2_s: Positive | None = None
    coherence_time_s: Positive | None = None
    purification: PurificationMethod | None = None
    purification_rounds: Rounds | None = None
    cutoff_s: Positive | None = None
    swap_time_s: NonNegative | None = None

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            raise ValueError(f"unknown link preset {value!r} (known: {', '.join(PRESETS)})")
        return value

    def overrides(self) -> dict[str, Any]:
        """The LinkParams fields this spec sets."""
        return self.model_dump(exclude_none=True, exclude=set(SPEC_ONLY_FIELDS))


def resolve(spec: LinkSpec, *, field: str | None = None) -> LinkParams:
    """The spec's LinkParams (preset + overrides); TopologyError under ``field`` if invalid."""
    base = get_preset(spec.preset).params if spec.preset else None
    try:
        return LinkParams(**merged_fields(base, spec.overrides()))
    except ValidationError as error:
        where, text = describe_validation_error(error)
        path = ".".join(part for part in (field, where) if part) or None
        raise TopologyError(text, field=path) from None


@dataclass(frozen=True)
class NetworkLink:
    """A resolved link; ``report`` is None for a classical-only link."""

    index: int
    nodes: tuple[str, str]
    params: LinkParams
    classical: bool
    report: LinkReport | None

    @property
    def time_per_pair_s(self) -> float:
        """Mean time (s) per delivered Bell pair; inf for classical or dead links."""
        if self.report is None or self.report.rate_hz <= 0.0:
            return math.inf
        return 1.0 / self.report.rate_hz


@dataclass(frozen=True)
class PairLink:
    """How a QPU pair gets Bell pairs: directly, by swapping along ``path``, or not at all."""

    nodes: tuple[str, str]
    path: tuple[str, ...]
    hops: int
    rate_hz: float  # 0 when classical_only
    fidelity: float | None  # None when classical_only
    latency_s: float
    classical_only: bool


@dataclass(frozen=True)
class Network:
    """Nodes and resolved links; build with :func:`build_network`."""

    nodes: tuple[str, ...]
    links: tuple[NetworkLink, ...]

    def link_between(self, a: str, b: str) -> NetworkLink | None:
        """The direct link between ``a`` and ``b``, if any."""
        for link in self.links:
            if set(link.nodes) == {a, b}:
                return link
        return None

    def pair_link(self, a: str, b: str, objective: str = "time") -> PairLink:
        """The best way to share Bell pairs between QPUs ``a`` and ``b`` for ``objective``.

        ``time``: fastest delivery; ``fidelity``: highest swapped fidelity; ``pairs``:
        fewest hops (fewest pairs generated per delivered pair); ties go to the faster.
        Raises TopologyError for an unknown node, a == b, or no path at all.
        """
        for node in (a, b):
            if node not in self.nodes:
                raise TopologyError(f"unknown node {node!r} (known: {', '.join(self.nodes)})")
        if a == b:
            raise TopologyError(f"a QPU pair needs two different nodes, got {a!r} twice")
        quantum = [link for link in self.links if math.isfinite(link.time_per_pair_s)]
        path = _best_quantum_path(a, b, quantum)
        if path is not None and objective != "time":
            path = _best_path_for(objective, a, b, quantum, path)
        if path is not None:
            hops = _hops(path, quantum)
            fidelity = _path_fidelity(hops)
            return PairLink(
                nodes=(a, b),
                path=path,
                hops=len(hops),
                rate_hz=1.0 / _path_time_s(hops),
                fidelity=fidelity,
                latency_s=sum(hop.report.latency_s for hop in hops if hop.report),
                classical_only=False,
            )
        return self._classical_pair(a, b)

    def _classical_pair(self, a: str, b: str) -> PairLink:
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(self.nodes)
        for link in self.links:
            delay = link.params.length_km / link.params.fibre_speed_km_per_s
            graph.add_edge(*link.nodes, latency_s=delay)
        if not nx.has_path(graph, a, b):
            raise TopologyError(
                f"QPUs {a!r} and {b!r} are not connected: no path of links joins them"
            )
        path = tuple(nx.shortest_path(graph, a, b, weight="latency_s"))
        latency = nx.path_weight(graph, list(path), weight="latency_s")
        return PairLink((a, b), path, len(path) - 1, 0.0, None, float(latency), True)


def build_network(nodes: Sequence[str], links: Sequence[LinkSpec]) -> Network:
    """Resolve ``links`` between ``nodes``; TopologyError with a dotted field if malformed.

    Errors: a duplicate node, a link to an unknown node (the message lists the known
    ones), a link from a node to itself, a duplicate link, an invalid parameter.
    """
    known: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if node in known:
            raise TopologyError(f"duplicate node {node!r}", field=f"nodes.{i}")
        known[node] = i
    seen: dict[frozenset[str], int] = {}
    resolved: list[NetworkLink] = []
    for i, spec in enumerate(links):
        where = f"links.{i}"
        _check_ends(spec.between, known, f"{where}.between")
        key = frozenset(spec.between)
        if key in seen:
            a, b = spec.between
            raise TopologyError(
                f"duplicate link between {a!r} and {b!r} (also links.{seen[key]})",
                field=f"{where}.between",
            )
        seen[key] = i
        params = resolve(spec, field=where)
        report = None if spec.classical else evaluate(params)
        resolved.append(NetworkLink(i, spec.between, params, spec.classical, report))
    return Network(tuple(nodes), tuple(resolved))


def _check_ends(between: tuple[str, str], known: Mapping[str, int], field: str) -> None:
    for node in between:
        if node not in known:
            names = ", ".join(known) or "none"
            raise TopologyError(
                f"link to unknown node {node!r} (known nodes: {names})", field=field
            )
    if between[0] == between[1]:
        raise TopologyError(
            f"a link needs two different nodes, got {between[0]!r} twice", field=field
        )


def _path_time_s(hops: Sequence[NetworkLink]) -> float:
    """Slowest hop's time per pair, plus the largest swap time if there is a swap."""
    slowest = max(hop.time_per_pair_s for hop in hops)
    swap = max(hop.params.swap_time_s for hop in hops) if len(hops) > 1 else 0.0
    return slowest + swap


def _hops(path: Sequence[str], links: Sequence[NetworkLink]) -> list[NetworkLink]:
    by_ends = {frozenset(link.nodes): link for link in links}
    return [by_ends[frozenset(pair)] for pair in pairwise(path)]


def _bfs_path(a: str, b: str, links: Sequence[NetworkLink]) -> tuple[str, ...] | None:
    """Fewest-hop path from a to b, visiting neighbours in name order; None if none."""
    neighbours: dict[str, list[str]] = {}
    for link in links:
        x, y = link.nodes
        neighbours.setdefault(x, []).append(y)
        neighbours.setdefault(y, []).append(x)
    parent: dict[str, str | None] = {a: None}
    queue = deque([a])
    while queue:
        node = queue.popleft()
        if node == b:
            path = [b]
            while (previous := parent[path[-1]]) is not None:
                path.append(previous)
            return tuple(reversed(path))
        for nxt in sorted(neighbours.get(node, [])):
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return None


def _best_quantum_path(a: str, b: str, links: Sequence[NetworkLink]) -> tuple[str, ...] | None:
    """Minimise (path time, hops) over all paths, exactly, in O(E² · (V + E)).

    The best path's slowest hop time t* and largest swap time s* are values of some
    links; among links with time ≤ t* and swap ≤ s* every path is at least as good,
    so the fewest-hop path there is optimal for that threshold pair.
    """
    best: tuple[float, int, tuple[str, ...]] | None = None
    times = sorted({link.time_per_pair_s for link in links})
    swaps = sorted({link.params.swap_time_s for link in links})
    for limit_time in times:
        for limit_swap in swaps:
            allowed = [
                link
                for link in links
                if link.time_per_pair_s <= limit_time and link.params.swap_time_s <= limit_swap
            ]
            path = _bfs_path(a, b, allowed)
            if path is None:
                continue
            candidate = (_path_time_s(_hops(path, allowed)), len(path), path)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    return None if best is None else best[2]


MAX_PATHS = 5_000  # simple paths weighed per pair for the fidelity and pairs objectives


def _path_fidelity(hops: Sequence[NetworkLink]) -> float:
    """Fidelity of a pair swapped along ``hops`` (ideal swaps of Werner pairs)."""
    fidelity = hops[0].report.fidelity if hops[0].report else 0.25
    for hop in hops[1:]:
        fidelity = swap_werner(fidelity, hop.report.fidelity if hop.report else 0.25)
    return fidelity


def _best_path_for(
    objective: str, a: str, b: str, links: Sequence[NetworkLink], fastest: tuple[str, ...]
) -> tuple[str, ...]:
    """The best of at most :data:`MAX_PATHS` simple paths (and the fastest) for ``objective``.

    Paths are enumerated in a fixed order (links in plan order), so the choice is
    deterministic; ties go to the faster path, then to fewer hops. For ``pairs`` no
    path longer than the fastest can win, so longer ones are not enumerated: on a full
    mesh of 8 QPUs that was ~2 000 paths per pair, for the direct link.
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(sorted({n for link in links for n in link.nodes}))
    graph.add_edges_from(link.nodes for link in links)

    by_ends = {frozenset(link.nodes): link for link in links}

    def score(path: tuple[str, ...]) -> tuple[float, ...]:
        hops = [by_ends[frozenset(pair)] for pair in pairwise(path)]
        speed = (_path_time_s(hops), len(path))
        if objective == "fidelity":
            return (-_path_fidelity(hops), *speed)
        return (float(len(path)), *speed)

    best, best_score = fastest, score(fastest)
    cutoff = len(fastest) - 1 if objective == "pairs" else None
    for count, path in enumerate(nx.all_simple_paths(graph, a, b, cutoff=cutoff)):
        if count >= MAX_PATHS:
            break
        candidate = score(tuple(path))
        if candidate < best_score:
            best, best_score = tuple(path), candidate
    return best
