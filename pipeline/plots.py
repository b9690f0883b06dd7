"""PNG figures for reports and comparisons (matplotlib, object API only).

Figures are built with ``matplotlib.figure.Figure`` and saved through the Agg canvas,
never through ``pyplot``, so no global matplotlib state (backend, open figures,
rcParams) is touched. Each function draws one figure and writes it atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.results import atomic_write

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _figure(width: float = 7.0, height: float = 4.0):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _save(fig, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path


def curves(runs: Sequence[tuple[str, pd.DataFrame]], x: str, xlabel: str, ylabel: str, title: str, path: Path) -> Path:
    """Best-so-far step curves; runs sharing a label share a colour (one legend entry)."""
    fig = _figure()
    ax = fig.add_subplot()
    labels = list(dict.fromkeys(label for label, _ in runs))
    shown = set()
    for label, df in runs:
        if df.empty:
            continue
        color = COLORS[labels.index(label) % len(COLORS)]
        ax.step(
            df[x],
            df["best"],
            where="post",
            color=color,
            alpha=0.8,
            linewidth=1.4,
            label=None if label in shown else label,
        )
        shown.add(label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(fontsize=8)
    return _save(fig, path)


def history(points: pd.DataFrame, metric: str, mode: str, path: Path) -> Path:
    """Every finished trial's value in completion order, by stage, with the running best per stage."""
    fig = _figure()
    ax = fig.add_subplot()
    for i, (stage, df) in enumerate(points.groupby("stage", sort=False)):
        color = COLORS[i % len(COLORS)]
        ax.scatter(df["order"], df["value"], s=14, color=color, alpha=0.7, label=stage)
        running = df["value"].cummax() if mode == "max" else df["value"].cummin()
        ax.step(df["order"], running, where="post", color=color, linewidth=1.2)
    ax.set_xlabel("finished trials (order of completion, all stages)")
    ax.set_ylabel(metric)
    ax.set_title("Optimization history (line: best so far within the stage)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def importance(names: Sequence[str], values: Sequence[float], title: str, path: Path) -> Path:
    fig = _figure(7.0, 0.5 + 0.35 * max(3, len(names)))
    ax = fig.add_subplot()
    order = np.argsort(values)
    ax.barh([names[i] for i in order], [values[i] for i in order], color=COLORS[0])
    ax.set_xlabel("importance (random-forest impurity decrease, sums to 1)")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def rungs(reached: dict[str, dict[int, int]], path: Path) -> Path:
    """Per stage: how many trials trained at least e epochs, for every e."""
    fig = _figure()
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(reached))
    for i, (stage, counts) in enumerate(reached.items()):
        epochs = np.array(sorted(counts))
        ax.bar(
            epochs + (i - (len(reached) - 1) / 2) * width,
            [counts[e] for e in epochs],
            width=width,
            color=COLORS[i % len(COLORS)],
            label=stage,
        )
    ax.set_xlabel("epoch (rung)")
    ax.set_ylabel("trials that reached it")
    ax.set_title("How many trials reached each epoch")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(fig, path)
