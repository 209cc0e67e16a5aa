"""Executors: where independent tasks run (in this process, a local process pool, or Ray).

The scheduler sends independent tasks (training one follower policy, evaluating a batch of
candidates) through an :class:`Executor`. Every backend runs a task with single-threaded
numerics, so the same function on the same task gives bit-identical results on all of them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import socket
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from typing import Any, Self, TypeAlias, TypeVar

import cloudpickle
import torch
from threadpoolctl import threadpool_limits

EXECUTORS = ("serial", "process", "ray")
T = TypeVar("T")
R = TypeVar("R")
_Finished: TypeAlias = Generator[tuple[int, R], None, None]  # (task index, result) as they finish
_CONNECT_TIMEOUT = 5.0  # seconds; ray.init itself retries an unreachable head for far longer


def _call(fn: Callable[[T], R], task: T) -> R:
    """Calls ``fn(task)`` with torch and the BLAS/OpenMP pools limited to one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            return fn(task)
    finally:
        torch.set_num_threads(threads)


def _run(payload: bytes) -> Any:
    """Runs a cloudpickled ``(fn, task)``: cloudpickle ships lambdas, closures and partials."""
    fn, task = cloudpickle.loads(payload)
    return _call(fn, task)


def _run_ray(payload: bytes) -> bytes:
    # Bytes both ways: Ray's own transport hands numpy arrays over as read-only views.
    return pickle.dumps(_run(payload), protocol=pickle.HIGHEST_PROTOCOL)


class Executor(ABC):
    """Runs independent tasks: ``fn(task)`` for each task, results in task order."""

    name: str
    workers: int  # how many tasks can run at once
    in_process: bool = False  # tasks run in this process, so they may share live objects

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        *,
        on_result: Callable[[int, R], None] | None = None,
    ) -> list[R]:
        """Runs ``fn`` on every task and returns the results in task order.

        Args:
            fn: The function to run; on other processes it travels by cloudpickle.
            tasks: The tasks, one call each.
            on_result: Called here as ``on_result(index, result)`` as each task finishes, in
                any order (e.g. to advance a progress bar).

        Raises:
            Exception: The first exception raised by a task, of its original type.
        """
        results: list[Any] = [None] * len(tasks)
        # closing: when a task or on_result raises, the backend cancels the tasks not yet run.
        with closing(self._as_completed(fn, tasks)) as finished:
            for i, result in finished:
                results[i] = result
                if on_result is not None:
                    on_result(i, result)
        return results

    @abstractmethod
    def _as_completed(self, fn: Callable[[T], R], tasks: Sequence[T]) -> _Finished[R]:
        """Yields ``(index, fn(tasks[index]))`` for each task as it finishes."""

    @abstractmethod
    def close(self) -> None:
        """Releases the workers."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """A plain loop in this process."""

    name = "serial"
    workers = 1
    in_process = True

    def _as_completed(self, fn: Callable[[T], R], tasks: Sequence[T]) -> _Finished[R]:
        for i, task in enumerate(tasks):
            yield i, _call(fn, task)

    def close(self) -> None:
        pass  # nothing to release


class ProcessExecutor(Executor):
    """A local pool of spawned processes, started on the first map and kept until close.

    Spawned workers re-import the main script, which therefore needs the usual
    ``if __name__ == "__main__":`` guard.
    """

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _as_completed(self, fn: Callable[[T], R], tasks: Sequence[T]) -> _Finished[R]:
        if self._pool is None:
            # Spawn, not fork: a forked child can deadlock on torch's thread pools. Spawned
            # children get this process's sys.path, so they import what it can.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        submit = self._pool.submit
        futures: dict[Future[R], int] = {
            submit(_run, cloudpickle.dumps((fn, task))): i for i, task in enumerate(tasks)
        }
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException as err:  # GeneratorExit too: map stopped early
            for future in futures:
                future.cancel()
            if isinstance(err, BrokenProcessPool):
                self.close()  # a broken pool takes no more tasks; the next map starts a new one
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _unreachable(address: str, err: object, hint: str = "") -> ValueError:
    return ValueError(
        f"--address {address!r} is unreachable ({err}); give the head node's host:port of a "
        f"running Ray cluster (ray start --head prints it){hint}"
    )


def _check_reachable(address: str) -> None:
    """Fails fast on a host:port nobody answers at, where ray.init would hang retrying."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--address {address!r} is not host:port, ray://host:port or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), _CONNECT_TIMEOUT).close()
    except OSError as err:
        raise _unreachable(address, err) from None


class RayExecutor(Executor):
    """Ray tasks, one CPU each: a local Ray started here, or a running cluster at ``address``.

    If Ray is already initialised in this process, that session is used and left running.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError(
                "executor 'ray' needs Ray, which is not installed; install the extra: "
                "pip install -e '.[ray]' (or pip install 'mesa-adage[ray]')"
            ) from None
        self._ray = ray
        if address is not None:
            _check_reachable(address)
        self._owns = not ray.is_initialized()
        if self._owns:
            options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
            if address is None:
                # Workers import by PYTHONPATH what this process imports by sys.path (the
                # repository root, the working directory); working_dir would upload the .venv.
                path = os.pathsep.join(os.path.abspath(p) for p in sys.path)
                options |= {
                    "num_cpus": workers or os.cpu_count(),
                    "include_dashboard": False,
                    "runtime_env": {"env_vars": {"PYTHONPATH": path}},
                }
            try:
                ray.init(address, **options)
            except ConnectionError as err:
                # Ray turns away a driver without the cluster's token the same way, after ~20 s.
                hint = (
                    "; a cluster with token authentication also needs RAY_AUTH_MODE=token and its "
                    "token (RAY_AUTH_TOKEN, or ~/.ray/auth_token) here"
                )
                raise _unreachable(str(address), err, hint) from None
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self._remote = ray.remote(num_cpus=1)(_run_ray)

    def _as_completed(self, fn: Callable[[T], R], tasks: Sequence[T]) -> _Finished[R]:
        ray = self._ray
        pending = [self._remote.remote(cloudpickle.dumps((fn, task))) for task in tasks]
        index = {ref: i for i, ref in enumerate(pending)}
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                # A task's exception re-raises as RayTaskError, an instance of the original type.
                yield index[done[0]], pickle.loads(ray.get(done[0]))
        except BaseException:  # GeneratorExit too: map stopped early
            for ref in pending:
                ray.cancel(ref)
            raise

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False


def make_executor(
    name: str = "serial", *, workers: int | None = None, address: str | None = None
) -> Executor:
    """Makes the executor called ``name``, one of :data:`EXECUTORS`.

    Args:
        name: ``"serial"``, ``"process"`` or ``"ray"``.
        workers: Tasks at once (default: all CPUs); ignored by serial and by a Ray cluster
            that is already running.
        address: A running Ray cluster's head (``host:port``, ``ray://host:port`` or
            ``auto``); only for ``"ray"``, which otherwise starts a local Ray.

    Raises:
        ValueError: For an unknown name, a bad ``workers``, an address with another executor,
            an unreachable address, or Ray not installed.
    """
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; allowed are {list(EXECUTORS)}")
    if address is not None and name != "ray":
        raise ValueError(f"--address applies only to --executor ray, not {name!r}")
    if workers is not None and (type(workers) is not int or workers < 1):
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    if name == "serial":
        return SerialExecutor()
    if name == "process":
        return ProcessExecutor(workers)
    return RayExecutor(workers, address)
