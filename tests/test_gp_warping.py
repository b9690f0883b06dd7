"""The GP's loss warping (searchers.gp.warping): what the model sees, against SciPy."""

import numpy as np
import pytest
from scipy import stats

from searchers import GPSearcher
from searchers.gp.core import GPCore
from searchers.gp.warping import warp_losses
from tests.test_gp_searcher import SPACE, loss, run


def valley_losses(n=200, seed=0):
    """Losses with a valley's spread: most near the floor, a few orders of magnitude above."""
    return np.random.default_rng(seed).lognormal(mean=0.0, sigma=3.0, size=n)


def test_none_is_the_plain_standardization():
    y = valley_losses()
    z = warp_losses(y, "none")
    assert z == pytest.approx((y - y.mean()) / y.std())


def test_yeo_johnson_is_scipys_fit_on_standardized_losses_then_standardized():
    y = valley_losses()
    z0 = (y - y.mean()) / y.std()
    expected, _ = stats.yeojohnson(z0)
    expected = (expected - expected.mean()) / expected.std()
    z = warp_losses(y, "yeo-johnson")
    assert z == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0)
    # monotone: the same ranking, so the incumbent is the same point
    assert (np.argsort(z, kind="stable") == np.argsort(y, kind="stable")).all()


def test_it_spreads_the_floor_of_a_valley():
    """The better half of the losses spans far more of the model's scale once warped."""
    y = valley_losses()
    low = y <= np.median(y)
    plain, warped = warp_losses(y, "none"), warp_losses(y, "yeo-johnson")
    assert np.ptp(warped[low]) > 5 * np.ptp(plain[low])
    # losses that are already Gaussian are left nearly as they were
    g = np.random.default_rng(0).normal(size=200)
    low = g <= np.median(g)
    assert 0.8 < np.ptp(warp_losses(g, "yeo-johnson")[low]) / np.ptp(warp_losses(g, "none")[low]) < 1.25


def test_unwarpable_losses_fall_back_to_the_standardization():
    y = np.array([1.0, 1.0, 5.0, 5.0])  # two distinct values: nothing to fit lambda on
    assert warp_losses(y, "yeo-johnson") == pytest.approx(warp_losses(y, "none"))


def test_the_searcher_with_warping_is_deterministic_and_differs_from_without():
    ids = [f"t{i}" for i in range(12)]

    def make(warping, seed=1):
        return GPSearcher(
            SPACE, metric="loss", mode="min", seed=seed, n_startup_trials=4, n_candidates=256, loss_warping=warping
        )

    a, b = run(make("yeo-johnson"), ids), run(make("yeo-johnson"), ids)
    assert a == b
    assert a[:4] == run(make("none"), ids)[:4]  # the random start does not look at the losses
    assert a[4:] != run(make("none"), ids)[4:]
    assert min(loss(c) for c in a[4:]) < min(loss(c) for c in a[:4])


def test_states_saved_before_the_option_restore_without_warping():
    state = dict(GPCore(n_startup_trials=4).__dict__)
    del state["loss_warping"]
    back = GPCore.__new__(GPCore)
    back.__setstate__(state)
    assert back.loss_warping == "none"
