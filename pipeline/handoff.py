"""What a finished stage hands on, and what the pair it closes measured (stage records only).

After a stage's trials are in, :func:`after_stage`

1. measures how the previous stage's ranking predicted this one
   (``pipeline.fidelity_correlation.pair_correlation`` over the configurations the previous
   stage handed on: its top-k and its bridges) and stores it on this stage's record (a
   finished stage's record never changes afterwards: ``--resume`` relies on that);
2. measures this stage's cost (CPU/GPU-seconds from each trial's ``time_total_s``);
3. picks what this stage hands on: the top-k (``top_k: auto`` sizes it on the correlation
   just measured, :func:`pipeline.fidelity_correlation.auto_top_k`) and ``bridge``
   configurations from further down its ranking.

Bridges are ordinary trials of the next stage: they are evaluated there first with the
top-k, on top of its trial budget (``budget.trials`` stays the budget of its own
search), and they can win there, or be handed on again, only on their result at that
stage's fidelity, like any other trial. They are never counted as the previous stage's
picks: ``top_k`` in the records and reports is the top-k alone.
"""

from __future__ import annotations

from typing import Any

from pipeline.fidelity_correlation import (
    MIN_INTERVAL_PAIRS,
    auto_top_k,
    bridge_positions,
    finalist_correlation,
    pair_correlation,
    stage_cost,
)
from pipeline.ranking import TrialOutcome, config_key, rank
from pipeline.state import Candidate, CVRecord, PipelineState, StageRecord


def after_stage(cfg: Any, state: PipelineState, index: int, outcomes: list[TrialOutcome], seed: int) -> None:
    """Fill stage ``index``'s record from its outcomes (its correlation is with the stage before)."""
    rec, spec = state.stages[index], cfg.stages[index]
    ranked = rank(outcomes, cfg.mode)
    if index > 0:
        rec.correlation = measure_pair(state.stages[index - 1], ranked, seed)
    rec.cost = stage_cost((o.metrics for o in outcomes), cfg.cpus_per_trial, cfg.gpus_per_trial).to_dict()
    last = index == len(cfg.stages) - 1
    if spec.auto_top_k and not last:
        own = (rec.adaptive or {}).get("correlation") or {}  # an adaptive stage's probe measured this very pair
        rho = own["spearman"] if own.get("spearman") is not None else latest_rho(state, index + 1)
        k = auto_top_k(rho, cfg.stages[index + 1].budget.trials, len(ranked))
        rec.top_k = candidates(ranked[:k])
    k = len(rec.top_k)
    rec.bridge_ranks = [] if last else bridge_positions(len(ranked), k, spec.bridge)
    rec.bridges = candidates([ranked[p] for p in rec.bridge_ranks])


def candidates(outcomes: list[TrialOutcome]) -> list[Candidate]:
    return [
        Candidate(
            config=o.config, value=float(o.value), trial_id=o.trial_id, iterations=o.iterations, checkpoint=o.checkpoint
        )
        for o in outcomes
        if o.value is not None
    ]


def handed(rec: StageRecord) -> list[tuple[str, int]]:
    """(configuration key, rank position in the stage) of everything the stage handed on."""
    return [(config_key(c.config), i) for i, c in enumerate(rec.top_k)] + [
        (config_key(c.config), p) for c, p in zip(rec.bridges, rec.bridge_ranks)
    ]


def measure_pair(prev: StageRecord, ranked_next: list[TrialOutcome], seed: int) -> dict[str, Any]:
    return pair_correlation(handed(prev), [config_key(o.config) for o in ranked_next], k=len(prev.top_k), seed=seed)


def latest_rho(state: PipelineState, index: int) -> float | None:
    """Spearman rho of the most recent measured stage pair ending before stage ``index``
    (a record's ``correlation`` is the pair that ends at it)."""
    for rec in reversed(state.stages[:index]):
        if rec.correlation and rec.correlation.get("spearman") is not None:
            return float(rec.correlation["spearman"])
    return None


