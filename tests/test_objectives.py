import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.objectives import (
    calibration,
    crash_frequency,
    crashes,
    mean_abs_pct_change,
    mean_of,
    volatility,
    volume_floor,
)
from mesa_adage.outer.statistics import autocorr, episodes, first, mean_abs_change, std

series = arrays(
    np.float64, st.tuples(st.integers(2, 5), st.integers(3, 30)), elements=st.floats(-100, 100)
)


def rollouts_of(arr, column="price"):
    return [Rollout({}, i, pd.DataFrame({column: row})) for i, row in enumerate(arr)]


@given(series)
@example(np.array([[2.68717743e-161, 0.0, 0.0], [0.0, 0.0, 0.0]]))  # underflowed once in CI
def test_statistics_are_bounded_and_invariant(x):
    ac = autocorr(x)
    assert np.all(np.abs(ac) <= 1 + 1e-9)
    assert np.allclose(std(x + 7.0), std(x), atol=1e-7)
    assert np.allclose(mean_abs_change(x + 7.0), mean_abs_change(x), atol=1e-7)
    assert np.allclose(autocorr(3.0 * x), ac, atol=1e-6)


@given(series)
def test_first_matches_only_the_start(x):
    assert np.array_equal(first(x), x[:, 0])
    objective = calibration(x, statistics=["first"])
    assert objective(rollouts_of(x)) == pytest.approx(0.0, abs=1e-9)
    later = x.copy()
    later[:, 1:] += 5.0  # the rest of the path moves, the start does not
    assert objective(rollouts_of(later)) == pytest.approx(0.0, abs=1e-9)
    start = x.copy()
    start[:, 0] += 5.0
    assert objective(rollouts_of(start)) < 0.0


@given(
    arrays(
        np.float64, st.tuples(st.integers(8, 12), st.integers(3, 20)), elements=st.floats(-100, 100)
    )
)
def test_mahalanobis_of_the_data_itself_is_zero(x):
    objective = calibration(x, statistics=["mean", "std", "path_mae"], distance="mahalanobis")
    assert objective(rollouts_of(x)) == pytest.approx(0.0, abs=1e-9)


@given(series)
def test_calibration_of_the_data_itself_is_zero_and_best(x):
    objective = calibration(x)
    assert objective(rollouts_of(x)) == pytest.approx(0.0, abs=1e-9)
    shifted = objective(rollouts_of(x + 5.0))
    assert shifted < 0.0


def test_calibration_ranks_closer_parameters_higher():
    rng = np.random.default_rng(0)

    def ar1(phi, n=20):
        x = np.zeros((n, 60))
        for t in range(1, 60):
            x[:, t] = phi * x[:, t - 1] + rng.standard_normal(n)
        return x

    target = ar1(0.5)
    for distance in ("l2", "l1", "mahalanobis"):
        objective = calibration(target, distance=distance)
        scores = [objective(rollouts_of(ar1(phi))) for phi in (0.0, 0.25, 0.5, 0.75, 0.95)]
        assert int(np.argmax(scores)) == 2, distance


def test_calibration_errors():
    x = np.ones((2, 5))
    with pytest.raises(ValueError, match="unknown statistic 'kurtosis'"):
        calibration(x, statistics=["mean", "kurtosis"])
    with pytest.raises(ValueError, match="distance='l3'"):
        calibration(x, distance="l3")
    with pytest.raises(ValueError, match="more observed episodes"):
        calibration(x, distance="mahalanobis")
    with pytest.raises(ValueError, match="no column 'volume'"):
        calibration(x, columns="volume")(rollouts_of(x))
    with pytest.raises(ValueError, match="equal length"):
        calibration(np.ones((2, 6)))(rollouts_of(x))
    with pytest.raises(ValueError, match="non-finite"):
        episodes(pd.DataFrame({"price": [1.0, np.nan, 2.0]}), "price")


@given(series)
def test_mean_of_is_the_mean_over_steps_and_rollouts(x):
    assert mean_of("price")(rollouts_of(x)) == pytest.approx(x.mean())


def _rollouts(*series, column="price", **extra):
    frames = [
        pd.DataFrame({column: s, **{k: v[i] for k, v in extra.items()}})
        for i, s in enumerate(series)
    ]
    return [Rollout(theta={}, seed=i, frame=f) for i, f in enumerate(frames)]


def test_volatility_is_the_std_of_log_returns():
    doubling = [1.0, 2.0, 4.0, 8.0]  # constant log return: no volatility
    zigzag = [1.0, 2.0, 1.0, 2.0]  # returns +-log 2: std log 2
    assert volatility()(_rollouts(doubling)) == pytest.approx(0.0)
    swing = np.std(np.log(2) * np.array([1, -1, 1]))
    assert volatility()(_rollouts(zigzag)) == pytest.approx(swing)
    assert volatility()(_rollouts(doubling, zigzag)) == pytest.approx(swing / 2)
    with pytest.raises(ValueError, match="must stay positive"):
        volatility()(_rollouts([1.0, 0.0, 1.0]))


def test_mean_abs_pct_change_on_known_paths():
    assert mean_abs_pct_change()(_rollouts([100.0, 110.0, 99.0])) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="is 0 somewhere"):
        mean_abs_pct_change()(_rollouts([0.0, 1.0]))


def test_crashes_count_falls_within_the_window_once_each():
    x = np.array([10, 10, 9, 6, 5, 5, 10, 10, 6.9, 10, 9.5])
    assert crashes(x, 0.3, 3).tolist() == [2]  # 10 -> 6 (counted once), then 10 -> 6.9
    assert crashes(x, 0.35, 3).tolist() == [1]  # 10 -> 6 within two steps
    assert crashes(x, 0.35, 1).tolist() == [0]  # but no single step falls 35%
    assert crashes(x, 0.45, 3).tolist() == [1]  # 10 -> 5 within three steps
    assert crash_frequency(drop=0.3, window=3)(_rollouts(x)) == pytest.approx(100 * 2 / 11)
    for drop in (0.0, 1.0, -0.2):
        with pytest.raises(ValueError, match=rf"drop={drop} must be in \(0, 1\)"):
            crash_frequency(drop=drop)


def test_volume_floor_penalises_only_the_shortfall():
    calm = _rollouts([1.0, 1.0, 1.0], volume=[[5.0, 5.0, 5.0]])
    thin = _rollouts([1.0, 1.0, 1.0], volume=[[1.0, 1.0, 1.0]])
    objective = volume_floor(lambda rollouts: 0.0, "volume", floor=3.0, weight=2.0)
    assert objective(calm) == 0.0 and objective(thin) == pytest.approx(-4.0)
    with pytest.raises(ValueError, match=r"weight=0 must be positive"):
        volume_floor(objective, "volume", 1.0, 0)
