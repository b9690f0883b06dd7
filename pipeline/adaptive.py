"""An ``adaptive: true`` stage: probed halfway, stopped early when its ranking predicts nothing.

The stage runs in up to three Ray experiments, each resumable on its own:

1. ``<stage>``: the first :data:`~pipeline.fidelity_correlation.PROBE_FRACTION` of its
   trial budget (rounded up), as a normal stage;
2. ``<stage>.probe``: what the stage would hand on now (its top-k and bridges) trained at
   the *next* stage's fidelity (FIFO, exactly those configurations). The two rankings
   give the stage pair's rank correlation with its bootstrap interval;
3. if the interval's upper end is at least ``adaptive_threshold``, ``<stage>.more``: the
   rest of the trial budget (its searcher warm-started with part 1's results when it can
   take them, and seeded apart from part 1), after which the stage hands on as usual.
   If the upper end is below the threshold the stage stops here: the ranking does not
   predict the next stage, so more trials of it would be wasted. Its unspent trials, at
   its measured cost per trial, become extra trials of the next stage at the probe's
   measured cost per trial (:func:`~pipeline.fidelity_correlation.moved_trials`), and a
   log line says so.

Nothing the probe trained is wasted: its results are results at the next stage's
fidelity, so the probed configurations that are still handed on are not run again; the
next stage takes their outcomes as its own (``carried``) and runs that many fewer
trials. The decision, the moved trials and the carried outcomes are written to the
stage's record in ``pipeline.json`` as soon as the probe is in, so ``--resume`` after a
kill keeps the decision rather than taking it again.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pipeline.fidelity_correlation import PROBE_FRACTION, Cost, add_costs, moved_trials, predicts_poorly, stage_cost
from pipeline.handoff import after_stage, describe_pair, measure_pair
from pipeline.layout import ADAPTIVE_PARTS
from pipeline.ranking import TrialOutcome, config_key, observations, rank, top_k
from pipeline.stages_config import Budget, StageSpec
from pipeline.state import PipelineState

PROBE, MORE = ADAPTIVE_PARTS
#: offset of the seed index of part 3 (``<stage>.more``): its searcher must not draw part 1's configurations again
MORE_SEED_OFFSET = 1000

#: (spec, index for the seed, points, warm observations, extra trials) -> (outcomes, wall seconds)
RunPart = Callable[[StageSpec, int, list[dict[str, Any]], list[list[Any]], int], tuple[list[TrialOutcome], float]]


def run(
    cfg: Any, state: PipelineState, index: int, points, warm, extra: int, run_part: RunPart, save
) -> tuple[list[TrialOutcome], float]:
    """Run adaptive stage ``index``; return all its outcomes and its wall time (probe included)."""
    spec, rec, nxt = cfg.stages[index], state.stages[index], cfg.stages[index + 1]
    n1 = math.ceil(spec.budget.trials * PROBE_FRACTION)
    part1 = replace(spec, budget=replace(spec.budget, trials=n1))
    outcomes, wall = run_part(part1, index, points, warm, extra)
    rec.top_k = top_k(outcomes, cfg.mode, spec.top_k)
    after_stage(cfg, state, index, outcomes, _seed(cfg, index))  # what the stage would hand on now
    probe_points = [c.config for c in rec.top_k + rec.bridges]
    probe_spec = replace(
        nxt,
        name=spec.name + PROBE,
        searcher="random",
        scheduler="fifo",
        budget=Budget(trials=len(probe_points)),
        warm_start=False,
    )
    probe, probe_wall = run_part(probe_spec, index, probe_points, [], 0)
    wall += probe_wall
    probe_cost = stage_cost((o.metrics for o in probe), cfg.cpus_per_trial, cfg.gpus_per_trial)
    if rec.adaptive is None:  # decided once; a resumed session keeps the decision
        rec.adaptive = decide(cfg, spec, nxt, rec.cost or {}, probe_cost.per_trial_s, n1, probe, rec, index)
        save()
    _say(f"mftune: stage {spec.name}: adaptive: {rec.adaptive['note']}")
    if rec.adaptive["decision"] == "continue":
        rest = replace(spec, name=spec.name + MORE, budget=replace(spec.budget, trials=spec.budget.trials - n1))
        more, more_wall = run_part(
            rest, index + MORE_SEED_OFFSET, [], observations(outcomes) if _can_warm(cfg, spec) else [], 0
        )
        outcomes, wall = outcomes + more, wall + more_wall
    rec.adaptive["probe_cost"] = probe_cost.to_dict()
    rec.adaptive["probe_outcomes"] = [_plain(o, cfg.metric) for o in probe]
    return outcomes, wall


def decide(cfg, spec, nxt, cost, probe_per_trial, n1, probe, rec, index) -> dict[str, Any]:
    corr = measure_pair(rec, rank(probe, cfg.mode), _seed(cfg, index))
    stop = predicts_poorly(corr, spec.adaptive_threshold)
    remaining = spec.budget.trials - n1
    per_trial = cost.get("trial_s", 0.0) / cost["measured"] if cost.get("measured") else 0.0
    moved = moved_trials(remaining, per_trial, probe_per_trial) if stop else 0
    pair = describe_pair(spec.name, nxt.name, corr)
    if stop:
        note = (
            f"after {n1} of {spec.budget.trials} trials the probe at {nxt.name}'s fidelity says {pair}; the upper end "
            f"is below adaptive_threshold {spec.adaptive_threshold:g}, so the stage stops here and its {remaining} "
            f"unspent trials ({remaining} x {per_trial:.1f}s) move to {nxt.name} as {moved} extra trial{'s' if moved != 1 else ''} "
            f"(x {probe_per_trial:.1f}s)"
        )
    else:
        note = (
            f"after {n1} of {spec.budget.trials} trials the probe at {nxt.name}'s fidelity says {pair}; not below "
            f"adaptive_threshold {spec.adaptive_threshold:g}, so the stage runs its other {remaining} trials"
        )
    return {
        "decision": "stop" if stop else "continue",
        "probed_after": n1,
        "correlation": corr,
        "threshold": spec.adaptive_threshold,
        "remaining_trials": remaining,
        "moved_trials": moved,
        "seconds_per_trial": per_trial,  # measured: this stage's part 1
        "next_seconds_per_trial": probe_per_trial,  # measured: the probe, at the next stage's fidelity
        "note": note,
    }


def next_inputs(
    state: PipelineState, index: int, metric: str
) -> tuple[list[dict[str, Any]], int, int, list[TrialOutcome]]:
    """What stage ``index`` gives the next one: (points to evaluate first, how many of them
    are bridges, trials on top of the next stage's budget, outcomes it takes as its own).

    Extra trials: the bridges, plus the trials an adaptive stage's stop moved, less the
    handed-on configurations its probe already trained at the next fidelity.
    """
    rec = state.stages[index]
    carry = carried(state, index, metric)
    done = {config_key(o.config) for o in carry}
    points = [c.config for c in rec.top_k + rec.bridges if config_key(c.config) not in done]
    return points, len(rec.bridges), len(rec.bridges) + moved(state, index) - len(carry), carry


def carried(state: PipelineState, index: int, metric: str) -> list[TrialOutcome]:
    """The probe outcomes of stage ``index`` that the next stage takes as its own: those of
    the configurations the stage finally handed on (top-k and bridges)."""
    rec = state.stages[index]
    if not rec.adaptive or "probe_outcomes" not in rec.adaptive:
        return []
    keep = {config_key(c.config) for c in rec.top_k + rec.bridges}
    return [
        TrialOutcome(
            trial_id=p["trial_id"],
            config=p["config"],
            value=p["value"],
            iterations=p["iterations"],
            metrics={metric: p["value"], "time_total_s": p["time_total_s"]},
        )
        for p in rec.adaptive["probe_outcomes"]
        if config_key(p["config"]) in keep and p["value"] is not None
    ]


def moved(state: PipelineState, index: int) -> int:
    rec = state.stages[index]
    return int(rec.adaptive.get("moved_trials", 0)) if rec.adaptive else 0


def add_probe_cost(rec_cost: dict[str, Any] | None, adaptive: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stage's cost with its probe's (the probe is part of what the stage spent)."""
    if not adaptive or "probe_cost" not in adaptive or rec_cost is None:
        return rec_cost
    return add_costs(rec_cost, Cost(**adaptive["probe_cost"]))


def _plain(o: TrialOutcome, metric: str) -> dict[str, Any]:
    t = o.metrics.get("time_total_s")
    return {
        "trial_id": o.trial_id,
        "config": o.config,
        "value": o.value,
        "iterations": o.iterations,
        "time_total_s": float(t) if isinstance(t, (int, float)) else None,
    }


def _seed(cfg: Any, index: int) -> int:
    from pipeline.experiment import stage_seed

    return stage_seed(cfg.seed, index)


def _can_warm(cfg: Any, spec: StageSpec) -> bool:
    from pipeline.stages_config import _can_warm_start, check_searcher

    return _can_warm_start(check_searcher(spec, cfg.space, spec.name))


def _say(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
