"""Scheduler state on disk: JSON, written atomically, read back with its format checked.

Ray never saves a scheduler (ray #30838): on ``Tuner.restore`` the scheduler comes back
in its initial state from ``tuner.pkl``. The adapter therefore writes its core's state
itself, after every change, so a crash leaves either the old or the new file, never
half of one (temporary file in the same directory, fsync, ``os.replace``).
"""

from __future__ import annotations

import json
import os
from typing import Any

from searchers.common.atomic import atomic_write_text

FORMAT = 1
FILE_NAME = "mftune-scheduler-state.json"


def write_state(path: str, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically.

    The temporary file goes into the parent of ``path``'s directory when that is
    writable and on the same filesystem: the adapter's default directory is Ray's driver
    staging directory, which Ray uploads file by file while we write, and a temporary
    file it listed but we renamed before it was copied failed that whole upload
    (``FileNotFoundError`` logged by Ray's experiment_state.py, seen on Ray 2.60).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    text = json.dumps({"format": FORMAT, **state})
    scratch = os.path.dirname(directory)
    if scratch != directory and os.access(scratch, os.W_OK) and os.stat(scratch).st_dev == os.stat(directory).st_dev:
        _write_via(scratch, path, text)
    else:
        _write_via(directory, path, text)


def _write_via(scratch: str, path: str, text: str) -> None:
    atomic_write_text(path, text, scratch=scratch)


def read_state(path: str) -> dict[str, Any]:
    with open(path) as f:
        state = json.load(f)
    if state.get("format") != FORMAT:
        raise ValueError(f"{path}: scheduler state format {state.get('format')!r}, expected {FORMAT}")
    return state


def ended_trials(experiment_dir: str) -> set[str]:
    """Ids of the trials that the scheduler state saved in ``experiment_dir`` has ended.

    Ray 2.60 refreshes a trial's entry in its experiment snapshot only when the trial has
    a live actor (``TuneController._schedule_trial_stop`` marks no other trial), so a
    PAUSED trial stopped while its worker serves another trial stays PAUSED in
    ``experiment_state-*.json`` after the run has finished. The scheduler's own file is
    written after every change and says which trials are over. Empty without the file.
    """
    from schedulers.core import DONE

    path = os.path.join(experiment_dir, FILE_NAME)
    if not os.path.exists(path):
        return set()
    return {t["trial_id"] for t in read_state(path)["core"]["trials"] if t["status"] == DONE}
