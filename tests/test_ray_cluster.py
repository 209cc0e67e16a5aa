"""A real two-node Ray cluster on this machine (``ray start``: a head and a worker node, one CPU
each): a run over ``--address`` equals the serial run to the last digit, a local Ray executor
made while the cluster runs joins it, and a Ray run killed after a snapshot resumes from that
snapshot, which the driver wrote and read back, to the serial run's numbers.

The drivers run in fresh processes, with the cluster's temp dir (where ``ray start`` records
it) and its own token, so nothing depends on Ray's state in this process or in ``~/.ray``.
Each node starts in a session of its own, and the fixture stops the cluster by killing exactly
those process groups, even when a test fails: ``ray stop`` would stop every Ray on the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest

from mesa_adage import Experiment
from mesa_adage.cli import main
from tests.specs import crash_calibration

pytestmark = pytest.mark.slow  # a cluster takes about 20 s to start
ROOT = Path(__file__).resolve().parent.parent
SPEC = "tests.test_ray_cluster:calibration"
FLAGS = ("--seed", "3", "--epochs", "2", "--quiet", "--snapshot-seconds", "0")
NODE = ("--num-cpus=1", "--object-store-memory=100000000", "--disable-usage-stats")


def calibration() -> Experiment:
    """``tests.specs:crash_calibration`` (two followers, which train one on each node, and a
    warm-up snapshotted at rollouts 2-4) without the closing uncertainty report: the driver
    computes it alone, whatever the executor, and it is most of a tiny run's time."""
    return replace(crash_calibration(), bootstrap=0)


