"""The default searcher against its parts and the peers, on the REPORTED problems.

``auto`` (mftune's default) against ``gp`` and ``tpe`` (its two models alone), Optuna's
``TPESampler`` and ``GPSampler`` and hyperopt's TPE, each with its defaults, sequential,
on ``benchmarks.functions`` (Branin, Hartmann-6, Rosenbrock-10, the three-branch
conditional space, the mixed int/categorical space). The switch rule of ``auto`` was
chosen on other problems (``benchmarks/auto_switch.py``), not on these.

For each budget, the summary gives for each of ours the geometric mean over problems of
its mean regret divided by the BEST PEER's on that problem (the peer with the lowest
mean regret there, picked after the fact, which favours the peers), and a paired
Wilcoxon signed-rank test over (problem, seed) of the log regret ratio against that
peer; then how many problems are better / no different / worse at p < 0.05 (per-problem
Wilcoxon over seeds). Each method is summarised over the seeds whose runs reached the
budget on every problem (their number is printed), so a slow peer run on fewer seeds
still counts; the paired tests use the seeds both sides completed.

    python -m benchmarks.auto_compare --log auto_compare.jsonl --evals 100 --seeds 30
    python -m benchmarks.auto_compare --log auto_compare.jsonl --evals 500 --seeds 30   # the rest
    python -m benchmarks.auto_compare --log auto_compare.jsonl --report-only [--logs more.jsonl ...]

Runs are appended to ``--log`` as they finish; rerunning skips those already there
(a run of 500 evaluations also serves the budgets below it).
"""

from __future__ import annotations

import argparse
import math
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.auto_runs import BASE_METHODS, append_run, check_method, finished, quiet_workers, regret_at, timed_run
from benchmarks.functions import PROBLEMS
from searchers.space import SearchSpace

OURS = ("auto", "gp", "tpe")
PEERS = ("optuna-tpe", "optuna-gp", "hyperopt-tpe")
BUDGETS = (25, 50, 100, 200, 500)
DEFAULT_PROBLEMS = ("branin", "hartmann6", "rosenbrock10", "conditional", "mixed")


def one(problem: str, method: str, seed: int, evals: int) -> dict[str, Any]:
    prob = PROBLEMS[problem]
    row = timed_run(method, SearchSpace(prob.space), prob.fn, prob.optimum, seed, evals)
    return {"problem": problem, "method": method, "seed": seed, "evals": evals, **row}


def run(problems: list[str], methods: list[str], seeds: list[int], evals: int, jobs: int, log: str | None) -> dict:
    rows = finished(log)

    def has(p: str, m: str, s: int) -> bool:
        return any(k[:3] == (p, m, s) and k[3] >= evals for k in rows)

    # seed by seed, so an interrupted run leaves whole seeds behind
    todo = [(p, m, s) for s in seeds for p in problems for m in methods if not has(p, m, s)]
    print(f"{len(todo)} runs to do ({len(rows)} in the log)", flush=True)
    with ProcessPoolExecutor(max_workers=jobs, initializer=quiet_workers) as pool:
        futures = [pool.submit(one, p, m, s, evals) for p, m, s in todo]
        for f in as_completed(futures):
            row = f.result()
            append_run(log, row)
            rows[(row["problem"], row["method"], row["seed"], row["evals"])] = row
    return rows


def seeds_of(rows: dict, problems: list[str], method: str, budget: int) -> list[int]:
    """Seeds with a run of ``method`` reaching ``budget`` on every problem."""
    seeds = sorted({k[2] for k in rows if k[1] == method})
    return [s for s in seeds if all(regret_at(rows, p, method, s, budget) is not None for p in problems)]


def fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def wilcoxon_p(diffs: list[float]) -> float:
    nz = [d for d in diffs if d != 0]
    return float(stats.wilcoxon(nz).pvalue) if len(nz) >= 2 else 1.0


def log_ratio(x: float, y: float) -> float:
    return math.log(max(x, 1e-12) / max(y, 1e-12))


