"""Hypervolume of mftune's multi-objective TPE and GP against Optuna's NSGA-II and TPE and random.

Every method runs on the same problems (:mod:`benchmarks.mo_functions`: ZDT1-3 with 30
variables, DTLZ2 with 3 objectives and 12 variables, the constrained BNH), seeds and
protocols in the same run: sequential (one suggestion in flight) and ``--pending 4`` (four
in flight; whenever the oldest finishes, one new suggestion is asked for). After each budget
the figure is the hypervolume (larger is better) of the feasible evaluations so far, with the
problem's reference point. For each row the table gives the mean +- standard error and the
median over seeds, and compares mftune's TPE with each other method by a two-sided
Mann-Whitney U test, as benchmarks/tpe_quality.py does: ``A`` is the probability that a run
of mftune ends with a *larger* hypervolume than a run of the other method (0.5: no
difference), ``p`` the test's p-value; ``+``/``-`` mark p < 0.05 in mftune's favour/disfavour.

mftune's searchers are driven through their Ray ``Searcher`` callbacks with
``metric=[...], mode=[...]`` (and ``constraints=[...]`` for BNH), without starting Ray;
Optuna's through ``study.ask``/``study.tell`` with ``directions`` and ``constraints_func``
(a trial's constraint values stored as a user attribute before it is told).

    python -m benchmarks.mo_quality [--seeds 30] [--evals 200] [--budgets 100 200]
        [--pending 1 4] [--problems zdt1 zdt2 zdt3 dtlz2 bnh] [--methods ...] [--jobs 2]
        [--log runs.jsonl]

``--log`` appends one JSON line per finished run and skips the runs already in it, so a
long run can be stopped and continued, and the table printed from whatever it holds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy import stats

from benchmarks import tpe_quality
from benchmarks.mo_functions import MO_PROBLEMS, MOProblem
from searchers.common.pareto import hypervolume

OURS = "mftune-motpe"
METHODS = ("mftune-motpe", "mftune-mogp", "optuna-nsga2", "optuna-motpe", "random")


class MftuneDriver:
    def __init__(self, searcher: Any, problem: MOProblem):
        self.searcher, self.problem, self._n = searcher, problem, 0

    def ask(self) -> tuple[str, dict[str, Any]]:
        tid = f"t{self._n}"
        self._n += 1
        return tid, self.searcher.suggest(tid)

    def tell(self, token: str, f: np.ndarray, g: np.ndarray | None) -> None:
        result = {f"f{j}": float(v) for j, v in enumerate(f)}
        if g is not None:
            result.update({f"g{j}": float(v) for j, v in enumerate(g)})
        self.searcher.on_trial_complete(token, result)


class OptunaDriver:
    def __init__(self, sampler: Any, problem: MOProblem):
        import optuna

        self.problem = problem
        self.study = optuna.create_study(directions=["minimize"] * problem.m, sampler=sampler)

    def ask(self) -> tuple[Any, dict[str, Any]]:
        trial = self.study.ask()
        config = {
            name: trial.suggest_float(name, spec["low"], spec["high"]) for name, spec in self.problem.space.items()
        }
        return trial, config

    def tell(self, token: Any, f: np.ndarray, g: np.ndarray | None) -> None:
        if g is not None:
            token.set_user_attr("constraints", [float(v) for v in g])
        self.study.tell(token, [float(v) for v in f])


def _constraints_func(trial: Any) -> list[float]:
    out: list[float] = trial.user_attrs["constraints"]
    return out


def make_driver(method: str, problem: MOProblem, seed: int) -> Any:
    metrics = [f"f{j}" for j in range(problem.m)]
    modes = ["min"] * problem.m
    n_cons = 0 if problem.constraints is None else len(problem.constraints(problem.x(_mid(problem))))
    cons = [f"g{j} <= 0" for j in range(n_cons)] or None
    if method in ("mftune-motpe", "mftune-mogp", "random"):
        from searchers import GPSearcher, RandomSearcher, TPESearcher

        cls = {"mftune-motpe": TPESearcher, "mftune-mogp": GPSearcher, "random": RandomSearcher}[method]
        return MftuneDriver(cls(problem.space, metric=metrics, mode=modes, constraints=cons, seed=seed), problem)
    import optuna

    cf = _constraints_func if cons else None
    if method == "optuna-nsga2":
        return OptunaDriver(optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cf), problem)
    if method == "optuna-motpe":
        return OptunaDriver(optuna.samplers.TPESampler(seed=seed, constraints_func=cf), problem)
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def _mid(problem: MOProblem) -> dict[str, Any]:
    return {k: 0.5 * (v["low"] + v["high"]) for k, v in problem.space.items()}


def one_run(name: str, pending: int, method: str, seed: int, evals: int, budgets: list[int]) -> dict[str, Any]:
    """Hypervolume after each budget and the wall seconds of one run (a process-pool task)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = MO_PROBLEMS[name]
    driver = make_driver(method, problem, seed)
    start = time.perf_counter()
    queue: list[tuple[Any, np.ndarray, np.ndarray | None]] = []
    fs, feasible = [], []
    asked = 0
    while len(fs) < evals:
        while len(queue) < pending and asked < evals:
            token, config = driver.ask()
            x = problem.x(config)
            g = None if problem.constraints is None else problem.constraints(x)
            queue.append((token, problem.objectives(x), g))
            asked += 1
        token, f, g = queue.pop(0)
        driver.tell(token, f, g)
        fs.append(f)
        feasible.append(g is None or bool(np.all(g <= 0.0)))
    seconds = time.perf_counter() - start
    F, ok = np.array(fs), np.array(feasible)
    hv = [hypervolume(F[:b][ok[:b]], problem.reference) for b in budgets]
    return {"problem": name, "pending": pending, "method": method, "seed": seed, "hv": hv, "seconds": seconds}


