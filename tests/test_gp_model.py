"""The GP model: kernel, posterior against closed forms, marginal likelihood, fitting."""

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import multivariate_normal

from searchers.gp.fit import fit_hyperparameters
from searchers.gp.hyper import Hyper, Priors
from searchers.gp.kernel import matern52, matern52_and_grad, scaled_sqdist
from searchers.gp.likelihood import MarginalLikelihood
from searchers.gp.linalg import cholesky_jitter
from searchers.gp.posterior import Posterior


def matern_1d(a, b, ls, signal):
    r = abs(a - b) / ls
    return signal * (1 + math.sqrt(5) * r + 5 * r * r / 3) * math.exp(-math.sqrt(5) * r)


def test_matern_values_and_derivative():
    r2 = np.array([0.0, 0.01, 0.5, 4.0])
    k, dk = matern52_and_grad(r2)
    np.testing.assert_allclose(k, [matern_1d(0, math.sqrt(v), 1.0, 1.0) for v in r2], rtol=1e-14)
    np.testing.assert_allclose(matern52(r2), k)
    num = [
        (matern52(np.array([v + 1e-7])) - matern52(np.array([max(v - 1e-7, 0)])))[0] / (2e-7 if v else 1e-7) for v in r2
    ]
    np.testing.assert_allclose(dk, num, rtol=1e-5, atol=1e-7)
    assert dk[0] == pytest.approx(-5 / 6)  # finite at r = 0, where d/dr would be 0/0


def test_posterior_matches_the_closed_form_for_two_points():
    ls, signal, noise, mean = 0.3, 1.7, 0.05, 0.2
    X = np.array([[0.1], [0.6]])
    y = np.array([1.0, -0.5])
    post = Posterior(X, y, Hyper(np.array([ls]), signal, noise, mean), np.array([1 / ls**2]))
    k12 = matern_1d(0.1, 0.6, ls, signal)
    a, d = signal + noise, k12
    det = a * a - d * d
    Kinv = np.array([[a, -d], [-d, a]]) / det  # inverse of [[a, d], [d, a]]
    for x in (0.0, 0.1, 0.35, 0.9):
        k = np.array([matern_1d(x, 0.1, ls, signal), matern_1d(x, 0.6, ls, signal)])
        mu, var = post.predict(np.array([[x]]))
        assert mu[0] == pytest.approx(mean + k @ Kinv @ (y - mean), rel=1e-12)
        assert var[0] == pytest.approx(signal - k @ Kinv @ k, rel=1e-10)


def test_posterior_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    X, y = rng.random((15, 3)), rng.standard_normal(15)
    w = np.array([4.0, 1.0, 9.0])
    post = Posterior(X, y, Hyper(np.array([0.5, 1.0, 0.33]), 1.3, 1e-3, 0.1), w)
    Xq = rng.random((4, 3))
    mean, var, dmean, dvar = post.predict_with_grad(Xq)
    m2, v2 = post.predict(Xq)
    np.testing.assert_allclose(mean, m2, rtol=1e-12)
    np.testing.assert_allclose(var, v2, rtol=1e-9)
    for i in range(4):
        num_m = approx_fprime(Xq[i], lambda x: post.predict(x[None])[0][0], 1e-7)
        num_v = approx_fprime(Xq[i], lambda x: post.predict(x[None])[1][0], 1e-7)
        np.testing.assert_allclose(dmean[i], num_m, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(dvar[i], num_v, rtol=1e-4, atol=1e-6)


def test_kriging_believer_keeps_the_mean_and_shrinks_the_variance():
    rng = np.random.default_rng(1)
    X, y = rng.random((10, 2)), rng.standard_normal(10)
    post = Posterior(X, y, Hyper(np.array([0.3, 0.3]), 1.0, 1e-4, 0.0), np.array([1 / 0.09] * 2))
    pending = np.array([[0.5, 0.5]])
    after = post.condition_on(pending)
    Xq = np.vstack([pending, rng.random((20, 2))])
    m0, v0 = post.predict(Xq)
    m1, v1 = after.predict(Xq)
    np.testing.assert_allclose(m1, m0, atol=1e-8)
    assert np.all(v1 <= v0 + 1e-12)
    assert v1[0] < 1e-3 * v0[0]  # at the pending point the variance is (nearly) gone


def _mixed_problem(n=25, seed=0):
    rng = np.random.default_rng(seed)
    # columns: two numeric parameters and a 3-option one-hot block (one parameter)
    num = rng.random((n, 2))
    opt = rng.integers(3, size=n)
    X = np.hstack([num, np.eye(3)[opt]])
    y = np.sin(5 * num[:, 0]) + 0.3 * opt + 0.01 * rng.standard_normal(n)
    group = np.array([0, 1, 2, 2, 2])
    weight = np.array([1.0, 1.0, 0.5, 0.5, 0.5])
    return X, (y - y.mean()) / y.std(), group, weight


def test_log_likelihood_equals_the_gaussian_density_and_its_gradient_is_exact():
    X, y, group, weight = _mixed_problem()
    ml = MarginalLikelihood(X, y, group, weight, Priors())
    theta = np.log(np.array([0.4, 2.0, 0.7, 1.3, 0.01]))
    theta = np.append(theta, 0.25)  # mean
    hyper = Hyper.from_vector(theta)
    w = hyper.column_weights(group, weight)
    K = hyper.signal * matern52(scaled_sqdist(X, X, w)) + hyper.noise * np.eye(len(X))
    value, _ = ml.value_and_grad(theta, with_prior=False)
    assert value == pytest.approx(multivariate_normal(np.full(len(X), hyper.mean), K).logpdf(y), rel=1e-10)
    for with_prior in (False, True):
        _, grad = ml.value_and_grad(theta, with_prior=with_prior)
        num = approx_fprime(theta, lambda t, wp=with_prior: ml.value_and_grad(t, with_prior=wp)[0], 1e-6)
        np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-5)


