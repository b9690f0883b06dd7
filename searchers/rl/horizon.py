"""How far the agent trusts the reward model: the KL-controlled model-use horizon.

Between real evaluations the agent trains on imagined episodes scored by the reward
model, for up to ``horizon`` rounds. After each round the KL divergence between the
policy *before any model-based update* and the policy now is measured:

* KL above ``kl_high``: the model is pulling the policy further than the real data
  supports; that round is undone, model use stops, and the horizon halves;
* all rounds done with KL inside ``[kl_low, kl_high]``: the model moved the policy by a
  sensible amount; the horizon grows by one round;
* KL below ``kl_low``: the model taught the agent next to nothing; the horizon stays.

Both functions are pure so the rule can be checked by hand (tests/test_rl_horizon.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HorizonRule:
    kl_low: float = 1e-3
    kl_high: float = 0.05
    min_horizon: int = 1
    max_horizon: int = 8

    def __post_init__(self) -> None:
        if not 0 <= self.kl_low < self.kl_high:
            raise ValueError(f"need 0 <= kl_low < kl_high, got kl_low={self.kl_low}, kl_high={self.kl_high}")
        if not 1 <= self.min_horizon <= self.max_horizon:
            raise ValueError(
                f"need 1 <= min_horizon <= max_horizon, got min_horizon={self.min_horizon}, "
                f"max_horizon={self.max_horizon}"
            )


def keep_round(kl: float, rule: HorizonRule) -> bool:
    """Whether a model-based round that left the policy at ``kl`` from its start is kept."""
    return kl <= rule.kl_high


def next_horizon(horizon: int, kl: float, rule: HorizonRule) -> int:
    """The horizon for the next real evaluation, given the last KL measured in this one."""
    if kl > rule.kl_high:
        return max(rule.min_horizon, horizon // 2)
    if kl >= rule.kl_low:
        return min(rule.max_horizon, horizon + 1)
    return min(max(horizon, rule.min_horizon), rule.max_horizon)
