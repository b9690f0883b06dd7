"""A real multi-node Ray on this machine: where trials land, which GPU they get, node loss.

The cluster and its two experiments run in ``tests/multinode_driver.py``, in a process
of its own: its Ray must not meet the embedded Ray other tests share in this process,
and ``RAY_TMPDIR`` points it at a private directory so that no other Ray on the host
(``ray.init()`` looks for ``/tmp/ray/ray_current_cluster``) ever finds it. These tests
read what the driver left on disk: its ``summary.json``, one record per trial start
(node, GPU ids, device), and Ray's own per-trial ``result.json``, checkpoints and
experiment state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "multinode_driver.py"
TIMEOUT_S = 900  # typically about a minute; generous for a loaded 2-core machine


@dataclass
class Run:
    out: Path
    summary: dict

    @property
    def nodes(self) -> dict[str, str]:
        return self.summary["nodes"]

    @property
    def max_epochs(self) -> int:
        return self.summary["max_epochs"]

    def starts(self, experiment: str) -> dict[str, list[dict]]:
        """Per trial, one record per time it started (a retry adds one), in order."""
        observed = self.out / experiment / "observed"
        return {
            p.stem: [json.loads(line) for line in p.read_text().splitlines()] for p in sorted(observed.glob("*.jsonl"))
        }

    def trial_dir(self, experiment: str, trial_id: str) -> Path:
        return Path(self.summary[experiment]["storage"]) / trial_id

    def results(self, experiment: str, trial_id: str) -> list[dict]:
        """Every result Ray recorded for the trial, read back from its result.json."""
        path = self.trial_dir(experiment, trial_id) / "result.json"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def experiment_state(self, experiment: str) -> dict[str, tuple[dict, dict]]:
        """Ray's own experiment snapshot: trial id -> (trial, run metadata)."""
        storage = Path(self.summary[experiment]["storage"])
        [path] = sorted(storage.glob("experiment_state-*.json"))
        trials = {}
        for trial_json, meta_json in json.loads(path.read_text())["trial_data"]:
            trial = json.loads(trial_json)
            trials[trial["trial_id"]] = (trial, json.loads(meta_json))
        return trials


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    out = tmp_path_factory.mktemp("multinode")
    ray_tmp = tempfile.mkdtemp(prefix="mft-", dir="/tmp")  # short: Ray puts its sockets under it
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "CUDA_VISIBLE_DEVICES")}
    # TMPDIR too: a worker killed with its node leaves its half-written checkpoint
    # directory behind (pipeline.trainable.RaySession.report), here instead of in /tmp.
    env["RAY_TMPDIR"] = env["TMPDIR"] = ray_tmp
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.terminate()  # our own child: its exit hooks and Ray's reaper remove its nodes
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        pytest.fail(f"multi-node driver still running after {TIMEOUT_S}s; Ray logs in {ray_tmp}\n{output[-8000:]}")
    if proc.returncode != 0:
        pytest.fail(f"multi-node driver exited with {proc.returncode}; Ray logs in {ray_tmp}\n{output[-8000:]}")
    shutil.rmtree(ray_tmp, ignore_errors=True)
    return Run(out, json.loads((out / "summary.json").read_text()))


def _epochs(rows: list[dict]) -> list[int]:
    return [int(r["epoch"]) for r in rows]


def test_cluster_has_a_trial_free_head_a_cpu_worker_and_a_gpu_worker(run):
    assert len(set(run.nodes.values())) == 3
    assert run.summary["resources"]["CPU"] == 4  # head 0 + 2 + 2
    assert run.summary["resources"]["GPU"] == 1


def test_fractional_gpu_trials_share_the_gpu_node(run):
    gpu = run.summary["gpu"]
    assert gpu["num_errors"] == 0 and len(gpu["trials"]) == 2
    starts = run.starts("gpu")
    # Both trials started (and waited for each other) before either trained: two
    # trials at 0.5 GPU were resident on the one GPU at the same time.
    assert sorted(starts) == sorted(gpu["trials"])
    for trial_id, records in starts.items():
        [start] = records  # no retry
        assert start["node_id"] == run.nodes["gpu"]
        assert start["gpu_ids"] == ["0"]
        assert start["cuda_visible_devices"] == "0"
        # pick_device() uses the assigned GPU only where torch can drive it; on a
        # machine without CUDA it falls back to the CPU and the trial still trains.
        assert start["device"] == ("cuda:0" if start["cuda_available"] else "cpu")
        assert _epochs(run.results("gpu", trial_id)) == list(range(1, run.max_epochs + 1))


