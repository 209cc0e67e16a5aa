"""A study shared through a real PostgreSQL (tests/conftest.py starts a throwaway server): runs
opening a fresh database at once, a run killed and resumed while another writes, and each
run's trials known by the run id they carry."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import optuna
import pandas as pd
import pytest

from mesa_adage import Characteristics, Param
from mesa_adage.outer.leaders import make_leader
from mesa_adage.outer.leaders.optuna_leader import ABANDONED, RUN
from mesa_adage.run.checkpoint import read_checkpoint
from tests.conftest import free_port
from tests.test_scheduler import TINY, experiment

ROOT = Path(__file__).resolve().parent.parent
SPACE = Characteristics(Param("a", 0.0, 1.0), Param("b", -1.0, 1.0))
RUNNING, FAIL = optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL


@pytest.fixture
def database(postgres, request) -> str:
    """A fresh, empty database on the session's server, named after the test."""
    return postgres.fresh_database(request.node.name)


def drive(leader, rounds, n=3):
    for _ in range(rounds):
        thetas = leader.ask(n)
        leader.tell(thetas, [-abs(t["a"] - 0.3) - abs(t["b"]) for t in thetas])
    return leader


def mine(trials, leader_or_id):
    run_id = getattr(leader_or_id, "run_id", leader_or_id)
    return [t for t in trials if t.user_attrs.get(RUN) == run_id]


# ---------------------------------------------------------------------- leaders in this process


