"""``ASHAScheduler``: asynchronous successive halving for Ray Tune, stopping or promotion.

Differs from Ray's ``AsyncHyperBandScheduler`` in what the issue asked for: a promotion
mode that pauses trials at a rung and resumes the best from their checkpoints (Ray's
never pauses, ray #44256); rung decisions by rank with exact, documented tie and NaN
rules instead of an interpolated percentile; a seeded generator of its own for the
bracket choice (Ray draws from numpy's global one); state that survives
``Tuner.restore`` (Ray's starts empty, ray #30838); and ValueError, not assert, for
bad arguments.
"""

from __future__ import annotations

from schedulers.async_core import AsyncHyperband
from schedulers.ray_adapter import RungTrialScheduler
from searchers.common.ray_names import SCHEDULER_ALIASES, check_stop_last_trials, metric_mode_positionals
from searchers.common.renamed import renamed_kwargs


class ASHAScheduler(RungTrialScheduler):
    """Asynchronous successive halving (Li et al., 2020) as a Ray Tune ``TrialScheduler``.

    Ray's argument names work too: ``time_attr`` for ``resource_attr``, ``max_t`` for
    ``max_resource``, ``grace_period`` for ``min_resource`` (giving both names of one
    argument is a TypeError). Everything after ``metric, mode`` is keyword-only, and a
    positional call in Ray's order (``ASHAScheduler("epoch")``) is a TypeError that says
    what to write. **Defaults that differ from Ray's** ``ASHAScheduler``:
    ``max_resource=81`` (Ray: ``max_t=100``) and ``reduction_factor=3`` (Ray: 4), so the
    milestones are 1, 3, 9, 27 (Ray: 1, 4, 16, 64).

    Args:
        metric, mode: what to optimise; may instead come from ``tune.TuneConfig``.
        resource_attr: the result key that counts resource: ``training_iteration``,
            ``epoch``, or any counter a trial reports that grows monotonically (a data
            size too, see :func:`schedulers.data_size_trainable`).
        min_resource: the first milestone (Ray's ``grace_period``).
        max_resource: where a trial ends (Ray's ``max_t``); trials are stopped there.
        reduction_factor: eta; milestones are ``min_resource * eta**k`` below the maximum.
        brackets: 1 for ASHA; more for asynchronous Hyperband (up to the number of
            milestones + 1), a bracket drawn per trial from the scheduler's own generator.
        rule: ``"stopping"``: a trial continues while in the top 1/eta of each rung so
            far, else stops; ``"promotion"``: it pauses at each rung and the best paused
            trial in the top 1/eta is resumed from its checkpoint when a slot frees,
            before any new trial starts. Promotion needs trainables that report a
            checkpoint and resume from ``tune.get_checkpoint()``.
        seed: seed of the bracket choice.
        state_path: where to persist the scheduler's state; default:
            ``mftune-scheduler-state.json`` in Ray's driver staging copy of the experiment
            directory, which Ray uploads to the experiment directory with every snapshot.
        stop_last_trials: accepted for Ray's sake; only True (trials stop at
            ``max_resource``, Ray's default) is allowed.
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
        brackets: int = 1,
        rule: str = "stopping",
        seed: int = 0,
        state_path: str | None = None,
        stop_last_trials: bool = True,
    ):
        check_stop_last_trials(type(self).__name__, stop_last_trials)
        core = AsyncHyperband(min_resource, max_resource, reduction_factor, rule=rule, brackets=brackets, seed=seed)
        super().__init__(core, metric=metric, mode=mode, resource_attr=resource_attr, state_path=state_path)
