"""TPE's numerics against SciPy and against the integrals they must satisfy."""

import numpy as np
import pytest
from scipy import integrate, stats

from searchers.space import Categorical, Float, Int, SearchSpace
from searchers.tpe import truncnorm
from searchers.tpe.parzen import PRIOR_MU, PRIOR_SIGMA, ParzenEstimator, neighbour_bandwidths
from searchers.tpe.unit_space import UnitSpace

# (a, b) in standard units: central, one-sided, deep left/right tails, a sliver at 0.
BOUNDS = [(-1.0, 1.0), (-3.0, 40.0), (-0.2, 5.0), (0.0, 1e-3), (-50.0, -49.0), (30.0, 31.0), (5.0, 6.0), (-12.0, -11.5)]


@pytest.mark.parametrize("a,b", BOUNDS)
def test_logpdf_matches_scipy_truncnorm_in_the_bulk_and_the_tails(a, b):
    mu, sigma = 0.3, 0.7
    low, high = mu + a * sigma, mu + b * sigma
    x = np.linspace(low, high, 9)
    expected = stats.truncnorm(a, b, loc=mu, scale=sigma).logpdf(x)
    np.testing.assert_allclose(truncnorm.logpdf(x, mu, sigma, low, high), expected, rtol=1e-9, atol=1e-9)
    assert np.all(truncnorm.logpdf(np.array([low - 1e-3, high + 1e-3]), mu, sigma, low, high) == -np.inf)


@pytest.mark.parametrize("a,b", BOUNDS)
def test_log_gauss_mass_is_scipys_normaliser(a, b):
    # truncnorm.logpdf(x) = norm.logpdf(x) - log mass, so the mass follows from SciPy at any x inside.
    x = 0.5 * (a + b)
    expected = stats.norm.logpdf(x) - stats.truncnorm(a, b).logpdf(x)
    assert truncnorm.log_gauss_mass(np.array(a), np.array(b)) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("a,b", BOUNDS)
def test_sampling_inverts_scipys_cdf(a, b):
    u = np.random.default_rng(0).random(2000)
    x = truncnorm.sample(u, 0.0, 1.0, a, b)
    assert np.all((x >= a) & (x <= b))
    dist = stats.truncnorm(a, b)
    # Exact inverse CDF wherever the CDF is resolvable in double precision.
    np.testing.assert_allclose(dist.cdf(x), u, atol=1e-7)
    assert stats.kstest(x, dist.cdf).pvalue > 0.01


def test_sampling_with_per_draw_kernels_and_bounds():
    rng = np.random.default_rng(1)
    mu = rng.random(5000)
    sigma = 0.01 + rng.random(5000)
    x = truncnorm.sample(rng.random(5000), mu, sigma, 0.0, 1.0)
    assert np.all((x >= 0) & (x <= 1))
    pit = stats.truncnorm((0 - mu) / sigma, (1 - mu) / sigma, loc=mu, scale=sigma).cdf(x)
    assert stats.kstest(pit, "uniform").pvalue > 0.01  # probability integral transform is uniform


def test_neighbour_bandwidths_by_hand():
    # sorted with bounds: 0 | .2 .5 .6 | 1 -> gaps max(.2,.3)=.3, max(.3,.1)=.3, max(.1,.4)=.4;
    # the extremes look inwards: .3 and .1; floor max(0.01, 1/(3+2)) = .2
    np.testing.assert_allclose(neighbour_bandwidths(np.array([0.6, 0.2, 0.5]), 0.01), [0.2, 0.3, 0.3])
    np.testing.assert_allclose(neighbour_bandwidths(np.array([0.6, 0.2, 0.5]), 0.25), [0.25, 0.3, 0.3])
    # one point: the larger distance to a bound
    np.testing.assert_allclose(neighbour_bandwidths(np.array([0.3]), 0.01), [0.7])
    # many coincident points shrink to the floor 0.01 (1/(n+2) is below it for n >= 99)
    assert np.all(neighbour_bandwidths(np.full(200, 0.4), 0.01) == 0.01)


def _fit(space_tree, flats, weights=None, prior_weight=1.0):
    unit = UnitSpace(SearchSpace(space_tree))
    encoded = [unit.encode(f) for f in flats]
    rows = np.array([r for r, _ in encoded]).reshape(len(flats), len(unit))
    active = np.array([a for _, a in encoded]).reshape(len(flats), len(unit))
    w = np.ones(len(flats)) if weights is None else np.asarray(weights, dtype=float)
    return unit, ParzenEstimator.fit(unit, rows, active, w, prior_weight, 0.01)


