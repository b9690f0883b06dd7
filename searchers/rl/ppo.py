"""PPO-clip (Schulman et al. 2017) on finished episodes, and the KL between two policies.

Rewards come only at an episode's last step and the discount is 1, so every step of an
episode has the same return: the episode's reward. The advantage is that reward minus
the batch mean (the baseline), divided by the batch's spread, so the update's scale
does not depend on the objective's units. The "old" policy of the clipped ratio is the
policy at the start of the update: episodes collected under earlier policies (the real
evaluations so far) are re-scored by it, and the clip keeps one update from moving any
step's probability by more than ``1 +- clip``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from searchers.rl.policy import LSTMPolicy
from searchers.rl.steps import Steps

#: log-ratios are clipped here before exp(): an off-policy episode far out in a narrow
#: Gaussian's tail has a log-probability of -1e4, and its ratio must not overflow
_MAX_LOG_RATIO = 20.0


@dataclass(frozen=True)
class PPOSettings:
    clip: float = 0.2
    epochs: int = 4
    entropy_coef: float = 0.0
    max_grad_norm: float = 1.0


def advantages(rewards: torch.Tensor) -> torch.Tensor:
    """Rewards -> baseline-subtracted, unit-spread advantages (zeros if all are equal)."""
    centred = rewards - rewards.mean()
    std = centred.pow(2).mean().sqrt()
    return centred / std if std > 1e-8 else torch.zeros_like(rewards)


def ppo_update(
    policy: LSTMPolicy, optimizer: torch.optim.Optimizer, steps: Steps, adv: torch.Tensor, settings: PPOSettings
) -> None:
    """``settings.epochs`` full-batch gradient steps on the clipped surrogate."""
    if len(steps) == 0:
        return
    with torch.no_grad():
        old_logp, _ = policy.evaluate(steps)
    active = steps.active.float()
    n_active = active.sum().clamp(min=1.0)
    A = adv[:, None]
    for _ in range(settings.epochs):
        logp, ent = policy.evaluate(steps)
        ratio = torch.exp((logp - old_logp).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO))
        surrogate = torch.minimum(ratio * A, ratio.clamp(1.0 - settings.clip, 1.0 + settings.clip) * A)
        loss = -(surrogate * active).sum() / n_active - settings.entropy_coef * (ent * active).sum() / n_active
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]  # torch's Tensor.backward is unannotated
        torch.nn.utils.clip_grad_norm_(policy.parameters(), settings.max_grad_norm)
        optimizer.step()


def policy_kl(logp_before: torch.Tensor, logp_after: torch.Tensor) -> float:
    """KL(before || after) from per-step log-probabilities of episodes drawn from ``before``.

    Uses the non-negative estimator E[(r - 1) - log r], r = p_after / p_before (Schulman's
    "k3"), on whole-episode probabilities.
    """
    log_r = (logp_after.sum(1) - logp_before.sum(1)).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO)
    return float((log_r.exp() - 1.0 - log_r).mean())