def report(rows: dict, problems: list[str], methods: list[str], budgets: list[int]) -> None:
    """Per budget: each method over the seeds it completed (their number in the header);
    ratios of means against the best peer; paired tests over the seeds both completed."""
    ours = [m for m in OURS if m in methods]
    peers = [m for m in PEERS if m in methods]
    summary = []
    for b in budgets:
        seeds = {m: seeds_of(rows, problems, m, b) for m in methods}
        run = [m for m in methods if len(seeds[m]) >= 2]
        if not run:
            continue
        reg = {(p, m): np.array([regret_at(rows, p, m, s, b) for s in seeds[m]]) for p in problems for m in run}
        print(f"\n#### {b} evaluations: regret mean ± s.e. / median (seeds per method in the header)\n")
        print("| problem | " + " | ".join(f"{m} ({len(seeds[m])})" for m in run) + " | best peer |")
        print("|---|" + "---|" * (len(run) + 1))
        live_peers = [m for m in peers if m in run]
        best = {p: min(live_peers, key=lambda m: reg[(p, m)].mean()) for p in problems} if live_peers else {}
        for p in problems:
            cells = [
                f"{fmt(reg[(p, m)].mean())} ± {fmt(reg[(p, m)].std(ddof=1) / math.sqrt(len(reg[(p, m)])))}"
                f" / {fmt(float(np.median(reg[(p, m)])))}"
                for m in run
            ]
            print(f"| {p} | " + " | ".join(cells) + f" | {best.get(p, '')} |")
        for m in ours:
            if m not in run or not live_peers:
                continue
            logs: list[float] = []
            tally = {"+": 0, "=": 0, "-": 0}
            ratios = []
            for p in problems:
                ratios.append(log_ratio(reg[(p, m)].mean(), reg[(p, best[p])].mean()))
                common = [s for s in seeds[m] if s in seeds[best[p]]]
                d = [log_ratio(regret_at(rows, p, m, s, b), regret_at(rows, p, best[p], s, b)) for s in common]
                logs += d
                pp = wilcoxon_p(d)
                tally["=" if pp >= 0.05 else ("+" if np.median(d) < 0 else "-")] += 1
            summary.append((b, len(seeds[m]), m, math.exp(np.mean(ratios)), wilcoxon_p(logs), len(logs), tally))
        if "auto" in run and "gp" in run:
            both = [(p, s) for p in problems for s in seeds["auto"] if s in seeds["gp"]]
            same = sum(regret_at(rows, p, "auto", s, b) == regret_at(rows, p, "gp", s, b) for p, s in both)
            print(f"\nauto and gp ended with the same regret in {same} of {len(both)} paired runs")
    print("\n#### summary: mean regret / best peer's (geometric mean over problems)\n")
    print(
        "| evaluations | seeds | searcher | ratio to best peer | paired Wilcoxon p (pairs) | problems better / same / worse |"
    )
    print("|---|---|---|---|---|---|")
    for b, n, m, ratio, pval, npairs, t in summary:
        print(f"| {b} | {n} | {m} | {ratio:.2f} | {pval:.2g} ({npairs}) | {t['+']} / {t['=']} / {t['-']} |")
    secs = {m: [r["seconds"] / r["evals"] for k, r in rows.items() if k[1] == m and k[0] in problems] for m in methods}
    print(
        "\nmean suggest time per evaluation, ms (all logged runs): "
        + ", ".join(f"{m} {1000 * np.mean(v):.1f}" for m, v in secs.items() if v)
    )


def paired_report(rows: dict, problems: list[str], a: str, b: str, budgets: list[int]) -> None:
    """``b`` against ``a`` run by run over the (problem, seed) pairs both reached each
    budget: a method can lead in most pairs and still trail in the mean, and this says which."""
    print(f"\n#### {b} against {a}, paired by (problem, seed)\n")
    print(f"| evaluations | pairs | {b} lower / higher | per problem ({b} lower of pairs) | Wilcoxon p |")
    print("|---|---|---|---|---|")
    for budget in budgets:
        logs, per = [], []
        for p in problems:
            seeds = sorted({k[2] for k in rows if k[0] == p and k[1] in (a, b)})
            d = []
            for s in seeds:
                ra, rb = regret_at(rows, p, a, s, budget), regret_at(rows, p, b, s, budget)
                if ra is not None and rb is not None:
                    d.append(log_ratio(rb, ra))
            if d:
                per.append(f"{p} {sum(x < 0 for x in d)}/{len(d)}")
            logs += d
        if not logs:
            continue
        lower, higher = sum(x < 0 for x in logs), sum(x > 0 for x in logs)
        print(f"| {budget} | {len(logs)} | {lower} / {higher} | {', '.join(per)} | {wilcoxon_p(logs):.2g} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--evals", type=int, default=500, help="length of each run (serves every budget up to it)")
    ap.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    ap.add_argument("--problems", nargs="+", default=list(DEFAULT_PROBLEMS), choices=sorted(PROBLEMS))
    ap.add_argument("--methods", nargs="+", default=list(BASE_METHODS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--log", default=None, help="JSON-lines file: finished runs are appended and skipped on restart")
    ap.add_argument("--report-only", action="store_true", help="summarise the log, run nothing")
    ap.add_argument(
        "--logs", nargs="*", default=[], help="more logs to summarise with --log (runs of several machines)"
    )
    ap.add_argument("--paired", nargs=2, metavar=("A", "B"), help="also print method B against A, run by run")
    args = ap.parse_args()
    try:
        methods = [check_method(m) for m in args.methods]
    except ValueError as err:
        ap.error(f"--methods: {err}")
    if args.seeds < 1 or args.jobs < 1 or args.evals < 1:
        ap.error("--seeds, --jobs and --evals must be >= 1")
    if args.report_only and not args.log:
        ap.error("--report-only needs --log")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    rows = (
        finished(args.log) if args.report_only else run(args.problems, methods, seeds, args.evals, args.jobs, args.log)
    )
    for extra in args.logs:
        rows = {**finished(extra), **rows}
    print(f"reported problems, sequential; methods {', '.join(methods)}")
    report(rows, args.problems, methods, sorted(args.budgets))
    if args.paired:
        paired_report(rows, args.problems, args.paired[0], args.paired[1], sorted(args.budgets))


if __name__ == "__main__":
    main()
