"""Searchers and schedulers by name, so experiments and comparisons pick them by string.

Each factory takes one :class:`SearchContext`; adding an algorithm is one entry here.
Ray's own algorithms carry a ``ray-`` prefix so comparisons can name both.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from searchers.space import SearchSpace


@dataclass(frozen=True)
class SearchContext:
    space: SearchSpace
    metric: str
    mode: str
    seed: int
    max_resource: int  # most resource units (epochs, iterations) a trial may use
    resource_attr: str = "training_iteration"
    points_to_evaluate: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: several objectives: ((metric, mode), ...), the first being metric/mode; and the
    #: constraints as (metric, "<=" | ">=", bound) (pipeline.pareto_select)
    objectives: tuple[tuple[str, str], ...] = ()
    constraints: tuple[tuple[str, str, float], ...] = ()


def space_searcher(module: str, name: str, **settings: Any) -> Callable[[SearchContext], Any]:
    """A factory for one of mftune's searchers: they share the adapter, so one set of
    arguments builds each of them (imported when first used: the CLI starts fast);
    ``settings`` are further constructor arguments (benchmarks build variants this way)."""

    def make(ctx: SearchContext) -> Any:
        cls = getattr(importlib.import_module(module), name)
        several = len(ctx.objectives) > 1
        return cls(
            ctx.space,
            metric=[m for m, _ in ctx.objectives] if several else ctx.metric,
            mode=[m for _, m in ctx.objectives] if several else ctx.mode,
            **({"constraints": list(ctx.constraints)} if several and ctx.constraints else {}),
            seed=ctx.seed,
            points_to_evaluate=list(ctx.points_to_evaluate),
            resource_attr=ctx.resource_attr,
            **settings,
        )

    return make


_random = space_searcher("searchers.random_search", "RandomSearcher")
_tpe = space_searcher("searchers.tpe.searcher", "TPESearcher")
#: The default: the GP, then TPE (searchers.auto). With several objectives the GP is
#: ParEGO's and TPE the multi-objective one; ParEGO's GP led MO-TPE, Optuna's MOTPE and
#: NSGA-II on the multi-objective test functions at 100 and 200 evaluations (docs/benchmarks.md).
_auto = space_searcher("searchers.auto.searcher", "AutoSearcher")


_gp = space_searcher("searchers.gp.searcher", "GPSearcher")
_rl = space_searcher("searchers.rl.searcher", "RLSearcher")


def mf_searcher(model: str, **settings: Any) -> Callable[[SearchContext], Any]:
    """The multi-fidelity GP searcher, on the rungs every scheduler here uses (1, x3, max);
    ``settings``: further ``MFGPSearcher`` arguments."""

    def make(ctx: SearchContext) -> Any:
        from searchers.mf.searcher import MFGPSearcher

        return MFGPSearcher(
            ctx.space,
            metric=ctx.metric,
            mode=ctx.mode,
            seed=ctx.seed,
            points_to_evaluate=list(ctx.points_to_evaluate),
            resource_attr=ctx.resource_attr,
            model=model,
            min_resource=1,
            max_resource=ctx.max_resource,
            reduction_factor=3,
            **settings,
        )

    return make


def _hyperopt(ctx: SearchContext):
    from ray.tune.search.hyperopt import HyperOptSearch

    return HyperOptSearch(
        ctx.space.to_ray(),
        metric=ctx.metric,
        mode=ctx.mode,
        random_state_seed=ctx.seed,
        points_to_evaluate=list(ctx.points_to_evaluate) or None,
    )


def _optuna_nsga2(ctx: SearchContext):
    """Optuna's NSGA-II through Ray's OptunaSearch (a baseline; Optuna is the bench extra)."""
    from pipeline.optuna_nsga2 import make

    return make(ctx)


def _fifo(ctx: SearchContext):
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def _ray_asha(ctx: SearchContext):
    from ray.tune.schedulers import AsyncHyperBandScheduler

    return AsyncHyperBandScheduler(
        time_attr=ctx.resource_attr, max_t=ctx.max_resource, grace_period=1, reduction_factor=3
    )


def _ray_hyperband(ctx: SearchContext):
    from ray.tune.schedulers import HyperBandScheduler

    return HyperBandScheduler(time_attr=ctx.resource_attr, max_t=ctx.max_resource, reduction_factor=3)


def _mftune_asha(rule: str) -> Callable[[SearchContext], Any]:
    def factory(ctx: SearchContext):
        from schedulers import ASHAScheduler

        if len(ctx.objectives) > 1:  # MO-ASHA: rungs ranked by the Pareto order
            from schedulers import MOASHAScheduler

            return MOASHAScheduler(
                metric=[m for m, _ in ctx.objectives],
                mode=[m for _, m in ctx.objectives],
                constraints=list(ctx.constraints) or None,
                resource_attr=ctx.resource_attr,
                min_resource=1,
                max_resource=ctx.max_resource,
                reduction_factor=3,
                rule=rule,
                seed=ctx.seed,
            )
        return ASHAScheduler(
            resource_attr=ctx.resource_attr,
            min_resource=1,
            max_resource=ctx.max_resource,
            reduction_factor=3,
            rule=rule,
            seed=ctx.seed,
        )

    return factory


def hyperband(*, synchronous: bool, learn_brackets: bool = False) -> Callable[[SearchContext], Any]:
    """mftune's Hyperband on the pipeline's rungs (1, x3, max): synchronous (also BOHB's
    original schedule), or asynchronous (also asynchronous BOHB's); with ``learn_brackets``
    the bracket choice follows the searcher's rung weights (Hyper-Tune, searcher ``hypertune``)."""

    def factory(ctx: SearchContext):
        from schedulers import HyperbandScheduler

        return HyperbandScheduler(
            resource_attr=ctx.resource_attr,
            min_resource=1,
            max_resource=ctx.max_resource,
            reduction_factor=3,
            synchronous=synchronous,
            seed=ctx.seed,
            learn_brackets=learn_brackets,
        )

    return factory


SEARCHERS: dict[str, Callable[[SearchContext], Any]] = {
    "auto": _auto,  # the default: the GP, then TPE (searchers/auto/rule.py)
    "random": _random,
    "tpe": _tpe,
    "gp": _gp,
    "rl": _rl,
    "hyperopt": _hyperopt,
    "mobster": mf_searcher("joint"),
    "hypertune": mf_searcher("hypertune"),
    "optuna-nsga2": _optuna_nsga2,  # Optuna's NSGA-II, full fidelity (fifo): a baseline
}

SCHEDULERS: dict[str, Callable[[SearchContext], Any]] = {
    "fifo": _fifo,
    "ray-asha": _ray_asha,
    "ray-hyperband": _ray_hyperband,
    "asha": _mftune_asha("stopping"),
    "asha-promotion": _mftune_asha("promotion"),
    "hyperband": hyperband(synchronous=True),
    "hyperband-learnt": hyperband(synchronous=False, learn_brackets=True),
    # BOHB's scheduler half; the stage's searcher must be ``tpe`` (see SEARCHER_FOR)
    "bohb": hyperband(synchronous=False),
    "bohb-sync": hyperband(synchronous=True),
}

#: Schedulers that are half of a pairing: the searcher they need (the stage default too).
SEARCHER_FOR: dict[str, str] = {"bohb": "tpe", "bohb-sync": "tpe", "hyperband-learnt": "hypertune"}

#: Searchers that search several objectives (the others would optimise the first one only)
MULTI_OBJECTIVE_SEARCHERS: frozenset[str] = frozenset({"auto", "random", "tpe", "gp", "optuna-nsga2"})
#: Schedulers that rank several objectives (asha and asha-promotion become MO-ASHA)
MULTI_OBJECTIVE_SCHEDULERS: frozenset[str] = frozenset({"fifo", "asha", "asha-promotion"})

#: Schedulers that pause trials at rungs. Tune's ConcurrencyLimiter (max_concurrent_trials)
#: counts paused trials as running and starves such runs (docs/schedulers.md), so with
#: these the number of trials at a time is left to trial resources.
PAUSING: frozenset[str] = frozenset({"asha-promotion", "hyperband", "bohb", "bohb-sync"})


def stage_searcher(searcher: str | None, scheduler: str) -> str:
    """The searcher a stage runs: the one named, else the one its scheduler pairs with,
    else ``auto`` (the GP, then TPE). Raises ValueError when the named one cannot pair with the scheduler."""
    paired = SEARCHER_FOR.get(scheduler)
    if searcher is None:
        return paired or "auto"
    if paired is not None and searcher != paired:
        raise ValueError(
            f"scheduler {scheduler} is Hyperband with the {paired} searcher; use searcher "
            f"{paired}, or scheduler hyperband with {searcher}"
        )
    return searcher
