"""Statistics for judging runs from shot counts: estimates with honest intervals.

Every metric qorch judges is an estimate from a finite number of shots, so it
comes with a standard error and a confidence interval at a stated level:

- a proportion (success probability, accuracy): the Wilson score interval,
  which keeps its coverage near 0 and 1 where the normal approximation fails;
- a distance between the measured and the ideal distribution (Hellinger
  fidelity, total variation distance): the plug-in value (what Qiskit's
  ``hellinger_fidelity`` gives), a multinomial bootstrap interval of the
  counts with a seed taken from the counts (the same counts give the same
  interval), stretched by the finite-shot floor a perfect device would show.

Pure functions of counts; no I/O.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

from qorch.engine.limits import DEFAULT_LEVEL as DEFAULT_LEVEL

if TYPE_CHECKING:  # numpy is imported where distances are computed: checks load fast
    import numpy as np

Counts = Mapping[str, int]
Distribution = Mapping[str, float]

BOOTSTRAP_RESAMPLES = 1000
MAX_BOOTSTRAP_CELLS = 20_000_000  # resamples × observed outcomes held at once (~160 MB of int64)


@dataclass(frozen=True)
class Estimate:
    """A value with its standard error and a confidence interval ``[low, high]`` at ``level``."""

    value: float
    std_error: float
    low: float
    high: float
    level: float = DEFAULT_LEVEL

    @classmethod
    def exact(cls, value: float) -> Estimate:
        """A number known without sampling error (a count, a compile-time figure)."""
        return cls(value, 0.0, value, value, 1.0)


def z_score(level: float) -> float:
    """The two-sided normal quantile for a confidence ``level`` (0.95 → 1.95996)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), not {level}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def proportion(successes: int, trials: int, level: float = DEFAULT_LEVEL) -> Estimate:
    """``successes / trials`` with the Wilson score interval and the binomial standard error."""
    if trials <= 0:
        raise ValueError("a proportion needs at least one trial")
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    p = successes / trials
    z = z_score(level)
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Estimate(p, math.sqrt(p * (1 - p) / trials), max(0.0, centre - half),
                    min(1.0, centre + half), level)  # fmt: skip


def normalise(counts: Counts) -> dict[str, float]:
    """Counts as probabilities (empty counts: an empty distribution)."""
    total = sum(counts.values())
    return {key: value / total for key, value in counts.items()} if total else {}


def hellinger_fidelity(measured: Distribution, ideal: Distribution) -> float:
    """The classical fidelity ``(Σ √(p q))²`` of two distributions (as Qiskit defines it)."""
    overlap = sum(math.sqrt(p * ideal.get(key, 0.0)) for key, p in measured.items())
    return min(1.0, overlap * overlap)


def total_variation(measured: Distribution, ideal: Distribution) -> float:
    """The total variation distance ``½ Σ |p − q|`` over both supports."""
    keys = set(measured) | set(ideal)
    return 0.5 * sum(abs(measured.get(key, 0.0) - ideal.get(key, 0.0)) for key in keys)


def hellinger_estimate(
    counts: Counts, ideal: Distribution, level: float = DEFAULT_LEVEL
) -> Estimate:
    """Hellinger fidelity of ``counts`` to ``ideal`` (Qiskit's value) with an honest interval."""
    return _distance(counts, ideal, level, _fidelity_rows, perfect=1.0)


def tvd_estimate(counts: Counts, ideal: Distribution, level: float = DEFAULT_LEVEL) -> Estimate:
    """Total variation distance of ``counts`` to ``ideal`` with an honest interval."""
    return _distance(counts, ideal, level, _tvd_rows, perfect=0.0)


def success_estimate(
    counts: Counts, outcomes: set[str] | frozenset[str], level: float = DEFAULT_LEVEL
) -> Estimate:
    """The fraction of shots in ``outcomes`` (the ideal answers), with its Wilson interval."""
    shots = sum(counts.values())
    return proportion(sum(counts.get(key, 0) for key in outcomes), shots, level)


