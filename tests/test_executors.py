"""Executors: task order, bit-identical results, cloudpickle, sys.path, calls to the driver and
errors on every backend.

Real spawned processes and a real local Ray, each started once: one process pool for the module,
one Ray session for the TestBackends class (so the address tests outside it run without Ray).
A real cluster, which a local Ray executor joins, is in tests/test_ray_cluster.py.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mesa_adage.run import executors
from mesa_adage.run.executors import (
    EXECUTORS,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
    on_driver,
)
from tests._executor_tasks import fail_on, mlp_forward

EXTRA = "adage_executor_extra"  # a module found only through a sys.path entry added here


@dataclass
class Affine:
    a: float

    def __call__(self, x: float, b: float) -> float:
        return self.a * x + b


@pytest.fixture(scope="module")
def extra_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Neither the working directory (which Ray adds to its workers' path by itself) nor
    # installed: only sys.path, set before any worker starts, can lead a worker to it.
    folder = tmp_path_factory.mktemp("extra")
    (folder / f"{EXTRA}.py").write_text("def triple(x):\n    return 3 * x\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        yield
    sys.modules.pop(EXTRA, None)


@pytest.fixture(scope="module")
def process_executor(extra_path: None) -> Iterator[Executor]:
    with make_executor("process", workers=2) as executor:
        yield executor


@pytest.fixture(scope="class")
def ray_executor(extra_path: None) -> Iterator[Executor]:
    pytest.importorskip("ray", reason="executor 'ray' needs the optional ray extra")
    with make_executor("ray", workers=2) as executor:
        yield executor


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest, extra_path: None) -> Executor:
    if request.param == "serial":
        return SerialExecutor()
    return request.getfixturevalue(f"{request.param}_executor")


class TestBackends:
    def test_results_in_task_order_and_on_result_sees_each_index_once(self, executor):
        seen = []
        results = executor.map(
            functools.partial(Affine(2.0), b=1.0), range(10), on_result=lambda *r: seen.append(r)
        )
        assert results == [2.0 * x + 1.0 for x in range(10)]
        assert sorted(seen) == list(enumerate(results))

    def test_workers(self, executor):
        assert (executor.workers, executor.in_process, executor.shares_files) == {
            "serial": (1, True, True),
            "process": (2, False, True),
            "ray": (2, False, True),
        }[executor.name]
        assert executor.map(str, []) == []

    def test_tasks_reach_the_driver_s_files_and_a_ray_task_through_the_driver(
        self, executor, tmp_path
    ):
        def task(name: str) -> int:
            on_driver((tmp_path / name).write_text, name)
            return on_driver(os.getpid)

        callers = executor.map(task, ["a", "b"])
        assert [(tmp_path / n).read_text() for n in ("a", "b")] == ["a", "b"]
        # Process-pool tasks share this machine and call directly; Ray's send the call here.
        assert (callers == [os.getpid()] * 2) is (executor.name != "process")
        with pytest.raises(ValueError, match="task 3 is bad"):  # raised here, of its own type
            executor.map(lambda x: on_driver(fail_on, 3, x), [1, 3])
        assert executor.map(lambda x: on_driver(abs, x), [-2]) == [2]  # still usable

    def test_bit_identical_to_serial(self, executor):
        seeds = [0, 1, 2, 3]
        expected = SerialExecutor().map(mlp_forward, seeds)
        results = executor.map(mlp_forward, seeds)
        assert not np.array_equal(expected[0]["y"], expected[1]["y"])
        for got, want in zip(results, expected, strict=True):
            for key in want:
                np.testing.assert_array_equal(got[key], want[key], strict=True)
                assert got[key].flags.writeable  # Ray's own transport would make it read-only

    def test_lambdas_closures_and_partials(self, executor):
        k = 3
        assert executor.map(lambda x: x * k, [1, 2]) == [3, 6]
        assert executor.map(functools.partial(Affine(0.5), b=k), [2.0, 4.0]) == [4.0, 5.0]

    def test_workers_import_from_the_parents_sys_path(self, executor):
        extra = importlib.import_module(EXTRA)
        assert executor.map(extra.triple, [1, 2]) == [3, 6]
        assert executor.map(mlp_forward, [7])[0]["y"].shape == (256, 3)  # via the repo root

    def test_task_error_keeps_its_type_and_message(self, executor):
        with pytest.raises(ValueError, match="task 3 is bad"):
            executor.map(functools.partial(fail_on, 3), range(6))
        assert executor.map(functools.partial(fail_on, 3), [1, 2]) == [1, 2]  # still usable

    def test_an_error_in_on_result_stops_the_map(self, executor):
        def stop(i: int, result: int) -> None:
            raise KeyError(i)

        with pytest.raises(KeyError):
            executor.map(abs, range(-4, 4), on_result=stop)
        assert executor.map(abs, [-5]) == [5]

    def test_ray_reuses_a_running_session_and_leaves_it_running(self, ray_executor):
        import ray

        with make_executor("ray") as again:
            assert again.workers == 2
            assert again.map(abs, [-1]) == [1]
        assert ray.is_initialized()


def test_make_executor():
    assert isinstance(make_executor(), SerialExecutor)
    with make_executor("process", workers=3) as executor:
        assert isinstance(executor, ProcessExecutor)
        assert executor.workers == 3  # no pool yet: it starts on the first map


def test_auto_takes_a_process_pool_on_more_than_one_cpu(monkeypatch):
    monkeypatch.setattr(executors, "usable_cpus", lambda: 1)
    assert isinstance(make_executor("auto"), SerialExecutor)
    monkeypatch.setattr(executors, "usable_cpus", lambda: 4)
    with make_executor("auto") as executor:
        assert isinstance(executor, ProcessExecutor) and executor.workers == 4
    assert isinstance(make_executor("auto", workers=1), SerialExecutor)


def test_the_cli_defaults_to_auto_unless_adage_executor_says_otherwise(monkeypatch):
    from mesa_adage.cli import parser

    monkeypatch.delenv("ADAGE_EXECUTOR", raising=False)
    assert (
        parser().parse_args(["run", "mesa_adage.examples.models.cobweb:calibration"]).executor
        == "auto"
    )
    monkeypatch.setenv("ADAGE_EXECUTOR", "ray")
    assert (
        parser().parse_args(["run", "mesa_adage.examples.models.cobweb:calibration"]).executor
        == "ray"
    )


POOL_THEN_WAIT = """
import os, sys, time
from mesa_adage.run.executors import ProcessExecutor

