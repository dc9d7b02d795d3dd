"""Optical link physics: heralded Bell pairs between two quantum memories over fibre.

Pure: no I/O, no CLI, YAML or vendor code. Units are in names (``_km``, ``_s``,
``_hz``, ``_db_per_km``). The model, per attempt of a symmetric link of length L:

- fibre transmissivity η_f = 10^(−α_dB·L/10); one-way latency L/c_fibre;
- node efficiency η_n = emission × collection × detection (the same at both nodes);
- success probability per mode and attempt, for the heralding scheme:
  ``direct`` (photon from A detected at B): p = η_n·η_f;
  ``two-photon`` (Barrett & Kok, PRA 71, 060310 (2005); both photons detected at a
  midpoint station, half of the detection patterns are used): p = ½·η_n²·η_f;
  ``single-click`` (Cabrillo et al. PRA 59, 1025 (1999); Humphreys et al. Nature 558,
  268 (2018): one click at the midpoint, bright-state population α, η' = η_n·√η_f):
  p = 2α(1−α)η' + α²η'(2−η') ≈ 2αη', heralded fidelity 2(1−α)/(2(1−α)+α(2−η')) ≈ 1−α;
- with m multiplexed modes, P = 1 − (1−p)^m per attempt;
- one attempt occupies the memories for the attempt time plus the herald wait
  (both nodes learn the outcome: L/c for midpoint schemes, 2L/c for ``direct``), so the
  raw rate is P / (attempt time + herald wait);
- fidelity = source fidelity × scheme factor, then memory decoherence over the herald
  wait (treated as a Werner state), then optional purification.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator

from qorch.engine.plan_base import Model

Scheme = Literal["direct", "single-click", "two-photon"]
PurificationMethod = Literal["bbpssw", "dejmps"]
BellDiagonal = tuple[float, float, float, float]  # weights of Φ+, Ψ−, Ψ+, Φ− (Deutsch order)
DEFAULT_ATTEMPT_TIME_S = 1e-6


def _range(low: float | None, high: float | None, *, low_open: bool = False) -> AfterValidator:
    """A validator with one-line messages (``must be ≥ 0``, ``must be ≤ 1``)."""

    def check(value: float) -> float:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        if low is not None and (value <= low if low_open else value < low):
            raise ValueError(f"must be {'>' if low_open else '≥'} {low:g}")
        if high is not None and value > high:
            raise ValueError(f"must be ≤ {high:g}")
        return value

    return AfterValidator(check)


def _schema(low: float | None, high: float | None, low_open: bool = False) -> Any:
    extra: dict[str, float] = {}
    if low is not None:
        extra["exclusiveMinimum" if low_open else "minimum"] = low
    if high is not None:
        extra["maximum"] = high
    return Field(json_schema_extra=extra)  # type: ignore[arg-type]


NonNegative = Annotated[float, _range(0, None), _schema(0, None)]
Positive = Annotated[float, _range(0, None, low_open=True), _schema(0, None, True)]
Efficiency = Annotated[float, _range(0, 1, low_open=True), _schema(0, 1, True)]
BrightState = Annotated[float, _range(0, 0.5, low_open=True), _schema(0, 0.5, True)]
PairFidelity = Annotated[float, _range(0.25, 1), _schema(0.25, 1)]
Modes = Annotated[int, _range(1, None), _schema(1, None)]
Rounds = Annotated[int, _range(0, 10), _schema(0, 10)]


class LinkParams(Model):
    """One symmetric heralded-entanglement link; every field carries its unit."""

    length_km: NonNegative
    attenuation_db_per_km: NonNegative = 0.2  # telecom C-band
    fibre_speed_km_per_s: Positive = 2e5
    scheme: Scheme = "two-photon"
    bright_state_population: BrightState = 0.1  # α, single-click only
    emission_efficiency: Efficiency = 1.0  # per node
    collection_efficiency: Efficiency = 1.0  # per node, into the fibre
    detection_efficiency: Efficiency = 1.0  # per photon, at the detector
    attempt_time_s: Positive = DEFAULT_ATTEMPT_TIME_S  # local cycle, without herald wait
    attempt_rate_hz: Positive | None = None  # alternative to attempt_time_s
    multiplexed_modes: Modes = 1
    source_fidelity: PairFidelity = 1.0  # hardware fidelity of a heralded pair
    t1_s: Positive | None = None  # memory energy relaxation, per node
    t2_s: Positive | None = None  # memory dephasing (T2 ≤ 2·T1), per node
    coherence_time_s: Positive | None = None  # depolarising memory time, per node
    purification: PurificationMethod | None = None
    purification_rounds: Rounds = 1
    cutoff_s: Positive | None = None  # longest a stored pair waits for a partner
    swap_time_s: NonNegative = 0.0  # entanglement swap at a repeater node

    @model_validator(mode="after")
    def _consistent(self) -> LinkParams:
        if self.attempt_rate_hz is not None and "attempt_time_s" in self.model_fields_set:
            raise ValueError("give attempt_time_s or attempt_rate_hz, not both")
        if self.t1_s is not None and self.t2_s is not None and self.t2_s > 2 * self.t1_s:
            raise ValueError(f"t2_s ({self.t2_s:g} s) must be ≤ 2 × t1_s ({self.t1_s:g} s)")
        if self.cutoff_s is not None and self.cutoff_s < self.herald_wait_s:
            raise ValueError(
                f"cutoff_s ({self.cutoff_s:g} s) is shorter than the herald wait "
                f"({self.herald_wait_s:g} s): no pair would be kept"
            )
        return self

    @property
    def node_efficiency(self) -> float:
        """Emission × collection × detection, per node."""
        return self.emission_efficiency * self.collection_efficiency * self.detection_efficiency

    @property
    def cycle_time_s(self) -> float:
        """Local attempt cycle (s): ``1/attempt_rate_hz`` if given, else ``attempt_time_s``."""
        return 1.0 / self.attempt_rate_hz if self.attempt_rate_hz else self.attempt_time_s

    @property
    def herald_wait_s(self) -> float:
        """Time (s) from emission until both nodes know the outcome."""
        one_way = latency_s(self.length_km, self.fibre_speed_km_per_s)
        return 2 * one_way if self.scheme == "direct" else one_way


def describe_validation_error(error: ValidationError) -> tuple[str | None, str]:
    """The first pydantic error as ``(dotted field or None, one-line message)``."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        return field, "unknown field"
    if first["type"] == "missing":
        return field, "required field is missing"
    text = str(first["msg"]).removeprefix("Value error, ")
    return field, text[:1].lower() + text[1:]


