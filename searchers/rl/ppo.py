"""PPO-clip (Schulman et al. 2017) on finished episodes, and the KL between two policies.

Rewards come only at an episode's last step and the discount is 1, so every step of an
episode has the same return: the episode's reward. The advantage is that reward minus
the batch mean (the baseline), divided by the batch's spread, so the update's scale
does not depend on the objective's units. The "old" policy of the clipped ratio is the
policy at the start of the update: episodes collected under earlier policies (the real
evaluations so far) are re-scored by it, and the clip keeps one update from moving any
step's probability by more than ``1 +- clip``.

The clip bounds each episode's ratio, not how far the whole policy moves: with Adam at
the paper's learning rate (0.007) one epoch on 64 imagined episodes moved the policy by
a KL of up to 0.3 and four epochs by up to 6 (measured on the held-out Ackley-5), so
every model-based round overshot the horizon rule's range and was undone, and the
reward model never changed the agent. Two standard guards (``target_kl``) keep an
update near a chosen KL, measured on fresh episodes of the policy it starts from:

* an update stops after the epoch whose KL exceeds ``1.5 * target_kl`` (the early stop
  of OpenAI Spinning Up and Stable-Baselines3);
* the learning rate then adapts (rl_games' "adaptive" schedule, :func:`adapted_lr`):
  divided by 1.5 after an update above ``2 * target_kl``, multiplied by 1.5 after one
  below ``target_kl / 2``, within ``[lr_min, lr_max]``. It lives in the optimizer's state,
  so a restored searcher continues with the rate it had.
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
    #: the KL one update aims at; None: no early stop, a fixed learning rate
    target_kl: float | None = 0.01
    lr_min: float = 7e-6
    lr_max: float = 0.007


def advantages(rewards: torch.Tensor) -> torch.Tensor:
    """Rewards -> baseline-subtracted, unit-spread advantages (zeros if all are equal)."""
    centred = rewards - rewards.mean()
    std = centred.pow(2).mean().sqrt()
    return centred / std if std > 1e-8 else torch.zeros_like(rewards)


def adapted_lr(lr: float, kl: float, settings: PPOSettings) -> float:
    """The learning rate after an update that moved the policy by ``kl``."""
    if settings.target_kl is None:
        return lr
    if kl > 2.0 * settings.target_kl:
        lr /= 1.5
    elif kl < 0.5 * settings.target_kl:
        lr *= 1.5
    return min(max(lr, settings.lr_min), settings.lr_max)


def ppo_update(
    policy: LSTMPolicy,
    optimizer: torch.optim.Optimizer,
    steps: Steps,
    adv: torch.Tensor,
    settings: PPOSettings,
    probe: Steps | None = None,
) -> tuple[float, int]:
    """Up to ``settings.epochs`` full-batch gradient steps on the clipped surrogate.

    With ``probe`` (episodes drawn from the policy as it is now) and a ``target_kl``, the
    KL guards of the module docstring apply. Returns (KL from the starting policy on the
    probe, 0.0 without one; epochs run)."""
    if len(steps) == 0:
        return 0.0, 0
    with torch.no_grad():
        old_logp, _ = policy.evaluate(steps)
        guard = None
        if probe is not None and len(probe) > 0 and settings.target_kl is not None:
            guard = (probe, policy.evaluate(probe)[0], settings.target_kl)
    active = steps.active.float()
    n_active = active.sum().clamp(min=1.0)
    A = adv[:, None]
    kl, epochs = 0.0, 0
    for _ in range(settings.epochs):
        logp, ent = policy.evaluate(steps)
        ratio = torch.exp((logp - old_logp).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO))
        surrogate = torch.minimum(ratio * A, ratio.clamp(1.0 - settings.clip, 1.0 + settings.clip) * A)
        loss = -(surrogate * active).sum() / n_active - settings.entropy_coef * (ent * active).sum() / n_active
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]  # torch's Tensor.backward is unannotated
        torch.nn.utils.clip_grad_norm_(policy.parameters(), settings.max_grad_norm)
        optimizer.step()
        epochs += 1
        if guard is not None:
            probe_steps, probe_logp, target = guard
            with torch.no_grad():
                kl = policy_kl(probe_logp, policy.evaluate(probe_steps)[0])
            if kl > 1.5 * target:
                break
    if guard is not None:
        for group in optimizer.param_groups:
            group["lr"] = adapted_lr(group["lr"], kl, settings)
    return kl, epochs


def policy_kl(logp_before: torch.Tensor, logp_after: torch.Tensor) -> float:
    """KL(before || after) from per-step log-probabilities of episodes drawn from ``before``.

    Uses the non-negative estimator E[(r - 1) - log r], r = p_after / p_before (Schulman's
    "k3"), on whole-episode probabilities.
    """
    log_r = (logp_after.sum(1) - logp_before.sum(1)).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO)
    return float((log_r.exp() - 1.0 - log_r).mean())
