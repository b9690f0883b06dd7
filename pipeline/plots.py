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


def history(points: pd.DataFrame, metric: str, mode: str, path: Path, labels: dict[str, str] | None = None) -> Path:
    """Every finished trial's value in completion order, coloured by stage (each stage is
    one fidelity, named in the legend), with the running best per stage. A hollow marker
    is a trial stopped before its stage's full epochs: its value is at a lower fidelity."""
    labels = labels or {}
    fig = _figure()
    ax = fig.add_subplot()
    for i, (stage, df) in enumerate(points.groupby("stage", sort=False)):
        color = COLORS[i % len(COLORS)]
        stopped = df["stopped"].to_numpy(dtype=bool) if "stopped" in df else np.zeros(len(df), dtype=bool)
        ax.scatter(
            df["order"][~stopped], df["value"][~stopped], s=16, color=color, alpha=0.8, label=labels.get(stage, stage)
        )
        if stopped.any():
            ax.scatter(df["order"][stopped], df["value"][stopped], s=16, facecolors="none", edgecolors=color, alpha=0.8)
        running = df["value"].cummax() if mode == "max" else df["value"].cummin()
        ax.step(df["order"], running, where="post", color=color, linewidth=1.2)
    if "stopped" in points and points["stopped"].any():
        ax.scatter([], [], s=16, facecolors="none", edgecolors="gray", label="stopped early (lower fidelity)")
    ax.set_xlabel("finished trials (order of completion, all stages)")
    ax.set_ylabel(metric)
    ax.set_title("Optimization history (line: best so far within the stage)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
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


# ------------------------------------------------------------ trial-level figures


def _stage_colors(stages: Sequence[str]) -> dict[str, str]:
    return {s: COLORS[i % len(COLORS)] for i, s in enumerate(stages)}


def learning_curves(
    curves_by_trial: pd.DataFrame, max_epochs: dict[str, int], labels: dict[str, str], metric: str, path: Path
) -> Path:
    """Metric against epoch, one line per trial, coloured by stage. A trial that ended
    before its stage's ``max_epochs`` (stopped by the scheduler, or failed) ends in an x:
    it was cut off, not necessarily bad."""
    fig = _figure(7.5, 4.5)
    ax = fig.add_subplot()
    stages = list(dict.fromkeys(curves_by_trial["stage"]))
    from matplotlib.ticker import MaxNLocator

    colors = _stage_colors(stages)
    stopped = 0
    for (stage, _), df in curves_by_trial.groupby(["stage", "trial"], sort=False):
        df = df.sort_values("iter")
        ax.plot(df["iter"], df["value"], color=colors[stage], alpha=0.45, linewidth=0.9)
        if df["iter"].iloc[-1] < max_epochs.get(stage, 0):
            stopped += 1
            ax.scatter(df["iter"].iloc[-1:], df["value"].iloc[-1:], marker="x", s=22, color=colors[stage], alpha=0.9)
    for stage in stages:
        ax.plot([], [], color=colors[stage], label=labels.get(stage, stage))
    if stopped:
        ax.scatter([], [], marker="x", color="gray", label=f"stopped before max_epochs ({stopped})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title("Learning curves (one line per trial)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _axis_values(column: pd.Series) -> tuple[np.ndarray, list[str] | None, bool]:
    """Numbers to plot for one parameter: (values, category labels or None, log scale)."""
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().sum() == column.notna().sum() and column.notna().any():
        v = numeric.to_numpy(dtype=float)
        finite = v[np.isfinite(v)]
        log = bool(len(finite) and finite.min() > 0 and finite.max() / finite.min() > 50)
        return v, None, log
    labels = sorted({str(x) for x in column.dropna()})
    return np.array([labels.index(str(x)) if pd.notna(x) else np.nan for x in column], dtype=float), labels, False


def parallel_coordinates(trials: pd.DataFrame, params: Sequence[str], metric: str, mode: str, title: str, path: Path):
    """One line per trial across the parameters' axes (each scaled to [0, 1], log where
    the range spans decades), coloured by the metric; inactive parameters leave a gap."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    fig = _figure(max(7.0, 1.3 * (len(params) + 1)), 4.5)
    ax = fig.add_subplot()
    axes = []
    for name in params:
        v, labels, log = _axis_values(trials[name])
        t = np.log(v) if log else v
        lo, hi = np.nanmin(t), np.nanmax(t)
        axes.append(((t - lo) / (hi - lo) if hi > lo else np.full_like(t, 0.5), labels, log, v))
    values = trials["value"].to_numpy(dtype=float)
    norm = Normalize(np.nanmin(values), np.nanmax(values))
    cmap = colormaps["viridis" if mode == "max" else "viridis_r"]
    order = np.argsort(values if mode == "max" else -values)  # best drawn last, on top
    xs = np.arange(len(params) + 1)
    for i in order:
        ys = [a[0][i] for a in axes] + [norm(values[i])]
        ax.plot(xs, ys, color=cmap(norm(values[i])), alpha=0.6, linewidth=1.0)
    ticks = []
    for x, (name, (_, labels, log, raw)) in enumerate(zip(params, axes)):
        ax.axvline(x, color="black", linewidth=0.6)
        if labels is not None:
            hint = " | ".join(labels[:4]) + (" ..." if len(labels) > 4 else "")
        else:
            hint = f"{np.nanmin(raw):.3g} .. {np.nanmax(raw):.3g}" + (" (log)" if log else "")
        ticks.append(f"{name}\n{hint}")
    ax.axvline(len(params), color="black", linewidth=0.6)
    ticks.append(f"{metric}\n{np.nanmin(values):.4g} .. {np.nanmax(values):.4g}")
    ax.set_xticks(xs, ticks, fontsize=7)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(params) + 0.2)
    ax.set_title(title)
    return _save(fig, path)


def slices(trials: pd.DataFrame, params: Sequence[str], metric: str, labels: dict[str, str], title: str, path: Path):
    """The metric against each parameter alone, one panel per parameter, coloured by stage."""
    n = len(params)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig = _figure(3.2 * cols, 2.6 * rows + 0.4)
    stages = list(dict.fromkeys(trials["stage"]))
    colors = _stage_colors(stages)
    for k, name in enumerate(params):
        ax = fig.add_subplot(rows, cols, k + 1)
        v, cats, log = _axis_values(trials[name])
        for stage in stages:
            mask = (trials["stage"] == stage).to_numpy() & np.isfinite(v)
            ax.scatter(v[mask], trials["value"].to_numpy()[mask], s=12, alpha=0.7, color=colors[stage])
        if cats is not None:
            ax.set_xticks(range(len(cats)), cats, fontsize=7, rotation=20)
        elif log:
            ax.set_xscale("log")
        ax.set_xlabel(name, fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles = [fig.axes[0].scatter([], [], color=colors[s], label=labels.get(s, s)) for s in stages]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(stages)), fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def contour(trials: pd.DataFrame, x: str, y: str, metric: str, title: str, path: Path) -> Path:
    """The metric over two parameters: interpolated filled contours under the trials."""
    from matplotlib.tri import Triangulation

    fig = _figure(6.0, 4.8)
    ax = fig.add_subplot()
    vx, cx, logx = _axis_values(trials[x])
    vy, cy, logy = _axis_values(trials[y])
    z = trials["value"].to_numpy(dtype=float)
    ok = np.isfinite(vx) & np.isfinite(vy) & np.isfinite(z)
    tx = np.log10(vx[ok]) if logx else vx[ok]
    ty = np.log10(vy[ok]) if logy else vy[ok]
    try:
        tri = Triangulation(tx, ty)
        filled = ax.tricontourf(tri, z[ok], levels=12, cmap="viridis", alpha=0.85)
        fig.colorbar(filled, ax=ax, label=metric)
    except (ValueError, RuntimeError):  # collinear points: no triangulation, the points alone
        pass
    ax.scatter(tx, ty, c="white", edgecolors="black", s=18, linewidths=0.6)
    ax.set_xlabel(f"log10 {x}" if logx else x)
    ax.set_ylabel(f"log10 {y}" if logy else y)
    if cx is not None:
        ax.set_xticks(range(len(cx)), cx)
    if cy is not None:
        ax.set_yticks(range(len(cy)), cy)
    ax.set_title(title)
    return _save(fig, path)
