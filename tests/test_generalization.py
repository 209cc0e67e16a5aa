"""The generalisation report: interpolation against extrapolation, on a toy with a known answer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mesa_adage import LeaderScheduler
from mesa_adage.cli import main
from mesa_adage.generalization import generalization
from tests.test_scheduler import experiment
from tests.toy import Guesser, Toy

INSIDE = (-0.4, 0.4)


def perfect(obs):
    """Plays the target exactly (theta_hat is target / 0.8 in [-1, 1])."""
    return (0.8 * obs[:, -1:]).astype(np.float32)


def trained_inside_only(obs):
    """Perfect inside the training range; outside it, falls back to 0."""
    target = 0.8 * obs[:, -1:]
    inside = (target >= INSIDE[0] - 1e-6) & (target <= INSIDE[1] + 1e-6)
    return np.where(inside, target, 0.0).astype(np.float32)


def test_the_gap_is_zero_inside_and_known_outside():
    grid = (-0.8, -0.4, 0.0, 0.4, 0.8)
    report = generalization(
        Toy,
        Guesser,
        trained_inside_only,
        train_range={"target": INSIDE},
        points=5,
        specialists={(t,): perfect for t in grid},
        episodes=3,
        progress=False,
    )
    table = report.table.set_index("target")
    assert table.index.tolist() == pytest.approx(list(grid))
    assert table["region"].tolist() == ["extrapolation"] + ["interpolation"] * 3 + ["extrapolation"]
    inside = table[table["region"] == "interpolation"]
    assert inside["gap"].abs().max() == pytest.approx(0.0, abs=1e-6)
    # outside, the fallback plays 0: each of Toy's 5 steps costs target^2, the specialist 0
    outside = table[table["region"] == "extrapolation"]
    assert outside["gap"].tolist() == pytest.approx([5 * 0.8**2] * 2, rel=1e-5)
    assert outside["specialist"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    summary = report.summary()
    assert summary["interpolation_mean_gap"] == pytest.approx(0.0, abs=1e-6)
    assert summary["extrapolation_mean_gap"] == pytest.approx(3.2, rel=1e-5)
    assert summary["worst_point"]["target"] in (-0.8, 0.8)


def test_specialists_are_trained_when_not_given_and_the_files_are_written(tmp_path):
    report = generalization(
        Toy,
        Guesser,
        [perfect, trained_inside_only],  # two followers share the episodes
        train_range={"target": INSIDE},
        points=2,
        specialist_steps=64,
        algo_kwargs={"n_steps": 16, "batch_size": 32},
        n_copies=2,
        episodes=2,
        progress=False,
    )
    assert report.specialist_steps == 64 and len(report.table) == 2
    report.write(tmp_path)
    for name in ("generalization.csv", "generalization.json", "generalization.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_bad_input_is_a_clear_error():
    cases = [
        ({"train_range": {"speed": (0, 1)}}, r"train_range names 'speed', which is not a param"),
        ({"train_range": {"target": (0.5, 0.9)}}, r"must satisfy -0.8 <= low < high <= 0.8"),
        ({"train_range": {"target": (0.4, 0.4)}}, r"must satisfy -0.8 <= low < high"),
        ({"points": 1}, r"points=1 must be an integer >= 2"),
        ({"specialist_steps": 0}, r"specialist_steps=0 must be a positive integer"),
        ({"specialists": {(0.0,): perfect}}, r"specialists has no policy for grid points"),
    ]
    for changes, message in cases:
        kwargs = {"train_range": {"target": INSIDE}, "points": 3, "progress": False, **changes}
        with pytest.raises(ValueError, match=message):
            generalization(Toy, Guesser, perfect, **kwargs)


def test_adage_eval_reports_on_a_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    LeaderScheduler(experiment(epochs=1), run, progress=False).run()
    args = ["eval", str(run), "--spec", "tests.test_scheduler:experiment"]
    flags = ["--points", "3", "--specialist-steps", "64", "--episodes", "2", "--quiet"]
    assert main([*args, "--train-range", "target=-0.4:0.4", *flags]) == 0
    summary = json.loads((run / "generalization.json").read_text())
    assert summary["train_range"] == {"target": [-0.4, 0.4]}
    assert "extrapolation" in capsys.readouterr().out
    assert main([*args, "--train-range", "target=0.4", *flags]) == 2
    assert "bad --train-range fragment 'target=0.4'" in capsys.readouterr().err
    assert main(["eval", str(tmp_path), "--spec", args[3], "--train-range", "target=0:0.4"]) == 2
    assert "is not a finished run folder" in capsys.readouterr().err
