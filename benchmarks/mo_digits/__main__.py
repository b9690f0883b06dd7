"""``python -m benchmarks.mo_digits``: MO-TPE + MO-ASHA, auto + MO-ASHA, MO-TPE + FIFO,
Optuna NSGA-II (full fidelity) and random + FIFO on digits, at equal epochs.

Every variant is one YAML file beside this module: the architecture space, objectives
val_accuracy (max) and params (min), the loose constraint ``latency_ms <= 20``, one stage at
full fidelity (all rows, 8x8 px, <= 9 epochs) with ``budget: {epochs: 90}`` (epochs summed
over the stage's trials, so every variant spends the same), top 5 to a 3-fold CV at 9
epochs. Only the searcher and scheduler differ. With ``--triple``, ``nsga2-fifo-3x`` (NSGA-II
with ``budget: {epochs: 270}``, three times the others) runs too, into ``OUTPUT/seed-N-nsga2-fifo-3x``:
the reference of the target "NSGA-II's hypervolume at a third of its epochs".

Per seed, this runs ``python -m pipeline.compare --configs <the five> --seeds N`` into
``OUTPUT/seed-N`` (a seed whose report.md exists is skipped, and an unfinished one is
started again, so rerunning the same command completes an interrupted benchmark); then
``pipeline.compare --experiments`` over every finished run into ``OUTPUT/report`` (one
report, one reference point, curves); then prints and writes ``OUTPUT/summary.md``:

* the hypervolume of each run's final CV'd feasible Pareto set (CV means), against ONE
  reference point over every run's front (``pipeline.pareto_report.comparison_hypervolumes``),
  divided by the volume of the box between the ideal point and that reference (so 1 is
  the unreachable ideal); mean ± standard error per variant, and per seed;
* tuning epochs, CV epochs, wall time (tuning, and with CV) and trials;
* paired comparisons over seeds of MO-TPE + MO-ASHA and auto + MO-ASHA against every
  other variant: wins/losses, a two-sided sign test and a Wilcoxon signed-rank test
  (with 5 seeds the smallest two-sided p either can give is 0.0625);
* epochs to reach NSGA-II's final hypervolume (at 90 and at 270 epochs): per seed, the
  hypervolume of the feasible results of the trials that reached full fidelity (9 epochs)
  after each finished trial, against the run's cumulative epochs, one reference point per
  seed over all variants; the target is NSGA-II's final value on that curve (stage values,
  not CV'd), the figure ``hv_vs_epochs.png`` shows the curves relative to it.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
#: at equal epochs (90 each)
EQUAL = ("motpe-moasha", "auto-moasha", "motpe-fifo", "nsga2-fifo", "random-fifo")
#: NSGA-II at three times those epochs: the target "NSGA-II's hypervolume at a third of its epochs"
TRIPLE = "nsga2-fifo-3x"
VARIANTS = (*EQUAL, TRIPLE)
OURS = ("motpe-moasha", "auto-moasha")
REFERENCES = ("nsga2-fifo", TRIPLE)  # the curves' targets: NSGA-II's final hypervolume


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.mo_digits", description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True, help="benchmark directory (reused: finished seeds are kept)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(EQUAL))
    p.add_argument(
        "--triple", action="store_true", help=f"also run {TRIPLE} (NSGA-II at three times the epochs) per seed"
    )
    p.add_argument("--report-only", action="store_true", help="do not run; report on the finished runs")
    args = p.parse_args(argv)
    out = Path(args.output).resolve()
    if not args.report_only:
        for seed in args.seeds:
            run_seed(seed, args.variants, out)
        if args.triple:
            for seed in args.seeds:
                run_seed(seed, [TRIPLE], out)
    runs = finished_runs(out)
    if not runs:
        print(f"no finished runs under {out}", file=sys.stderr)
        return 1
    combined_report(runs, out / "report")
    text = summary(runs, out / "hv_vs_epochs.png")
    (out / "summary.md").write_text(text)
    print(text)
    return 0


def run_seed(seed: int, variants: Sequence[str], out: Path) -> None:
    from pipeline import compare

    # one directory per seed and group of variants: OUTPUT/seed-N for the five at equal
    # epochs, OUTPUT/seed-N-<variant> for another group
    where = out / (f"seed-{seed}" if list(variants) == list(EQUAL) else f"seed-{seed}-{'-'.join(variants)}")
    if (where / "report.md").is_file():
        print(f"mo_digits: seed {seed} already finished in {where}", flush=True)
        return
    if where.exists():  # an interrupted seed: its runs are started again
        shutil.rmtree(where)
    configs = [str(HERE / f"{v}.yaml") for v in variants]
    rc = compare.main(["--configs", *configs, "--seeds", str(seed), "--output", str(where)])
    if rc:
        raise SystemExit(rc)


def finished_runs(out: Path) -> list[tuple[str, int, Path]]:
    """(variant, seed, run directory) of every run with a best.json, in variant order."""
    found = []
    for seed_dir in sorted(out.glob("seed-*")):
        for run in seed_dir.glob("runs/*/seed-*"):
            if (run / "best.json").is_file() and run.parent.name in VARIANTS:
                found.append((run.parent.name, int(run.name.split("-")[1]), run))
    return sorted(found, key=lambda r: (VARIANTS.index(r[0]), r[1]))


def combined_report(runs: list[tuple[str, int, Path]], where: Path) -> None:
    from pipeline import compare

    if where.exists():  # derived from the runs: written again
        shutil.rmtree(where)
    compare.main(["--experiments", *[str(p) for _, _, p in runs], "--output", str(where)])


# ---------------------------------------------------------------------------- measures
def normalised_hypervolumes(bests: list[dict[str, Any] | None]) -> list[float]:
    """comparison_hypervolumes, divided by the volume between the ideal point and the
    common reference point (both over every run's final front)."""
    from pipeline.pareto_report import comparison_hypervolumes, final_front
    from searchers.common.pareto import default_reference, to_minimised

    raw = comparison_hypervolumes(bests)
    fronts = [final_front(b) for b in bests]
    goals = next(g for g, _ in fronts if g)
    every = to_minimised([pt for _, pts in fronts for pt in pts], goals)
    ref = default_reference(every)
    box = float(np.prod(ref - every.min(axis=0)))
    return [float(v) / box if v is not None else math.nan for v in raw]


def full_fidelity_curve(exp: Any) -> tuple[np.ndarray, np.ndarray]:
    """(cumulative epochs after each finished trial, minimised objective values of the
    feasible full-fidelity results so far: a row per trial, NaN rows for the others)."""
    from pipeline.pareto_report import _feasible, _finished, objectives_of
    from searchers.common.pareto import to_minimised

    goals, constraints = objectives_of(exp)
    trials = _finished(exp)
    if trials.empty:
        return np.zeros(0), np.zeros((0, len(goals)))
    iterations = trials["training_iteration"].astype(float).to_numpy()
    max_epochs = float(exp.settings["stages"][-1]["max_epochs"])
    values = to_minimised(trials.to_dict("records"), [(o.metric, o.mode) for o in goals])
    keep = _feasible(trials, constraints) & (iterations >= max_epochs) & np.all(np.isfinite(values), axis=1)
    values[~keep] = np.nan
    return np.cumsum(iterations), values


def hv_curve(epochs: np.ndarray, values: np.ndarray, ref: np.ndarray) -> np.ndarray:
    from searchers.common.pareto import hypervolume

    out = np.zeros(len(epochs))
    for n in range(len(epochs)):
        pts = values[: n + 1]
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        out[n] = hypervolume(pts, ref) if len(pts) else 0.0
    return out


def reference_curves(
    by_seed: dict[int, dict[str, Any]],
) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[tuple[np.ndarray, np.ndarray]]]]:
    """Per reference (NSGA-II at equal and at three times the epochs), variant and seed: the
    epochs at which the full-fidelity hypervolume first reached the reference's final one
    (NaN: never), relative to the reference's tuning epochs; and the curves (cumulative
    epochs, hypervolume / the last reference's final) for the figure."""
    from searchers.common.pareto import default_reference

    ratios: dict[str, dict[str, list[float]]] = {r: {v: [] for v in VARIANTS} for r in REFERENCES}
    curves_out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {v: [] for v in VARIANTS}
    for _, exps in sorted(by_seed.items()):
        curves = {v: full_fidelity_curve(e) for v, e in exps.items()}
        pooled = np.vstack([vals for _, vals in curves.values()])
        pooled = pooled[np.all(np.isfinite(pooled), axis=1)]
        if not len(pooled):
            continue
        ref = default_reference(pooled)
        hv = {v: hv_curve(ep, vals, ref) for v, (ep, vals) in curves.items()}
        target = 0.0
        for reference in (r for r in REFERENCES if r in exps):
            target = hv[reference][-1] if len(hv[reference]) else 0.0
            spent = float(exps[reference].epochs)
            for v, (ep, _) in curves.items():
                hit = np.nonzero(hv[v] >= target * (1 - 1e-12))[0]
                ratios[reference][v].append(float(ep[hit[0]]) / spent if len(hit) and target > 0 else math.nan)
        if target > 0:  # relative to the last reference present (NSGA-II at 3x when it ran)
            for v, (ep, _) in curves.items():
                curves_out[v].append((ep, hv[v] / target))
    return ratios, curves_out


