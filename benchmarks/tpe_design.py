"""Held-out problems for choosing a searcher's defaults, kept apart from the reported benchmark.

A default that is picked on the functions of ``benchmarks.tpe_quality`` would be tuned to
win there; design variants are compared on these other functions instead (Ackley,
Styblinski-Tang, Levy, Griewank, six-hump camel, a log/int/categorical "HPO-like"
quadratic and a three-branch conditional space). Each variant is a set of arguments of
the searcher named by ``--searcher`` (``TPESearcher`` by default, ``RLSearcher`` with
``rl``); the table gives the median regret and the mean rank of the variant among all
variants over seeds (1 = best).

    python -m benchmarks.tpe_design --variants "base:" "ei64:n_candidates=64" \\
        [--searcher tpe|rl] [--seeds 20] [--evals 200] [--pending 1] [--jobs 2] [--log runs.jsonl]

With ``--log`` every finished run is appended as one JSON line (searcher, variant and its
arguments, problem, seed, evals, pending, the regret curve) and a rerun with the same
log skips the runs it holds, so a long design can be stopped and continued.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.tpe_drivers import MftuneDriver, run_protocol
from searchers.space import Categorical, Float, Int, SearchSpace


def _ackley(x: np.ndarray) -> float:
    return float(-20 * np.exp(-0.2 * np.sqrt(np.mean(x**2))) - np.exp(np.mean(np.cos(2 * np.pi * x))) + 20 + np.e)


def _levy(x: np.ndarray) -> float:
    w = 1 + (x - 1) / 4
    return float(
        np.sin(np.pi * w[0]) ** 2
        + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
        + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    )


def _griewank(x: np.ndarray) -> float:
    return float(np.sum(x**2) / 4000 - np.prod(np.cos(x / np.sqrt(np.arange(1, len(x) + 1)))) + 1)


def _vector(f: Callable[[np.ndarray], float], d: int) -> Callable[[dict], float]:
    return lambda c: f(np.array([c[f"x{i}"] for i in range(d)]))


def _hpo_like(c: dict) -> float:
    return (
        (math.log10(c["lr"]) + 2.5) ** 2
        + (math.log2(c["units"]) - 7) ** 2 / 4
        + (c["layers"] - 3) ** 2 / 5
        + [0.0, 0.3, 0.6, 1.0][c["act"]]
        + (c["drop"] - 0.2) ** 2
    )


def _conditional(c: dict) -> float:
    o = c["opt"]
    base = (math.log2(c["batch"]) - 6) ** 2 / 8 + (c["drop"] - 0.3) ** 2
    if o["name"] == "sgd":
        return base + (math.log10(o["lr"]) + 1) ** 2 + 3 * (o["mom"] - 0.9) ** 2 + 0.2
    if o["name"] == "adam":
        return base + (math.log10(o["lr"]) + 3) ** 2 + 5 * (o["b1"] - 0.85) ** 2 + 10 * (o["b2"] - 0.99) ** 2
    return base + (math.log10(o["lr"]) + 2) ** 2 + 2 * (o["rho"] - 0.5) ** 2 + 0.1


def _box(d: int, low: float, high: float) -> dict[str, Any]:
    return {f"x{i}": Float(low, high) for i in range(d)}


#: name -> (space, function of a config, known minimum)
DEV_PROBLEMS: dict[str, tuple[dict[str, Any], Callable[[dict], float], float]] = {
    "ackley5": (_box(5, -32.768, 32.768), _vector(_ackley, 5), 0.0),
    "styblinski6": (
        _box(6, -5.0, 5.0),
        _vector(lambda x: float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x)), 6),
        -39.16616570377142 * 6,
    ),
    "levy6": (_box(6, -10.0, 10.0), _vector(_levy, 6), 0.0),
    "griewank8": (_box(8, -600.0, 600.0), _vector(_griewank, 8), 0.0),
    "camel": (
        {"a": Float(-3.0, 3.0), "b": Float(-2.0, 2.0)},
        lambda c: (
            (4 - 2.1 * c["a"] ** 2 + c["a"] ** 4 / 3) * c["a"] ** 2
            + c["a"] * c["b"]
            + (-4 + 4 * c["b"] ** 2) * c["b"] ** 2
        ),
        -1.031628453489877,
    ),
    "hpo_like": (
        {
            "lr": Float(1e-5, 1.0, log=True),
            "units": Int(16, 512, log=True),
            "layers": Int(1, 8),
            "act": Categorical([0, 1, 2, 3]),
            "drop": Float(0.0, 0.5),
        },
        _hpo_like,
        0.0,
    ),
    "conditional_dev": (
        {
            "batch": Int(8, 512, log=True),
            "drop": Float(0.0, 0.6),
            "opt": Categorical(
                [
                    {"name": "sgd", "lr": Float(1e-4, 1.0, log=True), "mom": Float(0.0, 0.99)},
                    {
                        "name": "adam",
                        "lr": Float(1e-5, 1e-1, log=True),
                        "b1": Float(0.5, 0.99),
                        "b2": Float(0.9, 0.9999),
                    },
                    {"name": "rms", "lr": Float(1e-5, 1e-1, log=True), "rho": Float(0.0, 1.0)},
                ]
            ),
        },
        _conditional,
        0.0,
    ),
}


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``"name:key=value,key=value"`` -> (name, TPESearcher keyword arguments)."""
    name, _, body = text.partition(":")
    kwargs = {}
    for item in filter(None, body.split(",")):
        key, _, value = item.partition("=")
        kwargs[key] = ast.literal_eval(value)
    return name, kwargs


