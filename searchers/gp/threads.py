"""One BLAS thread while a suggestion is computed.

The GP works on matrices of at most a few hundred rows, called thousands of times from
scipy's L-BFGS-B; there, OpenBLAS threads cost more in hand-offs than they save, and on
a machine busy with trials they contend with them. Measured on our 2-core machine: a
hyperparameter fit at 256 points took 2.0 s with the default threads and 0.43 s with
one (the problem Optuna's GPSampler works around the same way, scipy issue 22438).
threadpoolctl comes with scikit-learn, a dependency of mftune; without it this is a
no-op.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_controller = None


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    if _controller is None:
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
