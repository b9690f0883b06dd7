"""Concise progress: a few lines per stage, enough to follow a run, little enough to read.

A line is printed when a trial sets a new best, when one fails, and after every
``every`` finished trials. The printer goes into ``tuner.pkl`` with the rest of the
run configuration, so it holds no stream: it prints to whatever ``sys.stdout`` is.
"""

from __future__ import annotations

import math
import os
import re
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
        self._line(f"trial {trial.trial_id} FAILED: {failure_line(trial)}", trials)

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


_EXCEPTION = re.compile(r"^(?:[\w]+\.)*(\w+(?:Error|Exception|Interrupt|Exit))\b:?\s*(.*)$")


def failure_line(trial: Any) -> str:
    """``ExcType: first line of its message (DIR/error.txt)``: what a failed trial gets in quiet mode.

    Ray's own report of the same failure (a logged traceback, a raylet notice that a worker
    died) is silenced by ``pipeline.ray_runtime`` unless ``--verbose``; the full traceback
    stays in the trial's ``error.txt``.
    """
    staged = getattr(trial, "error_file", None)
    stored = os.path.join(trial.path, "error.txt") if getattr(trial, "path", None) else None
    where = stored or staged  # the experiment's copy (Ray syncs it there), else Ray's staging copy
    summary, first = "", ""
    try:
        with open(staged or stored or "", errors="replace") as f:
            for line in f:
                line = line.strip()
                match = _EXCEPTION.match(line)
                if match:
                    summary = f"{match.group(1)}: {match.group(2)}".rstrip(": ")
                elif line and not first and not line.startswith(("Failure #", "Traceback")):
                    first = line  # e.g. "The actor died unexpectedly before finishing this task."
    except OSError:
        pass
    summary = summary or first
    if len(summary) > 160:
        summary = summary[:157] + "..."
    return f"{summary} ({where})" if summary and where else summary or f"({where or 'see the trial error.txt'})"
