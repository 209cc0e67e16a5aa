"""Borrowed followers: start a run from the warm-up of another run.

Theta-conditioned followers warmed up across the whole box do not depend on the data or the
target, so one warm-up can calibrate many data sets: a run given ``followers_from``
(``adage run --followers-from RUN``) skips its own warm-up and starts from ``RUN``'s, which
every checkpoint keeps (:mod:`~mesa_adage.run.checkpoint`). A fresh run with seed s starts
from its own warm-up, trained with seed s; so the source must have this run's seed as well as
its model, algorithm and follower settings, and then the result equals a run that trained its
own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesa_adage.run.checkpoint import read_state, read_warmup, sha256, state_value
from mesa_adage.run.record import RunRecord

SAME_KEYS = ("agent_type", "characteristics", "model_parameters", "algo", "algo_kwargs", "seed")
"""Settings of the source run that must equal this run's: they define what was trained."""
SAME_TIMESCALES = ("warmup_steps", "follower_lr", "follower_lr_final", "followers")
SAME_TRAINING = ("n_copies", "slots_per_copy")
ADVICE = "pass an adage run folder"


@dataclass(frozen=True)
class Borrowed:
    """The followers of another run's warm-up.

    Attributes:
        files: The warm-up's follower files (policies and averaged weights).
        env_steps: The agent-steps they were trained for.
        source: What the run's config records: the folder, the epoch (0: the warm-up) and a
            digest of the files.
    """

    files: dict[str, bytes]
    env_steps: int
    source: dict[str, Any]


def borrow(path: str | Path, config: dict[str, Any]) -> Borrowed:
    """Read the warm-up of the run in ``path``, trained as this run (``config``) would train it.

    Raises:
        FileNotFoundError: If ``path`` holds no run or no committed checkpoint.
        ValueError: If the source's settings or seed differ from this run's, or it kept no
            warm-up and its followers trained on after it, naming what.
        CheckpointError: If its checkpoint is damaged.
    """
    record, where = RunRecord(path), f"--followers-from {str(path)!r}"
    keys = (*SAME_KEYS, *SAME_TRAINING, *(f"timescales.{k}" for k in SAME_TIMESCALES))
    diff = record.compare(config, keys, "--followers-from", ADVICE)
    if diff:
        raise ValueError(
            f"{where} trained its followers differently from this run in {list(diff)} "
            f"({'; '.join(diff.values())}; values there -> here); borrow from a run with the "
            "same model, algorithm, follower settings and seed (a fresh run with seed s starts "
            "from a warm-up trained with seed s)"
        )
    found = record.load_checkpoint()
    if found is None:
        raise FileNotFoundError(
            f"{where} has no committed checkpoint yet: its followers are still in training"
        )
    warmup = read_warmup(record.checkpoint)
    if warmup is None:  # written by an older mesa-adage: only the last epoch's set is kept
        steps = (record.read_config("--followers-from", ADVICE).get("timescales") or {}).get(
            "follower_steps"
        )
        if found.epoch > 0 and steps != 0:
            raise ValueError(
                f"{where} kept no warm-up (an older mesa-adage wrote it), and the followers of "
                f"its epoch {found.epoch} trained on after the warm-up (timescales."
                f"follower_steps={steps} there, 0 allowed): a fresh run would not start from "
                "them; borrow from a run this version wrote"
            )
        warmup = found  # its followers never changed since the warm-up
    state, where_state = read_state(warmup.folder, warmup.files)
    env_steps = int(state_value(state, "env_steps", where_state))
    followers = {k: v for k, v in sorted(warmup.files.items()) if k != "state.json"}
    digest = sha256(b"".join(k.encode() + v for k, v in followers.items()))
    source = {"run": str(path), "epoch": 0, "env_steps": env_steps, "sha256": digest}
    return Borrowed(followers, env_steps, source)
