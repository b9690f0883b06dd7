"""A stage's epoch and time budget, enforced as a Ray Tune stopper that survives resume.

Epochs spent are the training iterations summed over the stage's trials (the highest
iteration each trial reported); time is the seconds the stage has run, across resumes.
When either limit is reached the whole stage stops, trials in flight included (their
partial results stay in the table). The same object is the ``RunConfig.stop`` stopper
and a ``Callback``: Ray saves a callback's ``get_state()`` with every experiment
snapshot and hands it back on ``Tuner.restore``, while the stopper itself would be
unpickled fresh from ``tuner.pkl`` and forget everything spent before a crash.
"""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback
from ray.tune.stopper import Stopper


class StageBudget(Stopper, Callback):
    def __init__(
        self,
        max_epochs: int | None,
        max_seconds: float | None,
        time_attr: str = "training_iteration",
        trial_max_iterations: int | None = None,
    ):
        self.max_epochs = max_epochs
        self.max_seconds = max_seconds
        self.time_attr = time_attr
        self.trial_max_iterations = trial_max_iterations  # custom trainables: their max_epochs
        self.iterations: dict[str, int] = {}  # trial id -> highest iteration reported
        self.seconds_before = 0.0  # run time of earlier sessions (before a resume)
        self._session_start: float | None = None

    # ------------------------------------------------------------------ counting
    @property
    def epochs(self) -> int:
        return sum(self.iterations.values())

    @property
    def seconds(self) -> float:
        running = time.monotonic() - self._session_start if self._session_start is not None else 0.0
        return self.seconds_before + running

    def exhausted(self) -> bool:
        return (self.max_epochs is not None and self.epochs >= self.max_epochs) or (
            self.max_seconds is not None and self.seconds >= self.max_seconds
        )

    # ------------------------------------------------------------------- Stopper
    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        it = result.get(self.time_attr)
        if isinstance(it, (int, float)):
            self.iterations[trial_id] = max(self.iterations.get(trial_id, 0), int(it))
            return self.trial_max_iterations is not None and it >= self.trial_max_iterations
        return False

    def stop_all(self) -> bool:
        return self.exhausted()

    # ------------------------------------------------------------------ Callback
    def setup(self, **info: Any) -> None:
        self._session_start = time.monotonic()

    def get_state(self) -> dict[str, Any] | None:
        return {"iterations": dict(self.iterations), "seconds": self.seconds}

    def set_state(self, state: dict[str, Any]) -> None:
        self.iterations = dict(state["iterations"])
        self.seconds_before = float(state["seconds"])
        self._session_start = time.monotonic()
