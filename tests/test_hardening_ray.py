"""Issue 18 with real drivers: errors found against the cluster leave nothing behind,
a session that fails says so, a dying worker is one line in quiet mode, the time budget
does not count Ray's start-up, and trials' temporary checkpoints stay in the experiment."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.pipeline_runs import ROOT, completed, kill_tree, start, state, wait_for

pytestmark = pytest.mark.ray


def cli(args, tmp_path, timeout=300, **env):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", **env},
    )


@pytest.mark.parametrize(
    "flag, expected",
    [
        (["--cpus-per-trial", "1000"], "--cpus-per-trial: a trial asks for 1000 CPU / 0 GPU but the cluster has"),
        (["--gpus-per-trial", "1"], "--gpus-per-trial: a trial asks for 1 CPU / 1 GPU but the cluster has"),
    ],
)
def test_resources_beyond_the_cluster_leave_nothing_behind(flag, expected, tmp_path):
    if flag[0] == "--gpus-per-trial" and os.environ.get("CUDA_VISIBLE_DEVICES", "") not in ("", "-1"):
        pytest.skip("this machine may have a GPU")
    out = tmp_path / "exp"
    proc = cli([*flag, "--num-samples", "1", "--output", str(out)], tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], proc.stderr
    assert not out.exists()  # the corrected command can use the same --output


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_trainable_without_the_metric_is_one_line_and_marks_the_session_failed(tmp_path):
    write(
        tmp_path / "nometric.py",
        """
        from ray import tune

        def train(config):
            tune.report({"other": config["x"]})
        """,
    )
    cfg = write(tmp_path / "c.yaml", "search_space:\n  x: {type: float, low: 0, high: 1}\n")
    out = tmp_path / "exp"
    proc = cli(
        [
            "--task",
            "nometric:train",
            "--metric",
            "val",
            "--mode",
            "max",
            "--num-samples",
            "2",
            "--config",
            cfg,
            "--output",
            str(out),
        ],
        tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "python -m pipeline.run: error: --metric: the trainable reported a result without 'val' (it reported other); "
        "report it in tune.report() or set --metric"
    ]
    st = state(out)
    assert st["status"] == "failed" and [s["status"] for s in st["stages"]] == ["failed"]


def test_a_dying_worker_is_one_line_in_quiet_mode(tmp_path):
    write(
        tmp_path / "dies.py",
        """
        import os, signal
        from ray import tune

        def train(config):
            tune.report({"score": config["x"]})
            if config["x"] > 0.5:
                os.kill(os.getpid(), signal.SIGKILL)  # as when the OOM killer takes the worker
            tune.report({"score": 2 * config["x"]})
        """,
    )
    cfg = write(
        tmp_path / "c.yaml",
        """
        task: dies:train
        metric: score
        mode: max
        seed: 0
        search_space:
          x: {type: float, low: 0, high: 1}
        stages:
          - {name: s, max_epochs: 2, searcher: random, budget: {trials: 4}}
        """,
    )
    proc = cli(["--config", cfg, "--output", str(tmp_path / "exp")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no Ray traceback, no "Trials did not complete"
    failed = [line for line in proc.stdout.splitlines() if "FAILED" in line]
    assert failed and all("The actor died unexpectedly" in line for line in failed), proc.stdout
    assert "(raylet)" not in proc.stdout and "A worker died" not in proc.stdout
    best = json.loads((tmp_path / "exp" / "best.json").read_text())
    assert best["stages"][0]["failed"] == len(failed)


def test_time_budget_does_not_count_ray_start_up_and_checkpoints_stay_in_the_experiment(tmp_path):
    """Workers take seconds to start; a 2 s budget still gets results. Killed mid-stage,
    the trials' temporary checkpoint folders are under the experiment (none in TMPDIR),
    and the next start removes them."""
    sys_tmp = tmp_path / "sys-tmp"  # the trials' TMPDIR; Ray's own files stay in /tmp/ray (RAY_TMPDIR)
    sys_tmp.mkdir()
    out = tmp_path / "exp"
    proc = cli(
        [
            "--resolution",
            "4",
            "--data-fraction",
            "0.3",
            "--max-epochs",
            "1",
            "--num-samples",
            "40",
            "--time-budget-s",
            "2",
            "--searcher",
            "random",
            "--output",
            str(out),
        ],
        tmp_path,
        TMPDIR=str(sys_tmp),
        RAY_TMPDIR="/tmp",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "error.txt" not in proc.stdout + proc.stderr
    assert state(out)["stages"][0]["trials"] >= 1
    assert not (out / ".mftune-tmp").exists()
    assert not list(sys_tmp.glob("mftune-ckpt-*"))

    cfg = write(
        tmp_path / "c.yaml",
        """
        task: digits
        seed: 2
        stages:
          - {name: a, data_fraction: 0.3, resolution: 4, max_epochs: 3, searcher: random, budget: {trials: 12}}
        """,
    )
    killed = tmp_path / "killed"
    os.environ.update(TMPDIR=str(sys_tmp), RAY_TMPDIR="/tmp")
    try:
        driver = start(["--config", cfg, "--output", str(killed)], tmp_path / "k.log")
    finally:
        del os.environ["TMPDIR"], os.environ["RAY_TMPDIR"]
    try:
        wait_for(lambda: len(completed(killed, "a")) >= 2, driver, 300, "two finished trials")
        driver.send_signal(signal.SIGKILL)
    finally:
        kill_tree(driver)
    assert not list(sys_tmp.glob("mftune-ckpt-*"))  # whatever was staged is in the experiment
    assert state(killed)["status"] == "running"
    resumed = cli(["--resume", str(killed)], tmp_path, TMPDIR=str(sys_tmp), RAY_TMPDIR="/tmp")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert not (killed / ".mftune-tmp").exists() and not list(sys_tmp.glob("mftune-ckpt-*"))
    assert state(killed)["stages"][0]["trials"] == 12  # the budget, exactly, across the kill