@dataclass
class Cluster:
    """A running cluster: its head's address and the environment a driver needs to reach it."""

    address: str
    env: dict[str, str]

    def run(self, *args: str, script: str | None = None) -> subprocess.CompletedProcess:
        """``adage ARGS`` (or ``python -c SCRIPT ARGS``) as a driver in a new process."""
        launch = ["-c", script] if script else ["-m", "mesa_adage.cli"]
        command = [sys.executable, *launch, *args]
        return subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    pytest.importorskip("ray", reason="the ray executor needs the optional ray extra")
    # A short path: Ray's socket paths under it must fit in 107 bytes.
    root = Path(
        tempfile.mkdtemp(prefix="adage-ray-", dir="/tmp" if Path("/tmp").is_dir() else None)
    )
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env |= {
        "RAY_TMPDIR": str(root),  # the cluster's files and its record, found by ray.init()
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "PYTHONPATH": str(ROOT),  # the workers import tests.specs and models
    }
    port, groups = free_port(), []

    def start(*args: str) -> None:
        node = subprocess.Popen(
            [sys.executable, "-m", "ray.scripts.scripts", "start", *NODE, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its processes form the group with its pid
        )
        groups.append(node.pid)
        output, _ = node.communicate(timeout=300)
        assert node.returncode == 0, output[-3000:]

    try:
        start(
            "--head",
            f"--port={port}",
            f"--dashboard-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            "--include-dashboard=false",
        )
        start(
            f"--address=127.0.0.1:{port}",
            f"--dashboard-agent-listen-port={free_port()}",
        )
        yield Cluster(f"127.0.0.1:{port}", env)
    finally:
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The serial run every Ray run must equal."""
    run = tmp_path_factory.mktemp("serial") / "run"
    assert main(["run", SPEC, "--out", str(run), *FLAGS]) == 0
    return run


def results(run: Path) -> tuple[pd.DataFrame, str]:
    """history.csv without its wall-clock column, and candidates.csv as text."""
    history = pd.read_csv(run / "history.csv").drop(columns="seconds")
    return history, (run / "candidates.csv").read_text()


def assert_same(run: Path, reference: Path) -> None:
    history, candidates = results(run)
    expected_history, expected_candidates = results(reference)
    pd.testing.assert_frame_equal(history, expected_history, check_exact=True)
    assert candidates == expected_candidates


def test_a_run_on_the_cluster_equals_the_serial_run(cluster, serial, tmp_path):
    on_ray = ["--executor", "ray", "--address", cluster.address]
    ray_run = cluster.run("run", SPEC, "--out", str(tmp_path / "ray"), *FLAGS, *on_ray)
    assert ray_run.returncode == 0, ray_run.stderr[-3000:]
    assert_same(tmp_path / "ray", serial)


JOIN = """
import json, os, sys, tempfile
import ray
from mesa_adage.run.executors import make_executor, on_driver

seen = {"driver": os.getpid()}
with make_executor("ray") as executor:  # the cluster recorded in RAY_TMPDIR
    seen["workers"] = executor.workers
    seen["nodes"] = sum(node["Alive"] for node in ray.nodes())
    seen["callers"] = executor.map(lambda _: on_driver(os.getpid), [0, 1])
with make_executor("ray", workers=1) as capped:  # joined again: left running by the first
    seen["capped"] = [capped.workers, capped.map(lambda x: x * x, [1, 2, 3])]
os.environ["RAY_ADDRESS"] = sys.argv[1]
os.environ["RAY_TMPDIR"] = tempfile.mkdtemp()  # no record there: RAY_ADDRESS names it
with make_executor("ray") as named:
    seen["named"] = [ray.get_runtime_context().gcs_address, named.map(abs, [-4])]
print(json.dumps(seen))
"""


def test_a_local_ray_executor_joins_a_running_cluster_and_leaves_it_running(cluster):
    joined = cluster.run(cluster.address, script=JOIN)
    assert joined.returncode == 0, joined.stderr[-3000:]
    seen = json.loads(joined.stdout.strip().splitlines()[-1])
    assert (seen["workers"], seen["nodes"]) == (2, 2)  # the cluster's CPUs, not this machine's
    assert seen["callers"] == [seen["driver"]] * 2  # on_driver ran in the driver
    assert seen["capped"] == [1, [1, 4, 9]]
    port = cluster.address.rpartition(":")[2]
    assert seen["named"][1] == [4] and seen["named"][0].rpartition(":")[2] == port


# `python -c DRIVER kill|watch ARGS`: adage ARGS, killed right after the first snapshot it
# writes, or telling each snapshot it reads. The driver writes every snapshot, a Ray worker's
# too, and reads them back for the worker that resumes a phase.
DRIVER = """
import json, os, signal, sys
from mesa_adage import cli
from mesa_adage.run import snapshot

write, read = snapshot.write, snapshot.read


def write_then_die(path, data):
    write(path, data)
    os.kill(os.getpid(), signal.SIGKILL)


def read_and_tell(path):
    data = read(path)
    if data is not None:
        print("read", path.name, json.loads(data.partition(b"\\n")[0])["done"], flush=True)
    return data


snapshot.read = read_and_tell
if sys.argv[1] == "kill":
    snapshot.write = write_then_die
sys.exit(cli.main(sys.argv[2:]))
"""


def test_a_ray_run_killed_after_a_snapshot_resumes_from_it_to_the_serial_numbers(
    cluster, serial, tmp_path
):
    run = tmp_path / "cut"
    args = ["run", SPEC, "--out", str(run), *FLAGS]
    args += ["--executor", "ray", "--address", cluster.address]
    killed = cluster.run("kill", *args, script=DRIVER)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    # The kill came right after the first write: one snapshot, of a warm-up in progress.
    (snapshot,) = (run / "checkpoint" / "phase").glob("*.snapshot")
    with open(snapshot, "rb") as handle:
        done = json.loads(handle.readline())["done"]
    assert snapshot.name.startswith("epoch-0000-") and done > 0

    resumed = cluster.run("watch", *args, "--resume", script=DRIVER)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"read {snapshot.name} {done}" in resumed.stdout.splitlines()  # went on from it
    assert not snapshot.exists()  # dropped once the warm-up was committed
    assert_same(run, serial)