def after_cv(cfg: Any, rec: CVRecord, outcomes: list[TrialOutcome], cv_means: list[float | None], seed: int) -> None:
    rec.cost = stage_cost((o.metrics for o in outcomes), cfg.cpus_per_trial, cfg.gpus_per_trial).to_dict()
    rec.correlation = finalist_correlation([c.value for c in rec.finalists], cv_means, seed=seed)


# ------------------------------------------------------------------------ text


def _ci(corr: dict[str, Any], key: str) -> str:
    value, ci = corr.get(key), corr.get(f"{key}_ci")
    if value is None:
        return "n/a"
    return f"{value:+.2f}" + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else "")


def describe_pair(here: str, there: str, corr: dict[str, Any] | None) -> str:
    """One line: how stage ``here`` ranked the configurations it handed to ``there``."""
    if not corr:
        return f"{here} -> {there}: not measured"
    if corr.get("spearman") is None:
        return f"{here} -> {there}: {corr['matched']} of {corr['handed']} handed-on configurations have results in both; too few for a rank correlation"
    overlap = corr.get("top_k_overlap")
    top = f"; top-{corr['k']} overlap {overlap:.0%}" if overlap is not None else ""
    return (
        f"{here} -> {there}: Spearman {_ci(corr, 'spearman')}, Kendall {_ci(corr, 'kendall')} "
        f"({_interval_note(corr)}) over {corr['matched']} configurations{top}"
    )


def _interval_note(corr: dict[str, Any]) -> str:
    return "90% bootstrap" if corr.get("spearman_ci") else f"no interval below {MIN_INTERVAL_PAIRS} pairs"


def describe_inputs(points: int, bridges: int, carried: int, extra: int) -> str:
    """The part of a stage's start line about what the previous stage handed it."""
    handed = points + carried
    if not handed:
        return ""
    text = f"; first the top {handed - bridges} of the previous stage"
    text += f" and {bridges} bridge{'s' if bridges != 1 else ''} below them" if bridges else ""
    if carried:
        text += f" ({carried} already trained by its adaptive probe)"
    moved = extra - bridges + carried
    return text + (f"; +{moved} trial{'s' if moved != 1 else ''} moved from the previous stage" if moved else "")


def describe_cost(cost: dict[str, Any] | None, gpus: bool) -> str:
    if not cost:
        return "cost n/a"
    text = f"{cost['cpu_s']:.1f} CPU-s" + (f", {cost['gpu_s']:.1f} GPU-s" if gpus else "")
    return text + (f" ({cost['unmeasured']} trials unmeasured)" if cost.get("unmeasured") else "")


def summary(cfg: Any, state: PipelineState) -> list[str]:
    """The end-of-run lines: each stage's measured cost, each pair's correlation, the finalists'."""
    gpus = cfg.gpus_per_trial > 0
    costs = ", ".join(f"{s.name} {describe_cost(s.cost, gpus)}" for s in state.stages)
    if state.cv is not None and state.cv.cost:
        costs += f", cv {describe_cost(state.cv.cost, gpus)}"
    lines = [f"measured cost: {costs}"]
    for a, b in zip(state.stages, state.stages[1:]):
        lines.append(describe_pair(a.name, b.name, b.correlation))
    if state.cv is not None and state.cv.correlation is not None:
        c = state.cv.correlation
        if c.get("spearman") is None:
            lines.append(
                f"{state.stages[state.final].name} -> cv: {c['n']} finalists with a CV mean; too few for a rank correlation"
            )
        else:
            lines.append(
                f"{state.stages[state.final].name} -> cv: Spearman {_ci(c, 'spearman')}, Kendall {_ci(c, 'kendall')} "
                f"of last-stage values with CV means over {c['n']} finalists ({_interval_note(c)})"
            )
    return lines
