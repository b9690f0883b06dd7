"""Ray Tune's argument names, accepted by mftune's searchers and schedulers (drop-in use).

A user swapping ``ray.tune.schedulers.ASHAScheduler`` for ``schedulers.ASHAScheduler``
keeps writing ``time_attr``, ``max_t`` and ``grace_period``; the tables here map them onto
our names through :func:`searchers.common.renamed.renamed_kwargs`, so giving both spellings
of one knob is a ``TypeError``. One trap cannot be fixed by renaming: Ray's schedulers take
``time_attr`` as their *first positional* argument where ours take ``metric``, so
``ASHAScheduler("epoch")`` would silently optimise a metric called "epoch".
:func:`metric_mode_positionals` rejects a call that looks like Ray's positional order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: Ray scheduler name -> ours (``reduction_factor`` and ``brackets`` are spelled alike).
SCHEDULER_ALIASES = {"time_attr": "resource_attr", "max_t": "max_resource", "grace_period": "min_resource"}
#: Ray searcher names -> ours. ``random_state_seed`` is HyperOptSearch's, ``random_state``
#: BayesOptSearch's and BasicVariantGenerator's.
SEED_ALIASES = {"random_state_seed": "seed", "random_state": "seed"}
#: HyperOptSearch's ``n_initial_points``, BayesOptSearch's ``random_search_steps``.
STARTUP_ALIASES = {"n_initial_points": "n_startup_trials", "random_search_steps": "n_startup_trials"}

#: Result keys Ray and common trainables count time in: a positional metric with one of
#: these names is almost certainly Ray's ``time_attr`` in the wrong place.
TIME_ATTRS = frozenset(
    {
        "training_iteration",
        "time_total_s",
        "time_this_iter_s",
        "timesteps_total",
        "episodes_total",
        "epoch",
        "epochs",
        "iteration",
        "iterations",
        "step",
        "steps",
    }
)


def metric_mode_positionals(func: F) -> F:
    """Decorate a scheduler's ``__init__(self, metric=None, mode=None, *, ...)``.

    Rejects, with a message that says what to write, a positional call in Ray's order
    ``(time_attr, metric, mode)``: a positional metric that names a time counter, or a
    positional mode that is neither "min" nor "max" (then it is Ray's metric).
    """
    owner = func.__qualname__.split(".")[0]

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) > 2 or (len(args) == 2 and args[1] not in (None, "min", "max")):
            raise TypeError(_ray_order_message(owner, args))
        if args and isinstance(args[0], str) and args[0] in TIME_ATTRS:
            raise TypeError(_ray_order_message(owner, args))
        return func(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _ray_order_message(owner: str, args: tuple[Any, ...]) -> str:
    names = ("time_attr", "metric", "mode")
    given = ", ".join(f"{n}={a!r}" for n, a in zip(names, args))
    return (
        f"{owner}({', '.join(repr(a) for a in args)}): mftune's schedulers take (metric, mode) positionally and "
        f"everything else by keyword, while Ray's first positional is time_attr; write {owner}({given})"
    )


def check_stop_last_trials(owner: str, stop_last_trials: Any) -> None:
    """Ray's ``stop_last_trials``: only True (Ray's default) has a meaning here.

    mftune's schedulers stop every trial at ``max_resource``; letting trials run past it
    (Ray's ``False``) would leave the rung core with trials beyond its last level.
    """
    if stop_last_trials is not True:
        raise ValueError(
            f"{owner}: stop_last_trials must be True (trials stop at max_resource/max_t), got {stop_last_trials!r}; "
            "to let trials run longer, raise max_resource"
        )
