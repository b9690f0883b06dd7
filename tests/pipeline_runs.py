"""Helpers for tests that run ``python -m pipeline.run`` as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: a three-part pipeline small enough for CI: 8 trials at 4x4, an epoch-budgeted stage at 8x8, 3-fold CV of 2
TINY = """\
task: digits
seed: 1
stages:
  - {name: a, data_fraction: 0.3, resolution: 4, max_epochs: 2, scheduler: ray-asha, budget: {trials: 8}, top_k: 3}
  - {name: b, resolution: 8, max_epochs: 3, budget: {trials: 20, epochs: 15}}
cv: {folds: 3, top_k: 2, max_epochs: 2}
"""


def events(out: Path) -> list[dict]:
    from pipeline.events import read_events

    return read_events(out / "events.jsonl")


def completed(out: Path, stage: str) -> list[dict]:
    return [e for e in events(out) if e["e"] == "complete" and e["stage"] == stage]


def start(args: list[str], log: Path) -> subprocess.Popen:
    """A driver in its own session, so the Ray processes it starts can be found by group."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.run", *args],
        cwd=ROOT,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"driver exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            kill_tree(proc)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def kill_then_resume(
    args: list[str], out: Path, logs: Path, condition: Callable[[], bool], what: str, timeout: float
) -> None:
    """Start a driver, SIGKILL it (and its Ray) once ``condition`` holds, then ``--resume`` to the end."""
    proc = start(args, logs / "run0.log")
    try:
        wait_for(condition, proc, timeout, what)
    finally:
        kill_tree(proc)
    proc = start(["--resume", str(out)], logs / "run1.log")
    try:
        assert proc.wait(timeout=timeout) == 0, (logs / "run1.log").read_text()
    finally:
        kill_tree(proc)


def _live_in_group(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # (state, ppid, pgrp, ...); zombies are gone already
            pids.append(int(entry))
    return pids


def kill_tree(proc: subprocess.Popen, grace_s: float = 2.0) -> None:
    """SIGKILL the driver (only it), then make sure the Ray processes it started are gone.

    The grace is short on purpose: the GCS and the raylet exit within a fraction of a second
    of their driver's death, but Ray 2.60's dashboard and runtime-env agents never do (still
    there 60 s later, measured), so a longer wait only spends CI time before the same killpg.
    """
    pgid = proc.pid  # start_new_session: the driver leads its own group
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.monotonic() + grace_s
    while _live_in_group(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)  # Ray's own processes notice their driver died and exit
    if _live_in_group(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)  # whatever of ours is left
        except ProcessLookupError:
            pass


def stage_table(out: Path, stage: str):
    import pandas as pd

    return pd.read_csv(out / "stages" / f"{stage}.csv")


def state(out: Path) -> dict:
    return json.loads((out / "pipeline.json").read_text())