# --- fibre ------------------------------------------------------------------------------


def transmissivity(length_km: float, attenuation_db_per_km: float = 0.2) -> float:
    """Fibre transmissivity η = 10^(−α·L/10) for length (km) and loss (dB/km)."""
    return 10.0 ** (-attenuation_db_per_km * length_km / 10.0)


def latency_s(length_km: float, fibre_speed_km_per_s: float = 2e5) -> float:
    """One-way signalling delay (s) over ``length_km`` of fibre."""
    return length_km / fibre_speed_km_per_s


def plob_ebits_per_use(eta: float) -> float:
    """Repeaterless (PLOB) capacity −log2(1−η) per channel use (Pirandola et al. 2017)."""
    return math.inf if eta >= 1.0 else -math.log2(1.0 - eta)


# --- Werner and Bell-diagonal states -----------------------------------------------------


def werner_parameter(fidelity: float) -> float:
    """W = (4F − 1)/3 of a Werner state with fidelity F."""
    return (4.0 * fidelity - 1.0) / 3.0


def werner_fidelity(parameter: float) -> float:
    """F = (3W + 1)/4 of a Werner state with parameter W."""
    return (3.0 * parameter + 1.0) / 4.0


def werner_state(fidelity: float) -> BellDiagonal:
    """Bell-diagonal weights of a Werner state: (F, (1−F)/3, (1−F)/3, (1−F)/3)."""
    rest = (1.0 - fidelity) / 3.0
    return (fidelity, rest, rest, rest)


def swap_werner(fidelity_1: float, fidelity_2: float) -> float:
    """Fidelity after an ideal entanglement swap of two Werner pairs: W = W1·W2."""
    return werner_fidelity(werner_parameter(fidelity_1) * werner_parameter(fidelity_2))


def depolarise(state: BellDiagonal, decay: float) -> BellDiagonal:
    """Mix a Bell-diagonal state with white noise: x → D·x + (1−D)/4."""
    return tuple(decay * x + (1.0 - decay) / 4.0 for x in state)  # type: ignore[return-value]


# --- memory decoherence ------------------------------------------------------------------


