"""An RL leader: a Stable-Baselines3 agent whose action is theta.

Each epoch's leader phase is one PPO update: ``n`` slots each propose a theta (a sample of the
Gaussian policy), the batch is evaluated with the frozen followers, and the objective values are
the rewards of a one-step episode (a continuous bandit). The leader's learning rate is the
PPO learning rate, ``alpha_L``; the slots are the candidates per epoch, fixed by the first
phase. A skipped candidate (``-inf``) is rewarded as the batch's worst scored one, so PPO
never sees an infinity.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.leaders.base import Evaluate, Leader
from mesa_adage.leaders.registry import register


class _BanditEnv(VecEnv):
    """``n`` slots; each step every slot proposes a theta and gets its objective as reward."""

    def __init__(self, space: Characteristics, n: int, record: Callable) -> None:
        k = len(space)
        super().__init__(
            n,
            gym.spaces.Box(0.0, 0.0, shape=(1,), dtype=np.float32),
            gym.spaces.Box(-1.0, 1.0, shape=(k,), dtype=np.float32),
        )
        self.space = space
        self.record = record
        self.evaluate: Evaluate | None = None
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        return np.zeros((self.num_envs, 1), dtype=np.float32)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        if self.evaluate is None or self._actions is None:
            raise RuntimeError("the RL leader's bandit stepped outside a leader phase")
        units = np.clip(self._actions, -1.0, 1.0)
        thetas = [self.space.from_unit(u) for u in units]
        values = self.evaluate(thetas)
        self.record(thetas, values)
        rewards = np.asarray(values, dtype=np.float64)
        failed = ~np.isfinite(rewards)  # skipped candidates (-inf): as bad as the batch's worst
        rewards[failed] = rewards[~failed].min() if (~failed).any() else 0.0
        obs = self.reset()
        infos = [{"terminal_observation": o} for o in obs]
        return obs, rewards.astype(np.float32), np.ones(self.num_envs, bool), infos

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self, attr_name, None) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kw: Any) -> list:
        return [getattr(self, method_name)(*args, **kw) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


@register("rl")
class RLLeader(Leader):
    """A PPO agent that proposes theta; one policy update per leader phase.

    Args:
        space: The characteristics searched.
        seed: Seed of the agent.
        alpha_L: PPO learning rate of the leader.
        log_std_init: Initial exploration, log std in normalised units.
    """

    name = "rl"

    def __init__(
        self,
        space: Characteristics,
        seed: int = 0,
        alpha_L: float = 3e-3,
        log_std_init: float = -0.5,
    ) -> None:
        super().__init__(space, seed)
        if not alpha_L > 0:
            raise ValueError(f"RLLeader: alpha_L={alpha_L} must be > 0")
        self.alpha_L = alpha_L
        self.log_std_init = log_std_init
        self.env: _BanditEnv | None = None
        self.agent: PPO | None = None

    def _build(self, candidates: int) -> PPO:
        if candidates < 2:
            raise ValueError(f"RLLeader needs at least 2 candidates per epoch, got {candidates}")
        self.env = _BanditEnv(self.space, candidates, super().tell)
        self.agent = PPO(
            "MlpPolicy",
            self.env,
            n_steps=1,
            batch_size=candidates,
            n_epochs=10,
            learning_rate=self.alpha_L,
            gamma=0.0,
            ent_coef=0.0,
            seed=self.seed,
            device="cpu",
            policy_kwargs={"net_arch": [16], "log_std_init": self.log_std_init},
        )
        return self.agent

    @property
    def incumbent(self) -> Theta:
        """The policy's mean proposal (the defaults before the first phase)."""
        if self.agent is None:
            return self.space.defaults
        unit, _ = self.agent.predict(np.zeros((1, 1), np.float32), deterministic=True)
        return self.space.from_unit(np.clip(unit[0], -1, 1))

    def ask(self, n: int) -> list[Theta]:
        """Samples of the current policy, drawn with the leader's own generator."""
        agent = self.agent or self._build(n)
        with torch.no_grad():
            dist = agent.policy.get_distribution(torch.zeros((1, 1))).distribution
            mean, std = dist.mean.numpy()[0], dist.stddev.numpy()[0]
        units = np.clip(mean + std * self.rng.standard_normal((n, len(mean))), -1, 1)
        return [self.space.from_unit(u) for u in units]

    def phase(self, evaluate: Evaluate, n: int) -> tuple[list[Theta], list[float]]:
        """One PPO update on ``n`` proposals evaluated together."""
        agent = self.agent or self._build(n)
        if n != self.env.num_envs:
            raise ValueError(f"RLLeader was built for {self.env.num_envs} candidates, asked {n}")
        before = len(self.history)
        self.env.evaluate = evaluate
        agent.learn(n, reset_num_timesteps=False)
        self.env.evaluate = None
        thetas, values = zip(*self.history[before:], strict=True)
        return list(thetas), list(values)

    def state_dict(self) -> dict[str, Any]:
        if self.agent is None:
            return super().state_dict()
        buffer = io.BytesIO()
        self.agent.save(buffer)
        agent = base64.b64encode(buffer.getvalue()).decode()
        return {**super().state_dict(), "agent": agent, "candidates": self.env.num_envs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "agent" in state:
            self._build(int(state["candidates"]))
            buffer = io.BytesIO(base64.b64decode(state["agent"]))
            self.agent = PPO.load(buffer, env=self.env, device="cpu")
