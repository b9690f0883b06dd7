"""The experiment's own log of every result, written by the driver as results arrive.

Ray's experiment snapshot can be seconds older than the last result when a driver is
killed; this log is not. Each event is one JSON line appended with a single ``write``
on an ``O_APPEND`` descriptor, so a SIGKILL can at worst leave the last line torn, and
the reader skips such a line. Plots (best-so-far against epochs and wall time) and the
check that no completed trial was lost across a resume read it.

Events: ``result`` (one epoch of one trial), ``complete`` (a trial ended, with its
configuration, its metric and every scalar of its last result), ``error`` (a trial failed).
The last result rides along with ``complete`` so that a trial the restored Ray lost or
ran again keeps its whole row (other objectives, fidelity, time) and not only the metric;
it is written once per trial, so the cost per result stays flat.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from pipeline.layout import EVENTS_FILE  # noqa: F401  (re-exported)
from searchers.common.checks import finite_or_none


def append_event(path: Path, event: dict[str, Any]) -> None:
    line = (json.dumps(event, default=_plain, allow_nan=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    events = []
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # torn by a kill mid-append
            try:
                events.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return events


class EventLog(Callback):
    """Appends a stage's results to ``<experiment>/events.jsonl``."""

    def __init__(self, path: Path, stage: str, metric: str):
        self.path = Path(path)
        self.stage = stage
        self.metric = metric

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self._write("result", trial, result)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write("complete", trial, trial.last_result or {}, config=trial.config)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write("error", trial, trial.last_result or {}, config=trial.config)

    def _write(self, kind: str, trial: Any, result: dict, config: dict | None = None) -> None:
        event = {
            "e": kind,
            "stage": self.stage,
            "trial": trial.trial_id,
            "iter": result.get("training_iteration"),
            "value": finite_or_none(result.get(self.metric)),
            "t": time.time(),
        }
        if config is not None:
            event["config"] = config
        if kind != "result":
            event["metrics"] = last_result_scalars(result)
        append_event(self.path, event)


def last_result_scalars(result: dict[str, Any]) -> dict[str, Any]:
    """The scalars of a trial's last result (numbers finite or None, strings, booleans), as JSON can hold them."""
    out: dict[str, Any] = {}
    for key, value in result.items():
        if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
            value = value.item()  # a numpy or torch scalar
        if isinstance(value, (bool, str, int)):
            out[key] = value
        elif isinstance(value, float):
            out[key] = finite_or_none(value)
    return out


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
