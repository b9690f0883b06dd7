"""The GP's constant mean: fitted (default) or held at 0 (``prior_mean="zero"``)."""

import functools
import pickle

import numpy as np
import pytest

from searchers import GPSearcher
from searchers.gp.fit import fit_hyperparameters
from searchers.gp.hyper import Hyper, Priors
from searchers.gp.likelihood import MarginalLikelihood
from searchers.gp.posterior import Posterior
from searchers.gp.threads import single_blas_thread
from tests.test_gp_searcher import SPACE, loss, run


def _skewed(n=40, seed=0):
    """Standardized losses with a floor in one corner and a plateau elsewhere."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    y = np.minimum(np.sum((X - 0.1) ** 2, axis=1), 0.04)
    return X, (y - y.mean()) / y.std()


@functools.cache
def _fit(prior_mean):
    X, y = _skewed()
    priors = Priors(mean=prior_mean)
    ml = MarginalLikelihood(X, y, np.arange(2), np.ones(2), priors)
    with single_blas_thread():
        fit = fit_hyperparameters(ml, np.random.default_rng(0), warm_start=None, n_restarts=1)
    return X, y, fit


def test_zero_mean_is_held_at_zero_and_fitted_one_moves():
    _, _, zero = _fit("zero")
    _, _, fitted = _fit("fitted")
    assert zero.theta[-1] == 0.0
    assert abs(fitted.theta[-1]) > 0.1
    assert fitted.log_posterior > zero.log_posterior  # a free mean fits at least as well here


def test_far_from_the_data_the_prediction_reverts_to_the_mean():
    """Far from every observation the posterior mean is the prior mean: the average loss
    (0 in standardized units) with ``zero``, the fitted constant otherwise."""
    far = np.array([[50.0, 50.0]])
    for prior_mean in ("zero", "fitted"):
        X, y, fit = _fit(prior_mean)
        hyper = Hyper.from_vector(fit.theta)
        mean, var = Posterior(X, y, hyper, hyper.column_weights(np.arange(2), np.ones(2))).predict(far)
        assert mean[0] == pytest.approx(hyper.mean, abs=1e-9)
        assert var[0] == pytest.approx(hyper.signal, rel=1e-9)  # the latent prior variance


def test_a_warm_start_with_a_mean_is_pulled_back_to_zero():
    X, y = _skewed()
    ml = MarginalLikelihood(X, y, np.arange(2), np.ones(2), Priors(mean="zero"))
    warm = Priors().start(2)
    warm[-1] = 2.5
    with single_blas_thread():
        fit = fit_hyperparameters(ml, np.random.default_rng(0), warm_start=warm, n_restarts=0)
    assert fit.theta[-1] == 0.0


def test_the_searcher_option_is_deterministic_and_changes_suggestions():
    ids = [f"t{i}" for i in range(12)]

    def make(prior_mean):
        return GPSearcher(
            SPACE, metric="loss", mode="min", seed=1, n_startup_trials=4, n_candidates=256, prior_mean=prior_mean
        )

    a = run(make("zero"), ids)
    assert a == run(make("zero"), ids)
    assert a[4:] != run(make("fitted"), ids)[4:]
    assert min(loss(c) for c in a[4:]) < min(loss(c) for c in a[:4])


def test_bad_value_names_the_argument():
    with pytest.raises(ValueError, match="prior_mean must be one of fitted, zero, got 'median'"):
        GPSearcher(SPACE, metric="loss", mode="min", prior_mean="median")


def test_priors_pickled_before_the_option_restore_with_a_fitted_mean():
    old = Priors("gamma")
    object.__delattr__(old, "mean")  # what an instance pickled before ``mean`` existed holds
    back = pickle.loads(pickle.dumps(old))
    assert back.mean == "fitted" and back.lengthscale == "gamma"
    assert back.bounds(2)[-1] == (-3.0, 3.0)
