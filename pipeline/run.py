"""``python -m pipeline.run``: tune a task on an embedded Ray or an existing cluster.

With no arguments it runs the default pipeline on the built-in ``digits`` task: 4x4
images and 30 % of the rows, then 8x8 and all rows, then 5-fold cross-validation of the
best 3. Settings come from ``--config FILE.yaml`` and flags (flags win); the YAML keys
are the flag names with underscores, plus ``stages``, ``cv`` and ``search_space``. Bad
input exits with code 2 and one line naming the setting, before anything starts.
``--resume DIR`` continues an experiment whose driver was stopped or killed. The same
settings go through the same function as the Python API (``pipeline.api.run_settings``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.errors import UsageError, fail

PROG = "python -m pipeline.run"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        print(f"{PROG}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    # Imported here so --help stays fast and lists what is really registered.
    from pipeline.config import DEFAULT_NUM_SAMPLES
    from pipeline.registry import SCHEDULERS, SEARCHERS
    from pipeline.tasks import TASKS

    p = _Parser(
        prog=PROG,
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Every flag can also be given as a key of --config FILE.yaml "
        "(e.g. num_samples: 30); `stages`, `cv` and `search_space` are YAML-only "
        "(docs/pipeline.md). The one-stage flags (--num-samples ... --epochs-budget) "
        "make a one-stage experiment; without them and without `stages` the task's "
        "default pipeline runs.",
    )
    a = p.add_argument_group("what to tune")
    a.add_argument(
        "--task",
        help=f"built-in task ({', '.join(TASKS)}) or module:function, a Ray Tune "
        "function trainable of your own (default: digits)",
    )
    a.add_argument("--config", metavar="FILE.yaml", help="experiment settings; flags override them")
    a.add_argument("--metric", help="result key to optimise (default: the task's, e.g. val_accuracy)")
    a.add_argument("--mode", help="min or max (default: the metric's natural direction)")
    a.add_argument(
        "--objectives",
        nargs="+",
        metavar="METRIC:MODE",
        help="several objectives instead of --metric, e.g. val_accuracy:max params:min latency_ms:min",
    )
    a.add_argument(
        "--constraints",
        nargs="+",
        metavar="'METRIC OP N'",
        help="feasibility bounds, e.g. 'params <= 50000' 'latency_ms < 2' (OP: <= < >= >)",
    )
    a.add_argument(
        "--select",
        help="with several objectives, which CV'd Pareto-optimal configuration best.json picks: "
        "primary (the most accurate feasible; default) or knee",
    )
    a.add_argument("--data", metavar="FILE", help="tabular task: CSV or Parquet file")
    a.add_argument("--target", metavar="COLUMN", help="tabular task: the column to predict")
    a.add_argument("--problem", help="tabular task: classification or regression (default: inferred)")
    a.add_argument(
        "--data-dir",
        metavar="DIR",
        help="images: a folder with one subfolder of images per class; fashion-mnist: directory with the IDX "
        "files (else /usr/share/datasets/fashion-mnist, else download)",
    )
    f = p.add_argument_group("a one-stage experiment: fidelity, algorithms and budget")
    f.add_argument("--num-samples", metavar="N", help=f"number of trials (default: {DEFAULT_NUM_SAMPLES})")
    f.add_argument("--max-epochs", metavar="N", help="epochs per trial at most (default: the task's, 15 for digits)")
    f.add_argument("--data-fraction", metavar="F", help="share of the training rows, in (0, 1] (default: 1)")
    f.add_argument("--resolution", metavar="PX", help="image side: digits 8|4, fashion-mnist 28|14|7 (default: native)")
    f.add_argument("--time-budget-s", metavar="S", help="stop the stage after S seconds (default: none)")
    f.add_argument(
        "--epochs-budget",
        metavar="N",
        help="stop the stage when its trials have trained N epochs in all (default: none)",
    )
    f.add_argument("--searcher", help=f"{' | '.join(SEARCHERS)} (default: auto)")
    f.add_argument("--scheduler", help=f"{' | '.join(SCHEDULERS)} (default: fifo)")
    s = p.add_argument_group("every experiment")
    s.add_argument("--seed", metavar="N", help="seed of the searchers, splits, folds and weights (default: 0)")
    s.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train the winner on every labelled row and save it as DIR/model (default: on for built-in "
        "tasks; a custom trainable names its refit function in YAML, refit: module:function)",
    )
    s.add_argument(
        "--deadline-s",
        metavar="S",
        help="wall-clock seconds for the whole experiment, Ray's start-up included, across resumes: at S the "
        "running stage stops with what it has and later stages and CV are skipped (default: none)",
    )
    r = p.add_argument_group("where it runs")
    r.add_argument(
        "--output", metavar="DIR", help="experiment directory, must be new (default: results/<task>-<timestamp>)"
    )
    r.add_argument("--address", help="join this Ray cluster (e.g. auto or HOST:6379) instead of starting one")
    r.add_argument("--cpus-per-trial", metavar="C", help="CPUs per trial, fractions allowed (default: 1)")
    r.add_argument(
        "--gpus-per-trial", metavar="G", help="GPUs per trial, fractions such as 0.25 share a GPU (default: 0)"
    )
    r.add_argument("--max-concurrent", metavar="N", help="trials at a time (default: as many as the resources fit)")
    r.add_argument(
        "--max-failures",
        metavar="N",
        help="retry a trial whose worker died or that raised up to N "
        "times, from its last checkpoint (default: 0; on a "
        "cluster with preemptible nodes e.g. 3)",
    )
    r.add_argument(
        "--reuse-actors",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run trials in reused worker processes (default: on; off costs ~1 s per trial)",
    )
    r.add_argument(
        "--verbose",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show Ray's own output and trial logs (default: off)",
    )
    r.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the experiment in DIR with its own settings (only --address and --verbose may be added)",
    )
    return p


def settings_from(args: argparse.Namespace) -> tuple[dict, set[str]]:
    """Merge --config with flags; return the settings and the keys that came from flags."""
    from pipeline.config import load_yaml

    raw = load_yaml(args.config) if args.config else {}
    flags = {k: v for k, v in vars(args).items() if k not in ("config", "resume") and v is not None}
    raw.update(flags)
    return raw, set(flags) | ({"config"} if args.config else set())


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.extras import check_pipeline_extra

    if check_pipeline_extra(PROG):
        return 2
    args = build_parser().parse_args(argv)
    from_flags = {k for k, v in vars(args).items() if v is not None}
    try:
        from pipeline import ray_runtime

        ray_runtime.quiet_environment(bool(args.verbose))
        ray_runtime.quiet_loggers(bool(args.verbose))
        from pipeline.api import NoResultError, run_settings

        if args.resume:
            extra = sorted(
                k for k, v in vars(args).items() if v is not None and k not in ("resume", "address", "verbose")
            )
            if extra:
                raise UsageError(
                    extra[0],
                    "cannot be combined with --resume: a resumed experiment keeps "
                    "its own settings (only --address and --verbose may be added)",
                )
            run_settings(resume=args.resume, address=args.address, verbose=args.verbose)
        else:
            raw, from_flags = settings_from(args)
            run_settings(raw)
    except (UsageError, KeyboardInterrupt) as err:
        return fail(PROG, err, from_flags)
    except NoResultError:
        return 1  # the driver printed why (no trial reported a finite metric)
    return 0


if __name__ == "__main__":
    sys.exit(main())
