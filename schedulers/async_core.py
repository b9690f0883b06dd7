"""ASHA: asynchronous successive halving in one or several brackets (asynchronous Hyperband).

Each new trial joins a bracket drawn from the core's own seeded generator with the
probabilities of synchronous Hyperband's bracket sizes (bracket b gets the share of
trials it would get there), so several brackets keep Hyperband's hedge against an
early rung that ranks configurations badly, without waiting for anyone.

The bracket choice can also be learnt (Hyper-Tune, Li et al. 2022, Sec. 4.3): given
weights of the resource levels, how well each level ranks configurations the way the
highest one does (a multi-fidelity searcher measures them, :mod:`searchers.mf.weights`),
bracket b, whose first rung is at level b, is drawn with probability proportional to
that level's weight. A share :data:`HYPERBAND_SHARE` stays on Hyperband's own
distribution, so every bracket keeps getting trials and every level's weight keeps
being measured; levels without a weight yet count 0, and no weight at all leaves
Hyperband's distribution alone. The weights reach the core as a journaled event
(``set_level_weights``), so a restored core replays the same choices. Within a
bracket the rule is either stopping (:mod:`schedulers.stopping`) or promotion
(:mod:`schedulers.promotion`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from schedulers.core import CONTINUE, PAUSE, PAUSED, RUNNING, STOP, RungCore, TrialState
from schedulers.levels import bracket_sizes, check_brackets, describe_levels
from schedulers.promotion import PromotionRungs
from schedulers.stopping import StoppingRungs

RULES = ("stopping", "promotion")
#: with learnt weights, the share of the bracket choice left on Hyperband's distribution
HYPERBAND_SHARE = 0.25


class AsyncHyperband(RungCore):
    """ASHA with ``brackets`` brackets (1: plain ASHA; all: asynchronous Hyperband)."""

    kind = "async"
    #: the rules' rung containers (a multi-objective core swaps in Pareto-ranked ones)
    stopping_rungs: type[StoppingRungs] = StoppingRungs
    promotion_rungs: type[PromotionRungs] = PromotionRungs

    def __init__(
        self,
        min_resource: float,
        max_resource: float,
        reduction_factor: float,
        *,
        rule: str = "stopping",
        brackets: int = 1,
        seed: int = 0,
    ):
        super().__init__(min_resource, max_resource, reduction_factor)
        if rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
        check_brackets(brackets, len(self.levels))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be an int, got {seed!r}")
        self.rule = rule
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        sizes = np.array(bracket_sizes(len(self.levels), reduction_factor)[:brackets], dtype=float)
        self._hyperband_p: np.ndarray = sizes / sizes.sum()
        self._probabilities = self._hyperband_p
        self.level_weights: list[list[float]] | None = None
        rungs = self.stopping_rungs if rule == "stopping" else self.promotion_rungs
        self.brackets = [rungs(self.levels[b:], reduction_factor) for b in range(brackets)]
        self._skips_to_highest = rule == "stopping"

    # ----------------------------------------------------------------- choices
    def _assign(self, trial_id: str) -> int:
        if len(self.brackets) == 1:
            return 0
        return int(self.rng.choice(len(self.brackets), p=self._probabilities))

    def set_level_weights(self, weights: Sequence[Sequence[float]] | None) -> None:
        """Draw brackets by the weight of their first level from now on (see the module docstring)."""
        pairs = None if weights is None else [[float(level), float(w)] for level, w in weights]
        if pairs == self.level_weights:
            return
        if pairs is not None and any(not (np.isfinite(w) and w >= 0) for _, w in pairs):
            raise ValueError(f"level weights must be finite and >= 0, got {weights!r}")
        self.level_weights = pairs
        self._probabilities = self._bracket_probabilities()
        self.version += 1

    def _bracket_probabilities(self) -> np.ndarray:
        if not self.level_weights:
            return self._hyperband_p
        levels = np.array([level for level, _ in self.level_weights])
        weights = np.array([w for _, w in self.level_weights])
        firsts = [bracket.levels[0] if bracket.levels else self.max_resource for bracket in self.brackets]
        learnt = np.zeros(len(firsts))
        for b, first in enumerate(firsts):
            match = np.isclose(levels, first, rtol=1e-9, atol=0.0)
            learnt[b] = weights[match].sum()
        if learnt.sum() <= 0:
            return self._hyperband_p
        p: np.ndarray = (1 - HYPERBAND_SHARE) * learnt / learnt.sum() + HYPERBAND_SHARE * self._hyperband_p
        out: np.ndarray = p / p.sum()
        return out

    def bracket_probabilities(self) -> list[float]:
        """The probability of each bracket for the next trial."""
        return [float(p) for p in self._probabilities]

    def _milestones(self, t: TrialState) -> Sequence[float]:
        return self.brackets[t.bracket].levels

    def _on_milestone(self, t: TrialState, k: int, loss: Any) -> str:
        bracket = self.brackets[t.bracket]
        if self.rule == "stopping":
            if cast(StoppingRungs, bracket).decide(t.trial_id, k, loss):
                return CONTINUE
            self._done(t, "stopped" if self._finite(loss) else "nan")
            return STOP
        bracket = cast(PromotionRungs, bracket)  # the rule is "promotion" from here on
        bracket.record(t.trial_id, k, loss)
        if not self._finite(loss):
            self._done(t, "nan")
            self._slot_freed()
            return STOP
        # The trial's own slot frees: the best promotable trial gets it (maybe this one).
        t.status = PAUSED
        best = self._best_candidate()
        if best is not None and best[1] == t.trial_id:
            bracket.promote(k, t.trial_id)
            t.status = RUNNING
            return CONTINUE
        if best is not None:
            self._promote_from(*best)
        return PAUSE

    def _slot_freed(self) -> None:
        if self.rule == "promotion":
            best = self._best_candidate()
            if best is not None:
                self._promote_from(*best)

    def _best_candidate(self) -> tuple[int, str, int] | None:
        """(bracket, trial, rung) to promote: highest milestone first, then lowest loss."""
        best_key, best = None, None
        for b, bracket in enumerate(self.brackets):
            for k, trial_id in cast(PromotionRungs, bracket).candidates(self._waiting):
                rung = bracket.rungs[k]
                key = (-rung.level, rung.loss(trial_id), b, rung.rank(trial_id))
                if best_key is None or key < best_key:
                    best_key, best = key, (b, trial_id, k)
                break  # candidates come best first within a bracket: one per bracket suffices
        return best

    def _promote_from(self, b: int, trial_id: str, k: int) -> None:
        cast(PromotionRungs, self.brackets[b]).promote(k, trial_id)
        self._promote(self._trials[trial_id])

    def on_stall(self, search_finished: bool) -> None:
        paused = [t for t in self._trials.values() if t.status == PAUSED]
        if not paused or self.rule != "promotion":
            return
        if search_finished:  # no trial will ever reach their rungs again: none can be promoted
            for t in paused:
                self._stop_later(t, "unpromoted")
            return

        # New trials are refused while trials wait (e.g. a ConcurrencyLimiter counts paused
        # trials as live): give up the waiting trial with the least invested and the worst loss.
        def key(t: TrialState) -> tuple[float, float, int]:
            rung = self.brackets[t.bracket].rungs[t.next_rung - 1]
            return rung.level, -rung.loss(t.trial_id), -rung.rank(t.trial_id)

        self._stop_later(min(paused, key=key), "released")

    # ------------------------------------------------------------ presentation
    def describe(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.status_counts().items())) or "no trials"
        head = (
            f"ASHA ({self.rule}, eta={self.reduction_factor:g}, levels "
            f"{describe_levels(self.levels, self.max_resource)}, {len(self.brackets)} bracket(s)): {counts}"
        )
        return "\n".join([head] + [f"  bracket {b}: {br.describe()}" for b, br in enumerate(self.brackets)])

    # ------------------------------------------------------------- persistence
    def config(self) -> dict[str, Any]:
        return {**super().config(), "rule": self.rule, "brackets": len(self.brackets), "seed": self.seed}

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "rng": self.rng.bit_generator.state,
            "brackets": [b.to_dict() for b in self.brackets],
            "level_weights": self.level_weights,
        }

    def load(self, data: dict[str, Any]) -> None:
        super().load(data)
        self.rng.bit_generator.state = data["rng"]
        for bracket, saved in zip(self.brackets, data["brackets"]):
            bracket.load(saved)
        self.level_weights = data.get("level_weights")  # absent in states saved before learnt brackets
        self._probabilities = self._bracket_probabilities()
