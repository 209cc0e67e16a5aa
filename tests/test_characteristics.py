import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesa_adage import Characteristics, Param
from mesa_adage.characteristics import Theta, parse_theta
from mesa_adage.inner.observation import Belief, Full, Noisy, Subset
from mesa_adage.samplers import Categorical, Fixed, Grid, Mixture, Normal, Uniform, Weighted

SPACE = Characteristics(Param("tau", 0.0, 1.0), Param("xi", -2.0, 3.0, default=0.5))


@st.composite
def spaces(draw):
    n = draw(st.integers(1, 4))
    params = []
    for i in range(n):
        low = draw(st.floats(-1e3, 1e3))
        width = draw(st.floats(1e-3, 1e3))
        params.append(Param(f"p{i}", low, low + width))
    return Characteristics(*params)


@given(spaces(), st.data())
def test_normalize_roundtrip_and_range(space, data):
    u = np.array([data.draw(st.floats(-1, 1)) for _ in range(len(space))])
    x = space.denormalize(u)
    assert np.allclose(space.normalize(x), u, atol=1e-9)
    assert np.all(x >= space.low - 1e-9 * (1 + abs(space.low)))
    assert np.all(x <= space.high + 1e-9 * (1 + abs(space.high)))


@given(spaces(), st.integers(0, 2**31 - 1))
def test_samplers_stay_inside_bounds(space, seed):
    rng = np.random.default_rng(seed)
    mid = {p.name: p.midpoint for p in space.params}
    for sampler in (
        Uniform(),
        Grid(3),
        Normal(mid, 0.5),
        Categorical(3),
        Fixed(mid),
        Mixture(Uniform(), Normal(mid, 0.2), 0.3),
    ):
        rows = sampler.sample(space, rng, 20)
        assert rows.shape == (20, len(space))
        assert np.all(rows >= space.low) and np.all(rows <= space.high)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_validate_accepts_exactly_the_bounds(value):
    inside = math.isfinite(value) and 0.0 <= value <= 1.0
    if inside:
        assert SPACE.validate({"tau": value})["tau"] == value
    else:
        with pytest.raises(ValueError, match="'tau'"):
            SPACE.validate({"tau": value})


def inside(space, data, names=None):
    """A theta for ``space``, inside its bounds, in declared order (``names`` only, if given)."""
    chosen = space.names if names is None else names
    return {p.name: data.draw(st.floats(p.low, p.high)) for p in space.params if p.name in chosen}


def refusal(param, value):
    """The error ``validate`` gives for ``value`` outside ``param``'s bounds."""
    if not math.isfinite(value):
        return (
            f"parameter {param.name!r}={value!r} is not a finite number; allowed are numbers in "
            f"[{param.low:g}, {param.high:g}]"
        )
    return (
        f"parameter {param.name!r}={value!r} is outside its bounds [{param.low:g}, {param.high:g}]"
    )


@given(spaces(), st.data())
def test_validate_is_idempotent(space, data):
    names = data.draw(st.lists(st.sampled_from(space.names), unique=True))
    theta = space.validate(inside(space, data, names))
    assert isinstance(theta, Theta) and theta.space is space
    assert space.validate(theta) is theta
    assert space.validate(theta, complete=True) is theta  # a validated theta is complete
    assert Characteristics(*space.params).validate(theta) is theta  # an equal space
    assert space.validate(dict(theta)) == theta  # checked again from scratch: the same


@given(spaces(), st.data())
def test_a_validated_theta_equals_the_dict_it_came_from(space, data):
    values = inside(space, data)
    theta = space.validate(values)
    assert theta == values and values == theta
    assert {**theta} == values and type({**theta}) is dict
    assert json.dumps(theta) == json.dumps(values)
    assert repr(theta) == repr(values)
    assert pickle.loads(pickle.dumps(theta)) == values
    with pytest.raises(TypeError, match="cannot change"):
        theta[space.names[0]] = values[space.names[0]]
    assert theta == values


@given(spaces(), st.data())
def test_out_of_bounds_values_are_refused_with_the_same_error(space, data):
    theta = space.validate(inside(space, data))
    param = data.draw(st.sampled_from(space.params))
    below = st.floats(max_value=param.low, exclude_max=True)
    above = st.floats(min_value=param.high, exclude_min=True)
    value = data.draw(below | above | st.sampled_from([math.nan, math.inf, -math.inf]))
    for attempt in ({param.name: value}, {**theta, param.name: value}):
        with pytest.raises(ValueError) as caught:
            space.validate(attempt)
        assert str(caught.value) == refusal(param, value)
    if math.isfinite(value):  # validated by a wider space, it is checked again against this one
        wider = Param(param.name, min(param.low, value), max(param.high, value) + 1.0)
        wide = Characteristics(*(wider if p is param else p for p in space.params))
        with pytest.raises(ValueError) as caught:
            space.validate(wide.validate({**theta, param.name: value}))
        assert str(caught.value) == refusal(param, value)


