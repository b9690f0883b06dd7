"""TPE: the pure core (numpy/scipy) and its Ray Tune searcher.

``searchers.tpe.core`` and the modules it uses never import Ray; ``TPESearcher`` (which
does) is loaded on first access so that benchmarks and tests of the core stay light.
"""

from typing import Any

from searchers.tpe.core import Decision, TPECore, TPESettings

__all__ = ["Decision", "TPECore", "TPESettings", "TPESearcher"]


def __getattr__(name: str) -> Any:
    if name == "TPESearcher":
        from searchers.tpe.searcher import TPESearcher

        return TPESearcher
    raise AttributeError(name)
