"""Simple regret of mftune's TPE against Optuna's TPE, hyperopt's TPE and random search.

Every method runs on the same problems, seeds and protocols in the same run: sequential
(one suggestion in flight) and parallel (``--pending 4``: four suggestions in flight;
whenever the oldest finishes, one new suggestion is asked for). Simple regret after
each budget is ``best loss so far - known optimum``. For each row the table gives the
mean +- standard error and the median over seeds, and compares mftune with each
baseline by a two-sided Mann-Whitney U test: ``A`` is the probability that a run of
mftune ends below a run of the baseline (0.5: no difference), ``p`` the test's p-value;
``+``/``-`` mark a difference with p < 0.05 in mftune's favour/disfavour, ``=`` none.

    python -m benchmarks.tpe_quality [--seeds 30] [--evals 200] [--budgets 50 100 200]
        [--pending 1 4] [--problems branin hartmann6 rosenbrock10 conditional] [--first-seed 0] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.functions import PROBLEMS
from benchmarks.tpe_drivers import METHODS, make_driver, run_protocol
from searchers.space import SearchSpace

OURS = "mftune-tpe"
DEFAULT_PROBLEMS = ("branin", "hartmann6", "rosenbrock10", "conditional")


def warm_up() -> None:
    """Import every method's package up front, so that no run's wall time includes it."""
    import hyperopt  # noqa: F401
    import optuna  # noqa: F401

    from searchers import RandomSearcher, TPESearcher  # noqa: F401


def one_run(
    name: str, pending: int, method: str, seed: int, evals: int, budgets: list[int]
) -> tuple[list[float], float]:
    """Regret after each budget and the wall seconds of one run (a process-pool task)."""
    import optuna

    problem = PROBLEMS[name]
    space = SearchSpace(problem.space)

    def objective(flat: dict[str, Any]) -> float:
        return problem.fn(space.from_flat(flat))

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per told trial otherwise
    try:
        start = time.perf_counter()
        losses = run_protocol(make_driver(method, space, seed), objective, evals, pending)
        seconds = time.perf_counter() - start
    finally:
        optuna.logging.set_verbosity(verbosity)
    return [float(losses[:b].min() - problem.optimum) for b in budgets], seconds


def run_all(
    problems: list[str],
    methods: list[str],
    seeds: range,
    evals: int,
    pendings: list[int],
    budgets: list[int],
    jobs: int,
) -> tuple[dict, dict]:
    """regret[(problem, pending, method)] -> (seeds, budgets) array; seconds[method] -> list.

    Runs are independent and seeded, so the results do not depend on ``jobs``.
    """
    tasks = [(name, pending, m, seed) for name in problems for pending in pendings for seed in seeds for m in methods]
    if jobs == 1:
        warm_up()
        results = [one_run(*t, evals, budgets) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=jobs, initializer=warm_up) as pool:
            results = list(pool.map(one_run, *zip(*tasks), [evals] * len(tasks), [budgets] * len(tasks)))
    regret: dict[tuple[str, int, str], list] = {}
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    for (name, pending, m, _), (r, sec) in zip(tasks, results):
        regret.setdefault((name, pending, m), []).append(r)
        seconds[m].append(sec)
    return {k: np.asarray(v) for k, v in regret.items()}, seconds


def compare(ours: np.ndarray, base: np.ndarray) -> tuple[float, float]:
    """(A, p): P(ours < base) + P(tie)/2 and the two-sided Mann-Whitney p-value."""
    res = stats.mannwhitneyu(ours, base, alternative="two-sided")
    return 1.0 - res.statistic / (len(ours) * len(base)), float(res.pvalue)


def fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def report(
    regret: dict,
    seconds: dict,
    problems: list[str],
    methods: list[str],
    pendings: list[int],
    budgets: list[int],
    seeds: range,
) -> None:
    baselines = [m for m in methods if m != OURS]
    tally = {b: {"+": 0, "=": 0, "-": 0, "A": []} for b in baselines}
    for pending in pendings:
        print(
            f"\n### {'sequential' if pending == 1 else f'{pending} pending suggestions'}, "
            f"seeds {seeds.start}-{seeds.stop - 1}: simple regret mean ± s.e. / median\n"
        )
        print("| problem | evals | " + " | ".join(methods) + " | " + " | ".join(f"vs {b}" for b in baselines) + " |")
        print("|---|---|" + "---|" * (len(methods) + len(baselines)))
        for name in problems:
            for j, budget in enumerate(budgets):
                cells = []
                for m in methods:
                    r = regret[(name, pending, m)][:, j]
                    cells.append(f"{fmt(r.mean())} ± {fmt(r.std(ddof=1) / np.sqrt(len(r)))} / {fmt(np.median(r))}")
                vs = []
                for b in baselines:
                    a, p = compare(regret[(name, pending, OURS)][:, j], regret[(name, pending, b)][:, j])
                    mark = "=" if p >= 0.05 else ("+" if a > 0.5 else "-")
                    tally[b][mark] += 1
                    tally[b]["A"].append(a)
                    vs.append(f"A={a:.2f} p={p:.2g} {mark}")
                print(f"| {name} | {budget} | " + " | ".join(cells) + " | " + " | ".join(vs) + " |")
    print("\n| mftune-tpe against | rows better (p<0.05) | no difference | rows worse (p<0.05) | mean A |")
    print("|---|---|---|---|---|")
    for b in baselines:
        t = tally[b]
        print(f"| {b} | {t['+']} | {t['=']} | {t['-']} | {np.mean(t['A']):.2f} |")
    print(
        "\nmean seconds per run (all problems and protocols): "
        + ", ".join(f"{m} {np.mean(s):.2f}" for m, s in seconds.items())
    )


def check_protocol_args(ap: argparse.ArgumentParser, args: argparse.Namespace, ours: str) -> None:
    """The checks every quality benchmark's protocol options share (seeds, budgets, pending,
    methods, jobs); ``ap.error`` names the option and what is allowed."""
    if args.seeds < 2:
        ap.error(f"--seeds must be >= 2 (the comparison needs a spread), got {args.seeds}")
    if any(b < 1 or b > args.evals for b in args.budgets):
        ap.error(f"--budgets must lie in [1, --evals={args.evals}], got {args.budgets}")
    if any(p < 1 for p in args.pending):
        ap.error(f"--pending must be >= 1, got {args.pending}")
    if ours not in args.methods:
        ap.error(f"--methods must include {ours}")
    if args.jobs < 1:
        ap.error(f"--jobs must be >= 1, got {args.jobs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=30, help="number of seeds per problem and protocol")
    ap.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed, first-seed + 1, ...")
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--pending", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--problems", nargs="+", default=list(DEFAULT_PROBLEMS), choices=sorted(PROBLEMS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (results do not depend on it)")
    ap.add_argument("--json", help="also write every run's regrets to this file")
    args = ap.parse_args()
    check_protocol_args(ap, args, OURS)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    regret, seconds = run_all(args.problems, args.methods, seeds, args.evals, args.pending, args.budgets, args.jobs)
    report(regret, seconds, args.problems, args.methods, args.pending, args.budgets, seeds)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"budgets": args.budgets, "regret": {"|".join(map(str, k)): v.tolist() for k, v in regret.items()}}, f
            )


if __name__ == "__main__":
    main()
