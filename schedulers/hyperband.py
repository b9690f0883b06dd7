"""``HyperbandScheduler``: Hyperband brackets for Ray Tune, synchronous or asynchronous.

Synchronous mode is the original Hyperband (and the schedule of the original BOHB):
each bracket's rung completes before its top 1/eta go on. Unlike Ray's
``HyperBandScheduler`` a failed, errored or stopped trial counts as arrived, so a
bracket never waits forever (ray #6780, #14500), and the state survives
``Tuner.restore`` (Ray's stalls with paused trials after a restore). Asynchronous mode
is ASHA over all of Hyperband's brackets.

It talks to a searcher only through what Ray itself calls on the searcher
(``on_trial_result``, ``on_trial_complete``): a multi-fidelity searcher sees every
rung result there, which is all BOHB needs.
"""

from __future__ import annotations

from schedulers.async_core import AsyncHyperband
from schedulers.core import RungCore
from schedulers.levels import rung_levels
from schedulers.ray_adapter import RungTrialScheduler
from schedulers.sync_core import SyncHyperband
from searchers.common.ray_names import SCHEDULER_ALIASES, check_stop_last_trials, metric_mode_positionals
from searchers.common.renamed import renamed_kwargs


class HyperbandScheduler(RungTrialScheduler):
    """Hyperband (Li et al., 2018) as a Ray Tune ``TrialScheduler``.

    Ray's names work as for :class:`~schedulers.ASHAScheduler` (``time_attr``, ``max_t``,
    ``grace_period``, ``stop_last_trials``); ``schedulers.HyperBandScheduler`` is this
    class under Ray's spelling. The defaults ``max_resource=81``, ``reduction_factor=3``
    are those of Ray's ``HyperBandScheduler`` and, with ``min_resource=1``, give the same
    brackets (Ray has no ``min_resource``: its smallest budget is ``max_t * eta**-s_max``).
    **Differs from Ray's**: ``brackets`` limits how many brackets run, and
    ``synchronous=False`` gives asynchronous Hyperband.

    Args:
        metric, mode, resource_attr, min_resource, max_resource, reduction_factor,
        state_path, stop_last_trials: as for :class:`~schedulers.ASHAScheduler`.
        brackets: how many of Hyperband's brackets, most aggressive first
            (None: all, i.e. number of milestones + 1).
        synchronous: True: brackets wait for their rungs (trials pause at milestones and
            need checkpoints); False: asynchronous Hyperband.
        rule: asynchronous mode only: ``"promotion"`` (default) or ``"stopping"``.
        seed: asynchronous mode only: seed of the bracket choice.
        learn_brackets: asynchronous mode only: draw each new trial's bracket by how well its
            first rung ranks configurations, as the searcher measures it
            (``MFGPSearcher(model="hypertune")``'s ``level_weights()``; Hyper-Tune's
            bracket selection), keeping a quarter of the draws on Hyperband's own
            distribution (:mod:`schedulers.async_core`). Off by default.
    """

    @metric_mode_positionals
    @renamed_kwargs(aliases=SCHEDULER_ALIASES)
    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        *,
        resource_attr: str = "training_iteration",
        min_resource: float = 1,
        max_resource: float = 81,
        reduction_factor: float = 3,
        brackets: int | None = None,
        synchronous: bool = True,
        rule: str | None = None,
        seed: int = 0,
        state_path: str | None = None,
        stop_last_trials: bool = True,
        learn_brackets: bool = False,
    ):
        check_stop_last_trials(type(self).__name__, stop_last_trials)
        if not isinstance(synchronous, bool):
            raise ValueError(f"synchronous must be True or False, got {synchronous!r}")
        if not isinstance(learn_brackets, bool):
            raise ValueError(f"learn_brackets must be True or False, got {learn_brackets!r}")
        if learn_brackets and synchronous:
            raise ValueError(
                "learn_brackets applies with synchronous=False only (synchronous Hyperband runs every bracket)"
            )
        if synchronous:
            if rule is not None:
                raise ValueError(
                    f"rule applies with synchronous=False only (synchronous brackets have their own rule), got {rule!r}"
                )
            core: RungCore = SyncHyperband(min_resource, max_resource, reduction_factor, brackets=brackets)
        else:
            levels = rung_levels(min_resource, max_resource, reduction_factor)
            core = AsyncHyperband(
                min_resource,
                max_resource,
                reduction_factor,
                rule=rule or "promotion",
                brackets=len(levels) + 1 if brackets is None else brackets,
                seed=seed,
            )
        super().__init__(core, metric=metric, mode=mode, resource_attr=resource_attr, state_path=state_path)
        self.learn_brackets = learn_brackets
