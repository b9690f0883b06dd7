"""One driver per experiment directory (issue 18, item 1).

The lock is a real ``flock`` between real processes: a second holder is refused with the
first one's PID and host, and a SIGKILLed holder leaves no stale lock. The Ray tests
start real drivers: a ``--resume`` or a second driver on the same ``--output`` while the
first runs exits 2 with one line; two resumes of a killed run started together give one
session that finishes the stage with exactly its budget of trials.
"""

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from pipeline.errors import UsageError
from pipeline.lock import LOCK_FILE, ExperimentLock
from tests.pipeline_runs import ROOT, completed, kill_tree, start, state, wait_for

HOLD = """
import sys, time
from pathlib import Path
from pipeline.lock import ExperimentLock
ExperimentLock(Path(sys.argv[1]), "resume").acquire()
print("locked", flush=True)
time.sleep(600)
"""


def hold_lock(directory):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_holder_is_refused_with_pid_and_host_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    holder = hold_lock(tmp_path)
    try:
        with pytest.raises(UsageError) as err:
            ExperimentLock(tmp_path, "resume").acquire()
        assert err.value.field == "resume"
        assert f"{tmp_path} is in use by PID {holder.pid} on {socket.gethostname()};" in err.value.message
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with ExperimentLock(tmp_path, "resume"):  # the kernel dropped the dead holder's lock
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()} {socket.gethostname()}\n"
    with ExperimentLock(tmp_path, "resume"):  # and ours is released on exit
        pass


def test_resume_of_a_locked_directory_exits_2_before_anything_starts(tmp_path, capsys):
    """The CLI path: one line naming the holder; pipeline.json untouched."""
    from pipeline.run import main
    from pipeline.state import PipelineState, StageRecord

    out = tmp_path / "exp"
    out.mkdir()
    (out / "experiment.yaml").write_text(
        "task: digits\nstages:\n- {name: a, resolution: 4, max_epochs: 1, budget: {trials: 2}}\n"
    )
    PipelineState(stages=[StageRecord("a")]).save(out)
    before = (out / "pipeline.json").read_bytes()
    holder = hold_lock(out)
    try:
        rc = main(["--resume", str(out)])
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and f"--resume: {out} is in use by PID {holder.pid} on " in err[0], err
    assert (out / "pipeline.json").read_bytes() == before


TINY = """\
task: digits
seed: 3
stages:
  - {name: a, data_fraction: 0.3, resolution: 4, max_epochs: 2, budget: {trials: 2}, top_k: 1}
"""

#: a trainable that takes its time without using the CPU, so the first driver is
#: certainly still running while the second ones start
SLOW = """\
import time
from ray import tune

def train(config):
    for step in range(1, 4):
        time.sleep(0.5)
        tune.report({"score": config["x"] * step})
"""
SLOW_CONFIG = """\
task: slow_trainable:train
metric: score
mode: max
seed: 0
search_space:
  x: {type: float, low: 0, high: 1}
stages:
  - {name: a, max_epochs: 3, budget: {trials: 8}}
"""


def popen(args):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.run", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(procs, timeout=400):
    try:
        return [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            kill_tree(p)


@pytest.mark.ray
def test_two_real_drivers_on_one_directory(tmp_path, monkeypatch):
    (tmp_path / "slow_trainable.py").write_text(SLOW)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{ROOT}")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SLOW_CONFIG)
    out = tmp_path / "exp"
    first = start(["--config", str(cfg), "--output", str(out), "--max-concurrent", "1"], tmp_path / "first.log")
    try:
        wait_for(lambda: len(completed(out, "a")) >= 1, first, 300, "a finished trial")
        # while it runs: a resume and a second new run on the same directory are refused
        seconds = [popen(["--resume", str(out)]), popen(["--config", str(cfg), "--output", str(out)])]
        results = finish(seconds)
        assert first.poll() is None, "the first driver ended before the second ones were refused"
    finally:
        kill_tree(first)  # SIGKILL: the lock must not outlive it
    for proc, (stdout, stderr) in zip(seconds, results):
        assert proc.returncode == 2 and len(stderr.strip().splitlines()) == 1 and stdout == "", stderr
    assert results[0][1].startswith(
        f"python -m pipeline.run: error: --resume: {out} is in use by PID {first.pid} on {socket.gethostname()}; "
    )
    assert results[1][1].startswith(f"python -m pipeline.run: error: --output: {out} already exists")
    assert state(out)["status"] == "running" and state(out)["sessions"] == 1  # the killed one's

    # two resumes started together: one runs the stage to exactly its budget, the other exits 2
    both = [popen(["--resume", str(out)]), popen(["--resume", str(out)])]
    results = finish(both)
    codes = sorted(p.returncode for p in both)
    assert codes == [0, 2], results
    loser = next(err for p, (_, err) in zip(both, results) if p.returncode == 2)
    assert len(loser.strip().splitlines()) == 1 and "is in use by PID" in loser, loser
    st = state(out)
    assert st["status"] == "done" and st["sessions"] == 2
    assert st["stages"][0]["trials"] == 8
    assert len(json.loads((out / "best.json").read_text())["stages"]) == 1


@pytest.mark.ray
def test_two_new_runs_racing_for_one_output(tmp_path):
    """Started together on the same new --output: exactly one runs, the other exits 2."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY)
    out = tmp_path / "exp"
    procs = [popen(["--config", str(cfg), "--output", str(out)]) for _ in range(2)]
    results = finish(procs)
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], results
    loser = next(err for p, (_, err) in zip(procs, results) if p.returncode == 2)
    assert len(loser.strip().splitlines()) == 1 and "Traceback" not in loser
    assert "in use by PID" in loser or "already exists" in loser
    assert state(out)["sessions"] == 1 and state(out)["status"] == "done"
    # every name a run writes at the top level is reserved (stage names cannot take it)
    from pipeline.layout import RESERVED

    assert {p.name for p in out.iterdir()} - {"a"} <= set(RESERVED)
