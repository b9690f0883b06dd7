"""Which observations the GP is fitted on: the multi-fidelity rule and the size cap.

``fidelity="final"`` (the default): each finished trial's final loss, whatever level
it stopped at. Under an early-stopping scheduler a trial cut off at a low rung carries
a worse loss than it would have reached, which is exactly the information the GP needs
(do not go there again); measured on a multi-fidelity Hartmann6 under successive
halving it reached a 5x lower regret than ``"highest"`` (benchmarks/gp_fidelity.py,
docs/benchmarks.md).

``fidelity="highest"``: like BOHB and our TPE, fit on the
highest resource level that at least ``min_points`` trials have reported at, using each
trial's loss *at that level*. Losses from different levels are not comparable (3 epochs
vs 30), so mixing them would teach the GP the schedule, not the objective; restricting
to one level keeps the data consistent, and the highest well-populated level is the
closest to what we optimise. A completed trial that never reported a level (a
warm-start point, a result without the resource key) is a final result and counts at
every level. Trials in flight that have not reported at that level are the pending
points of the kriging believer. Its weakness, measured: trials stopped below the chosen
level are left out altogether, so the GP does not learn from them where not to look
(our TPE counts them as bad observations instead).

Large n: beyond ``max_points`` observations, the GP keeps the best half of the cap and
a seeded random sample of the rest, so the cost of a suggestion stops growing while the
region that matters (the incumbent's) stays fully resolved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers.record import COMPLETE, FAILED, PENDING, TrialRecord

FIDELITY_RULES = ("highest", "final")


@dataclass
class TrainingData:
    flats: list[dict[str, Any]]
    losses: np.ndarray
    level: float | None  # resource level the losses are at; None: final losses
    pending: list[dict[str, Any]]
    #: multi-objective: (objectives..., violation) per observation, rows as ``losses``
    vectors: np.ndarray | None = None


def select(record: TrialRecord, fidelity: str, min_points: int) -> TrainingData | None:
    """The observations to fit on, or None while no level has ``min_points`` of them."""
    if fidelity not in FIDELITY_RULES:
        raise ValueError(f"fidelity must be one of {', '.join(FIDELITY_RULES)}, got {fidelity!r}")
    if fidelity == "final":
        done = record.with_state(COMPLETE)
        if len(done) < min_points:
            return None
        return TrainingData(
            [t.flat for t in done],
            np.array([t.loss for t in done], dtype=float),
            None,
            [t.flat for t in record.with_state(PENDING)],
            _vectors([t.vector for t in done]),
        )
    levelless = [t for t in record if t.state == COMPLETE and not t.levels]
    counts: dict[float, int] = {}
    for t in record:
        if t.state != FAILED:
            for lv in t.levels:
                counts[lv] = counts.get(lv, 0) + 1
    eligible = [lv for lv, c in counts.items() if c + len(levelless) >= min_points]
    if not eligible:
        if counts or len(levelless) < min_points:
            return None
        level = math.inf  # no trial reports levels: final results only
    else:
        level = max(eligible)
    flats, pending = [], []
    losses: list[float | None] = []  # a COMPLETE trial's loss is a float
    vectors: list[tuple[float, ...] | None] = []
    for t in record:
        if t.state != FAILED and level in t.levels:
            flats.append(t.flat)
            losses.append(t.levels[level])
            vectors.append(t.level_vectors.get(level))
        elif t.state == COMPLETE and not t.levels:
            flats.append(t.flat)
            losses.append(t.loss)
            vectors.append(t.vector)
        elif t.state == PENDING:
            pending.append(t.flat)
    return TrainingData(
        flats, np.array(losses, dtype=float), None if level == math.inf else level, pending, _vectors(vectors)
    )


def _vectors(rows: list[tuple[float, ...] | None]) -> np.ndarray | None:
    """The observations' vectors as a matrix, or None unless every one has a vector."""
    if not rows or any(r is None for r in rows):
        return None
    return np.array(rows, dtype=float)


def cap_indices(losses: np.ndarray, max_points: int, rng: np.random.Generator) -> np.ndarray:
    """Indices to keep: all if within the cap, else the best half of it plus a random rest."""
    n = len(losses)
    if n <= max_points:
        return np.arange(n)
    order = np.argsort(losses, kind="stable")
    n_best = max_points // 2
    rest = rng.choice(order[n_best:], size=max_points - n_best, replace=False)
    return np.sort(np.concatenate([order[:n_best], rest]))
