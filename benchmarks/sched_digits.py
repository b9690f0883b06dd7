"""Schedulers through a real Ray Tune on the digits task: the Ray path, measured.

Each row is ``searcher+scheduler`` by name (as in benchmarks/sched_compare.py, whose
factories it shares). Every run gets the same epoch budget (a Tune ``Stopper`` ends the
experiment after ``--budget-trials`` x ``--max-epochs`` reported epochs), 2 CPUs, one
per trial, actor reuse, and *no* ``max_concurrent_trials``: a ConcurrencyLimiter counts
paused trials as running and would starve pausing schedulers (docs/schedulers.md).
Rows alternate within each seed, so machine load spreads over all of them.

Reported: best validation accuracy among full-fidelity results (trials trained for all
``--max-epochs``) against epochs spent and against wall time since ``fit()`` started;
slot utilization (sum of ``time_this_iter_s`` over 2 slots x wall time: the share of
slot time spent training, the rest is Ray's per-trial, per-report and pause/resume
overhead and idle slots); trials started and resumes from a checkpoint.

    python benchmarks/sched_digits.py [--seeds 5] [--max-epochs 9] [--budget-trials 20]
        [--resolution 4] [--data-fraction 0.5] [--rows random+fifo,random+asha,...]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.sched_compare import factories, parse_row  # noqa: E402
from pipeline import ray_runtime  # noqa: E402
from pipeline.registry import SearchContext  # noqa: E402
from searchers.space import SearchSpace  # noqa: E402

DEFAULT_ROWS = (
    "random+fifo",
    "random+asha",
    "random+asha-promotion",
    "random+hyperband",
    "tpe+bohb",
    "tpe+bohb-sync",
    "random+ray-asha",
    "random+ray-hyperband",
)
SLOTS = 2


@dataclass
class Record:
    t: float  # seconds since fit() started
    trial_id: str
    epoch: int
    accuracy: float
    train_s: float
    resumed: bool  # first result after a restore from a checkpoint


@dataclass
class Run:
    records: list[Record] = field(default_factory=list)
    wall: float = 0.0


def run_once(row: str, seed: int, args: argparse.Namespace, storage: str) -> Run:
    from ray import tune

    from pipeline.tasks import Fidelity, TaskOptions, TrialSetup, get_task
    from pipeline.trainable import make_trainable

    searcher_name, scheduler_name = parse_row(row)
    searchers, schedulers = factories()
    ctx = SearchContext(
        space=SearchSpace(get_task("digits").default_space()),
        metric="val_accuracy",
        mode="max",
        seed=seed,
        max_resource=args.max_epochs,
    )
    setup = TrialSetup(
        "digits", TaskOptions(), Fidelity(args.data_fraction, args.resolution, args.max_epochs), seed=seed
    )
    run = Run()
    start = time.monotonic()
    budget = args.budget_trials * args.max_epochs

    class Recorder(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            run.records.append(
                Record(
                    time.monotonic() - start,
                    trial.trial_id,
                    int(result["epoch"]),
                    float(result["val_accuracy"]),
                    float(result["time_this_iter_s"]),
                    result["iterations_since_restore"] == 1 and result["epoch"] > 1,
                )
            )

    class EpochBudget(tune.Stopper):
        def __init__(self):
            self.spent = 0

        def __call__(self, trial_id, result):
            if not result.get("done"):  # a finished trial's last result comes again with done=True
                self.spent += 1
            return False

        def stop_all(self):
            return self.spent >= budget

    tuner = tune.Tuner(
        tune.with_resources(make_trainable(setup), {"cpu": 1}),
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            num_samples=-1,
            search_alg=searchers[searcher_name](ctx),
            scheduler=schedulers[scheduler_name](ctx),
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            storage_path=storage,
            name=f"{row.replace('+', '_')}-{seed}",
            verbose=0,
            stop=EpochBudget(),
            callbacks=[Recorder()],
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        ),
    )
    start = time.monotonic()
    tuner.fit()
    run.wall = time.monotonic() - start
    return run


def best_so_far(run: Run, max_epochs: int, limit: float, by_time: bool) -> float:
    """Best full-fidelity accuracy once ``limit`` epochs (or seconds) were spent."""
    best = -math.inf
    for i, rec in enumerate(run.records, start=1):
        if (rec.t if by_time else i) > limit:
            break
        if rec.epoch >= max_epochs:
            best = max(best, rec.accuracy)
    return best


def _fmt(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "-"
    text = f"{statistics.mean(finite):.4f}"
    if len(finite) > 1:
        text += f" ± {statistics.stdev(finite) / math.sqrt(len(finite)):.4f}"
    return text + (f" ({len(values) - len(finite)} none)" if len(finite) < len(values) else "")


def report(runs: dict[str, list[Run]], args: argparse.Namespace) -> None:
    budget = args.budget_trials * args.max_epochs
    n = len(next(iter(runs.values())))
    fractions = (1 / 8, 1 / 4, 1 / 2, 1)
    print(f"\n### Best full-fidelity val_accuracy against epochs spent (mean ± s.e.m. over {n} seeds)\n")
    print("| row | " + " | ".join(f"{f * budget:.0f} epochs" for f in fractions) + " |")
    print("|---|" + "---|" * len(fractions))
    for row, rs in runs.items():
        print(
            f"| {row} | "
            + " | ".join(_fmt([best_so_far(r, args.max_epochs, f * budget, False) for r in rs]) for f in fractions)
            + " |"
        )
    fifo = runs.get("random+fifo")
    horizon = (
        statistics.median(r.wall for r in fifo)
        if fifo
        else max(statistics.median(r.wall for r in rs) for rs in runs.values())
    )
    print(
        f"\n### Best full-fidelity val_accuracy against wall time (s since fit() started; median fit time of "
        f"{'random+fifo' if fifo else 'the slowest row'} = {horizon:.0f} s)\n"
    )
    print("| row | " + " | ".join(f"{f * horizon:.0f} s" for f in fractions) + " | fit s (median) |")
    print("|---|" + "---|" * (len(fractions) + 1))
    for row, rs in runs.items():
        print(
            f"| {row} | "
            + " | ".join(_fmt([best_so_far(r, args.max_epochs, f * horizon, True) for r in rs]) for f in fractions)
            + f" | {statistics.median(r.wall for r in rs):.0f} |"
        )
    print(f"\n### Cost at the same budget ({budget} epochs, {SLOTS} slots)\n")
    print(
        "| row | epochs reported (mean) | trials started (mean) | resumed from a checkpoint (mean) "
        "| full-fidelity results (mean) | slot utilization (mean) | fit s / random+fifo |"
    )
    print("|---|---|---|---|---|---|---|")
    base = statistics.median(r.wall for r in fifo) if fifo else None
    for row, rs in runs.items():
        util = [sum(rec.train_s for rec in r.records) / (SLOTS * r.wall) for r in rs]
        ratio = f"{statistics.median(r.wall for r in rs) / base:.2f}" if base else "-"
        print(
            f"| {row} | {statistics.mean(len(r.records) for r in rs):.0f} "
            f"| {statistics.mean(len({rec.trial_id for rec in r.records}) for r in rs):.1f} "
            f"| {statistics.mean(sum(rec.resumed for rec in r.records) for r in rs):.1f} "
            f"| {statistics.mean(sum(rec.epoch >= args.max_epochs for rec in r.records) for r in rs):.1f} "
            f"| {statistics.mean(util):.3f} | {ratio} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-epochs", type=int, default=9)
    ap.add_argument("--budget-trials", type=int, default=20, help="budget in full trainings (x max epochs)")
    ap.add_argument("--resolution", type=int, default=4)
    ap.add_argument("--data-fraction", type=float, default=0.5)
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    args = ap.parse_args()
    rows = [r for r in args.rows.split(",") if r]
    for row in rows:
        parse_row(row)
    ray_runtime.quiet_environment(verbose=False)
    import ray

    ray.init(num_cpus=SLOTS, log_to_driver=False, include_dashboard=False, logging_level="ERROR")
    runs: dict[str, list[Run]] = {row: [] for row in rows}
    started = time.monotonic()
    print(
        f"digits {args.resolution}x{args.resolution}, data fraction {args.data_fraction}, "
        f"{args.max_epochs} epochs max, budget {args.budget_trials * args.max_epochs} epochs, "
        f"{args.seeds} seeds, {SLOTS} CPUs (1 per trial)",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="mftune-sched-digits-") as storage:
            for seed in range(args.seeds):
                for row in rows if seed % 2 == 0 else rows[::-1]:
                    run = run_once(row, seed, args, storage)
                    runs[row].append(run)
                    print(f"  seed {seed} {row}: {len(run.records)} epochs in {run.wall:.1f} s", flush=True)
    finally:
        ray.shutdown()
    report(runs, args)
    print(f"\n(total {time.monotonic() - started:.0f} s; pid {os.getpid()})")


if __name__ == "__main__":
    main()
