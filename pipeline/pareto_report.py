"""The multi-objective part of report.md: Pareto-front plot, hypervolume curves, Pareto table.

* **Pareto front**: the finished trials of the last tuning stage (one fidelity, so their
  objectives compare), each objective on an axis: 2 objectives on one scatter with the
  front drawn as a step line, 3 or more as pairwise panels with the front (computed over
  all objectives) highlighted in each. Infeasible trials are grey; the configuration
  ``select`` picked is a star.
* **Hypervolume**: of the feasible results found so far, in the order trials completed,
  against the epochs and the wall time spent; every trial scored at its own stage's
  fidelity, one reference point for the whole run (:func:`searchers.common.pareto.default_reference`
  over every finished trial), so the curve only rises.
* **Pareto table**: the CV'd finalists (or the last stage's hand-on set), mean ± std of
  each objective, feasible or not, on the front or not, and which one ``select`` picked.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.history import Experiment
from pipeline.objectives import Objective, parse_constraints, parse_objectives, total_violation
from pipeline.plots import _figure, _save
from searchers.common.pareto import default_reference, hypervolume, nondominated_ranks, to_minimised


def objectives_of(exp: Experiment) -> tuple[tuple[Objective, ...], tuple[Any, ...]]:
    raw = exp.settings.get("objectives")
    if not raw or len(raw) < 2:
        return (), ()
    return parse_objectives(raw, None), parse_constraints(exp.settings.get("constraints"), None)


def figures(exp: Experiment, out: Path) -> list[tuple[str, Path]]:
    goals, constraints = objectives_of(exp)
    if not goals:
        return []
    trials = _finished(exp)
    if trials.empty or any(o.metric not in trials for o in goals):  # e.g. an objective never reported
        return []
    figs = []
    last = trials[trials["stage"] == exp.stage_names[-1]]
    if len(last):
        picked = (exp.best or {}).get("trial_id")  # the selected config's trial in the last stage
        figs.append(
            ("Pareto front", front_plot(last, goals, constraints, picked, exp.stage_names[-1], out / "pareto.png"))
        )
    curve = hypervolume_curve(exp, trials, goals, constraints)
    if len(curve):
        figs.append(("Hypervolume", hypervolume_plot(curve, out / "hypervolume.png")))
    return figs


def _finished(exp: Experiment) -> pd.DataFrame:
    """The stages' finished trials with their last result (trials.csv), in completion order."""
    df = exp.trials
    if df is None or df.empty or "failed" not in df:
        return pd.DataFrame()
    df = df[~df["failed"].astype(bool)].copy()
    done = {(e["stage"], e["trial"]): e.get("t", 0.0) for e in exp.events if e.get("e") == "complete"}
    df["t"] = [done.get((s, t), np.inf) for s, t in zip(df["stage"], df["trial_id"])]
    return df.sort_values("t", kind="stable").reset_index(drop=True)


def _feasible(rows: pd.DataFrame, constraints) -> np.ndarray:
    records = rows.to_dict("records")
    return np.asarray(
        [
            total_violation(r, constraints) == 0.0 and all(c.satisfied(r.get(c.metric)) for c in constraints)
            for r in records
        ],
        dtype=bool,
    )


def _label(o: Objective) -> str:
    return f"{o.metric} ({'higher' if o.mode == 'max' else 'lower'} is better)"


def front_plot(rows: pd.DataFrame, goals, constraints, picked: str | None, stage: str, path: Path) -> Path:
    records = rows.to_dict("records")
    values = to_minimised(records, [(o.metric, o.mode) for o in goals])
    ok = _feasible(rows, constraints) & np.all(np.isfinite(values), axis=1)
    on_front = np.zeros(len(rows), dtype=bool)
    if ok.any():
        on_front[np.flatnonzero(ok)[nondominated_ranks(values[ok]) == 0]] = True
    raw = np.column_stack([pd.to_numeric(rows[o.metric], errors="coerce").to_numpy(float) for o in goals])
    pairs_ = list(itertools.combinations(range(len(goals)), 2))
    fig = _figure(5.2 * len(pairs_) if len(pairs_) > 1 else 6.4, 4.6)
    axes = fig.subplots(1, len(pairs_), squeeze=False)[0]
    for ax, (i, j) in zip(axes, pairs_):
        ax.scatter(
            raw[~ok, i], raw[~ok, j], s=18, color="#bbbbbb", label="infeasible" if constraints else "failed objective"
        )
        ax.scatter(raw[ok & ~on_front, i], raw[ok & ~on_front, j], s=22, color="#1f77b4", alpha=0.7, label="feasible")
        ax.scatter(raw[on_front, i], raw[on_front, j], s=40, color="#d62728", label="Pareto front", zorder=3)
        if len(goals) == 2 and on_front.any():
            order = np.argsort(values[on_front, 0])
            ax.step(raw[on_front, i][order], raw[on_front, j][order], where="post", color="#d62728", linewidth=1.2)
        if picked is not None and "trial_id" in rows:
            hit = (rows["trial_id"].astype(str) == str(picked)).to_numpy()
            if hit.any():
                ax.scatter(
                    raw[hit, i],
                    raw[hit, j],
                    s=160,
                    marker="*",
                    color="#ff7f0e",
                    edgecolor="k",
                    zorder=4,
                    label="selected",
                )
        ax.set_xlabel(_label(goals[i]))
        ax.set_ylabel(_label(goals[j]))
        if goals[i].metric in ("params", "flops"):
            ax.set_xscale("log")
        if goals[j].metric in ("params", "flops"):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    n_inf = int((~ok).sum())
    fig.suptitle(
        f"Stage {stage}: {len(rows)} trials, {int(on_front.sum())} on the front"
        + (f", {n_inf} infeasible ({'; '.join(map(str, constraints))})" if constraints else "")
    )
    return _save(fig, path)


