"""Schedulers on a synthetic multi-fidelity problem, in simulated time (no Ray runtime).

Every row is ``searcher+scheduler``, both by name: the names of ``pipeline.registry``
(what ``python -m pipeline.run`` offers) plus :data:`EXTRA_SCHEDULERS`; BOHB is
``tpe+bohb`` (asynchronous) and ``tpe+bohb-sync``. A new searcher or scheduler becomes a
row by adding a factory there. Each row runs on
:class:`benchmarks.sched_sim.SimController` (Ray's trial loop emulated on a simulated
clock) with the same seeds, so two rows see the same configurations from the same
searcher seed and the same noise.

Two scenarios:

* budget: every row may spend the same number of epochs (``--budget-trials`` full
  trainings); reports best-so-far simple regret against epochs spent and against
  simulated time, slot utilization (time slots spend training / slots x makespan),
  and how many epochs each row needs to reach what full-fidelity random search
  (``random+fifo``) ends with;
* trials: a fixed number of trials run to completion (as ``num_samples`` does),
  where a synchronous bracket waits for its stragglers: makespan and utilization; and
  the same runs interrupted halfway and restored the way ``Tuner.restore`` restores
  (a fresh scheduler, every trial re-added): which runs stall, what they end with;
  and the same runs under ``max_concurrent_trials`` (a ConcurrencyLimiter).

    python benchmarks/sched_compare.py [--problem hartmann6] [--seeds 20] [--slots 4]
        [--budget-trials 64] [--trials 81] [--rows random+fifo,random+asha,...]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.mf_functions import MF_PROBLEMS, MFProblem  # noqa: E402
from benchmarks.sched_sim import SimController, SimRun  # noqa: E402
from pipeline.registry import (  # noqa: E402
    SCHEDULERS,
    SEARCHERS,
    SearchContext,
    hyperband,
    mf_searcher,
    space_searcher,
)
from searchers.space import SearchSpace  # noqa: E402


def _successive_halving(ctx: SearchContext):
    from schedulers import HyperbandScheduler

    return HyperbandScheduler(
        resource_attr=ctx.resource_attr, min_resource=1, max_resource=ctx.max_resource, reduction_factor=3, brackets=1
    )


#: Benchmark-only schedulers, by name, beside pipeline.registry.SCHEDULERS:
#: asynchronous Hyperband (ASHA promotion over all brackets) and synchronous successive
#: halving (Hyperband's most aggressive bracket only: the synchronous twin of ASHA).
EXTRA_SCHEDULERS: dict[str, Callable[[SearchContext], Any]] = {
    "hyperband-async": hyperband(synchronous=False),
    "sha": _successive_halving,
}

DEFAULT_ROWS = (
    "random+fifo",
    "random+asha",
    "random+asha-promotion",
    "random+hyperband",
    "random+hyperband-async",
    "tpe+bohb",
    "tpe+bohb-sync",
    "random+ray-asha",
    "random+ray-hyperband",
)
SYNC_VS_ASYNC_ROWS = (
    "random+asha-promotion",
    "random+sha",
    "random+hyperband-async",
    "random+hyperband",
    "tpe+bohb",
    "tpe+bohb-sync",
    "random+ray-hyperband",
)

LIMITER_ROWS = (
    "random+fifo",
    "random+asha",
    "random+asha-promotion",
    "random+hyperband",
    "tpe+bohb",
    "tpe+bohb-sync",
    "random+ray-hyperband",
)


#: Benchmark-only searchers, by name, beside pipeline.registry.SEARCHERS: the joint model
#: acquiring at the highest populated rung level (MOBSTER's choice) instead of the top, and
#: the GP fitted on the highest rung with enough results (BOHB's rule) instead of each
#: trial's last result.
EXTRA_SEARCHERS: dict[str, Callable[[SearchContext], Any]] = {
    "mobster-populated": mf_searcher("joint", target_level="populated"),
    "gp-highest": space_searcher("searchers.gp.searcher", "GPSearcher", fidelity="highest"),
}


def factories() -> tuple[dict[str, Callable], dict[str, Callable]]:
    return {**SEARCHERS, **EXTRA_SEARCHERS}, {**SCHEDULERS, **EXTRA_SCHEDULERS}


def parse_row(row: str) -> tuple[str, str]:
    searchers, schedulers = factories()
    searcher, _, scheduler = row.partition("+")
    if searcher not in searchers or scheduler not in schedulers:
        raise SystemExit(
            f"row {row!r}: expected searcher+scheduler with searcher in {sorted(searchers)} "
            f"and scheduler in {sorted(schedulers)}"
        )
    return searcher, scheduler


def run_row(
    row: str,
    problem: MFProblem,
    seed: int,
    slots: int,
    costs: dict[str, float],
    *,
    budget: int | None = None,
    max_trials: int | None = None,
    limit: int | None = None,
) -> SimRun:
    """One run; ``limit`` wraps the searcher as ``max_concurrent_trials=limit`` does."""
    searcher_name, scheduler_name = parse_row(row)
    searchers, schedulers = factories()
    ctx = SearchContext(
        space=SearchSpace(problem.space), metric="loss", mode="min", seed=seed, max_resource=problem.max_resource
    )
    searcher = searchers[searcher_name](ctx)
    if limit is not None:
        from ray.tune.search import ConcurrencyLimiter

        searcher = ConcurrencyLimiter(searcher, max_concurrent=limit)
    sim = SimController(
        searcher,
        schedulers[scheduler_name](ctx),
        problem,
        metric="loss",
        mode="min",
        max_t=problem.max_resource,
        slots=slots,
        budget=budget,
        max_trials=max_trials,
        seed=seed,
        **costs,
    )
    return sim.run()


def incumbent_regret(run: SimRun, problem: MFProblem) -> list[tuple[int, float, float]]:
    """(epochs spent, time, regret) whenever the best full-fidelity result improves.

    The incumbent is the configuration with the best *observed* value at the maximum
    resource; its regret is its true objective minus the known optimum."""
    configs = {t.trial_id: t.config for t in run.trials}
    best, curve = math.inf, []
    for report in run.reports:
        if report.resource >= problem.max_resource and report.value < best:
            best = report.value
            curve.append((report.epochs, report.time, problem.final(configs[report.trial_id]) - problem.optimum))
    return curve


def regret_at(curve: list[tuple[int, float, float]], limit: float, axis: int) -> float:
    """Regret of the incumbent once ``axis`` (0: epochs, 1: time) reached ``limit``."""
    regret = math.inf
    for point in curve:
        if point[axis] <= limit:
            regret = point[2]
    return regret


def _fmt(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < len(values):
        return (
            f"- ({len(values) - len(finite)} none)"
            if not finite
            else f"{statistics.mean(finite):.3f} ({len(values) - len(finite)} none)"
        )
    mean = statistics.mean(values)
    sem = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return f"{mean:.3f} ± {sem:.3f}"


def budget_tables(
    rows: list[str], problem: MFProblem, seeds: list[int], slots: int, budget: int, costs: dict[str, float]
) -> None:
    runs = {row: [run_row(row, problem, s, slots, costs, budget=budget) for s in seeds] for row in rows}
    curves = {row: [incumbent_regret(r, problem) for r in runs[row]] for row in rows}
    fractions = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1)
    print(f"\n### Best-so-far simple regret against epochs spent (mean ± s.e.m. over {len(seeds)} seeds)\n")
    print("| row | " + " | ".join(f"{f * budget:.0f} epochs" for f in fractions) + " |")
    print("|---|" + "---|" * len(fractions))
    for row in rows:
        cells = [_fmt([regret_at(c, f * budget, 0) for c in curves[row]]) for f in fractions]
        print(f"| {row} | " + " | ".join(cells) + " |")

    fifo = "random+fifo" if "random+fifo" in rows else None
    horizon = (
        statistics.median(r.time for r in runs[fifo])
        if fifo
        else max(statistics.median(r.time for r in runs[row]) for row in rows)
    )
    print(
        f"\n### Best-so-far simple regret against simulated time (time units; median makespan of "
        f"{fifo or 'the slowest row'} = {horizon:.0f})\n"
    )
    print("| row | " + " | ".join(f"t={f * horizon:.0f}" for f in fractions) + " | makespan (median) |")
    print("|---|" + "---|" * (len(fractions) + 1))
    for row in rows:
        cells = [_fmt([regret_at(c, f * horizon, 1) for c in curves[row]]) for f in fractions]
        print(f"| {row} | " + " | ".join(cells) + f" | {statistics.median(r.time for r in runs[row]):.0f} |")

    print(f"\n### Cost and utilization at the same budget ({budget} epochs, {slots} slots)\n")
    header = "| row | trials started (mean) | full-fidelity evaluations (mean) | slot utilization (mean) | runs that stalled |"
    if fifo:
        header += " epochs to reach random+fifo's final regret / budget (median; seeds that reach it) |"
    print(header)
    print("|---|---|---|---|---|" + ("---|" if fifo else ""))
    for row in rows:
        full = [sum(1 for rep in r.reports if rep.resource >= problem.max_resource) for r in runs[row]]
        line = (
            f"| {row} | {statistics.mean(len(r.trials) for r in runs[row]):.0f} | {statistics.mean(full):.1f} | "
            f"{statistics.mean(r.utilization for r in runs[row]):.3f} | {sum(r.stalled for r in runs[row])} |"
        )
        if fifo:
            reach = []
            for curve, target_curve in zip(curves[row], curves[fifo]):
                target = target_curve[-1][2] if target_curve else math.inf
                hit = next((e for e, _, g in curve if g <= target + 1e-12), None)
                reach.append(hit / budget if hit is not None else math.inf)
            got = [x for x in reach if math.isfinite(x)]
            line += f" {statistics.median(reach):.3f} ({len(got)}/{len(reach)}) |" if got else f" - (0/{len(reach)}) |"
        print(line)


def trials_table(
    rows: list[str], problem: MFProblem, seeds: list[int], slots: int, trials: int, costs: dict[str, float]
) -> None:
    print(f"\n### {trials} trials run to completion ({slots} slots): synchronous brackets wait for stragglers\n")
    print(
        "| row | makespan (mean) | slot utilization (mean) | epochs (mean) | final regret (mean ± s.e.m.) | runs that stalled |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        runs = [run_row(row, problem, s, slots, costs, max_trials=trials) for s in seeds]
        regrets = [incumbent_regret(r, problem)[-1][2] if incumbent_regret(r, problem) else math.inf for r in runs]
        print(
            f"| {row} | {statistics.mean(r.time for r in runs):.1f} | {statistics.mean(r.utilization for r in runs):.3f} "
            f"| {statistics.mean(r.epochs for r in runs):.0f} | {_fmt(regrets)} | {sum(r.stalled for r in runs)} |"
        )


def limiter_table(
    rows: list[str], problem: MFProblem, seeds: list[int], slots: int, trials: int, costs: dict[str, float]
) -> None:
    print(f"\n### {trials} trials to completion, {slots} slots, with and without max_concurrent_trials={slots}\n")
    print(
        "Tune wraps the searcher in a ConcurrencyLimiter; mftune's searchers take the limit over and count "
        "only trials that hold a place (paused ones do not), so the limiter rows should match the resource rows.\n"
    )
    print(
        "| row | makespan, resources limit | makespan, limiter | utilization, resources limit "
        "| utilization, limiter | final regret, limiter | runs that stalled |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        free = [run_row(row, problem, s, slots, costs, max_trials=trials) for s in seeds]
        held = [run_row(row, problem, s, slots, costs, max_trials=trials, limit=slots) for s in seeds]
        regrets = [c[-1][2] if (c := incumbent_regret(r, problem)) else math.inf for r in held]
        print(
            f"| {row} | {statistics.mean(r.time for r in free):.1f} | {statistics.mean(r.time for r in held):.1f} "
            f"| {statistics.mean(r.utilization for r in free):.3f} | {statistics.mean(r.utilization for r in held):.3f} "
            f"| {_fmt(regrets)} | {sum(r.stalled for r in free + held)} |"
        )


def restored_run(
    row: str, problem: MFProblem, seed: int, slots: int, costs: dict[str, float], trials: int, cut: int, workdir: str
) -> SimRun:
    """Interrupt after ``cut`` epochs, then restore as ``Tuner.restore`` does: the searcher
    from its saved state, the scheduler *fresh* (Ray never saves one), every trial re-added,
    unfinished ones PENDING at their last epoch."""
    searcher_name, scheduler_name = parse_row(row)
    searchers, schedulers = factories()
    ctx = SearchContext(
        space=SearchSpace(problem.space), metric="loss", mode="min", seed=seed, max_resource=problem.max_resource
    )
    experiment = tempfile.mkdtemp(dir=workdir)
    searcher = searchers[searcher_name](ctx)
    sim = SimController(
        searcher,
        schedulers[scheduler_name](ctx),
        problem,
        metric="loss",
        mode="min",
        max_t=problem.max_resource,
        slots=slots,
        max_trials=trials,
        seed=seed,
        experiment_dir=experiment,
        **costs,
    )
    sim.run(until_epochs=cut)
    searcher.save(os.path.join(experiment, "searcher.pkl"))
    snapshot = sim.snapshot()
    resumed = searchers[searcher_name](ctx)
    resumed.restore(os.path.join(experiment, "searcher.pkl"))
    return SimController.restored(snapshot, sim, resumed, schedulers[scheduler_name](ctx)).run()


def restore_table(
    rows: list[str], problem: MFProblem, seeds: list[int], slots: int, trials: int, costs: dict[str, float]
) -> None:
    print(f"\n### {trials} trials, interrupted halfway and restored into a fresh scheduler ({slots} slots)\n")
    print(
        "| row | runs that stalled after the restore | final regret, uninterrupted | final regret, restored "
        "| epochs, uninterrupted | epochs, restored |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="mftune-sched-restore-") as workdir:
        for row in rows:
            straight = [run_row(row, problem, s, slots, costs, max_trials=trials) for s in seeds]
            restored = [
                restored_run(row, problem, s, slots, costs, trials, r.epochs // 2, workdir)
                for s, r in zip(seeds, straight)
            ]

            def final(run: SimRun) -> float:
                curve = incumbent_regret(run, problem)
                return curve[-1][2] if curve else math.inf

            print(
                f"| {row} | {sum(r.stalled for r in restored)}/{len(seeds)} | {_fmt([final(r) for r in straight])} "
                f"| {_fmt([final(r) for r in restored])} | {statistics.mean(r.epochs for r in straight):.0f} "
                f"| {statistics.mean(r.epochs for r in restored):.0f} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problem", default="hartmann6", choices=sorted(MF_PROBLEMS))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--budget-trials", type=int, default=64, help="budget in full trainings (x max resource)")
    ap.add_argument("--trials", type=int, default=81, help="trials of the run-to-completion scenario (0: skip)")
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    ap.add_argument("--sync-rows", default=",".join(SYNC_VS_ASYNC_ROWS))
    ap.add_argument("--limiter-rows", default=",".join(LIMITER_ROWS))
    ap.add_argument("--start-cost", type=float, default=0.05, help="time to start a new trial")
    ap.add_argument("--pause-cost", type=float, default=0.05, help="time to save a pausing trial")
    ap.add_argument("--resume-cost", type=float, default=0.05, help="time to restore a resumed trial")
    args = ap.parse_args()
    problem = MF_PROBLEMS[args.problem]
    # The limiter rows trigger the adapter's one-line warning per run; the table says it once.
    logging.getLogger("schedulers.ray_adapter").setLevel(logging.ERROR)
    rows = [r for r in args.rows.split(",") if r]
    for row in rows:
        parse_row(row)
    costs = {"start_cost": args.start_cost, "pause_cost": args.pause_cost, "resume_cost": args.resume_cost}
    seeds = list(range(args.seeds))
    budget = args.budget_trials * problem.max_resource
    started = time.monotonic()
    print(
        f"{problem.name} (max resource {problem.max_resource}, optimum {problem.optimum:g}); {len(seeds)} seeds; "
        f"{args.slots} slots; budget {budget} epochs; costs {costs}"
    )
    if rows:
        budget_tables(rows, problem, seeds, args.slots, budget, costs)
    if args.trials:
        trials_table([r for r in args.sync_rows.split(",") if r], problem, seeds, args.slots, args.trials, costs)
        restore_table(rows, problem, seeds, args.slots, args.trials, costs)
        limiter_table([r for r in args.limiter_rows.split(",") if r], problem, seeds, args.slots, args.trials, costs)
    print(f"\n(computed in {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
