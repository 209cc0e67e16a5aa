"""Crash safety: real kills at named points, resumed runs equal to uninterrupted ones, damaged
checkpoints refused with a clear error, Ctrl-C stopping with the command to resume."""

import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from mesa_adage.cli import main
from mesa_adage.run.checkpoint import read_checkpoint, read_warmup, write_checkpoint
from mesa_adage.run.record import RunRecord

SPEC = "tests.specs:crash_calibration"
ROOT = Path(__file__).resolve().parent.parent

# (point, count): each a real kill of a real `adage run` process, each resumed by the next
# process of the chain. Counts are per process. 2 followers train one after the other; a
# warm-up member has 4 rollouts of 16 steps, snapshotted at the start of rollouts 2-4.
KILLS = [
    ("warmup-step", 40),  # member 0, rollout 3: the snapshots of rollouts 2, 3 are on disk
    ("warmup-snapshot", 1),  # just after a snapshot was written
    ("warmup-step", 40),  # member 1, mid warm-up (member 0 is done but not committed)
    ("checkpoint-manifest", 1),  # the warm-up's files are written, the manifest is not
    ("checkpoint-commit", 1),  # the manifest is written, the older sets not yet removed
    ("train-step", 10),  # follower training of epoch 1
    ("evaluated", 1),  # leader evaluation of epoch 1: scored, the leader not yet told
    ("recorded", 1),  # epoch 1's rows are in history.csv, its checkpoint is not
    ("checkpoint-file", 3),  # epoch 1's checkpoint, between its third and fourth file
    ("evaluate", 1),  # leader evaluation of epoch 2 (Optuna's study forked before)
]


def adage(*args: str, kill: str | None = None) -> subprocess.CompletedProcess:
    """``adage ARGS`` in a new process; with ``kill``, killed at that point (tests/faults.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    launch = ["-m", "mesa_adage.cli"] if kill is None else ["-m", "tests.faults", kill]
    command = [sys.executable, *launch, *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=interactive_sigint,
    )


def interactive_sigint() -> None:
    """Ctrl-C as in a terminal: a shell starts background jobs with SIGINT ignored, and a
    Python started so never turns SIGINT into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def outcome(run: Path) -> tuple[pd.DataFrame, str, dict]:
    history = pd.read_csv(run / "history.csv").drop(columns="seconds")  # wall-clock time
    summary = json.loads((run / "summary.json").read_text())
    return history, (run / "candidates.csv").read_text(), {k: summary[k] for k in KEYS}


def snapshot_done(path: Path) -> int:
    """The agent-steps a snapshot holds, from its header line."""
    with open(path, "rb") as handle:
        return json.loads(handle.readline())["done"]


KEYS = ("theta", "objective", "epochs", "env_steps", "candidates_evaluated")


@pytest.mark.slow
def test_killed_at_every_point_the_resumed_run_equals_an_uninterrupted_one(tmp_path):
    flags = ["--seed", "3", "--quiet", "--snapshot-seconds", "0"]
    full = adage("run", SPEC, "--out", str(tmp_path / "full"), *flags)
    assert full.returncode == 0, full.stderr

    run, done = tmp_path / "cut", []
    args = ["run", SPEC, "--out", str(run), *flags]
    for i, (point, count) in enumerate(KILLS):
        killed = adage(*args, kill=f"{point}:{count}")
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
        if i <= 1:  # the warm-up is not lost: it goes on from its snapshot, not from the start
            done.append(snapshot_done(run / "checkpoint/phase/epoch-0000-member-0.snapshot"))
        args = ["run", SPEC, "--out", str(run), *flags, "--resume"]

    assert 0 < done[0] < done[1]  # a rollout later than the first process got
    # Ctrl-C: one line, the exact command that resumes, exit status 130, no traceback
    stopped = adage(*args, kill="report:1:INT")
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    line = stopped.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith(f"adage: interrupted; {run} keeps epoch 3; resume with: adage run ")
    command = shlex.split(line.partition("resume with: adage ")[2])
    assert command[command.index("--out") + 1] == str(run) and "--resume" in command

    finished = adage(*command)
    assert finished.returncode == 0, finished.stderr
    history, candidates, summary = outcome(tmp_path / "full")
    resumed = outcome(run)
    pd.testing.assert_frame_equal(history, resumed[0], check_exact=True)
    assert candidates == resumed[1] and summary == resumed[2]
    assert list(history["epoch"]) == [1, 2, 3]
    assert not list((run / "checkpoint").glob("epoch-000[0-2]"))  # older sets removed


