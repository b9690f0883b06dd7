"""The report's section on whether each fidelity stage earned its keep.

Per stage: its measured cost (CPU/GPU-seconds, ``pipeline.fidelity_correlation.Cost``);
per stage pair: how the cheaper stage's ranking of what it handed on (top-k and bridges)
predicted the next stage's ranking; for the finalists: last-stage values against CV
means; and any adaptive decision. Read from ``pipeline.json`` alone, like the rest of
the report.
"""

from __future__ import annotations

from typing import Any

from pipeline.fidelity_correlation import MIN_INTERVAL_PAIRS
from pipeline.state import PipelineState


def _value(corr: dict[str, Any], key: str) -> str:
    value, ci = corr.get(key), corr.get(f"{key}_ci")
    if value is None:
        return "-"
    return f"{value:+.2f}" + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else "")


def markdown(state: PipelineState) -> list[str]:
    lines = [
        "## Stage fidelity correlation and cost",
        "",
        "Cost is measured: each trial's wall time (Ray's `time_total_s`) times the CPUs and GPUs it held, summed "
        "over the stage. A pair's correlation compares the cheaper stage's ranking of the configurations it handed "
        "on (its top-k and its bridges, configurations taken from further down its ranking) with their ranking at "
        "the next stage; intervals are 90% percentile bootstraps (seeded), given from "
        f"{MIN_INTERVAL_PAIRS} matched configurations up (fewer make the bootstrap meaningless).",
        "",
        "| stage | CPU-s | GPU-s | trials | handed on (top-k + bridges) | next | Spearman [90% CI] | Kendall [90% CI] "
        "| matched | top-k overlap |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = [s.name for s in state.stages] + (["cv"] if state.cv is not None else [])
    for i, rec in enumerate(state.stages):
        cost = rec.cost or {}
        corr = (state.stages[i + 1].correlation if i + 1 < len(state.stages) else None) or {}
        nxt = names[i + 1] if i + 1 < len(names) else "-"
        overlap = corr.get("top_k_overlap")
        lines.append(
            f"| {rec.name} | {cost.get('cpu_s', 0.0):.1f} | {cost.get('gpu_s', 0.0):.1f} | {rec.trials} "
            f"| {len(rec.top_k)} + {len(rec.bridges)} | {nxt if i + 1 < len(state.stages) else '-'} "
            f"| {_value(corr, 'spearman')} | {_value(corr, 'kendall')} | {corr.get('matched', '-')} "
            f"| {'-' if overlap is None else f'{overlap:.0%}'} |"
        )
    cv = state.cv
    if cv is not None and cv.cost:
        lines.append(
            f"| cv | {cv.cost['cpu_s']:.1f} | {cv.cost['gpu_s']:.1f} | {len(cv.finalists)} finalists "
            "| - | - | - | - | - | - |"
        )
    lines.append("")
    if cv is not None and cv.correlation:
        c = cv.correlation
        if c.get("spearman") is None:
            lines.append(f"Finalists: {c['n']} with a CV mean, too few for a rank correlation with the last stage.")
        else:
            lines.append(
                f"Finalists: last-stage values against CV means over {c['n']} finalists: Spearman "
                f"{_value(c, 'spearman')}, Kendall {_value(c, 'kendall')}."
            )
        lines.append("")
    for rec in state.stages:
        if rec.adaptive:
            lines += [f"Adaptive stage {rec.name}: {rec.adaptive.get('note', rec.adaptive.get('decision'))}.", ""]
    return lines
