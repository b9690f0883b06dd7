"""``python -m pipeline.run``: tune a task on an embedded Ray or an existing cluster.

With no arguments it tunes the built-in ``digits`` task. Settings come from
``--config FILE.yaml`` and flags (flags win); the YAML keys are the flag names with
underscores. Bad input exits with code 2 and one line naming the setting, before
anything starts.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from pipeline.errors import UsageError

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

    p = _Parser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1],
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="Every flag can also be given as a key of --config FILE.yaml "
                       "(e.g. num_samples: 30); `search_space` is YAML-only.")
    a = p.add_argument_group("what to tune")
    a.add_argument("--task", help=f"built-in task ({', '.join(TASKS)}) or module:function, a Ray Tune "
                                  "function trainable of your own (default: digits)")
    a.add_argument("--config", metavar="FILE.yaml", help="experiment settings; flags override them")
    a.add_argument("--metric", help="result key to optimise (default: the task's, e.g. val_accuracy)")
    a.add_argument("--mode", help="min or max (default: the metric's natural direction)")
    a.add_argument("--data", metavar="FILE", help="tabular task: CSV or Parquet file")
    a.add_argument("--target", metavar="COLUMN", help="tabular task: the column to predict")
    a.add_argument("--problem", help="tabular task: classification or regression (default: inferred)")
    a.add_argument("--data-dir", metavar="DIR", help="fashion-mnist: directory with the IDX files "
                                                     "(else /usr/share/datasets/fashion-mnist, else download)")
    f = p.add_argument_group("fidelity and budget")
    f.add_argument("--num-samples", metavar="N", help=f"number of trials (default: {DEFAULT_NUM_SAMPLES})")
    f.add_argument("--max-epochs", metavar="N", help="epochs per trial at most (default: the task's, 15 for digits)")
    f.add_argument("--data-fraction", metavar="F", help="share of the training rows, in (0, 1] (default: 1)")
    f.add_argument("--resolution", metavar="PX", help="image side: digits 8|4, fashion-mnist 28|14|7 (default: native)")
    f.add_argument("--time-budget-s", metavar="S", help="stop starting trials after S seconds (default: none)")
    s = p.add_argument_group("algorithms")
    s.add_argument("--searcher", help=f"{' | '.join(SEARCHERS)} (default: random)")
    s.add_argument("--scheduler", help=f"{' | '.join(SCHEDULERS)} (default: fifo)")
    s.add_argument("--seed", metavar="N", help="seed of the searcher, scheduler, splits and weights (default: 0)")
    r = p.add_argument_group("where it runs")
    r.add_argument("--output", metavar="DIR", help="experiment directory, must be new "
                                                   "(default: results/<task>-<timestamp>)")
    r.add_argument("--address", help="join this Ray cluster (e.g. auto or HOST:6379) instead of starting one")
    r.add_argument("--cpus-per-trial", metavar="C", help="CPUs per trial, fractions allowed (default: 1)")
    r.add_argument("--gpus-per-trial", metavar="G", help="GPUs per trial, fractions such as 0.25 share a GPU (default: 0)")
    r.add_argument("--max-concurrent", metavar="N", help="trials at a time (default: as many as the resources fit)")
    r.add_argument("--reuse-actors", action=argparse.BooleanOptionalAction, default=None,
                   help="run trials in reused worker processes (default: on; off costs ~1 s per trial)")
    r.add_argument("--verbose", action=argparse.BooleanOptionalAction, default=None,
                   help="show Ray's own output and trial logs (default: off)")
    return p


def settings_from(args: argparse.Namespace) -> tuple[dict, set[str]]:
    """Merge --config with flags; return the settings and the keys that came from flags."""
    from pipeline.config import load_yaml

    raw = load_yaml(args.config) if args.config else {}
    flags = {k: v for k, v in vars(args).items() if k != "config" and v is not None}
    raw.update(flags)
    return raw, set(flags) | ({"config"} if args.config else set())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from_flags = {k for k, v in vars(args).items() if v is not None}
    try:
        from pipeline.config import build

        raw, from_flags = settings_from(args)
        cfg = build(raw)
        from pipeline.experiment import run

        run(cfg)
    except UsageError as err:
        field = err.field
        if field in from_flags:
            field = "--" + field.replace("_", "-")
        print(f"{PROG}: error: {field}: {err.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
