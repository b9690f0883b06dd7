"""Pausing schedulers under ``TuneConfig(max_concurrent_trials=N)`` in a real Ray Tune.

A sleep trainable (``--epoch-s`` seconds per epoch, a checkpoint with every report, so a
paused trial resumes where it stopped) over a 2-D space with crossing learning curves;
``--trials`` trials, max_t 9, eta 3; ``ray.init(num_cpus=--cpus)`` with more logical
CPUs than N so that the limit, not the resources, binds. Configurations, in turn:

* mftune ``HyperbandScheduler(synchronous=False)`` (BOHB) + ``TPESearcher``
* mftune ``ASHAScheduler(rule="promotion")`` + ``TPESearcher``
* Ray ``HyperBandForBOHB`` + ``TuneBOHB`` (needs hpbandster and ConfigSpace; skipped
  without them: ``pip install --target DIR hpbandster ConfigSpace`` and put DIR on
  PYTHONPATH)
* Ray ``AsyncHyperBandScheduler`` + ``BasicVariantGenerator``
* mftune BOHB + Ray's ``OptunaSearch`` (which leaves the limit to Ray's
  ``ConcurrencyLimiter``, which counts paused trials: the behaviour mftune's searchers
  had before they enforced the limit themselves)

Slot utilisation comes from Ray's own trial states: a callback notes the number of
RUNNING trials at the end of every controller step; the time-weighted mean over the run,
divided by N. Wall time is ``Tuner.fit``'s; "ideal" is epochs x epoch_s / N.

    python -m benchmarks.concurrency [--trials 27] [--n 3] [--epoch-s 0.5] [--seeds 0] [--reuse-actors]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

MAX_T, ETA = 9, 3


def _loss(x: float, y: float, epoch: int) -> float:
    return (x - 0.3) ** 2 + (y - 0.6) ** 2 + (0.5 + x) / (1.0 + epoch * (0.2 + y))


def make_trainable(epoch_s: float):
    from ray import tune

    def trainable(config):
        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as d, open(os.path.join(d, "state.json")) as f:
                start = json.load(f)["epoch"]
        for epoch in range(start + 1, MAX_T + 1):
            time.sleep(epoch_s)
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "state.json"), "w") as f:
                    json.dump({"epoch": epoch}, f)
                tune.report(
                    {"loss": _loss(config["x"], config["y"], epoch)}, checkpoint=tune.Checkpoint.from_directory(d)
                )

    return trainable


def configurations(seed: int) -> dict:
    from ray.tune.schedulers import AsyncHyperBandScheduler

    from schedulers import ASHAScheduler, HyperbandScheduler
    from searchers.tpe import TPESearcher

    configs = {
        "mftune BOHB (async Hyperband + TPE)": lambda: (
            HyperbandScheduler(max_resource=MAX_T, reduction_factor=ETA, synchronous=False, seed=seed),
            TPESearcher(seed=seed),
        ),
        "mftune ASHA promotion + TPE": lambda: (
            ASHAScheduler(max_resource=MAX_T, reduction_factor=ETA, rule="promotion", seed=seed),
            TPESearcher(seed=seed),
        ),
    }
    try:
        import hpbandster  # noqa: F401
        from ray.tune.schedulers import HyperBandForBOHB
        from ray.tune.search.bohb import TuneBOHB

        configs["Ray HyperBandForBOHB + TuneBOHB"] = lambda: (
            HyperBandForBOHB(max_t=MAX_T, reduction_factor=ETA),
            TuneBOHB(seed=seed),
        )
    except ImportError:
        print("(hpbandster not installed: Ray's BOHB skipped)")
    configs["Ray ASHA + BasicVariantGenerator"] = lambda: (
        AsyncHyperBandScheduler(max_t=MAX_T, grace_period=1, reduction_factor=ETA),
        None,
    )
    try:
        from ray.tune.search.optuna import OptunaSearch

        configs["mftune BOHB + Ray OptunaSearch (limiter counts paused)"] = lambda: (
            HyperbandScheduler(max_resource=MAX_T, reduction_factor=ETA, synchronous=False, seed=seed),
            OptunaSearch(seed=seed),
        )
    except ImportError:
        pass
    return configs


def run_one(name, make, args, seed, storage):
    from ray import tune

    samples: list[tuple[float, int]] = []

    class Slots(tune.Callback):
        def on_step_end(self, iteration, trials, **info):
            samples.append((time.perf_counter(), sum(1 for t in trials if t.status == "RUNNING")))

    scheduler, search = make()
    tuner = tune.Tuner(
        make_trainable(args.epoch_s),
        param_space={"x": tune.uniform(0.0, 1.0), "y": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            scheduler=scheduler,
            search_alg=search,
            num_samples=args.trials,
            max_concurrent_trials=args.n,
            reuse_actors=args.reuse_actors,
        ),
        run_config=tune.RunConfig(
            name=f"c{seed}-{abs(hash(name)) % 10**6}", storage_path=storage, verbose=0, callbacks=[Slots()]
        ),
    )
    start = time.perf_counter()
    grid = tuner.fit()
    wall = time.perf_counter() - start
    epochs = sum(int(r.metrics.get("training_iteration", 0)) for r in grid)
    # Time-weighted mean of RUNNING trials (Ray's states) from the first step to the end.
    busy = sum((b[0] - a[0]) * a[1] for a, b in zip(samples, samples[1:]))
    span = samples[-1][0] - samples[0][0] if len(samples) > 1 else float("nan")
    most = max((c for _, c in samples), default=0)
    best = min(r.metrics["loss"] for r in grid if "loss" in r.metrics)
    errors = sum(1 for r in grid if r.error is not None)
    return {
        "name": name,
        "trials": len(grid),
        "errors": errors,
        "epochs": epochs,
        "wall": wall,
        "ideal": epochs * args.epoch_s / args.n,
        "util": busy / span / args.n,
        "most": most,
        "best": best,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=27)
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=6)
    ap.add_argument("--epoch-s", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--reuse-actors", action="store_true", help="TuneConfig(reuse_actors=True)")
    args = ap.parse_args()
    import ray

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    rows = []
    with tempfile.TemporaryDirectory() as storage:
        for seed in args.seeds:
            for name, make in configurations(seed).items():
                row = run_one(name, make, args, seed, storage)
                rows.append(row)
                print(json.dumps(row), flush=True)
    ray.shutdown()
    print(
        f"\n{args.trials} trials, max_t {MAX_T}, eta {ETA}, max_concurrent_trials={args.n}, "
        f"{args.cpus} logical CPUs, {args.epoch_s} s per epoch, reuse_actors={args.reuse_actors}, "
        f"seeds {args.seeds} (medians)"
    )
    print(
        "| configuration | slot utilisation | most RUNNING | wall s | wall / ideal | wall s per epoch | epochs "
        "| trials (errors) | best loss |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["name"] for r in rows):
        rs = [r for r in rows if r["name"] == name]

        def med(key, rs=rs):
            return statistics.median(r[key] for r in rs)

        print(
            f"| {name} | {med('util'):.0%} | {max(r['most'] for r in rs)} | {med('wall'):.1f} "
            f"| {statistics.median(r['wall'] / r['ideal'] for r in rs):.2f} "
            f"| {statistics.median(r['wall'] / r['epochs'] for r in rs):.3f} | {med('epochs'):.0f} "
            f"| {med('trials'):.0f} ({sum(r['errors'] for r in rs)}) | {med('best'):.4f} |"
        )


if __name__ == "__main__":
    main()
