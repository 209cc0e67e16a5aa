"""The generalisation report: interpolation against extrapolation, on a toy with a known answer.

Toy's Guesser is paid ``-(action - target)^2`` in each of its 5 steps, and its observation is
``[last action, theta_hat]`` with ``theta_hat = target / 0.8``, so a hand-made policy can play
the target exactly.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mesa_adage import Characteristics, Param
from mesa_adage.analysis.generalization import _compare, generalization
from tests.toy import Guesser, Toy

INSIDE = (-0.4, 0.4)
GRID = (-0.8, -0.4, 0.0, 0.4, 0.8)
HORIZON = 5


def perfect(obs):
    """Plays the target exactly."""
    return (0.8 * obs[:, 1:2]).astype(np.float32)


def trained_inside_only(obs):
    """Perfect inside the training range; outside it, falls back to 0."""
    target = 0.8 * obs[:, 1:2]
    inside = (target >= INSIDE[0] - 1e-6) & (target <= INSIDE[1] + 1e-6)
    return np.where(inside, target, 0.0).astype(np.float32)


def zero(obs):
    return np.zeros((len(obs), 1), dtype=np.float32)


class Toy2(Toy):
    """Toy with a second parameter that changes nothing."""

    characteristics = Characteristics(
        Param("target", -0.8, 0.8, default=0.0), Param("noise", 0.0, 1.0)
    )


def test_degradation_is_zero_inside_and_known_outside():
    report = generalization(
        Toy,
        Guesser,
        trained_inside_only,
        train_range={"target": INSIDE},
        points=5,
        specialists={t: perfect for t in GRID},
        baseline=zero,
        episodes=3,
        progress=False,
    )
    table = report.table.set_index("target")
    assert table.index.tolist() == pytest.approx(list(GRID))
    assert table["region"].tolist() == ["extrapolation"] + ["interpolation"] * 3 + ["extrapolation"]
    inside = table[table["region"] == "interpolation"]
    assert inside["degradation"].abs().max() == pytest.approx(0.0, abs=1e-9)
    outside = table[table["region"] == "extrapolation"]
    # the fallback plays 0, so each step costs target^2 = 0.64; the specialist loses nothing
    assert outside["conditional"].tolist() == pytest.approx([-HORIZON * 0.64] * 2, rel=1e-6)
    assert outside["specialist"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert outside["degradation"].tolist() == pytest.approx([HORIZON * 0.64] * 2, rel=1e-6)
    assert outside["degradation_se"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    # the baseline also plays 0: outside, the conditional policy is no better than it
    assert outside["normalized_degradation"].tolist() == pytest.approx([1.0, 1.0], rel=1e-6)
    assert inside.loc[[-0.4, 0.4], "normalized_degradation"].tolist() == pytest.approx([0, 0])
    assert math.isnan(inside.loc[0.0, "normalized_degradation"])  # the baseline is perfect there
    assert table["ratio"].isna().all()  # the specialist's return is never positive
    assert (table["specialist_steps"] == 0).all()
    summary = report.summary()
    assert summary["interpolation_points"] == 3 and summary["extrapolation_points"] == 2
    assert summary["interpolation_mean_degradation"] == pytest.approx(0.0, abs=1e-9)
    assert summary["extrapolation_mean_degradation"] == pytest.approx(3.2, rel=1e-6)
    assert summary["extrapolation_mean_normalized_degradation"] == pytest.approx(1.0, rel=1e-6)
    assert summary["worst_point"]["target"] in (-0.8, 0.8)
    assert summary["worst_point"]["region"] == "extrapolation"
    json.dumps(summary, allow_nan=False)  # NaN is written as null


def test_the_ratio_and_the_normalised_gap_keep_their_sign():
    episodes = np.ones(4)
    earns = _compare(mine=8 * episodes, theirs=10 * episodes, floor=2 * episodes)
    assert earns["ratio"] == pytest.approx(0.8)
    assert earns["normalized_degradation"] == pytest.approx(0.25)
    costs = _compare(mine=-12 * episodes, theirs=-10 * episodes, floor=-18 * episodes)
    assert math.isnan(costs["ratio"])
    assert costs["degradation"] == pytest.approx(2.0)
    assert costs["normalized_degradation"] == pytest.approx(0.25)
    beaten = _compare(mine=-12 * episodes, theirs=-10 * episodes, floor=-5 * episodes)
    assert math.isnan(beaten["normalized_degradation"])


def test_a_second_parameter_is_varied_over_its_full_range(tmp_path):
    keys = [(t, n) for t in (-0.8, 0.0, 0.8) for n in (0.0, 0.5, 1.0)]
    report = generalization(
        Toy2,
        Guesser,
        trained_inside_only,
        train_range={"target": INSIDE},
        vary=("noise",),
        points=3,
        specialists={k: perfect for k in keys},
        episodes=2,
        progress=False,
    )
    table = report.table
    assert table[["target", "noise"]].to_numpy() == pytest.approx(np.array(keys))
    assert report.train_range == {"target": INSIDE, "noise": (0.0, 1.0)}
    regions = table.groupby("target")["region"].unique()
    assert regions.map(list).tolist() == [["extrapolation"], ["interpolation"], ["extrapolation"]]
    report.write(tmp_path)
    assert (tmp_path / "generalization.png").stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "generalization.csv")) == 9


def test_specialists_are_trained_when_not_given_and_the_files_are_written(tmp_path):
    report = generalization(
        Toy,
        Guesser,
        [perfect, trained_inside_only],  # two followers share the episodes
        train_range={"target": INSIDE},
        points=2,
        specialist_steps=64,
        algo="A2C",
        algo_kwargs={"n_steps": 4},
        n_copies=2,
        episodes=2,
        progress=False,
    )
    assert report.table["specialist_steps"].tolist() == [64, 64]
    assert report.table["region"].tolist() == ["extrapolation"] * 2
    report.write(tmp_path)
    for name in ("generalization.csv", "generalization.json", "generalization.png"):
        assert (tmp_path / name).stat().st_size > 0
    summary = json.loads((tmp_path / "generalization.json").read_text())
    assert summary["specialist_steps_total"] == 128
    assert summary["interpolation_mean_degradation"] is None  # no grid point inside
    columns = pd.read_csv(tmp_path / "generalization.csv").columns
    assert {"target", "region", "conditional", "conditional_se", "degradation"} <= set(columns)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train_range": {"speed": (0, 1)}}, r"train_range names 'speed', which is not a param"),
        ({"train_range": {"target": (0.5, 0.9)}}, r"target=\(0.5, 0.9\) must satisfy -0.8 <="),
        ({"train_range": {"target": (0.4, 0.4)}}, r"must satisfy -0.8 <= low < high <= 0.8"),
        ({"train_range": {}}, r"train_range is empty; name at least one of \['target'\]"),
        ({"vary": ("speed",)}, r"vary names 'speed', which is not a parameter"),
        ({"points": 1}, r"points=1 must be an integer >= 2"),
        ({"episodes": 0}, r"episodes=0 must be an integer >= 1"),
        ({"specialist_steps": 0}, r"specialist_steps=0 must be a positive integer"),
        ({"specialist_steps": -5}, r"specialist_steps=-5 must be a positive integer"),
        ({"specialists": {0.0: perfect}}, r"no policy for 2 grid point\(s\): \(-0.8,\), \(0.8"),
    ],
)
def test_bad_input_is_a_clear_error(changes, message):
    kwargs = {"train_range": {"target": INSIDE}, "points": 3, "progress": False, **changes}
    with pytest.raises(ValueError, match=message):
        generalization(Toy, Guesser, perfect, **kwargs)
