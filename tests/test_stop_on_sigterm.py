"""SIGTERM reaches whatever handles SIGINT (Tune's graceful stop inside ``Tuner.fit``),
and stops the driver even where SIGINT is ignored (a background job of a script).
The real driver is checked in tests/test_resume_sigkill.py."""

import os
import signal

import pytest

from pipeline.ray_runtime import stop_on_sigterm


@pytest.fixture
def handlers():
    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGINT, saved[0])
    signal.signal(signal.SIGTERM, saved[1])


def test_sigterm_goes_to_the_sigint_handler_of_the_moment(handlers):
    seen = []
    stop_on_sigterm()
    signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))  # e.g. Tune's, set later
    os.kill(os.getpid(), signal.SIGTERM)
    assert seen == [signal.SIGINT]


def test_sigterm_stops_even_when_sigint_is_ignored(handlers):
    stop_on_sigterm()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
