"""What a stage's start costs on top of Ray Tune's own: first-result latency of a Tune fit.

Every stage (and CV) is a new ``Tuner.fit``, and Ray starts a fresh worker process for
each trial actor, which imports whatever the trainable needs before its first report.
This measures, on an embedded Ray with 2 CPUs and 2 trials per fit, the seconds from
``fit()`` to the first reported result for three trainables, interleaved fit by fit:

* ``bare``: reports at once (Ray Tune's own floor);
* ``torch``: imports torch first (the floor for any PyTorch trainable);
* ``mftune``: imports the task registry and loads the digits, as a pipeline trial does
  before its first epoch.

The first fit of each kind warms Ray up and is dropped; the median of the rest is
printed, with ``mftune`` minus ``torch`` as what mftune adds to each stage's start.
A last line times the same imports in fresh interpreters (after ``ray.tune`` and torch).

    python -m benchmarks.worker_start --fits 5
    # the same against an older checkout (its pipeline package is the one measured):
    git worktree add /tmp/mftune-before REV
    cd /tmp/mftune-before && PYTHONPATH=. python /path/to/benchmarks/worker_start.py --fits 5
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

KINDS = ("bare", "torch", "mftune")


def trainable(config: dict) -> None:
    from ray import tune

    if config["kind"] in ("torch", "mftune"):
        import torch  # noqa: F401
    if config["kind"] == "mftune":
        from pipeline.tasks import get_task

        get_task("digits").raw(None)
    tune.report({"t": time.time()})


def first_result_s(kind: str, storage: str) -> float:
    from ray import tune

    started = time.time()
    grid = tune.Tuner(
        trainable,
        param_space={"kind": kind, "i": tune.grid_search([0, 1])},
        run_config=tune.RunConfig(verbose=0, storage_path=storage),
    ).fit()
    return min(r.metrics["t"] for r in grid) - started


def import_s(root: str) -> float:
    """Seconds to import the task registry and load the digits after ray.tune and torch."""
    code = (
        "import time, ray.tune, torch; t = time.perf_counter(); from pipeline.tasks import get_task; "
        "get_task('digits').raw(None); print(time.perf_counter() - t)"
    )
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fits", type=int, default=5, help="fits per trainable (the first is dropped)")
    ap.add_argument("--storage", default="/tmp/mftune-worker-start")
    args = ap.parse_args(argv)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # the checkout whose pipeline package this interpreter imports; the trial workers import it too
    root = str(Path(importlib.util.find_spec("pipeline").origin).parents[1])
    os.environ["PYTHONPATH"] = root
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    for _ in range(args.fits):
        for kind in KINDS:
            times[kind].append(first_result_s(kind, args.storage))
    ray.shutdown()
    med = {k: statistics.median(v[1:]) for k, v in times.items()}
    print(f"pipeline from {root}")
    print(f"first-result latency of a 2-trial Tune fit, s (median of fits 2-{args.fits}; every fit listed)")
    for kind in KINDS:
        print(f"  {kind:<7} {med[kind]:5.2f}   " + " ".join(f"{t:.2f}" for t in times[kind]))
    print(f"  mftune adds {med['mftune'] - med['torch']:+.2f} s to a PyTorch trainable's start")
    imports = [import_s(root) for _ in range(3)]
    print(f"task registry + digits, after ray.tune and torch: {statistics.median(imports):.2f} s (median of 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
