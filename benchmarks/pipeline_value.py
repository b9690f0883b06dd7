"""The pipeline's value at equal wall-clock on real data (issue 14, item 4).

Seven ways to tune Fashion-MNIST, each given the same wall-clock budget (``--budget-s``)
on the same machine, each one's chosen configuration then retrained on every labelled
training image with the same recipe and scored on the untouched 10,000-image test set
(``pipeline.refit``, the Fashion-MNIST ``test_score`` of ``best.json``):

* ``pipeline-default``: mftune's default chain for the task (7 px -> 14 px -> 28 px,
  ``pipeline.defaults``), its fractions and epochs scaled to ``--fraction``/``--epochs``,
  each stage a share of the budget (``DEFAULT_SHARES``); also run at ``--fractions-of-budget``
  (default 0.2) of the budget, which answers "does it match full-fidelity random
  search's final accuracy in a fifth of its time";
* ``pipeline-advised``: ``pipeline.advise``'s calibration (timed, inside the budget), then
  the chain it proposes for the time left;
* ``random-full``: one stage at full fidelity, random search, FIFO;
* ``topk-1epoch`` (Egele et al.): random configurations 1 epoch each for half the budget,
  the best ``--top-k`` then trained to full epochs;
* ``ray-asha-random``, ``ray-asha-hyperopt``: one stage, Ray's ASHA with random search or
  Ray's HyperOptSearch;
* ``optuna-tpe-hyperband``: an in-process Optuna study (TPE + HyperbandPruner) whose
  objective is the pipeline's own training of one configuration (``pipeline.trainable``);
  its best configuration is refitted by the same ``pipeline.refit.fit_winner``.

Every Ray-based method runs with ``deadline_s`` equal to the budget (the advised one: the
time its calibration left), so Ray's start-up per stage counts against it, as it does
for Optuna's ``timeout``. No cross-validation anywhere: every method picks its winner on
the 10,000-image holdout and all the time goes to search. The refit is not part of the budget (it is the score,
the same for all). The space is flat (Ray's HyperOptSearch cannot take branches) and
wide (``SPACE``), so good configurations are rare.

    python benchmarks/pipeline_value.py --budget-s 1800 --seeds 0 1 2 --output /tmp/pv --log pv.jsonl
    python benchmarks/pipeline_value.py --report pv.jsonl

``--log`` gets one JSON line per finished (method, seed, budget); a rerun skips those.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TASK = "fashion-mnist"
METRIC = "val_accuracy"
METHODS = (
    "pipeline-default",
    "pipeline-advised",
    "random-full",
    "topk-1epoch",
    "ray-asha-random",
    "ray-asha-hyperopt",
    "optuna-tpe-hyperband",
)
#: flat (HyperOptSearch takes no branches) and wide: Adam's learning rate over four decades,
#: widths from tiny to large, heavy dropout allowed, so most of the space trains badly
SPACE: dict[str, dict[str, Any]] = {
    "lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "batch_size": {"type": "categorical", "choices": [16, 32, 64, 128, 256, 512]},
    "channels": {"type": "int", "low": 4, "high": 64, "step": 4},
    "hidden": {"type": "int", "low": 16, "high": 512, "log": True},
    "dropout": {"type": "float", "low": 0.0, "high": 0.8},
}
#: the default chain's stages (pipeline.defaults FASHION_MNIST): resolution, share of the
#: full data fraction and of the full epochs, scheduler, trial cap, top_k
DEFAULT_CHAIN = (
    (7, 0.2, 0.6, "asha", 60, 12),
    (14, 0.5, 0.8, "asha", 24, 4),
    (28, 1.0, 1.0, "fifo", 6, None),
)
#: each default stage's share of the budget: its nominal cost trials x fraction x pixels x
#: epochs (60*.2*(7/28)^2*.6 : 24*.5*(14/28)^2*.8 : 6*1*1*1), small stages rounded up
#: because a low-resolution epoch costs more than its pixel count says (fixed overhead)
DEFAULT_SHARES = (0.1, 0.3, 0.6)


# ------------------------------------------------------------------------ settings


def stage_settings(method: str, budget_s: float, fraction: float, epochs: int, top_k: int) -> list[dict[str, Any]]:
    """The ``stages`` of the pipeline config a Ray-based method runs (not the advised one,
    whose chain comes from a calibration, nor Optuna's, which is not a pipeline)."""
    full = {"data_fraction": fraction, "resolution": 28, "max_epochs": epochs}
    if method == "pipeline-default":
        stages = []
        for (res, frac, ep, sched, trials, k), share in zip(DEFAULT_CHAIN, DEFAULT_SHARES, strict=True):
            stage: dict[str, Any] = {
                "name": f"{res}px",
                "data_fraction": round(fraction * frac, 6),
                "resolution": res,
                "max_epochs": max(1, round(epochs * ep)),
                "searcher": "auto",
                "scheduler": sched,
                "budget": {"trials": trials, "time_s": budget_s * share},
            }
            if k is not None:
                stage["top_k"] = k
            stages.append(stage)
        return stages
    if method == "random-full":
        return [{"name": "full", **full, "searcher": "random", "scheduler": "fifo", "budget": {"time_s": budget_s}}]
    if method == "topk-1epoch":
        one = {**full, "max_epochs": 1}
        return [
            {
                "name": "one-epoch",
                **one,
                "searcher": "random",
                "scheduler": "fifo",
                "budget": {"time_s": budget_s / 2},
                "top_k": top_k,
            },
            {
                "name": "top-k",
                **full,
                "searcher": "random",
                "scheduler": "fifo",
                "budget": {"trials": top_k, "time_s": budget_s / 2},
            },
        ]
    if method in ("ray-asha-random", "ray-asha-hyperopt"):
        searcher = "random" if method == "ray-asha-random" else "hyperopt"
        return [{"name": "asha", **full, "searcher": searcher, "scheduler": "ray-asha", "budget": {"time_s": budget_s}}]
    raise ValueError(f"{method} is not a single pipeline config")


def advised_stages(chain: Any, seconds: float) -> list[dict[str, Any]]:
    """The advisor's chain as stages, each capped at its share of ``seconds`` (its levels'
    measured cost x trials)."""
    from pipeline.fidelity_advisor import chain_yaml

    stages = chain_yaml(chain)
    costs = [lv.cost * n for lv, n in zip(chain.levels, chain.trials, strict=True)]
    total = sum(costs) or 1.0
    for stage, cost in zip(stages, costs, strict=True):
        stage["budget"] = {**stage["budget"], "time_s": max(1.0, seconds * cost / total)}
    return stages


def experiment_settings(stages: list[dict[str, Any]], seed: int, output: Path, data_dir: str | None) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "task": TASK,
        "metric": METRIC,
        "mode": "max",
        "search_space": SPACE,
        "stages": stages,
        "seed": seed,
        "output": str(output),
    }
    if data_dir:
        raw["data_dir"] = data_dir
    return raw