@pytest.mark.slow
def test_ctrl_c_during_the_warm_up_names_the_command_that_resumes(tmp_path):
    run, data = tmp_path / "r", tmp_path / "prices.csv"
    data.write_text("price\n" + "\n".join(str(5 + 0.1 * i) for i in range(8)) + "\n")
    args = ["run", SPEC, "--data", str(data), "--quiet", "--out", str(run)]
    out = adage(*args, kill="warmup-step:5:INT")
    assert out.returncode == 130
    assert out.stderr == (
        f"adage: interrupted; {run} keeps no finished phase yet (the warm-up goes on from its "
        f"last snapshot); resume with: adage {shlex.join(args)} --resume\n"
    )


@pytest.mark.slow
def test_ctrl_c_on_the_process_pool_stops_every_process_and_resumes_to_the_serial_numbers(
    tmp_path,
):
    """Ctrl-C in a terminal reaches the whole process group: the run and its pool workers."""
    run, serial = tmp_path / "pool", tmp_path / "serial"
    args = ["run", SPEC, "--quiet", "--executor", "process", "--out", str(run)]
    command = [sys.executable, "-m", "mesa_adage.cli", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=interactive_sigint,
    ) as job:
        while not any((run / "checkpoint").glob("*")):  # the warm-up has started
            assert job.poll() is None, job.stderr.read()
            time.sleep(0.2)
        time.sleep(2)
        os.killpg(job.pid, signal.SIGINT)
        assert job.wait(timeout=60) == 130
        assert "adage: interrupted;" in job.stderr.read()
    deadline, left = time.monotonic() + 15, "?"
    while left and time.monotonic() < deadline:  # the workers and the resource tracker end
        time.sleep(0.2)
        left = subprocess.run(["pgrep", "-a", "-g", str(job.pid)], capture_output=True).stdout
    assert not left, f"processes of the interrupted run are still running: {left!r}"
    assert main([*args, "--resume"]) == 0
    assert main(["run", SPEC, "--quiet", "--executor", "serial", "--out", str(serial)]) == 0
    (history, candidates, summary), expected = outcome(run), outcome(serial)
    pd.testing.assert_frame_equal(history, expected[0], check_exact=True)
    assert candidates == expected[1] and summary == expected[2]


