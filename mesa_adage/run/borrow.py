"""Borrowed followers: start a run from the trained followers of another run.

Theta-conditioned followers trained across the whole box do not depend on the data or the
target, so one trained population can calibrate many data sets: a run given
``followers_from`` (``adage run --followers-from RUN``) skips the warm-up and starts from the
followers committed in ``RUN``'s checkpoint. With the same seed and settings the result equals
a run that trained its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesa_adage.run.checkpoint import read_state, sha256, state_value
from mesa_adage.run.record import RunRecord

SAME_KEYS = ("agent_type", "characteristics", "model_parameters", "algo", "algo_kwargs")
"""Settings of the source run that must equal this run's: they define what was trained."""
SAME_TIMESCALES = ("warmup_steps", "follower_lr", "follower_lr_final", "followers")
SAME_TRAINING = ("n_copies", "slots_per_copy")


@dataclass(frozen=True)
class Borrowed:
    """The followers of another run's last checkpoint.

    Attributes:
        files: The checkpoint's follower files (policies and averaged weights).
        env_steps: The agent-steps they were trained for.
        source: What the run's config records: the folder, the epoch and a digest of the files.
    """

    files: dict[str, bytes]
    env_steps: int
    source: dict[str, Any]


def borrow(path: str | Path, config: dict[str, Any]) -> Borrowed:
    """Read the followers of the run in ``path``, trained as this run (``config``) would train.

    Raises:
        FileNotFoundError: If ``path`` holds no run or no committed checkpoint.
        ValueError: If the source's settings differ from this run's, naming them.
        CheckpointError: If its checkpoint is damaged.
    """
    record, where = RunRecord(path), f"--followers-from {str(path)!r}"
    keys = (*SAME_KEYS, *SAME_TRAINING, *(f"timescales.{k}" for k in SAME_TIMESCALES))
    diff = record.compare(config, keys, "--followers-from", "pass an adage run folder")
    if diff:
        raise ValueError(
            f"{where} trained its followers differently from this run in {list(diff)} "
            f"({'; '.join(diff.values())}; values there -> here); borrow from a run with the "
            "same model, algorithm and follower settings"
        )
    found = record.load_checkpoint()
    if found is None:
        raise FileNotFoundError(
            f"{where} has no committed checkpoint yet: its followers are still in training"
        )
    epoch, folder, files = found
    state, where_state = read_state(folder, files)
    env_steps = int(state_value(state, "env_steps", where_state))
    followers = {k: v for k, v in sorted(files.items()) if k != "state.json"}
    digest = sha256(b"".join(k.encode() + v for k, v in followers.items()))
    source = {"run": str(path), "epoch": epoch, "env_steps": env_steps, "sha256": digest}
    return Borrowed(followers, env_steps, source)
