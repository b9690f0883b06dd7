"""The agent: an LSTM that chooses one parameter per step (Wu, Chen & Liu 2020).

As in the paper: an input embedding of 2 units, 3 LSTM layers of 35 units, an output
layer per step. The input at a step is the embedding of the *previous active* choice (a
token per option, a token per numeric parameter scaled by its value) next to a 2-unit
embedding of which parameter is being chosen: in a conditional space the steps an
episode takes depend on its branch, so the agent is told where it is.

A numeric step's action is Gaussian, N(mu, sigma) with mu = tanh(.) in [-1, 1] and sigma
between ``min_sigma`` and ``max_sigma`` (a squashed log-scale), clipped to [-1, 1]; a
categorical step is a softmax over its options. Inactive steps leave the recurrent state
alone, so an episode's log-probability is the same whether it is computed alone or in a
batch with episodes of other branches.

All randomness comes from the ``torch.Generator`` passed in; nothing reads global state.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from searchers.rl.steps import StepPlan, Steps

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class LSTMPolicy(nn.Module):
    def __init__(
        self,
        plan: StepPlan,
        generator: torch.Generator,
        hidden: int = 35,
        layers: int = 3,
        embed: int = 2,
        init_sigma: float = 0.5,
        min_sigma: float = 0.005,
        max_sigma: float = 1.0,
    ):
        super().__init__()
        if not 0 < min_sigma < init_sigma < max_sigma:
            raise ValueError(f"need 0 < min_sigma < init_sigma < max_sigma, got {min_sigma}, {init_sigma}, {max_sigma}")
        self.plan = plan
        P = len(plan)
        self.token = nn.Embedding(plan.n_tokens, embed)
        self.token_scale = nn.Embedding(plan.n_tokens, embed)
        self.step = nn.Embedding(P, embed)
        self.lstm = nn.LSTM(2 * embed, hidden, layers)
        self.out_w = nn.Parameter(torch.zeros(P, hidden, plan.width))
        self.out_b = nn.Parameter(torch.zeros(P, plan.width))
        self._log_min, self._log_max = math.log(min_sigma), math.log(max_sigma)
        frac = (math.log(init_sigma) - self._log_min) / (self._log_max - self._log_min)
        self._sigma_shift = math.log(frac / (1 - frac))
        self._reset(generator)

    def _reset(self, gen: torch.Generator) -> None:
        """Initialise from ``gen`` (PyTorch's default ranges; the heads start at zero, so the
        first policy is centred, with ``init_sigma`` and uniform categoricals)."""
        bound = 1.0 / math.sqrt(self.lstm.hidden_size)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("lstm."):
                    p.uniform_(-bound, bound, generator=gen)
                elif name.startswith(("token", "step")):
                    p.normal_(0.0, 1.0, generator=gen)
                else:
                    p.zero_()

    def sample(self, n: int, generator: torch.Generator) -> tuple[Steps, torch.Tensor, torch.Tensor]:
        """``n`` new episodes with their per-step log-probabilities and entropies (no grad)."""
        with torch.no_grad():
            return self._run(None, n, generator)

    def evaluate(self, steps: Steps) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-step log-probabilities and entropies (episodes, parameters) of given episodes;
        zero at inactive steps."""
        _, logp, ent = self._run(steps, len(steps), None)
        return logp, ent

    def _run(
        self, given: Steps | None, B: int, gen: torch.Generator | None
    ) -> tuple[Steps, torch.Tensor, torch.Tensor]:
        plan = self.plan
        L, H = self.lstm.num_layers, self.lstm.hidden_size
        h = torch.zeros(L, B, H)
        c = torch.zeros(L, B, H)
        prev_tok = torch.zeros(B, dtype=torch.long)
        prev_u = torch.zeros(B)
        act_cols: list[torch.Tensor] = []
        num_cols: list[torch.Tensor] = []
        cat_cols: list[torch.Tensor] = []
        logps: list[torch.Tensor] = []
        ents: list[torch.Tensor] = []
        for j, p in enumerate(plan.params):
            x = torch.cat(
                [
                    self.token(prev_tok) + prev_u[:, None] * self.token_scale(prev_tok),
                    self.step.weight[j].expand(B, -1),
                ],
                dim=1,
            )
            out, (h2, c2) = self.lstm(x[None], (h, c))
            o = out[0] @ self.out_w[j] + self.out_b[j]
            if given is not None:
                active = given.active[:, j]
            elif plan.parent_step[j] < 0:
                active = torch.ones(B, dtype=torch.bool)
            else:
                k = plan.parent_step[j]
                active = act_cols[k] & (cat_cols[k] == plan.parent_option[j])
            if p.is_categorical:
                logp_all = torch.log_softmax(o[:, : p.n_choices], dim=1)
                if given is None:
                    a = torch.multinomial(logp_all.exp(), 1, generator=gen).squeeze(1)
                else:
                    a = given.cat[:, j]
                lp = logp_all.gather(1, a[:, None]).squeeze(1)
                ent = -(logp_all.exp() * logp_all).sum(1)
                tok = plan.token_offset[j] + a
                u = torch.zeros(B)
                num_cols.append(torch.zeros(B))
                cat_cols.append(torch.where(active, a, 0))
            else:
                mu = torch.tanh(o[:, 0])
                log_sigma = self._log_min + (self._log_max - self._log_min) * torch.sigmoid(o[:, 1] + self._sigma_shift)
                if given is None:
                    a = (mu + log_sigma.exp() * torch.randn(B, generator=gen)).clamp(-1.0, 1.0)
                else:
                    a = given.num[:, j]
                lp = -0.5 * ((a - mu) / log_sigma.exp()) ** 2 - log_sigma - _HALF_LOG_2PI
                ent = log_sigma + 0.5 + _HALF_LOG_2PI
                tok = torch.full((B,), plan.token_offset[j], dtype=torch.long)
                u = a
                num_cols.append(torch.where(active, a, 0.0))
                cat_cols.append(torch.zeros(B, dtype=torch.long))
            act_cols.append(active)
            logps.append(torch.where(active, lp, 0.0))
            ents.append(torch.where(active, ent, 0.0))
            keep = active[None, :, None]
            h, c = torch.where(keep, h2, h), torch.where(keep, c2, c)
            prev_tok = torch.where(active, tok, prev_tok)
            prev_u = torch.where(active, u, prev_u)
        steps = given
        if steps is None:
            steps = Steps(torch.stack(act_cols, 1), torch.stack(num_cols, 1), torch.stack(cat_cols, 1))
        return steps, torch.stack(logps, 1), torch.stack(ents, 1)