def stage_budget_s(stages: Iterable[dict[str, Any]]) -> float:
    """The seconds a list of stages may run (what the budget test checks)."""
    return sum(float(s["budget"].get("time_s", math.inf)) for s in stages)


# ------------------------------------------------------------------------ the log


def run_key(method: str, seed: int, budget_s: float) -> str:
    return f"{method}|{seed}|{budget_s:g}"


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every complete line of the log (a line cut by a kill is skipped)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "method" in row:
            rows.append(row)
    return rows


def done_keys(path: Path) -> set[str]:
    return {run_key(r["method"], int(r["seed"]), float(r["budget_s"])) for r in read_log(path)}


def append_log(path: Path, row: dict[str, Any]) -> None:
    """One line, flushed and synced: a kill loses at most the run in progress."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cut = False
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as f:
            f.seek(-1, os.SEEK_END)  # the last byte only: appending costs the same at any log size
            cut = f.read(1) != b"\n"
    with path.open("a") as f:
        f.write(("\n" if cut else "") + json.dumps(row, sort_keys=True) + "\n")  # a cut line stays apart
        f.flush()
        os.fsync(f.fileno())


# ------------------------------------------------------------------------ report


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (sample sd / sqrt(n); nan for one value)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def label(row: dict[str, Any], full_budget: float) -> str:
    frac = float(row["budget_s"]) / full_budget
    return row["method"] if math.isclose(frac, 1.0) else f"{row['method']}@{frac:g}"


def report(rows: list[dict[str, Any]]) -> str:
    """Per method mean ± s.e. of test accuracy and time used, the per-seed table, and the
    fraction of the budget at which the default pipeline matches full-fidelity random
    search's final accuracy (the smallest budget fraction run whose mean reaches it)."""
    if not rows:
        return "no finished runs in the log"
    groups, full = grouped(rows)
    lines = [f"budget {full:g} s per method (refit not included)", ""]
    lines.append(
        f"{'method':<28} {'seeds':>5} {'test acc mean ± s.e.':>22} {'search s':>9} {'/budget':>8} {'refit s':>8}"
    )
    for name, rs in groups.items():
        m, se = mean_se(scores(rs))
        ts, _ = mean_se([float(r["search_s"]) for r in rs])
        used, _ = mean_se([float(r["search_s"]) / float(r["budget_s"]) for r in rs])
        tr, _ = mean_se([float(r["refit_s"]) for r in rs])
        lines.append(
            f"{name:<28} {f'{len(scores(rs))}/{len(rs)}':>5} {m:>13.4f} ± {se:<6.4f} {ts:>9.0f} {used:>8.2f} {tr:>8.0f}"
        )
    lines.append("(/budget: search seconds over the budget; above 1 a method overran it, e.g. Ray start-up per stage)")
    lines += ["", "per seed (test accuracy of the refitted choice; search seconds):"]
    seeds = sorted({int(r["seed"]) for r in rows})
    lines.append(f"{'method':<28} " + " ".join(f"{'seed ' + str(s):>16}" for s in seeds))
    for name, rs in groups.items():
        by_seed = {int(r["seed"]): r for r in rs}
        cells = [
            f"{_acc(by_seed[s]['test_accuracy'])} ({by_seed[s]['search_s']:.0f}s)" if s in by_seed else "-"
            for s in seeds
        ]
        lines.append(f"{name:<28} " + " ".join(f"{c:>16}" for c in cells))
    lines += ["", *paired(groups, full), "", time_to_match(groups, full)]
    return "\n".join(lines)


