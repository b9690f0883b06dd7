"""The typed search space: front ends, validation, sampling, encodings, round trips."""

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ray import tune

from searchers.space import INACTIVE, Categorical, Float, Int, SearchSpace, SpaceError

OPTIMIZER_YAML = {
    "type": "categorical",
    "choices": [
        {
            "name": "sgd",
            "lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
            "momentum": {"type": "float", "low": 0.0, "high": 0.99},
        },
        {
            "name": "adam",
            "lr": {"type": "float", "low": "1e-4", "high": 1e-2, "log": True},
            "beta1": {"type": "float", "low": 0.8, "high": 0.99},
            "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
        },
    ],
}


def ray_space():
    return {
        "lr": tune.loguniform(1e-4, 1e-1),
        "n": tune.randint(1, 5),
        "m": tune.lograndint(1, 100),
        "q": tune.qrandint(0, 20, 5),
        "qf": tune.quniform(0.1, 1.0, 0.1),
        "act": tune.choice(["relu", "tanh"]),
        "layers": tune.choice([[64, 64], [128]]),
        "opt": tune.choice(
            [
                {"name": "sgd", "lr": tune.uniform(0.01, 1), "momentum": tune.uniform(0, 0.99)},
                {"name": "adam", "beta1": tune.uniform(0.8, 0.99), "inner": {"deep": tune.choice([1, 2, 3])}},
            ]
        ),
        "const": 7,
        "nested": {"a": tune.uniform(0, 1), "b": "x"},
    }


# ------------------------------------------------------------------ front ends


def test_ray_domains_convert_with_ray_bounds():
    s = SearchSpace(ray_space())
    assert s["lr"].kind == "float" and s["lr"].log and (s["lr"].low, s["lr"].high) == (1e-4, 1e-1)
    assert (s["n"].low, s["n"].high) == (1, 4)  # randint: upper exclusive
    assert s["m"].log and (s["m"].low, s["m"].high) == (1, 99)  # lograndint: upper exclusive
    assert (s["q"].low, s["q"].high, s["q"].step) == (0, 20, 5)  # qrandint: upper inclusive
    assert s["qf"].step == pytest.approx(0.1) and s["qf"].high == pytest.approx(1.0)
    assert s["act"].choices == ("relu", "tanh")
    assert s["opt[0]/momentum"].parent == ("opt", 0)
    assert s["opt[1]/inner/deep"].parent == ("opt", 1)
    assert s["nested/a"].parent is None
    assert "const" not in s.names


def test_ray_sampled_values_are_all_reachable():
    """Every value Ray's own sampler can produce is a valid value of our space."""
    s = SearchSpace({"n": tune.randint(1, 5), "q": tune.qrandint(0, 20, 5), "m": tune.lograndint(1, 10)})
    from ray.tune.search.variant_generator import generate_variants

    for _ in range(200):
        _, cfg = next(
            generate_variants({"n": tune.randint(1, 5), "q": tune.qrandint(0, 20, 5), "m": tune.lograndint(1, 10)})
        )
        s.to_flat(cfg)
    rng = np.random.default_rng(0)
    seen = {v for v in (s.sample(rng)["n"] for _ in range(400))}
    assert seen == {1, 2, 3, 4}


def test_yaml_form_equals_dataclass_form():
    yaml_space = SearchSpace(
        {
            "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
            "units": {"type": "int", "low": 8, "high": 48, "step": 8},
            "act": {"type": "categorical", "choices": ["relu", "tanh"]},
            "fixed": 3,
        }
    )
    typed = SearchSpace(
        {
            "lr": Float(1e-4, 1e-1, log=True),
            "units": Int(8, 48, step=8),
            "act": Categorical(["relu", "tanh"]),
            "fixed": 3,
        }
    )
    rng1, rng2 = np.random.default_rng(7), np.random.default_rng(7)
    assert [yaml_space.sample(rng1) for _ in range(20)] == [typed.sample(rng2) for _ in range(20)]


