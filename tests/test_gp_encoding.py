"""The GP's array encoding agrees with SearchSpace's own encode/decode."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.functions import PROBLEMS
from searchers.gp.encoding import INACTIVE_FILL, Encoding
from searchers.space import Categorical, Float, Int, SearchSpace

AWKWARD = {
    "a": Int(1, 1000, log=True),
    "b": Float(0.01, 1.0, log=True, step=0.01),
    "c": Int(2, 50, step=3),
    "d": Float(1e-3, 1.0, log=True),
    "o": Categorical(
        [
            {"n": "x", "k": Int(0, 3), "z": Categorical([{"q": Float(0.0, 1.0)}, "w"])},
            "plain",
            {"n": "y", "f": Float(-1.0, 1.0, step=0.25)},
        ]
    ),
}
SPACES = {**{name: p.space for name, p in PROBLEMS.items()}, "awkward": AWKWARD}


@pytest.mark.parametrize("name", sorted(SPACES))
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_snap_is_encode_of_decode(name, seed):
    space = SearchSpace(SPACES[name])
    enc = Encoding(space)
    X = np.random.default_rng(seed).random((40, space.dim))
    S = enc.snap(X)
    for x, s in zip(X, S):
        flat = space.decode_flat(x)
        np.testing.assert_allclose(s, enc.encode(flat), atol=1e-12)
        assert space.decode_flat(s) == flat
        _, mask = space.encode_flat(flat)
        np.testing.assert_array_equal(enc.active_columns(s)[0], mask)
        assert np.all(s[~mask] == INACTIVE_FILL)
    np.testing.assert_array_equal(enc.snap(S), S)  # idempotent


def test_columns_tie_length_scales_per_parameter():
    space = SearchSpace(PROBLEMS["mixed"].space)  # x1, x2, k, cat(3)
    enc = Encoding(space)
    assert enc.n_params == 4 and enc.dim == 6
    np.testing.assert_array_equal(enc.group, [0, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(enc.weight, [1, 1, 1, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(enc.continuous, [True, True, False, False, False, False])


def test_alternatives_are_valid_and_differ_only_where_asked():
    space = SearchSpace(AWKWARD)
    enc = Encoding(space)
    x = enc.encode({"a": 10, "b": 0.5, "c": 20, "d": 0.1, "o": 0, "o[0]/k": 2, "o[0]/z": 1})
    names = [p.name for p in enc.params]
    small = enc.alternatives(x, names.index("o[0]/k"))  # 4 values: all the others
    assert sorted(space.decode_flat(r)["o[0]/k"] for r in small) == [0, 1, 3]
    big = enc.alternatives(x, names.index("a"))  # 1000 values: grid steps around 10
    values = sorted(space.decode_flat(r)["a"] for r in big)
    assert 9 in values and 11 in values and 1000 in values and 10 not in values
    branch = enc.alternatives(x, names.index("o"))
    flats = [space.decode_flat(r) for r in branch]
    assert [f["o"] for f in flats] == [1, 2]
    assert "o[2]/f" in flats[1] and "o[0]/k" not in flats[1]
    for r in np.vstack([small, big, branch]):
        np.testing.assert_allclose(enc.snap(r[None])[0], r, atol=1e-12)
    inactive = enc.alternatives(x, names.index("o[2]/f"))
    assert inactive.shape == (0, space.dim)
