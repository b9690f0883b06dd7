"""Multi-fidelity searchers against the peers at equal epochs, on benchmarks/mf_hard.py.

Rows (the first six run on benchmarks.sched_sim.SimController, Ray's trial loop
emulated on a simulated clock, ``--slots`` workers; the last two in their own ask/tell
loops, one evaluation at a time, which if anything favours them):

* ``hypertune+asha``, ``mobster+asha``: the multi-fidelity GP searcher (searchers/mf)
  with mftune's ASHA (stopping rule); ``mobster+hyperband-async``: the joint model with
  mftune's asynchronous Hyperband (promotion over all brackets); ``gp+asha``, ``tpe+asha``: mftune's GP and TPE with
  it; ``tpe+bohb``: mftune's asynchronous BOHB;
* ``random+ray-asha``: Ray's AsyncHyperBandScheduler with random search;
* ``ray-bohb``: Ray's HyperBandForBOHB + TuneBOHB (needs hpbandster and ConfigSpace);
* ``optuna-hb``: Optuna's TPESampler + HyperbandPruner (reports every epoch);
* ``dehb``: DEHB (pip ``dehb``), fidelities 1..R with eta 3; a configuration promoted to a
  higher fidelity is trained again from scratch there, as DEHB's own examples do, and
  its epochs count again.

Run only when named in ``--rows``: ``hypertune+hyperband-async`` / ``-learnt`` (Hyperband's
bracket probabilities against Hyper-Tune's learnt ones) and ``mobster-populated+asha`` /
``+hyperband-async`` (the joint model acquiring at the highest rung level with enough
observations, ``MFGPSearcher(target_level="populated")``) and ``gp-highest+asha`` (the GP
fitted on the highest rung with enough results, ``GPSearcher(fidelity="highest")``).

Real learning curves (``--problems digits-real,fashion-real``, benchmarks/mf_real.py): the
same rows on curves of the built-in tasks trained for real, each incumbent scored by the
mean of three fresh full trainings, and regret measured from the best such score any
logged run reached.

All rows: min resource 1, max resource R, reduction factor 3. Epochs are counted the same
way everywhere: every epoch a trial trains. Regret is that of the incumbent (the best
*observed* value at R; noise included) measured on the true objective, against epochs.

Every finished run is appended as one JSON line to ``--log`` (never rewritten); a rerun
skips the (problem, row, seed) triples already there, so a small run can be extended to
the full size later with the same command. ``--report`` prints the tables from the log.

    nice -n 10 python benchmarks/mf_quality.py --seeds 0-19 --budget-trials 30 \\
        --log benchmarks/results/mf_quality.jsonl
    python benchmarks/mf_quality.py --report --log benchmarks/results/mf_quality.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.mf_hard import FAMILIES, CurveProblem, conditional_flat_space, make  # noqa: E402
from benchmarks.mf_real import REAL, RealCurveProblem, make_real, relative_to_best  # noqa: E402
from benchmarks.sched_compare import incumbent_regret, run_row  # noqa: E402
from benchmarks.sched_sim import SimController  # noqa: E402
from searchers.space import Categorical, Float, Int  # noqa: E402

OURS = ("hypertune+asha", "mobster+asha", "mobster+hyperband-async", "gp+asha", "tpe+asha", "tpe+bohb")
#: rows run only when named in --rows: Hyper-Tune's learnt bracket choice against the same
#: asynchronous Hyperband drawing brackets with Hyperband's fixed probabilities
BRACKET_ROWS = ("hypertune+hyperband-async", "hypertune+hyperband-learnt")
#: rows run only when named in --rows, variants of our searchers: the joint model acquiring
#: at the highest rung level with enough observations (``target_level="populated"``) instead
#: of max_resource, and the GP on BOHB's level rule (``GPSearcher(fidelity="highest")``)
VARIANT_ROWS = ("mobster-populated+asha", "mobster-populated+hyperband-async", "gp-highest+asha")
PEERS = ("random+ray-asha", "ray-bohb", "optuna-hb", "dehb")
Problem = CurveProblem | RealCurveProblem
Curve = list[tuple[int, float]]  # (epochs spent, regret of the incumbent) at each improvement


# ----------------------------------------------------------------- peers' spaces
def _configspace(problem: Problem) -> Any:
    import ConfigSpace as CS

    tree = conditional_flat_space() if problem.conditional else problem.space
    cs = CS.ConfigurationSpace(seed=0)
    for name, p in tree.items():
        if isinstance(p, Float):
            cs.add(CS.UniformFloatHyperparameter(name, p.low, p.high, log=p.log))
        elif isinstance(p, Int):
            cs.add(CS.UniformIntegerHyperparameter(name, p.low, p.high, log=p.log))
        elif isinstance(p, Categorical):
            cs.add(CS.CategoricalHyperparameter(name, list(p.choices)))
    return cs


def _optuna_config(trial: Any, problem: Problem) -> dict[str, Any]:
    """Define-by-run: Optuna samples the conditional branch's parameters only when taken."""
    if not problem.conditional:
        return {name: _suggest(trial, name, p) for name, p in problem.space.items()}
    config: dict[str, Any] = {
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "layers": trial.suggest_int("layers", 1, 8),
    }
    kind = trial.suggest_categorical("kind", ["sgd", "adam"])
    if kind == "sgd":
        opt = {"momentum": trial.suggest_float("momentum", 0.0, 0.99), "nesterov_w": trial.suggest_float("nw", 0, 1)}
    else:
        opt = {
            "beta1": trial.suggest_float("beta1", 0.5, 0.999),
            "beta2": trial.suggest_float("beta2", 0.9, 0.9999),
            "eps_w": trial.suggest_float("eps_w", 0.0, 1.0),
        }
    config["opt"] = {"kind": kind, **opt}
    return config


