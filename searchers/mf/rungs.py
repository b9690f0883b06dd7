"""Which observations the multi-fidelity models see: every trial's loss at every rung level.

The rung levels are the scheduler's (``min_resource * eta^k`` below ``max_resource``, and
``max_resource``): ASHA and Hyperband decide there, so every trial that got that far
reported there, and the levels are the same for all trials, which is what makes one
rung's ranking comparable with another's. Results between rungs add little (the next
rung follows) and would weight long-lived trials many times over.

A finished trial that never reported a level (a warm start) counts at ``max_resource``.
Trials in flight that reported nothing yet are the pending points of the kriging
believer; those paused at a rung (promotion) are already in the data there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers.gp.data import cap_indices
from searchers.record import COMPLETE, FAILED, PENDING, TrialRecord


def rung_levels(min_resource: float, max_resource: float, reduction_factor: float) -> list[float]:
    """``min * eta^k`` for every k with a value below ``max``, then ``max`` (as ASHA's rungs)."""
    levels: list[float] = []
    k = 0
    while True:
        level = float(min_resource) * float(reduction_factor) ** k
        if level >= max_resource * (1 - 1e-9):
            break
        levels.append(level)
        k += 1
    return levels + [float(max_resource)]


@dataclass
class Rung:
    """The observations at one level, in record order."""

    level: float
    flats: list[dict[str, Any]]
    losses: np.ndarray

    def __len__(self) -> int:
        return len(self.flats)


def collect(record: TrialRecord, levels: list[float]) -> list[Rung]:
    """Non-empty rungs, lowest level first."""
    at: dict[float, tuple[list[dict[str, Any]], list[float]]] = {lv: ([], []) for lv in levels}
    top = levels[-1]
    for t in record:
        if t.state == FAILED:
            continue
        if not t.levels:
            if t.state == COMPLETE and t.loss is not None:
                at[top][0].append(t.flat)
                at[top][1].append(t.loss)
            continue
        for lv in levels:
            loss = t.levels.get(lv)
            if loss is not None:
                at[lv][0].append(t.flat)
                at[lv][1].append(loss)
    return [Rung(lv, flats, np.array(losses, dtype=float)) for lv, (flats, losses) in at.items() if flats]


def in_flight(record: TrialRecord, max_pending: int) -> list[dict[str, Any]]:
    """The newest ``max_pending`` trials in flight that have reported nothing yet."""
    fresh = [t.flat for t in record if t.state == PENDING and not t.levels]
    return fresh[-max_pending:] if max_pending > 0 else []


def n_observed(record: TrialRecord) -> int:
    """Trials with at least one result (the start-up phase counts these)."""
    return sum(1 for t in record if t.state != FAILED and (t.levels or t.state == COMPLETE))


def cap_rung(rung: Rung, max_points: int, rng: np.random.Generator) -> Rung:
    """At most ``max_points`` observations: the best half of the cap and a random rest."""
    keep = cap_indices(rung.losses, max_points, rng)
    if len(keep) == len(rung):
        return rung
    return Rung(rung.level, [rung.flats[i] for i in keep], rung.losses[keep])


def cap_joint(rungs: list[Rung], max_points: int, rng: np.random.Generator) -> list[Rung]:
    """At most ``max_points`` observations over all rungs, the highest rungs served first.

    The highest rungs are the scarcest and the closest to the objective; the lowest one
    holds most trials and says least, so it is the one that gets thinned."""
    left, out = max_points, []
    for rung in reversed(rungs):
        if left <= 0:
            break
        out.append(cap_rung(rung, max(left, 2), rng) if len(rung) > left else rung)
        left -= len(out[-1])
    return out[::-1]


def resource_unit(level: float, min_resource: float, max_resource: float) -> float:
    """log(level) rescaled to [0, 1] between min_resource and max_resource."""
    if max_resource <= min_resource:
        return 1.0
    return math.log(level / min_resource) / math.log(max_resource / min_resource)
