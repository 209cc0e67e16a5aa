"""Followers: the population of Stable-Baselines3 learners of the inner layer.

Every SB3 detail lives here: building an algorithm, warm-starting it from its saved state,
the learning-rate schedule, training under a theta sampler, Polyak-averaging the weights the
leader evaluates, and saving and loading. One follower's training for one phase is a
:class:`TrainTask`, plain data that :func:`learn` turns into a :class:`TrainOutcome`, so the
members of a population can train side by side through any executor.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import stable_baselines3
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.common.utils import LinearSchedule
from tqdm.auto import tqdm

from mesa_adage.executors import Executor, SerialExecutor
from mesa_adage.policies import SB3Policy
from mesa_adage.rollout import ModelFactory
from mesa_adage.samplers import Sampler
from mesa_adage.seeds import FOLLOWER, TRAIN_SEED, derive_seed
from mesa_adage.vec_env import MesaVecEnv


def algorithm(algo: str | type[BaseAlgorithm]) -> type[BaseAlgorithm]:
    """Resolve an SB3 algorithm: a class, or a name (``"PPO"``, ``"A2C"``, ``"SAC"``, ...)."""
    cls = getattr(stable_baselines3, algo, None) if isinstance(algo, str) else algo
    if not (isinstance(cls, type) and issubclass(cls, BaseAlgorithm)):
        allowed = [n for n in stable_baselines3.__all__ if n.isupper()]
        raise ValueError(
            f"unknown SB3 algorithm {algo!r}; allowed are {allowed} or a BaseAlgorithm subclass"
        )
    return cls


def policy_file(member: int) -> str:
    """File name of a follower policy: ``policy.zip``, then ``policy-1.zip``, ..."""
    return "policy.zip" if member == 0 else f"policy-{member}.zip"


@dataclass(frozen=True)
class TrainTask:
    """One follower's training for one phase: everything a worker needs, nothing live.

    Attributes:
        make_model: Episode factory, called as ``make_model(theta=..., seed=...)``.
        agent_type: The :class:`PolicyAgent` class being trained.
        algo: The SB3 algorithm class.
        algo_kwargs: Its constructor arguments (used when ``state`` is None).
        n_copies: Model copies in the training VecEnv.
        sampler: Theta distribution of the phase's episodes.
        steps: Agent-steps to train.
        learning_rate: A constant or an SB3 schedule.
        env_seed: Seed of the episodes' thetas and model seeds.
        train_seed: Seed of the algorithm's own randomness in this phase.
        init_seed: Seed of the network's initial weights (used when ``state`` is None).
        state: The algorithm saved at the end of its last phase; None to create it.
    """

    make_model: ModelFactory
    agent_type: type[mesa.Agent]
    algo: type[BaseAlgorithm]
    algo_kwargs: dict[str, Any]
    n_copies: int
    sampler: Sampler
    steps: int
    learning_rate: float | Schedule
    env_seed: int
    train_seed: int
    init_seed: int
    state: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TrainOutcome:
    """What a :class:`TrainTask` leaves: the saved algorithm, its weights, episode returns."""

    state: bytes = field(repr=False)
    weights: dict[str, torch.Tensor] = field(repr=False)
    returns: list[float]


class _Progress(BaseCallback):
    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True


def learn(task: TrainTask, callback: BaseCallback | None = None) -> TrainOutcome:
    """Run one :class:`TrainTask`: warm-start (or create) the algorithm and train it."""
    env = MesaVecEnv(
        task.make_model, task.agent_type, task.sampler, n_copies=task.n_copies, seed=task.env_seed
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
    algo.learn(task.steps, reset_num_timesteps=False, callback=callback)
    buffer = io.BytesIO()
    algo.save(buffer)
    weights = {k: v.detach().clone() for k, v in algo.policy.state_dict().items()}
    return TrainOutcome(buffer.getvalue(), weights, env.pop_returns())


class Followers:
    """A population of independently seeded, theta-conditioned SB3 policies.

    Each member trains on its own copy of the model, warm-started from phase to phase. The
    policies the leader evaluates are each member's Polyak-averaged weights
    (``avg = average * avg + (1 - average) * latest`` after every phase), which move slowly, so
    the leader sees a quasi-stationary follower.

    Args:
        make_model: Episode factory, called as ``make_model(theta=..., seed=...)``.
        agent_type: The :class:`PolicyAgent` class whose shared policy is trained.
        algo: SB3 algorithm class or name.
        algo_kwargs: Its constructor arguments (not ``learning_rate``).
        size: Members of the population.
        seed: Run seed; every member's streams derive from it.
        learning_rate: ``(first, final)``: the first phase (the warm-up) anneals from the first
            to the final rate; later phases train at the final one.
        average: Weight ``beta`` of the running average (0 evaluates the latest weights).
        n_copies: Model copies in each member's training VecEnv.
        executor: Where members train; they train side by side when it has several workers.
    """

    def __init__(
        self,
        make_model: ModelFactory,
        agent_type: type[mesa.Agent],
        *,
        algo: str | type[BaseAlgorithm] = "PPO",
        algo_kwargs: dict[str, Any] | None = None,
        size: int = 1,
        seed: int = 0,
        learning_rate: tuple[float, float] = (1e-3, 1e-4),
        average: float = 0.0,
        n_copies: int = 8,
        executor: Executor | None = None,
    ) -> None:
        self.make_model = make_model
        self.agent_type = agent_type
        self.algo = algorithm(algo)
        self.algo_kwargs = dict(algo_kwargs or {})
        self.size = size
        self.seed = seed
        self.learning_rate = learning_rate
        self.average = average
        self.n_copies = n_copies
        self.executor = executor or SerialExecutor()
        self.states: list[bytes] = []
        self.weights: list[dict[str, torch.Tensor]] = []
        self.averages: list[dict[str, torch.Tensor]] = []
        self.env_steps = 0

    def __len__(self) -> int:
        return len(self.states)

    def _task(self, member: int, steps: int, sampler: Sampler, epoch: int) -> TrainTask:
        first, final = self.learning_rate
        init = self.seed if member == 0 else derive_seed(self.seed, 0, TRAIN_SEED, member)
        return TrainTask(
            make_model=self.make_model,
            agent_type=self.agent_type,
            algo=self.algo,
            algo_kwargs=self.algo_kwargs,
            n_copies=self.n_copies,
            sampler=sampler,
            steps=steps,
            learning_rate=LinearSchedule(first, final, 1.0) if epoch == 0 else final,
            env_seed=derive_seed(self.seed, epoch, FOLLOWER, member),
            train_seed=derive_seed(self.seed, epoch, TRAIN_SEED, member),
            init_seed=init,
            state=self.states[member] if member < len(self.states) else None,
        )

    def train(self, steps: int, sampler: Sampler, epoch: int, *, progress: bool = True) -> float:
        """Train every member for ``steps`` agent-steps with theta drawn from ``sampler``.

        Epoch 0 is the warm-up (annealed learning rate); every random stream derives from
        ``(seed, epoch, member)``.

        Returns:
            The mean per-agent episode return over the episodes finished in the phase (NaN
            when ``steps`` is 0: the followers stay as they are).
        """
        if steps == 0:
            return float("nan")
        tasks = [self._task(member, steps, sampler, epoch) for member in range(self.size)]
        if self.executor.in_process:  # a live bar per member

            def run(member: int) -> TrainOutcome:
                tag = f" {member + 1}/{self.size}" if self.size > 1 else ""
                desc = f"  followers{tag} (epoch {epoch})"
                with tqdm(
                    total=steps, desc=desc, unit="step", disable=not progress, leave=False
                ) as bar:
                    return learn(tasks[member], _Progress(bar))

            outcomes = self.executor.map(run, range(self.size))
        else:  # members train in other processes: count them as they come back
            desc = f"  followers (epoch {epoch})"
            with tqdm(
                total=self.size, desc=desc, unit="policy", disable=not progress, leave=False
            ) as bar:
                outcomes = self.executor.map(learn, tasks, on_result=lambda i, o: bar.update())
        returns: list[float] = []
        for member, outcome in enumerate(outcomes):
            self._update(member, outcome.state, outcome.weights)
            returns += outcome.returns
        self.env_steps += steps * self.size
        return float(np.mean(returns)) if returns else float("nan")

    def _update(self, member: int, state: bytes, weights: dict[str, torch.Tensor]) -> None:
        if member == len(self.states):
            self.states.append(state)
            self.weights.append(weights)
            self.averages.append({k: v.clone() for k, v in weights.items()})
            return
        self.states[member], self.weights[member] = state, weights
        average = self.averages[member]
        for key, value in weights.items():
            if value.is_floating_point() and self.average > 0.0:
                average[key].mul_(self.average).add_(value, alpha=1.0 - self.average)
            else:
                average[key] = value.clone()

    def _network(self, member: int, weights: dict[str, torch.Tensor]) -> BasePolicy:
        net = self.algo.load(io.BytesIO(self.states[member]), device="cpu").policy
        net.load_state_dict(weights)
        return net

    def policies(self) -> list[SB3Policy]:
        """The policies the leader evaluates: each member's averaged weights, frozen."""
        policies = []
        for member, average in enumerate(self.averages):
            net = self._network(member, average)
            net.set_training_mode(False)
            policies.append(SB3Policy(net))
        return policies

    # ------------------------------------------------------------------ files

    def save(self, directory: Path) -> None:
        """Write every member's algorithm (with optimiser state) and averaged weights."""
        for member, (state, average) in enumerate(zip(self.states, self.averages, strict=True)):
            path = directory / policy_file(member)
            _atomic(path, lambda tmp, s=state: tmp.write_bytes(s))
            _atomic(_average_path(path), lambda tmp, a=average: torch.save(a, tmp))

    def load(self, directory: Path, env_steps: int) -> None:
        """Restore the population written by :meth:`save`."""
        self.states, self.weights, self.averages = [], [], []
        for member in range(self.size):
            path = directory / policy_file(member)
            self.states.append(path.read_bytes())
            self.weights.append(self.algo.load(path, device="cpu").policy.state_dict())
            self.averages.append(torch.load(_average_path(path)))
        self.env_steps = env_steps

    def save_answer(self, directory: Path) -> None:
        """Write each member as an SB3 model file holding the weights the leader evaluated."""
        for member, (state, average) in enumerate(zip(self.states, self.averages, strict=True)):
            algo = self.algo.load(io.BytesIO(state), device="cpu")
            algo.policy.load_state_dict(average)
            algo.save(directory / policy_file(member))


def _average_path(policy_path: Path) -> Path:
    return policy_path.with_name(policy_path.name.replace(".zip", "_average.pt"))


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