# ---------------------------------------------------------------------- damaged checkpoints


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished one-epoch run (in this process) to damage copies of."""
    run = tmp_path_factory.mktemp("finished") / "run"
    assert main(["run", SPEC, "--out", str(run), "--quiet", "--epochs", "1"]) == 0
    return run


def resume(run: Path, capsys) -> tuple[int, str]:
    code = main(["run", SPEC, "--out", str(run), "--quiet", "--epochs", "2", "--resume"])
    return code, capsys.readouterr().err


def copy_of(finished: Path, tmp_path: Path) -> tuple[Path, Path]:
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    return run, run / "checkpoint" / "epoch-0001"


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda d: (d / "policy.zip").write_bytes((d / "policy.zip").read_bytes()[:999]),
            r"epoch-0001/policy.zip does not match .*manifest.json \(size 999, .* truncated or "
            r"corrupt; the checkpoint is damaged .* restore the run folder from a backup, or "
            r"pass --restart",
        ),
        (
            lambda d: flip(d / "policy_average.pt", 200),
            r"epoch-0001/policy_average.pt does not match .* truncated or corrupt",
        ),
        (lambda d: (d / "state.json").unlink(), r"epoch-0001/state.json is missing"),
        (
            lambda d: (d.parent / "manifest.json").write_text('{"format": 9}'),
            r"has checkpoint format 9; this mesa-adage reads format 2, so the run was written "
            r"by a newer version",
        ),
        (
            lambda d: (d.parent / "manifest.json").write_text('{"format": 2, "epoch": 1}'),
            r"manifest.json lacks the key 'folder'",
        ),
        (
            lambda d: (d.parent / "manifest.json").write_text('{"format": 2, "ep'),
            r"manifest.json is not readable JSON",
        ),
    ],
)
def test_a_damaged_checkpoint_is_a_clear_error(finished, tmp_path, capsys, damage, message):
    run, folder = copy_of(finished, tmp_path)
    damage(folder)
    code, err = resume(run, capsys)
    assert code == 2
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_state_and_weights_are_checked_beyond_the_hashes(finished, tmp_path, capsys):
    run, folder = copy_of(finished, tmp_path)
    files = read_checkpoint(folder.parent).files
    state = json.loads(files["state.json"])
    del state["leader"]
    write_checkpoint(run / "checkpoint", 2, {**files, "state.json": json.dumps(state).encode()})
    code, err = resume(run, capsys)
    assert code == 2 and "epoch-0002/state.json lacks the key 'leader'" in err

    write_checkpoint(run / "checkpoint", 3, {**files, "policy_average.pt": b"not torch"})
    code, err = resume(run, capsys)
    assert code == 2 and "checkpoint file policy_average.pt is not readable torch weights" in err


def test_a_checkpoint_is_committed_whole_or_not_at_all(tmp_path):
    folder = tmp_path / "checkpoint"
    write_checkpoint(folder, 1, {"a": b"one", "b": b"two"})
    (folder / "epoch-0002").mkdir()  # a later set whose manifest never got written
    (folder / "epoch-0002" / "a").write_bytes(b"half")
    assert read_checkpoint(folder) == (1, folder / "epoch-0001", {"a": b"one", "b": b"two"})
    write_checkpoint(folder, 2, {"a": b"three"})
    assert read_checkpoint(folder) == (2, folder / "epoch-0002", {"a": b"three"})
    assert sorted(p.name for p in folder.iterdir()) == ["epoch-0002", "manifest.json"]
    with pytest.raises(RuntimeError, match="is committed; it cannot be rewritten"):
        write_checkpoint(folder, 2, {"a": b"four"})


def test_the_warm_up_is_kept_beside_the_last_epoch(tmp_path):
    folder = tmp_path / "checkpoint"
    write_checkpoint(folder, 0, {"a": b"warm", "state.json": b"{}"})
    write_checkpoint(folder, 1, {"a": b"one", "state.json": b"{}"})
    write_checkpoint(folder, 2, {"a": b"two", "state.json": b"{}"})
    assert sorted(p.name for p in folder.iterdir()) == ["epoch-0002", "manifest.json", "warmup"]
    assert read_checkpoint(folder) == (2, folder / "epoch-0002", {"a": b"two", "state.json": b"{}"})
    assert read_warmup(folder) == (0, folder / "warmup", {"a": b"warm", "state.json": b"{}"})


class Planted:
    """An object that runs code as it is unpickled: it makes a folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (str(self.path),)


def test_weights_holding_other_objects_are_refused_unrun(finished, tmp_path, capsys, monkeypatch):
    # torch < 2.6 (setup.cfg allows 2.3) unpickles everything by default; this is that default
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    run, folder = copy_of(finished, tmp_path)
    files = read_checkpoint(folder.parent).files
    weights = torch.load(io.BytesIO(files["policy_average.pt"]), weights_only=True)
    planted = io.BytesIO()
    torch.save({**weights, "extra": Planted(tmp_path / "ran")}, planted)
    write_checkpoint(run / "checkpoint", 2, {**files, "policy_average.pt": planted.getvalue()})
    code, err = resume(run, capsys)
    assert not (tmp_path / "ran").exists()
    assert code == 2
    assert "checkpoint file policy_average.pt is not readable torch weights" in err
    assert "mkdir" in err and "adage unpickles plain tensors only" in err


def test_a_checkpoint_of_the_older_format_still_resumes(finished, tmp_path, capsys):
    run, folder = copy_of(finished, tmp_path)
    for file in folder.iterdir():  # the format-1 layout: files side by side, no manifest
        file.rename(run / "checkpoint" / file.name)
    folder.rmdir()
    (run / "checkpoint" / "manifest.json").unlink()
    code, _ = resume(run, capsys)
    assert code == 0
    assert json.loads((run / "checkpoint" / "manifest.json").read_text())["epoch"] == 2
    assert not list((run / "checkpoint").glob("*.zip"))


# ---------------------------------------------------------------------- resume and fingerprints


