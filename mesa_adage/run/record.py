"""The run folder: config, fingerprints, history, checkpoints, summary. Every write is atomic."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from mesa_adage.run.checkpoint import (
    Checkpoint,
    atomic_write,
    read_checkpoint,
    sha256,
    write_checkpoint,
)

__all__ = ["CHECKPOINT", "RunRecord", "atomic_write"]

CHECKPOINT = "checkpoint"
RESTART = "pass --restart to discard the run in {path} and start again, or choose another --out"


class RunRecord:
    """Reads and writes one run folder.

    Layout: ``config.json`` (the settings), ``fingerprint.json`` (sha256 of the settings and
    of ``observed.csv``, the calibration data), ``history.csv`` (one row per epoch),
    ``candidates.csv`` (every evaluated theta), ``checkpoint/`` (see
    :mod:`~mesa_adage.run.checkpoint`: the committed set of follower policies, their averaged
    weights and ``state.json``, plus snapshots of a follower phase in progress),
    ``summary.json`` and PNG plots.

    The checkpoint's manifest is written last in each epoch: it is the commit point, so rows
    of an epoch that did not reach it are dropped on resume.

    Args:
        path: The run folder (created by :meth:`check_config`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @staticmethod
    def discard(path: str | Path) -> None:
        """Delete the run in ``path`` (``--restart``); a folder that holds no run is refused.

        Raises:
            ValueError: If ``path`` exists but holds no ``config.json``.
        """
        path = Path(path)
        if not path.exists():
            return
        if not (path / "config.json").is_file():
            raise ValueError(
                f"--restart: {path} holds no run (no config.json), so it is not deleted; "
                "choose the run folder of an adage run as --out"
            )
        shutil.rmtree(path)

    # ------------------------------------------------------------------ config

    def check_config(self, config: dict[str, Any], *, resume: bool) -> None:
        """Write ``config.json`` and its fingerprint, or on resume check that they match.

        Raises:
            FileExistsError: If the folder holds a run and ``resume`` is False.
            FileNotFoundError: If ``resume`` is True and the folder holds no run.
            ValueError: If resuming with different settings (the differing keys are named).
        """
        path = self.path / "config.json"
        normal = json.loads(json.dumps(config))
        text = json.dumps(normal, indent=2)
        if not path.exists():
            if resume:
                where = "does not exist" if not self.path.exists() else "holds no run"
                raise FileNotFoundError(
                    f"--resume: the run folder {self.path} {where} (no config.json); drop "
                    "--resume to start a new run there, or pass the --out of the run to continue"
                )
            (self.path / CHECKPOINT).mkdir(parents=True, exist_ok=True)
            atomic_write(path, text)
            self._fingerprint("settings", text.encode())
            return
        if not resume:
            raise FileExistsError(
                f"{self.path} already holds a run; pass --resume to continue it, "
                + RESTART.format(path=self.path)
            )
        old = json.loads(path.read_text())
        diff = sorted(k for k in set(old) | set(normal) if old.get(k) != normal.get(k))
        if diff:
            shown = "; ".join(_difference(old.get(k), normal.get(k), k) for k in diff)
            hint = "resume with the --data the run began with, or " if "data" in diff else ""
            raise ValueError(
                f"cannot resume {self.path}: settings differ from the saved run in {diff} "
                f"({shown}); {hint}" + RESTART.format(path=self.path)
            )
        (self.path / CHECKPOINT).mkdir(exist_ok=True)

    def _fingerprint(self, name: str, data: bytes) -> None:
        path = self.path / "fingerprint.json"
        prints = json.loads(path.read_text()) if path.exists() else {}
        atomic_write(path, json.dumps({**prints, name: sha256(data)}, indent=2))

    # ------------------------------------------------------------------ observed data

    def observed(self) -> pd.DataFrame | None:
        """The run's observed data (``observed.csv``), checked against its fingerprint.

        Raises:
            ValueError: If ``observed.csv`` changed since the run wrote it.
        """
        path = self.path / "observed.csv"
        if not path.exists():
            return None
        data = path.read_bytes()
        prints = self.path / "fingerprint.json"
        saved = json.loads(prints.read_text()).get("observed.csv") if prints.exists() else None
        if saved is not None and sha256(data) != saved:
            raise ValueError(
                f"{path} changed since the run wrote it (sha256 {sha256(data)[:16]}..., "
                f"recorded {saved[:16]}... in {prints}); the run cannot continue on other "
                "data: restore the file, or " + RESTART.format(path=self.path)
            )
        return pd.read_csv(io.BytesIO(data))

    def save_observed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Write the observed data with its fingerprint; returns them as read back."""
        data = frame.to_csv(index=False).encode()
        atomic_write(self.path / "observed.csv", data)
        self._fingerprint("observed.csv", data)
        result = self.observed()
        assert result is not None
        return result

    # ------------------------------------------------------------------ checkpoint

    @property
    def checkpoint(self) -> Path:
        """The checkpoint folder: committed sets, the manifest, snapshots, leader storage."""
        return self.path / CHECKPOINT

    def phase_folder(self) -> Path:
        """Where follower phases in progress are snapshotted (made if missing)."""
        folder = self.checkpoint / "phase"
        folder.mkdir(exist_ok=True)
        return folder

    def load_checkpoint(self) -> Checkpoint | None:
        """The last committed checkpoint, or None for a fresh run."""
        return read_checkpoint(self.checkpoint)

    def commit(self, epoch: int, files: dict[str, bytes]) -> None:
        """Write ``files`` as the checkpoint of ``epoch``: the epoch is then finished."""
        write_checkpoint(self.checkpoint, epoch, files)

    # ------------------------------------------------------------------ tables

    def append(self, name: str, rows: list[dict[str, Any]]) -> None:
        """Append rows to ``name`` (a CSV in the run folder), rewriting it atomically."""
        path = self.path / name
        old = path.read_text() if path.exists() else ""
        atomic_write(path, old + pd.DataFrame(rows).to_csv(header=not old, index=False))

    def table(self, name: str) -> pd.DataFrame:
        """Read a CSV of the run folder (empty if missing)."""
        path = self.path / name
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    def truncate(self, name: str, epoch: int) -> None:
        """Drop rows of epochs after ``epoch`` (left by an interrupted epoch).

        Lines are kept as written, so a resumed run's table is byte for byte an
        uninterrupted one's.
        """
        path = self.path / name
        if not path.exists():
            return
        lines = path.read_text().splitlines(keepends=True)
        if not lines:
            return
        column = next(csv.reader(lines[:1])).index("epoch")
        kept = [line for line in lines[1:] if int(next(csv.reader([line]))[column]) <= epoch]
        if len(kept) < len(lines) - 1:
            atomic_write(path, "".join(lines[:1] + kept))

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Write a JSON file into the run folder."""
        atomic_write(self.path / name, json.dumps(data, indent=2))


def _difference(old: Any, new: Any, where: str) -> str:
    """The first place two JSON values differ: ``where.key[i]: old -> new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return _difference(old.get(key), new.get(key), f"{where}.{key}")
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                return _difference(a, b, f"{where}[{i}]")
    return f"{where}: {json.dumps(old)[:60]} -> {json.dumps(new)[:60]}"
