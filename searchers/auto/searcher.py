"""AutoSearcher: the Ray Tune adapter around :class:`searchers.auto.core.AutoCore`.

Ray's contract (metric/mode/space from the Tuner, points_to_evaluate, failures, NaN,
unknown ids, warm starts, save/restore) comes from :class:`searchers.adapter.SpaceSearcher`.
This class keeps TPE's table in step with the record (the adapter's ``_record_changed``
hook, as ``TPESearcher`` does) and logs which model served each trial in :attr:`served_by`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from searchers.adapter import SpaceSearcher
from searchers.auto.core import AutoCore
from searchers.common.ray_names import SEED_ALIASES, STARTUP_ALIASES
from searchers.common.renamed import renamed_kwargs

#: ``served_by`` value of a trial that came from ``points_to_evaluate``, not from a model
POINT = "point"


class AutoSearcher(SpaceSearcher):
    """mftune's default searcher: the GP while it is the better model, TPE beyond.

    The GP (:class:`searchers.gp.GPSearcher`) serves the first suggestions, TPE
    (:class:`searchers.tpe.TPESearcher`) the later ones; where the hand-over lies, and why,
    is in :mod:`searchers.auto.rule` (measured on held-out problems,
    ``benchmarks/auto_switch.py``). Both models fit the same trial record with the same
    seeded generator, so the switch loses nothing: TPE starts from every trial the GP chose.

    Args:
        space, metric, mode, points_to_evaluate, seed, resource_attr, constraints: as for
            every mftune searcher (see :class:`searchers.adapter.SpaceSearcher`). With
            several objectives the GP is ParEGO's and TPE the multi-objective one; the
            hand-over point is the one measured for one objective.
        switch_after: TPE serves once this many trials are recorded; ``None`` (default):
            the measured rule of :func:`searchers.auto.rule.choose_model`; ``0``: TPE only.
            Once TPE has served it serves the rest of the run, restored runs included.
        n_startup_trials: random configurations before a model is used (both models).
        gp: further ``GPSearcher`` model settings (e.g. ``{"acquisition": "ucb"}``).
        tpe: further ``TPESearcher`` model settings (e.g. ``{"gamma": 0.15}``).

    Ray's names are accepted (``random_state_seed``/``random_state`` for ``seed``,
    ``n_initial_points``/``random_search_steps`` for ``n_startup_trials``,
    ``evaluated_rewards`` for a warm start). ``seed=0``, not None.

    Attributes:
        served_by: trial id -> ``"gp"``, ``"tpe"`` or ``"point"`` (a ``points_to_evaluate``
            entry), for every suggestion made; saved and restored with the searcher.
    """

    @renamed_kwargs(aliases={**SEED_ALIASES, **STARTUP_ALIASES})
    def __init__(
        self,
        space: Any = None,
        metric: str | Sequence[str] | None = None,
        mode: str | Sequence[str] | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        *,
        evaluated_rewards: Sequence[float] | None = None,
        seed: int = 0,
        resource_attr: str = "training_iteration",
        constraints: Sequence[Any] | None = None,
        switch_after: int | None = None,
        n_startup_trials: int = 10,
        gp: Mapping[str, Any] | None = None,
        tpe: Mapping[str, Any] | None = None,
    ):
        self.core = AutoCore(switch_after, n_startup_trials, dict(gp or {}), dict(tpe or {}))
        self.served_by: dict[str, str] = {}
        super().__init__(
            space,
            metric=metric,
            mode=mode,
            points_to_evaluate=points_to_evaluate,
            evaluated_rewards=evaluated_rewards,
            seed=seed,
            resource_attr=resource_attr,
            constraints=constraints,
        )

    def _propose(self, trial_id: str) -> dict[str, Any]:
        flat = self.core.propose(self._known_space, self.record, self.rng)
        self.served_by[trial_id] = self.core.served[-1]
        return flat

    def _record_changed(self, trial_id: str) -> None:
        obs = self.record.get(trial_id)
        if obs is not None:
            self.core.observe(obs)

    def _record_replaced(self) -> None:
        self.core.forget_tables()  # warm starts are rare: rebuild TPE's table when next needed

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        config = super().suggest(trial_id)
        if config is not None:
            self.served_by.setdefault(trial_id, POINT)  # not proposed by a model: a given point
        return config

    def model_for_next(self) -> str | None:
        """The model the next suggestion will come from (None while the space is unknown)."""
        if self.space is None:
            return None
        return POINT if self._points else self.core.model_for(self.space, self.record)

    # ------------------------------------------------------------ persistence
    def _extra_state(self) -> dict[str, Any]:
        return {"core": self.core, "served_by": self.served_by}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.core = state["core"]
        self.served_by = dict(state["served_by"])
