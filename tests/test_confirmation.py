"""An answer's objective is confirmed on episodes the search never used (issue 22, item 9)."""

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesa_adage import LeaderScheduler
from mesa_adage.analysis.confirmation import (
    EPISODES_PER_OWN,
    MAX_FRAGILE_SHARE,
    RELATIVE,
    RESAMPLES,
    answer_held,
    confirm_run_folder,
    confirmation_warning,
    fragile_share,
    fresh_seeds,
    resample_objectives,
)
from mesa_adage.analysis.table import result_table
from mesa_adage.seeds import EVAL, episode_seeds
from tests.test_scheduler import experiment
from tests.toy import Toy

ANSWER = {"target": 0.1}


def test_an_answer_that_keeps_its_objective_holds():
    found = answer_held(-0.212, -0.210, 16)
    assert found == {
        "own_objective": -0.212,
        "fresh_objective": -0.210,
        "episodes": 16,
        "tolerance": pytest.approx(RELATIVE * 0.212),
        "noise": 0.0,
        "within_tolerance": True,
        "resamples": None,
        "fragile_share": None,
        "low_quantile": None,
        "max_fragile_share": MAX_FRAGILE_SHARE,
        "held": True,
    }
    assert answer_held(-0.212, -0.212 * (1 + RELATIVE) + 1e-9, 16)["held"]  # just within


def test_an_answer_past_a_cliff_on_fresh_episodes_does_not_hold():
    # RESULTS 9.1, seed 824710887: -0.212 on the run's episodes, -0.667 on others.
    assert not answer_held(-0.212, -0.667, 16)["held"]
    assert not answer_held(0.5, 0.4, 16)["held"]  # positive objectives too
    assert not answer_held(-0.2, -math.inf, 16)["held"]  # the fresh episodes failed


def test_the_noise_widens_the_tolerance_when_it_is_larger():
    assert not answer_held(-1.0, -1.2, 16, noise=0.1)["held"]
    found = answer_held(-1.0, -1.2, 16, noise=0.3)
    assert found["held"] and found["tolerance"] == 0.3 and found["noise"] == 0.3
    assert answer_held(-1.0, -1.2, 16, noise=0.01)["tolerance"] == pytest.approx(RELATIVE)


def test_an_answer_whose_own_episodes_failed_has_nothing_to_lose():
    assert answer_held(-math.inf, -5.0, 16)["held"]
    assert answer_held(-math.inf, -math.inf, 16)["held"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"own_objective": math.nan}, "own_objective is NaN"),
        ({"fresh_objective": math.nan}, "fresh_objective is NaN"),
        ({"episodes": 0}, r"episodes=0 must be a positive integer"),
        ({"episodes": 2.5}, r"episodes=2.5 must be a positive integer"),
        ({"noise": -0.1}, r"noise=-0.1 must be a finite number >= 0"),
        ({"noise": math.inf}, r"noise=inf must be a finite number >= 0"),
        ({"relative": math.nan}, r"relative=nan must be a finite number >= 0"),
        ({"max_fragile_share": 1.5}, r"max_fragile_share=1.5 must be a number in \[0, 1\]"),
        ({"max_fragile_share": -0.1}, r"max_fragile_share=-0.1 must be a number in \[0, 1\]"),
        ({"resampled": []}, r"resampled holds 0 values.*at least one objective"),
        ({"resampled": [-1.0, math.nan]}, r"resampled holds 2 values, 1 of them NaN"),
    ],
)
def test_bad_input_is_a_clear_error(changes, message):
    given_ = {"own_objective": -1.0, "fresh_objective": -1.0, "episodes": 16, **changes}
    with pytest.raises(ValueError, match=message):
        answer_held(**given_)


scores = st.floats(-1e6, 1e6, allow_nan=False)


@given(own=scores, fresh=scores, noise=st.floats(0, 1e3), relative=st.floats(0, 1))
def test_it_holds_exactly_when_the_fresh_objective_is_within_the_tolerance(
    own, fresh, noise, relative
):
    found = answer_held(own, fresh, 16, noise, relative)
    assert found["tolerance"] == max(noise, relative * abs(own))
    assert found["held"] == (fresh >= own - found["tolerance"])


def cliff(volumes):
    """A toy calm objective: -0.2, less 10 per unit of mean volume below a floor of 5."""
    return -0.2 - 10.0 * max(0.0, 5.0 - float(np.mean(volumes)))


EDGE = list(np.random.default_rng(1).normal(5.05, 1.0, 32))  # the floor within its noise
SAFE = list(np.random.default_rng(2).normal(6.5, 1.0, 32))  # a margin of 1.5 above it


