"""Ask/tell over mftune's pure searcher cores: tuning in a plain Python loop, no Ray.

::

    from searchers.ask_tell import AskTell

    opt = AskTell(space, mode="min", seed=0)  # algorithm="auto": the GP, then TPE
    for _ in range(50):
        trial_id, config = opt.ask()
        opt.tell(trial_id, train_and_score(config))
    print(opt.best_params, opt.best_value)

The same cores as the Ray searchers (``AutoCore``, ``TPECore``, ``GPCore``, the space's own sampler)
over the same :class:`~searchers.record.TrialRecord`, so a suggestion here is the one
``TPESearcher`` would make from the same history and seed. ``space`` is anything a
searcher takes, a define-by-run function included. Several ``ask`` before a ``tell`` are
fine (trials in flight count as the Ray searchers count them); ``report`` records an
intermediate value at a resource level, which the multi-fidelity rules use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from searchers.common.checks import check_mode, finite_or_none
from searchers.define_by_run import as_space
from searchers.record import COMPLETE, PENDING, TrialObs, TrialRecord

if TYPE_CHECKING:
    from searchers.auto.core import AutoCore
    from searchers.gp.core import GPCore
    from searchers.tpe.core import TPECore

ALGORITHMS = ("auto", "tpe", "gp", "random")


class Suggestion(NamedTuple):
    trial_id: str
    config: dict[str, Any]


class AskTell:
    """A searcher driven by ``ask()``/``tell()``.

    Args:
        space: a :class:`~searchers.space.SearchSpace`, a tree it accepts, or ``space(trial)``.
        mode: "min" or "max".
        algorithm: "auto" (default: the GP, then TPE, see :mod:`searchers.auto.rule`),
            "tpe", "gp" or "random".
        seed: seed of the searcher's own generator.
        points_to_evaluate: configurations asked first, in order.
        **settings: the core's knobs (``TPESettings`` fields for "tpe", ``GPCore``
            arguments for "gp", ``AutoCore`` arguments for "auto"), e.g. ``n_startup_trials=5``.
    """

    def __init__(
        self,
        space: Any,
        *,
        mode: str = "min",
        algorithm: str = "auto",
        seed: int = 0,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        **settings: Any,
    ):
        check_mode(mode, allow_none=False)
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
        if algorithm == "random" and settings:
            raise TypeError(f"random search has no settings, got {sorted(settings)}")
        self.space = as_space(space)
        self.mode = mode
        self.algorithm = algorithm
        self.rng = np.random.default_rng(seed)
        self.record = TrialRecord()
        self._points = [self.space.to_flat(p) for p in (points_to_evaluate or [])]
        self._tpe: TPECore | None = None
        self._gp: GPCore | None = None
        self._auto: AutoCore | None = None
        if algorithm == "auto":
            from searchers.auto.core import AutoCore

            self._auto = AutoCore(**settings)
        elif algorithm == "tpe":
            from searchers.tpe.core import TPECore, TPESettings

            self._tpe = TPECore(self.space, TPESettings(**settings))
        elif algorithm == "gp":
            from searchers.gp.core import GPCore

            self._gp = GPCore(**settings)

    def ask(self) -> Suggestion:
        """A new trial: its id and the configuration to evaluate."""
        if self._points:
            flat = self._points.pop(0)
        elif self._auto is not None:
            flat = self._auto.propose(self.space, self.record, self.rng)
        elif self._tpe is not None:
            flat = self._tpe.propose(self.rng)
        elif self._gp is not None:
            flat = self._gp.propose(self.space, self.record, self.rng)
        else:
            flat = self.space.sample_flat(self.rng)
        trial_id = str(len(self.record))
        self._sync(self.record.add(trial_id, flat).trial_id)
        return Suggestion(trial_id, self.space.from_flat(flat))

    def report(self, trial_id: str, level: float, value: float) -> None:
        """An intermediate value at resource ``level`` (epoch, iteration) of a running trial."""
        self._known(trial_id)
        loss = self._loss(value)
        if loss is not None:
            self.record.report(trial_id, level, loss)
            self._sync(trial_id)

    def tell(self, trial_id: str, value: float | None) -> None:
        """The trial's final value; None or NaN records it as failed."""
        obs = self._known(trial_id)
        if obs.state != PENDING:
            raise ValueError(f"trial {trial_id!r} was already told")
        loss = self._loss(value)
        if loss is None:
            self.record.fail(trial_id)
        else:
            self.record.complete(trial_id, loss)
        self._sync(trial_id)

    # ------------------------------------------------------------------ results
    @property
    def best_trial(self) -> Suggestion | None:
        done = self.record.with_state(COMPLETE)
        if not done:
            return None
        best = min(done, key=lambda o: math.inf if o.loss is None else o.loss)
        return Suggestion(best.trial_id, self.space.from_flat(best.flat))

    @property
    def best_params(self) -> dict[str, Any] | None:
        best = self.best_trial
        return None if best is None else best.config

    @property
    def best_value(self) -> float | None:
        done = self.record.with_state(COMPLETE)
        if not done:
            return None
        loss = min(o.loss for o in done if o.loss is not None)  # complete trials have a loss
        return loss if self.mode == "min" else -loss

    def trials(self) -> list[dict[str, Any]]:
        """One dict per trial: ``trial_id``, ``state``, ``value``, ``config``."""
        sign = 1.0 if self.mode == "min" else -1.0
        return [
            {
                "trial_id": o.trial_id,
                "state": o.state,
                "value": None if o.loss is None else sign * o.loss,
                "config": self.space.from_flat(o.flat),
            }
            for o in self.record
        ]

    # ------------------------------------------------------------------ helpers
    def _known(self, trial_id: str) -> TrialObs:
        obs = self.record.get(trial_id)
        if obs is None:
            raise KeyError(f"unknown trial id {trial_id!r}: tell and report take an id that ask returned")
        return obs

    def _loss(self, value: Any) -> float | None:
        v = finite_or_none(value)
        if v is None:
            return None
        return v if self.mode == "min" else -v

    def _sync(self, trial_id: str) -> None:
        obs = self.record.get(trial_id)
        if obs is None:
            return
        if self._tpe is not None:
            self._tpe.observe(obs)
        if self._auto is not None:
            self._auto.observe(obs)
