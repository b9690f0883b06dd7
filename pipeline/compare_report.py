"""The comparison report: per-run rows, mean ± std per variant, best-so-far curves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import plots
from pipeline.history import best_so_far, load
from pipeline.pareto_report import comparison_hypervolumes
from pipeline.results import atomic_write


def run_rows(runs: list[tuple[str, Path]]) -> pd.DataFrame:
    rows = []
    for label, path in runs:
        exp = load(path)
        best = exp.best or {}
        rows.append(
            {
                "label": label,
                "seed": exp.settings.get("seed"),
                "final_score": exp.final_score,
                "cv_std": best.get("cv_std"),
                "tuning_epochs": exp.epochs,
                "cv_epochs": exp.cv_epochs,
                "wall_s": exp.wall_s,
                "trials": exp.n_trials,
                "failed": sum(s.errors for s in exp.state.stages),
                "metric": exp.metric,
                "path": str(path),
            }
        )
    frame = pd.DataFrame(rows)
    hv = comparison_hypervolumes([load(path).best for _, path in runs])  # several objectives only
    if any(v is not None for v in hv):
        frame["hypervolume"] = hv
    return frame


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    def mean_std(values: pd.Series, digits: int = 1) -> str:
        v = values.dropna().astype(float)
        if v.empty:
            return "-"
        std = f" ± {v.std(ddof=1):.{digits}f}" if len(v) > 1 else ""
        return f"{v.mean():.{digits}f}{std}"

    out = []
    for label, df in rows.groupby("label", sort=False):
        out.append(
            {
                "variant": label,
                "runs": len(df),
                "final score": mean_std(df["final_score"], 4),
                "tuning epochs": mean_std(df["tuning_epochs"]),
                "CV epochs": mean_std(df["cv_epochs"]),
                "wall s": mean_std(df["wall_s"]),
                "trials": mean_std(df["trials"]),
                **({"hypervolume": mean_std(df["hypervolume"], 4)} if "hypervolume" in df else {}),
            }
        )
    return pd.DataFrame(out)


def write_comparison(runs: list[tuple[str, Path]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    rows = run_rows(runs)
    atomic_write(out / "runs.csv", lambda tmp: rows.to_csv(tmp, index=False))
    table = summary(rows)
    atomic_write(out / "summary.csv", lambda tmp: table.to_csv(tmp, index=False))
    curves = [(label, best_so_far(load(path))) for label, path in runs]
    metric = rows["metric"].iloc[0] if not rows.empty else "metric"
    plots.curves(
        curves,
        "epochs",
        "epochs spent (all tuning stages, cumulative)",
        f"best {metric} so far",
        "Best so far vs epochs",
        out / "best_vs_epochs.png",
    )
    plots.curves(
        curves,
        "seconds",
        "wall time since the first result (s)",
        f"best {metric} so far",
        "Best so far vs wall time",
        out / "best_vs_wall.png",
    )
    atomic_write(out / "report.md", lambda tmp: Path(tmp).write_text(_markdown(rows, table, metric, out)))
    return out / "report.md"


def _markdown(rows: pd.DataFrame, table: pd.DataFrame, metric: str, out: Path | None = None) -> str:
    cols = list(table.columns)
    lines = [
        "# Comparison",
        "",
        f"Final score: `{metric}` of each run's winner (its CV mean when the run cross-validated, else "
        "its best value); mean ± sample std over seeds. Tuning epochs: epochs trained by all tuning "
        "stages (CV excluded); wall s: time inside Tune, stages and CV."
        + (
            " Hypervolume (several objectives, the comparison figure): of each run's final Pareto set "
            "(CV means of its feasible front), against one reference point for every run."
            if "hypervolume" in rows
            else ""
        ),
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for _, r in table.iterrows()]
    lines += [
        "",
        "![best so far vs epochs](best_vs_epochs.png)",
        "",
        "![best so far vs wall time](best_vs_wall.png)",
        "",
        "Curves: each finished tuning trial, scored at its own stage's fidelity; one line per run. "
        "Each run's own report (last column) has its learning curves, history by fidelity, parallel "
        "coordinates, slices and parameter importance.",
        "",
        "## Runs",
        "",
        "| variant | seed | final score | tuning epochs | CV epochs | wall s | trials | directory | plots |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in rows.iterrows():
        score = "-" if r["final_score"] is None or np.isnan(r["final_score"]) else f"{r['final_score']:.4f}"
        lines.append(
            f"| {r['label']} | {r['seed']} | {score} | {r['tuning_epochs']} | {r['cv_epochs']} "
            f"| {r['wall_s']:.1f} | {r['trials']} | `{r['path']}` |{_report_link(r['path'], out)} |"
        )
    return "\n".join(lines) + "\n"


def _report_link(path: Any, out: Path | None) -> str:
    """A link to the run's own report (learning curves, parallel coordinates, slices, importance)."""
    report = Path(str(path)) / "report.md"
    if out is None or not report.is_file():
        return " -"
    return f" [report]({os.path.relpath(report, out)})"
