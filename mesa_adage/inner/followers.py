"""Followers: the population of theta-conditioned SB3 learners of the inner layer.

It creates and warm-starts its members phase after phase (each phase one
:class:`~mesa_adage.inner.training.TrainTask` per member, run through an executor), keeps the
Polyak-averaged weights the leader evaluates, and saves and loads them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import LinearSchedule
from tqdm.auto import tqdm

from mesa_adage.inner.policies import SB3Policy
from mesa_adage.inner.rollout import ModelFactory
from mesa_adage.inner.training import Progress, TrainOutcome, TrainTask, algorithm, learn
from mesa_adage.run.checkpoint import CheckpointError
from mesa_adage.run.executors import Executor, SerialExecutor
from mesa_adage.samplers import Sampler
from mesa_adage.seeds import FOLLOWER, TRAIN_SEED, derive_seed, init_seed


def policy_file(member: int) -> str:
    """File name of a follower policy: ``policy.zip``, then ``policy-1.zip``, ..."""
    return "policy.zip" if member == 0 else f"policy-{member}.zip"


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
        slots_per_copy: Most learning agents alive at once in one copy (None: sized from the
            first episodes, with headroom when the count varies with the seed).
        executor: Where members train; they train side by side when it has several workers.
        snapshots: A folder where each member saves a phase in progress (at most every
            ``snapshot_seconds``) and resumes it from; None for no snapshots. Workers reach
            it through the driver (:func:`~mesa_adage.run.executors.on_driver`).
        snapshot_seconds: Least time between snapshots of a member (0: every rollout).
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
        slots_per_copy: int | None = None,
        executor: Executor | None = None,
        snapshots: Path | None = None,
        snapshot_seconds: float = 300.0,
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
        self.slots_per_copy = slots_per_copy
        self.executor = executor or SerialExecutor()
        self.snapshots = snapshots
        self.snapshot_seconds = snapshot_seconds
        self.states: list[bytes] = []
        self.averages: list[dict[str, torch.Tensor]] = []
        self.env_steps = 0

    def __len__(self) -> int:
        return len(self.states)

    def _task(self, member: int, steps: int, sampler: Sampler, epoch: int) -> TrainTask:
        first, final = self.learning_rate
        return TrainTask(
            make_model=self.make_model,
            agent_type=self.agent_type,
            algo=self.algo,
            algo_kwargs=self.algo_kwargs,
            n_copies=self.n_copies,
            slots_per_copy=self.slots_per_copy,
            sampler=sampler,
            steps=steps,
            learning_rate=LinearSchedule(first, final, 1.0) if epoch == 0 else final,
            env_seed=derive_seed(self.seed, epoch, FOLLOWER, member),
            train_seed=derive_seed(self.seed, epoch, TRAIN_SEED, member),
            init_seed=init_seed(self.seed, member),
            state=self.states[member] if member < len(self.states) else None,
            snapshot=self.snapshot_path(epoch, member) if self.snapshots else None,
            snapshot_seconds=self.snapshot_seconds,
        )

    def snapshot_path(self, epoch: int, member: int) -> Path:
        """The snapshot file of a member's phase in progress in ``epoch`` (0: the warm-up)."""
        assert self.snapshots is not None
        return self.snapshots / f"epoch-{epoch:04d}-member-{member}.snapshot"

    def drop_snapshots(self) -> None:
        """Delete every snapshot: call once the phases they belong to are committed."""
        if self.snapshots is not None:
            for path in self.snapshots.glob("*.snapshot"):
                path.unlink(missing_ok=True)

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
                    return learn(tasks[member], Progress(bar))

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
            self.averages.append({k: v.clone() for k, v in weights.items()})
            return
        self.states[member] = state
        average = self.averages[member]
        for key, value in weights.items():
            if value.is_floating_point() and self.average > 0.0:
                average[key].mul_(self.average).add_(value, alpha=1.0 - self.average)
            else:
                average[key] = value.clone()

    def latest(self, member: int) -> BasePolicy:
        """A member's policy network with its latest (not averaged) weights."""
        return self.algo.load(io.BytesIO(self.states[member]), device="cpu").policy

    def policies(self) -> list[SB3Policy]:
        """The policies the leader evaluates: each member's averaged weights, frozen."""
        policies = []
        for member, average in enumerate(self.averages):
            net = self.latest(member)
            net.load_state_dict(average)
            net.set_training_mode(False)
            policies.append(SB3Policy(net))
        return policies

    # ------------------------------------------------------------------ files

    def files(self) -> dict[str, bytes]:
        """Every member's algorithm (with optimiser state) and averaged weights, by file name."""
        files = {}
        for member, (state, average) in enumerate(zip(self.states, self.averages, strict=True)):
            buffer = io.BytesIO()
            torch.save(average, buffer)
            files[policy_file(member)] = state
            files[average_file(member)] = buffer.getvalue()
        return files

    def load(self, files: dict[str, bytes], env_steps: int) -> None:
        """Restore the population from :meth:`files`.

        Raises:
            CheckpointError: If a member's file is missing or cannot be read, naming it.
        """
        states, averages = [], []
        for member in range(self.size):
            name = policy_file(member)
            if name not in files or average_file(member) not in files:
                raise CheckpointError(
                    f"the checkpoint holds no {name} or {average_file(member)}, but the run has "
                    f"{self.size} followers; was --followers changed? Resume with the run's own"
                )
            try:
                self.algo.load(io.BytesIO(files[name]), device="cpu")
            except Exception as err:  # zipfile, pickle and torch errors have no common base
                raise CheckpointError(
                    f"checkpoint file {name} is not a readable {self.algo.__name__} model "
                    f"({type(err).__name__}: {err})"
                ) from None
            states.append(files[name])
            averages.append(load_weights(files[average_file(member)], average_file(member)))
        self.states, self.averages, self.env_steps = states, averages, env_steps

    def save_answer(self, directory: Path) -> None:
        """Write each member as an SB3 model file holding the weights the leader evaluated."""
        for member, (state, average) in enumerate(zip(self.states, self.averages, strict=True)):
            algo = self.algo.load(io.BytesIO(state), device="cpu")
            algo.policy.load_state_dict(average)
            algo.save(directory / policy_file(member))


def average_file(member: int) -> str:
    """File name of a follower's averaged weights: ``policy_average.pt``, ..."""
    return policy_file(member).replace(".zip", "_average.pt")


def load_weights(data: bytes, name: str) -> dict[str, torch.Tensor]:
    """Averaged weights as :meth:`Followers.files` wrote them: a table of named tensors.

    Only tensors are unpickled (``weights_only``), whatever torch's default: any other object
    in the file could run code as it is unpickled.

    Raises:
        CheckpointError: If the file holds anything else, naming it.
    """
    try:
        table = torch.load(io.BytesIO(data), weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        # torch's own message advises weights_only=False; pass on only what it found
        lines = [line.strip() for line in str(err).splitlines() if "unsupported" in line.lower()]
        raise CheckpointError(
            f"checkpoint file {name} is not readable torch weights ({type(err).__name__}: "
            f"{lines[0] if lines else str(err)[:200]}); adage unpickles plain tensors only, "
            "since other objects can run code as they load: the file is damaged or was not "
            "written by adage"
        ) from None
    if not (isinstance(table, dict) and all(isinstance(v, torch.Tensor) for v in table.values())):
        raise CheckpointError(
            f"checkpoint file {name} holds a {type(table).__name__}, not the table of named "
            "tensors adage writes: it was not written by adage"
        )
    return table
