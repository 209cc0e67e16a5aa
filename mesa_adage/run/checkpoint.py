"""Checkpoints: a set of files that one manifest commits, verified whole before any is used.

A checkpoint is written as a new set: its files go into a folder of their own
(``checkpoint/epoch-<k>/``), each to a temporary name, flushed to disk and renamed. Then
``checkpoint/manifest.json`` (format version, epoch, every file's size and sha256) is written
the same way: that rename is the commit. Older sets are removed only after it. A reader
checks the format version and every file's size and hash before it returns any of them, so
a checkpoint is loaded whole or not at all; a damaged one is an error that names the file.

Epoch 0's set (the followers' warm-up) is also written to ``checkpoint/warmup/``, which every
later manifest lists again and no commit removes: a fresh run with the same seed starts from
that warm-up, so another run can borrow it (``--followers-from``) even after this run's
followers trained on. It costs one more set of follower files on disk; resuming reads and
verifies only the last epoch's set.

The crash tests kill a real run at the seams of these writes from outside the package
(``tests/faults.py``), to prove that a run resumes from any of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, NamedTuple

FORMAT = 2
"""Checkpoint format version. 1 was the unversioned layout: ``state.json`` and policy files
side by side in ``checkpoint/``, overwritten in place. A format-2 manifest may also list the
warm-up's set (``"warmup"``); a reader that does not know it ignores it."""

MANIFEST = "manifest.json"
WARMUP = "warmup"
"""The folder of the warm-up's set, kept for good."""
LEGACY = ("state.json", "policy*.zip", "policy*_average.pt")
"""The files of a format-1 checkpoint, removed when a format-2 one commits."""

_DAMAGED = (
    "the checkpoint is damaged (a disk error, or files changed by hand); restore the run "
    "folder from a backup, or pass --restart to discard the run and start again"
)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: damaged, partial, or of an unknown format."""


class Checkpoint(NamedTuple):
    """A committed checkpoint: its epoch, the folder of its files, and their contents."""

    epoch: int
    folder: Path
    files: dict[str, bytes]


def sha256(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new, never half.

    The file is flushed to disk before the rename, and the rename before returning, so the
    order of two writes survives a power loss too.
    """
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_checkpoint(directory: Path, epoch: int, files: dict[str, bytes]) -> None:
    """Write ``files`` as the checkpoint of ``epoch`` and commit it with one manifest.

    Epoch 0's files are the warm-up: they go to ``warmup/`` as well, and later manifests
    list that set again.
    """
    name = f"epoch-{epoch:04d}"
    previous = _manifest(directory)
    if previous.get("folder") == name:
        raise RuntimeError(f"checkpoint {directory / name} is committed; it cannot be rewritten")
    _write_set(directory / name, files)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "epoch": epoch,
        "folder": name,
        "files": _table(files),
    }
    if epoch == 0:
        _write_set(directory / WARMUP, files)
        manifest[WARMUP] = {"folder": WARMUP, "files": _table(files)}
    elif WARMUP in previous:
        manifest[WARMUP] = previous[WARMUP]
    atomic_write(directory / MANIFEST, json.dumps(manifest, indent=1))
    for old in directory.glob("epoch-*"):
        if old.name != name and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    if WARMUP not in manifest:  # left by a set of an older format, which listed none
        shutil.rmtree(directory / WARMUP, ignore_errors=True)
    for pattern in LEGACY:
        for old in directory.glob(pattern):
            old.unlink(missing_ok=True)