def test_prior_component_weight_and_shape():
    _, est = _fit({"x": Float(0.0, 10.0)}, [{"x": 1.0}, {"x": 4.0}, {"x": 9.0}], prior_weight=2.0)
    np.testing.assert_allclose(np.exp(est.log_weights), [0.2, 0.2, 0.2, 0.4])
    assert (est.mu[0, -1], est.sigma[0, -1]) == (PRIOR_MU, PRIOR_SIGMA)
    np.testing.assert_allclose(est.mu[0, :3], [0.1, 0.4, 0.9])


def test_continuous_density_integrates_to_one_and_sampling_follows_it():
    unit, est = _fit({"x": Float(1e-3, 1.0, log=True)}, [{"x": v} for v in (0.002, 0.01, 0.011, 0.3)])
    pdf = lambda u: float(np.exp(est.log_pdf(np.array([[u]]), np.ones((1, 1), dtype=bool)))[0])  # noqa: E731
    assert integrate.quad(pdf, 0.0, 1.0, limit=200, points=est.mu[0])[0] == pytest.approx(1.0, abs=1e-6)
    rows, active = est.sample(np.random.default_rng(0), 20000)
    assert active.all() and np.all((rows >= 0) & (rows <= 1))
    edges = np.linspace(0, 1, 11)
    expected = np.array([integrate.quad(pdf, lo, hi, points=est.mu[0])[0] for lo, hi in zip(edges[:-1], edges[1:])])
    observed = np.histogram(rows[:, 0], edges)[0] / 20000
    np.testing.assert_allclose(observed, expected, atol=5 * np.sqrt(0.25 / 20000))


def test_discrete_and_categorical_probabilities_sum_to_one_and_match_sampling():
    tree = {"n": Int(1, 64, log=True), "k": Int(0, 20, step=5), "c": Categorical(["a", "b", "c"])}
    unit, est = _fit(tree, [{"n": 2, "k": 5, "c": 0}, {"n": 3, "k": 5, "c": 0}, {"n": 40, "k": 20, "c": 2}])
    space = unit.space
    grid = np.array(
        [
            [space["n"].to_unit(n), space["k"].to_unit(k), c]
            for n in range(1, 65)
            for k in range(0, 21, 5)
            for c in range(3)
        ]
    )
    p = np.exp(est.log_pdf(grid, np.ones(grid.shape, dtype=bool)))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    rows, _ = est.sample(np.random.default_rng(3), 20000)
    # every draw lies on the grid, with the frequencies the pmf gives each value
    for d, name in enumerate(["n", "k"]):
        values = np.array([space[name].from_unit(u) for u in rows[:, d]])
        np.testing.assert_allclose([space[name].to_unit(v) for v in values], rows[:, d], atol=1e-12)
    marg_c = p.reshape(64 * 5, 3).sum(axis=0)
    freq_c = np.bincount(rows[:, 2].astype(int), minlength=3) / 20000
    np.testing.assert_allclose(freq_c, marg_c, atol=5 * np.sqrt(0.25 / 20000))
    marg_k = p.reshape(64, 5, 3).sum(axis=(0, 2))
    freq_k = np.bincount(np.round([space["k"].from_unit(u) / 5 for u in rows[:, 1]]).astype(int), minlength=5) / 20000
    np.testing.assert_allclose(freq_k, marg_k, atol=5 * np.sqrt(0.25 / 20000))


def test_conditional_density_is_a_distribution_over_the_tree():
    tree = {"m": Categorical([{"kind": "a", "x": Float(0.0, 1.0)}, {"kind": "b", "n": Int(1, 4)}])}
    unit, est = _fit(tree, [{"m": 0, "m[0]/x": 0.2}, {"m": 0, "m[0]/x": 0.25}, {"m": 1, "m[1]/n": 3}])
    # the observation in branch b has the prior kernel in branch a's column, and vice versa
    assert (est.mu[1, 2], est.sigma[1, 2]) == (PRIOR_MU, PRIOR_SIGMA)
    assert (est.mu[2, 0], est.sigma[2, 0]) == (PRIOR_MU, PRIOR_SIGMA)

    def density_a(x):
        return float(np.exp(est.log_pdf(np.array([[0, x, 0]]), np.array([[True, True, False]])))[0])

    mass_a = integrate.quad(density_a, 0, 1, points=[0.2, 0.25], limit=200)[0]
    n_rows = np.array([[1, 0, unit.space["m[1]/n"].to_unit(n)] for n in range(1, 5)])
    mass_b = np.exp(est.log_pdf(n_rows, np.array([[True, False, True]] * 4))).sum()
    assert mass_a + mass_b == pytest.approx(1.0, abs=1e-6)
    rows, active = est.sample(np.random.default_rng(5), 20000)
    assert np.array_equal(active[:, 1], rows[:, 0] == 0) and np.array_equal(active[:, 2], rows[:, 0] == 1)
    assert np.mean(rows[:, 0] == 0) == pytest.approx(mass_a, abs=5 * np.sqrt(0.25 / 20000))