def hypervolume_curve(exp: Experiment, trials: pd.DataFrame, goals, constraints) -> pd.DataFrame:
    """Hypervolume of the feasible results after each completed trial, with the epochs and
    wall time spent by then."""
    records = trials.to_dict("records")
    values = to_minimised(records, [(o.metric, o.mode) for o in goals])
    ok = _feasible(trials, constraints) & np.all(np.isfinite(values), axis=1)
    if not ok.any():
        return pd.DataFrame()
    ref = default_reference(values[ok])
    t0 = min((e.get("t", np.inf) for e in exp.events), default=0.0)
    epochs = pd.to_numeric(trials["training_iteration"], errors="coerce").fillna(0).cumsum().to_numpy()
    rows = []
    for n in range(1, len(trials) + 1):
        pts = values[:n][ok[:n]]
        rows.append(
            {
                "epochs": int(epochs[n - 1]),
                "wall_s": float(trials["t"].iloc[n - 1] - t0),
                "hypervolume": hypervolume(pts, ref) if len(pts) else 0.0,
            }
        )
    return pd.DataFrame(rows)


def hypervolume_plot(curve: pd.DataFrame, path: Path) -> Path:
    fig = _figure(9.0, 3.6)
    for ax, x, xlabel in zip(fig.subplots(1, 2), ("epochs", "wall_s"), ("epochs spent", "wall time (s)")):
        finite = curve[np.isfinite(curve[x])]
        ax.step(finite[x], finite["hypervolume"], where="post", color="#1f77b4")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("hypervolume of the feasible results")
        ax.grid(alpha=0.3)
    fig.suptitle("Hypervolume as the search went on (each trial at its stage's fidelity)")
    return _save(fig, path)


def markdown(exp: Experiment) -> list[str]:
    goals, constraints = objectives_of(exp)
    best = exp.best or {}
    if not goals or "pareto" not in best:
        return []
    names = [o.metric for o in goals] + [c.metric for c in constraints if c.metric not in {o.metric for o in goals}]
    objectives = ", ".join(f"`{o.metric}` ({o.mode})" for o in goals)
    lines = [
        "## Pareto set",
        "",
        f"Objectives {objectives}"
        + (f"; constraints {', '.join(f'`{c}`' for c in constraints)}" if constraints else "")
        + f"; `select: {best.get('select')}` picked "
        + (
            "nothing (no complete finalist)."
            if best.get("selected") is None
            else f"**{best['selected']}** (the best configuration above)."
        ),
        "",
    ]
    if "cv_objectives" in best:
        lines += [
            f"CV mean ± sample std over {best.get('folds')} folds; ✓ on the Pareto front of the CV means.",
            "",
            "| finalist | " + " | ".join(names) + " | feasible | front |",
            "|---|" + "---|" * len(names) + "---|---|",
        ]
        for row in best["cv_objectives"]:
            cells = [_mean_std(row["cv"].get(m, {})) for m in names]
            mark = " (selected)" if row["finalist"] == best.get("selected") else ""
            lines.append(
                f"| {row['finalist']}{mark} | "
                + " | ".join(cells)
                + f" | {'yes' if row['feasible'] else 'no'} | {'✓' if row['on_front'] else ''} |"
            )
    else:
        lines += [
            "Last stage's values (no cross-validation).",
            "",
            "| rank | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for row in best["pareto"]:
            mark = " (selected)" if row["rank"] == best.get("selected") else ""
            lines.append(f"| {row['rank']}{mark} | " + " | ".join(_num(row["objectives"].get(m)) for m in names) + " |")
    return lines + [""]


def _num(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"


def _mean_std(s: dict[str, Any]) -> str:
    if s.get("mean") is None:
        return "-"
    return _num(s["mean"]) + ("" if s.get("std") is None else f" ± {_num(s['std'])}")


# ------------------------------------------------------------------ comparisons


def final_front(best: dict[str, Any] | None) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """(objectives, points) of a run's final Pareto set: the CV means of the feasible front
    finalists, or without CV the last stage's values; ([], []) for a one-objective run."""
    if not best or "pareto" not in best:
        return [], []
    goals = [(o["metric"], o["mode"]) for o in best["objectives"]]
    points = []
    for row in best["pareto"]:
        if not row.get("feasible"):
            continue
        if "cv" in row:
            points.append({m: row["cv"][m]["mean"] for m, _ in goals})
        else:
            points.append({m: row["objectives"].get(m) for m, _ in goals})
    return goals, points


def comparison_hypervolumes(bests: list[dict[str, Any] | None]) -> list[float | None]:
    """Each run's final-front hypervolume against ONE reference point for all of them
    (:func:`searchers.common.pareto.default_reference` over every run's front points), so the
    figures compare; None for a one-objective run or runs with other objectives."""
    fronts = [final_front(b) for b in bests]
    goals = next((g for g, _ in fronts if g), None)
    if goals is None:
        return [None] * len(bests)
    same = [g == goals for g, _ in fronts]
    every = [p for (g, pts), ok in zip(fronts, same) if ok for p in pts]
    if not every:
        return [0.0 if ok else None for ok in same]
    ref = default_reference(to_minimised(every, goals))
    return [
        hypervolume(to_minimised(pts, goals), ref) if ok and pts else (0.0 if ok else None)
        for (_, pts), ok in zip(fronts, same)
    ]