def grouped(rows: list[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], float]:
    """Runs by label (method, with @fraction below the full budget), and the full budget."""
    full = max(float(r["budget_s"]) for r in rows)
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: (r["method"], float(r["budget_s"]), int(r["seed"]))):
        groups.setdefault(label(r, full), []).append(r)
    return groups, full


#: the methods the goal is about, each compared with every other method at the full budget
OURS = ("pipeline-default", "pipeline-advised")


def paired(groups: dict[str, list[dict[str, Any]]], full: float) -> list[str]:
    """Each of ``OURS`` against every other method at the full budget, paired by seed:
    mean difference in test accuracy ± s.e., wins / ties / losses, and the one-sided sign
    test's p for "ours wins more often" (ties dropped). A run that chose nothing loses to
    one that chose something (its model is no model), and two that chose nothing tie."""
    from scipy import stats

    at_full = {name: rs for name, rs in groups.items() if float(rs[0]["budget_s"]) == full}
    lines = ["paired by seed at the full budget (test accuracy, ours minus theirs; 'none' loses):"]
    lines.append(f"{'ours':<18} {'theirs':<22} {'pairs':>5} {'mean diff ± s.e.':>20} {'W/T/L':>7} {'sign p':>7}")
    for ours in OURS:
        if ours not in at_full:
            continue
        mine = {int(r["seed"]): r.get("test_accuracy") for r in at_full[ours]}
        for name, rs in at_full.items():
            if name == ours:
                continue
            theirs = {int(r["seed"]): r.get("test_accuracy") for r in rs}
            both = sorted(set(mine) & set(theirs))
            if not both:
                continue
            signs = [_beats(mine[s], theirs[s]) for s in both]
            diffs = [float(mine[s]) - float(theirs[s]) for s in both if mine[s] is not None and theirs[s] is not None]
            m, se = mean_se(diffs) if diffs else (math.nan, math.nan)
            w, t, lo = signs.count(1), signs.count(0), signs.count(-1)
            p = stats.binomtest(w, w + lo, 0.5, alternative="greater").pvalue if w + lo else math.nan
            shown = f"{m:+.4f} ± {se:.4f}" + ("" if len(diffs) == len(both) else f" ({len(diffs)})")
            lines.append(f"{ours:<18} {name:<22} {len(both):>5} {shown:>20} {f'{w}/{t}/{lo}':>7} {p:>7.3f}")
    return lines


