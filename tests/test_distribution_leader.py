"""The distribution leader: its decision is the followers' training distribution."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from mesa_adage import Characteristics, LeaderScheduler, Param
from mesa_adage.outer.leaders import make_leader
from mesa_adage.outer.leaders.distribution import DistributionLeader
from mesa_adage.samplers import Weighted
from tests.test_scheduler import experiment
from tests.toy import drive

SPACE = Characteristics(Param("omega", 0.0, 1.0))
GRID = {"omega": (0.0, 0.25, 0.5, 0.75, 1.0)}


def test_worst_case_moves_weight_toward_the_omega_that_lags():
    leader = DistributionLeader(SPACE, grid=GRID, objective="worst_case", reference=[1.0] * 5)
    before = leader.weights.copy()
    thetas, _ = drive(leader, lambda thetas: [1.0, 0.9, 0.2, 1.0, 0.95], n=3)
    assert [t["omega"] for t in thetas] == [0.0, 0.25, 0.5, 0.75, 1.0]  # all points, not n
    after = leader.weights
    assert after[2] > before[2] and after[2] == after.max()  # the weak omega gains most
    assert after[0] < before[0] and after[3] < before[3]  # those at the reference lose
    assert after.sum() == pytest.approx(1.0) and after.min() >= 0.1 / 5  # the floor holds
    assert leader.history[-1][1] == pytest.approx(0.2 - 1.0)  # the worst point's margin
    sampler = leader.training_sampler()
    draws = sampler.sample(SPACE, np.random.default_rng(0), 20_000)[:, 0]
    assert np.mean(draws == 0.5) == pytest.approx(after[2], abs=0.015)


def test_coverage_climbs_to_uniform_from_a_skewed_start():
    skewed = [0.8, 0.05, 0.05, 0.05, 0.05]
    leader = DistributionLeader(SPACE, grid=GRID, floor=0.0, weights=skewed, alpha_L=2.0)
    coverage = [leader.coverage()]
    for _ in range(30):
        drive(leader, lambda thetas: [0.0] * len(thetas), n=5)
        coverage.append(leader.coverage())
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(coverage))
    assert coverage[0] < 0.7 and coverage[-1] > 0.999


def test_a_resumed_leader_continues_exactly():
    first = DistributionLeader(SPACE, grid=GRID, objective="worst_case", reference=lambda: [1] * 5)
    drive(first, lambda thetas: [0.5, 1.0, 1.0, 1.0, 1.0], n=5)
    second = DistributionLeader(SPACE, grid=GRID, objective="worst_case", reference=[9] * 5)
    second.load_state_dict(first.state_dict())
    for leader in (first, second):
        drive(leader, lambda thetas: [1.0, 1.0, 0.5, 1.0, 1.0], n=5)
    np.testing.assert_array_equal(first.weights, second.weights)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="objective='best' is unknown"):
        DistributionLeader(SPACE, objective="best")
    with pytest.raises(ValueError, match="objective='worst_case' needs reference="):
        DistributionLeader(SPACE, objective="worst_case")
    with pytest.raises(ValueError, match=r"omega.*1\.5"):
        DistributionLeader(SPACE, grid={"omega": (0.0, 1.5)})
    with pytest.raises(ValueError, match=r"sum to 0.5, not 1"):
        DistributionLeader(SPACE, grid=GRID, weights=[0.1] * 5)
    with pytest.raises(ValueError, match=r"must be finite and non-negative"):
        DistributionLeader(SPACE, grid=GRID, weights=[0.25, 0.25, 0.25, 0.25, float("nan")])
    with pytest.raises(ValueError, match=r"floor=1.0 must be in \[0, 1\)"):
        DistributionLeader(SPACE, floor=1.0)
    leader = DistributionLeader(SPACE, grid=GRID, objective="worst_case", reference=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"reference gave \[1.0, 2.0\]; it needs 5 finite values"):
        drive(leader, lambda thetas: [0.0] * 5, n=5)
    with pytest.raises(ValueError, match="takes no argument 'step'"):
        make_leader("distribution", SPACE, 0, step=0.1)


WORST_POINT_GAIN = 0.25
"""What the scheduler test asserts of :func:`worst_point_weight`: about half the weight the worst
support point gained over uniform on the test's seed (RESULTS.md section 3, table
``learning-margins``)."""


def worst_point_weight(seed: int, folder: Path) -> dict[str, float]:
    """Two epochs of the toy under a worst-case distribution leader over three targets, run
    from ``seed`` into ``folder``; the weight of the point that lags the reference most.

    The scheduler test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    spec = experiment(
        leader="distribution",
        leader_kwargs={"grid": 3, "objective": "worst_case", "reference": [0.0, 0.0, 0.0]},
        epochs=2,
        target_theta=None,
        fit_columns=(),
    )
    scheduler = LeaderScheduler(spec, folder, seed=seed, progress=False)
    assert isinstance(scheduler.training_sampler(), Weighted)
    result = scheduler.run()
    assert set(result.theta) == {f"w[target={v:.4g}]" for v in (-0.8, 0.0, 0.8)}
    assert sum(result.theta.values()) == pytest.approx(1.0)
    assert len(result.rollouts) == 3 * spec.timescales.eval_rollouts  # every support point
    history = result.history
    assert len(history) == 2 and "w[target=0]" in history
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["leader"] == "distribution" and len(summary["weights"]) == 3
    worst = summary["worst_point"]["target"]
    weight = result.theta[f"w[target={worst:.4g}]"]
    return {
        "worst point": float(worst),
        "its weight": float(weight),
        "largest other weight": max(
            v for k, v in result.theta.items() if k != f"w[target={worst:.4g}]"
        ),
        "gain over uniform": float(weight - 1 / 3),
    }


def test_the_scheduler_trains_followers_under_the_leader_s_distribution(tmp_path):
    measured = worst_point_weight(0, tmp_path / "run")
    # the weight moves to the point that lags the reference most, at the others' cost
    assert measured["its weight"] > measured["largest other weight"], measured
    assert measured["gain over uniform"] > WORST_POINT_GAIN, measured
