"""Training one shared SB3 policy: the unit of work of a follower phase, and ``train()``.

One follower's training for one phase is a :class:`TrainTask`, plain data that :func:`learn`
turns into a :class:`TrainOutcome`, so tasks can run in another process or on another
machine. :func:`train` trains a fresh policy outside the leader loop (baselines,
references).
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import stable_baselines3
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import HumanOutputFormat, Logger
from stable_baselines3.common.type_aliases import Schedule
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from mesa_adage.inner.rollout import ModelFactory
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.run import snapshot
from mesa_adage.run.checkpoint import sha256
from mesa_adage.samplers import Sampler


def algorithm(algo: str | type[BaseAlgorithm]) -> type[BaseAlgorithm]:
    """Resolve an SB3 algorithm: a class, or a name (``"PPO"``, ``"A2C"``, ``"SAC"``, ...)."""
    cls = getattr(stable_baselines3, algo, None) if isinstance(algo, str) else algo
    if not (isinstance(cls, type) and issubclass(cls, BaseAlgorithm)):
        allowed = [n for n in stable_baselines3.__all__ if n.isupper()]
        raise ValueError(
            f"unknown SB3 algorithm {algo!r}; allowed are {allowed} or a BaseAlgorithm subclass"
        )
    return cls


@dataclass(frozen=True)
class TrainTask:
    """One follower's training for one phase: everything a worker needs, nothing live.

    Attributes:
        make_model: Episode factory, called as ``make_model(theta=..., seed=...)``.
        agent_type: The :class:`PolicyAgent` class being trained.
        algo: The SB3 algorithm class.
        algo_kwargs: Its constructor arguments (used when ``state`` is None).
        n_copies: Model copies in the training VecEnv.
        slots_per_copy: Most learning agents alive at once in one copy (None: sized from the
            first episodes, with headroom when the count varies with the seed).
        sampler: Theta distribution of the phase's episodes.
        steps: Agent-steps to train.
        learning_rate: A constant or an SB3 schedule.
        env_seed: Seed of the episodes' thetas and model seeds.
        train_seed: Seed of the algorithm's own randomness in this phase.
        init_seed: Seed of the network's initial weights (used when ``state`` is None).
        state: The algorithm saved at the end of its last phase; None to create it.
        snapshot: A file to save the phase in progress to, every ``snapshot_seconds``, and to
            resume it from (see :mod:`~mesa_adage.run.snapshot`); None for no snapshots. It
            is a path on the driver's machine, which a worker elsewhere reaches through it.
        snapshot_seconds: Least time between snapshots (0: at every rollout).
    """

    make_model: ModelFactory
    agent_type: type[mesa.Agent]
    algo: type[BaseAlgorithm]
    algo_kwargs: dict[str, Any]
    n_copies: int
    slots_per_copy: int | None
    sampler: Sampler
    steps: int
    learning_rate: float | Schedule
    env_seed: int
    train_seed: int
    init_seed: int
    state: bytes | None = field(default=None, repr=False)
    snapshot: Path | None = None
    snapshot_seconds: float = 300.0

    def key(self) -> str:
        """Identifies the phase: its start state, length and seeds (a snapshot's owner)."""
        start = sha256(self.state or b"")
        seeds = (self.steps, self.env_seed, self.train_seed, self.init_seed, self.n_copies)
        return sha256(f"{start} {seeds} {self.algo.__name__}".encode())


@dataclass(frozen=True)
class TrainOutcome:
    """What a :class:`TrainTask` leaves: the saved algorithm, its weights, episode returns."""

    state: bytes = field(repr=False)
    weights: dict[str, torch.Tensor] = field(repr=False)
    returns: list[float]


class Progress(BaseCallback):
    """Advances a tqdm bar by the agent-steps of every VecEnv step."""

    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True


def quiet(algo: BaseAlgorithm) -> BaseAlgorithm:
    """``algo`` with a logger that writes no files.

    SB3's default logger makes an empty ``SB3-<time>`` folder in the temp directory at every
    ``learn`` call: thousands over a run of many phases. With ``verbose`` >= 1 it still prints;
    with a ``tensorboard_log`` SB3's own logger is kept.
    """
    if getattr(algo, "tensorboard_log", None) is None:
        formats = [HumanOutputFormat(sys.stdout)] if algo.verbose >= 1 else []
        algo.set_logger(Logger(folder=None, output_formats=formats))
    return algo


def learn(task: TrainTask, callback: BaseCallback | None = None) -> TrainOutcome:
    """Run one :class:`TrainTask`: warm-start (or create) the algorithm and train it.

    With ``task.snapshot`` set, the phase resumes from the snapshot there if it belongs to
    this phase, and saves itself there as it goes.
    """
    restored, key = None, task.key() if task.snapshot is not None else ""
    if task.snapshot is not None:
        restored = snapshot.load(task.snapshot, key, task.algo, task.learning_rate)
    if restored is not None:
        algo, env, done = restored
    else:
        algo, done = _start(task), 0
        env = algo.get_env()
    assert isinstance(env, MesaVecEnv)
    callbacks = [] if callback is None else [callback]
    if task.snapshot is not None and snapshot.resumable(algo):
        start = algo.num_timesteps - done
        saver = snapshot.Snapshots(task.snapshot, key, env, start, task.snapshot_seconds)
        callbacks.append(saver)
    quiet(algo).learn(
        task.steps - done, reset_num_timesteps=False, callback=CallbackList(callbacks)
    )
    buffer = io.BytesIO()
    algo.save(buffer)
    weights = {k: v.detach().clone() for k, v in algo.policy.state_dict().items()}
    return TrainOutcome(buffer.getvalue(), weights, env.pop_returns())


def _start(task: TrainTask) -> BaseAlgorithm:
    env = MesaVecEnv(
        task.make_model,
        task.agent_type,
        task.sampler,
        n_copies=task.n_copies,
        seed=task.env_seed,
        slots_per_copy=task.slots_per_copy,
    )
    if task.state is None:
        algo = task.algo(
            "MlpPolicy",
            env,
            learning_rate=task.learning_rate,
            seed=task.init_seed,
            device="cpu",
            **task.algo_kwargs,
        )
    else:
        algo = task.algo.load(
            io.BytesIO(task.state),
            env=env,
            device="cpu",
            custom_objects={"learning_rate": task.learning_rate},
        )
    algo.set_random_seed(task.train_seed)
    return algo


def train(
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    sampler: Sampler,
    steps: int,
    *,
    algo: type[BaseAlgorithm],
    seed: int = 0,
    n_copies: int = 8,
    slots_per_copy: int | None = None,
    **algo_kwargs: Any,
) -> BaseAlgorithm:
    """Train a fresh SB3 policy for ``steps`` agent-steps with theta drawn from ``sampler``.

    A :class:`~mesa_adage.samplers.Fixed` sampler gives a specialist for one theta; pair it with
    ``observation=Subset(())`` in the factory for a policy that does not see theta at all.
    """
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        env = MesaVecEnv(
            make_model,
            agent_type,
            sampler,
            n_copies=n_copies,
            seed=seed,
            slots_per_copy=slots_per_copy,
        )
        model = algo("MlpPolicy", env, seed=seed, device="cpu", **algo_kwargs)
        return quiet(model).learn(steps)
