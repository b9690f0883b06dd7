"""What snapshotting Ray's experiment state every second costs the default pipeline.

The pipeline sets TUNE_GLOBAL_CHECKPOINT_S=1 so that a killed driver loses at most about
a second of trial progress; Ray's default ("auto") is max(10 s, 19 x save time). This
runs the default pipeline (seed 0: the same configurations every time) alternately with
both settings, in one process and one Ray, and reports the time inside Tune, and how
many snapshots the driver took and how long it spent taking them: this benchmark (and
only it) wraps Ray's ``_ExperimentCheckpointManager.sync_up_experiment_state`` with a
timer, which stays meaningful on a loaded machine where whole-run times are noise.

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
    import time

    from ray.tune.execution.experiment_state import _ExperimentCheckpointManager

    from pipeline import experiment
    from pipeline.config import build

    spent = {"n": 0, "s": 0.0}
    original = _ExperimentCheckpointManager.sync_up_experiment_state

    def timed(self, save_fn, force=False, wait=False):
        saved = []

        def counting_save():
            saved.append(True)
            save_fn()

        start = time.perf_counter()
        original(self, counting_save, force=force, wait=wait)
        if saved:  # a call that did snapshot (the others return at once)
            spent["n"] += 1
            spent["s"] += time.perf_counter() - start

    _ExperimentCheckpointManager.sync_up_experiment_state = timed
    walls: dict[str, list[float]] = {"auto": [], "1": []}
    scores: dict[str, list[float]] = {"auto": [], "1": []}
    snaps: dict[str, list[tuple[int, float]]] = {"auto": [], "1": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for period in ("auto", "1"):
                os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = period  # read by each new Tuner
                cfg = build({"output": str(Path(tmp) / f"run-{r}-{period}")})
                spent.update(n=0, s=0.0)
                result = experiment.run(cfg)
                walls[period].append(result.wall_s)
                scores[period].append(result.best["value"])
                snaps[period].append((spent["n"], spent["s"]))
    base = statistics.median(walls["auto"])
    print(f"\ndefault pipeline, seed 0, {args.repeats} runs each (alternating)")
    print(
        "| TUNE_GLOBAL_CHECKPOINT_S | time in Tune s (each run) | median / auto | snapshots | s snapshotting "
        "| share of time in Tune | final CV val_accuracy |"
    )
    print("|---|---|---|---|---|---|---|")
    for period in ("auto", "1"):
        n = ", ".join(str(k) for k, _ in snaps[period])
        s = ", ".join(f"{v:.1f}" for _, v in snaps[period])
        share = ", ".join(f"{v / w:.1%}" for (_, v), w in zip(snaps[period], walls[period]))
        print(
            f"| {period} | {', '.join(f'{w:.1f}' for w in walls[period])} | "
            f"{statistics.median(walls[period]) / base:.2f} | {n} | {s} | {share} | "
            f"{', '.join(f'{v:.4f}' for v in scores[period])} |"
        )


if __name__ == "__main__":
    main()
