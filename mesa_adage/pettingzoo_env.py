"""A PettingZoo ``ParallelEnv`` view of any adaptive model, for other MARL libraries.

Every learning agent of one model copy is a PettingZoo agent, named
``"<AgentClass>_<unique_id>"``; its observation carries its ``theta_hat``, and each episode
draws theta from a sampler. RLlib, TorchRL, AgileRL and other PettingZoo users can train on
it; :class:`~mesa_adage.MesaVecEnv` stays the fast path for Stable-Baselines3. Needs the
``pettingzoo`` extra: ``pip install -e ".[pettingzoo]"``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import mesa
import numpy as np

from mesa_adage.model import AdaptiveModel
from mesa_adage.rollout import ModelFactory, advance
from mesa_adage.samplers import Sampler, Uniform

try:
    from pettingzoo import ParallelEnv
except ImportError as err:  # pragma: no cover - exercised by users without the extra
    raise ImportError(
        "mesa_adage.pettingzoo_env needs PettingZoo: pip install -e '.[pettingzoo]' (or pip "
        "install 'mesa-adage[pettingzoo]')"
    ) from err


class ParallelView(ParallelEnv):
    """One copy of an adaptive model as a PettingZoo ``ParallelEnv``.

    Args:
        make_model: Factory called as ``make_model(theta=..., seed=...)``.
        sampler: Distribution of theta over episodes (uniform over the box by default).
        seed: Seed of the theta and model-seed stream (``reset(seed=...)`` reseeds it).

    Raises:
        ValueError: If the model has no learning agents.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "mesa_adage_parallel_v0"}

    def __init__(self, make_model: ModelFactory, sampler: Sampler | None = None, seed: int = 0):
        self.make_model = make_model
        self.sampler = sampler or Uniform()
        self._rng = np.random.default_rng(seed)
        probe = make_model(theta=None, seed=0)
        if not probe.policy_agent_types:
            raise ValueError(f"{type(probe).__name__} has no learning agents to expose")
        names = _names(probe)
        self.possible_agents = [n for kind_names in names.values() for n in kind_names]
        self._observation_spaces, self._action_spaces = {}, {}
        for kind, kind_names in names.items():
            self._observation_spaces |= dict.fromkeys(kind_names, probe.observation_space(kind))
            self._action_spaces |= dict.fromkeys(kind_names, probe.learner(kind).action_space)
        self.agents: list[str] = []
        self.model: AdaptiveModel = probe

    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> gym.spaces.Space:
        return self._action_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        theta = self.model.characteristics.sample(self.sampler, self._rng)[0]
        self.model = self.make_model(theta=theta, seed=int(self._rng.integers(2**31 - 1)))
        names = [n for kind_names in _names(self.model).values() for n in kind_names]
        if names != self.possible_agents:
            raise RuntimeError(
                "an episode started with other learning agents than the first one; "
                "ParallelView needs the same agents in every episode"
            )
        self.agents = list(names)
        return self._observations(), {name: {"theta": dict(self.model.theta)} for name in names}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        names = _names(self.model)
        for kind, kind_names in names.items():
            missing = [n for n in kind_names if n not in actions]
            if missing:
                raise ValueError(f"step got no action for agents {missing[:3]}")
            self.model.inject_actions(kind, np.asarray([actions[n] for n in kind_names]))
        advance([self.model])
        rewards = {}
        for kind, kind_names in names.items():
            rewards |= dict(zip(kind_names, map(float, self.model.rewards(kind)), strict=True))
        terminated = not self.model.running
        truncated = self.model.done and not terminated
        observations = self._observations()
        acted = list(self.agents)
        if self.model.done:
            self.agents = []
        return (
            observations,
            rewards,
            dict.fromkeys(acted, terminated),
            dict.fromkeys(acted, truncated),
            {n: {} for n in acted},
        )

    def _observations(self) -> dict[str, np.ndarray]:
        out = {}
        for kind, kind_names in _names(self.model).items():
            out |= dict(zip(kind_names, self.model.observations(kind), strict=True))
        return out


def _names(model: AdaptiveModel) -> dict[type[mesa.Agent], list[str]]:
    """PettingZoo names of the learning agents, ``"<AgentClass>_<unique_id>"``, by class."""
    return {
        kind: [f"{kind.__name__}_{agent.unique_id}" for agent in model.agents_by_type[kind]]
        for kind in model.policy_agent_types
    }
