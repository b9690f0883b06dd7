"""Configurations as episodes: one step per parameter, in a fixed order.

An episode chooses the parameters of one configuration one at a time. The order is fixed
per space (the space's depth-first order by default; any order that decides a branch's
categorical before the branch's parameters may be given). Every episode has one slot per
parameter; a parameter outside the branch the episode chose is *inactive*: the agent
skips it (no action, no log-probability, its recurrent state unchanged), so a batch of
episodes over a conditional space is a rectangle plus an ``active`` mask.

Actions: a numeric parameter's action is its unit coordinate (searchers/space.py's
encoding: log and integer grids handled there) rescaled to ``[-1, 1]``; a categorical's
is the option index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from searchers.space import Param, SearchSpace


@dataclass
class Steps:
    """A batch of episodes: ``active``/``num``/``cat`` of shape (episodes, parameters)."""

    active: torch.Tensor  # bool
    num: torch.Tensor  # float: numeric action in [-1, 1] (0 where categorical or inactive)
    cat: torch.Tensor  # long: option index (0 where numeric or inactive)

    def __len__(self) -> int:
        return self.active.shape[0]

    def take(self, idx: Any) -> Steps:
        return Steps(self.active[idx], self.num[idx], self.cat[idx])


class StepPlan:
    """The order of steps of a space, and the conversion of configurations to episodes."""

    def __init__(self, space: SearchSpace, order: Sequence[str] | None = None):
        self.space = space
        names = list(space.names) if order is None else list(order)
        if sorted(names) != sorted(space.names):
            raise ValueError(f"param_order must name every parameter once: {sorted(space.names)}, got {names}")
        pos = {n: i for i, n in enumerate(names)}
        for n in names:
            parent = space[n].parent
            if parent is not None and pos[parent[0]] > pos[n]:
                raise ValueError(f"param_order: '{parent[0]}' decides whether '{n}' is active, so it must come first")
        self.params: tuple[Param, ...] = tuple(space[n] for n in names)
        self.parent_step = [pos[p.parent[0]] if p.parent else -1 for p in self.params]
        self.parent_option = [p.parent[1] if p.parent else -1 for p in self.params]
        self.is_cat = torch.tensor([p.is_categorical for p in self.params])
        self.n_choices = [p.n_choices if p.is_categorical else 0 for p in self.params]
        #: widest output a step needs: (mean, scale) or one logit per option
        self.width = max([2] + self.n_choices)
        # Input tokens: 0 is "start"; then one per numeric parameter, one per option.
        offsets: list[int] = []
        n_tokens = 1
        for p in self.params:
            offsets.append(n_tokens)
            n_tokens += p.n_choices if p.is_categorical else 1
        self.token_offset = offsets
        self.n_tokens = n_tokens

    def __len__(self) -> int:
        return len(self.params)

    def encode(self, flats: Sequence[Mapping[str, Any]]) -> Steps:
        """Flat configurations (searchers/space.py) -> episodes."""
        B, P = len(flats), len(self.params)
        active = torch.zeros(B, P, dtype=torch.bool)
        num = torch.zeros(B, P)
        cat = torch.zeros(B, P, dtype=torch.long)
        for b, flat in enumerate(flats):
            for j, p in enumerate(self.params):
                if p.name not in flat:
                    continue
                active[b, j] = True
                if p.is_categorical:
                    cat[b, j] = int(flat[p.name])
                else:
                    num[b, j] = min(max(2.0 * p.to_unit(flat[p.name]) - 1.0, -1.0), 1.0)
        return Steps(active, num, cat)

    def decode(self, steps: Steps) -> list[dict[str, Any]]:
        """Episodes -> flat configurations (numeric actions snapped by the space)."""
        active, num, cat = steps.active.tolist(), steps.num.tolist(), steps.cat.tolist()
        out = []
        for b in range(len(active)):
            flat: dict[str, Any] = {}
            for j, p in enumerate(self.params):
                if active[b][j]:
                    flat[p.name] = int(cat[b][j]) if p.is_categorical else p.from_unit(0.5 * (num[b][j] + 1.0))
            out.append(flat)
        return out
