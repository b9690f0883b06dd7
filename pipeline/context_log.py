"""Which watched names the trials of a stage read, and what the driver concludes from it.

A trial appends one ``start`` line when it begins and one ``read`` line the first time
it reads a watched name (a knob the stage declares; the fold when the experiment has
cross-validation): a handful of small appends per trial, none per result, and none at
all when nothing is watched. Lines go to ``<experiment>/context.jsonl`` with the same
single-``write`` ``O_APPEND`` discipline as the event log (``pipeline.events``); the
experiment directory is on storage every node mounts (docs/cluster.md). A failed write
only costs the warning, never the trial.

The driver reads the file after each stage: a declared knob no trial read is reported
once as a warning (likely a typo, or a trainable that ignores it); an experiment with
cross-validation whose trials never read their fold is an error, because every fold
would train and validate on the same rows and the CV scores would mean nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.layout import CONTEXT_FILE  # noqa: E402,F401  (re-exported)


def _append(path: str, record: dict) -> None:
    line = (json.dumps(record) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass  # only a warning depends on it


def log_start(path: str, stage: str, trial: str | None) -> None:
    _append(path, {"stage": stage, "trial": trial, "e": "start"})


def log_read(path: str, stage: str, trial: str | None, name: str) -> None:
    _append(path, {"stage": stage, "trial": trial, "e": "read", "name": name})


@dataclass
class StageReads:
    started: set[str] = field(default_factory=set)  # trial ids
    read: set[str] = field(default_factory=set)  # names read by at least one trial


def read_log(path: Path) -> dict[str, StageReads]:
    """Per stage: which trials started and which watched names any of them read."""
    out: dict[str, StageReads] = {}
    if not path.is_file():
        return out
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # torn by a kill mid-append
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError:
                continue
            reads = out.setdefault(str(rec.get("stage")), StageReads())
            if rec.get("e") == "start":
                reads.started.add(str(rec.get("trial")))
            elif rec.get("e") == "read":
                reads.read.add(str(rec.get("name")))
    return out


def unread(path: Path, stage: str, watched: tuple[str, ...]) -> list[str] | None:
    """Watched names no trial of ``stage`` read; None when no trial logged its start
    (nothing can be concluded: the stage ran no trial, or the file could not be written)."""
    reads = read_log(path).get(stage)
    if reads is None or not reads.started:
        return None
    return [n for n in watched if n not in reads.read]
