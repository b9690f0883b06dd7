"""Searchers and schedulers by name, so experiments and comparisons pick them by string.

Each factory takes one :class:`SearchContext`; adding an algorithm is one entry here.
Ray's own algorithms carry a ``ray-`` prefix so comparisons can name both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from searchers.space import SearchSpace


@dataclass(frozen=True)
class SearchContext:
    space: SearchSpace
    metric: str
    mode: str
    seed: int
    max_t: int  # most resource units (epochs, iterations) a trial may use
    time_attr: str = "training_iteration"
    points_to_evaluate: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def _random(ctx: SearchContext):
    from searchers.random_search import RandomSearcher

    return RandomSearcher(ctx.space, metric=ctx.metric, mode=ctx.mode, seed=ctx.seed,
                          points_to_evaluate=list(ctx.points_to_evaluate), resource_attr=ctx.time_attr)


def _tpe(ctx: SearchContext):
    from searchers.tpe.searcher import TPESearcher

    return TPESearcher(ctx.space, metric=ctx.metric, mode=ctx.mode, seed=ctx.seed,
                       points_to_evaluate=list(ctx.points_to_evaluate), resource_attr=ctx.time_attr)


def _gp(ctx: SearchContext):
    from searchers.gp.searcher import GPSearcher

    return GPSearcher(ctx.space, metric=ctx.metric, mode=ctx.mode, seed=ctx.seed,
                      points_to_evaluate=list(ctx.points_to_evaluate), resource_attr=ctx.time_attr)


def _hyperopt(ctx: SearchContext):
    from ray.tune.search.hyperopt import HyperOptSearch

    return HyperOptSearch(ctx.space.to_ray(), metric=ctx.metric, mode=ctx.mode,
                          random_state_seed=ctx.seed,
                          points_to_evaluate=list(ctx.points_to_evaluate) or None)


def _fifo(ctx: SearchContext):
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def _ray_asha(ctx: SearchContext):
    from ray.tune.schedulers import AsyncHyperBandScheduler

    return AsyncHyperBandScheduler(time_attr=ctx.time_attr, max_t=ctx.max_t, grace_period=1,
                                   reduction_factor=3)


def _ray_hyperband(ctx: SearchContext):
    from ray.tune.schedulers import HyperBandScheduler

    return HyperBandScheduler(time_attr=ctx.time_attr, max_t=ctx.max_t, reduction_factor=3)


def _mftune_asha(rule: str) -> Callable[[SearchContext], Any]:
    def factory(ctx: SearchContext):
        from schedulers import ASHAScheduler

        return ASHAScheduler(resource_attr=ctx.time_attr, min_resource=1, max_resource=ctx.max_t,
                             reduction_factor=3, rule=rule, seed=ctx.seed)

    return factory


def _mftune_hyperband(ctx: SearchContext):
    from schedulers import HyperbandScheduler

    return HyperbandScheduler(resource_attr=ctx.time_attr, min_resource=1, max_resource=ctx.max_t,
                              reduction_factor=3)


SEARCHERS: dict[str, Callable[[SearchContext], Any]] = {
    "random": _random,
    "tpe": _tpe,
    "hyperopt": _hyperopt,
    "gp": _gp,
}

SCHEDULERS: dict[str, Callable[[SearchContext], Any]] = {
    "fifo": _fifo,
    "ray-asha": _ray_asha,
    "ray-hyperband": _ray_hyperband,
    "asha": _mftune_asha("stopping"),
    "asha-promotion": _mftune_asha("promotion"),
    "hyperband": _mftune_hyperband,
}
