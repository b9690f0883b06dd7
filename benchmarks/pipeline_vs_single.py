"""The multi-fidelity pipeline against single-stage full-fidelity random search with the
same epoch budget and the same cross-validation, over several seeds.

For each seed: run the pipeline; read the epochs its tuning stages spent; run the
baseline (one stage at full fidelity, random search, FIFO, that many epochs as its
budget, then the same CV). Both end with the same CV of their top configurations, so
their final scores (the winner's CV mean) compare directly. Prints the comparison table
(pipeline.compare's report, also written to --output) and each run's numbers.

    python benchmarks/pipeline_vs_single.py --task digits --seeds 0 1 2 --output bench-digits
    python benchmarks/pipeline_vs_single.py --task fashion-mnist --seeds 0 1 2 --output bench-fashion

``--task digits`` uses the default pipeline itself (docs/examples/digits-pipeline.yaml).
``--task fashion-mnist`` uses a scaled-down version of docs/examples/fashion-mnist.yaml
(FASHION_SCALED below: fewer rows, trials and epochs) that finishes on a 2-core CPU.
``--snapshot-period S`` sets TUNE_GLOBAL_CHECKPOINT_S (default: the pipeline's 1 s).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: 7x7 -> 14x14 -> 28x28 like docs/examples/fashion-mnist.yaml, shrunk to finish on a
#: shared 2-core CPU: 5 % of the training rows (2,500 images) at every stage, 3 epochs,
#: 12 + 4 + 2 trials, then 3-fold CV of 2 over 5 % of the labelled pool (3,000 images);
#: validation during the stages is always the full 10,000-image holdout
FASHION_SCALED = {
    "task": "fashion-mnist",
    "stages": [
        {
            "name": "7px",
            "data_fraction": 0.05,
            "resolution": 7,
            "max_epochs": 3,
            "searcher": "tpe",
            "scheduler": "asha",
            "budget": {"trials": 12},
            "top_k": 3,
        },
        {
            "name": "14px",
            "data_fraction": 0.05,
            "resolution": 14,
            "max_epochs": 3,
            "searcher": "tpe",
            "scheduler": "fifo",
            "budget": {"trials": 4},
            "top_k": 2,
        },
        {
            "name": "28px",
            "data_fraction": 0.05,
            "resolution": 28,
            "max_epochs": 3,
            "searcher": "tpe",
            "scheduler": "fifo",
            "budget": {"trials": 2},
        },
    ],
    "cv": {"folds": 3, "top_k": 2, "data_fraction": 0.05},
}


def pipeline_settings(task: str) -> dict:
    if task == "digits":
        return {"task": "digits"}  # the default pipeline
    return copy.deepcopy(FASHION_SCALED)


def baseline_settings(task: str, pipeline_cfg, epochs: int) -> dict:
    """One stage at the pipeline's last-stage fidelity, random + FIFO, an epoch budget."""
    last = pipeline_cfg.stages[-1]
    stage = {
        "name": "single",
        "data_fraction": last.fidelity.data_fraction,
        "max_epochs": last.fidelity.max_epochs,
        "searcher": "random",
        "scheduler": "fifo",
        "budget": {"epochs": epochs},
    }
    if last.fidelity.resolution is not None:
        stage["resolution"] = last.fidelity.resolution
    settings = {"task": task, "stages": [stage]}
    cv = pipeline_cfg.cv
    settings["cv"] = {
        "folds": cv.folds,
        "top_k": cv.top_k,
        "max_epochs": cv.fidelity.max_epochs,
        "data_fraction": cv.fidelity.data_fraction,
    }
    if cv.fidelity.resolution is not None:
        settings["cv"]["resolution"] = cv.fidelity.resolution
    return settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=("digits", "fashion-mnist"), default="digits")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--output", required=True)
    ap.add_argument("--snapshot-period", default=None, help="TUNE_GLOBAL_CHECKPOINT_S for every run")
    args = ap.parse_args()
    if args.snapshot_period is not None:
        os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = args.snapshot_period

    from pipeline import experiment
    from pipeline.compare_report import run_rows, write_comparison
    from pipeline.config import build

    out = Path(args.output).resolve()
    runs = []
    for seed in args.seeds:
        cfg = build(
            {**pipeline_settings(args.task), "seed": seed, "output": str(out / "runs" / "pipeline" / f"seed-{seed}")}
        )
        result = experiment.run(cfg)
        spent = result.epochs - (result.best or {}).get("cv_epochs", 0)
        runs.append(("pipeline", cfg.output))
        base = build(
            {
                **baseline_settings(args.task, cfg, spent),
                "seed": seed,
                "output": str(out / "runs" / "single-full-fidelity" / f"seed-{seed}"),
            }
        )
        experiment.run(base)
        runs.append(("single-full-fidelity", base.output))
    report = write_comparison(runs, out / "report")
    rows = run_rows(runs)
    print("\n" + report.read_text().split("## Runs")[0])
    print(
        rows[["label", "seed", "final_score", "cv_std", "tuning_epochs", "cv_epochs", "wall_s", "trials"]].to_string(
            index=False
        )
    )


if __name__ == "__main__":
    main()
