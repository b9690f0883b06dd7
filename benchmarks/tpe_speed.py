"""Suggest latency of mftune's TPE against Optuna's and hyperopt's TPE, in one process.

Each method gets the same history of N finished trials on a 6-D mixed space (two log
floats, a float, a log int, an int, a 4-way categorical), then suggests ``--repeats``
times; each suggestion is timed alone (what the searcher does between "give me a
configuration" and the configuration: mftune ``TPESearcher.suggest``, Optuna
``study.ask`` plus its define-by-run ``suggest_*`` calls, hyperopt ``tpe.suggest`` plus
inserting the document) and then told its loss, untimed. Methods take turns within each
repeat, in rotating order, so load from other processes hits all of them alike; the
table gives medians and the ratios against mftune measured in the same run.

    python -m benchmarks.tpe_speed [--sizes 100 500 1000] [--repeats 21] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import numpy as np

from benchmarks.tpe_drivers import make_driver
from searchers.space import Categorical, Float, Int, SearchSpace

METHODS = ("mftune-tpe", "optuna-tpe", "hyperopt-tpe")

MIXED_6D = {
    "lr": Float(1e-5, 1e-1, log=True),
    "weight_decay": Float(1e-6, 1e-2, log=True),
    "dropout": Float(0.0, 0.5),
    "units": Int(16, 512, log=True),
    "layers": Int(1, 8),
    "activation": Categorical(["relu", "tanh", "gelu", "silu"]),
}


def loss(flat: dict) -> float:
    """A smooth stand-in for a validation loss with one optimum inside the space."""
    return (
        (math.log10(flat["lr"]) + 2.5) ** 2
        + 0.2 * (math.log10(flat["weight_decay"]) + 4) ** 2
        + (flat["dropout"] - 0.2) ** 2
        + (math.log2(flat["units"]) - 7) ** 2 / 8
        + (flat["layers"] - 3) ** 2 / 10
        + 0.1 * flat["activation"]
    )


def measure(size: int, repeats: int, seed: int) -> dict[str, list[float]]:
    space = SearchSpace(MIXED_6D)
    rng = np.random.default_rng(seed)
    history = [space.sample_flat(rng) for _ in range(size)]
    drivers = {}
    for m in METHODS:
        drivers[m] = make_driver(m, space, seed)
        for flat in history:
            drivers[m].add_completed(flat, loss(flat))
        for _ in range(2):  # warm up: first-call costs are not per-suggestion costs
            token, flat = drivers[m].ask()
            drivers[m].tell(token, loss(flat))
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for r in range(repeats):
        for m in METHODS[r % len(METHODS) :] + METHODS[: r % len(METHODS)]:
            start = time.perf_counter()
            token, flat = drivers[m].ask()
            times[m].append(time.perf_counter() - start)
            drivers[m].tell(token, loss(flat))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for name, value in (("--repeats", args.repeats), *(("--sizes", s) for s in args.sizes)):
        if value < 1:
            ap.error(f"{name} must be >= 1, got {value}")
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per told trial otherwise
    try:
        rows = [(n, measure(n, args.repeats, args.seed)) for n in args.sizes]
    finally:
        optuna.logging.set_verbosity(verbosity)
    print(
        f"median suggest latency, 6-D mixed space, {args.repeats} suggestions per method and size "
        f"(interleaved), seed {args.seed}; {platform.python_version()}, optuna {optuna.__version__}"
    )
    print("| finished trials | mftune-tpe ms | optuna-tpe ms | hyperopt-tpe ms | optuna / mftune | hyperopt / mftune |")
    print("|---|---|---|---|---|---|")
    for n, times in rows:
        med = {m: 1e3 * statistics.median(t) for m, t in times.items()}
        print(
            f"| {n} | {med['mftune-tpe']:.2f} | {med['optuna-tpe']:.2f} | {med['hyperopt-tpe']:.2f} "
            f"| {med['optuna-tpe'] / med['mftune-tpe']:.1f} | {med['hyperopt-tpe'] / med['mftune-tpe']:.1f} |"
        )


if __name__ == "__main__":
    main()
