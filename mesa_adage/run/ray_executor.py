"""The Ray executor: tasks on a running Ray cluster, or on a local Ray started here.

A task reaches the run folder through the driver (:func:`~mesa_adage.run.executors.on_driver`):
a small async actor, the mailbox, holds a task's call until the driver, waiting for results,
makes it. So a Ray cluster needs no shared file system for snapshots.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pickle
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

import cloudpickle

from mesa_adage.run.executors import _DRIVER, Executor, R, T, _Finished, _run

_CONNECT_TIMEOUT = 5.0  # seconds; ray.init itself retries an unreachable head for far longer


def _answer(call: bytes) -> bytes:
    """Makes a task's call here: ``(True, result)`` or ``(False, exception)``, pickled."""
    try:
        fn, args = cloudpickle.loads(call)
        reply = (True, fn(*args))
    except Exception as err:
        reply = (False, err)
    return cloudpickle.dumps(reply)


def _run_ray(payload: bytes, mailbox: Any, ticket: int) -> bytes:
    import ray

    token = _DRIVER.set(lambda call: ray.get(mailbox.call.remote(ticket, call)))
    try:
        result = _run(payload)
    finally:
        _DRIVER.reset(token)
    # Bytes both ways: Ray's own transport hands numpy arrays over as read-only views.
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


def _mailbox_class() -> type:
    """The mailbox: an async Ray actor that holds tasks' calls to the driver until it answers.

    The class is made in a function so that Ray ships it by value: the actor's process then
    imports no more than asyncio, not this package (seconds, for torch).
    """

    class Mailbox:
        def __init__(self) -> None:
            self.calls: asyncio.Queue[tuple[int, int, bytes]] = asyncio.Queue()
            self.replies: dict[int, asyncio.Future[bytes]] = {}
            self.ids = itertools.count()

        async def call(self, ticket: int, call: bytes) -> bytes:
            """A task's call (of the map ``ticket``); returns the driver's reply."""
            ident = next(self.ids)
            self.replies[ident] = asyncio.get_running_loop().create_future()
            await self.calls.put((ident, ticket, call))
            try:
                return await self.replies[ident]
            finally:
                del self.replies[ident]

        async def next(self) -> tuple[int, int, bytes]:
            """The driver's side: the next call, ``(id, ticket, call)``, once there is one."""
            return await self.calls.get()

        async def answer(self, ident: int, reply: bytes) -> None:
            """The driver's side: the reply to call ``ident`` (gone if its task was cancelled)."""
            if ident in self.replies:
                self.replies[ident].set_result(reply)

    return Mailbox


def _unreachable(source: str, address: str, err: object, hint: str = "") -> ValueError:
    what = {
        "--address": "give the head node's host:port of a running Ray cluster (ray start --head "
        "prints it)",
        "RAY_ADDRESS": "set it to the head node's host:port of a running Ray cluster, or unset "
        "it to start a local Ray",
        "recorded": "stop that cluster with `ray stop`, which also clears the record, and "
        "--executor ray starts a local Ray; or name a running cluster with --address",
    }[source]
    name = "the Ray cluster that `ray start` recorded here," if source == "recorded" else source
    return ValueError(f"{name} {address!r} is unreachable ({err}); {what}{hint}")


