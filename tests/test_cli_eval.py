"""``adage eval``: the generalisation report of a real (tiny) run folder, and its errors."""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
import pytest

from mesa_adage import LeaderScheduler
from mesa_adage.cli import main, parse_range
from tests.test_scheduler import experiment
from tests.toy import Toy

SPEC = "tests.test_scheduler:experiment"
FAST = ["--points", "3", "--specialist-steps", "64", "--episodes", "2", "--quiet"]


def other_toy():
    """The toy experiment with another model: not the one the run was made with."""
    return experiment(make_model=partial(Toy, n=5))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval") / "run"
    LeaderScheduler(experiment(epochs=1), folder, progress=False).run()
    return folder


def test_eval_writes_the_report_into_the_run_folder(run, capsys):
    args = ["eval", str(run), "--spec", SPEC, "--train-range", "target=-0.4:0.4", *FAST]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "extrapolation" in out and "interpolation" in out
    assert "the specialists 192 in all" in out  # 3 points x 64 steps
    summary = json.loads((run / "generalization.json").read_text())
    assert summary["train_range"] == {"target": [-0.4, 0.4]}
    assert summary["specialist_steps_each"] == 64 and summary["episodes"] == 2
    table = pd.read_csv(run / "generalization.csv")
    assert table["target"].tolist() == pytest.approx([-0.8, 0.0, 0.8])
    assert table["region"].tolist() == ["extrapolation", "interpolation", "extrapolation"]
    assert (run / "generalization.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--train-range", "target=0.4"], "bad --train-range fragment 'target=0.4'"),
        (["--train-range", "speed=0:0.4"], "train_range names 'speed', which is not a parameter"),
        (["--train-range", "target=0.5:0.9"], "must satisfy -0.8 <= low < high <= 0.8"),
        (
            ["--train-range", "target=0:0.4", "--points", "1"],
            "argument --points: expected an integer >= 2, got '1'",
        ),
        (
            ["--train-range", "target=0:0.4", "--specialist-steps", "0"],
            "argument --specialist-steps: expected an integer >= 1, got '0'",
        ),
    ],
)
def test_bad_flags_exit_with_status_2(run, capsys, flags, message):
    assert main(["eval", str(run), "--spec", SPEC, *flags]) == 2
    assert message in capsys.readouterr().err


def test_a_folder_that_is_not_a_run_is_refused(tmp_path, capsys):
    assert main(["eval", str(tmp_path), "--spec", SPEC, "--train-range", "target=0:0.4"]) == 2
    err = capsys.readouterr().err
    assert "holds no policy.zip" in err and "not the folder of a finished adage run" in err


def test_a_spec_for_another_model_is_refused(run, capsys):
    spec = "tests.test_cli_eval:other_toy"
    assert main(["eval", str(run), "--spec", spec, "--train-range", "target=0:0.4"]) == 2
    err = capsys.readouterr().err
    assert "does not describe the run" in err and "['model'] differ" in err
    assert '(model: "tests.toy.Toy" -> {"partial": "tests.toy.Toy"' in err  # saved -> given


def test_parse_range():
    assert parse_range("a=0:1, b=-1:0.5") == {"a": (0.0, 1.0), "b": (-1.0, 0.5)}
    with pytest.raises(ValueError, match="empty --train-range"):
        parse_range(" , ")
