"""``python -m pipeline.advise``: calibrate the task's fidelities, propose a stage chain.

A short calibration: ``--configs`` random configurations of the task's search space are
trained at every data fraction (``--fractions``) x resolution (the task's allowed ones)
to the task's epochs; each epoch of each trial is a fidelity of its own (the value it
reported then, and its share of the trial's measured seconds, epochs costing alike).
Against the most expensive fidelity (all rows, the native resolution, every epoch) it
measures each fidelity's cost and Spearman rank correlation (with a bootstrap interval),
then proposes the chain with the best expected quality at an equal budget
(``pipeline.fidelity_advisor``), printed as the ``stages`` of an experiment YAML to keep.

``stages: auto`` in an experiment's YAML runs the same calibration before the experiment
and then the proposed chain (``resolve_auto``, called from ``pipeline.config.build``).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pipeline.errors import UsageError, fail
from pipeline.fidelity_advisor import Chain, Level, chain_yaml, propose
from pipeline.fidelity_correlation import rank_correlation

PROG = "python -m pipeline.advise"
DEFAULT_CONFIGS = 8
DEFAULT_FRACTIONS = (0.3, 1.0)
#: the budget the chains are sized to when none is given: this many trials at the reference fidelity
DEFAULT_REFERENCE_TRIALS = 12


def _epoch_levels(max_epochs: int) -> list[int]:
    return sorted({max(1, max_epochs // 5), max(1, max_epochs // 2), max_epochs})


def calibrate(
    cfg: Any, n_configs: int, fractions: Sequence[float], say=print, only: Sequence[int] | None = None
) -> tuple[list[Level], Level]:
    """Train ``n_configs`` random configurations at every (fraction, resolution); measure levels.
    ``only``: the resolutions to try (default: every one the task allows)."""
    from pipeline.experiment import _preflight, _run_stage
    from pipeline.stages_config import Budget, StageSpec
    from pipeline.tasks import Fidelity, get_task

    task = None if cfg.custom else get_task(cfg.task)
    resolutions: list[int | None] = list(getattr(task, "resolutions", ()) or [None])
    if only:
        bad = [r for r in only if r not in resolutions]
        if bad:
            allowed = ", ".join(map(str, resolutions))
            raise UsageError("resolutions", f"{cfg.task} allows {allowed}, got {bad[0]}")
        resolutions = sorted(only, reverse=True)
    native = getattr(task, "native_resolution", None) or None
    epochs = cfg.stages[-1].fidelity.max_epochs
    concurrent = _preflight(cfg)
    rng = np.random.default_rng(cfg.seed)
    configs = [cfg.space.sample(rng) for _ in range(n_configs)]
    tmp = Path(tempfile.mkdtemp(prefix="mftune-advise-"))
    try:
        work = replace(cfg, output=tmp)
        values: dict[tuple[float, int | None, int], list[float | None]] = {}
        costs: dict[tuple[float, int | None, int], float] = {}
        for res in resolutions:
            for frac in fractions:
                name = f"r{res or 'n'}-f{round(frac * 100)}"
                spec = StageSpec(
                    name=name,
                    fidelity=Fidelity(data_fraction=frac, resolution=res, max_epochs=epochs),
                    searcher="random",
                    scheduler="fifo",
                    budget=Budget(trials=n_configs),
                    top_k=1,
                )
                say(f"{PROG}: calibrating {name}: {n_configs} configurations x {epochs} epochs")
                outcomes, _ = _run_stage(work, spec, 0, configs, [], concurrent, tmp / "events.jsonl")
                curves = _curves(tmp / "events.jsonl", name)
                for e in _epoch_levels(epochs):
                    key = (frac, res, e)
                    by_config = {_key(o.config): o for o in outcomes}
                    row, secs = [], []
                    for c in configs:
                        o = by_config.get(_key(c))
                        curve = curves.get(o.trial_id, {}) if o is not None else {}
                        row.append(curve.get(e))
                        t = o.metrics.get("time_total_s") if o is not None else None
                        if isinstance(t, (int, float)) and o.iterations:
                            secs.append(float(t) * e / o.iterations)
                    values[key], costs[key] = row, float(np.mean(secs)) if secs else math.inf
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref_key = (max(fractions), native if native in resolutions else max(r for r in resolutions if r), epochs)
    if None in resolutions:
        ref_key = (max(fractions), None, epochs)
    sign = 1.0 if cfg.mode == "max" else -1.0
    ref_values = values[ref_key]
    levels = []
    for key, row in values.items():
        pairs = [(a, b) for a, b in zip(row, ref_values) if a is not None and b is not None]
        corr = rank_correlation([sign * a for a, _ in pairs], [sign * b for _, b in pairs], seed=cfg.seed)
        frac, res, e = key
        fidelity: dict[str, Any] = {"data_fraction": frac, "max_epochs": e}
        if res is not None:
            fidelity["resolution"] = res
        name = f"r{res}-f{round(frac * 100)}-e{e}" if res is not None else f"f{round(frac * 100)}-e{e}"
        levels.append(Level(name, fidelity, costs[key] * cfg.cpus_per_trial, corr.spearman, corr.spearman_ci))
    reference = next(lv for lv, key in zip(levels, values) if key == ref_key)
    return levels, reference


def _key(config: dict[str, Any]) -> str:
    from pipeline.ranking import config_key

    return config_key(config)


def _curves(events_path: Path, stage: str) -> dict[str, dict[int, float]]:
    """Per trial: the value it reported at each epoch (from the events log)."""
    from pipeline.events import read_events

    out: dict[str, dict[int, float]] = {}
    for e in read_events(events_path):
        if e.get("stage") == stage and e.get("e") == "result" and e.get("value") is not None and e.get("iter"):
            out.setdefault(e["trial"], {})[int(e["iter"])] = float(e["value"])
    return out


def advise(
    cfg: Any,
    n_configs: int,
    fractions: Sequence[float],
    budget_s: float | None,
    say=print,
    resolutions: Sequence[int] | None = None,
) -> list[Chain]:
    levels, reference = calibrate(cfg, n_configs, fractions, say, resolutions)
    budget = budget_s if budget_s is not None else DEFAULT_REFERENCE_TRIALS * reference.cost
    chains = propose(levels, reference, budget, seed=cfg.seed)
    say(f"{PROG}: {len(levels)} fidelities, reference {reference.name} ({reference.cost:.2f} CPU-s a configuration)")
    say(f"{PROG}: {'fidelity':<16} {'CPU-s/config':>12}  Spearman with the reference [90% CI]")
    for lv in sorted(levels, key=lambda lv: lv.cost):
        rho = "n/a" if lv.rho is None else f"{lv.rho:+.2f}"
        ci = f" [{lv.rho_ci[0]:+.2f}, {lv.rho_ci[1]:+.2f}]" if lv.rho_ci else ""
        say(f"{PROG}: {lv.name:<16} {lv.cost:>12.2f}  {rho}{ci}")
    say(f"{PROG}: chains at an equal budget of {budget:.0f} CPU-s (expected percentile of the chosen configuration):")
    shown = chains[:6] + [c for c in chains[6:] if len(c.levels) == 1]  # random search at the reference, always
    for c in shown:
        single = "  <- one stage at the reference fidelity" if len(c.levels) == 1 else ""
        say(f"{PROG}:   {c.quality:.4f}  {c.shape}  ({c.seconds:.0f} CPU-s){single}")
    return chains


def proposal_yaml(cfg: Any, chain: Chain) -> dict[str, Any]:
    out: dict[str, Any] = {"task": cfg.task, "seed": cfg.seed, "stages": chain_yaml(chain)}
    if cfg.cv is not None:
        out["cv"] = {"folds": cfg.cv.folds, "top_k": min(cfg.cv.top_k, chain.trials[-1])}
    return out


def resolve_auto(raw: dict[str, Any], check_data: bool) -> dict[str, Any]:
    """``stages: auto``: the settings with the proposed chain in place of ``auto``."""
    from pipeline.config import ONE_STAGE_FIELDS, build

    for key in ONE_STAGE_FIELDS:
        if raw.get(key) is not None:
            raise UsageError(key, "sets up a one-stage experiment, but the config has `stages: auto`")
    rest = {k: v for k, v in raw.items() if k != "stages"}
    cfg = build(rest, check_data)  # every other setting is checked before anything runs
    if cfg.custom:
        raise UsageError(
            "stages", "auto needs a built-in task (the advisor calibrates its fidelities); list the stages"
        )
    chains = advise(
        cfg, DEFAULT_CONFIGS, DEFAULT_FRACTIONS, deadline_cpu_s(cfg), say=lambda line: print(line, flush=True)
    )
    proposal = proposal_yaml(cfg, chains[0])
    print(f"{PROG}: stages: auto runs the best chain: {chains[0].shape}", flush=True)
    merged = {**raw, "stages": proposal["stages"]}
    if "cv" in proposal and raw.get("cv") is not None:
        merged["cv"] = {**raw["cv"], "top_k": proposal["cv"]["top_k"]}
    return merged


def deadline_cpu_s(cfg: Any) -> float | None:
    """The chain's budget under ``deadline_s``: its seconds times the cluster's CPUs (the
    calibration has started Ray), what the trials could use at most; None without a
    deadline (the advisor's default budget). The calibration itself runs before the
    experiment, outside its deadline; Ray's start-ups and hand-offs are inside, so the
    deadline, not the chain, may end the last stage."""
    if cfg.deadline_s is None:
        return None
    from pipeline import ray_runtime

    return float(cfg.deadline_s) * ray_runtime.init(cfg.address, cfg.verbose).get("CPU", 1.0)


def _fractions(text: str) -> tuple[float, ...]:
    try:
        values = tuple(sorted({float(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise UsageError("fractions", f"must be numbers in (0, 1] separated by commas, got {text!r}") from None
    if not values or any(not 0 < v <= 1 for v in values):
        raise UsageError("fractions", f"must be numbers in (0, 1] separated by commas, got {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.extras import check_pipeline_extra

    if check_pipeline_extra(PROG):
        return 2
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    ap.add_argument("--task", default="digits", help="built-in task (default: digits)")
    ap.add_argument("--config", metavar="FILE.yaml", help="experiment settings (task, search space, data, ...)")
    ap.add_argument("--configs", type=int, default=DEFAULT_CONFIGS, help="configurations to calibrate on (default: 8)")
    ap.add_argument("--fractions", default=",".join(map(str, DEFAULT_FRACTIONS)), help="data fractions to try")
    ap.add_argument("--resolutions", help="image sides to try, e.g. 7,14 (default: every one the task allows)")
    ap.add_argument("--max-epochs", metavar="N", help="epochs of the reference fidelity (default: the task's)")
    ap.add_argument("--budget-s", type=float, help="CPU-seconds the chains are sized to (default: 12 reference trials)")
    ap.add_argument("--seed", default=0, type=int)
    ap.add_argument("--data-dir", metavar="DIR", help="fashion-mnist / images: where the data is")
    args = ap.parse_args(argv)
    try:
        from pipeline import ray_runtime
        from pipeline.config import build, load_yaml

        ray_runtime.quiet_environment(False)
        ray_runtime.quiet_loggers(False)
        if args.configs < 3:
            raise UsageError("configs", f"must be an integer >= 3 (a rank correlation needs 3), got {args.configs}")
        fractions = _fractions(args.fractions)
        raw = load_yaml(args.config) if args.config else {"task": args.task}
        raw = {k: v for k, v in raw.items() if k not in ("stages", "cv")}
        raw.update({k: v for k, v in (("max_epochs", args.max_epochs), ("data_dir", args.data_dir)) if v})
        raw["seed"] = args.seed
        cfg = build(raw)
        if cfg.custom:
            raise UsageError("task", "the advisor calibrates a built-in task's fidelities")
        resolutions = None
        if args.resolutions:
            try:
                resolutions = sorted({int(v) for v in args.resolutions.split(",") if v.strip()})
            except ValueError:
                raise UsageError(
                    "resolutions", f"must be integers separated by commas, got {args.resolutions!r}"
                ) from None
        chains = advise(cfg, args.configs, fractions, args.budget_s, resolutions=resolutions)
        print(f"# proposed by {PROG} (best expected quality at an equal budget): {chains[0].shape}")
        print(yaml.safe_dump(proposal_yaml(cfg, chains[0]), sort_keys=False, default_flow_style=None), end="")
    except (UsageError, KeyboardInterrupt) as err:
        return fail(PROG, err, set())
    return 0


if __name__ == "__main__":
    sys.exit(main())