def test_validate_fills_defaults_and_names_errors():
    assert SPACE.validate({}) == {"tau": 0.5, "xi": 0.5}
    with pytest.raises(ValueError, match=r"'tax'.*allowed names are \['tau', 'xi'\]"):
        SPACE.validate({"tax": 0.1})
    with pytest.raises(ValueError, match=r"tau'=1.5 is outside its bounds \[0, 1\]"):
        SPACE.validate({"tau": 1.5})
    with pytest.raises(ValueError, match="missing"):
        SPACE.validate({"tau": 0.1}, complete=True)
    with pytest.raises(ValueError, match="not a number"):
        SPACE.validate({"tau": "high"})


def test_param_and_space_construction_errors():
    with pytest.raises(ValueError, match="low < high"):
        Param("a", 1.0, 1.0)
    with pytest.raises(ValueError, match="default"):
        Param("a", 0.0, 1.0, default=2.0)
    with pytest.raises(ValueError, match="duplicate"):
        Characteristics(Param("a", 0, 1), Param("a", 0, 2))


def test_grid_covers_every_point():
    grid = Grid(4).grid(SPACE)
    assert grid.shape == (16, 2)
    rows = Grid(4).sample(SPACE, np.random.default_rng(0), 16)
    assert {tuple(r) for r in rows} == {tuple(r) for r in grid}


def test_categorical_respects_weights():
    probs = [0.0] * 8 + [1.0]
    rows = Categorical(3, tuple(probs)).sample(SPACE, np.random.default_rng(0), 50)
    assert np.all(rows == Grid(3).grid(SPACE)[-1])
    with pytest.raises(ValueError, match="needs 9 weights"):
        Categorical(3, (0.5, 0.5)).sample(SPACE, np.random.default_rng(0), 1)
    with pytest.raises(ValueError, match=r"sum to 3, not 1"):
        Categorical(3, (1.0, 2.0))
    with pytest.raises(ValueError, match=r"must be finite and non-negative"):
        Categorical(2, (0.5, float("nan"), 0.25, 0.25))


def test_weighted_draws_its_support_with_its_weights():
    rows = Weighted(({"xi": 1.0}, {"xi": 2.0}), (0.25, 0.75)).sample(
        SPACE, np.random.default_rng(0), 4000
    )
    assert np.mean(rows[:, 1] == 2.0) == pytest.approx(0.75, abs=0.03)
    assert np.all(rows[:, 0] == SPACE.defaults["tau"])  # names left out take their defaults
    with pytest.raises(ValueError, match=r"2 thetas but 1 weights"):
        Weighted(({"xi": 1.0}, {"xi": 2.0}), (1.0,))


@given(st.text(max_size=30))
def test_parse_theta_never_returns_invalid(text):
    try:
        theta = parse_theta(text, SPACE)
    except ValueError:
        return
    assert set(theta) == {"tau", "xi"}
    SPACE.validate(theta)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("tau=0.2", "missing"),
        ("tau=0.2,xi", "bad theta fragment 'xi'"),
        ("tau=abc,xi=1", "'abc' is not a number"),
        ("tau=2,xi=1", "outside its bounds"),
        ("rate=0.1,xi=1", "unknown parameter 'rate'"),
        ("", "empty theta"),
    ],
)
def test_parse_theta_errors(text, match):
    with pytest.raises(ValueError, match=match):
        parse_theta(text, SPACE)


def test_observation_models():
    rng = np.random.default_rng(0)
    unit = np.array([0.2, -0.4])
    assert np.array_equal(Full()(SPACE, unit, 3, rng), np.tile(unit, (3, 1)))
    assert Subset(("xi",))(SPACE, unit, 2, rng).tolist() == [[-0.4], [-0.4]]
    assert Subset(()).dim(SPACE) == 0
    noisy = Noisy(0.1)(SPACE, unit, 2000, rng)
    assert noisy.shape == (2000, 2)
    assert np.allclose(noisy.mean(0), unit, atol=0.01)
    assert np.allclose(noisy.std(0), 0.1, atol=0.01)
    with pytest.raises(ValueError, match="unknown parameter 'nope'"):
        Subset(("nope",)).dim(SPACE)
    frozen = Belief({"tau": 0.0, "xi": -2.0})(SPACE, unit, 2, rng)
    assert frozen.tolist() == [[-1.0, -1.0], [-1.0, -1.0]]  # whatever the real theta is
