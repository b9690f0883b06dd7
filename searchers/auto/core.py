"""Both models over one trial record: the GP proposes early, TPE later (pure, no Ray).

One seed, one record: the GP core is a function of the record (plus its warm-start
hyperparameters), and the TPE core's observation table mirrors the same record, built
from it in full when TPE first serves and kept in step after that. So whichever model
serves a suggestion has seen every trial, finished, failed or in flight (the GP conditions
on trials in flight by the kriging believer, TPE counts them by its constant liar), and
the generator is the caller's one ``numpy.random.Generator``.

``served`` logs which model produced each proposal, in order, so a run can be audited
and tests can assert the hand-over point. The TPE table is derived state: it is not
saved, and rebuilt from the restored record, so a restored core proposes exactly what an
uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from searchers.auto.rule import Model, choose_model
from searchers.gp.core import GPCore
from searchers.record import TrialObs, TrialRecord
from searchers.space import SearchSpace
from searchers.tpe.core import TPECore, TPESettings


class AutoCore:
    """The GP, then TPE; see :class:`searchers.auto.AutoSearcher` for the arguments."""

    def __init__(
        self,
        switch_after: int | None = None,
        n_startup_trials: int = 10,
        gp: dict[str, Any] | None = None,
        tpe: dict[str, Any] | None = None,
    ):
        if switch_after is not None and (
            isinstance(switch_after, bool) or not isinstance(switch_after, (int, np.integer)) or switch_after < 0
        ):
            raise ValueError(f"switch_after must be None or an integer >= 0, got {switch_after!r}")
        self.switch_after = None if switch_after is None else int(switch_after)
        self.gp = GPCore(n_startup_trials=n_startup_trials, **(gp or {}))
        self.tpe_settings = TPESettings(n_startup_trials=n_startup_trials, **(tpe or {}))
        #: the model that produced each proposal, in order ("gp" or "tpe")
        self.served: list[Model] = []
        self._tpe: TPECore | None = None

    def __getstate__(self) -> dict[str, Any]:
        # The TPE table is a cache of the record: rebuilt after a restore.
        return {**self.__dict__, "_tpe": None}

    def model_for(self, space: SearchSpace, record: TrialRecord) -> Model:
        """The model that serves the next suggestion (see :mod:`searchers.auto.rule`).

        Once TPE has served it keeps serving, whatever the rule says: a run saved by a
        version whose threshold was lower does not hand back to the GP when restored.
        """
        if self.served and self.served[-1] == "tpe":
            return "tpe"
        return choose_model(len(record), space.dim, self.switch_after)

    def tpe(self, space: SearchSpace, record: TrialRecord) -> TPECore:
        """The TPE core of ``space``, its table holding every trial of ``record``."""
        core = self._tpe
        if core is None or core.space is not space:
            core = TPECore(space, self.tpe_settings)
            for obs in record:
                core.observe(obs)
            self._tpe = core
        return core

    def observe(self, obs: TrialObs) -> None:
        """A trial was added or changed: keep TPE's table in step (once it exists)."""
        if self._tpe is not None:
            self._tpe.observe(obs)

    def forget_tables(self) -> None:
        """The record changed outside :meth:`observe` (a warm start): rebuild TPE's table."""
        self._tpe = None

    def propose(self, space: SearchSpace, record: TrialRecord, rng: np.random.Generator) -> dict[str, Any]:
        """Flat values of the next configuration, from the model the rule picks."""
        model = self.model_for(space, record)
        if model == "gp":
            flat = self.gp.propose(space, record, rng)
        else:
            flat = self.tpe(space, record).propose(rng)
        self.served.append(model)
        return flat
