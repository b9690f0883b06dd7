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
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import correlation_report, pareto_report, plots
from pipeline.errors import UsageError
from pipeline.history import Experiment, load
from pipeline.layout import PLOTS, REPORT_FILE
from pipeline.results import atomic_write
from pipeline.state import SKIPPED
from searchers.space import SpaceError

_TOP_ROWS = 10


def write_report(path: str | Path) -> Path:
    exp = load(path)
    out = exp.path / PLOTS
    figures = []
    labels = {str(spec["name"]): f"{spec['name']} ({fidelity(spec)})" for spec in exp.settings["stages"]}
    points = _history_points(exp)
    if not points.empty:
        figures.append(
            ("Optimization history", plots.history(points, exp.metric, exp.mode, out / "history.png", labels))
        )
    curves = _curves(exp)
    if not curves.empty:
        figures.append(
            (
                "Learning curves",
                plots.learning_curves(curves, _max_epochs(exp), labels, exp.metric, out / "learning_curves.png"),
            )
        )
    imp = parameter_importance(exp)
    if imp is not None:
        stage, names, values, n = imp
        title = f"Importance for {exp.metric}: stage {stage}, {n} trials at full epochs"
        figures.append(("Parameter importance", plots.importance(names, values, title, out / "importance.png")))
    every = _finished_trials(exp)
    last = every[every["stage"] == every["stage"].iloc[-1]].dropna(axis=1, how="all") if len(every) else every
    params = _params_to_show(last, imp)
    if len(last) >= 3 and params:
        n = len(last)
        figures.append(
            (
                "Parallel coordinates",
                plots.parallel_coordinates(
                    last, params, exp.metric, exp.mode, f"Trials of the last stage ({n})", out / "parallel.png"
                ),
            )
        )
        figures.append(
            (
                "Slices",
                plots.slices(
                    every, params, exp.metric, labels, f"{exp.metric} against each parameter", out / "slices.png"
                ),
            )
        )
        numeric = [p for p in params if pd.to_numeric(last[p], errors="coerce").notna().sum() >= 4]
        if imp is not None and len(numeric) >= 2:
            x, y = numeric[:2]
            figures.append(
                (
                    "Contour of the two most important parameters",
                    plots.contour(last, x, y, exp.metric, f"{exp.metric} over {x} and {y}", out / "contour.png"),
                )
            )
    figures += pareto_report.figures(exp, out)  # several objectives only
    reached = rung_counts(exp)
    if reached:
        figures.append(("Trials per rung", plots.rungs(reached, out / "rungs.png")))
    text = _markdown(exp, figures, imp)
    atomic_write(exp.path / REPORT_FILE, lambda tmp: Path(tmp).write_text(text))
    return exp.path / REPORT_FILE


def fidelity(spec: dict[str, Any]) -> str:
    """A stage's fidelity in words; only the knobs the task has (no "px" for tabular data)."""
    parts = []
    if spec.get("resolution") is not None:
        parts.append(f"{spec['resolution']} px")
    if spec.get("data_fraction") not in (None, 1, 1.0):
        parts.append(f"{spec['data_fraction']:g} of rows")
    parts.append(f"<= {spec['max_epochs']} ep")
    return ", ".join(parts)


def readable(name: str) -> str:
    """A compiled parameter name as the tables spell it: ``optimizer[1]/lr`` -> ``optimizer/lr``."""
    return re.sub(r"\[\d+\]", "", name)


def _max_epochs(exp: Experiment) -> dict[str, int]:
    return {str(spec["name"]): int(spec["max_epochs"]) for spec in exp.settings["stages"]}


def _history_points(exp: Experiment) -> pd.DataFrame:
    stages = set(exp.stage_names)
    full = _max_epochs(exp)
    done = [e for e in exp.completions() if e["stage"] in stages and e.get("value") is not None]
    done.sort(key=lambda e: e["t"])
    return pd.DataFrame(
        [
            {
                "order": i + 1,
                "stage": e["stage"],
                "value": e["value"],
                "stopped": (e.get("iter") or 0) < full.get(e["stage"], 0),
            }
            for i, e in enumerate(done)
        ]
    )


def _curves(exp: Experiment) -> pd.DataFrame:
    """Every result of the tuning stages: stage, trial, epoch, value."""
    stages = set(exp.stage_names)
    rows = [
        {"stage": e["stage"], "trial": e["trial"], "iter": e["iter"], "value": e["value"]}
        for e in exp.events
        if e.get("e") == "result" and e.get("stage") in stages and e.get("value") is not None and e.get("iter")
    ]
    return pd.DataFrame(rows)