# --- the bootstrap -------------------------------------------------------------------------

RowStatistic = Callable[["np.ndarray", "np.ndarray", float], "np.ndarray"]


def _fidelity_rows(p: np.ndarray, q: np.ndarray, unseen_q: float) -> np.ndarray:
    """Fidelity for each row of observed probabilities ``p`` against ideal ``q``."""
    import numpy as np

    return np.minimum(1.0, np.sqrt(p * q).sum(axis=-1) ** 2)


def _tvd_rows(p: np.ndarray, q: np.ndarray, unseen_q: float) -> np.ndarray:
    """TVD for each row of ``p``; ideal outcomes never observed add ``unseen_q / 2``."""
    import numpy as np

    return 0.5 * (np.abs(p - q).sum(axis=-1) + unseen_q)


def _distance(
    counts: Counts, ideal: Distribution, level: float, rows: RowStatistic, perfect: float
) -> Estimate:
    """The plug-in distance with an interval for the true distance.

    Both distances are biased by sampling alone: a perfect device sampling a
    broad distribution shows fidelity < 1 and TVD > 0 at any finite shot
    count. The interval is the basic bootstrap interval of the counts (which
    corrects a bias to first order), stretched towards the perfect value by
    what a perfect device would show at the same shots (the mean distance of
    samples drawn from ``ideal`` itself), and always holds the plug-in value:
    a measurement that a perfect device could have produced never fails a
    bound that device would pass. For a distribution with few outcomes (GHZ,
    a QFT with a known answer) the interval is the plain bootstrap interval.
    """
    import numpy as np

    keys = sorted(key for key, count in counts.items() if count > 0)
    shots = sum(counts[key] for key in keys)
    if shots == 0:
        raise ValueError("no shots to judge")
    observed = np.array([counts[key] for key in keys], dtype=float)
    q = np.array([ideal.get(key, 0.0) for key in keys])
    unseen_q = max(0.0, 1.0 - float(q.sum()))  # ideal mass on outcomes never observed
    point = float(rows(observed / shots, q, unseen_q))
    rng = np.random.default_rng(_seed(keys, observed))
    resamples = max(200, min(BOOTSTRAP_RESAMPLES, MAX_BOOTSTRAP_CELLS // max(1, len(keys))))
    draws = rng.multinomial(shots, observed / shots, size=resamples) / shots
    alpha = (1.0 - level) / 2.0
    lower_q, upper_q = np.quantile(rows(draws, q, unseen_q), [alpha, 1.0 - alpha])
    low, high = 2.0 * point - float(upper_q), 2.0 * point - float(lower_q)  # basic bootstrap
    floor = abs(perfect - _perfect_device_mean(ideal, shots, rows, rng))
    if perfect > point:
        high += floor
    else:
        low -= floor
    spread = (high - low) / (2.0 * z_score(level))
    return Estimate(point, spread, max(0.0, min(low, point)), min(1.0, max(high, point)), level)


def _perfect_device_mean(
    ideal: Distribution, shots: int, rows: RowStatistic, rng: np.random.Generator
) -> float:
    """The mean distance that samples of ``shots`` drawn from ``ideal`` itself show."""
    import numpy as np

    keys = sorted(key for key, p in ideal.items() if p > 0)
    q = np.array([ideal[key] for key in keys])
    q = q / q.sum()
    resamples = max(20, min(200, MAX_BOOTSTRAP_CELLS // max(1, len(keys))))
    draws = rng.multinomial(shots, q, size=resamples) / shots
    return float(rows(draws, q, 0.0).mean())


def _seed(keys: list[str], observed: np.ndarray) -> int:
    """A seed from the counts themselves: the same counts always give the same interval."""

    digest = hashlib.sha256("\x1f".join(keys).encode() + observed.tobytes()).digest()
    return int.from_bytes(digest[:8], "big")
