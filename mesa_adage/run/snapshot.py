"""Snapshots of a follower phase in progress, so an interrupted phase resumes where it was.

A long phase (above all the warm-up) is saved every so often at a rollout boundary: the
algorithm (weights, optimiser, counters, last observation), the live training environment
(every model copy mid-episode, its random stream), the replay buffer of an off-policy
algorithm, and the global random states that SB3 draws from (torch for actions, numpy for
minibatches). Restoring all of them and training on gives, to the bit, what the phase would
have given without the interruption.

A snapshot is one file: a JSON header line (format, the key of the phase it belongs to, the
agent-steps done, the payload's size and sha256) and a cloudpickle payload, written
atomically. The phase may train on another machine (a Ray worker): the file is read and
written on the driver's, where the run folder is (:func:`~mesa_adage.run.executors.on_driver`).
Like the policy files it is a pickle: load only run folders you trust.
"""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.type_aliases import Schedule

from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.run.checkpoint import CheckpointError, atomic_write, sha256
from mesa_adage.run.executors import on_driver

FORMAT = 1


def resumable(algo: BaseAlgorithm) -> bool:
    """Whether a phase of ``algo`` can be snapshotted exactly.

    gSDE redraws its exploration noise before the rollout-start hook, so a restored phase
    would draw it a second time.
    """
    return not getattr(algo, "use_sde", False)


def save(path: Path, key: str, algo: BaseAlgorithm, env: MesaVecEnv, done: int) -> None:
    """Write the live state of a phase ``done`` agent-steps in, at a rollout boundary.

    The state is pickled where the phase trains, and written where the run folder is.
    """
    buffer = io.BytesIO()
    algo.save(buffer)
    replay = getattr(algo, "replay_buffer", None) if isinstance(algo, OffPolicyAlgorithm) else None
    payload = cloudpickle.dumps(
        {
            "algo": buffer.getvalue(),
            "env": env,
            "replay_buffer": replay,
            "action_space": algo.action_space.np_random.bit_generator.state,
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "done": done,
        }
    )
    header = {
        "format": FORMAT,
        "key": key,
        "done": done,
        "size": len(payload),
        "sha256": sha256(payload),
    }
    on_driver(write, path, json.dumps(header).encode() + b"\n" + payload)


def write(path: Path, data: bytes) -> None:
    """Write a snapshot file atomically (on the driver: see :func:`save`)."""
    atomic_write(path, data)


def read(path: Path) -> bytes | None:
    """A snapshot file's bytes, or None if there is none (on the driver: see :func:`load`)."""
    return path.read_bytes() if path.exists() else None


def load(
    path: Path, key: str, algo_cls: type[BaseAlgorithm], learning_rate: float | Schedule
) -> tuple[BaseAlgorithm, MesaVecEnv, int] | None:
    """Restore the phase saved in ``path``: ``(algo, env, done)``, or None if there is none.

    A snapshot of another phase (another key: it was left by a run that went on) is ignored.

    Raises:
        CheckpointError: If the snapshot is truncated or corrupt.
    """
    raw = on_driver(read, path)
    if raw is None:
        return None
    line, _, payload = raw.partition(b"\n")
    try:
        header = json.loads(line)
        intact = header["size"] == len(payload) and header["sha256"] == sha256(payload)
    except (ValueError, KeyError, TypeError):
        header, intact = {}, False
    if not intact or header.get("format") != FORMAT:
        raise CheckpointError(
            f"snapshot {path} of a follower phase in progress is truncated or corrupt; delete "
            "it to train that phase again from the last committed epoch (same results)"
        )
    if header["key"] != key:
        return None
    state: dict[str, Any] = cloudpickle.loads(payload)
    env: MesaVecEnv = state["env"]
    # Without env, load() cannot reseed it; set_env then keeps its observation (no reset).
    algo = algo_cls.load(
        io.BytesIO(state["algo"]), device="cpu", custom_objects={"learning_rate": learning_rate}
    )
    algo.set_env(env, force_reset=False)
    if state["replay_buffer"] is not None:
        algo.replay_buffer = state["replay_buffer"]
    algo.action_space.np_random.bit_generator.state = state["action_space"]
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    return algo, env, int(state["done"])


class Snapshots(BaseCallback):
    """Saves the phase at the first rollout boundary after every ``seconds`` of training.

    Args:
        path: The snapshot file.
        key: Identifies the phase (its start state and seeds).
        env: The training environment.
        start: The algorithm's timestep count when the phase began.
        seconds: Least time between snapshots (0: at every rollout boundary).
    """

    def __init__(self, path: Path, key: str, env: MesaVecEnv, start: int, seconds: float) -> None:
        super().__init__()
        self.path, self.key, self.env, self.start = path, key, env, start
        self.seconds = seconds
        self.last = time.monotonic()
        self.first = True

    def _on_rollout_start(self) -> None:
        if self.first:  # the phase's (or the restored snapshot's) own start: nothing new
            self.first = False
            return
        if time.monotonic() - self.last >= self.seconds:
            done = self.model.num_timesteps - self.start
            save(self.path, self.key, self.model, self.env, done)
            self.last = time.monotonic()

    def _on_step(self) -> bool:
        return True