def _beats(a: Any, b: Any) -> int:
    """1 if accuracy ``a`` beats ``b``, 0 on a tie, -1 if it loses; None is no model."""
    if a is None or b is None:
        return 0 if a is None and b is None else (1 if b is None else -1)
    return (float(a) > float(b)) - (float(a) < float(b))


def scores(rows: Iterable[dict[str, Any]]) -> list[float]:
    """The test accuracies of the runs that chose a configuration (a method that finished
    nothing in its budget has None, and the table says "none" for it)."""
    return [float(r["test_accuracy"]) for r in rows if r.get("test_accuracy") is not None]


def _acc(value: Any) -> str:
    return "none" if value is None else f"{float(value):.4f}"


def time_to_match(groups: dict[str, list[dict[str, Any]]], full: float) -> str:
    target_rows = groups.get("random-full")
    runs = {
        float(rs[0]["budget_s"]) / full: mean_se(scores(rs))[0]
        for name, rs in groups.items()
        if rs[0]["method"] == "pipeline-default"
    }
    if not target_rows or not runs:
        return "time to match random-full: needs random-full and pipeline-default runs"
    target = mean_se(scores(target_rows))[0]
    reached = sorted(f for f, acc in runs.items() if acc >= target)
    tried = ", ".join(f"{f:g}: {runs[f]:.4f}" for f in sorted(runs))
    if not reached:
        return (
            f"time to match random-full ({target:.4f}): not reached at any budget fraction run ({tried}); "
            "ratio > 1 or unmeasured"
        )
    return (
        f"time for the pipeline to reach random-full's final accuracy ({target:.4f}): at most "
        f"{reached[0]:g} of random-full's time (pipeline mean test accuracy by budget fraction: {tried})"
    )


# ------------------------------------------------------------------------ running


def _refit_seconds(out: Path) -> float:
    from pipeline.state import PipelineState

    rec = PipelineState.load(out).refit
    return float(rec.wall_s) if rec is not None else 0.0


def run_pipeline(raw: dict[str, Any], started: float) -> dict[str, Any]:
    """Run one pipeline config (stages, then the refit); the search time counts from ``started``."""
    from pipeline import experiment
    from pipeline.config import build

    cfg = build(raw)
    try:
        result = experiment.run(cfg)
    except SystemExit as stop:
        if stop.code != 1:  # any other exit is not a result of the method: nothing is logged
            raise
        # exit 1: no trial reported a result. Within the budget that is a result of the method;
        # a SIGTERM to the process group kills the trials first and also ends as exit 1, and
        # main() tells the two apart by whether the budget was spent. (A SIGTERM to the driver
        # alone is a KeyboardInterrupt since pipeline.ray_runtime.stop_on_sigterm: not caught.)
        return {"test_accuracy": None, "search_s": time.monotonic() - started, "refit_s": 0.0, "trials": 0}
    total = time.monotonic() - started
    refit_s = _refit_seconds(cfg.output)
    best = result.best or {}
    return {
        "test_accuracy": best.get("test_score"),
        "val_best": best.get("value"),
        "config": best.get("config"),
        "trials": result.n_trials,
        "epochs": result.epochs,
        "search_s": total - refit_s,
        "refit_s": refit_s,
    }


def run_advised(
    seed: int, budget_s: float, fraction: float, epochs: int, out: Path, data_dir: str | None, n_configs: int
) -> dict[str, Any]:
    """Calibrate (inside the budget), propose a chain for the time left, run it."""
    from pipeline import advise, ray_runtime
    from pipeline.config import build
    from pipeline.fidelity_advisor import propose

    started = time.monotonic()
    base = experiment_settings([], seed, out, data_dir)
    base.pop("stages")
    base.update(num_samples=1, data_fraction=fraction, resolution=28, max_epochs=epochs)
    cfg = build(base)
    levels, reference = advise.calibrate(cfg, n_configs, (round(fraction * 0.3, 6), fraction), say=lambda _: None)
    left = max(1.0, budget_s - (time.monotonic() - started))
    cpus = ray_runtime.init(None, False).get("CPU", 1.0)
    chain = propose(levels, reference, left * cpus, seed=seed)[0]
    raw = experiment_settings(advised_stages(chain, left), seed, out, data_dir)
    raw["deadline_s"] = max(1.0, budget_s - (time.monotonic() - started))
    row = run_pipeline(raw, started)
    row["chain"] = chain.shape
    return row