SEARCHERS = ("tpe", "rl")


def one_run(
    problem: str, kwargs: dict[str, Any], seed: int, evals: int, pending: int, searcher: str = "tpe"
) -> np.ndarray:
    from searchers import RLSearcher, TPESearcher

    cls = RLSearcher if searcher == "rl" else TPESearcher
    tree, fn, optimum = DEV_PROBLEMS[problem]
    space = SearchSpace(tree)
    driver = MftuneDriver(cls(space, metric="loss", mode="min", seed=seed, **kwargs))
    losses = run_protocol(driver, lambda flat: fn(space.from_flat(flat)), evals, pending)
    return np.minimum.accumulate(losses) - optimum


def logged_runs(
    log: str | None, searcher: str, variants: dict[str, dict[str, Any]], evals: int, pending: int
) -> dict[tuple[str, str, int], np.ndarray]:
    """(problem, variant, seed) -> regret curve of the runs ``log`` holds for these settings
    (same searcher, evals, pending, and the same arguments under the variant's name)."""
    out: dict[tuple[str, str, int], np.ndarray] = {}
    if not log or not os.path.exists(log):
        return out
    with open(log) as f:
        for raw in f:
            if not raw.endswith("\n"):
                break  # torn by a kill mid-append
            row = json.loads(raw)
            same = (row["searcher"], row["evals"], row["pending"]) == (searcher, evals, pending)
            if same and variants.get(row["variant"]) == row["kwargs"]:
                out[(row["problem"], row["variant"], row["seed"])] = np.asarray(row["regret"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", required=True, help='e.g. "base:" "ei64:n_candidates=64"')
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--pending", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--searcher", choices=SEARCHERS, default="tpe")
    ap.add_argument("--log", help="append each finished run here; a rerun skips the runs it holds")
    args = ap.parse_args()
    if args.seeds < 2 or args.jobs < 1 or args.pending < 1 or any(not 1 <= b <= args.evals for b in args.budgets):
        ap.error("--seeds >= 2, --jobs >= 1, --pending >= 1 and budgets in [1, --evals] are required")
    variants = dict(parse_variant(v) for v in args.variants)
    tasks = [(p, name, s) for p in DEV_PROBLEMS for name in variants for s in range(args.seeds)]
    done = logged_runs(args.log, args.searcher, variants, args.evals, args.pending)
    todo = [t for t in tasks if t not in done]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {
            pool.submit(one_run, p, variants[n], s, args.evals, args.pending, args.searcher): (p, n, s)
            for p, n, s in todo
        }
        for future in as_completed(futures):
            p, n, s = futures[future]
            done[(p, n, s)] = curve = future.result()
            if args.log:
                line = {"searcher": args.searcher, "variant": n, "kwargs": variants[n], "problem": p, "seed": s}
                line.update(evals=args.evals, pending=args.pending, regret=[float(v) for v in curve])
                with open(args.log, "a") as f:
                    f.write(json.dumps(line) + "\n")
    curves: dict[tuple[str, str], list[np.ndarray]] = {}
    for p, name, s in tasks:
        curves.setdefault((p, name), []).append(done[(p, name, s)])
    names = list(variants)
    print(f"{args.searcher}, held-out problems, {args.seeds} seeds, {args.pending} pending: median regret (mean rank)")
    print("| problem | evals | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    ranks: dict[str, list[float]] = {n: [] for n in names}
    for p in DEV_PROBLEMS:
        for b in args.budgets:
            table = np.array([[c[b - 1] for c in curves[(p, n)]] for n in names])  # (variants, seeds)
            r = stats.rankdata(table, axis=0).mean(axis=1)
            for n, rank in zip(names, r):
                ranks[n].append(rank)
            print(
                f"| {p} | {b} | "
                + " | ".join(f"{np.median(row):.3g} ({rank:.2f})" for row, rank in zip(table, r))
                + " |"
            )
    print("| mean rank | | " + " | ".join(f"{np.mean(ranks[n]):.2f}" for n in names) + " |")


if __name__ == "__main__":
    main()