def _finished_trials(exp: Experiment) -> pd.DataFrame:
    """Finished trials of the tuning stages with a value, in stage order, one column per
    parameter (the tables' names); trials of the last stage come last."""
    from pipeline.loader import ExperimentResults

    df = ExperimentResults(exp.path).trials_dataframe()
    if df.empty:
        return df
    df = df[df["stage"].isin(exp.stage_names) & (df["state"] == "complete") & df["value"].notna()]
    if df.empty:
        return df
    df = df.iloc[np.argsort([exp.stage_names.index(s) for s in df["stage"]], kind="stable")]
    return df.rename(columns={c: c.removeprefix("params/") for c in df.columns if c.startswith("params/")})


def _params_to_show(trials: pd.DataFrame, imp, most: int = 8) -> list[str]:
    if trials.empty:
        return []
    fixed = {"stage", "trial_id", "state", "value", "iterations"}
    varying = [
        c
        for c in trials.columns
        if c not in fixed
        and not trials[c].map(lambda v: isinstance(v, (list, tuple, dict))).any()  # e.g. a returned list
        and trials[c].astype(str).nunique() > 1
    ]
    if imp is not None:
        _, names, values, _ = imp
        rank = {n: -v for n, v in zip(names, values)}
        varying.sort(key=lambda c: rank.get(c, 0.0))
    return varying[:most]


def parameter_importance(exp: Experiment, min_trials: int = 8) -> tuple[str, list[str], list[float], int] | None:
    """(stage, parameter names, importances summing to 1, number of trials), or None.

    Fitted on one fidelity only: the last stage with at least ``min_trials`` trials that
    trained the stage's full ``max_epochs`` (a trial a scheduler stopped early was scored
    at a lower fidelity and would mix two objectives). Names are the tables' names
    (``optimizer/lr``); the branches of one name are summed.
    """
    from sklearn.ensemble import RandomForestRegressor

    from pipeline.config import compile_space

    try:
        space = compile_space(exp.settings["search_space"])
    except (UsageError, SpaceError):  # e.g. a define-by-run module not importable here
        return None
    full = _max_epochs(exp)
    for stage in reversed(exp.stage_names):
        rows, ys = [], []
        for e in exp.completions(stage):
            if e.get("value") is None or (e.get("iter") or 0) < full.get(stage, 0):
                continue
            try:
                x, _ = space.encode_flat(space.to_flat(e["config"]))
            except (SpaceError, KeyError, TypeError):
                continue
            rows.append(x)
            ys.append(e["value"])
        if len(rows) >= min_trials and np.ptp(ys) > 0:
            break
    else:
        return None
    forest = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=int(exp.settings.get("seed", 0)))
    forest.fit(np.array(rows), np.array(ys))
    totals: dict[str, float] = {}
    for p in space.params:
        name = space.user_name(p) if hasattr(space, "user_name") else readable(p.name)
        totals[name] = totals.get(name, 0.0) + float(forest.feature_importances_[space.slice_of(p.name)].sum())
    return stage, list(totals), list(totals.values()), len(rows)


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
        fid = fidelity(spec)
        fid += "".join(f", {k}={v}" for k, v in (spec.get("knobs") or {}).items())  # the user's own knobs
        best = f"{rec.best:.4f}" if rec.best is not None else "-"
        lines.append(
            f"| {rec.name} | {fid} | {spec['searcher']} + {spec['scheduler']} | {rec.trials} ({rec.errors}) "
            f"| {rec.epochs} | {rec.wall_s:.1f} | {best} | {len(rec.top_k)} |"
        )
    skipped = [r.name for r in exp.state.stages if r.status == SKIPPED]
    skipped += ["CV"] if exp.state.cv is not None and exp.state.cv.status == SKIPPED else []
    if skipped:
        lines += [
            "",
            f"The deadline (`deadline_s: {s.get('deadline_s')}`) passed after {exp.state.spent_s:.0f} s: "
            f"{', '.join(skipped)} skipped; the result comes from stage {exp.state.stages[exp.state.final].name}.",
        ]
    lines += ["", *correlation_report.markdown(exp.state)]
    lines += ["", "## Best configuration", ""]
    lines += _best_section(exp)
    lines += ["", *pareto_report.markdown(exp)]  # several objectives only
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
        lines += [
            "",
            "Parameter importance: not shown (no stage has 8 trials that trained its full epochs with distinct values).",
        ]
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
    if best.get("model"):
        lines += [
            "",
            f"Model: `{best['model']}/`, the winner refitted: {best['model_summary']} "
            f'(`pipeline.model.load_model(DIR / "{best["model"]}").predict(x)`).',
        ]
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
    from pipeline.extras import check_pipeline_extra

    if check_pipeline_extra("python -m pipeline.report"):
        return 2
    try:
        print(write_report(args.experiment))
    except FileNotFoundError as err:
        print(f"python -m pipeline.report: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