def _suggest(trial: Any, name: str, p: Any) -> Any:
    if isinstance(p, Float):
        return trial.suggest_float(name, p.low, p.high, log=p.log)
    if isinstance(p, Int):
        return (
            trial.suggest_int(name, p.low, p.high, log=True)
            if p.log
            else trial.suggest_int(name, p.low, p.high, step=p.step)
        )
    return trial.suggest_categorical(name, list(p.choices))


# ----------------------------------------------------------------------- rows
def _sim_curve(run: Any, problem: Problem) -> Curve:
    return [(e, g) for e, _, g in incumbent_regret(run, problem)]


def run_sim(row: str, problem: Problem, seed: int, slots: int, budget: int) -> Curve:
    return _sim_curve(run_row(row, problem, seed, slots, {}, budget=budget), problem)  # type: ignore[arg-type]


def run_ray_bohb(problem: Problem, seed: int, slots: int, budget: int) -> Curve:
    from ray.tune.schedulers import HyperBandForBOHB
    from ray.tune.search.bohb import TuneBOHB

    searcher = TuneBOHB(space=_configspace(problem), metric="loss", mode="min", seed=seed)
    scheduler = HyperBandForBOHB(
        time_attr="training_iteration", max_t=problem.max_resource, reduction_factor=3, metric="loss", mode="min"
    )
    sim = SimController(
        searcher,
        scheduler,
        problem,
        metric="loss",
        mode="min",
        max_t=problem.max_resource,
        slots=slots,
        budget=budget,
        seed=seed,
    )
    return _sim_curve(sim.run(), problem)


class _Incumbent:
    """Best observed full-fidelity value so far, and the regret curve it draws."""

    def __init__(self, problem: Problem):
        self.problem, self.best, self.curve = problem, math.inf, []

    def seen(self, epochs: int, config: dict[str, Any], value: float) -> None:
        if value < self.best:
            self.best = value
            self.curve.append((epochs, self.problem.final(config) - self.problem.optimum))