def test_resume_needs_a_run_and_restart_discards_one(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    code = main(["run", SPEC, "--out", str(missing), "--quiet", "--resume"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--resume: the run folder {missing} does not exist (no config.json)" in err
    assert not missing.exists()
    tmp_path.joinpath("empty").mkdir()
    code = main(["run", SPEC, "--out", str(tmp_path / "empty"), "--quiet", "--restart"])
    assert code == 2 and "--restart: " in capsys.readouterr().err  # not a run: not deleted
    assert tmp_path.joinpath("empty").is_dir()


def test_restart_refuses_a_folder_it_cannot_prove_is_an_adage_run(finished, tmp_path, capsys):
    project = tmp_path / "project"  # someone's work that happens to hold a config.json
    project.mkdir()
    (project / "config.json").write_text('{"learning_rate": 0.1}')
    (project / "notes.txt").write_text("keep me")
    assert main(["run", SPEC, "--out", str(project), "--quiet", "--restart"]) == 2
    err = capsys.readouterr().err
    assert f"--restart: {project / 'config.json'} lacks ['experiment', " in err
    assert f"so {project} is not an adage run; --restart deletes adage runs only" in err
    assert (project / "notes.txt").read_text() == "keep me"

    copied = tmp_path / "copied"  # adage's config.json, no checkpoint, a file adage never writes
    copied.mkdir()
    shutil.copy(finished / "config.json", copied)
    (copied / "analysis.py").write_text("keep me")
    assert main(["run", SPEC, "--out", str(copied), "--quiet", "--restart"]) == 2
    err = capsys.readouterr().err
    assert f"--restart: {copied} has no checkpoint/manifest.json" in err
    assert "holds files adage does not write (['analysis.py'])" in err
    assert (copied / "analysis.py").read_text() == "keep me"


@pytest.mark.slow
def test_restart_deletes_a_run_proven_by_its_manifest_or_by_its_files(finished, tmp_path):
    run, _ = copy_of(finished, tmp_path)
    (run / "notes.txt").write_text("inside a run")  # the manifest proves the folder a run
    RunRecord.discard(run)
    assert not run.exists()

    run, _ = copy_of(finished, tmp_path)
    (run / "checkpoint" / "manifest.json").write_text('{"format": 2, "ep')  # damaged
    RunRecord.discard(run)  # every file is one adage writes
    assert not run.exists()

    stopped = tmp_path / "stopped"  # killed before its first checkpoint: no manifest yet
    args = ["run", SPEC, "--out", str(stopped), "--quiet", "--snapshot-seconds", "0"]
    assert adage(*args, kill="warmup-snapshot:1").returncode == -signal.SIGKILL
    assert not (stopped / "checkpoint" / "manifest.json").exists()
    assert list((stopped / "checkpoint" / "phase").glob("*.snapshot"))
    RunRecord.discard(stopped)
    assert not stopped.exists()


def test_resume_refuses_other_data_and_restart_starts_again(tmp_path, capsys):
    data = tmp_path / "prices.csv"
    data.write_text("price\n" + "\n".join(str(5 + 0.1 * i) for i in range(8)) + "\n")
    args = ["run", SPEC, "--data", str(data), "--quiet", "--out", str(tmp_path / "r")]
    args += ["--epochs", "1"]
    assert main(args) == 0
    capsys.readouterr()
    prints = json.loads((tmp_path / "r" / "fingerprint.json").read_text())
    assert set(prints) == {"settings", "observed.csv"}

    data.write_text("price\n" + "\n".join(str(6 + 0.1 * i) for i in range(8)) + "\n")
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "settings differ from the saved run in ['data'] (data.frame: " in err
    assert "resume with the --data the run began with, or pass --restart" in err

    assert main([*args, "--restart"]) == 0
    assert json.loads((tmp_path / "r" / "fingerprint.json").read_text()) != prints

    observed = tmp_path / "r" / "observed.csv"
    observed.write_text(observed.read_text().replace("6.1", "6.2"))
    assert main([*args, "--resume"]) == 2
    assert "observed.csv changed since the run wrote it" in capsys.readouterr().err


def test_an_optuna_study_forked_twice_from_one_checkpoint_starts_over(tmp_path):
    from mesa_adage import Characteristics, Param
    from mesa_adage.outer.leaders.optuna_leader import OptunaLeader

    space = Characteristics(Param("a", 0.0, 1.0), Param("b", 0.0, 1.0))
    (tmp_path / "checkpoint").mkdir()

    def leader():
        made = OptunaLeader(space, seed=0, sampler="tpe")
        made.bind(tmp_path, "x")
        return made

    first = leader()
    for _ in range(4):
        thetas = first.ask(3)
        first.tell(thetas, [t["a"] - t["b"] for t in thetas])
    state = json.loads(json.dumps(first.state_dict()))
    asked = []
    for _ in range(3):  # resumed from the same checkpoint, killed after a tell, three times
        again = leader()
        again.load_state_dict(state)
        assert len(again.study.get_trials()) == 12
        asked.append(again.ask(3))
        again.tell(asked[-1], [0.0] * 3)
    assert asked[0] == asked[1] == asked[2]
