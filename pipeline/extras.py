"""The ``pipeline`` extra: what the pipeline needs beyond mftune's core install.

``pip install mftune`` gives the searchers and schedulers (numpy, scipy, pandas, Ray
Tune); the pipeline's tasks, reports and Ray's hyperopt searcher need torch,
scikit-learn, matplotlib and hyperopt, which ``pip install "mftune[pipeline]"`` adds.
Every pipeline command checks first, so a core-only install gets one line that says what
to install instead of an ImportError from deep inside a task.
"""

from __future__ import annotations

import importlib.util
import sys

#: import name -> distribution name, for the modules the pipeline imports.
PIPELINE_MODULES = {
    "torch": "torch",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "hyperopt": "hyperopt",
    "pyarrow": "pyarrow",
    "yaml": "pyyaml",
}


def missing_modules() -> list[str]:
    """Distributions of the pipeline extra that are not importable."""
    return [dist for module, dist in PIPELINE_MODULES.items() if importlib.util.find_spec(module) is None]


def check_pipeline_extra(prog: str) -> int:
    """0 when the pipeline can run; else print the one line and return exit code 2."""
    missing = missing_modules()
    if not missing:
        return 0
    print(
        f"{prog}: error: the pipeline needs mftune's 'pipeline' extra (missing: {', '.join(missing)}); "
        'install it with: pip install "mftune[pipeline]"',
        file=sys.stderr,
    )
    return 2