def run_optuna(problem: Problem, seed: int, budget: int) -> Curve:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    R = problem.max_resource
    study = optuna.create_study(
        # HyperbandPruner puts trials in brackets by a hash of the study name, and an
        # unnamed study gets a random one: name it, or a rerun differs from the logged run
        study_name=f"mf-{problem.name}-seed{seed}",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=R, reduction_factor=3),
    )
    inc, epochs = _Incumbent(problem), 0
    while epochs < budget:
        trial = study.ask()
        config = _optuna_config(trial, problem)
        value, pruned = math.inf, False
        for r in range(1, R + 1):
            value = problem.value(config, r, seed)
            epochs += 1
            trial.report(value, r)
            if r == R:
                inc.seen(epochs, config, value)
            if epochs >= budget:
                break
            if trial.should_prune():
                pruned = True
                break
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return inc.curve


def run_dehb(problem: Problem, seed: int, budget: int) -> Curve:
    from dehb import DEHB

    logging.getLogger("dehb").setLevel(logging.ERROR)
    try:
        from loguru import logger

        logger.remove()
    except ImportError:  # pragma: no cover
        pass
    R = problem.max_resource
    cs = _configspace(problem)
    inc, epochs = _Incumbent(problem), 0
    with tempfile.TemporaryDirectory() as out:
        opt = DEHB(
            cs=cs,
            dimensions=len(list(cs.values())),
            min_fidelity=1,
            max_fidelity=R,
            eta=3,
            seed=seed,
            n_workers=1,
            output_path=out,
            save_freq="end",
        )
        while epochs < budget:
            job = opt.ask()
            config = dict(job["config"])
            r = int(round(job["fidelity"]))
            value = problem.value(config, r, seed)
            epochs += r
            if r >= R:
                inc.seen(epochs, config, value)
            opt.tell(job, {"fitness": value, "cost": float(r)})
    return inc.curve


def run(row: str, problem: Problem, seed: int, slots: int, budget: int) -> Curve:
    if row == "ray-bohb":
        return run_ray_bohb(problem, seed, slots, budget)
    if row == "optuna-hb":
        return run_optuna(problem, seed, budget)
    if row == "dehb":
        return run_dehb(problem, seed, budget)
    return run_sim(row, problem, seed, slots, budget)


def regret_at(curve: Curve, epochs: float) -> float:
    out = math.inf
    for e, g in curve:
        if e <= epochs:
            out = g
    return out


