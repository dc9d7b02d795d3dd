"""The link model: acceptance figures, scheme formulas, decoherence, purification, presets."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from qorch.contract.errors import PlanError
from qorch.workloads.distributed.link import (
    LinkParams,
    bb84_key_fraction,
    bbpssw,
    dejmps,
    evaluate,
    latency_s,
    memory_decay,
    plob_ebits_per_use,
    transmissivity,
    werner_state,
)
from qorch.workloads.distributed.presets import PRESETS, preset_params, teleported_gate_fidelity


def test_acceptance_fibre_figures_at_10_km() -> None:
    eta = transmissivity(10.0, 0.2)
    assert eta == pytest.approx(0.631, abs=5e-4)
    assert latency_s(10.0, 2e5) == pytest.approx(50e-6)
    assert plob_ebits_per_use(eta) == pytest.approx(1.44, abs=5e-3)
    report = evaluate(LinkParams(length_km=10))
    assert (report.transmissivity, report.latency_s) == (pytest.approx(0.631, abs=5e-4), 50e-6)
    assert report.plob_ebits_per_use == pytest.approx(1.44, abs=5e-3)


def test_acceptance_one_bbpssw_round_from_werner_090() -> None:
    fidelity, p_success = bbpssw(0.90)
    assert fidelity == pytest.approx(0.926, abs=5e-4)
    assert p_success == pytest.approx(0.876, abs=5e-4)


def test_dejmps_matches_bbpssw_once_then_beats_it() -> None:
    state, p_dejmps = dejmps(werner_state(0.90))
    assert (state[0], p_dejmps) == (pytest.approx(bbpssw(0.90)[0]), pytest.approx(0.8756, 1e-3))
    assert sum(state) == pytest.approx(1.0)
    second_dejmps = dejmps(state)[0][0]
    second_bbpssw = bbpssw(bbpssw(0.90)[0])[0]
    assert second_dejmps > second_bbpssw > 0.926


def test_purification_in_evaluate_gives_fidelity_and_yield() -> None:
    params = LinkParams(length_km=10, source_fidelity=0.9, purification="bbpssw")
    report = evaluate(params)
    assert report.fidelity_raw == pytest.approx(0.9)
    assert report.fidelity == pytest.approx(0.926, abs=5e-4)
    # two raw pairs per attempt at purification, kept with probability 0.876
    assert report.purification_yield == pytest.approx(0.876 / 2, abs=1e-3)
    assert report.rate_hz == pytest.approx(report.raw_rate_hz * 0.876 / 2, rel=1e-3)


def test_scheme_success_probabilities() -> None:
    common: dict[str, Any] = {
        "length_km": 20.0,
        "emission_efficiency": 0.5,
        "detection_efficiency": 0.8,
    }
    eta_f, eta_n = transmissivity(20.0), 0.4
    direct = evaluate(LinkParams(scheme="direct", **common))
    two_photon = evaluate(LinkParams(scheme="two-photon", **common))
    assert direct.p_success == pytest.approx(eta_n * eta_f)
    assert two_photon.p_success == pytest.approx(0.5 * eta_n**2 * eta_f)
    single = evaluate(LinkParams(scheme="single-click", bright_state_population=0.05, **common))
    assert single.p_success == pytest.approx(2 * 0.05 * eta_n * math.sqrt(eta_f), rel=0.06)
    assert single.fidelity_heralded == pytest.approx(1 - 0.05, abs=0.01)


def test_multiplexing_raises_success_per_attempt() -> None:
    one = evaluate(LinkParams(length_km=50)).p_success
    many = evaluate(LinkParams(length_km=50, multiplexed_modes=100)).p_success
    assert many == pytest.approx(1 - (1 - one) ** 100)


def test_rate_includes_herald_wait() -> None:
    report = evaluate(LinkParams(length_km=100, attempt_time_s=1e-6))
    assert report.attempt_period_s == pytest.approx(1e-6 + 500e-6)
    assert report.rate_hz == pytest.approx(report.p_success / 501e-6)


def test_repeaterless_schemes_stay_below_plob() -> None:
    for scheme in ("direct", "two-photon"):
        for length_km in (0.1, 1.0, 10.0, 100.0, 300.0):
            report = evaluate(LinkParams(length_km=length_km, scheme=scheme))
            assert 0 < report.rate_to_plob < 1, (scheme, length_km)


def test_memory_waiting_for_the_herald_lowers_fidelity() -> None:
    fidelities = [
        evaluate(LinkParams(length_km=km, coherence_time_s=1e-3)).fidelity for km in (1, 50, 200)
    ]
    assert fidelities[0] > fidelities[1] > fidelities[2] > 0.25
    assert fidelities[1] == pytest.approx(0.25 + 0.75 * math.exp(-2 * 250e-6 / 1e-3))
    assert memory_decay(0.0, 0.0, t1_s=1e-3, t2_s=1e-3) == 1.0
    assert memory_decay(1e-3, 1e-3, t1_s=1e-3, t2_s=1e-3) < memory_decay(1e-4, 1e-4, t1_s=1e-3)


def test_cutoff_trades_rate_for_fidelity_when_memories_are_poor() -> None:
    base: dict[str, Any] = {"length_km": 50, "coherence_time_s": 2e-3, "source_fidelity": 0.95}
    free = evaluate(LinkParams(**base, purification="dejmps"))
    cut = evaluate(LinkParams(**base, purification="dejmps", cutoff_s=1e-3))
    assert cut.fidelity > free.fidelity
    assert cut.rate_hz < free.rate_hz


def test_generation_time_for_n_pairs() -> None:
    params = LinkParams(length_km=10)
    one, many = evaluate(params, pairs=1), evaluate(params, pairs=100)
    assert many.generation_time_mean_s == pytest.approx(100 * one.generation_time_mean_s)
    assert many.generation_time_p95_s > many.generation_time_mean_s
    certain = evaluate(PRESETS["superconducting-microwave"].params, pairs=10)
    assert certain.generation_time_p95_s == pytest.approx(certain.generation_time_mean_s)


def test_bb84_key_fraction() -> None:
    assert bb84_key_fraction(0.0) == 1.0
    assert bb84_key_fraction(0.11) == pytest.approx(0.0, abs=1e-3)
    assert bb84_key_fraction(0.2) == 0.0
    report = evaluate(LinkParams(length_km=10, source_fidelity=0.97))
    assert report.qber == pytest.approx(0.02)
    assert 0 < report.bb84_key_rate_hz < report.raw_rate_hz / 2


def test_json_dict_has_contract_keys_and_no_infinity() -> None:
    data = evaluate(LinkParams(length_km=0.0, attenuation_db_per_km=0.0)).as_dict()
    for key in ("transmissivity", "latency_s", "p_success", "rate_hz", "fidelity",
                "plob_ebits_per_use"):  # fmt: skip
        assert key in data
    assert data["plob_ebits_per_use"] is None  # η = 1: unbounded


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"length_km": -1.0}, "must be ≥ 0"),
        ({"length_km": 1.0, "detection_efficiency": 1.2}, "must be ≤ 1"),
        ({"length_km": 1.0, "emission_efficiency": 0.0}, "must be > 0"),
        ({"length_km": 1.0, "attempt_time_s": 1e-6, "attempt_rate_hz": 1e6}, "not both"),
        ({"length_km": 100.0, "cutoff_s": 1e-6}, "shorter than the herald wait"),
        ({"length_km": 1.0, "t1_s": 1.0, "t2_s": 3.0}, "must be ≤ 2 × t1_s"),
        ({"length_km": 1.0, "colour": "red"}, "extra"),
    ],
)
def test_invalid_parameters_are_rejected(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words.replace("×", ".")):
        LinkParams(**fields)  # type: ignore[arg-type]


def test_preset_params_errors_are_one_line() -> None:
    with pytest.raises(PlanError, match=r"unknown link preset 'nope' \(known: trapped-ion"):
        preset_params("nope")
    with pytest.raises(PlanError, match=r"^length_km: must be ≥ 0$"):
        preset_params("telecom-fibre", length_km=-3)
    assert preset_params("nv-centre", attempt_rate_hz=1e5).cycle_time_s == pytest.approx(1e-5)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_reproduce_their_published_figures(name: str) -> None:
    preset = PRESETS[name]
    assert preset.reproduces, name
    assert preset.source and "Must reproduce" in preset.description
    data = evaluate(preset.params).as_dict()
    if preset.local_gate_fidelity is not None:
        data["teleported_cz_fidelity"] = teleported_gate_fidelity(
            data["fidelity"], preset.local_gate_fidelity
        )
    for key, published in preset.reproduces.items():
        assert data[key] == pytest.approx(published, rel=preset.tolerance), (name, key)


def test_preset_figures_are_the_papers() -> None:
    assert PRESETS["nv-centre"].reproduces["rate_hz"] == 39.0
    assert PRESETS["superconducting-microwave"].reproduces == {"rate_hz": 50e3, "fidelity": 0.789}
    assert PRESETS["trapped-ion"].reproduces["teleported_cz_fidelity"] == 0.86
    assert PRESETS["nv-centre"].params.scheme == "single-click"
