"""``StrEnum`` for Python 3.10 too: members are their string values.

A state machine's states are one enum each (``searchers.record.TrialStatus``,
``schedulers.core.TrialStatus``), and a member compares, hashes, formats and serialises
to JSON as its value, so state files written with plain strings read back unchanged.
"""

from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)
