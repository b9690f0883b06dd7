"""The report of one experiment: ``report.md`` with its trials, winner and plots.

Written at the end of every run into the experiment directory, and again on demand
with ``python -m pipeline.report DIR``. Plots: optimization history, parameter
importance (a random forest over the encoded configurations of the stage with the
most finished trials), and how many trials reached each epoch (the rungs a scheduler
let them climb).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import plots
from pipeline.history import Experiment, load
from pipeline.results import atomic_write
from searchers.space import SearchSpace, SpaceError

PLOTS = "plots"
_TOP_ROWS = 10


def write_report(path: str | Path) -> Path:
    exp = load(path)
    out = exp.path / PLOTS
    figures = []
    points = _history_points(exp)
    if not points.empty:
        figures.append(("Optimization history", plots.history(points, exp.metric, exp.mode, out / "history.png")))
    imp = parameter_importance(exp)
    if imp is not None:
        stage, names, values = imp
        figures.append(
            (
                "Parameter importance",
                plots.importance(
                    names, values, f"Parameter importance for {exp.metric} (stage {stage})", out / "importance.png"
                ),
            )
        )
    reached = rung_counts(exp)
    if reached:
        figures.append(("Trials per rung", plots.rungs(reached, out / "rungs.png")))
    text = _markdown(exp, figures, imp)
    atomic_write(exp.path / "report.md", lambda tmp: Path(tmp).write_text(text))
    return exp.path / "report.md"


def _history_points(exp: Experiment) -> pd.DataFrame:
    stages = set(exp.stage_names)
    done = [e for e in exp.completions() if e["stage"] in stages and e.get("value") is not None]
    done.sort(key=lambda e: e["t"])
    return pd.DataFrame([{"order": i + 1, "stage": e["stage"], "value": e["value"]} for i, e in enumerate(done)])


def parameter_importance(exp: Experiment, min_trials: int = 8) -> tuple[str, list[str], list[float]] | None:
    """(stage, parameter names, importances summing to 1), or None with too few trials."""
    from sklearn.ensemble import RandomForestRegressor

    space = SearchSpace(exp.settings["search_space"])
    by_stage = {s: exp.completions(s) for s in exp.stage_names}
    stage = max(by_stage, key=lambda s: len(by_stage[s]))
    rows, ys = [], []
    for e in by_stage[stage]:
        if e.get("value") is None:
            continue
        try:
            x, _ = space.encode_flat(space.to_flat(e["config"]))
        except (SpaceError, KeyError, TypeError):
            continue
        rows.append(x)
        ys.append(e["value"])
    if len(rows) < min_trials or np.ptp(ys) == 0:
        return None
    forest = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=int(exp.settings.get("seed", 0)))
    forest.fit(np.array(rows), np.array(ys))
    names = list(space.names)
    values = [float(forest.feature_importances_[space.slice_of(n)].sum()) for n in names]
    return stage, names, values


def rung_counts(exp: Experiment) -> dict[str, dict[int, int]]:
    """Per stage: epoch e -> number of trials whose training reached e."""
    if exp.trials.empty or "training_iteration" not in exp.trials:
        return {}
    out = {}
    for stage, df in exp.trials.groupby("stage", sort=False):
        its = df["training_iteration"].fillna(0).astype(int).to_numpy()
        if its.max() > 0:
            out[str(stage)] = {e: int((its >= e).sum()) for e in range(1, int(its.max()) + 1)}
    return out


# ---------------------------------------------------------------------- markdown


def _markdown(exp: Experiment, figures: list[tuple[str, Path]], imp) -> str:
    s = exp.settings
    lines = [
        f"# Experiment report: {exp.path.name}",
        "",
        f"Task `{s['task']}`, metric `{exp.metric}` ({exp.mode}), seed {s.get('seed', 0)}; "
        f"status {exp.state.status}, {exp.state.sessions} session(s).",
        "",
        "## Stages",
        "",
        "| stage | fidelity | searcher + scheduler | trials (failed) | epochs | wall s | best | handed on |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec, rec in zip(s["stages"], exp.state.stages):
        fid = f"{spec.get('resolution', 'native')} px, {spec['data_fraction']:g} of rows, <= {spec['max_epochs']} ep"
        fid += "".join(f", {k}={v}" for k, v in (spec.get("knobs") or {}).items())  # the user's own knobs
        best = f"{rec.best:.4f}" if rec.best is not None else "-"
        lines.append(
            f"| {rec.name} | {fid} | {spec['searcher']} + {spec['scheduler']} | {rec.trials} ({rec.errors}) "
            f"| {rec.epochs} | {rec.wall_s:.1f} | {best} | {len(rec.top_k)} |"
        )
    lines += ["", "## Best configuration", ""]
    lines += _best_section(exp)
    lines += [
        "",
        "## Trials",
        "",
        f"All trials are in `trials.csv` / `trials.parquet`; the best {_TOP_ROWS} "
        "of each stage (more epochs first, then the metric):",
        "",
    ]
    lines += _trials_section(exp)
    if figures:
        lines += ["", "## Plots", ""]
        for title, path in figures:
            lines += [f"### {title}", "", f"![{title}]({path.relative_to(exp.path).as_posix()})", ""]
    if imp is None:
        lines += ["", "Parameter importance: not shown (fewer than 8 finished trials with distinct values)."]
    return "\n".join(lines) + "\n"


def _best_section(exp: Experiment) -> list[str]:
    best = exp.best
    if best is None:
        return [f"No trial reported a finite {exp.metric}."]
    lines = []
    if "cv_mean" in best:
        std = f" ± {best['cv_std']:.4f}" if best.get("cv_std") is not None else ""
        lines += [
            f"Winner: finalist {best['finalist']} with {exp.metric} **{best['cv_mean']:.4f}{std}** "
            f"(mean ± sample std over {best['folds']} folds).",
            "",
            "| finalist | CV mean ± std | fold scores | last-stage value |",
            "|---|---|---|---|",
        ]
        for i, f in enumerate(best["finalists"]):
            mean = "-" if f["cv_mean"] is None else f"{f['cv_mean']:.4f}"
            std = "" if f["cv_std"] is None else f" ± {f['cv_std']:.4f}"
            folds = ", ".join("failed" if v is None else f"{v:.4f}" for v in f["cv_scores"])
            lines.append(f"| {i + 1} | {mean}{std} | {folds} | {f['stage_value']:.4f} |")
        lines.append("")
        if best.get("near_ties"):
            ties = ", ".join(map(str, best["near_ties"]))
            lines += [
                f"Near-tie: finalist {ties} lies within one standard error of the winner's mean; the folds "
                "cannot tell them apart (more folds, or the simpler configuration, may decide).",
                "",
            ]
    else:
        lines += [f"Best {exp.metric}: **{best['value']:.4f}** (trial {best['trial_id']}; no cross-validation).", ""]
    lines += ["```json", json.dumps(best["config"], indent=2), "```"]
    return lines


def _trials_section(exp: Experiment) -> list[str]:
    df = exp.trials
    if df.empty or exp.metric not in df:
        return ["(no trials)"]
    config_cols = [c for c in df.columns if c.startswith("config/")]
    lines = []
    for stage, part in df.groupby("stage", sort=False):
        part = part.assign(_v=part[exp.metric] * (-1 if exp.mode == "max" else 1))
        part = part.sort_values(["training_iteration", "_v"], ascending=[False, True]).head(_TOP_ROWS)
        cols = ["trial_id", exp.metric, "training_iteration"] + config_cols
        lines += [
            f"**{stage}**",
            "",
            "| " + " | ".join(c.removeprefix("config/") for c in cols) + " |",
            "|" + "---|" * len(cols),
        ]
        for _, row in part.iterrows():
            lines.append("| " + " | ".join(_cell(row.get(c)) for c in cols) + " |")
        lines.append("")
    return lines


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipeline.report", description="Write report.md and plots/ for an experiment directory."
    )
    ap.add_argument("experiment", metavar="DIR")
    args = ap.parse_args(argv)
    try:
        print(write_report(args.experiment))
    except FileNotFoundError as err:
        print(f"python -m pipeline.report: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