if __name__ == "__main__":
    pool = ProcessExecutor(2)
    print(*set(pool.map(lambda _: os.getpid(), range(8))), flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\tZ" not in status.split("State:", 1)[1].split("\n", 1)[0]  # a zombie has exited


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_pool_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(POOL_THEN_WAIT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers and all(_alive(pid) for pid in workers)
    parent.kill()  # SIGKILL: the parent cannot shut its pool down
    parent.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers), "pool workers outlived their parent"


def test_make_executor_rejects_bad_input():
    message = "unknown executor 'threads'; allowed are ['auto', 'serial', 'process', 'ray']"
    with pytest.raises(ValueError, match=re.escape(message)):
        make_executor("threads")
    for workers in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=rf"workers .*{re.escape(repr(workers))}"):
            make_executor("process", workers=workers)
    for name in ("serial", "process"):
        with pytest.raises(ValueError, match="--address applies only to --executor ray"):
            make_executor(name, address="127.0.0.1:6379")


@pytest.mark.parametrize("address", ["127.0.0.1:1", "10.255.255.1:6379", "ray://127.0.0.1:1"])
def test_unreachable_address_fails_fast(address, monkeypatch):
    ray = pytest.importorskip("ray", reason="executor 'ray' needs the optional ray extra")
    # Where a proxy accepts any TCP connection, ray.init is what fails: one try, not 20 s of them.
    monkeypatch.setenv("RAY_gcs_server_port_wait_time_s", "1")
    with pytest.raises(ValueError, match=re.escape(f"--address {address!r} is unreachable")):
        make_executor("ray", address=address)
    assert not ray.is_initialized()


def test_a_recorded_cluster_that_is_gone_is_refused_naming_ray_stop(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="executor 'ray' needs the optional ray extra")
    # What `ray start` leaves when its cluster dies without `ray stop`: ray.init() would retry it.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:1")
    recorded = "the Ray cluster that `ray start` recorded here, '127.0.0.1:1' is unreachable"
    with pytest.raises(ValueError, match=re.escape(recorded)) as refused:
        make_executor("ray", workers=1)
    assert "stop that cluster with `ray stop`" in str(refused.value)
    assert not ray.is_initialized()


def test_an_unreachable_ray_address_variable_is_named(monkeypatch):
    ray = pytest.importorskip("ray", reason="executor 'ray' needs the optional ray extra")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    with pytest.raises(ValueError, match=re.escape("RAY_ADDRESS '127.0.0.1:1' is unreachable")):
        make_executor("ray")
    assert not ray.is_initialized()


def test_malformed_address():
    pytest.importorskip("ray", reason="executor 'ray' needs the optional ray extra")
    with pytest.raises(ValueError, match="'localhost' is not host:port"):
        make_executor("ray", address="localhost")


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ValueError, match=re.escape("pip install 'mesa-adage[ray]'")):
        make_executor("ray")