def test_one_hot_block_is_a_hamming_distance():
    group, weight = np.array([0, 1, 1, 1]), np.array([1.0, 0.5, 0.5, 0.5])
    hyper = Hyper(np.array([1.0, 0.5]), 1.0, 1e-6, 0.0)
    w = hyper.column_weights(group, weight)
    a, b = np.array([[0.2, 1, 0, 0]]), np.array([[0.2, 0, 0, 1]])
    assert scaled_sqdist(a, b, w)[0, 0] == pytest.approx(1 / 0.5**2)


def test_fitting_raises_the_marginal_likelihood_and_finds_the_relevant_dimension():
    rng = np.random.default_rng(3)
    X = rng.random((40, 3))
    y = np.sin(6 * X[:, 0])  # only the first column matters
    y = (y - y.mean()) / y.std()
    ml = MarginalLikelihood(X, y, np.arange(3), np.ones(3), Priors())
    start = Priors().start(3)
    fit = fit_hyperparameters(ml, rng, warm_start=None, n_restarts=3)
    assert fit.log_posterior > ml.value_and_grad(start)[0] + 10
    assert ml.value_and_grad(fit.theta, with_prior=False)[0] > ml.value_and_grad(start, with_prior=False)[0] + 10
    ls = Hyper.from_vector(fit.theta).lengthscales
    assert ls[0] < 1.0 and ls[1] > 3 * ls[0] and ls[2] > 3 * ls[0]
    # A warm start at the optimum stays there.
    again = fit_hyperparameters(ml, rng, warm_start=fit.theta, n_restarts=0)
    assert again.log_posterior == pytest.approx(fit.log_posterior, abs=1e-3)


def test_stable_with_1000_points_and_duplicates():
    rng = np.random.default_rng(4)
    X = rng.random((1000, 4))
    X[900:] = X[:100]  # exact duplicates
    y = np.cos(3 * X[:, 0]) + X[:, 1] ** 2
    y = (y - y.mean()) / y.std()
    hyper = Hyper(np.array([0.5, 0.5, 2.0, 2.0]), 1.0, 1e-6, 0.0)
    post = Posterior(X, y, hyper, hyper.column_weights(np.arange(4), np.ones(4)))
    mean, var = post.predict(X[:50])
    assert np.all(np.isfinite(mean)) and np.all(var > 0)
    np.testing.assert_allclose(mean, y[:50], atol=1e-3)  # nearly noise-free interpolation
    ml = MarginalLikelihood(X[::5], y[::5], np.arange(4), np.ones(4), Priors())
    value, grad = ml.value_and_grad(hyper.to_vector())
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_cholesky_jitter_rescues_a_singular_matrix():
    v = np.array([[1.0, 2.0, 3.0]])
    K = v.T @ v  # rank one
    L, jitter = cholesky_jitter(K)
    assert jitter > 0
    np.testing.assert_allclose(L @ L.T, K + jitter * np.eye(3), atol=1e-12)
    with pytest.raises(np.linalg.LinAlgError):
        cholesky_jitter(np.array([[np.nan]]))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="lengthscale_prior must be one of optuna, gamma, dim-scaled"):
        Priors("wide")
    X, y, group, weight = _mixed_problem()
    with pytest.raises(ValueError, match="n_restarts"):
        fit_hyperparameters(MarginalLikelihood(X, y, group, weight, Priors()), np.random.default_rng(0), None, -1)