def _key(r: dict[str, Any]) -> tuple[str, int, str, int]:
    return (r["problem"], int(r["pending"]), r["method"], int(r["seed"]))


def _read_log(log: str | None, evals: int, budgets: list[int]) -> dict[tuple, dict]:
    done: dict[tuple, dict] = {}
    if log and os.path.exists(log):
        with open(log) as f:
            for line in f:
                r = json.loads(line)
                if r.get("evals") == evals and r.get("budgets") == budgets:
                    done[_key(r)] = r
    return done


def run_all(tasks: list[tuple[str, int, str, int]], evals: int, budgets: list[int], jobs: int, log: str | None) -> list:
    done = _read_log(log, evals, budgets)
    todo = [t for t in tasks if t not in done]

    def keep(r: dict[str, Any]) -> None:
        r.update(evals=evals, budgets=budgets)
        done[_key(r)] = r
        if log:
            with open(log, "a") as f:
                f.write(json.dumps(r) + "\n")

    if jobs == 1:
        for t in todo:
            keep(one_run(*t, evals, budgets))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(one_run, *t, evals, budgets) for t in todo]
            for fut in futures:
                keep(fut.result())
    return [done[t] for t in tasks if t in done]


def compare(ours: np.ndarray, base: np.ndarray) -> tuple[float, float]:
    """(A, p): P(ours > base) + P(tie)/2 and the two-sided Mann-Whitney p-value."""
    res = stats.mannwhitneyu(ours, base, alternative="two-sided")
    return float(res.statistic / (len(ours) * len(base))), float(res.pvalue)


