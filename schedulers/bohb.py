"""BOHB (Falkner et al., 2018): Hyperband brackets plus the TPE searcher in multi-fidelity mode.

BOHB is not a third algorithm but a pairing, so this module builds the pair and checks
that its halves agree; it adds no logic of its own. The scheduler decides which trials
run how far; the searcher sees every rung result through Ray's public callbacks
(``on_trial_result``, ``on_trial_complete``) and fits its model on the highest resource
level with enough observations. The two must count resource in the same result key,
which is the one mistake a user wiring them by hand can make silently (the searcher
would then fit on final results only, i.e. plain TPE under Hyperband).

Unlike Ray's ``TuneBOHB`` + ``HyperBandForBOHB`` it needs no ConfigSpace, does not reach
into the controller's private attributes, keeps its state through ``Tuner.restore``,
and has an asynchronous mode (the default here: no slot waits for a rung to fill).

This is the one module of ``schedulers`` that imports ``searchers`` (lazily).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from searchers.common.ray_names import SCHEDULER_ALIASES, SEED_ALIASES, check_stop_last_trials
from searchers.common.renamed import renamed_kwargs


class BOHB(NamedTuple):
    """The two halves, for ``tune.TuneConfig(search_alg=..., scheduler=...)``."""

    searcher: Any  # searchers.TPESearcher
    scheduler: Any  # schedulers.HyperbandScheduler

    def tune_config(self, **kwargs: Any) -> Any:
        """``tune.TuneConfig(search_alg=searcher, scheduler=scheduler, metric=..., mode=..., **kwargs)``.

        Carries the pair's metric and mode into the TuneConfig as well, so that
        ``ResultGrid.get_best_result()`` works without repeating them.
        """
        from ray import tune

        for key in ("search_alg", "scheduler"):
            if key in kwargs:
                raise TypeError(f"BOHB.tune_config: {key} is the pair's own; pass the other TuneConfig fields")
        metric, mode = self.scheduler.metric, self.scheduler.mode
        if kwargs.get("metric") not in (None, metric) and metric is not None:
            raise ValueError(f"BOHB.tune_config: metric {kwargs['metric']!r} differs from the pair's {metric!r}")
        if kwargs.get("mode") not in (None, mode) and mode is not None:
            raise ValueError(f"BOHB.tune_config: mode {kwargs['mode']!r} differs from the pair's {mode!r}")
        kwargs.setdefault("metric", metric)
        kwargs.setdefault("mode", mode)
        return tune.TuneConfig(search_alg=self.searcher, scheduler=self.scheduler, **kwargs)


@renamed_kwargs(aliases={**SCHEDULER_ALIASES, **SEED_ALIASES})
def make_bohb(
    space: Any = None,
    metric: str | None = None,
    mode: str | None = None,
    *,
    seed: int = 0,
    resource_attr: str = "training_iteration",
    min_resource: float = 1,
    max_resource: float = 81,
    reduction_factor: float = 3,
    synchronous: bool = False,
    brackets: int | None = None,
    points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
    searcher: Any = None,
    state_path: str | None = None,
    stop_last_trials: bool = True,
) -> BOHB:
    """Build BOHB's searcher and scheduler over one resource.

    Args:
        space: the search space (Ray ``param_space`` dict or :class:`searchers.SearchSpace`);
            may instead come from ``Tuner(param_space=...)``.
        metric, mode: what to optimise; may instead come from ``tune.TuneConfig``.
        seed: seeds both halves (the searcher's suggestions, the scheduler's bracket draw).
        resource_attr, min_resource, max_resource, reduction_factor, brackets: the
            Hyperband schedule, as for :class:`schedulers.HyperbandScheduler`.
        synchronous: False (default): asynchronous BOHB (promotion over all brackets, no
            slot idles while a rung fills); True: the original, synchronous brackets.
        points_to_evaluate: configurations to try first.
        searcher: an already configured ``TPESearcher`` to use instead of a default one
            (``space``, ``points_to_evaluate`` and ``seed`` then belong to it; ``metric``
            and ``mode`` given here are set on it); its ``resource_attr`` must equal
            ``resource_attr``.
        state_path: where the scheduler persists its state (see ``HyperbandScheduler``).
        stop_last_trials: Ray's; only True is allowed (trials stop at ``max_resource``).

    Ray's names are accepted: ``time_attr`` (``resource_attr``), ``max_t``
    (``max_resource``), ``grace_period`` (``min_resource``), ``random_state_seed`` (``seed``).
    Defaults as Ray's ``HyperBandForBOHB`` (``max_t=81``, ``reduction_factor=3``); **differs
    from Ray's** ``TuneBOHB``: asynchronous by default (``synchronous=True`` for the
    original schedule), and the searcher is mftune's TPE, not ConfigSpace's KDE.
    ``pair.tune_config(num_samples=...)`` builds the TuneConfig with the pair's metric and mode.
    """
    check_stop_last_trials("make_bohb", stop_last_trials)
    from schedulers.hyperband import HyperbandScheduler
    from searchers.tpe.searcher import TPESearcher

    if searcher is None:
        searcher = TPESearcher(
            space,
            metric=metric,
            mode=mode,
            seed=seed,
            resource_attr=resource_attr,
            points_to_evaluate=points_to_evaluate,
        )
    else:
        if not isinstance(searcher, TPESearcher):
            raise ValueError(f"searcher must be a searchers.TPESearcher, got {type(searcher).__name__}")
        if space is not None or points_to_evaluate is not None:
            raise ValueError("pass space and points_to_evaluate to the TPESearcher you give as searcher, not here")
        if searcher.resource_attr != resource_attr:
            raise ValueError(
                f"searcher.resource_attr ({searcher.resource_attr!r}) must equal resource_attr "
                f"({resource_attr!r}): the searcher must see the scheduler's rungs"
            )
        # Tune passes metric and mode to a searcher only along with a param_space.
        searcher.set_search_properties(metric, mode, {})
    scheduler = HyperbandScheduler(
        metric=metric,
        mode=mode,
        resource_attr=resource_attr,
        min_resource=min_resource,
        max_resource=max_resource,
        reduction_factor=reduction_factor,
        brackets=brackets,
        synchronous=synchronous,
        seed=seed,
        state_path=state_path,
    )
    return BOHB(searcher, scheduler)
