"""Where ``auto`` hands over from the GP to TPE: measured on HELD-OUT problems only.

The switch rule (``searchers/auto/rule.py``) is chosen here, on problems that are not
the ones the comparison in docs/benchmarks.md reports (``benchmarks.functions``): the
held-out set is ``benchmarks.tpe_design``'s (Ackley-5, Styblinski-Tang-6, Levy-6,
Griewank-8, six-hump camel, an HPO-like mixed space, a three-branch conditional space),
plus three high-dimensional ones defined below (Ackley-20, Levy-20, Styblinski-Tang-16)
so the rule sees dimension, and two narrow curved valleys (Dixon-Price-8, Powell-8), the
shape of the reported Rosenbrock-10 where the GP alone lost to TPE at 500 trials. Methods: ``gp`` (the GP throughout), ``tpe`` (TPE
throughout) and ``switch@K`` (the GP for K trials, then TPE on the same record).

Printed: for each group of problems (by dimension) and budget, the geometric mean over
problems of each method's mean regret divided by the GP's, and a paired Wilcoxon test
on the per-(problem, seed) log ratios; then the GP's and TPE's mean suggest time per
block of trials, by problem dimension (the cost side of the rule).

    python -m benchmarks.auto_switch [--seeds 4] [--first-seed 100] [--evals 300]
        [--methods gp tpe] [--switch-points 50 100 200] [--jobs 2] [--log auto_switch.jsonl]

``gp`` also logs ``switch@K`` for each K of ``--switch-points`` below ``--evals``.

Runs append to ``--log`` as they finish; rerunning with the same log skips them.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.auto_runs import append_run, check_method, finished, quiet_workers, regret_at, summary, timed_run
from benchmarks.tpe_design import DEV_PROBLEMS, _ackley, _box, _levy, _vector
from searchers.space import SearchSpace


def _styblinski(x: np.ndarray) -> float:
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def _dixon_price(x: np.ndarray) -> float:
    i = np.arange(2, len(x) + 1)
    return float((x[0] - 1) ** 2 + np.sum(i * (2 * x[1:] ** 2 - x[:-1]) ** 2))


def _powell(x: np.ndarray) -> float:
    a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
    return float(np.sum((a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4))


#: name -> (space, function, known minimum): the held-out set
HELD_OUT: dict[str, tuple[dict[str, Any], Callable[[dict], float], float]] = {
    **DEV_PROBLEMS,
    "ackley20": (_box(20, -32.768, 32.768), _vector(_ackley, 20), 0.0),
    "levy20": (_box(20, -10.0, 10.0), _vector(_levy, 20), 0.0),
    "styblinski16": (_box(16, -5.0, 5.0), _vector(_styblinski, 16), -39.16616570377142 * 16),
    "dixonprice8": (_box(8, -10.0, 10.0), _vector(_dixon_price, 8), 0.0),
    "powell8": (_box(8, -4.0, 5.0), _vector(_powell, 8), 0.0),
}
#: the switch points compared by default (each a branch of the GP run, see ``one``)
SWITCH_POINTS = (50, 100, 200)
#: the budgets the report reads the regret at (those up to ``--evals``)
BUDGETS = (25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000)
DEFAULT_METHODS = ("gp", "tpe")


def has_run(rows: dict, problem: str, method: str, seed: int, evals: int) -> bool:
    """Whether the log holds that run at ``evals`` evaluations or more."""
    return any(p == problem and m == method and s == seed and e >= evals for (p, m, s, e) in rows)


def dim_of(problem: str) -> int:
    return SearchSpace(HELD_OUT[problem][0]).dim


def one(
    problem: str, method: str, seed: int, evals: int, switch_points: tuple[int, ...] = SWITCH_POINTS
) -> list[dict[str, Any]]:
    """One run of ``method``; for ``gp``, also every ``switch@K`` of ``switch_points``.

    ``switch@K`` proposes exactly what the GP does for its first K trials (same seed, same
    record), so it is not run twice: the GP run is saved after K trials, restored into a
    fresh searcher told to switch at K, and continued with TPE (which also exercises
    save/restore across the switch).
    """
    space_tree, fn, optimum = HELD_OUT[problem]
    space = SearchSpace(space_tree)
    key = {"problem": problem, "seed": seed, "evals": evals}
    if method != "gp":
        return [{**key, "method": method, **timed_run(method, space, fn, optimum, seed, evals)}]
    from searchers import AutoSearcher

    gp = AutoSearcher(space, metric="loss", mode="min", seed=seed, switch_after=10**9)  # the GP throughout
    ks = [k for k in switch_points if k < evals]
    rows, saved = [], {}
    with tempfile.TemporaryDirectory() as tmp:

        def step(searcher: Any, t: int) -> tuple[float, float]:
            start = time.perf_counter()
            config = searcher.suggest(f"t{t}")
            ask = time.perf_counter() - start
            value = float(fn(config))
            searcher.on_trial_complete(f"t{t}", {"loss": value})
            return value, ask

        losses, asks = [], []
        for t in range(evals):
            if t in ks:
                saved[t] = os.path.join(tmp, f"at{t}.pkl")
                gp.save(saved[t])
            value, ask = step(gp, t)
            losses.append(value)
            asks.append(ask)
        rows.append({**key, "method": "gp", **summary(losses, asks, optimum)})
        for k in ks:
            cont = AutoSearcher()
            cont.restore(saved[k])
            cont.core.switch_after = k
            tail = [step(cont, t) for t in range(k, evals)]
            assert all(cont.served_by[f"t{t}"] == "tpe" for t in range(k, evals))
            rows.append(
                {
                    **key,
                    "method": f"switch@{k}",
                    **summary(losses[:k] + [v for v, _ in tail], asks[:k] + [a for _, a in tail], optimum),
                }
            )
    return rows


def run(
    problems: list[str],
    methods: list[str],
    seeds: list[int],
    evals: int,
    jobs: int,
    log: str | None,
    switch_points: tuple[int, ...] = SWITCH_POINTS,
) -> dict:
    """Every (problem, method, seed) run the log lacks, in a process pool; returns all runs.

    A ``gp`` run is redone when the log lacks one of its ``switch@K`` branches at ``evals``
    (the branches are made from the GP run, not run on their own).
    """
    rows = finished(log)
    todo = [(p, m, s) for s in seeds for p in problems for m in methods if not has_run(rows, p, m, s, evals)]
    todo = [(p, m, s) for p, m, s in todo if not m.startswith("switch@")]  # branches of the gp runs
    todo += [
        (p, "gp", s)
        for s in seeds
        for p in problems
        if (p, "gp", s) not in todo
        and any(f"switch@{k}" in methods and not has_run(rows, p, f"switch@{k}", s, evals) for k in switch_points)
    ]
    print(f"{len(todo)} runs to do ({len(rows)} in the log)", flush=True)
    with ProcessPoolExecutor(max_workers=jobs, initializer=quiet_workers) as pool:
        futures = [pool.submit(one, p, m, s, evals, switch_points) for p, m, s in todo]
        for f in as_completed(futures):
            for row in f.result():
                append_run(log, row)
                rows[(row["problem"], row["method"], row["seed"], row["evals"])] = row
    return rows


def report(rows: dict, problems: list[str], methods: list[str], seeds: list[int], evals: int) -> None:
    budgets = [b for b in BUDGETS if b <= evals]
    groups = {
        "d <= 12": [p for p in problems if dim_of(p) <= 12],
        "d >= 16": [p for p in problems if dim_of(p) >= 16],
    }
    for gname, probs in groups.items():
        if not probs:
            continue
        print(
            f"\n#### {gname} ({', '.join(probs)}): regret / GP's (geometric mean over problems; p: paired Wilcoxon)\n"
        )
        print("| method | " + " | ".join(f"@{b}" for b in budgets) + " |")
        print("|---|" + "---|" * len(budgets))
        for m in methods:
            if m == "gp":
                continue
            cells = []
            for b in budgets:
                means_m, means_g, logs = {}, {}, []
                for p in probs:
                    rm = [regret_at(rows, p, m, s, b) for s in seeds]
                    rg = [regret_at(rows, p, "gp", s, b) for s in seeds]
                    pairs = [(x, y) for x, y in zip(rm, rg) if x is not None and y is not None]
                    if not pairs:
                        continue
                    means_m[p] = float(np.mean([x for x, _ in pairs]))
                    means_g[p] = float(np.mean([y for _, y in pairs]))
                    logs += [math.log(max(x, 1e-12) / max(y, 1e-12)) for x, y in pairs]
                if not means_m:
                    cells.append("")
                    continue
                ratio = math.exp(np.mean([math.log(max(means_m[p], 1e-12) / max(means_g[p], 1e-12)) for p in means_m]))
                nz = [v for v in logs if v != 0]
                pval = stats.wilcoxon(nz).pvalue if len(nz) >= 2 else 1.0
                cells.append(f"{ratio:.2f} (p={pval:.2g})")
            print(f"| {m} | " + " | ".join(cells) + " |")
    print("\n#### mean suggest time, ms, per block of 25 trials (sequential)\n")
    blocks = sorted({i for r in rows.values() for i in range(len(r["ask_ms"]))})
    shown = [i for i in blocks if i in (0, 1, 3, 7, 11, 19, 23, 31, 39)]
    print("| method | dim | " + " | ".join(f"trials {25 * i}-{25 * i + 24}" for i in shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    for m in ("gp", "tpe"):
        for d in sorted({dim_of(p) for p in problems}):
            rs = [r for (p, mm, s, e), r in rows.items() if mm == m and dim_of(p) == d and p in problems and s in seeds]
            if not rs:
                continue
            cells = [f"{np.mean([r['ask_ms'][i] for r in rs if len(r['ask_ms']) > i]):.0f}" for i in shown]
            print(f"| {m} | {d} | " + " | ".join(cells) + " |")


def stall_report(rows: dict, problems: list[str], seeds: list[int], evals: int, window: int) -> None:
    """Would "the GP's incumbent has not moved for ``window`` trials" have told when to hand over?

    For each logged hand-over branch ``switch@K`` of a GP run: whether the GP's best value
    was the same at K as ``window`` trials before (stalled), and whether handing over there
    left the regret at ``evals`` more than 10 % lower, more than 10 % higher, or within 10 %
    of the GP's.
    """
    counts = {(stalled, kind): 0 for stalled in (True, False) for kind in ("lower", "higher", "within 10 %")}
    for (p, m, s, e), gp in rows.items():
        if m != "gp" or p not in problems or s not in seeds or e < evals:
            continue
        for (p2, m2, s2, e2), branch in rows.items():
            if (p2, s2) != (p, s) or e2 < evals or not m2.startswith("switch@"):
                continue
            k = int(m2[7:])
            if k <= window or k >= evals:
                continue
            stalled = gp["regret"][k - 1] == gp["regret"][k - 1 - window]
            ratio = max(branch["regret"][evals - 1], 1e-12) / max(gp["regret"][evals - 1], 1e-12)
            kind = "lower" if ratio < 0.9 else "higher" if ratio > 1.1 else "within 10 %"
            counts[stalled, kind] += 1
    print(f"\n#### hand-over branches by the GP's incumbent at the hand-over (window {window}), regret at {evals}\n")
    print("| incumbent | lower | higher | within 10 % |\n|---|---|---|---|")
    for stalled, name in ((True, f"unmoved for {window} trials"), (False, "still moving")):
        print(f"| {name} | " + " | ".join(str(counts[stalled, k]) for k in ("lower", "higher", "within 10 %")) + " |")


def per_run_report(rows: dict, problems: list[str], methods: list[str], seeds: list[int], evals: int) -> None:
    """Regret at ``evals`` seed by seed, with the mean: a run that settled in a local
    minimum shows as one large cell that a ratio of means or a median would hide."""
    for p in problems:
        print(f"\n#### {p}: regret at {evals}, seed by seed\n")
        print("| method | " + " | ".join(str(s) for s in seeds) + " | mean |")
        print("|---|" + "---|" * (len(seeds) + 1))
        for m in methods:
            cells = [regret_at(rows, p, m, s, evals) for s in seeds]
            have = [c for c in cells if c is not None]
            if not have:
                continue
            text = ["" if c is None else f"{c:.2g}" for c in cells]
            print(f"| {m} | " + " | ".join(text) + f" | {np.mean(have):.3g} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--evals", type=int, default=300)
    ap.add_argument("--problems", nargs="+", default=list(HELD_OUT), choices=sorted(HELD_OUT))
    ap.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    ap.add_argument(
        "--switch-points",
        type=int,
        nargs="+",
        default=list(SWITCH_POINTS),
        help="K of each switch@K branch (the GP for K trials, then TPE); those below --evals",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--log", default=None, help="JSON-lines file: finished runs are appended and skipped on restart")
    ap.add_argument("--report-only", action="store_true", help="summarise the log, run nothing")
    ap.add_argument(
        "--stall-window",
        type=int,
        default=0,
        help="also tabulate the hand-over branches by whether the GP's incumbent moved in this many trials before",
    )
    ap.add_argument("--per-run", action="store_true", help="also print each run's regret at --evals, per problem")
    args = ap.parse_args()
    try:
        methods = [check_method(m) for m in args.methods]
    except ValueError as err:
        ap.error(f"--methods: {err}")
    if "gp" not in methods:
        ap.error("--methods must include gp (the reference of every ratio)")
    if args.seeds < 1 or args.evals < 25 or args.jobs < 1:
        ap.error("--seeds and --jobs must be >= 1 and --evals >= 25")
    if any(k < 1 for k in args.switch_points):
        ap.error("--switch-points: each K must be >= 1")
    points = tuple(sorted({k for k in args.switch_points if k < args.evals}))
    methods += [f"switch@{k}" for k in points if f"switch@{k}" not in methods]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    rows = (
        finished(args.log)
        if args.report_only
        else run(args.problems, methods, seeds, args.evals, args.jobs, args.log, points)
    )
    print(f"held-out problems, sequential, seeds {seeds[0]}-{seeds[-1]}, {args.evals} evaluations")
    report(rows, args.problems, methods, seeds, args.evals)
    if args.per_run:
        per_run_report(rows, args.problems, methods, seeds, args.evals)
    if args.stall_window > 0:
        stall_report(rows, args.problems, seeds, args.evals, args.stall_window)


if __name__ == "__main__":
    main()