def test_cpu_trials_spread_over_both_workers_and_never_touch_the_gpu(run):
    starts = run.starts("fault")
    assert len(starts) == 6
    first = [records[0] for records in starts.values()]
    # The first 4 trials waited for each other: 4 CPUs exist only on the two workers together.
    assert {r["node_id"] for r in first} == {run.nodes["cpu"], run.nodes["gpu"]}
    for records in starts.values():
        for r in records:
            assert r["node_id"] != run.nodes["head"]  # the head has CPU: 0
            assert r["gpu_ids"] == []
            assert r["cuda_visible_devices"] is None  # unset, not "" (even on the GPU node)
            assert r["device"] == "cpu"


def test_trials_on_a_lost_worker_node_resume_from_their_checkpoints(run):
    fault = run.summary["fault"]
    kill = fault["kill"]
    assert kill.get("killed_node") in (run.nodes["cpu"], run.nodes["gpu"]), "no worker node was killed"
    survivor = run.nodes["gpu" if kill["killed_role"] == "cpu" else "cpu"]
    assert fault["num_errors"] == 0
    state = run.experiment_state("fault")
    assert {tid: t["status"] for tid, (t, _) in state.items()} == {tid: "TERMINATED" for tid in fault["trials"]}

    retried = {tid for tid, (_, meta) in state.items() if meta["num_failures"] > 0}
    assert kill["trigger_trial"] in retried
    assert set(kill["running_on_killed_node"]) <= retried
    starts = run.starts("fault")
    for trial_id in retried:
        assert state[trial_id][1]["num_failures"] == 1
        records = starts[trial_id]
        assert records[-1]["node_id"] == survivor
        if len(records) == 1:
            continue  # it died on the lost node before its first line (no epoch yet)
        before, after = records
        assert before["node_id"] == kill["killed_node"]
        # The retry loaded the last checkpoint Ray had registered for the trial: at least
        # the one of the epoch before the last one the driver had seen at the kill (epoch
        # k is reported only once the checkpoint of epoch k-1 is registered); a result
        # already on its way when the node died can make it later.
        last_seen = kill["running_on_killed_node"].get(trial_id, 0)  # 0: killed before its first report
        resumed = after["resumed_from_epoch"]
        assert max(last_seen - 1, 0) <= resumed < run.max_epochs, (trial_id, last_seen, resumed)
        # ... and trained on from the next epoch to the end, not from epoch 1. (Rows
        # reported before the kill are not checked here: on a restart Ray 2.60 copies the
        # trial's result.json back from storage, which may lag; see docs/cluster.md.)
        rows = run.results("fault", trial_id)
        assert _epochs([r for r in rows if r["pid"] == after["pid"]]) == list(range(resumed + 1, run.max_epochs + 1))
    assert kill["trigger_epoch"] >= 2
    assert starts[kill["trigger_trial"]][-1]["resumed_from_epoch"] >= 1  # a resume, not a restart
    for trial_id in set(fault["trials"]) - retried:
        assert len(starts[trial_id]) == 1


def test_no_completed_result_is_lost_with_the_node(run):
    import torch

    fault = run.summary["fault"]
    kill = fault["kill"]
    starts = run.starts("fault")
    finished = kill["finished_before_kill"]
    # The node was killed only once a trial had finished on it.
    assert any(starts[t][0]["node_id"] == kill["killed_node"] for t in finished)
    for trial_id in fault["trials"]:
        rows = run.results("fault", trial_id)
        assert _epochs(rows)[-1] == run.max_epochs
        assert rows[-1]["val_accuracy"] == pytest.approx(fault["trials"][trial_id]["val_accuracy"])
    for trial_id in finished:
        rows = run.results("fault", trial_id)
        assert _epochs(rows) == list(range(1, run.max_epochs + 1))
        checkpoints = sorted(run.trial_dir("fault", trial_id).glob("checkpoint_*"))
        assert len(checkpoints) == 2  # CheckpointConfig(num_to_keep=2)
        last = torch.load(checkpoints[-1] / "state.pt", map_location="cpu", weights_only=True)
        assert last["epoch"] == run.max_epochs
