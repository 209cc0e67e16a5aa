"""Fault injection for the crash tests: run ``adage`` and kill it for real at a named point.

``python -m tests.faults POINT:COUNT[:INT] ARGS...`` runs ``adage ARGS...`` with some of the
package's functions wrapped, so that the COUNT-th time the process passes POINT it sends
itself SIGKILL (or SIGINT, as a Ctrl-C in a terminal would). The package has no test hooks:
every point is a seam of a run, reached from outside.

| point | where |
|---|---|
| ``warmup-step``, ``train-step`` | a training step of the warm-up, or of an epoch's followers |
| ``warmup-snapshot`` | just after a snapshot of the warm-up in progress is written |
| ``evaluate``, ``evaluated`` | before and after candidates are scored |
| ``record``, ``recorded`` | before and after an epoch's row is appended to ``history.csv`` |
| ``checkpoint-file`` | after one file of a checkpoint is written |
| ``checkpoint-manifest``, ``checkpoint-commit`` | before and after the manifest is written |
| ``finish``, ``report`` | before the run concludes, and before it writes its report |
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from mesa_adage import cli
from mesa_adage.outer.evaluator import Evaluator
from mesa_adage.run import checkpoint, conclusion, scheduler, snapshot
from mesa_adage.run.record import RunRecord

POINTS = (
    "warmup-step",
    "train-step",
    "warmup-snapshot",
    "evaluate",
    "evaluated",
    "record",
    "recorded",
    "checkpoint-file",
    "checkpoint-manifest",
    "checkpoint-commit",
    "finish",
    "report",
)


def arm(target: str) -> None:
    """Wrap the package's seams so that the process dies at ``target`` (``POINT:COUNT[:INT]``).

    Raises:
        ValueError: If ``target`` is malformed or names no point.
    """
    point, _, rest = target.partition(":")
    count, _, how = rest.partition(":")
    if point not in POINTS or not count.isdigit() or how not in ("", "INT"):
        raise ValueError(
            f"kill point {target!r}; expected <point>:<count>[:INT], point in {POINTS}"
        )
    calls = 0

    def passed(name: str) -> None:
        nonlocal calls
        if name == point:
            calls += 1
            if calls == int(count):
                os.kill(os.getpid(), signal.SIGINT if how == "INT" else signal.SIGKILL)

    def around(owner: Any, attr: str, name: Callable[..., tuple[str | None, str | None]]) -> None:
        """Replace ``owner.attr`` by a wrapper that passes the points ``name(*args)`` gives."""
        original = getattr(owner, attr)

        @wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            before, after = name(*args, **kwargs)
            if before:
                passed(before)
            result = original(*args, **kwargs)
            if after:
                passed(after)
            return result

        setattr(owner, attr, wrapper)

    def phase(path: Path) -> str:  # snapshots of epoch 0 belong to the warm-up
        return "warmup" if Path(path).name.startswith("epoch-0000-") else "train"

    around(snapshot.Snapshots, "_on_step", lambda self: (f"{phase(self.path)}-step", None))
    around(snapshot, "save", lambda path, *a: (None, f"{phase(path)}-snapshot"))
    around(Evaluator, "score", lambda *a, **k: ("evaluate", "evaluated"))
    around(
        RunRecord,
        "append",
        lambda self, name, rows: ("record", "recorded") if name == "history.csv" else (None, None),
    )
    manifest = lambda path, data: Path(path).name == checkpoint.MANIFEST  # noqa: E731
    around(
        checkpoint,
        "atomic_write",
        lambda path, data: (
            ("checkpoint-manifest", "checkpoint-commit")
            if manifest(path, data)
            else (None, "checkpoint-file")
        ),
    )
    around(scheduler, "conclude", lambda *a: ("finish", None))
    around(conclusion, "write_report", lambda *a: ("report", None))


if __name__ == "__main__":
    arm(sys.argv[1])
    raise SystemExit(cli.main(sys.argv[2:]))
