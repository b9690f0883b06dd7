"""What snapshotting Ray's experiment state every second costs the default pipeline.

The pipeline sets TUNE_GLOBAL_CHECKPOINT_S=1 so that a killed driver loses at most about
a second of trial progress; Ray's default ("auto") is max(10 s, 19 x save time). This
runs the default pipeline (seed 0: the same configurations every time) alternately with
both settings, in one process and one Ray, and reports the time inside Tune and the
ratio against "auto" measured in the same session.

    python benchmarks/snapshot_period.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    from pipeline import experiment
    from pipeline.config import build

    walls: dict[str, list[float]] = {"auto": [], "1": []}
    scores: dict[str, list[float]] = {"auto": [], "1": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for period in ("auto", "1"):
                os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = period  # read by each new Tuner
                cfg = build({"output": str(Path(tmp) / f"run-{r}-{period}")})
                result = experiment.run(cfg)
                walls[period].append(result.wall_s)
                scores[period].append(result.best["value"])
    base = statistics.median(walls["auto"])
    print(f"\ndefault pipeline, seed 0, {args.repeats} runs each (alternating)")
    print("| TUNE_GLOBAL_CHECKPOINT_S | time in Tune s (each run) | median / auto | final CV val_accuracy |")
    print("|---|---|---|---|")
    for period in ("auto", "1"):
        print(f"| {period} | {', '.join(f'{w:.1f}' for w in walls[period])} | "
              f"{statistics.median(walls[period]) / base:.2f} | {', '.join(f'{s:.4f}' for s in scores[period])} |")


if __name__ == "__main__":
    main()