def memory_decay(
    wait_a_s: float,
    wait_b_s: float,
    *,
    t1_s: float | None = None,
    t2_s: float | None = None,
    coherence_time_s: float | None = None,
) -> float:
    """Factor D ∈ [0, 1] on the Werner parameter after memories A, B wait (s).

    Depolarising memories: D = exp(−(t_A + t_B)/T). T1/T2 memories: the fidelity of
    an ideal Ψ+ pair, F = ¼(2 − γ_A − γ_B) + ½·exp(−(t_A + t_B)/T2) with
    γ = 1 − exp(−t/T1), mapped to a Werner parameter (a twirled approximation) and
    clipped at 0. Both kinds multiply when both are given; no time given → D = 1.
    """
    decay = 1.0
    if coherence_time_s is not None:
        decay *= math.exp(-(wait_a_s + wait_b_s) / coherence_time_s)
    if t1_s is not None or t2_s is not None:
        gamma_a = 1.0 - math.exp(-wait_a_s / t1_s) if t1_s else 0.0
        gamma_b = 1.0 - math.exp(-wait_b_s / t1_s) if t1_s else 0.0
        if t2_s:
            coherence = math.exp(-(wait_a_s + wait_b_s) / t2_s)
        else:  # T1 only: T2 = 2·T1
            coherence = math.sqrt((1.0 - gamma_a) * (1.0 - gamma_b))
        fidelity = 0.25 * (2.0 - gamma_a - gamma_b) + 0.5 * coherence
        decay *= max(0.0, werner_parameter(fidelity))
    return decay


def decohere(fidelity: float, decay: float) -> float:
    """Werner fidelity after a memory decay factor D: F → ¼ + (F − ¼)·D."""
    return 0.25 + (fidelity - 0.25) * decay


# --- purification -------------------------------------------------------------------------


def bbpssw(fidelity: float, other_fidelity: float | None = None) -> tuple[float, float]:
    """One BBPSSW round on two Werner pairs (Bennett et al. PRL 76, 722 (1996)).

    Returns (output fidelity, success probability); the output is re-twirled to
    Werner form. F = 0.90 on both pairs gives (0.926, 0.876).
    """
    f1, f2 = fidelity, fidelity if other_fidelity is None else other_fidelity
    g1, g2 = (1.0 - f1) / 3.0, (1.0 - f2) / 3.0
    good = f1 * f2 + g1 * g2
    p_success = f1 * f2 + f1 * g2 + g1 * f2 + 5.0 * g1 * g2
    return good / p_success, p_success


def dejmps(state: BellDiagonal, other: BellDiagonal | None = None) -> tuple[BellDiagonal, float]:
    """One DEJMPS round on Bell-diagonal pairs (Deutsch et al. PRL 77, 2818 (1996)).

    Weights in the order (Φ+, Ψ−, Ψ+, Φ−). Returns (output weights, success
    probability); no twirl, so later rounds gain more than BBPSSW.
    """
    a1, b1, c1, d1 = state
    a2, b2, c2, d2 = state if other is None else other
    norm = (a1 + b1) * (a2 + b2) + (c1 + d1) * (c2 + d2)
    out = (
        (a1 * a2 + b1 * b2) / norm,
        (c1 * d2 + d1 * c2) / norm,
        (c1 * c2 + d1 * d2) / norm,
        (a1 * b2 + b1 * a2) / norm,
    )
    return out, norm


def _partner_wait(mean_time_s: float, cutoff_s: float | None) -> tuple[float, float]:
    """(probability the partner pair arrives in time, mean wait of the stored pair in s).

    Pair arrival is taken as exponential with the given mean; with a cut-off the
    stored pair is discarded after ``cutoff_s``.
    """
    if cutoff_s is None or mean_time_s == 0.0:
        return 1.0, mean_time_s
    in_time = -math.expm1(-cutoff_s / mean_time_s)
    wait = mean_time_s - cutoff_s * math.exp(-cutoff_s / mean_time_s) / in_time
    return in_time, wait


