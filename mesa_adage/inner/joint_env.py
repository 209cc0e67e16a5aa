"""JointEnv: one model copy as a single-agent gymnasium ``Env``, its learning agents stacked."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mesa
import numpy as np

from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.inner.rollout import ModelFactory, advance
from mesa_adage.samplers import Sampler, Uniform


class JointEnv(gym.Env):
    """One model copy as a gymnasium ``Env``: the learning agents stacked, reward their mean.

    It is the centralised view of the same model, for gymnasium's and SB3's environment
    checkers and for single-agent tools; training uses :class:`MesaVecEnv`. The action
    space stacks the agents' own: a ``Box`` of one row per agent, ``Discrete`` choices as a
    ``MultiDiscrete``.

    Args:
        make_model: Factory called as ``make_model(theta=..., seed=...)``.
        agent_type: The :class:`PolicyAgent` class that acts.
        sampler: Distribution of theta over episodes.
    """

    def __init__(
        self,
        make_model: ModelFactory,
        agent_type: type[mesa.Agent],
        sampler: Sampler | None = None,
    ) -> None:
        self.make_model = make_model
        self.agent_type = agent_type
        self.sampler = sampler or Uniform()
        probe = make_model(theta=None, seed=0)
        n = len(probe.agents_by_type[agent_type])
        one = probe.observation_space(agent_type)
        self.observation_space = gym.spaces.Box(
            np.tile(one.low, (n, 1)), np.tile(one.high, (n, 1)), dtype=np.float32
        )
        self.action_space = _stacked(probe.learner(agent_type).action_space, n)
        self.model: AdaptiveModel = probe

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        theta = self.model.characteristics.sample(self.sampler, self.np_random)[0]
        self.model = self.make_model(theta=theta, seed=int(self.np_random.integers(2**31 - 1)))
        return self.model.observations(self.agent_type), {"theta": dict(self.model.theta)}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Every agent acts, the model steps once; the reward is the agents' mean reward."""
        self.model.inject_actions(self.agent_type, np.asarray(action))
        advance([self.model])
        reward = float(self.model.rewards(self.agent_type).mean())
        terminated = not self.model.running
        truncated = self.model.done and not terminated
        return self.model.observations(self.agent_type), reward, terminated, truncated, {}


def _stacked(space: gym.spaces.Space, n: int) -> gym.spaces.Space:
    """The joint action space of ``n`` agents that each act in ``space``."""
    if isinstance(space, gym.spaces.Box):
        return gym.spaces.Box(
            np.tile(space.low, (n, 1)), np.tile(space.high, (n, 1)), dtype=space.dtype
        )
    if isinstance(space, gym.spaces.Discrete):
        return gym.spaces.MultiDiscrete(np.full(n, space.n), start=np.full(n, space.start))
    if isinstance(space, gym.spaces.MultiDiscrete):
        return gym.spaces.MultiDiscrete(
            np.tile(space.nvec, (n, 1)), start=np.tile(space.start, (n, 1))
        )
    if isinstance(space, gym.spaces.MultiBinary):
        return gym.spaces.MultiBinary([n, *np.atleast_1d(space.n)])
    raise TypeError(
        f"JointEnv cannot stack the action space {space}; it stacks Box, Discrete, "
        "MultiDiscrete and MultiBinary spaces"
    )