def test_an_answer_at_the_cliffs_edge_is_fragile_and_one_with_margin_is_not():
    for volumes in (EDGE, SAFE):
        assert cliff(volumes) == -0.2  # both above the floor on these episodes: both hold
    tolerance = RELATIVE * 0.2
    edge = resample_objectives(cliff, EDGE, seed=3, resamples=400)
    safe = resample_objectives(cliff, SAFE, seed=3, resamples=400)
    assert fragile_share(edge, -0.2, tolerance) > 0.25
    assert fragile_share(safe, -0.2, tolerance) == 0.0
    found = answer_held(-0.2, cliff(EDGE), 32, resampled=edge, max_fragile_share=0.2)
    assert found["within_tolerance"] and not found["held"]
    assert found["fragile_share"] == fragile_share(edge, -0.2, tolerance)
    assert found["resamples"] == 400 and found["low_quantile"] < -0.2 - tolerance
    assert answer_held(-0.2, cliff(SAFE), 32, resampled=safe, max_fragile_share=0.0)["held"]
    assert answer_held(-0.2, cliff(EDGE), 32, resampled=edge, max_fragile_share=1.0)["held"]
    warning = confirmation_warning(found, ANSWER)
    assert f"in {found['fragile_share']:.0%} of 400 resamples of them its objective fell" in warning
    assert "(at most 20% allowed" in warning
    assert "it sits at an edge" in warning


def test_the_same_seed_resamples_alike():
    first = resample_objectives(cliff, EDGE, seed=5, resamples=50)
    assert np.array_equal(first, resample_objectives(cliff, EDGE, seed=5, resamples=50))
    assert np.array_equal(first[:20], resample_objectives(cliff, EDGE, seed=5, resamples=20))
    assert not np.array_equal(first, resample_objectives(cliff, EDGE, seed=6, resamples=50))


@pytest.mark.parametrize("resamples", [0, -3, 2.5, True])
def test_resamples_must_be_a_positive_integer(resamples):
    with pytest.raises(ValueError, match=rf"resamples={resamples!r} must be a positive integer"):
        resample_objectives(cliff, EDGE, seed=0, resamples=resamples)
    with pytest.raises(ValueError, match="rollouts is empty"):
        resample_objectives(cliff, [], seed=0)


def test_the_fresh_seeds_are_the_runs_own_and_none_of_its_evaluation_seeds():
    assert fresh_seeds(8, 16) == fresh_seeds(8, 16)  # the same seed, the same episodes
    assert fresh_seeds(8, 32)[:16] == fresh_seeds(8, 16)
    assert not set(fresh_seeds(8, 16)) & set(episode_seeds(8, EVAL, 16))
    assert fresh_seeds(8, 16) != fresh_seeds(9, 16)


def test_the_table_warns_under_itself_when_the_answer_did_not_hold():
    found = answer_held(-0.212, -0.667, 16)
    table = result_table(Toy.characteristics, ANSWER, None, answer_on_fresh_episodes=found)
    assert table.splitlines()[-1] == confirmation_warning(found, ANSWER)
    assert table.splitlines()[-1].startswith(
        "warning: the answer target=0.1 did not hold on 16 fresh episodes: its objective was "
        "-0.667 there against -0.212 on the run's own"
    )
    held = answer_held(-0.212, -0.21, 16)
    assert (
        len(result_table(Toy.characteristics, ANSWER, None, None, None, None, held).splitlines())
        == 2
    )


def test_a_run_confirms_its_answer_and_a_run_folder_gives_the_same(tmp_path):
    exp = experiment(leader="grid", leader_kwargs={"points": 3}, epochs=1, bootstrap=20)
    result = LeaderScheduler(exp, tmp_path / "run", seed=8, progress=False).run()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    found = summary["answer_on_fresh_episodes"]
    assert found == result.answer_on_fresh_episodes
    assert found["own_objective"] == result.objective == summary["objective"]
    assert found["episodes"] == EPISODES_PER_OWN * exp.timescales.eval_rollouts
    assert math.isfinite(found["fresh_objective"]) and isinstance(found["held"], bool)
    assert found["resamples"] == RESAMPLES and 0.0 <= found["fragile_share"] <= 1.0
    assert found["held"] == (
        found["within_tolerance"] and found["fragile_share"] <= found["max_fragile_share"]
    )
    assert found["noise"] == summary["uncertainty"]["comparison_noise"]
    assert summary["theta"] == result.theta  # kept, whatever the check found
    assert confirm_run_folder(tmp_path / "run", exp) == found  # what the run computed
    other = experiment(objective=lambda frame: 0.0)
    with pytest.raises(ValueError, match=r"does not describe the run in .*\['objective'\]"):
        confirm_run_folder(tmp_path / "run", other)
    with pytest.raises(FileNotFoundError, match=r"holds no summary\.json"):
        confirm_run_folder(tmp_path, exp)
