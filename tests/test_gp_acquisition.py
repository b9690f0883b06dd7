"""Acquisition functions: values, stability of log-EI, gradients, and 1-D decisions."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import norm

from searchers.gp.acquisition import Acquisition, ei, log_ei, log_h, log_h_grad, ucb
from searchers.gp.encoding import Encoding
from searchers.gp.hyper import Hyper
from searchers.gp.optimize import coordinate_search, maximize
from searchers.gp.posterior import Posterior
from searchers.space import Categorical, Float, Int, SearchSpace


def test_ei_and_ucb_match_their_textbook_formulas():
    mean, var, best = np.array([0.3, -1.0, 2.0]), np.array([0.25, 1.0, 4.0]), 0.1
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    np.testing.assert_allclose(ei(mean, var, best)[0], (best - mean) * norm.cdf(z) + sigma * norm.pdf(z), rtol=1e-12)
    np.testing.assert_allclose(ucb(mean, var, 2.5)[0], -(mean - 2.5 * sigma))
    np.testing.assert_allclose(log_ei(mean, var, best)[0], np.log(ei(mean, var, best)[0]), rtol=1e-12)


def test_log_ei_is_exact_where_ei_underflows():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    z = np.array([-1.0, -5.0, -38.0, -40.0, -300.0, -1e4, -1e9])

    def reference(zi):
        zi = mpmath.mpf(zi)
        h = mpmath.npdf(zi) + zi * mpmath.ncdf(zi)
        return float(mpmath.log(h)), float(mpmath.ncdf(zi) / h)

    ref = np.array([reference(v) for v in z])
    np.testing.assert_allclose(log_h(z), ref[:, 0], rtol=1e-12)
    np.testing.assert_allclose(log_h_grad(z), ref[:, 1], rtol=1e-9)
    # Plain EI is exactly 0 there, so it cannot rank these points; log-EI still can.
    mean = -z  # best = 0, sigma = 1
    assert ei(mean[-4:], np.ones(4), 0.0)[0].max() == 0.0
    values = log_ei(mean, np.ones_like(mean), 0.0)[0]
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) < 0)


def _posterior_1d(xs, ys, ls=0.15):
    hyper = Hyper(np.array([ls]), 1.0, 1e-6, 0.0)
    return Posterior(np.array(xs, dtype=float)[:, None], np.array(ys, dtype=float), hyper, np.array([1 / ls**2]))


@pytest.mark.parametrize("kind", ["ucb", "ei", "log-ei"])
def test_acquisition_gradients_match_finite_differences(kind):
    rng = np.random.default_rng(0)
    X, y = rng.random((12, 2)), rng.standard_normal(12)
    post = Posterior(X, y, Hyper(np.array([0.4, 0.7]), 1.0, 1e-4, 0.0), np.array([1 / 0.16, 1 / 0.49]))
    acq = Acquisition(kind, post, best=float(y.min()), kappa=1.5)
    Xq = rng.random((5, 2))
    values, grads = acq.value_and_grad(Xq)
    np.testing.assert_allclose(values, acq(Xq), rtol=1e-10)
    for i in range(5):
        np.testing.assert_allclose(
            grads[i], approx_fprime(Xq[i], lambda x: acq(x[None])[0], 1e-7), rtol=1e-4, atol=1e-6
        )


SPACE_1D = SearchSpace({"x": Float(0.0, 1.0)})


def _pick(acq):
    x, _ = maximize(
        acq, Encoding(SPACE_1D), np.random.default_rng(0), n_candidates=64, n_starts=3, seeds=np.zeros((0, 1))
    )
    return float(x[0])


@pytest.mark.parametrize("kind", ["ei", "log-ei"])
def test_improvement_acquisitions_pick_the_gap_between_two_low_points(kind):
    # Low values at 0.35 and 0.65, high at the ends: by symmetry the best improvement
    # is in the unexplored middle, where the mean dips and the variance peaks.
    post = _posterior_1d([0.05, 0.35, 0.65, 0.95], [1.0, -1.0, -1.0, 1.0])
    assert _pick(Acquisition(kind, post, best=-1.0, kappa=0.0)) == pytest.approx(0.5, abs=0.01)


def test_ucb_without_exploration_picks_the_lowest_mean():
    xs = np.linspace(0, 1, 11)
    post = _posterior_1d(xs, (xs - 0.32) ** 2 * 10 - 0.5, ls=0.4)
    grid = np.linspace(0, 1, 20001)[:, None]
    mean, _ = post.predict(grid)
    x = _pick(Acquisition("ucb", post, best=0.0, kappa=0.0))
    assert x == pytest.approx(float(grid[np.argmin(mean), 0]), abs=1e-3)
    assert x == pytest.approx(0.32, abs=0.02)


def test_ucb_with_large_kappa_explores_the_far_end():
    post = _posterior_1d([0.0, 0.1, 0.2, 0.3, 0.4], [0.0, -0.2, 0.1, -0.1, 0.0])
    assert _pick(Acquisition("ucb", post, best=-0.2, kappa=100.0)) == pytest.approx(1.0, abs=1e-6)


def test_maximize_returns_valid_configurations_of_a_mixed_conditional_space():
    space = SearchSpace(
        {
            "n": Int(1, 40, log=True),
            "q": Float(0.0, 1.0, step=0.1),
            "m": Categorical([{"a": Float(-1.0, 1.0)}, {"b": Int(0, 3), "c": Categorical(["u", "v"])}, "none"]),
        }
    )
    enc = Encoding(space)
    rng = np.random.default_rng(1)
    flats = [space.sample_flat(rng) for _ in range(15)]
    X = enc.encode_many(flats)
    y = rng.standard_normal(15)
    post = Posterior(
        X,
        y,
        Hyper(np.full(enc.n_params, 0.5), 1.0, 1e-4, 0.0),
        Hyper(np.full(enc.n_params, 0.5), 1.0, 1e-4, 0.0).column_weights(enc.group, enc.weight),
    )
    for kind in ("ucb", "ei", "log-ei"):
        x, value = maximize(Acquisition(kind, post, float(y.min()), 2.0), enc, rng, 256, 4, X[[np.argmin(y)]])
        np.testing.assert_allclose(enc.snap(x[None])[0], x, atol=1e-12)  # a valid encoded config
        space.from_flat(enc.decode(x))
        assert value >= Acquisition(kind, post, float(y.min()), 2.0)(X).max() - 1e-9


def test_coordinate_search_walks_an_integer_and_a_categorical_to_the_optimum():
    space = SearchSpace({"k": Int(0, 100), "c": Categorical(["a", "b", "c"])})
    enc = Encoding(space)
    target = enc.encode({"k": 63, "c": 2})

    def acq(X):  # peaked at k = 63, c = "c"
        return -np.sum((np.atleast_2d(X) - target) ** 2, axis=1)

    x0 = enc.encode({"k": 5, "c": 0})
    x, value = coordinate_search(acq, enc, x0, float(acq(x0)[0]), max_rounds=20)
    assert enc.decode(x) == {"k": 63, "c": 2} and value == pytest.approx(0.0)


def test_bad_acquisition_arguments_name_themselves():
    post = _posterior_1d([0.5], [0.0])
    with pytest.raises(ValueError, match="acquisition must be one of ucb, ei, log-ei, got 'pi'"):
        Acquisition("pi", post, 0.0, 1.0)
    with pytest.raises(ValueError, match="kappa must be a finite number >= 0"):
        Acquisition("ucb", post, 0.0, -1.0)
    with pytest.raises(ValueError, match="n_candidates"):
        maximize(
            Acquisition("ei", post, 0.0, 0.0), Encoding(SPACE_1D), np.random.default_rng(0), 0, 1, np.zeros((0, 1))
        )
