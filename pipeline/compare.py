"""``python -m pipeline.compare``: several searcher x scheduler combinations (or several
experiment configs) on the same task, budget and seeds, and one report over them all.

Runs every variant with every seed (in one process, one Ray), each into
``OUTPUT/runs/<label>/seed-<n>``, then writes ``OUTPUT/report.md``: a table of final
score (the winner's CV mean when the experiments cross-validate, else the best value),
epochs spent, wall time and trials as mean ± std over seeds, and best-so-far curves
against cumulative epochs and against wall time (PNG). ``--experiments DIR ...`` skips
running and reports on existing experiment directories instead.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError, fail
from pipeline.layout import STATE_FILE

PROG = "python -m pipeline.compare"
DEFAULT_COMBOS = ("random:fifo", "random:ray-asha", "hyperopt:ray-asha", "tpe:asha", "tpe:bohb", "gp:asha")
#: the base experiment when no --configs are given: one stage of digits, 20 trials x 15
#: epochs, in a flat space (Ray's HyperOptSearch cannot take the default space's branches)
DEFAULT_BASE = {
    "task": "digits",
    "num_samples": 20,
    "search_space": {
        "lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
        "batch_size": {"type": "categorical", "choices": [16, 32, 64, 128]},
        "channels": {"type": "int", "low": 8, "high": 32, "step": 8},
        "hidden": {"type": "int", "low": 32, "high": 256, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    },
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        print(f"{PROG}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    from pipeline.registry import SCHEDULERS, SEARCHERS

    p = _Parser(
        prog=PROG,
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--configs",
        nargs="+",
        metavar="FILE.yaml",
        help="experiment configs to compare, as for pipeline.run --config (default: one stage of "
        "digits, 20 trials x 15 epochs)",
    )
    p.add_argument(
        "--combos",
        nargs="+",
        metavar="SEARCHER:SCHEDULER",
        help=f"searcher x scheduler combinations applied to every stage of each config; searchers: "
        f"{', '.join(SEARCHERS)}; schedulers: {', '.join(SCHEDULERS)} (default without --configs: "
        f"{' '.join(DEFAULT_COMBOS)}; with --configs: the configs as they are)",
    )
    p.add_argument("--seeds", nargs="+", metavar="N", help="seeds, the same for every variant (default: 0 1 2)")
    p.add_argument(
        "--experiments",
        nargs="+",
        metavar="DIR",
        help="report on these existing experiment directories instead of running (runs are grouped "
        "by the name of DIR, or of its parent when DIR is seed-N)",
    )
    p.add_argument("--output", metavar="DIR", required=True, help="report directory, must be new or empty")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.extras import check_pipeline_extra

    if check_pipeline_extra("python -m pipeline.compare"):
        return 2
    args = build_parser().parse_args(argv)
    try:
        from pipeline import ray_runtime

        ray_runtime.quiet_environment(False)
        ray_runtime.quiet_loggers(False)
        out = _output(args.output)
        if args.experiments:
            for key in ("configs", "combos", "seeds"):
                if getattr(args, key):
                    raise UsageError(key, "cannot be combined with --experiments (that only reports)")
            runs = [(label_of(Path(d)), Path(d)) for d in args.experiments]
            for _, d in runs:
                if not (d / STATE_FILE).is_file():
                    raise UsageError("experiments", f"{d} is not an mftune experiment directory (no pipeline.json)")
        else:
            runs = run_variants(plan(args.configs, args.combos, args.seeds, out))
        from pipeline.compare_report import write_comparison

        print(f"mftune: comparison report in {write_comparison(runs, out)}")
    except (UsageError, KeyboardInterrupt) as err:
        return fail(PROG, err, {"configs", "combos", "seeds", "experiments", "output"})
    return 0


def plan(
    configs: list[str] | None, combos: list[str] | None, seeds: list[str] | None, out: Path
) -> list[tuple[str, Any]]:
    """Every (label, validated ExperimentConfig), checked before anything runs."""
    from pipeline.config import build, load_yaml

    seed_values = [_seed(s) for s in (seeds or ["0", "1", "2"])]
    if len(set(seed_values)) != len(seed_values):
        raise UsageError("seeds", "must be distinct")
    bases = (
        [(Path(c).stem, load_yaml(c, field_name="configs")) for c in configs]
        if configs
        else [("digits", dict(DEFAULT_BASE))]
    )
    pairs = [_combo(c) for c in (combos or ([] if configs else list(DEFAULT_COMBOS)))]
    variants = []
    for stem, base in bases:
        if not pairs:
            variants.append((stem, base))
        for searcher, scheduler in pairs:
            label = f"{searcher}+{scheduler}" if len(bases) == 1 else f"{stem}-{searcher}+{scheduler}"
            variants.append((label, with_algorithms(base, searcher, scheduler)))
    labels = [label for label, _ in variants]
    if len(set(labels)) != len(labels):
        raise UsageError("configs", "two variants have the same label; give the config files different names")
    planned = []
    for label, raw in variants:
        for seed in seed_values:
            # no model/ per run unless the config asks: a comparison scores the searches
            settings = {
                "refit": False,
                **raw,
                "seed": seed,
                "output": str(out / "runs" / _slug(label) / f"seed-{seed}"),
            }
            try:
                planned.append((label, build(settings)))
            except UsageError as err:
                raise UsageError(err.field, f"{err.message} (variant {label})") from None
    return planned


def with_algorithms(base: dict[str, Any], searcher: str, scheduler: str) -> dict[str, Any]:
    raw = copy.deepcopy(base)
    if raw.get("stages") is not None:
        for stage in raw["stages"]:
            if isinstance(stage, dict):
                stage.update(searcher=searcher, scheduler=scheduler)
    else:
        raw.update(searcher=searcher, scheduler=scheduler)
    return raw


def run_variants(planned: list[tuple[str, Any]]) -> list[tuple[str, Path]]:
    from pipeline import experiment

    runs = []
    for i, (label, cfg) in enumerate(planned):
        print(f"mftune: compare run {i + 1}/{len(planned)}: {label}, seed {cfg.seed}", flush=True)
        experiment.run(cfg)
        runs.append((label, cfg.output))
    return runs


def label_of(path: Path) -> str:
    path = path.expanduser().resolve()
    return path.parent.name if re.fullmatch(r"seed-\d+", path.name) else path.name


def _combo(text: str) -> tuple[str, str]:
    from pipeline.registry import SCHEDULERS, SEARCHERS

    searcher, sep, scheduler = text.partition(":")
    if not sep:
        raise UsageError("combos", f"expected SEARCHER:SCHEDULER, got {text!r}")
    if searcher not in SEARCHERS:
        raise UsageError("combos", f"unknown searcher {searcher!r}; allowed: {', '.join(SEARCHERS)}")
    if scheduler not in SCHEDULERS:
        raise UsageError("combos", f"unknown scheduler {scheduler!r}; allowed: {', '.join(SCHEDULERS)}")
    return searcher, scheduler


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError("seeds", f"must be integers in [0, 2**32), got {text!r}") from None
    if not 0 <= value < 2**32:
        raise UsageError("seeds", f"must be integers in [0, 2**32), got {text!r}")
    return value


def _output(value: str) -> Path:
    out = Path(value).expanduser().resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError("output", f"{out} already exists and is not an empty directory; choose a new path")
    return out


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", label)


if __name__ == "__main__":
    sys.exit(main())
