"""mftune's pipeline: staged multi-fidelity experiments with cross-validation, on Ray Tune.

Public Python entry points (the command line is ``mftune`` / ``python -m pipeline.run``):
:func:`load_experiment` reads an experiment directory, finished or running.
"""

from typing import Any

__all__ = ["ExperimentResults", "load_experiment"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import pipeline.<module>` does not pay for pandas and Ray.
    if name in __all__:
        from pipeline import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