def purify(params: LinkParams, fidelity: float, pair_time_s: float) -> tuple[float, float]:
    """Apply ``params.purification`` rounds: (fidelity, mean time per output pair in s).

    Round k consumes two pairs of round k−1: the first waits in memory (decohering)
    while the second is made. Mean time per output T_k = T_{k−1}(1 + q)/(q·p), with q
    the chance the partner arrives before the cut-off and p the round's success.
    """
    state = werner_state(fidelity)
    time_s = pair_time_s
    rounds = params.purification_rounds if params.purification else 0
    for _ in range(rounds):
        in_time, wait_s = _partner_wait(time_s, params.cutoff_s)
        decay = memory_decay(
            wait_s,
            wait_s,
            t1_s=params.t1_s,
            t2_s=params.t2_s,
            coherence_time_s=params.coherence_time_s,
        )
        stored = depolarise(state, decay)
        if params.purification == "bbpssw":
            new_fidelity, p_success = bbpssw(stored[0], state[0])
            state = werner_state(new_fidelity)
        else:
            state, p_success = dejmps(stored, state)
        time_s = time_s * (1.0 + in_time) / (in_time * p_success)
    return state[0], time_s


# --- key distribution -----------------------------------------------------------------------


def binary_entropy(probability: float) -> float:
    """h(p) = −p·log2 p − (1−p)·log2(1−p)."""
    if probability <= 0.0 or probability >= 1.0:
        return 0.0
    return -probability * math.log2(probability) - (1 - probability) * math.log2(1 - probability)


def qber_from_fidelity(fidelity: float) -> float:
    """Quantum bit error rate of a Werner pair measured in one basis: Q = 2(1 − F)/3."""
    return 2.0 * (1.0 - fidelity) / 3.0


def bb84_key_fraction(qber: float) -> float:
    """Asymptotic secret fraction 1 − 2h(Q) (Shor & Preskill 2000), floored at 0.

    The link reports it for BBM92 — entanglement-based QKD measuring the heralded pairs
    (Bennett, Brassard & Mermin 1992), whose asymptotic fraction equals BB84's; the
    ``bb84_*`` field names are kept for the JSON contract.
    """
    return max(0.0, 1.0 - 2.0 * binary_entropy(qber))


# --- evaluation -----------------------------------------------------------------------------


def attempt_success(params: LinkParams) -> tuple[float, float]:
    """(success probability per mode, per attempt over all multiplexed modes)."""
    eta_fibre = transmissivity(params.length_km, params.attenuation_db_per_km)
    eta_node = params.node_efficiency
    if params.scheme == "direct":
        p_mode = eta_node * eta_fibre
    elif params.scheme == "two-photon":
        p_mode = 0.5 * eta_node**2 * eta_fibre
    else:
        alpha, arm = params.bright_state_population, eta_node * math.sqrt(eta_fibre)
        p_mode = 2 * alpha * (1 - alpha) * arm + alpha**2 * arm * (2 - arm)
    p_attempt = -math.expm1(params.multiplexed_modes * math.log1p(-min(p_mode, 1.0 - 1e-16)))
    return p_mode, (1.0 if p_mode >= 1.0 else p_attempt)


def heralded_fidelity(params: LinkParams) -> float:
    """Fidelity of a pair at the herald: source fidelity × scheme factor (single-click)."""
    if params.scheme != "single-click":
        return params.source_fidelity
    alpha = params.bright_state_population
    arm = params.node_efficiency * math.sqrt(
        transmissivity(params.length_km, params.attenuation_db_per_km)
    )
    good = 2 * (1 - alpha)
    return params.source_fidelity * good / (good + alpha * (2 - arm))


def generation_time_s(
    attempt_period_s: float, p_attempt: float, pairs: int, pair_time_s: float | None = None
) -> tuple[float, float]:
    """(mean, 95th percentile) time (s) to deliver ``pairs`` pairs.

    Raw pairs: attempts are negative-binomial, time = attempts × period. Purified
    pairs (``pair_time_s`` given): a Gamma(pairs, pair_time_s) approximation.
    """
    from scipy import stats

    if p_attempt <= 0.0:
        return math.inf, math.inf
    if pair_time_s is not None:
        p95 = float(stats.gamma.ppf(0.95, pairs, scale=pair_time_s))
        return pairs * pair_time_s, p95
    failures = 0.0 if p_attempt >= 1.0 else float(stats.nbinom.ppf(0.95, pairs, p_attempt))
    return pairs * attempt_period_s / p_attempt, (pairs + failures) * attempt_period_s


