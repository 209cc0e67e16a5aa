import json
import re
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from mesa_adage import Characteristics, Param
from mesa_adage.analysis.table import result_table
from mesa_adage.cli import main
from tests.test_scheduler import experiment as toy_experiment
from tests.toy import Guesser, Toy

SPEC = "tests.specs:tiny_calibration"


def run_cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_through_the_installed_entry_point():
    out = subprocess.run(["adage", "run", "--help"], capture_output=True, text=True, check=True)
    flags = ("--epochs", "--seed", "--out", "--leader", "--resume", "--target-theta", "--data")
    for flag in (*flags, "--followers", "--executor", "--address", "--workers", "--storage"):
        assert flag in out.stdout
    assert (
        subprocess.run(
            [sys.executable, "-m", "mesa_adage.cli", "--help"], capture_output=True
        ).returncode
        == 0
    )


@pytest.mark.slow
def test_tiny_calibration_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(
        capsys,
        "run",
        SPEC,
        "--target-theta",
        "lam=0.4,inertia=0.5",
        "--out",
        str(out),
        "--seed",
        "1",
        "--quiet",
    )
    assert code == 0
    assert "lam" in stdout and "inertia" in stdout and "recovered" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target_theta"] == {"lam": 0.4, "inertia": 0.5}
    assert set(summary["theta"]) == {"lam", "inertia"}
    assert isinstance(summary["objective"], float)
    assert (out / "fit.png").exists() and (out / "theta.png").exists()

    code, _, err = run_cli(
        capsys,
        "run",
        SPEC,
        "--target-theta",
        "lam=0.4,inertia=0.5",
        "--out",
        str(out),
        "--seed",
        "1",
        "--quiet",
    )
    assert code == 2 and "--resume" in err
    code, _, _ = run_cli(
        capsys,
        "run",
        SPEC,
        "--target-theta",
        "lam=0.4,inertia=0.5",
        "--out",
        str(out),
        "--seed",
        "1",
        "--quiet",
        "--resume",
    )
    assert code == 0
    assert json.loads((out / "summary.json").read_text())["theta"] == summary["theta"]


@pytest.mark.slow
def test_followers_override_trains_a_population(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, _ = run_cli(capsys, "run", SPEC, "--followers", "2", "--out", str(out), "--quiet")
    assert code == 0
    assert (out / "policy.zip").exists() and (out / "policy-1.zip").exists()
    assert json.loads((out / "config.json").read_text())["timescales"]["followers"] == 2


def test_calibration_from_a_csv(tmp_path, capsys):
    data = tmp_path / "prices.csv"
    data.write_text(
        "episode,price\n"
        + "".join(f"{e},{5.5 + 0.1 * (t % 3)}\n" for e in range(3) for t in range(50))
    )
    run = tmp_path / "run"
    code, stdout, _ = run_cli(
        capsys, "run", SPEC, "--data", str(data), "--out", str(run), "--quiet"
    )
    assert code == 0
    # The run calibrates to the file: it keeps it, and the model's episodes are as long as its.
    pd.testing.assert_frame_equal(pd.read_csv(run / "observed.csv"), pd.read_csv(data))
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["kwargs"] == {"horizon": 50}
    assert config["data"]["rows"] == 150 and config["target_theta"] is None
    # What it prints is the answer it wrote: no true theta, the recovered one, its objective.
    summary = json.loads((run / "summary.json").read_text())
    assert "target_theta" not in summary
    for name, value in summary["theta"].items():
        assert re.search(rf"^{name}\s+-\s+{value:.4g}\s+-\s", stdout, re.MULTILINE), stdout
    # The uncertainty report follows the table: the interval, the fit, and a warning for doubts.
    low, high = summary["uncertainty"]["intervals"]["lam"]
    assert f"[{low:.4g}, {high:.4g}]" in stdout
    assert f"fit: {summary['uncertainty']['fit']['verdict']}" in stdout
    assert f"objective {summary['objective']:.4g}; run folder {run}" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-theta", "lam=0.4"], "missing parameters ['inertia']"),
        (["--target-theta", "lam=5,inertia=0.1"], "'lam'=5.0 is outside its bounds [0.1, 1]"),
        (["--target-theta", "lam:0.4"], "bad theta fragment 'lam:0.4'"),
        (["--target-theta", "speed=1,inertia=0.1"], "unknown parameter 'speed'"),
        (
            ["--leader", "bayes"],
            "--leader 'bayes' is unknown; allowed are ['cmaes', 'distribution'",
        ),
        (["--data", "missing.csv"], "'missing.csv' does not exist"),
        (["--epochs", "0"], "argument --epochs: expected an integer >= 1, got '0'"),
        (["--followers", "0"], "argument --followers: expected an integer >= 1, got '0'"),
        (["--followers", "3"], "eval_rollouts=2 must be at least followers=3"),
    ],
)
def test_bad_input_is_a_clear_error(capsys, tmp_path, args, message):
    code, _, err = run_cli(capsys, "run", SPEC, "--out", str(tmp_path / "r"), "--quiet", *args)
    assert code == 2
    assert message in err


