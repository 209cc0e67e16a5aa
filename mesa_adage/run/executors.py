"""Executors: where independent tasks run (in this process, a local process pool, or Ray).

The scheduler sends independent tasks (training one follower policy, evaluating a batch of
candidates) through an :class:`Executor`. Every backend runs a task with single-threaded
numerics, so the same function on the same task gives bit-identical results on all of them.

A task reaches the run folder with :func:`on_driver`: directly on this machine, and from a Ray
worker, which may run on another machine, through the driver (the process that called
``map``), so a Ray cluster needs no shared file system.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from contextvars import ContextVar
from typing import Any, Self, TypeAlias, TypeVar

import cloudpickle
import torch
from threadpoolctl import threadpool_limits

EXECUTORS = ("serial", "process", "ray")
"""The backends. :func:`make_executor` also takes ``"auto"``: a process pool when this process
may use more than one CPU, else serial."""
T = TypeVar("T")
R = TypeVar("R")
_Finished: TypeAlias = Generator[tuple[int, R], None, None]  # (task index, result) as they finish
# Set while a Ray worker runs a task: sends a pickled call to the driver, returns its reply.
_DRIVER: ContextVar[Callable[[bytes], bytes] | None] = ContextVar("adage_driver", default=None)


def _call(fn: Callable[[T], R], task: T) -> R:
    """Calls ``fn(task)`` with torch and the BLAS/OpenMP pools limited to one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            return fn(task)
    finally:
        torch.set_num_threads(threads)


def _exit_with(parent: int) -> None:
    """A pool worker's initializer: the worker exits when ``parent`` does.

    A parent killed outright (SIGKILL, the OOM killer) cannot stop its pool, and its workers
    would wait for tasks forever. A daemon thread polls for the parent instead.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="adage-parent-watch", daemon=True).start()


def _run(payload: bytes) -> Any:
    """Runs a cloudpickled ``(fn, task)``: cloudpickle ships lambdas, closures and partials."""
    fn, task = cloudpickle.loads(payload)
    return _call(fn, task)


def on_driver(fn: Callable[..., R], *args: Any) -> R:
    """Calls ``fn(*args)`` on the driver's machine, where the run folder is.

    Serial and process-pool tasks run on that machine, so the call is direct. A Ray task, which
    may run on another machine, sends the call (by cloudpickle) to the driver, the process
    that called ``map``; the driver makes it while it waits for the tasks, and the task waits
    for the result.

    Raises:
        Exception: What ``fn`` raised, of its original type.
    """
    send = _DRIVER.get()
    if send is None:
        return fn(*args)
    ok, value = pickle.loads(send(cloudpickle.dumps((fn, args))))
    if not ok:
        raise value
    return value


class Executor(ABC):
    """Runs independent tasks: ``fn(task)`` for each task, results in task order."""

    name: str
    workers: int  # how many tasks can run at once
    in_process: bool = False  # tasks run in this process, so they may share live objects
    shares_files: bool = False  # tasks reach this process's files (by on_driver): snapshots work

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
    shares_files = True

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
    shares_files = True  # the workers run on this machine

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or usable_cpus()
        self._pool: ProcessPoolExecutor | None = None

    def _as_completed(self, fn: Callable[[T], R], tasks: Sequence[T]) -> _Finished[R]:
        if self._pool is None:
            # Spawn, not fork: a forked child can deadlock on torch's thread pools. Spawned
            # children get this process's sys.path, so they import what it can.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)
            )
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


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity where the OS reports one."""
    if hasattr(os, "sched_getaffinity"):  # Linux; a container's or taskset's limit
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def make_executor(
    name: str = "serial", *, workers: int | None = None, address: str | None = None
) -> Executor:
    """Makes the executor called ``name``, one of :data:`EXECUTORS` or ``"auto"``.

    Args:
        name: ``"serial"``, ``"process"``, ``"ray"``, or ``"auto"``: ``"process"`` when
            ``workers`` (default: the CPUs this process may use) is more than one, else
            ``"serial"``. Every executor gives the same results.
        workers: Tasks at once (default: all usable CPUs): the processes of a pool, the CPUs of a
            local Ray, or a cap on a running Ray cluster (default: its CPUs); ignored by serial.
        address: A running Ray cluster's head (``host:port``, ``ray://host:port`` or
            ``auto``); only for ``"ray"``, which otherwise joins the cluster ``ray.init()``
            would join (``RAY_ADDRESS``, or the last ``ray start`` on this machine) or, if
            there is none, starts a local Ray (:class:`~mesa_adage.run.ray_executor.RayExecutor`).

    Raises:
        ValueError: For an unknown name, a bad ``workers``, an address with another executor,
            an unreachable address (or recorded cluster), or Ray not installed.
    """
    if name not in ("auto", *EXECUTORS):
        raise ValueError(f"unknown executor {name!r}; allowed are {['auto', *EXECUTORS]}")
    if address is not None and name != "ray":
        raise ValueError(f"--address applies only to --executor ray, not {name!r}")
    if workers is not None and (type(workers) is not int or workers < 1):
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    if name == "auto":
        name = "process" if (workers or usable_cpus()) > 1 else "serial"
    if name == "serial":
        return SerialExecutor()
    if name == "process":
        return ProcessExecutor(workers)
    from mesa_adage.run.ray_executor import RayExecutor  # Ray is an optional extra

    return RayExecutor(workers, address)