def _write_set(folder: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(folder, ignore_errors=True)  # left by a write that never committed
    folder.mkdir(parents=True)
    for file, data in files.items():
        atomic_write(folder / file, data)


def _table(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {f: {"size": len(d), "sha256": sha256(d)} for f, d in files.items()}


def _manifest(directory: Path) -> dict[str, Any]:
    """The manifest as it stands, unchecked; empty if there is none or it is unreadable."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def committed(directory: Path) -> bool:
    """Whether ``directory`` holds a manifest (of any format) and the set it commits."""
    name = _manifest(directory).get("folder")
    return (
        isinstance(name, str)
        and name.startswith("epoch-")
        and Path(name).name == name
        and (directory / name).is_dir()
    )


def read_checkpoint(directory: Path) -> Checkpoint | None:
    """The committed checkpoint in ``directory``; None if there is none.

    A format-1 checkpoint (no manifest) is read as it is, without hashes to check.

    Raises:
        CheckpointError: If the manifest is unreadable or of another format, or a file it
            lists is missing or differs from it in size or hash (naming the file).
    """
    path = directory / MANIFEST
    if not path.exists():
        return _read_legacy(directory)
    manifest = _read_manifest(path)
    for key in ("epoch", "folder", "files"):
        if key not in manifest:
            raise CheckpointError(f"{path} lacks the key {key!r}; {_DAMAGED}")
    epoch, name = manifest["epoch"], manifest["folder"]
    if not (isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0):
        raise CheckpointError(f"{path}: epoch {epoch!r} is not a whole number >= 0; {_DAMAGED}")
    if not (isinstance(name, str) and name.startswith("epoch-") and Path(name).name == name):
        raise CheckpointError(f"{path}: folder {name!r} is not an epoch-<k> folder; {_DAMAGED}")
    return Checkpoint(epoch, directory / name, _verified(path, directory / name, manifest["files"]))


def read_warmup(directory: Path) -> Checkpoint | None:
    """The warm-up's set (epoch 0) that the manifest keeps, verified whole like the last one.

    Returns:
        None if there is no manifest, or it keeps no warm-up (an older mesa-adage wrote it).

    Raises:
        CheckpointError: As :func:`read_checkpoint`, naming the manifest or the file.
    """
    path = directory / MANIFEST
    entry = _read_manifest(path).get(WARMUP) if path.exists() else None
    if entry is None:
        return None
    if not (isinstance(entry, dict) and entry.get("folder") == WARMUP):
        raise CheckpointError(f"{path}: {WARMUP} is not the table of {WARMUP}/; {_DAMAGED}")
    folder = directory / WARMUP
    return Checkpoint(0, folder, _verified(path, folder, entry.get("files")))


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest in ``path``, a JSON object of this format (CheckpointError otherwise)."""
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not readable JSON ({err}); {_DAMAGED}") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{path} holds {type(manifest).__name__}, not an object; {_DAMAGED}")
    version = manifest.get("format")
    if version != FORMAT:
        newer = isinstance(version, int) and version > FORMAT
        raise CheckpointError(
            f"{path} has checkpoint format {version!r}; this mesa-adage reads format {FORMAT}"
            + (
                ", so the run was written by a newer version: resume it with that version"
                if newer
                else f"; {_DAMAGED}"
            )
        )
    return manifest


def _verified(path: Path, folder: Path, listed: Any) -> dict[str, bytes]:
    """The files of ``folder`` that manifest ``path`` lists, each checked against it."""
    if not (isinstance(listed, dict) and all(isinstance(e, dict) for e in listed.values())):
        raise CheckpointError(f"{path}: files is not a table of sizes and hashes; {_DAMAGED}")
    files: dict[str, bytes] = {}
    for name, entry in listed.items():
        if Path(name).name != name or name in ("", ".", ".."):
            raise CheckpointError(f"{path} lists {name!r}, not a file name; {_DAMAGED}")
        file = folder / name
        if not file.is_file():
            raise CheckpointError(f"checkpoint file {file} is missing; {_DAMAGED}")
        data = file.read_bytes()
        if len(data) != entry.get("size") or sha256(data) != entry.get("sha256"):
            raise CheckpointError(
                f"checkpoint file {file} does not match {path} (size {len(data)}, manifest "
                f"{entry.get('size')}; or its sha256 differs): it is truncated or corrupt; "
                + _DAMAGED
            )
        files[name] = data
    return files


def _read_legacy(directory: Path) -> Checkpoint | None:
    state = directory / "state.json"
    if not state.exists():
        return None
    files = {p.name: p.read_bytes() for pattern in LEGACY for p in directory.glob(pattern)}
    try:
        epoch = int(json.loads(files["state.json"])["epoch"])
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(
            f"{state} (a checkpoint of format 1) is unreadable or lacks 'epoch' ({err!r}); "
            + _DAMAGED
        ) from None
    return Checkpoint(epoch, directory, files)


def state_value(state: dict[str, Any], key: str, where: str) -> Any:
    """``state[key]``, or a :class:`CheckpointError` naming ``where`` and the missing key."""
    if not isinstance(state, dict) or key not in state:
        raise CheckpointError(f"{where} lacks the key {key!r}; {_DAMAGED}")
    return state[key]


def read_state(folder: Path, files: dict[str, bytes]) -> tuple[dict[str, Any], str]:
    """The checkpoint's ``state.json``, parsed, and its path for error messages.

    Raises:
        CheckpointError: If it is missing or not readable JSON.
    """
    where = str(folder / "state.json")
    try:
        return json.loads(state_value(files, "state.json", "the checkpoint")), where
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{where} is not readable JSON ({err})") from None
