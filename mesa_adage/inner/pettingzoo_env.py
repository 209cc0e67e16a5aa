"""A PettingZoo ``ParallelEnv`` view of any adaptive model, for other MARL libraries.

Every learning agent of one model copy is a PettingZoo agent, named
``"<AgentClass>_<unique_id>"``; its observation carries its ``theta_hat``, and each episode
draws theta from a sampler. RLlib, TorchRL, AgileRL and other PettingZoo users can train on
it; :class:`~mesa_adage.inner.vec_env.MesaVecEnv` stays the fast path for Stable-Baselines3.
Needs the ``pettingzoo`` extra: ``pip install -e ".[pettingzoo]"``.

Clients tried (``tests/test_pettingzoo_env.py``): PettingZoo's ``parallel_api_test`` and
``parallel_seed_test``, and SuperSuit 3.11 into Stable-Baselines3 PPO
(``pettingzoo_env_to_vec_env_v1`` then ``concat_vec_envs_v1(..., base_class=
"stable_baselines3")``). SuperSuit needs the same agents in every episode (a population that
never changes) and its VecEnv has no ``seed()``: build the SB3 algorithm without ``seed=``.
It copies the view by pickling, so every copy draws the same thetas until the copies are
reset once with a seed (``vec_env.venv.reset(seed=0)`` gives copy ``i`` the seed ``i``).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import gymnasium as gym
import mesa
import numpy as np

from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.inner.rollout import ModelFactory, advance
from mesa_adage.samplers import Sampler, Uniform

try:
    from pettingzoo import ParallelEnv
except ImportError as err:  # pragma: no cover - exercised by users without the extra
    raise ImportError(
        "mesa_adage.inner.pettingzoo_env needs PettingZoo: pip install -e '.[pettingzoo]' (or pip "
        "install 'mesa-adage[pettingzoo]')"
    ) from err


class ParallelView(ParallelEnv):
    """One copy of an adaptive model as a PettingZoo ``ParallelEnv``.

    Agents may be born and die. An agent that dies in a step is reported once more, terminated,
    with its reward for that step and a blank observation (zeros within its space); a newborn
    appears in the step's results, with reward 0, and acts from the next step. Mesa cannot say
    in advance who will be born, so ``possible_agents`` is the episode's agents so far: it
    grows with each birth.

    Each view has its own copy of every space, so seeding one (as ``parallel_seed_test`` does)
    leaves the agent classes' spaces and other views alone.

    Args:
        make_model: Factory called as ``make_model(theta=..., seed=...)``.
        sampler: Distribution of theta over episodes (uniform over the box by default).
        seed: Seed of the theta and model-seed stream (``reset(seed=...)`` reseeds it).

    Attributes:
        render_mode: Always None: a Mesa model is drawn by its own page (``SolaraViz``), not
            by the environment.

    Raises:
        ValueError: If the model has no learning agents.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "mesa_adage_parallel_v0", "render_modes": []}
    render_mode: str | None = None

    def __init__(self, make_model: ModelFactory, sampler: Sampler | None = None, seed: int = 0):
        self.make_model = make_model
        self.sampler = sampler or Uniform()
        self._rng = np.random.default_rng(seed)
        probe = make_model(theta=None, seed=0)
        if not probe.policy_agent_types:
            raise ValueError(f"{type(probe).__name__} has no learning agents to expose")
        self._kinds = {kind.__name__: kind for kind in probe.policy_agent_types}
        self._spaces = {  # copies: clients seed them
            kind: (probe.observation_space(kind), copy.deepcopy(probe.learner(kind).action_space))
            for kind in probe.policy_agent_types
        }
        self._blank = {
            kind: np.clip(0.0, obs.low, obs.high).astype(np.float32)
            for kind, (obs, _) in self._spaces.items()
        }
        self._now = _names(probe)  # the learning agents' names, as of the last step
        self.possible_agents = [n for names in self._now.values() for n in names]
        self.agents: list[str] = []
        self.model: AdaptiveModel = probe

    def _kind(self, agent: str) -> type[mesa.Agent]:
        kind = self._kinds.get(agent.rpartition("_")[0])
        if kind is None:
            raise ValueError(
                f"unknown agent {agent!r}; names are '<AgentClass>_<unique_id>' with a class "
                f"in {sorted(self._kinds)}"
            )
        return kind

    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._spaces[self._kind(agent)][0]

    def action_space(self, agent: str) -> gym.spaces.Space:
        return self._spaces[self._kind(agent)][1]

    def render(self) -> None:
        """Nothing to draw (``render_mode`` is None); show the model with Mesa's ``SolaraViz``."""
        return None

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        theta = self.model.characteristics.sample(self.sampler, self._rng)[0]
        self.model = self.make_model(theta=theta, seed=int(self._rng.integers(2**31 - 1)))
        self._now = names = _names(self.model)
        self.possible_agents = []
        self.agents = self._meet(names)
        observations = self._observations(names)
        return observations, {name: {"theta": dict(self.model.theta)} for name in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        acting = self._now  # named at the end of the last step (or reset)
        for kind, kind_names in acting.items():
            missing = [n for n in kind_names if n not in actions]
            if missing:
                raise ValueError(f"step got no action for agents {missing[:3]}")
            if kind_names:
                self.model.inject_actions(kind, np.asarray([actions[n] for n in kind_names]))
        advance([self.model])
        self._now = now = _names(self.model)
        ended = self.model.done
        alive = {n for kind_names in now.values() for n in kind_names}
        self.agents = [] if ended else self._meet(now)  # born at the very end: never seen
        rewards = dict.fromkeys(self.agents, 0.0)  # the newborn's first reward
        for kind, kind_names in acting.items():
            rewards |= dict(zip(kind_names, map(float, self.model.rewards(kind)), strict=True))
        seen = self._observations(now)
        observations = {n: seen[n] if n in alive else self._blank[self._kind(n)] for n in rewards}
        terminated = {n: n not in alive or not self.model.running for n in rewards}
        truncated = {n: ended and not terminated[n] for n in rewards}
        return observations, rewards, terminated, truncated, {n: {} for n in rewards}

    def _meet(self, names: dict[type[mesa.Agent], list[str]]) -> list[str]:
        """All the names, in order; new ones join ``possible_agents``."""
        flat = [n for kind_names in names.values() for n in kind_names]
        known = set(self.possible_agents)
        self.possible_agents += [n for n in flat if n not in known]
        return flat

    def _observations(self, names: dict[type[mesa.Agent], list[str]]) -> dict[str, np.ndarray]:
        out = {}
        for kind, kind_names in names.items():
            out |= dict(zip(kind_names, self.model.observations(kind), strict=True))
        return out


def _names(model: AdaptiveModel) -> dict[type[mesa.Agent], list[str]]:
    """PettingZoo names of the learning agents, ``"<AgentClass>_<unique_id>"``, by class."""
    return {
        kind: [f"{kind.__name__}_{agent.unique_id}" for agent in model.agents_by_type[kind]]
        for kind in model.policy_agent_types
    }
