"""One line per finished trial: enough to follow a run, little enough to read."""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from ray.tune import Callback


class ProgressPrinter(Callback):
    def __init__(self, metric: str, mode: str, total: int, stream: TextIO | None = None):
        self.metric, self.mode, self.total = metric, mode, total
        self.stream = stream or sys.stdout
        self.done = 0
        self.best: float | None = None
        self._started: dict[str, float] = {}

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._started.setdefault(trial.trial_id, time.monotonic())

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        value = result.get(self.metric)
        finite = isinstance(value, (int, float)) and math.isfinite(value)
        if finite and (self.best is None or (value > self.best if self.mode == "max" else value < self.best)):
            self.best = value
        shown = f"{value:.4f}" if finite else "nan"
        best = f"{self.best:.4f}" if self.best is not None else "-"
        self._line(trial, f"{self.metric}={shown}  best={best}  iters={result.get('training_iteration', 0)}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        error = getattr(trial, "error_file", None) or "see the trial's error.txt"
        self._line(trial, f"FAILED ({error})")

    def _line(self, trial: Any, text: str) -> None:
        self.done += 1
        started = self._started.pop(trial.trial_id, None)
        took = f"  {time.monotonic() - started:.1f}s" if started is not None else ""
        width = len(str(self.total))
        print(f"[{self.done:>{width}}/{self.total}] {trial.trial_id}  {text}{took}", file=self.stream, flush=True)
