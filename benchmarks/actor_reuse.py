"""Trials per minute of the default experiment with and without Ray actor reuse.

Runs ``python -m pipeline.run`` alternately with ``--reuse-actors`` and
``--no-reuse-actors`` and reports Tune's fit time (Ray start-up excluded), process wall
time and trials/minute, with the ratio against reuse in the same session. By default it
runs the default pipeline exactly as ``python -m pipeline.run`` does (65 trials over two
stages and the CV); ``--one-stage N E`` runs one stage of N trials x E epochs instead.

    python benchmarks/actor_reuse.py [--repeats 2] [--one-stage 20 15]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(reuse: bool, one_stage: list[int] | None, out: Path) -> tuple[int, float, float, float]:
    cmd = [
        sys.executable,
        "-m",
        "pipeline.run",
        "--output",
        str(out),
        "--reuse-actors" if reuse else "--no-reuse-actors",
    ]
    if one_stage:
        cmd += ["--num-samples", str(one_stage[0]), "--max-epochs", str(one_stage[1])]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.monotonic() - start
    trials, fit = re.search(r"mftune: (\d+) trials \(\d+ failed\) in ([\d.]+)s", proc.stdout).groups()
    best = float(re.search(r"best \S+ = ([\d.]+)", proc.stdout).group(1))
    return int(trials), float(fit), wall, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--one-stage",
        type=int,
        nargs=2,
        metavar=("TRIALS", "EPOCHS"),
        help="one stage of TRIALS x EPOCHS instead of the default pipeline",
    )
    args = ap.parse_args()
    rows: dict[bool, list[tuple[int, float, float, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for reuse in (True, False):
                rows[reuse].append(one_run(reuse, args.one_stage, Path(tmp) / f"run-{r}-{reuse}"))
    what = (
        f"one stage, {args.one_stage[0]} trials x {args.one_stage[1]} epochs"
        if args.one_stage
        else "the default pipeline"
    )
    print(f"digits, {what}; {args.repeats} runs each (alternating)")
    print(
        "| reuse_actors | trials | fit s (each run) | process wall s | trials/min (fit) "
        "| best val_accuracy (each run) | fit time / reuse |"
    )
    print("|---|---|---|---|---|---|---|")
    base = statistics.median(f for _, f, _, _ in rows[True])
    for reuse in (True, False):
        fits = [f for _, f, _, _ in rows[reuse]]
        walls = [w for _, _, w, _ in rows[reuse]]
        n = rows[reuse][0][0]
        med = statistics.median(fits)
        print(
            f"| {reuse} | {n} | {', '.join(f'{f:.1f}' for f in fits)} | {statistics.median(walls):.1f} "
            f"| {60 * n / med:.1f} | {', '.join(f'{b:.4f}' for *_, b in rows[reuse])} | {med / base:.2f} |"
        )


if __name__ == "__main__":
    main()