def curve_plot(curves: dict[str, list[tuple[np.ndarray, np.ndarray]]], reference: str, path: Path) -> Path:
    """Hypervolume of the full-fidelity results against epochs, per seed relative to
    ``reference``'s final value (the dashed line at 1)."""
    from pipeline.plots import _figure, _save

    fig = _figure(8.0, 4.5)
    ax = fig.subplots()
    colours = dict(zip(VARIANTS, ("#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#7f7f7f", "#17becf")))
    for v, runs in curves.items():
        for i, (ep, rel) in enumerate(runs):
            ax.step(ep, rel, where="post", color=colours[v], alpha=0.7, lw=1.2, label=v if i == 0 else None)
    ax.axhline(1.0, color="black", ls="--", lw=0.8)
    ax.set_ylim(0.8, 1.02)  # where the variants differ; the first trials lie below
    ax.set_xlabel("epochs spent (cumulative, finished trials)")
    ax.set_ylabel(f"hypervolume / {reference}'s final (same seed)")
    ax.set_title("Hypervolume of the feasible full-fidelity results, one line per seed (from 0.8)")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def paired(a: list[float], b: list[float]) -> tuple[int, int, float, float]:
    """(wins of a, losses of a, sign-test p, Wilcoxon signed-rank p), both two-sided."""
    from scipy import stats

    d = np.asarray(a) - np.asarray(b)
    d = d[np.isfinite(d)]
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    sign_p = float(stats.binomtest(wins, wins + losses, 0.5).pvalue) if wins + losses else 1.0
    wilcoxon_p = float(stats.wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return wins, losses, sign_p, wilcoxon_p


# ---------------------------------------------------------------------------- tables
def _mean_se(values: Sequence[float], digits: int = 3) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if not len(v):
        return "-"
    se = f" ± {v.std(ddof=1) / math.sqrt(len(v)):.{digits}f}" if len(v) > 1 else ""
    return f"{v.mean():.{digits}f}{se}"


def summary(runs: list[tuple[str, int, Path]], plot_to: Path | None = None) -> str:
    from pipeline.history import load

    exps = [(v, s, load(p)) for v, s, p in runs]
    hv = normalised_hypervolumes([e.best for _, _, e in exps])
    seeds = sorted({s for _, s, _ in exps})
    variants = [v for v in VARIANTS if any(x == v for x, _, _ in exps)]
    by: dict[str, dict[int, dict[str, float]]] = {v: {} for v in variants}
    by_seed: dict[int, dict[str, Any]] = {s: {} for s in seeds}
    for (v, s, e), h in zip(exps, hv):
        by[v][s] = {
            "hv": h,
            "epochs": float(e.epochs),
            "cv_epochs": float(e.cv_epochs),
            "tune_s": sum(st.wall_s for st in e.state.stages),
            "wall_s": e.wall_s,
            "trials": float(e.n_trials),
            "front": float(sum(1 for r in (e.best or {}).get("pareto", []) if r.get("feasible"))),
        }
        by_seed[s][v] = e
    reach, curves = reference_curves(by_seed)
    if plot_to is not None:
        curve_plot(curves, TRIPLE if any(TRIPLE in e for e in by_seed.values()) else REFERENCES[0], plot_to)

    def col(v: str, key: str) -> list[float]:
        return [by[v][s][key] for s in seeds if s in by[v]]

    lines = [
        f"Seeds: {' '.join(map(str, seeds))}. Hypervolume: of the final CV'd feasible Pareto set, normalised "
        "(one reference point over all runs; 1 = the ideal point). Mean ± s.e. over seeds.",
        "",
        "| variant | runs | hypervolume | tuning epochs | CV epochs | tuning wall s | wall s with CV | trials "
        "| front size | epochs to reach the final HV of NSGA-II at 90 / at 270 epochs (x its epochs) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        cells = []
        for reference in REFERENCES:
            r = reach[reference][v]
            cells.append(f"{_mean_se(r, 2)} ({sum(np.isfinite(r))}/{len(r)} reached)" if r else "-")
        lines.append(
            f"| {v} | {len(by[v])} | {_mean_se(col(v, 'hv'))} | {_mean_se(col(v, 'epochs'), 1)} "
            f"| {_mean_se(col(v, 'cv_epochs'), 1)} | {_mean_se(col(v, 'tune_s'), 1)} | {_mean_se(col(v, 'wall_s'), 1)} "
            f"| {_mean_se(col(v, 'trials'), 1)} | {_mean_se(col(v, 'front'), 1)} "
            f"| {' / '.join(cells)} |"
        )
    lines += ["", "Hypervolume per seed:", "", "| seed | " + " | ".join(variants) + " |"]
    lines.append("|---" * (len(variants) + 1) + "|")
    for s in seeds:
        cells = [f"{by[v][s]['hv']:.3f}" if s in by[v] else "-" for v in variants]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paired over seeds (hypervolume): wins-losses, two-sided sign test p, Wilcoxon signed-rank p:",
        "",
        "| ours | peer | mean difference | wins-losses | sign p | Wilcoxon p |",
        "|---|---|---|---|---|---|",
    ]
    for ours in (o for o in OURS if o in by):
        for peer in (v for v in variants if v != ours):
            common = [s for s in seeds if s in by[ours] and s in by[peer]]
            a = [by[ours][s]["hv"] for s in common]
            b = [by[peer][s]["hv"] for s in common]
            if not common:
                continue
            w, lo, sp, wp = paired(a, b)
            lines.append(f"| {ours} | {peer} | {np.mean(np.subtract(a, b)):+.3f} | {w}-{lo} | {sp:.3f} | {wp:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