def run_optuna(seed: int, budget_s: float, fraction: float, epochs: int, data_dir: str | None) -> dict[str, Any]:
    """Optuna TPE + HyperbandPruner in this process, training with the pipeline's own code;
    the best configuration refitted by ``pipeline.refit.fit_winner``."""
    import optuna
    import torch

    from pipeline import ray_runtime
    from pipeline.context import ContextSetup, TrialContext, call_in_context
    from pipeline.fidelity import Fidelity
    from pipeline.refit import fit_winner
    from pipeline.tasks import TaskOptions, get_task
    from pipeline.trainable import run_builtin

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cpus = float(ray_runtime.init(None, False).get("CPU", 1.0))  # the whole machine, one trial at a time
    task = get_task(TASK)
    options = TaskOptions(data_dir=data_dir)
    fidelity = Fidelity(fraction, 28, epochs)
    started = time.monotonic()
    deadline = started + budget_s
    threads = torch.get_num_threads()

    class PruningContext(TrialContext):
        """Every epoch's report goes to Optuna, which may prune; past the deadline it stops."""

        trial: Any = None

        def report(self, metrics: Any, state: Any = None) -> None:
            super().report(metrics, None)
            value = metrics.get(METRIC)
            if value is not None:
                self.trial.report(float(value), len(self.reports))
                if self.trial.should_prune():
                    raise optuna.TrialPruned()
            if time.monotonic() > deadline:
                raise _OutOfTime  # its last value stands, as a Ray stage's unfinished trial's does

    def objective(trial: Any) -> float:
        config = suggest(trial, SPACE)
        ctx = PruningContext(ContextSetup(fidelity=fidelity, seed=seed, stage="optuna", cpus=cpus))
        ctx.trial = trial
        try:
            call_in_context(lambda c: run_builtin(c, task, options), ctx, config)
        except _OutOfTime:
            trial.study.stop()  # no further trial starts
        values = [m[METRIC] for m, _ in ctx.reports if m.get(METRIC) is not None]
        if not values:
            raise optuna.TrialPruned()
        return float(values[-1])

    study = optuna.create_study(
        study_name=f"pipeline-value-seed{seed}",  # HyperbandPruner's brackets hash the name
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs),
    )
    try:
        study.optimize(objective, timeout=budget_s, n_jobs=1)  # the trial context is one per process
    finally:
        torch.set_num_threads(threads)
    search_s = time.monotonic() - started
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return {"test_accuracy": None, "search_s": search_s, "refit_s": 0.0, "trials": len(study.trials)}
    best = study.best_trial
    refit_started = time.monotonic()
    # refit_fidelity's rule for a pipeline without CV: the last fidelity on every row, on one
    # CPU like the pipelines' refits (cpus_per_trial 1), so even the thread count is the same
    model, _ = fit_winner(TASK, options, None, best.params, Fidelity(1.0, 28, epochs), seed, 1.0)
    return {
        "test_accuracy": model.manifest.get("test_score"),
        "val_best": best.value,
        "config": best.params,
        "trials": len(study.trials),
        "search_s": search_s,
        "refit_s": time.monotonic() - refit_started,
    }


class _OutOfTime(Exception):
    """Raised from an Optuna trial's report when the budget is spent."""


