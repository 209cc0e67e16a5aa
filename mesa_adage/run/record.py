"""The run folder: config, fingerprints, history, checkpoints, summary. Every write is atomic.

:class:`RunRecord` is the one owner of a run folder: ``--resume``, ``--followers-from`` and
``adage eval`` read and compare its ``config.json`` through it (one diff format), and load its
final policies through it, and ``--restart`` deletes a folder only once it has proven it an
adage run. It passes 300 lines because each of those is a few lines of the one folder's
contract.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from stable_baselines3.common.base_class import BaseAlgorithm

from mesa_adage.inner.followers import policy_file
from mesa_adage.inner.policies import SB3Policy
from mesa_adage.inner.training import algorithm
from mesa_adage.run.checkpoint import (
    LEGACY,
    MANIFEST,
    WARMUP,
    Checkpoint,
    CheckpointError,
    atomic_write,
    committed,
    read_checkpoint,
    sha256,
    write_checkpoint,
)
from mesa_adage.run.fingerprint import difference, lookup

__all__ = ["CHECKPOINT", "RunRecord", "atomic_write"]

CHECKPOINT = "checkpoint"
RESTART = "pass --restart to discard the run in {path} and start again, or choose another --out"
RUN_KEYS = ("experiment", "characteristics", "timescales", "algo", "seed")
"""Keys of every ``config.json`` that adage writes."""
RUN_FILES = (
    *("config.json", "fingerprint.json", "observed.csv", "history.csv", "candidates.csv"),
    *("summary.json", "profile.csv", "generalization.*", "policy*.zip", "*.png", "posterior/*"),
    *(f"{CHECKPOINT}/{name}" for name in (MANIFEST, "leader.db*", "phase/*.snapshot", *LEGACY)),
    *(f"{CHECKPOINT}/{name}/*" for name in ("epoch-*", WARMUP)),
)
"""The files adage writes in a run folder, each also as ``NAME.tmp`` while it is written."""


class RunRecord:
    """Reads and writes one run folder.

    Layout: ``config.json`` (the settings), ``fingerprint.json`` (sha256 of the settings and
    of ``observed.csv``, the calibration data), ``history.csv`` (one row per epoch),
    ``candidates.csv`` (every evaluated theta), ``checkpoint/`` (see
    :mod:`~mesa_adage.run.checkpoint`: the committed set of follower policies, their averaged
    weights and ``state.json``, the warm-up's set, snapshots of a follower phase in progress),
    ``summary.json``, the final policies (``policy.zip``, ``policy-1.zip``, ...) and PNG plots.

    The checkpoint's manifest is written last in each epoch: it is the commit point, so rows
    of an epoch that did not reach it are dropped on resume.

    Args:
        path: The run folder (created by :meth:`check_config`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @staticmethod
    def discard(path: str | Path) -> None:
        """Delete the run in ``path`` (``--restart``) once it is proven to be an adage run.

        The proof is a ``config.json`` with adage's keys, and the checkpoint's manifest or, in
        a run stopped before its first checkpoint (or with a damaged manifest), files that are
        all adage's. Any other folder may be someone's work: it is refused.

        Raises:
            FileNotFoundError, ValueError: Naming the folder and what it lacks.
        """
        path = Path(path)
        if not path.exists():
            return
        advice = "--restart deletes adage runs only: pass the --out of one, or delete it yourself"
        saved = RunRecord(path).read_config("--restart", advice)
        if missing := [k for k in RUN_KEYS if k not in saved]:
            raise ValueError(
                f"--restart: {path / 'config.json'} lacks {missing}, keys of every config.json "
                f"adage writes, so {path} is not an adage run; {advice}"
            )
        if not committed(path / CHECKPOINT):
            files = (p.relative_to(path).as_posix() for p in sorted(path.rglob("*")))
            if foreign := [f for f in files if (path / f).is_file() and not _adage_file(f)]:
                raise ValueError(
                    f"--restart: {path} has no {CHECKPOINT}/{MANIFEST} (the commit of an adage "
                    f"run's checkpoint) and holds files adage does not write ({foreign[:5]}), so "
                    f"nothing proves it an adage run; {advice}"
                )
        shutil.rmtree(path)

    def check_writable(self) -> None:
        """Refuse a folder (``--out``) that cannot be made or written, before anything is.

        A temporary sub-folder probes the nearest existing folder on the way: permission bits
        do not tell for root or a read-only file system.

        Raises:
            ValueError: Naming ``--out``, the path in the way and what is allowed.
        """
        out, wanted = self.path, "pass a folder you can write to (it is made if missing)"
        try:
            if out.exists() and not out.is_dir():
                raise ValueError(f"--out {str(out)!r} is a file, not a folder; {wanted}")
            existing = next(p for p in (out, *out.parents) if p.exists())
            if not existing.is_dir():
                raise ValueError(
                    f"--out {str(out)!r}: {str(existing)!r} is a file, so no folder can be made "
                    f"under it; {wanted}"
                )
            os.rmdir(tempfile.mkdtemp(prefix=".adage-probe-", dir=existing))
        except OSError as err:
            raise ValueError(
                f"--out {str(out)!r} cannot be written ({err.strerror or err}); {wanted}"
            ) from None

    # ------------------------------------------------------------------ config

    def read_config(self, flag: str, advice: str) -> dict[str, Any]:
        """The run's settings, as ``config.json`` holds them.

        ``flag`` is the option that named the folder, ``advice`` what to do if it holds no run.

        Raises:
            FileNotFoundError: If the folder holds no ``config.json``.
            ValueError: If it is not readable JSON, or not a JSON object.
        """
        path = self.path / "config.json"
        if not path.is_file():
            how = (
                "holds no config.json" if self.path.is_dir() else "does not exist (no config.json)"
            )
            raise FileNotFoundError(
                f"{flag}: the run folder {self.path} {how}, so it holds no run; {advice}"
            )
        try:
            saved = json.loads(path.read_text())
        except ValueError as err:  # also a UnicodeDecodeError
            raise ValueError(
                f"{flag}: {path} is not readable JSON ({err}); the run folder is damaged"
            ) from None
        if not isinstance(saved, dict):
            raise ValueError(
                f"{flag}: {path} holds a {type(saved).__name__}, not the JSON object adage run "
                "writes; the run folder is damaged"
            )
        return saved

    def compare(
        self, config: Mapping[str, Any], keys: Iterable[str] | None, flag: str, advice: str
    ) -> dict[str, str]:
        """Where ``config.json`` differs from ``config``: ``{key: "where: saved -> given"}``.

        ``keys`` name the settings compared (``timescales.followers`` one inside another), or
        None for every key either side has. ``flag`` and ``advice`` are :meth:`read_config`'s.
        """
        saved, given = self.read_config(flag, advice), json.loads(json.dumps(config))
        keys = sorted(set(saved) | set(given)) if keys is None else keys
        found = ((k, lookup(saved, k), lookup(given, k)) for k in keys)
        return {k: difference(old, new, k) for k, old, new in found if old != new}

    def check_config(self, config: dict[str, Any], *, resume: bool) -> None:
        """Write ``config.json`` and its fingerprint, or on resume check that they match.

        Raises:
            FileExistsError: If the folder holds a run and ``resume`` is False.
            FileNotFoundError: If ``resume`` is True and the folder holds no run.
            ValueError: If resuming with different settings (the differing keys are named).
        """
        if resume:
            advice = "drop --resume to start a new run there, or pass the --out of the run to "
            diff = self.compare(config, None, "--resume", advice + "continue")
            if diff:
                hint = "resume with the --data the run began with, or " if "data" in diff else ""
                raise ValueError(
                    f"cannot resume {self.path}: settings differ from the saved run in "
                    f"{list(diff)} ({'; '.join(diff.values())}); {hint}"
                    + RESTART.format(path=self.path)
                )
            self.checkpoint.mkdir(exist_ok=True)
            return
        if (self.path / "config.json").exists():
            raise FileExistsError(
                f"{self.path} already holds a run; pass --resume to continue it, "
                + RESTART.format(path=self.path)
            )
        text = json.dumps(json.loads(json.dumps(config)), indent=2)
        self.checkpoint.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path / "config.json", text)
        self._fingerprint("settings", text.encode())

    def _fingerprint(self, name: str, data: bytes) -> None:
        path = self.path / "fingerprint.json"
        prints = json.loads(path.read_text()) if path.exists() else {}
        atomic_write(path, json.dumps({**prints, name: sha256(data)}, indent=2))

    # ------------------------------------------------------------------ final policies

    def load_policies(self, algo: str | type[BaseAlgorithm]) -> list[SB3Policy]:
        """The final follower policies, ``policy.zip``, ``policy-1.zip``, ..., loaded as ``algo``.

        Raises:
            FileNotFoundError: If there are none: the run did not finish.
            ValueError: Naming a file that cannot be loaded.
        """
        cls, policies = algorithm(algo), []
        while (path := self.path / policy_file(len(policies))).is_file():
            try:
                policies.append(SB3Policy.load(path, cls))
            except Exception as err:  # SB3 raises many kinds for a damaged file
                raise ValueError(
                    f"{path} cannot be loaded as a {cls.__name__} policy ({type(err).__name__}: "
                    f"{err}); it is damaged, or was not written by adage run"
                ) from None
        if not policies:
            raise FileNotFoundError(
                f"{self.path} holds no {policy_file(0)}: it is not the folder of a finished "
                "adage run (pass the run folder, e.g. runs/<experiment>-seed<seed>)"
            )
        return policies

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

    def kept(self) -> str | None:
        """What an interrupted run keeps, for the Ctrl-C message; None before it began."""
        if not (self.path / "config.json").is_file():
            return None
        with contextlib.suppress(CheckpointError):  # a damaged checkpoint keeps nothing
            if (found := self.load_checkpoint()) is not None:
                return "the warm-up" if found.epoch == 0 else f"epoch {found.epoch}"
        return "no finished phase yet (the warm-up goes on from its last snapshot)"

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


def _adage_file(relative: str) -> bool:
    """Whether a file at ``relative`` (in a run folder) is one adage writes there."""
    name = relative.removesuffix(".tmp")
    return any(fnmatch.fnmatchcase(name, p) and name.count("/") == p.count("/") for p in RUN_FILES)