# ------------------------------------------------------------------- the log
def load(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    with open(log) as f:
        return [json.loads(line) for line in f if line.strip()]


def append(log: Path, entry: dict[str, Any]) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


# ----------------------------------------------------------------- the report
def paired(entries: list[dict[str, Any]], a: str, b: str, fractions: tuple[float, ...]) -> None:
    """Row ``b`` against row ``a`` over every (problem, seed) both ran: wins, geometric mean
    of the regret ratio b / a, means, and the Wilcoxon signed-rank p over the pairs."""
    runs: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for e in entries:
        runs.setdefault((e["problem"], e["seed"]), {})[e["row"]] = e
    print(f"\n### {b} against {a}, paired by (problem, seed)\n")
    print(f"| budget | pairs | {b} better | worse | geo-mean ratio | mean {b} | mean {a} | Wilcoxon p |")
    print("|---|---|---|---|---|---|---|---|")
    for f in fractions:
        x, y = [], []
        for pair in runs.values():
            if a in pair and b in pair:
                ra, rb = (regret_at(pair[r]["curve"], f * pair[r]["budget"]) for r in (a, b))
                if math.isfinite(ra) and math.isfinite(rb):
                    x.append(ra)
                    y.append(rb)
        if not x:
            continue
        ratio = math.exp(statistics.mean(math.log(max(v, 1e-9) / max(u, 1e-9)) for u, v in zip(x, y)))
        better, worse = sum(v < u for u, v in zip(x, y)), sum(v > u for u, v in zip(x, y))
        print(
            f"| {f:g} x | {len(x)} | {better} | {worse} | {ratio:.3f} | {statistics.mean(y):.3f} | "
            f"{statistics.mean(x):.3f} | {_wilcoxon(y, x):.2f} |"
        )


def _wilcoxon(a: list[float], b: list[float]) -> float:
    from scipy.stats import wilcoxon

    d = np.array(a) - np.array(b)
    if np.all(d == 0):
        return 1.0
    return float(wilcoxon(a, b).pvalue)


def report(entries: list[dict[str, Any]], ours: str, fractions: tuple[float, ...]) -> None:
    by: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for e in entries:
        by.setdefault((e["problem"], e["row"]), {})[e["seed"]] = e
    problems = sorted({p for p, _ in by})
    rows = [r for r in OURS + BRACKET_ROWS + VARIANT_ROWS + PEERS if any((p, r) in by for p in problems)]
    for f in fractions:
        print(f"\n### Mean regret at {f:g} x the budget (mean over seeds; n = seeds)\n")
        print("| problem | n | " + " | ".join(rows) + " |")
        print("|---|---|" + "---|" * len(rows))
        for p in problems:
            cells = []
            for r in rows:
                runs = by.get((p, r), {})
                vals = [regret_at(x["curve"], f * x["budget"]) for x in runs.values()]
                cells.append(_cell(vals))
            n = min((len(by.get((p, r), {})) for r in rows), default=0)
            print(f"| {p} | {n} | " + " | ".join(cells) + " |")

    for f in fractions:
        print(f"\n### {ours} against the best peer per problem at {f:g} x the budget\n")
        print("| problem | best peer | peer mean | ours mean | ratio | Wilcoxon p (paired by seed) | seeds |")
        print("|---|---|---|---|---|---|---|")
        ratios, all_ours, all_peer = [], [], []
        for p in problems:
            mine = by.get((p, ours), {})
            best, best_mean = None, math.inf
            for r in PEERS:
                runs = by.get((p, r), {})
                seeds = sorted(set(runs) & set(mine))
                if not seeds:
                    continue
                m = statistics.mean(regret_at(runs[s]["curve"], f * runs[s]["budget"]) for s in seeds)
                if m < best_mean:
                    best, best_mean = r, m
            if best is None:
                continue
            seeds = sorted(set(by[(p, best)]) & set(mine))
            a = [regret_at(mine[s]["curve"], f * mine[s]["budget"]) for s in seeds]
            b = [regret_at(by[(p, best)][s]["curve"], f * by[(p, best)][s]["budget"]) for s in seeds]
            if not all(map(math.isfinite, a + b)):
                print(f"| {p} | {best} | - | - | - | - | {len(seeds)} |")
                continue
            ratio = statistics.mean(a) / max(statistics.mean(b), 1e-12)
            ratios.append(ratio)
            scale = max(statistics.mean(b), 1e-12)
            all_ours += [x / scale for x in a]
            all_peer += [x / scale for x in b]
            print(
                f"| {p} | {best} | {statistics.mean(b):.3f} | {statistics.mean(a):.3f} | {ratio:.2f} | "
                f"{_wilcoxon(a, b):.3g} | {len(seeds)} |"
            )
        if ratios:
            gm = math.exp(statistics.mean(math.log(max(r, 1e-12)) for r in ratios))
            print(
                f"\ngeometric mean of the ratios: {gm:.2f} over {len(ratios)} problems; pooled Wilcoxon "
                f"(regrets scaled by the peer's mean per problem, paired by problem and seed): "
                f"p = {_wilcoxon(all_ours, all_peer):.3g}"
            )


def _cell(vals: list[float]) -> str:
    """Mean regret over the runs; runs with no incumbent yet (no result at max resource by
    then) are counted, not averaged: "6.115 (3 none)"."""
    finite = [v for v in vals if math.isfinite(v)]
    if not vals:
        return "-"
    if len(finite) == len(vals):
        return f"{statistics.mean(vals):.3f}"
    return f"{statistics.mean(finite):.3f} ({len(vals) - len(finite)} none)" if finite else f"- ({len(vals)} none)"


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--problems",
        default=",".join(FAMILIES),
        help=f"families of benchmarks/mf_hard.py, or real learning curves (benchmarks/mf_real.py: {', '.join(REAL)})",
    )
    ap.add_argument("--instance", type=int, default=0, help="0: the reported instances; others are held out")
    ap.add_argument(
        "--rows",
        default=None,
        help="rows to run (default: ours and the peers); with --report, the rows to tabulate (default: all logged)",
    )
    ap.add_argument("--seeds", default="0-19", help="'0-19' or '0,3,5'")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--budget-trials", type=int, default=30, help="budget in full trainings (x max resource epochs)")
    ap.add_argument("--log", type=Path, default=ROOT / "benchmarks" / "results" / "mf_quality.jsonl")
    ap.add_argument("--report", action="store_true", help="only print the tables from the log")
    ap.add_argument("--ours", default="mobster+asha", help="the row compared against the best peer")
    ap.add_argument("--paired", nargs=2, metavar=("A", "B"), help="also print row B against row A, paired")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("ray").setLevel(logging.ERROR)
    families = [p for p in args.problems.split(",") if p]
    for name in families:
        if name not in FAMILIES and name not in REAL:
            raise SystemExit(f"--problems: unknown family {name!r}; known: {', '.join([*FAMILIES, *REAL])}")
    rows = [r for r in (args.rows or ",".join(OURS + PEERS)).split(",") if r]
    for r in rows:
        if r not in OURS + BRACKET_ROWS + VARIANT_ROWS + PEERS:
            raise SystemExit(
                f"--rows: unknown row {r!r}; known: {', '.join(OURS + BRACKET_ROWS + VARIANT_ROWS + PEERS)}"
            )
    if not args.report:
        done = {(e["problem"], e["row"], e["seed"], e["budget"]) for e in load(args.log)}
        # one object per family for the whole run: a real problem's trained curves and
        # incumbent scores are reused by every row and seed that meets the same configuration
        problems: dict[str, Problem] = {
            name: make_real(name, args.instance) if name in REAL else make(name, args.instance) for name in families
        }
        for seed in _seeds(args.seeds):  # seed-major: a run cut short still covers every problem
            for name in families:
                problem = problems[name]
                budget = args.budget_trials * problem.max_resource
                for row in rows:
                    if (problem.name, row, seed, budget) in done:
                        continue
                    t0 = time.perf_counter()
                    curve = run(row, problem, seed, args.slots, budget)
                    entry = {
                        "problem": problem.name,
                        "row": row,
                        "seed": seed,
                        "budget": budget,
                        "slots": args.slots,
                        "curve": curve,
                        "seconds": round(time.perf_counter() - t0, 2),
                    }
                    if name in REAL:
                        entry["real"] = True  # the curve holds final errors (relative_to_best)
                    append(args.log, entry)
                    print(
                        f"{problem.name} {row} seed {seed}: {'error' if name in REAL else 'regret'} "
                        f"{regret_at(curve, budget):.4f} "
                        f"({entry['seconds']} s)",
                        flush=True,
                    )
    entries = [e for e in load(args.log) if e["problem"].split("@")[0] in families]
    entries = relative_to_best([e for e in entries if e["problem"].endswith(f"@{args.instance}")])
    if args.rows is not None:  # after relative_to_best: real regrets stay measured from every row's best
        entries = [e for e in entries if e["row"] in rows]
    report(entries, args.ours, (0.25, 0.5, 1.0))
    if args.paired:
        paired(entries, *args.paired, (0.25, 0.5, 1.0))


if __name__ == "__main__":
    main()
