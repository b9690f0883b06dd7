"""A real three-node Ray on this machine, driven the way a cluster user drives mftune.

``tests/test_multinode.py`` runs this file in a process of its own (so its Ray never
meets the embedded Ray of other tests in the pytest process) and asserts on what it
leaves on disk. Run by hand::

    python tests/multinode_driver.py OUT_DIR

The cluster mirrors ``cluster.yaml``: a head with 0 CPUs (it runs no trials), a CPU
worker (2 CPUs) and a GPU worker (2 CPUs and one fake GPU: Ray only counts it). Two
experiments of the built-in ``digits`` task run on it through ``tune.Tuner`` with the
project's trainable (``pipeline.trainable.make_trainable``):

``gpu``    2 trials asking ``{"cpu": 1, "gpu": 0.5}``; they wait for each other before
           training, so both share the one GPU at the same time.
``fault``  6 trials asking ``{"cpu": 1}`` with ``FailureConfig(max_failures=2)``; the
           first 4 wait for each other (4 CPUs on two nodes: both nodes are used). As
           soon as a trial has finished on a worker node and another trial running there
           has reported (with its checkpoint) its second epoch or later, that node is
           killed (SIGKILL of its processes, by pid, through ``Cluster.remove_node``); the
           experiment must finish on the surviving node.

Each time a trial starts (a retry too), it appends one line to
``OUT_DIR/<experiment>/observed/<trial_id>.jsonl``: pid, node id, ``ray.get_gpu_ids()``,
``CUDA_VISIBLE_DEVICES`` (null when unset), what ``pipeline.trainable.pick_device()``
chose, and the epoch of the checkpoint it resumes from (0: fresh start). Ray's own
per-trial results are in ``OUT_DIR/<experiment>/ray/<name>/<trial_id>/``; ``summary.json``
holds the node ids, the kill and the final trial table.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The one task setting both experiments share: full 8x8 digits, small fast epochs.
MAX_EPOCHS = 12
BARRIER_TIMEOUT_S = 300.0


def observed_trainable(setup, observed_dir: str, barrier: int):
    """The project's trainable, preceded by a record of where and how it runs.

    ``barrier``: wait (up to BARRIER_TIMEOUT_S) until that many distinct trials have
    started before training, so that they are provably resident at the same time.
    """
    from pipeline.trainable import make_trainable

    trainable = make_trainable(setup)

    def run(config):
        import ray
        import torch
        from ray import tune

        from pipeline.trainable import RaySession, pick_device

        trial_id = tune.get_context().get_trial_id()
        state = RaySession(torch.device("cpu")).load_state()
        record = {
            "trial_id": trial_id,
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
            "gpu_ids": [str(i) for i in ray.get_gpu_ids()],
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "cuda_available": torch.cuda.is_available(),
            "device": str(pick_device()),
            "resumed_from_epoch": int(state["epoch"]) if state else 0,
        }
        with open(os.path.join(observed_dir, f"{trial_id}.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while len([n for n in os.listdir(observed_dir) if n.endswith(".jsonl")]) < barrier:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(os.listdir(observed_dir))} of {barrier} trials started together")
            time.sleep(0.2)
        trainable(config)

    run.__name__ = run.__qualname__ = trainable.__name__
    return run


def trial_dirname(trial) -> str:
    return trial.trial_id


def last_node(observed_dir: Path, trial_id: str) -> str | None:
    path = observed_dir / f"{trial_id}.jsonl"
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    return json.loads(lines[-1])["node_id"] if lines else None


def make_node_killer(cluster, workers: dict, observed_dir: Path, log: dict):
    """A Tune callback that kills one worker node once, at the moment described above."""
    from ray.tune import Callback

    class KillWorkerNode(Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if log.get("killed_node"):
                return
            epoch = int(result.get("epoch", 0))
            if not 2 <= epoch <= MAX_EPOCHS - 4:
                return
            node_id = last_node(observed_dir, trial.trial_id)
            role = next((r for r, n in workers.items() if n.node_id == node_id), None)
            finished = [t.trial_id for t in trials if t.status == "TERMINATED"]
            if role is None or not any(last_node(observed_dir, t) == node_id for t in finished):
                return  # wait until a trial has finished on this very node
            # The last epoch the driver has seen from each trial running there (this
            # callback runs before Tune stores `result` as the trigger's last result).
            running_there = {
                t.trial_id: int((t.last_result or {}).get("epoch", 0))
                for t in trials
                if t.status == "RUNNING" and last_node(observed_dir, t.trial_id) == node_id
            }
            running_there[trial.trial_id] = epoch
            log.update(
                killed_node=node_id,
                killed_role=role,
                trigger_trial=trial.trial_id,
                trigger_epoch=epoch,
                finished_before_kill=finished,
                running_on_killed_node=running_there,
                kill_time=time.time(),
            )
            cluster.remove_node(workers.pop(role), allow_graceful=False)  # SIGKILL by pid
            log["kill_done_time"] = time.time()

        def __reduce__(self):
            # Tune pickles its callbacks into tuner.pkl; the live cluster cannot be
            # pickled and is never needed there (this experiment is not restored).
            return (Callback, ())

    return KillWorkerNode()


def run_experiment(
    name: str, out: Path, setup, resources: dict, num_samples: int, barrier: int, max_failures: int, callbacks=()
):
    from ray import tune

    from pipeline.tasks import get_task
    from searchers import RandomSearcher

    observed = out / name / "observed"
    observed.mkdir(parents=True)
    storage = out / name / "ray"
    space = get_task(setup.task).default_space()
    tuner = tune.Tuner(
        tune.with_resources(observed_trainable(setup, str(observed), barrier), resources),
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            num_samples=num_samples,
            search_alg=RandomSearcher(space, metric="val_accuracy", mode="max", seed=0),
            max_concurrent_trials=barrier,
            reuse_actors=True,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage),
            verbose=0,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            failure_config=tune.FailureConfig(max_failures=max_failures),
            callbacks=list(callbacks),
        ),
    )
    start = time.monotonic()
    grid = tuner.fit()
    return {
        "storage": str(storage / name),
        "wall_s": time.monotonic() - start,
        "num_errors": grid.num_errors,
        "trials": {
            r.metrics.get("trial_id"): {
                "epoch": r.metrics.get("epoch"),
                "val_accuracy": r.metrics.get("val_accuracy"),
                "error": repr(r.error) if r.error else None,
            }
            for r in grid
        },
    }


def main(out: Path) -> int:
    import ray
    from ray.cluster_utils import Cluster

    from pipeline.tasks import Fidelity, TaskOptions, TrialSetup

    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"max_epochs": MAX_EPOCHS}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        workers = {"cpu": cluster.add_node(num_cpus=2), "gpu": cluster.add_node(num_cpus=2, num_gpus=1)}
        cluster.wait_for_nodes(timeout=120)
        summary["nodes"] = {"head": cluster.head_node.node_id, **{role: node.node_id for role, node in workers.items()}}
        ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
        summary["resources"] = ray.cluster_resources()
        setup = TrialSetup("digits", TaskOptions(), Fidelity(1.0, 8, MAX_EPOCHS), seed=0)

        summary["gpu"] = run_experiment(
            "gpu", out, setup, {"cpu": 1, "gpu": 0.5}, num_samples=2, barrier=2, max_failures=0
        )
        kill: dict = {}
        killer = make_node_killer(cluster, workers, out / "fault" / "observed", kill)
        summary["fault"] = run_experiment(
            "fault", out, setup, {"cpu": 1}, num_samples=6, barrier=4, max_failures=2, callbacks=[killer]
        )
        summary["fault"]["kill"] = kill
    finally:
        ray.shutdown()
        cluster.shutdown()
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    sys.exit(main(Path(sys.argv[1])))
