"""Simple regret of mftune's RL searcher against its TPE, its GP and random search, and
the ablation without the reward model (pure PPO on the real evaluations).

Same problems, protocols and statistics as benchmarks/tpe_quality.py (whose runner,
Mann-Whitney comparison and formatting this reuses): sequential (one suggestion in
flight) and ``--pending 4``; simple regret ``best loss so far - optimum`` after each
budget; per row mean +- s.e. / median over seeds; ``A`` = P(a run of the RL searcher
ends below a run of the baseline), ``p`` the two-sided Mann-Whitney p-value, ``+``/``-``
a difference with p < 0.05 in the RL searcher's favour/disfavour, ``=`` none. Every
method is driven through its Ray ``Searcher`` callbacks (benchmarks/tpe_drivers.py),
without starting Ray. Wall seconds per run are reported per method.

    python -m benchmarks.rl_quality [--seeds 30] [--evals 200] [--budgets 50 100 200]
        [--pending 1 4] [--problems branin hartmann6 rosenbrock10 conditional] [--jobs 2]
        [--log runs.jsonl]   # then, even if interrupted: --report runs.jsonl (same options)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

from benchmarks import tpe_quality
from benchmarks.functions import PROBLEMS
from benchmarks.tpe_drivers import MftuneDriver, run_protocol
from searchers.space import SearchSpace

OURS = "rl"
METHODS = ("rl", "rl-no-model", "tpe", "gp", "random")
DEFAULT_PROBLEMS = tpe_quality.DEFAULT_PROBLEMS


def make_driver(method: str, space: SearchSpace, seed: int) -> MftuneDriver:
    from searchers import GPSearcher, RandomSearcher, RLSearcher, TPESearcher

    common = {"metric": "loss", "mode": "min", "seed": seed}
    if method == "rl":
        return MftuneDriver(RLSearcher(space, **common))
    if method == "rl-no-model":
        return MftuneDriver(RLSearcher(space, reward_model="none", **common))
    if method == "tpe":
        return MftuneDriver(TPESearcher(space, **common))
    if method == "gp":
        return MftuneDriver(GPSearcher(space, **common))
    if method == "random":
        return MftuneDriver(RandomSearcher(space, **common))
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def warm_up() -> None:
    """Import torch (and torch.optim's lazy imports) up front: no run's wall time includes them."""
    import torch

    from searchers import GPSearcher, RandomSearcher, RLSearcher, TPESearcher  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def one_run(name: str, pending: int, method: str, seed: int, evals: int, budgets: list[int]):
    problem = PROBLEMS[name]
    space = SearchSpace(problem.space)

    def objective(flat: dict[str, Any]) -> float:
        return problem.fn(space.from_flat(flat))

    start = time.perf_counter()
    losses = run_protocol(make_driver(method, space, seed), objective, evals, pending)
    seconds = time.perf_counter() - start
    return [float(losses[:b].min() - problem.optimum) for b in budgets], seconds


def run_all(problems, methods, seeds, evals, pendings, budgets, jobs, log=None):
    """regret[(problem, pending, method)] -> (seeds, budgets) array; seconds[method] -> list.

    Tasks run seed by seed, and each finished run is appended to ``log`` (JSON lines) at
    once, so an interrupted benchmark leaves every complete seed behind (``--report``).
    """
    tasks = [(name, p, m, s) for s in seeds for name in problems for p in pendings for m in methods]
    results = logged_runs(log, tasks, evals, budgets) if log else {}
    todo = [i for i in range(len(tasks)) if i not in results]

    def done(i, res):
        results[i] = res
        if log:
            name, pending, m, seed = tasks[i]
            with open(log, "a") as f:
                f.write(json.dumps({"problem": name, "pending": pending, "method": m, "seed": seed, "evals": evals,
                                    "budgets": budgets, "regret": res[0], "seconds": res[1]}) + "\n")  # fmt: skip

    if jobs == 1:
        warm_up()
        for i in todo:
            done(i, one_run(*tasks[i], evals, budgets))
    else:
        with ProcessPoolExecutor(max_workers=jobs, initializer=warm_up) as pool:
            futures = {pool.submit(one_run, *tasks[i], evals, budgets): i for i in todo}
            for f in as_completed(futures):
                done(futures[f], f.result())
    return collect([(*tasks[i], *results[i]) for i in sorted(results)], methods)


def logged_runs(log, tasks, evals, budgets):
    """Runs already in ``log`` with the same evals and budgets, by task index: a restarted
    benchmark skips them, so the full protocol can be run a few hours at a time."""
    if not os.path.exists(log):
        return {}
    index = {t: i for i, t in enumerate(tasks)}
    found = {}
    for line in open(log):
        try:
            r = json.loads(line)
        except ValueError:  # a line cut short by a kill
            continue
        if r.get("evals") != evals or r.get("budgets") != list(budgets):
            continue
        i = index.get((r["problem"], r["pending"], r["method"], r["seed"]))
        if i is not None:
            found[i] = (r["regret"], r["seconds"])
    return found


def collect(rows, methods):
    regret: dict[tuple[str, int, str], list] = {}
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    for name, pending, m, _, r, sec in rows:
        regret.setdefault((name, pending, m), []).append(r)
        seconds[m].append(sec)
    return {k: np.asarray(v) for k, v in regret.items()}, seconds


def from_log(path, problems, methods, pendings):
    """The runs of every seed that finished all (problem, protocol, method) in ``path``."""
    rows = [json.loads(line) for line in open(path)]
    need = {(n, p, m) for n in problems for p in pendings for m in methods}
    by_seed: dict[int, dict] = {}
    for r in rows:
        by_seed.setdefault(r["seed"], {})[(r["problem"], r["pending"], r["method"])] = r
    seeds = sorted(s for s, got in by_seed.items() if need <= set(got))
    out = [
        (n, p, m, s, by_seed[s][(n, p, m)]["regret"], by_seed[s][(n, p, m)]["seconds"])
        for s in seeds
        for n in problems
        for p in pendings
        for m in methods
    ]
    return seeds, collect(out, methods)


def table(regret, problems, methods, pending, budgets, ours, baselines, tally) -> None:
    print("| problem | evals | " + " | ".join(methods) + " | " + " | ".join(f"{ours} vs {b}" for b in baselines) + " |")
    print("|---|---|" + "---|" * (len(methods) + len(baselines)))
    for name in problems:
        for j, budget in enumerate(budgets):
            cells = []
            for m in methods:
                r = regret[(name, pending, m)][:, j]
                cells.append(
                    f"{tpe_quality.fmt(r.mean())} ± {tpe_quality.fmt(r.std(ddof=1) / np.sqrt(len(r)))}"
                    f" / {tpe_quality.fmt(np.median(r))}"
                )
            vs = []
            for b in baselines:
                a, p = tpe_quality.compare(regret[(name, pending, ours)][:, j], regret[(name, pending, b)][:, j])
                mark = "=" if p >= 0.05 else ("+" if a > 0.5 else "-")
                tally[b][mark] += 1
                tally[b]["A"].append(a)
                vs.append(f"A={a:.2f} p={p:.2g} {mark}")
            print(f"| {name} | {budget} | " + " | ".join(cells) + " | " + " | ".join(vs) + " |")


def report(regret, seconds, problems, methods, pendings, budgets, seeds: list[int]) -> None:
    baselines = [m for m in methods if m != OURS]
    tally = {b: {"+": 0, "=": 0, "-": 0, "A": []} for b in baselines}
    for pending in pendings:
        print(
            f"\n### {'sequential' if pending == 1 else f'{pending} pending suggestions'}, "
            f"seeds {', '.join(map(str, seeds))}: simple regret mean ± s.e. / median\n"
        )
        table(regret, problems, methods, pending, budgets, OURS, baselines, tally)
    print(f"\n| {OURS} against | rows better (p<0.05) | no difference | rows worse (p<0.05) | mean A |")
    print("|---|---|---|---|---|")
    for b in baselines:
        t = tally[b]
        print(f"| {b} | {t['+']} | {t['=']} | {t['-']} | {np.mean(t['A']):.2f} |")
    print("\n| method | mean seconds per run | max |")
    print("|---|---|---|")
    for m, s in seconds.items():
        print(f"| {m} | {np.mean(s):.2f} | {np.max(s):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--pending", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--problems", nargs="+", default=list(DEFAULT_PROBLEMS), choices=sorted(PROBLEMS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (results do not depend on it)")
    ap.add_argument(
        "--log",
        help="append every finished run to this JSON-lines file as it finishes; a restart skips the runs it holds",
    )
    ap.add_argument("--report", metavar="LOG", help="only print the tables of the complete seeds in LOG")
    args = ap.parse_args()
    tpe_quality.check_protocol_args(ap, args, OURS)
    if args.report:
        seeds, (regret, seconds) = from_log(args.report, args.problems, args.methods, args.pending)
        if len(seeds) < 2:
            ap.error(f"--report: {args.report} holds {len(seeds)} complete seed(s); the comparison needs 2")
        report(regret, seconds, args.problems, args.methods, args.pending, args.budgets, seeds)
        return
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    start = time.perf_counter()
    regret, seconds = run_all(
        args.problems, args.methods, seeds, args.evals, args.pending, args.budgets, args.jobs, args.log
    )
    report(regret, seconds, args.problems, args.methods, args.pending, args.budgets, list(seeds))
    print(f"\ntotal {time.perf_counter() - start:.0f} s with --jobs {args.jobs}")


if __name__ == "__main__":
    main()
