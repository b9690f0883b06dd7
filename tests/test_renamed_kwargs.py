"""Renamed searcher knobs: the old spelling still works (with a warning), both spellings is an error,
and a state saved under the old field name restores."""

import pickle

import pytest

from searchers.common.renamed import renamed_kwargs
from searchers.gp.core import GPCore
from searchers.gp.searcher import GPSearcher
from searchers.tpe.core import TPESettings
from searchers.tpe.searcher import TPESearcher


def test_old_names_warn_and_map_to_new():
    with pytest.warns(FutureWarning, match="'n_ei_candidates' is renamed 'n_candidates'"):
        tpe = TPESearcher(n_ei_candidates=7)
    assert tpe.settings.n_candidates == 7
    with pytest.warns(FutureWarning, match="'n_initial' is renamed 'n_startup_trials'"):
        gp = GPSearcher(n_initial=3)
    assert gp.core.n_startup_trials == 3


def test_both_names_is_an_error():
    with pytest.raises(TypeError, match="give 'n_candidates' or 'n_ei_candidates', not both"):
        TPESearcher(n_candidates=5, n_ei_candidates=7)


def test_alias_is_silent():
    @renamed_kwargs(aliases={"time_attr": "resource_attr"})
    def f(resource_attr="t"):
        return resource_attr

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(time_attr="epoch") == "epoch"


def test_state_pickled_under_old_field_names_restores():
    settings = TPESettings(n_candidates=11)
    old = dict(settings.__dict__)
    old["n_ei_candidates"] = old.pop("n_candidates")
    restored = TPESettings.__new__(TPESettings)
    restored.__setstate__(old)
    assert restored.n_candidates == 11 and restored == settings

    core = GPCore(n_startup_trials=4)
    state = dict(core.__dict__)
    state["n_initial"] = state.pop("n_startup_trials")
    back = GPCore.__new__(GPCore)
    back.__setstate__(state)
    assert back.n_startup_trials == 4
    assert pickle.loads(pickle.dumps(back)).n_startup_trials == 4
