"""The run folder: config, history, checkpoints, summary. Every write is atomic."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

CHECKPOINT = "checkpoint"


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new, never half."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data)
    os.replace(tmp, path)


class RunRecord:
    """Reads and writes one run folder.

    Layout: ``config.json``, ``history.csv`` (one row per epoch), ``candidates.csv`` (every
    evaluated theta), ``checkpoint/`` (``state.json``, ``policy.zip`` and ``policy-<k>.zip`` for
    further followers, their averaged weights, the leader state),
    ``observed.csv`` (calibration data), ``summary.json`` and PNG plots.

    ``checkpoint/state.json`` is written last in each epoch: it is the commit point, so rows
    of an epoch that did not reach it are dropped on resume.

    Args:
        path: The run folder (created if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        (self.path / CHECKPOINT).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ config

    def check_config(self, config: dict[str, Any], *, resume: bool) -> None:
        """Write ``config.json``, or on resume check that it matches.

        Raises:
            FileExistsError: If the folder holds a run and ``resume`` is False.
            ValueError: If resuming with different settings (the differing keys are named).
        """
        path = self.path / "config.json"
        normal = json.loads(json.dumps(config))
        if path.exists():
            if not resume:
                raise FileExistsError(
                    f"{self.path} already holds a run; pass --resume to continue it or choose "
                    "another --out folder"
                )
            old = json.loads(path.read_text())
            diff = sorted(k for k in set(old) | set(normal) if old.get(k) != normal.get(k))
            if diff:
                raise ValueError(
                    f"cannot resume {self.path}: settings differ from the saved run in {diff}"
                )
            return
        atomic_write(path, json.dumps(normal, indent=2))

    # ------------------------------------------------------------------ checkpoint

    @property
    def state_path(self) -> Path:
        return self.path / CHECKPOINT / "state.json"

    @property
    def checkpoint(self) -> Path:
        """The checkpoint folder: follower policies, leader state, ``state.json``."""
        return self.path / CHECKPOINT

    def load_state(self) -> dict[str, Any] | None:
        """The last committed checkpoint state, or None for a fresh run."""
        if not self.state_path.exists():
            return None
        return json.loads(self.state_path.read_text())

    def commit(self, state: dict[str, Any]) -> None:
        """Mark the epoch in ``state["epoch"]`` as finished."""
        atomic_write(self.state_path, json.dumps(state))

    # ------------------------------------------------------------------ tables

    def append(self, name: str, rows: list[dict[str, Any]]) -> None:
        """Append rows to ``name`` (a CSV in the run folder)."""
        path = self.path / name
        frame = pd.DataFrame(rows)
        frame.to_csv(path, mode="a", header=not path.exists(), index=False)

    def table(self, name: str) -> pd.DataFrame:
        """Read a CSV of the run folder (empty if missing)."""
        path = self.path / name
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    def truncate(self, name: str, epoch: int) -> None:
        """Drop rows of epochs after ``epoch`` (left by an interrupted epoch)."""
        frame = self.table(name)
        if len(frame):
            kept = frame[frame["epoch"] <= epoch]
            tmp = self.path / (name + ".tmp")
            kept.to_csv(tmp, index=False)
            os.replace(tmp, self.path / name)

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Write a JSON file into the run folder."""
        atomic_write(self.path / name, json.dumps(data, indent=2))
