"""Suggest latency of the GP searcher against Optuna's GPSampler, same process, interleaved.

For each number of observations n, both methods get the same n random configurations
of a benchmark function with their values (ours through ``add_evaluated_point``,
Optuna's through ``study.add_trials``), then make ``--suggests`` suggestions, each
followed by its result, as in a running study. The first suggestion fits the GP from
scratch ("cold"); the later ones start from the previous fit ("warm", what a long run
sees). Repetitions alternate which method goes first.

Threads: one for everything. The script sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS to 1 before numpy and torch are imported (unless already set), which is
the setting Optuna's GPSampler documentation recommends ("set OMP_NUM_THREADS=1 before
torch imports"), and calls torch.set_num_threads(1). With the defaults, GPSampler ran
3-4x slower on our loaded 2-core machine (OpenMP and OpenBLAS threads contending); our
searcher limits BLAS to one thread itself either way.

    python -m benchmarks.gp_latency [--sizes 50,200,500] [--function hartmann6]
        [--suggests 4] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy/torch load their thread pools

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.functions import PROBLEMS  # noqa: E402
from benchmarks.gp_drivers import OptunaDriver, SearcherDriver, optuna_distributions  # noqa: E402
from searchers.space import SearchSpace  # noqa: E402


def _time_suggests(driver, objective, k: int) -> list[float]:
    times = []
    for _ in range(k):
        t = time.perf_counter()
        token, flat = driver.ask()
        times.append(time.perf_counter() - t)
        driver.tell(token, objective(flat))
    return times


def ours(space: SearchSpace, flats, values, objective, k: int, seed: int) -> list[float]:
    from searchers import GPSearcher

    searcher = GPSearcher(space, metric="loss", mode="min", seed=seed)
    for flat, v in zip(flats, values):
        searcher.add_evaluated_point(space.from_flat(flat), v)
    return _time_suggests(SearcherDriver(searcher), objective, k)


def optuna_gp(space: SearchSpace, flats, values, objective, k: int, seed: int) -> list[float]:
    import optuna

    driver = OptunaDriver(space, optuna.samplers.GPSampler(seed=seed))
    driver.study.add_trials(
        [
            optuna.trial.create_trial(params=flat, distributions=optuna_distributions(space, flat), value=v)
            for flat, v in zip(flats, values)
        ]
    )
    return _time_suggests(driver, objective, k)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="50,200,500")
    ap.add_argument("--function", default="hartmann6", choices=sorted(PROBLEMS))
    ap.add_argument("--suggests", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # Optuna's own logger only
    prob = PROBLEMS[args.function]
    space = SearchSpace(prob.space)

    def objective(flat):
        return prob.fn(space.from_flat(flat))

    sizes = [int(s) for s in args.sizes.split(",")]
    methods = {"gp": ours, "optuna-gp": optuna_gp}
    cold = {(m, n): [] for m in methods for n in sizes}
    warm = {(m, n): [] for m in methods for n in sizes}
    for rep in range(args.repeats):
        for n in sizes:
            rng = np.random.default_rng(1000 * rep + n)
            flats = [space.sample_flat(rng) for _ in range(n)]
            values = [objective(f) for f in flats]
            order = list(methods) if rep % 2 == 0 else list(methods)[::-1]
            for m in order:
                times = methods[m](space, flats, values, objective, args.suggests, rep)
                cold[(m, n)].append(times[0])
                warm[(m, n)].extend(times[1:])
    threads = {v: os.environ[v] for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(
        f"{args.function} ({space.dim} columns), {args.repeats} repeats x {args.suggests} suggestions "
        f"per size, {threads}, torch threads {torch.get_num_threads()}; median ms"
    )
    print(
        "| observations | gp warm | optuna-gp warm | gp / optuna (warm) | gp cold | optuna-gp cold | gp / optuna (cold) |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        gw, ow = statistics.median(warm[("gp", n)]) * 1e3, statistics.median(warm[("optuna-gp", n)]) * 1e3
        gc, oc = statistics.median(cold[("gp", n)]) * 1e3, statistics.median(cold[("optuna-gp", n)]) * 1e3
        print(f"| {n} | {gw:.0f} | {ow:.0f} | {gw / ow:.2f} | {gc:.0f} | {oc:.0f} | {gc / oc:.2f} |")


if __name__ == "__main__":
    main()
