from functools import partial

import numpy as np
import pandas as pd

from mesa_adage.run.fingerprint import describe, frame_digest, parameters
from tests.toy import Toy


def make_objective(column):
    return lambda frame: frame[column].mean()


def test_a_factory_is_described_by_what_it_is_not_where_it_lives():
    assert describe(Toy) == "tests.toy.Toy"
    assert describe(partial(Toy, n=4)) == describe(partial(Toy, n=4))
    assert describe(partial(Toy, n=4)) != describe(partial(Toy, n=5))
    assert describe(np.random.default_rng(0)) == "numpy.random._generator.Generator"


def test_functions_differ_by_code_and_by_the_values_they_close_over():
    assert describe(make_objective("price")) == describe(make_objective("price"))
    assert describe(make_objective("price")) != describe(make_objective("volume"))
    assert describe(lambda x: x + 1) != describe(lambda x: x + 2)


def test_a_frame_digest_follows_its_values_and_columns():
    a = pd.DataFrame({"price": [1.0, 2.0]})
    assert frame_digest(a) == frame_digest(a.copy())
    assert frame_digest(a) != frame_digest(a.assign(price=[1.0, 2.5]))
    assert frame_digest(a) != frame_digest(a.rename(columns={"price": "p"}))


class Factory:
    """A callable factory object, its settings in attributes."""

    def __init__(self, n):
        self.n = n

    def __call__(self, theta=None, seed=0):
        return Toy(theta, n=self.n, seed=seed)


def test_a_factory_object_is_described_by_its_settings():
    assert describe(Factory(3)) == describe(Factory(3))
    assert describe(Factory(3)) != describe(Factory(4))


def test_the_parameters_of_a_factory_include_its_defaults_and_bound_values():
    assert parameters(Toy) == {"n": 3, "horizon": 5}
    assert parameters(partial(Toy, n=4)) == {"n": 4, "horizon": 5}
    assert parameters(Factory(3)) == {}  # its settings are in describe(Factory(3))
