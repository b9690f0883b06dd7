"""Cross-validation of the finalists: one Ray trial per (finalist, fold), all in one Tuner.

The folds are stratified and fixed by the seed over the task's tuning pool (every
labelled row the stages drew their training and validation rows from; see
``pipeline.tasks.data.trial_rows``), and each trial fits its preprocessing on its own
training folds. The configurations are served in order by a seeded
:class:`RandomSearcher` whose ``points_to_evaluate`` are exactly the (finalist, fold)
pairs and whose ``num_samples`` is their number, so Ray's searcher save/restore carries
CV progress through a crash like any other stage.

The winner is the finalist with the best mean over folds; the spread is the sample
standard deviation (ddof=1) of its fold scores. A finalist with a failed fold ranks
after every finalist whose folds all succeeded. Finalists whose mean lies within one
standard error of the winner's mean (its std / sqrt(folds)) are near-ties: the folds
cannot tell them from the winner, and the report says so rather than let the mean
alone decide silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.context import CV_FINALIST_KEY, CV_FOLD_KEY
from pipeline.ranking import TrialOutcome
from pipeline.state import Candidate
from searchers.space import Int, SearchSpace


@dataclass
class FinalistScore:
    index: int
    scores: list[float | None]

    @property
    def finite(self) -> list[float]:
        return [s for s in self.scores if s is not None and math.isfinite(s)]

    @property
    def complete(self) -> bool:
        return len(self.finite) == len(self.scores)

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.finite)) if self.finite else None

    @property
    def std(self) -> float | None:
        return float(np.std(self.finite, ddof=1)) if len(self.finite) > 1 else None


def cv_space(space: SearchSpace, n_finalists: int, folds: int) -> SearchSpace:
    """The tuning space plus the two CV keys, so a CV config is a point of a space."""
    from searchers.define_by_run import DefineByRunSpace

    if isinstance(space, DefineByRunSpace):
        return space.with_params({CV_FINALIST_KEY: Int(0, n_finalists - 1), CV_FOLD_KEY: Int(0, folds - 1)})
    return SearchSpace({**space.to_tree(), CV_FINALIST_KEY: Int(0, n_finalists - 1), CV_FOLD_KEY: Int(0, folds - 1)})


def cv_points(finalists: list[Candidate], folds: int) -> list[dict[str, Any]]:
    """Fold-major order: the first wave of trials covers every finalist's first fold."""
    return [{**c.config, CV_FINALIST_KEY: j, CV_FOLD_KEY: f} for f in range(folds) for j, c in enumerate(finalists)]


def fold_scores(outcomes: list[TrialOutcome], n_finalists: int, folds: int) -> list[FinalistScore]:
    table: list[list[float | None]] = [[None] * folds for _ in range(n_finalists)]
    for o in outcomes:
        j, f = o.config.get(CV_FINALIST_KEY), o.config.get(CV_FOLD_KEY)
        if isinstance(j, int) and isinstance(f, int) and 0 <= j < n_finalists and 0 <= f < folds:
            table[j][f] = o.value
    return [FinalistScore(j, scores) for j, scores in enumerate(table)]


def winner(scores: list[FinalistScore], mode: str) -> int | None:
    """Index of the finalist with the best mean, complete finalists first."""
    sign = -1.0 if mode == "max" else 1.0
    candidates = [s for s in scores if s.mean is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda s: (not s.complete, sign * s.mean, s.index)).index


def near_ties(scores: list[FinalistScore], win: int) -> list[int]:
    """Indices of the complete finalists whose CV mean is within one standard error of the winner's."""
    w = scores[win]
    if w.std is None or w.mean is None:
        return []
    se = w.std / math.sqrt(len(w.finite))
    return [
        s.index for s in scores if s.index != win and s.complete and s.mean is not None and abs(s.mean - w.mean) <= se
    ]