def suggest(trial: Any, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A configuration of the flat ``space`` drawn through an Optuna trial."""
    out: dict[str, Any] = {}
    for name, p in space.items():
        if p["type"] == "float":
            out[name] = trial.suggest_float(name, p["low"], p["high"], log=p.get("log", False))
        elif p["type"] == "int":
            if p.get("log"):
                out[name] = trial.suggest_int(name, p["low"], p["high"], log=True)
            else:
                out[name] = trial.suggest_int(name, p["low"], p["high"], step=p.get("step", 1))
        elif p["type"] == "categorical":
            out[name] = trial.suggest_categorical(name, p["choices"])
        else:
            raise ValueError(f"{name}: type {p['type']!r} is not in the flat space")
    return out


def run_one(method: str, seed: int, budget_s: float, args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.output).resolve() / method / f"seed-{seed}-b{budget_s:g}"
    shutil.rmtree(out, ignore_errors=True)  # a run killed before its log line starts over
    started = time.monotonic()
    if method == "optuna-tpe-hyperband":
        row = run_optuna(seed, budget_s, args.fraction, args.epochs, args.data_dir)
    elif method == "pipeline-advised":
        row = run_advised(seed, budget_s, args.fraction, args.epochs, out, args.data_dir, args.advise_configs)
    else:
        stages = stage_settings(method, budget_s, args.fraction, args.epochs, args.top_k)
        raw = experiment_settings(stages, seed, out, args.data_dir)
        raw["deadline_s"] = budget_s  # the hard cap on search: Ray's start-up per stage counts
        row = run_pipeline(raw, started)
    return {
        "method": method,
        "seed": seed,
        "budget_s": budget_s,
        "fraction": args.fraction,
        "epochs": args.epochs,
        "output": str(out),
        **row,
    }


def plan(
    methods: Sequence[str], seeds: Sequence[int], budget_s: float, fractions: Sequence[float]
) -> list[tuple[str, int, float]]:
    """Every (method, seed, budget) to run, seed-major so a cut run has whole seeds."""
    runs = []
    for seed in seeds:
        for method in methods:
            runs.append((method, seed, budget_s))
            if method == "pipeline-default":
                runs += [(method, seed, budget_s * f) for f in fractions if not math.isclose(f, 1.0)]
    return runs


def main(argv: Sequence[str] | None = None, runner: Callable[..., dict[str, Any]] = run_one) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget-s", type=float, default=1800.0, help="wall-clock seconds per method and seed")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    ap.add_argument("--fraction", type=float, default=0.2, help="data fraction of full fidelity (of 50,000 rows)")
    ap.add_argument("--epochs", type=int, default=6, help="epochs of full fidelity (and of the refit)")
    ap.add_argument("--top-k", type=int, default=3, help="topk-1epoch: configurations trained to full epochs")
    ap.add_argument("--advise-configs", type=int, default=4, help="pipeline-advised: configurations calibrated")
    ap.add_argument(
        "--fractions-of-budget", type=float, nargs="*", default=[0.2], help="extra budgets for pipeline-default"
    )
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--output", default="pipeline-value-runs", help="experiment directories")
    ap.add_argument("--log", default="pipeline-value.jsonl", help="append-only JSONL, one line per finished run")
    ap.add_argument("--report", metavar="LOG", help="only print the report of LOG")
    args = ap.parse_args(argv)
    if args.report:
        print(report(read_log(Path(args.report))))
        return 0
    if args.budget_s <= 0 or not 0 < args.fraction <= 1 or args.epochs < 2 or args.top_k < 1:
        ap.error("--budget-s > 0, 0 < --fraction <= 1, --epochs >= 2 and --top-k >= 1 are required")
    log = Path(args.log)
    done = done_keys(log)
    for method, seed, budget in plan(args.methods, args.seeds, args.budget_s, args.fractions_of_budget):
        if run_key(method, seed, budget) in done:
            print(f"pipeline_value: {method} seed {seed} budget {budget:g}s: in the log, skipped", flush=True)
            continue
        print(f"pipeline_value: {method} seed {seed} budget {budget:g}s ...", flush=True)
        row = runner(method, seed, budget, args)
        if row.get("test_accuracy") is None and float(row["search_s"]) < budget:
            # every method here runs until its budget is spent; ending earlier with nothing means
            # it was stopped from outside (a SIGTERM to the group kills the trials first, and the
            # driver then sees a stage without results) or crashed: not a result of the method
            print(
                f"pipeline_value: {method} seed {seed} ended with nothing after {row['search_s']:.0f}s "
                f"of its {budget:g}s: stopped or crashed, not logged; rerun the command to redo it",
                file=sys.stderr,
                flush=True,
            )
            return 1
        append_log(log, row)
        print(
            f"pipeline_value: {method} seed {seed}: test accuracy {row.get('test_accuracy')}, "
            f"search {row['search_s']:.0f}s, refit {row['refit_s']:.0f}s",
            flush=True,
        )
    print(report(read_log(log)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