def report(results: list, problems: list[str], methods: list[str], pendings: list[int], budgets: list[int]) -> None:
    # only the seeds every method finished on a problem and protocol (a log may be partial)
    by_seed: dict[tuple[str, int], dict[int, set[str]]] = {}
    for r in results:
        by_seed.setdefault((r["problem"], r["pending"]), {}).setdefault(r["seed"], set()).add(r["method"])
    complete = {(key, s) for key, d in by_seed.items() for s, ms in d.items() if set(methods) <= ms}
    hv: dict[tuple[str, int, str], list] = {}
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    for r in sorted(results, key=lambda r: r["seed"]):
        if ((r["problem"], r["pending"]), r["seed"]) in complete and r["method"] in methods:
            hv.setdefault((r["problem"], r["pending"], r["method"]), []).append(r["hv"])
            seconds[r["method"]].append(r["seconds"])
    seeds = sorted({s for _, s in complete})
    pendings = [k for k in pendings if any((p, k, OURS) in hv and len(hv[(p, k, OURS)]) >= 2 for p in problems)]
    problems_of = {k: [p for p in problems if len(hv.get((p, k, OURS), [])) >= 2] for k in pendings}
    others = [m for m in methods if m != OURS]
    tally = {b: {"+": 0, "=": 0, "-": 0, "A": []} for b in others}
    for pending in pendings:
        label = "sequential" if pending == 1 else f"{pending} pending suggestions"
        n_seeds = sorted({len(hv[(p, pending, OURS)]) for p in problems_of[pending]})
        print(
            f"\n### {label}, {'/'.join(map(str, n_seeds))} seeds (from {seeds[0]}-{seeds[-1]}): "
            "hypervolume mean ± s.e. / median (larger is better)\n"
        )
        print(
            "| problem (max HV) | evals | " + " | ".join(methods) + " | " + " | ".join(f"vs {b}" for b in others) + " |"
        )
        print("|---|---|" + "---|" * (len(methods) + len(others)))
        for name in problems_of[pending]:
            mx = MO_PROBLEMS[name].max_hv
            for j, budget in enumerate(budgets):
                cells, vs = [], []
                for m in methods:
                    h = np.asarray(hv[(name, pending, m)])[:, j]
                    cells.append(f"{h.mean():.4g} ± {h.std(ddof=1) / np.sqrt(len(h)):.2g} / {np.median(h):.4g}")
                ours = np.asarray(hv[(name, pending, OURS)])[:, j]
                for b in others:
                    a, p = compare(ours, np.asarray(hv[(name, pending, b)])[:, j])
                    mark = "=" if p >= 0.05 else ("+" if a > 0.5 else "-")
                    tally[b][mark] += 1
                    tally[b]["A"].append(a)
                    vs.append(f"A={a:.2f} p={p:.2g} {mark}")
                head = f"{name} ({mx:.4g})" if mx is not None else name
                print(f"| {head} | {budget} | " + " | ".join(cells) + " | " + " | ".join(vs) + " |")
    _print_tally(OURS, tally)
    # every other mftune searcher against the peers, by the same test over the same rows
    for mine in (m for m in others if m.startswith("mftune-")):
        peers = [m for m in others if not m.startswith("mftune-")]
        more = {b: {"+": 0, "=": 0, "-": 0, "A": []} for b in peers}
        for pending in pendings:
            for name in problems_of[pending]:
                for j in range(len(budgets)):
                    ours = np.asarray(hv[(name, pending, mine)])[:, j]
                    for b in peers:
                        a, p = compare(ours, np.asarray(hv[(name, pending, b)])[:, j])
                        more[b]["=" if p >= 0.05 else ("+" if a > 0.5 else "-")] += 1
                        more[b]["A"].append(a)
        _print_tally(mine, more)
    print("\nmean seconds per run: " + ", ".join(f"{m} {np.mean(s):.2f}" for m, s in seconds.items() if s))


def _print_tally(ours: str, tally: dict[str, dict[str, Any]]) -> None:
    """One row per baseline: rows where ``ours`` is better / level / worse at p < 0.05, mean A."""
    print(f"\n| {ours} against | rows better (p<0.05) | no difference | rows worse (p<0.05) | mean A |")
    print("|---|---|---|---|---|")
    for b, t in tally.items():
        print(f"| {b} | {t['+']} | {t['=']} | {t['-']} | {np.mean(t['A']):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 200])
    ap.add_argument("--pending", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--problems", nargs="+", default=list(MO_PROBLEMS), choices=sorted(MO_PROBLEMS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (results do not depend on it)")
    ap.add_argument("--log", help="append one JSON line per run here; runs already in it are not run again")
    ap.add_argument("--report-only", action="store_true", help="print the table from --log without running more")
    args = ap.parse_args()
    tpe_quality.check_protocol_args(ap, args, OURS)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    # seed-major: a run cut short leaves every problem and protocol with the same seeds
    tasks = [(p, k, m, s) for s in seeds for k in args.pending for p in args.problems for m in args.methods]
    if args.report_only and not args.log:
        ap.error("--report-only needs --log")
    todo = [] if args.report_only else tasks
    results = run_all(todo, args.evals, args.budgets, args.jobs, args.log)
    if args.report_only:
        results = [r for r in _read_log(args.log, args.evals, args.budgets).values() if _key(r) in set(tasks)]
    report(results, args.problems, args.methods, args.pending, args.budgets)


if __name__ == "__main__":
    main()
