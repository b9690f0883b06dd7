"""Simple regret of the GP searcher against Optuna's GPSampler, TPE and random search.

Each method minimises each benchmark function (benchmarks/functions.py) sequentially
for ``--evals`` evaluations, once per seed; regret after t evaluations is the best
value among the first t minus the known optimum. All methods run in the same process,
interleaved seed by seed, so machine load affects them alike (regret does not depend on
it anyway; only the wall-clock column does). Torch (used by Optuna's GPSampler) is
limited to one thread, which GPSampler also does during its own optimisation.

    python -m benchmarks.gp_regret [--seeds 10] [--evals 100] [--functions branin,...]
        [--methods gp,optuna-gp,...] [--jobs 1] [--json out.json]

Prints a markdown table: per function, method and budget the mean regret with its
standard error, the median, and for each method against ``gp`` the paired
Wilcoxon signed-rank p-value (two-sided, same seeds) and the number of seeds on which
``gp`` is better.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy/torch load their thread pools

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.functions import PROBLEMS  # noqa: E402
from benchmarks.gp_drivers import FACTORIES  # noqa: E402

BUDGETS = (25, 50, 100)


def run_one(method: str, problem: str, seed: int, evals: int) -> dict:
    """One sequential run; returns best-so-far regret per evaluation and the wall time."""
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # Optuna's own logger, not the root logger
    from searchers.space import SearchSpace

    prob = PROBLEMS[problem]
    space = SearchSpace(prob.space)
    driver = FACTORIES[method](space, seed)
    best = math.inf
    regret = []
    start = time.perf_counter()
    for _ in range(evals):
        token, flat = driver.ask()
        loss = prob.fn(space.from_flat(flat))
        driver.tell(token, loss)
        best = min(best, loss)
        regret.append(best - prob.optimum)
    seconds = time.perf_counter() - start
    print(f"{method} {problem} seed {seed}: regret {regret[-1]:.3g} in {seconds:.0f} s", file=sys.stderr, flush=True)
    return {"method": method, "problem": problem, "seed": seed, "regret": regret, "seconds": seconds}


def summarise(runs: list[dict], methods: list[str], problems: list[str], budgets: list[int]) -> str:
    from scipy.stats import wilcoxon

    by = {(r["method"], r["problem"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    lines = [
        "| function | method | "
        + " | ".join(f"regret@{b} mean ± se / median" for b in budgets)
        + " | "
        + " | ".join(f"vs gp @{b}: p / gp better" for b in budgets)
        + " | s/run |",
        "|---|---|" + "---|" * (2 * len(budgets) + 1),
    ]
    for prob in problems:
        for m in methods:
            cells, tests = [], []
            for b in budgets:
                r = np.array([by[(m, prob, s)]["regret"][b - 1] for s in seeds])
                se = r.std(ddof=1) / math.sqrt(len(r)) if len(r) > 1 else float("nan")
                cells.append(f"{r.mean():.3g} ± {se:.2g} / {np.median(r):.3g}")
                if m == "gp" or "gp" not in methods:
                    tests.append("")
                    continue
                g = np.array([by[("gp", prob, s)]["regret"][b - 1] for s in seeds])
                p = wilcoxon(g, r).pvalue if np.any(g != r) else 1.0
                tests.append(f"{p:.2g} / {int(np.sum(g < r))} of {len(seeds)}")
            secs = np.mean([by[(m, prob, s)]["seconds"] for s in seeds])
            lines.append(f"| {prob} | {m} | " + " | ".join(cells) + " | " + " | ".join(tests) + f" | {secs:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--functions", default="branin,hartmann6,rosenbrock10,mixed")
    default_methods = ["gp", "optuna-gp", "mftune-tpe", "optuna-tpe", "random"]
    ap.add_argument("--methods", default=",".join(default_methods))
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (each single-threaded)")
    ap.add_argument("--json", default=None, help="also write every run's regret curve here")
    args = ap.parse_args()
    problems = [p for p in args.functions.split(",") if p]
    methods = [m for m in args.methods.split(",") if m]
    for p in problems:
        if p not in PROBLEMS:
            ap.error(f"--functions: unknown function {p!r}; allowed: {', '.join(PROBLEMS)}")
    for m in methods:
        if m not in FACTORIES:
            ap.error(f"--methods: unknown method {m!r}; allowed: {', '.join(FACTORIES)}")
    budgets = [b for b in BUDGETS if b <= args.evals] or [args.evals]
    # Interleave: seed by seed, every method on every function, so load hits all alike.
    jobs = [(m, p, s, args.evals) for s in range(args.seeds) for p in problems for m in methods]
    start = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            runs = list(pool.map(run_one, *zip(*jobs)))
    else:
        runs = [run_one(*j) for j in jobs]
    print(f"{args.seeds} seeds x {args.evals} evaluations, sequential; {time.perf_counter() - start:.0f} s total")
    print(summarise(runs, methods, problems, budgets))
    if args.json:
        Path(args.json).write_text(json.dumps(runs))


if __name__ == "__main__":
    main()