def _check_reachable(address: str, source: str = "--address") -> None:
    """Fails fast on a host:port nobody answers at, where ray.init would hang retrying."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{source} {address!r} is not host:port, ray://host:port or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), _CONNECT_TIMEOUT).close()
    except OSError as err:
        raise _unreachable(source, address, err) from None


def _recorded_cluster() -> str | None:
    """The cluster the last ``ray start`` on this machine recorded, or None.

    ``ray.init()`` joins it rather than start a local Ray. The record is Ray's own file in its
    temp dir (``$RAY_TMPDIR/ray``, by default ``/tmp/ray``); ``ray stop`` removes it.
    """
    from ray._private.services import find_bootstrap_address  # the rule ray.init applies

    return find_bootstrap_address(None)


class RayExecutor(Executor):
    """Ray tasks, one CPU each, on a running Ray cluster or on a local Ray started here.

    The cluster is the one at ``address``; else one already running that ``ray.init()`` would
    join (named by ``RAY_ADDRESS``, or recorded by the last ``ray start`` on this machine),
    which is joined; else a local Ray of ``workers`` CPUs (default: all) is started here and
    stopped by :meth:`close`. A cluster named or joined is left running, and ``workers``, if
    given, caps the tasks it runs at once. If Ray is already initialised in this process, that
    session is used and left running.

    Tasks reach the run folder through the driver (:func:`on_driver`), so they save and resume
    snapshots on any node, with no shared file system.
    """

    name = "ray"
    shares_files = True

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError(
                "executor 'ray' needs Ray, which is not installed; install the extra: "
                "pip install -e '.[ray]' (or pip install 'mesa-adage[ray]')"
            ) from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            _connect(ray, workers, address)
        elif address is not None:
            _check_reachable(address)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = min(workers, cpus) if workers else cpus
        self._cap = workers
        self._remote = ray.remote(num_cpus=1)(_run_ray)
        self._mailbox: Any = None  # made on the first map
        self._next: Any = None  # the driver's standing request for the next call to it
        self._tickets = itertools.count()

    def _open_mailbox(self) -> Any:
        if self._mailbox is None:
            # No CPU: it only passes calls on, and must not hold a CPU a task is waiting for.
            self._mailbox = self._ray.remote(num_cpus=0)(_mailbox_class()).remote()
            self._next = self._mailbox.next.remote()
        return self._mailbox

    def _as_completed(self, fn: Callable[[T], R], tasks: Sequence[T]) -> _Finished[R]:
        ray, mailbox, ticket = self._ray, self._open_mailbox(), next(self._tickets)
        queued = iter(enumerate(tasks))
        running: dict[Any, int] = {}

        def submit(count: int) -> None:
            for i, task in itertools.islice(queued, count):
                running[self._remote.remote(cloudpickle.dumps((fn, task)), mailbox, ticket)] = i

        submit(self._cap or len(tasks))
        try:
            while running:
                done, _ = ray.wait([self._next, *running], num_returns=1)
                if done[0] == self._next:  # a task calls the driver (on_driver)
                    ident, sender, call = ray.get(self._next)
                    self._next = mailbox.next.remote()
                    # A call from a task of an earlier map, cancelled since, is not made.
                    stale = cloudpickle.dumps((False, RuntimeError("the task's map has ended")))
                    mailbox.answer.remote(ident, _answer(call) if sender == ticket else stale)
                    continue
                i = running.pop(done[0])
                submit(1)
                # A task's exception re-raises as RayTaskError, an instance of the original type.
                yield i, pickle.loads(ray.get(done[0]))
        except BaseException:  # GeneratorExit too: map stopped early
            for ref in running:
                ray.cancel(ref)
            raise

    def close(self) -> None:
        ray = self._ray
        if self._mailbox is not None and ray.is_initialized():
            ray.kill(self._mailbox)
        self._mailbox = self._next = None
        if self._owns and ray.is_initialized():
            ray.shutdown()
        self._owns = False


def _connect(ray: Any, workers: int | None, address: str | None) -> None:
    """Calls ``ray.init``, choosing the cluster as :class:`RayExecutor` says."""
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    # Workers on this machine import by PYTHONPATH what this process imports by sys.path (the
    # repository root, the working directory); working_dir would upload the .venv.
    path = os.pathsep.join(os.path.abspath(p) for p in sys.path)
    here = {"runtime_env": {"env_vars": {"PYTHONPATH": path}}}
    named = address if address is not None else os.environ.get("RAY_ADDRESS") or None
    source = "--address" if address is not None else "RAY_ADDRESS"
    if named is not None:
        _check_reachable(named, source)
        target = named
    elif (recorded := _recorded_cluster()) is not None:
        # ray.init() would join it, and refuse the options of a local start (num_cpus): join
        # it, with no address so that Ray also finds its token, as for any local cluster.
        source, named, target = "recorded", recorded, None
        _check_reachable(recorded, source)
        options |= here
    else:
        target = "local"  # a new Ray here, even if a cluster is recorded meanwhile
        options |= here | {"num_cpus": workers or os.cpu_count(), "include_dashboard": False}
    try:
        ray.init(target, **options)
    except ConnectionError as err:
        # Ray turns away a driver without the cluster's token the same way, after ~20 s.
        hint = (
            "; a cluster with token authentication also needs RAY_AUTH_MODE=token and its "
            "token (RAY_AUTH_TOKEN, or ~/.ray/auth_token) here"
        )
        raise _unreachable(source, str(named), err, hint) from None
