"""An answer is never silently worse than a point the run itself scored (issue 22)."""

import json
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesa_adage import LeaderScheduler
from mesa_adage.analysis.shortfall import ROUNDING, better_point, shortfall_warning
from mesa_adage.analysis.table import result_table
from tests.test_scheduler import experiment
from tests.toy import Toy

ANSWER = {"target": 0.1}


def test_the_best_point_beyond_the_noise_is_named():
    evaluated = [
        ({"target": 0.1}, -1.0, "re-rank"),  # the answer itself
        ({"target": 0.2}, -0.95, "profile"),  # better, but within the noise
        ({"target": 0.4}, -0.5, "profile"),
        ({"target": 0.3}, -0.7, "uncertainty report"),
        ({"target": 0.5}, -math.inf, "profile"),  # failed
    ]
    assert better_point(-1.0, evaluated, noise=0.1) == {
        "source": "profile",
        "better_theta": {"target": 0.4},
        "better_objective": -0.5,
        "answer_objective": -1.0,
        "noise": 0.1,
    }
    assert better_point(-1.0, evaluated, noise=0.6) is None  # nothing beats it by 0.6
    assert better_point(-0.5, evaluated) is None  # the best point is the answer's equal


def test_without_noise_any_strictly_better_score_counts_but_not_rounding():
    assert better_point(-2.0, [(ANSWER, -2.0 + 2 * ROUNDING * 2.0, "profile")]) is not None
    assert better_point(-2.0, [(ANSWER, -2.0 + ROUNDING, "profile")]) is None
    # an answer whose every episode failed is beaten by any scored point
    assert better_point(-math.inf, [(ANSWER, -1e9, "profile")])["better_objective"] == -1e9


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="answer_objective is NaN"):
        better_point(math.nan, [])
    for noise in (-0.1, math.inf, math.nan):
        with pytest.raises(ValueError, match=r"noise=.* must be a finite number >= 0"):
            better_point(0.0, [], noise)


scores = st.floats(-1e6, 1e6, allow_nan=False)


@given(
    answer=scores,
    values=st.lists(st.one_of(scores, st.just(-math.inf), st.just(math.nan)), max_size=8),
    noise=st.floats(0, 1e3),
)
def test_a_named_point_is_the_best_and_beats_the_answer_by_more_than_the_noise(
    answer, values, noise
):
    evaluated = [({"target": i / 10}, v, "profile") for i, v in enumerate(values)]
    found = better_point(answer, evaluated, noise)
    finite = [v for v in values if math.isfinite(v)]
    if found is None:
        assert all(v <= answer + max(noise, ROUNDING * max(1.0, abs(answer))) for v in finite)
    else:
        assert found["better_objective"] == max(finite) > answer + noise
        assert found["better_theta"] == evaluated[values.index(max(finite))][0]


def test_the_table_names_the_better_point_under_itself():
    finding = better_point(-1.0, [({"target": 0.4}, -0.5, "profile")])
    table = result_table(Toy.characteristics, ANSWER, None, None, finding).splitlines()
    assert table[1].split() == ["target", "-", "0.1", "-"]
    assert table[-1] == shortfall_warning(finding)
    assert table[-1].startswith(
        "warning: the search fell short: the profile scored target=0.4 at -0.5, better than "
        "the answer's -1 (no noise estimate)"
    )
    assert len(result_table(Toy.characteristics, ANSWER, None).splitlines()) == 2


def test_a_run_that_stops_short_of_its_own_profile_says_so(tmp_path):
    # A 2-point grid sees only the box's ends; the profile also scores the data's 0.4.
    exp = experiment(leader="grid", leader_kwargs={"points": 2}, epochs=1, profile_points=5)
    result = LeaderScheduler(exp, tmp_path / "run", seed=8, progress=False).run()
    assert result.theta["target"] in (-0.8, 0.8)  # the leader's answer is kept
    profile = pd.read_csv(tmp_path / "run" / "profile.csv")
    best = profile.loc[profile["objective"].idxmax()]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["theta"] == result.theta
    named = {
        "source": "profile",
        "better_theta": {"target": best["value"]},
        "better_objective": best["objective"],
        "answer_objective": result.objective,
        "noise": 0.0,
    }
    assert summary["search_fell_short"] == result.search_fell_short == named
    assert best["value"] not in (-0.8, 0.8)
    table = result_table(exp.space, result.theta, None, None, result.search_fell_short)
    assert "warning: the search fell short: the profile scored target=" in table
