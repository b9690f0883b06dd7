"""mftune searchers: a typed search space and Ray Tune searchers built on it.

Nothing here imports the ``pipeline`` package; every searcher works in any Ray Tune
script, exactly like Ray's built-in ones.
"""

from typing import Any

from searchers.space import Categorical, Float, Int, Param, SearchSpace, SpaceError

__all__ = [
    "Categorical",
    "Float",
    "Int",
    "Param",
    "SearchSpace",
    "SpaceError",
    "RandomSearcher",
    "TPESearcher",
    "GPSearcher",
    "RLSearcher",
    "AutoSearcher",
]


def __getattr__(name: str) -> Any:
    # Searchers import Ray; keep `import searchers.space` usable without paying for it.
    if name == "TPESearcher":
        from searchers.tpe.searcher import TPESearcher

        return TPESearcher
    if name == "RandomSearcher":
        from searchers.random_search import RandomSearcher

        return RandomSearcher
    if name == "GPSearcher":
        from searchers.gp.searcher import GPSearcher

        return GPSearcher
    if name == "AutoSearcher":
        from searchers.auto.searcher import AutoSearcher

        return AutoSearcher
    if name == "RLSearcher":
        from searchers.rl.searcher import RLSearcher

        return RLSearcher
    raise AttributeError(name)