def test_ray_without_ray_names_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    code, _, err = run_cli(capsys, "run", SPEC, "--executor", "ray", "--quiet")
    assert code == 2 and "pip install -e '.[ray]'" in err


def test_resume_refuses_a_changed_data_file(capsys, tmp_path):
    data = tmp_path / "prices.csv"
    data.write_text("price\n" + "\n".join(str(5 + 0.1 * i) for i in range(8)) + "\n")
    args = ["run", SPEC, "--data", str(data), "--quiet", "--out", str(tmp_path / "r")]
    assert run_cli(capsys, *args, "--epochs", "1")[0] == 0
    data.write_text("price\n" + "\n".join(str(6 + 0.1 * i) for i in range(8)) + "\n")
    code, _, err = run_cli(capsys, *args, "--resume")
    assert code == 2 and "settings differ from the saved run in ['data']" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("episode,volume\n0,1\n0,2\n0,3\n", "has no 'price' column"),
        ("price\n5.1\nabc\n5.3\n", "'price' at row 3 is 'abc', not a finite number"),
        ("price\n5.1\n", "has 1 row; every episode needs at least 3 steps"),
        ("", "not a readable CSV"),
    ],
)
def test_corrupt_csv_is_a_clear_error(capsys, tmp_path, content, message):
    data = tmp_path / "bad.csv"
    data.write_text(content)
    code, _, err = run_cli(
        capsys, "run", SPEC, "--data", str(data), "--quiet", "--out", str(tmp_path / "r")
    )
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mesa_adage.examples.models.cobweb", "not a task name (calibration, policy-design,"),
        (":calibration", "must look like 'package.module:name'"),
        ("nowhere.at_all:calibration", "cannot import 'nowhere.at_all'"),
        ("models.cobweb:calibration", "import mesa_adage.examples.models, not 'models'"),
        ("mesa_adage.examples.models.cobweb:nothing", "has no attribute 'nothing'"),
        ("mesa_adage.examples.models.cobweb:COBWEB_THETA", "neither an Experiment nor a function"),
    ],
)
def test_bad_spec_is_a_clear_error(capsys, spec, message):
    code, _, err = run_cli(capsys, "run", spec, "--quiet")
    assert code == 2 and message in err


def test_the_table_prints_weights_as_they_are():
    # The distribution leader answers with weights over a grid, not with a theta.
    space = Characteristics(Param("omega", 0.0, 1.0))
    answer = {"w[omega=0]": 0.2, "w[omega=0.5]": 0.3, "w[omega=1]": 0.5}
    lines = result_table(space, answer, None).splitlines()
    assert lines[0].split() == ["answer", "value"]
    assert [line.split() for line in lines[1:]] == [[k, f"{v:.4g}"] for k, v in answer.items()]


def test_the_table_prints_a_theta_against_its_target():
    space = Characteristics(Param("lam", 0.0, 2.0), Param("inertia", 0.0, 1.0))
    table = result_table(space, {"lam": 0.5, "inertia": 0.25}, {"lam": 0.6, "inertia": 0.25})
    assert table.splitlines()[0].split() == ["parameter", "true", "recovered", "error"]
    assert table.splitlines()[1].split() == ["lam", "0.6", "0.5", "5.0%"]
    assert table.splitlines()[2].split() == ["inertia", "0.25", "0.25", "0.0%"]


class Clumsy(Guesser):
    """A user's agent whose own code has a bug that raises a ValueError."""

    def reward(self):
        raise ValueError("my own bug")


class ClumsyToy(Toy):
    def __init__(self, theta=None, **kwargs):
        super().__init__(theta, n=0, **kwargs)
        Clumsy.create_agents(self, 2)


def clumsy():
    """A spec whose agents' reward raises: a bug, not bad input."""
    return replace(toy_experiment(), name="clumsy", make_model=ClumsyToy, agent_type=Clumsy)


def test_a_bug_in_the_user_s_code_keeps_its_traceback(tmp_path):
    with pytest.raises(ValueError, match="my own bug") as caught:
        main(["run", "tests.test_cli:clumsy", "--out", str(tmp_path / "r"), "--quiet"])
    assert any("user code" in note for note in getattr(caught.value, "__notes__", []))
