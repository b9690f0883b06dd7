"""Concise progress: a few lines per stage, enough to follow a run, little enough to read.

A line is printed when a trial sets a new best, when one fails, and after every
``every`` finished trials. The printer goes into ``tuner.pkl`` with the rest of the
run configuration, so it holds no stream: it prints to whatever ``sys.stdout`` is.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from ray.tune import Callback


class ProgressPrinter(Callback):
    def __init__(self, metric: str, mode: str, total: int | None, label: str = "", show_best: bool = True):
        self.metric, self.mode, self.total = metric, mode, total
        self.label = label
        self.show_best = show_best  # off for CV, where the best single fold means nothing
        self.every = max(1, math.ceil(total / 5)) if total else 10
        self.done = 0
        self.failed = 0
        self.best: float | None = None
        self._start: float | None = None

    def setup(self, **info: Any) -> None:
        self._start = time.monotonic()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.done += 1
        result = trial.last_result or {}
        value = result.get(self.metric)
        finite = isinstance(value, (int, float)) and math.isfinite(value)
        improved = finite and (self.best is None or (value > self.best if self.mode == "max" else value < self.best))
        if improved:
            self.best = value
        if not self.show_best:
            if self.done % self.every == 0:
                self._line("trials finished", trials)
        elif improved or self.done % self.every == 0:
            self._line(
                f"best {self.metric}={self.best:.4f}" if self.best is not None else "no finite result yet", trials
            )

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.done += 1
        self.failed += 1
        error = getattr(trial, "error_file", None) or "see the trial's error.txt"
        self._line(f"trial {trial.trial_id} FAILED ({error})", trials)

    def get_state(self) -> dict[str, Any] | None:
        return {"done": self.done, "failed": self.failed, "best": self.best}

    def set_state(self, state: dict[str, Any]) -> None:
        self.done, self.failed, self.best = state["done"], state["failed"], state["best"]

    def _line(self, text: str, trials: list) -> None:
        epochs = sum(int((t.last_result or {}).get("training_iteration") or 0) for t in trials)
        took = f"  {time.monotonic() - self._start:.1f}s" if self._start is not None else ""
        total = f"/{self.total}" if self.total else ""
        width = len(str(self.total or ""))
        print(
            f"  {self.label}[{self.done:>{width}}{total}] {text}  ({epochs} epochs){took}", file=sys.stdout, flush=True
        )
