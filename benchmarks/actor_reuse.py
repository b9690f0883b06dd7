"""Trials per minute of the default experiment with and without Ray actor reuse.

Runs ``python -m pipeline.run`` (the default digits experiment, same seed, so the same
20 configurations) alternately with ``--reuse-actors`` and ``--no-reuse-actors``, and
reports Tune's fit time (Ray start-up excluded), process wall time and trials/minute,
with the ratio against reuse in the same session.

    python benchmarks/actor_reuse.py [--repeats 2] [--num-samples 20] [--max-epochs 15]
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


def one_run(reuse: bool, num_samples: int, max_epochs: int, out: Path) -> tuple[int, float, float, float]:
    cmd = [sys.executable, "-m", "pipeline.run", "--output", str(out), "--num-samples", str(num_samples),
           "--max-epochs", str(max_epochs), "--reuse-actors" if reuse else "--no-reuse-actors"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.monotonic() - start
    trials, fit = re.search(r"mftune: (\d+) trials \(\d+ failed\) in ([\d.]+)s", proc.stdout).groups()
    best = float(re.search(r"best \S+ = ([\d.]+)", proc.stdout).group(1))
    return int(trials), float(fit), wall, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--num-samples", type=int, default=20)
    ap.add_argument("--max-epochs", type=int, default=15)
    args = ap.parse_args()
    rows: dict[bool, list[tuple[int, float, float, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for reuse in (True, False):
                rows[reuse].append(one_run(reuse, args.num_samples, args.max_epochs,
                                           Path(tmp) / f"run-{r}-{reuse}"))
    print(f"default digits run, {args.num_samples} trials x {args.max_epochs} epochs, "
          f"{args.repeats} runs each (alternating)")
    print("| reuse_actors | fit s (each run) | process wall s | trials/min (fit) | best val_accuracy | fit time / reuse |")
    print("|---|---|---|---|---|---|")
    base = statistics.median(f for _, f, _, _ in rows[True])
    for reuse in (True, False):
        fits = [f for _, f, _, _ in rows[reuse]]
        walls = [w for _, _, w, _ in rows[reuse]]
        n = rows[reuse][0][0]
        med = statistics.median(fits)
        print(f"| {reuse} | {', '.join(f'{f:.1f}' for f in fits)} | {statistics.median(walls):.1f} "
              f"| {60 * n / med:.1f} | {rows[reuse][0][3]:.4f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
