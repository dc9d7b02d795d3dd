"""Networks: swapping along the best path, classical-only pairs, and located errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qorch.contract.errors import PlanError
from qorch.workloads.distributed.link import LinkParams, werner_fidelity, werner_parameter
from qorch.workloads.distributed.network import LinkSpec, TopologyError, build_network, resolve


def spec(a: str, b: str, **fields: object) -> LinkSpec:
    return LinkSpec(between=(a, b), **fields)  # type: ignore[arg-type]


def test_two_hop_pair_multiplies_werner_and_is_limited_by_slowest_hop() -> None:
    network = build_network(
        ["a", "b", "c"],
        [
            spec("a", "b", preset="telecom-fibre", length_km=10, swap_time_s=1e-3),
            spec("b", "c", preset="telecom-fibre", length_km=40, source_fidelity=0.9),
        ],
    )
    ab, bc = (link.report for link in network.links)
    assert ab is not None and bc is not None
    assert bc.rate_hz < ab.rate_hz
    pair = network.pair_link("a", "c")
    assert (pair.path, pair.hops, pair.classical_only) == (("a", "b", "c"), 2, False)
    expected_w = werner_parameter(ab.fidelity) * werner_parameter(bc.fidelity)
    assert pair.fidelity == pytest.approx(werner_fidelity(expected_w))
    assert pair.rate_hz == pytest.approx(1 / (1 / bc.rate_hz + 1e-3))
    assert pair.latency_s == pytest.approx(ab.latency_s + bc.latency_s)
    direct = network.pair_link("b", "a")
    assert (direct.hops, direct.rate_hz) == (1, pytest.approx(ab.rate_hz))


def test_best_path_prefers_fast_relay_over_slow_direct_link() -> None:
    network = build_network(
        ["a", "b", "c"],
        [spec("a", "c", length_km=200), spec("a", "b", length_km=5), spec("b", "c", length_km=5)],
    )
    assert network.pair_link("a", "c").path == ("a", "b", "c")
    slow_swap = build_network(
        ["a", "b", "c"],
        [
            spec("a", "c", length_km=200),
            spec("a", "b", length_km=5, swap_time_s=100.0),  # direct: ~20 s per pair
            spec("b", "c", length_km=5),
        ],
    )
    assert slow_swap.pair_link("a", "c").path == ("a", "c")


def test_ties_break_deterministically_by_name() -> None:
    links = [spec("s", "z", length_km=5), spec("s", "m", length_km=5),
             spec("z", "t", length_km=5), spec("m", "t", length_km=5)]  # fmt: skip
    for order in (links, list(reversed(links))):
        assert build_network(["s", "z", "m", "t"], order).pair_link("s", "t").path == (
            "s", "m", "t"
        )  # fmt: skip


def test_classical_link_serves_a_pair_only_classically() -> None:
    network = build_network(
        ["a", "b", "c"], [spec("a", "b", length_km=1), spec("b", "c", length_km=2, classical=True)]
    )
    assert network.links[1].report is None
    pair = network.pair_link("a", "c")
    assert pair.classical_only and pair.rate_hz == 0.0 and pair.fidelity is None
    assert pair.path == ("a", "b", "c")
    assert pair.latency_s == pytest.approx(3 / 2e5)


def test_unknown_node_names_the_field_and_lists_known_nodes() -> None:
    with pytest.raises(TopologyError) as caught:
        build_network(["a", "b"], [spec("a", "b", length_km=1), spec("a", "q", length_km=1)])
    assert caught.value.field == "links.1.between"
    assert str(caught.value) == "links.1.between: link to unknown node 'q' (known nodes: a, b)"
    assert isinstance(caught.value, PlanError)


def test_self_link_and_duplicate_link_are_rejected() -> None:
    with pytest.raises(TopologyError, match="two different nodes") as caught:
        build_network(["a"], [spec("a", "a", length_km=1)])
    assert caught.value.field == "links.0.between"
    with pytest.raises(TopologyError, match=r"duplicate link between 'b' and 'a' \(also links.0\)"):
        build_network(["a", "b"], [spec("a", "b", length_km=1), spec("b", "a", length_km=2)])


def test_unreachable_pair_names_both_nodes() -> None:
    network = build_network(["a", "b", "c", "d"], [spec("a", "b", length_km=1)])
    with pytest.raises(TopologyError, match="'a' and 'd' are not connected"):
        network.pair_link("a", "d")
    with pytest.raises(TopologyError, match=r"unknown node 'x' \(known: a, b, c, d\)"):
        network.pair_link("a", "x")


def test_invalid_override_points_at_its_field() -> None:
    with pytest.raises(ValidationError, match="must be ≥ 0"):
        spec("a", "b", length_km=-1)
    with pytest.raises(ValidationError, match="unknown link preset 'vacuum'"):
        spec("a", "b", preset="vacuum")
    with pytest.raises(TopologyError) as caught:
        build_network(["a", "b"], [spec("a", "b")])  # no preset, no length
    assert caught.value.field == "links.0.length_km"
    assert "required" in caught.value.message
    with pytest.raises(TopologyError, match="shorter than the herald wait") as caught:
        build_network(["a", "b"], [spec("a", "b", length_km=100, cutoff_s=1e-6)])
    assert caught.value.field == "links.0"


def test_link_spec_offers_every_link_parameter_as_override() -> None:
    overrides = set(LinkSpec.model_fields) - {"between", "preset", "classical"}
    assert overrides == set(LinkParams.model_fields)
    resolved = resolve(spec("a", "b", preset="nv-centre", length_km=0.5, attempt_rate_hz=2e5))
    assert (resolved.length_km, resolved.scheme) == (0.5, "single-click")
    assert resolved.cycle_time_s == pytest.approx(5e-6)