@dataclass(frozen=True)
class LinkReport:
    """What a link delivers; rates in Hz, times in s, fidelities to a Bell state."""

    transmissivity: float
    latency_s: float
    herald_wait_s: float
    attempt_period_s: float  # attempt time + herald wait
    p_success: float  # per attempt, all modes
    p_success_per_mode: float
    raw_rate_hz: float  # heralded pairs before purification
    rate_hz: float  # delivered pairs (after purification, if any)
    fidelity_heralded: float  # at the herald, before memory decoherence
    fidelity_raw: float  # after waiting for the herald, before purification
    fidelity: float  # delivered
    purification_yield: float  # delivered pairs per raw pair
    pairs: int
    generation_time_mean_s: float  # for ``pairs`` pairs
    generation_time_p95_s: float
    plob_ebits_per_use: float
    plob_rate_hz: float  # PLOB bound at the source's clock rate (modes / cycle time)
    ebits_per_use: float  # delivered pairs per channel use
    rate_to_plob: float
    plob_bounded: bool  # False for single-click: √η scaling through a midpoint can exceed PLOB
    qber: float
    bb84_key_fraction: float
    bb84_key_rate_hz: float
    bb84_bits_per_use: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, with infinities and NaN as ``None``."""
        return {
            key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in asdict(self).items()
        }


def _herald_fidelities(params: LinkParams) -> tuple[float, float]:
    """(fidelity at the herald, fidelity once both memories have waited for it).

    Midpoint schemes: both memories wait L/c. Direct: the sender waits 2L/c, the
    receiver L/c.
    """
    f_heralded = heralded_fidelity(params)
    wait_s = params.herald_wait_s
    wait_b_s = wait_s / 2 if params.scheme == "direct" else wait_s
    decay = memory_decay(
        wait_s,
        wait_b_s,
        t1_s=params.t1_s,
        t2_s=params.t2_s,
        coherence_time_s=params.coherence_time_s,
    )
    return f_heralded, decohere(f_heralded, decay)


def evaluate(params: LinkParams, pairs: int = 1) -> LinkReport:
    """Evaluate a link: probabilities, rates, fidelities, bounds, for ``pairs`` pairs."""
    if pairs < 1:
        raise ValueError("pairs must be ≥ 1")
    eta = transmissivity(params.length_km, params.attenuation_db_per_km)
    p_mode, p_attempt = attempt_success(params)
    period_s = params.cycle_time_s + params.herald_wait_s
    raw_rate_hz = p_attempt / period_s
    f_heralded, f_raw = _herald_fidelities(params)
    raw_time_s = math.inf if p_attempt == 0.0 else period_s / p_attempt
    purifying = params.purification is not None and params.purification_rounds > 0
    fidelity, pair_time_s = f_raw, raw_time_s
    if purifying and p_attempt > 0.0:
        fidelity, pair_time_s = purify(params, f_raw, raw_time_s)
    rate_hz = 0.0 if math.isinf(pair_time_s) else 1.0 / pair_time_s
    purified_time_s = pair_time_s if purifying else None
    mean_s, p95_s = generation_time_s(period_s, p_attempt, pairs, purified_time_s)
    uses_per_s = params.multiplexed_modes / params.cycle_time_s
    plob = plob_ebits_per_use(eta)
    qber = qber_from_fidelity(f_heralded)
    key_fraction = bb84_key_fraction(qber)
    key_rate_hz = 0.5 * raw_rate_hz * key_fraction  # sifting ½, measured at the herald
    return LinkReport(
        transmissivity=eta,
        latency_s=latency_s(params.length_km, params.fibre_speed_km_per_s),
        herald_wait_s=params.herald_wait_s,
        attempt_period_s=period_s,
        p_success=p_attempt,
        p_success_per_mode=p_mode,
        raw_rate_hz=raw_rate_hz,
        rate_hz=rate_hz,
        fidelity_heralded=f_heralded,
        fidelity_raw=f_raw,
        fidelity=fidelity,
        purification_yield=rate_hz / raw_rate_hz if raw_rate_hz > 0 else 0.0,
        pairs=pairs,
        generation_time_mean_s=mean_s,
        generation_time_p95_s=p95_s,
        plob_ebits_per_use=plob,
        plob_rate_hz=plob * uses_per_s,
        ebits_per_use=rate_hz / uses_per_s,
        rate_to_plob=rate_hz / (plob * uses_per_s) if plob > 0 else math.inf,
        plob_bounded=params.scheme != "single-click",
        qber=qber,
        bb84_key_fraction=key_fraction,
        bb84_key_rate_hz=key_rate_hz,
        bb84_bits_per_use=key_rate_hz / uses_per_s,
    )
