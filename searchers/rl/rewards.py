"""Losses -> rewards on a scale that does not depend on the objective's units.

The agent's reward is the trial's score, sign by mode (the trial record already stores
losses: smaller is better), normalised by the running scores, i.e. by *all* real losses
so far, so a real episode and an imagined one (scored by the reward model) sit on one
scale:

* ``"rank"`` (default): ``1 - 2 F(loss)`` with F the empirical (mid-rank) distribution of
  the real losses: in [-1, 1], immune to heavy tails (Rosenbrock's losses span six
  decades) and to a monotone change of the metric;
* ``"zscore"``: ``-(loss - mean) / std`` of the real losses, clipped to [-3, 3].
"""

from __future__ import annotations

import numpy as np

REWARD_NORMS = ("rank", "zscore")
_ZCLIP = 3.0


class RewardScale:
    def __init__(self, real_losses: np.ndarray, kind: str = "rank"):
        if kind not in REWARD_NORMS:
            raise ValueError(f"reward_norm must be one of {', '.join(REWARD_NORMS)}, got {kind!r}")
        self.kind = kind
        self.sorted = np.sort(np.asarray(real_losses, dtype=float))
        if len(self.sorted) == 0:
            raise ValueError("a reward scale needs at least one real loss")
        self.mean = float(self.sorted.mean())
        self.std = float(self.sorted.std())

    def __call__(self, losses: np.ndarray) -> np.ndarray:
        x = np.asarray(losses, dtype=float)
        if self.kind == "rank":
            below = np.searchsorted(self.sorted, x, side="left")
            at_or_below = np.searchsorted(self.sorted, x, side="right")
            F = 0.5 * (below + at_or_below) / len(self.sorted)
            return 1.0 - 2.0 * F
        if self.std <= 0:
            return np.zeros_like(x)
        return np.clip(-(x - self.mean) / self.std, -_ZCLIP, _ZCLIP)
