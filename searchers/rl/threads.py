"""Cap torch's intra-op threads while the agent computes, then restore the caller's setting.

The searcher runs inside the Tune driver, next to the trials it schedules: its matrices
are tiny (batches of a few hundred episodes, 35 hidden units), where extra threads only
add hand-offs and take cores from the trials. ``torch.set_num_threads`` is process-wide,
so the previous value is put back on exit; the user's own torch code is untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    if n != previous:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