def test_yaml_conditional_branch_names_and_config_shape():
    s = SearchSpace({"optimizer": OPTIMIZER_YAML})
    assert s.names == (
        "optimizer",
        "optimizer[0]/lr",
        "optimizer[0]/momentum",
        "optimizer[1]/lr",
        "optimizer[1]/beta1",
        "optimizer[1]/weight_decay",
    )
    cfg = s.from_flat({"optimizer": 0, "optimizer[0]/lr": 0.01, "optimizer[0]/momentum": 0.5})
    assert cfg == {"optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.5}}
    assert s.to_flat(cfg) == {"optimizer": 0, "optimizer[0]/lr": 0.01, "optimizer[0]/momentum": 0.5}


def test_yaml_type_key_inside_a_branch_is_a_constant():
    s = SearchSpace(
        {
            "opt": {
                "type": "categorical",
                "choices": [{"type": "sgd", "momentum": {"type": "float", "low": 0, "high": 1}}, {"type": "adam"}],
            }
        }
    )
    assert s.from_flat({"opt": 1}) == {"opt": {"type": "adam"}}


@pytest.mark.parametrize(
    "tree, name, fragment",
    [
        ({"a": tune.randn()}, "a", "unbounded"),
        ({"a": tune.sample_from(lambda c: 1)}, "a", "sample_from"),
        ({"a": tune.grid_search([1, 2])}, "a", "grid_search"),
        ({"a": {"type": "float", "low": 1, "high": 0}}, "a", "low (1.0) must be < high (0.0)"),
        ({"a": {"type": "float", "low": 0, "high": 1, "log": True}}, "a", "log scale needs low > 0"),
        ({"a": {"type": "flot", "low": 1, "high": 2}}, "a", "unknown type 'flot'"),
        ({"x": {"y": {"type": "int", "low": 1, "high": 2, "bogus": 1}}}, "x/y", "unknown key(s) ['bogus']"),
        ({"a": {"type": "categorical", "choices": []}}, "a", "at least one choice"),
        ({"a": {"type": "int", "low": 1.5, "high": 4}}, "a", "whole number"),
        ({"a": {"type": "int", "low": 1, "high": 9, "step": 0}}, "a", "'step' must be >= 1"),
        ({"a": {"type": "float", "low": 0, "high": 1, "step": 2}}, "a", "'step' must be in (0, high - low]"),
        ({"a": {"type": "float", "low": "abc", "high": 1}}, "a", "'low' must be a number"),
        ({"a": {"type": "float", "high": 1}}, "a", "needs 'low'"),
        ({"a": {"type": "float", "low": 0, "high": 1, "log": "yes"}}, "a", "'log' must be true or false"),
        ({"o": tune.choice([{"lr": {"type": "float", "low": 2, "high": 1}}])}, "o[0]/lr", "must be <"),
        ({"a/b": tune.uniform(0, 1)}, "a/b", "may not contain"),
        ({"a": [tune.uniform(0, 1)]}, "a", "inside lists"),
    ],
)
def test_invalid_spaces_name_the_parameter(tree, name, fragment):
    with pytest.raises(SpaceError) as info:
        SearchSpace(tree)
    assert info.value.name == name
    assert f"'{name}'" in str(info.value) and fragment in str(info.value)


def test_invalid_configs_name_the_parameter():
    s = SearchSpace(ray_space())
    good = s.sample(np.random.default_rng(0))
    with pytest.raises(SpaceError, match="'lr'.*outside"):
        s.to_flat({**good, "lr": 5.0})
    with pytest.raises(SpaceError, match="'q'.*not on the grid"):
        s.to_flat({**good, "q": 7})
    with pytest.raises(SpaceError, match="'opt\\[0\\]/lr'.*outside"):
        s.to_flat({**good, "opt": {"name": "sgd", "lr": 3.0, "momentum": 0.1}})
    with pytest.raises(SpaceError, match="'act'.*not one of the choices"):
        s.to_flat({**good, "act": "gelu"})
    with pytest.raises(SpaceError, match="'n'.*missing"):
        s.to_flat({k: v for k, v in good.items() if k != "n"})


# --------------------------------------------------------------- sampling/encoding


def test_same_seed_same_samples_and_conditionals_only_when_active():
    s = SearchSpace(ray_space())
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    a = [s.sample_flat(rng_a) for _ in range(50)]
    assert a == [s.sample_flat(rng_b) for _ in range(50)]
    assert a != [s.sample_flat(np.random.default_rng(4)) for _ in range(50)]
    for flat in a:
        branch = flat["opt"]
        assert ("opt[0]/lr" in flat) == (branch == 0)
        assert ("opt[1]/beta1" in flat) == (branch == 1)


def test_log_sampling_is_log_uniform():
    s = SearchSpace({"lr": Float(1e-4, 1.0, log=True)})
    rng = np.random.default_rng(0)
    logs = np.log10([s.sample(rng)["lr"] for _ in range(4000)])
    # log10 is uniform on [-4, 0]: each decade holds a quarter (binomial sd ~ 0.007)
    counts = np.histogram(logs, bins=[-4, -3, -2, -1, 0])[0] / len(logs)
    assert np.all(np.abs(counts - 0.25) < 0.035)


def test_int_grid_values_are_equally_likely():
    s = SearchSpace({"u": Int(8, 48, step=8)})
    rng = np.random.default_rng(1)
    values = [s.sample(rng)["u"] for _ in range(6000)]
    counts = np.array([values.count(v) for v in (8, 16, 24, 32, 40, 48)]) / len(values)
    assert np.all(np.abs(counts - 1 / 6) < 0.025)


def test_encoding_layout_mask_and_inactive_fill():
    s = SearchSpace({"optimizer": OPTIMIZER_YAML, "units": Int(1, 4)})
    assert s.dim == 2 + 2 + 3 + 1
    flat = {
        "optimizer": 1,
        "optimizer[1]/lr": 1e-3,
        "optimizer[1]/beta1": 0.8,
        "optimizer[1]/weight_decay": 1e-2,
        "units": 1,
    }
    x, mask = s.encode_flat(flat)
    assert list(x[s.slice_of("optimizer")]) == [0.0, 1.0]
    assert x[s.slice_of("optimizer[0]/lr")] == INACTIVE and not mask[s.slice_of("optimizer[0]/lr")].any()
    assert x[s.slice_of("optimizer[1]/lr")][0] == pytest.approx(0.5)  # log midpoint of [1e-4, 1e-2]
    assert x[s.slice_of("optimizer[1]/beta1")][0] == pytest.approx(0.0)
    assert x[s.slice_of("units")][0] == pytest.approx(1 / 8)  # centre of the first of 4 cells
    assert mask.sum() == 2 + 3 + 1


def test_decode_clips_and_snaps():
    s = SearchSpace({"f": Float(0.0, 1.0, step=0.1), "i": Int(1, 3), "lr": Float(1e-3, 1.0, log=True)})
    cfg = s.decode([0.33, -5.0, 7.0])
    assert cfg == {"f": 0.3, "i": 1, "lr": 1.0}


def test_to_ray_round_trip_and_pickle_has_no_ray_objects():
    s = SearchSpace(ray_space())
    again = SearchSpace(s.to_ray())
    assert [(p.name, p.kind, p.low, p.high, p.log, p.step, p.parent) for p in s] == [
        (p.name, p.kind, p.low, p.high, p.log, p.step, p.parent) for p in again
    ]
    blob = pickle.dumps(s)
    assert b"ray.tune" not in blob
    restored = pickle.loads(blob)
    assert restored.sample(np.random.default_rng(5)) == s.sample(np.random.default_rng(5))


# ----------------------------------------------------------------- properties


@st.composite
def numeric_specs(draw):
    kind = draw(st.sampled_from(["float", "int"]))
    log = draw(st.booleans())
    if kind == "float":
        low = draw(st.floats(1e-4, 10.0) if log else st.floats(-100.0, 100.0))
        width = draw(st.floats(1e-3, 1000.0))
        step = draw(st.one_of(st.none(), st.floats(1e-3, 0.999).map(lambda f: f * width)))
        return Float(low, low + width, log=log, step=step)
    low = draw(st.integers(1, 50) if log else st.integers(-50, 50))
    high = low + draw(st.integers(0, 500))
    return Int(low, high, log=log, step=draw(st.integers(1, 7)))


@st.composite
def spaces(draw):
    tree = {f"p{i}": draw(numeric_specs()) for i in range(draw(st.integers(1, 4)))}
    if draw(st.booleans()):
        tree["cat"] = Categorical(
            draw(st.lists(st.sampled_from(["a", "b", 1, 2.5, None, True]), min_size=1, max_size=4, unique_by=repr))
        )
    if draw(st.booleans()):
        tree["branch"] = Categorical(
            [
                {"kind": "x", "u": draw(numeric_specs())},
                {"kind": "y", "v": draw(numeric_specs()), "w": Categorical(["p", "q"])},
                "off",
            ]
        )
    return SearchSpace(tree)


def _close(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return type(a) is type(b) and a == b


@settings(max_examples=150, deadline=None)
@given(space=spaces(), seed=st.integers(0, 2**32 - 1))
def test_property_config_flat_vector_round_trips(space, seed):
    rng = np.random.default_rng(seed)
    for _ in range(5):
        config = space.sample(rng)
        flat = space.to_flat(config)
        assert _close(space.from_flat(flat), config)
        x, mask = space.encode_flat(flat)
        assert x.shape == (space.dim,) and np.all((0 <= x) & (x <= 1))
        assert np.all(x[~mask] == INACTIVE)
        assert _close(space.decode(x), config)
        other = space.sample_flat(rng)  # values of params inactive in `flat` are dropped
        assert _close(space.canonical_flat({**other, **flat}), flat)


@settings(max_examples=150, deadline=None)
@given(space=spaces(), seed=st.integers(0, 2**32 - 1))
def test_property_any_vector_decodes_to_a_valid_config_and_is_a_fixed_point(space, seed):
    u = np.random.default_rng(seed).uniform(-0.2, 1.2, size=space.dim)
    config = space.decode(u)
    flat = space.to_flat(config)  # raises if anything is off-grid, out of range or misplaced
    x, _ = space.encode_flat(flat)
    assert _close(space.decode(x), config)
    for p in space:
        if p.name in flat and not p.is_categorical:
            assert p.low <= flat[p.name] <= p.high
