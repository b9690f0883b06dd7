"""Uniform random search on the typed space: the baseline every searcher must beat.

Unlike Ray's ``BasicVariantGenerator`` it owns a seeded generator, saves and restores
its whole state, and samples conditional spaces only where parameters are active.
"""

from __future__ import annotations

from typing import Any

from searchers.adapter import SpaceSearcher


class RandomSearcher(SpaceSearcher):
    """Samples each configuration uniformly (log-uniformly where log) from the space."""

    def _propose(self, trial_id: str) -> dict[str, Any]:
        return self._known_space.sample_flat(self.rng)