def test_leaders_opening_a_fresh_database_at_once_all_get_one_study(database):
    start, opened = threading.Barrier(6), []

    def open_study():
        start.wait()  # all at once: each races to create Optuna's tables, then the study
        try:
            opened.append(make_leader("tpe", SPACE, storage=database, study_name="s").study)
        except Exception as err:
            opened.append(err)

    threads = [threading.Thread(target=open_study) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [type(s) for s in opened] == [optuna.Study] * 6, opened
    assert optuna.get_all_study_names(database) == ["s"]


def test_resumed_leaders_take_back_their_own_trials_and_keep_sharing(database):
    shared = {"storage": database, "study_name": "s"}

    def resume(state, seed):
        leader = make_leader("tpe", SPACE, seed=seed, **shared)
        leader.load_state_dict(json.loads(json.dumps(state)))
        assert leader.run_id == state["run_id"] and leader.study.study_name == "s"
        return leader

    first = drive(make_leader("tpe", SPACE, seed=1, **shared), 2)
    other = drive(make_leader("tpe", SPACE, seed=2, **shared), 1)
    state = first.state_dict()  # its checkpoint after 2 rounds
    lost = first.ask(3)  # the next attempt tells the study that round, asks, and is killed
    drive(other, 2)  # meanwhile the study runs past the checkpoint with another run's trials
    # killed after its checkpoint, before its next ask: its last round is not in the study yet
    other_state = other.state_dict()
    first, other = resume(state, 1), resume(other_state, 2)
    drive(first, 1)
    drive(other, 1)
    first.finalists(1)  # the end of both runs: the study gets their last values
    other.finalists(1)

    assert optuna.get_all_study_names(database) == ["s"]  # never forked
    trials = optuna.load_study(study_name="s", storage=database).trials
    assert not [t.number for t in trials if t.state == RUNNING]
    abandoned = [t for t in mine(trials, first) if ABANDONED in t.user_attrs]
    assert [t.params for t in abandoned] == lost and {t.state for t in abandoned} == {FAIL}
    kept = [(t.params, t.value) for t in mine(trials, first) if t not in abandoned]
    assert kept == first.history and len(kept) == 9
    assert [(t.params, t.value) for t in mine(trials, other)] == other.history
    assert len(other.history) == 12 and len(trials) == 9 + 3 + 12


def test_an_unreachable_database_is_a_connection_error_without_its_password():
    port = free_port()  # nobody listens there
    url = f"postgresql://adage:s3cret@127.0.0.1:{port}/adage"
    with pytest.raises(ValueError, match="cannot connect to the database") as caught:
        make_leader("tpe", SPACE, storage=url)
    message = str(caught.value)
    assert message.startswith(f"--storage 'postgresql://adage:***@127.0.0.1:{port}/adage': ")
    assert f"check that the database server runs at 127.0.0.1:{port}" in message
    assert "database 'adage' exists" in message and "s3cret" not in message
    with pytest.raises(ValueError, match=r"'nosuchdb://u:\*\*\*@h/x': Optuna cannot open it"):
        make_leader("tpe", SPACE, storage="nosuchdb://u:s3cret@h/x")


@pytest.mark.skipif(bool(importlib.util.find_spec("psycopg2")), reason="psycopg2 is installed")
def test_a_missing_driver_names_the_extra_to_install():
    with pytest.raises(
        ValueError, match=r"driver is not installed .*pip install -e '.\[postgres\]'"
    ):
        make_leader("tpe", SPACE, storage="postgresql+psycopg2://adage:s3cret@127.0.0.1/adage")


# ---------------------------------------------------------------------- real runs, real kills

SPEC = "tests.test_shared_study:toy_calibration"


def toy_calibration():
    """The scheduler tests' toy calibration (tpe, 3 epochs of 3 candidates), seconds a run."""
    timescales = replace(TINY, warmup_steps=600, follower_steps=200, candidates=3)
    return experiment(epochs=3, timescales=timescales, n_copies=2)


def adage(*args: str, kill: str | None = None) -> subprocess.Popen:
    """``adage ARGS`` started in a new process; with ``kill``, killed at that point."""
    launch = ["-m", "mesa_adage.cli"] if kill is None else ["-m", "tests.faults", kill]
    return subprocess.Popen(
        [sys.executable, *launch, *args, "--quiet"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ended(process: subprocess.Popen) -> int:
    _, err = process.communicate(timeout=600)
    assert process.returncode in (0, -signal.SIGKILL), err[-3000:]
    return process.returncode


def run_id(run: Path) -> str:
    """The run id in the run folder's last checkpoint."""
    files = read_checkpoint(run / "checkpoint").files
    return json.loads(files["state.json"])["leader"]["run_id"]


def study_of(database: str) -> list[optuna.trial.FrozenTrial]:
    """The trials of the database's one study; no fork (``toy-r<N>``) was made beside it."""
    assert optuna.get_all_study_names(database) == ["toy"]
    trials = optuna.load_study(study_name="toy", storage=database).trials
    assert not [t.number for t in trials if t.state == RUNNING]
    return trials


def assert_told_by_identity(trials, run: Path) -> None:
    """The run's trials, found by its id, are its candidates.csv rows, value for value."""
    told = [t for t in mine(trials, run_id(run)) if ABANDONED not in t.user_attrs]
    rows = pd.read_csv(run / "candidates.csv")
    assert [t.params["target"] for t in told] == list(rows["target"])
    assert [t.value for t in told] == list(rows["objective"])


@pytest.mark.slow
def test_two_runs_started_at_once_on_a_fresh_database_share_its_study(database, tmp_path):
    runs = [tmp_path / "one", tmp_path / "two"]
    started = [
        adage("run", SPEC, "--storage", database, "--seed", str(i), "--out", str(run))
        for i, run in enumerate(runs)
    ]
    assert [ended(process) for process in started] == [0, 0]
    trials = study_of(database)
    assert len(trials) == 2 * 9
    for run in runs:
        assert_told_by_identity(trials, run)


@pytest.mark.slow
def test_a_run_killed_and_resumed_while_another_writes_keeps_sharing(database, tmp_path):
    cut, writer = tmp_path / "cut", tmp_path / "writer"
    # The writer runs 6 epochs, so it is still telling the study while the cut run resumes.
    writing = adage("run", SPEC, "--storage", database, "--epochs", "6", "--out", str(writer))
    args = ["run", SPEC, "--storage", database, "--seed", "1", "--out", str(cut)]
    killed = adage(*args, kill="evaluated:1")  # epoch 1 scored, the leader not yet told
    assert ended(killed) == -signal.SIGKILL
    assert writing.poll() is None, "the writer ended before the resume; nothing wrote meanwhile"
    resumed = adage(*args, "--resume")
    assert ended(resumed) == 0 and ended(writing) == 0

    trials = study_of(database)
    abandoned = [t for t in mine(trials, run_id(cut)) if ABANDONED in t.user_attrs]
    assert len(abandoned) == 3 and {t.state for t in abandoned} == {FAIL}
    assert_told_by_identity(trials, cut)
    assert_told_by_identity(trials, writer)
    assert len(trials) == 9 + 3 + 18
