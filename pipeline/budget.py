"""A stage's epoch and time budget, enforced as a Ray Tune stopper that survives resume.

Epochs spent are the training iterations summed over the stage's trials (the highest
iteration each trial reported); time is the seconds the stage has run, across resumes.
When either limit is reached the whole stage stops, trials in flight included (their
partial results stay in the table). The same object is the ``RunConfig.stop`` stopper
and a ``Callback``: Ray saves a callback's ``get_state()`` with every experiment
snapshot and hands it back on ``Tuner.restore``, while the stopper itself would be
unpickled fresh from ``tuner.pkl`` and forget everything spent before a crash.

The clock of a session starts when its first trial began training (its first result
less that result's ``time_this_iter_s``) or failed, not when Tune starts: starting
Ray's worker processes and importing torch in them takes seconds that a short
``--time-budget-s`` would otherwise spend before any trial reported.

The experiment's ``deadline_s`` (pipeline.deadline) stops the stage too: Ray asks
``stop_all`` every step of its loop (a tenth of a second), so the stage stops within
moments of the deadline, mid-epoch if need be.
"""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback
from ray.tune.stopper import Stopper

from pipeline import deadline


class StageBudget(Stopper, Callback):
    def __init__(
        self,
        epochs_budget: int | None,
        time_budget_s: float | None,
        resource_attr: str = "training_iteration",
        max_epochs: int | None = None,
    ):
        self.epochs_budget = epochs_budget  # epochs summed over the stage's trials
        self.time_budget_s = time_budget_s
        self.resource_attr = resource_attr
        self.max_epochs = max_epochs  # per trial: custom trainables are stopped here
        self.iterations: dict[str, int] = {}  # trial id -> highest iteration reported
        self.seconds_before = 0.0  # run time of earlier sessions (before a resume)
        self._session_start: float | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a tuner.pkl written before the rename (max_epochs_total/max_seconds/time_attr) resumes too
        if "trial_max_iterations" in state:
            state["epochs_budget"] = state.pop("max_epochs")
            state["max_epochs"] = state.pop("trial_max_iterations")
            state["time_budget_s"] = state.pop("max_seconds")
            state["resource_attr"] = state.pop("time_attr")
        self.__dict__.update(state)

    # ------------------------------------------------------------------ counting
    @property
    def epochs(self) -> int:
        return sum(self.iterations.values())

    @property
    def seconds(self) -> float:
        running = time.monotonic() - self._session_start if self._session_start is not None else 0.0
        return self.seconds_before + running

    def exhausted(self) -> bool:
        return (
            (self.epochs_budget is not None and self.epochs >= self.epochs_budget)
            or (self.time_budget_s is not None and self.seconds >= self.time_budget_s)
            or deadline.passed()
        )

    # ------------------------------------------------------------------- Stopper
    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        if self._session_start is None:
            began = result.get("time_this_iter_s")
            self._start_clock(float(began) if isinstance(began, (int, float)) else 0.0)
        it = result.get(self.resource_attr)
        if isinstance(it, (int, float)):
            self.iterations[trial_id] = max(self.iterations.get(trial_id, 0), int(it))
            return self.max_epochs is not None and it >= self.max_epochs
        return False

    def stop_all(self) -> bool:
        deadline.tick()  # keeps the experiment's clock saved (pipeline.deadline)
        return self.exhausted()

    # ------------------------------------------------------------------ Callback
    def _start_clock(self, seconds_ago: float = 0.0) -> None:
        self._session_start = time.monotonic() - max(0.0, seconds_ago)

    def setup(self, **info: Any) -> None:
        self._session_start = None  # starts with the session's first result (see module doc)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self._session_start is None:  # trials that fail before reporting spend the budget too
            self._start_clock()

    def get_state(self) -> dict[str, Any] | None:
        return {"iterations": dict(self.iterations), "seconds": self.seconds}

    def set_state(self, state: dict[str, Any]) -> None:
        self.iterations = dict(state["iterations"])
        self.seconds_before = float(state["seconds"])
        self._session_start = None
