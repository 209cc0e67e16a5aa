"""A follower phase interrupted after a snapshot resumes to the bit of an uninterrupted one."""

import dataclasses

import pytest
import torch
from stable_baselines3 import A2C, PPO, SAC
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage.inner.training import TrainTask, learn
from mesa_adage.run.checkpoint import CheckpointError
from mesa_adage.samplers import Uniform
from tests.toy import Guesser, Toy


class Steps(BaseCallback):
    """Counts the VecEnv steps a phase runs."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def _on_step(self) -> bool:
        self.steps += 1
        return True


class Interrupt(BaseCallback):
    """Stops the phase (as a kill would) at the ``at``-th rollout, after the snapshot there."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.rollouts = at, 0

    def _on_rollout_start(self) -> None:
        self.rollouts += 1

    def _on_step(self) -> bool:
        if self.rollouts == self.at:
            raise KeyboardInterrupt
        return True


def task(algo, tmp_path, **kwargs):
    return TrainTask(
        make_model=Toy,
        agent_type=Guesser,
        algo=algo,
        algo_kwargs=kwargs,
        n_copies=2,
        slots_per_copy=None,
        sampler=Uniform(),
        steps=600,
        learning_rate=LinearSchedule(3e-3, 1e-3, 1.0),
        env_seed=11,
        train_seed=12,
        init_seed=13,
        snapshot=tmp_path / "phase.snapshot",
        snapshot_seconds=0.0,
    )


def same(a, b):
    assert a.returns == b.returns
    assert a.weights.keys() == b.weights.keys()
    for key in a.weights:
        assert torch.equal(a.weights[key], b.weights[key]), key


@pytest.mark.parametrize(
    ("algo", "kwargs"),
    [
        (PPO, {"n_steps": 16, "batch_size": 32, "n_epochs": 2}),
        (A2C, {"n_steps": 8}),
        (SAC, {"learning_starts": 60, "train_freq": 4, "batch_size": 16}),
    ],
)
def test_a_resumed_phase_equals_an_uninterrupted_one(tmp_path, algo, kwargs):
    counted = Steps()
    full = learn(dataclasses.replace(task(algo, tmp_path, **kwargs), snapshot=None), counted)
    cut = task(algo, tmp_path, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        learn(cut, Interrupt(at=3))
    assert cut.snapshot.exists()
    rest = Steps()
    same(full, learn(cut, rest))
    assert 0 < rest.steps < counted.steps  # it went on from the snapshot, not from the start


def test_a_snapshot_of_another_phase_is_ignored_and_a_damaged_one_is_an_error(tmp_path):
    kwargs = {"n_steps": 16, "batch_size": 32}
    one = task(PPO, tmp_path, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        learn(one, Interrupt(at=2))
    other = dataclasses.replace(one, train_seed=99)
    full = learn(dataclasses.replace(other, snapshot=None))
    same(full, learn(dataclasses.replace(other, snapshot_seconds=1e9)))  # starts afresh
    data = one.snapshot.read_bytes()
    one.snapshot.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"phase\.snapshot .* truncated or corrupt; delete"):
        learn(one)
