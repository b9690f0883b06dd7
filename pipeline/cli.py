"""``mftune``: the console script, one command per pipeline entry point.

``mftune run ...`` is ``python -m pipeline.run ...``, ``mftune compare ...`` is
``python -m pipeline.compare ...`` and ``mftune report DIR`` is
``python -m pipeline.report DIR``; the flags are theirs (``mftune run --help``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = {
    "run": "run an experiment, or --resume one",
    "compare": "compare searcher x scheduler combinations, or existing experiments",
    "report": "write report.md and plots/ for an experiment directory again",
}


def _usage() -> str:
    lines = ["usage: mftune {run,compare,report} ...", ""]
    lines += [f"  {name:<8} {text}" for name, text in COMMANDS.items()]
    lines += ["", "mftune COMMAND --help shows a command's flags."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"mftune: error: unknown command {command!r}; allowed: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    from pipeline.extras import check_pipeline_extra

    code = check_pipeline_extra(f"mftune {command}")
    if code:
        return code
    if command == "run":
        from pipeline import run

        run.PROG = "mftune run"
        return run.main(rest)
    if command == "compare":
        from pipeline import compare

        return compare.main(rest)
    from pipeline import report

    return report.main(rest)


if __name__ == "__main__":
    sys.exit(main())
