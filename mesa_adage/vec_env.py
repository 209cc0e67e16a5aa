"""MesaVecEnv: every learning agent of every model copy is one slot of an SB3 VecEnv."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import mesa
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from mesa_adage.model import AdaptiveModel
from mesa_adage.policies import Policy
from mesa_adage.rollout import ModelFactory, advance, inject_batched
from mesa_adage.samplers import Sampler, Uniform


class MesaVecEnv(VecEnv):
    """A Stable-Baselines3 ``VecEnv`` over ``n_copies`` copies of an adaptive Mesa model.

    Slot ``c * n + j`` is agent ``j`` of ``agent_type`` in copy ``c``, so any SB3 algorithm
    trains one shared policy on all agents at once. Each copy's episode draws a fresh theta from
    ``sampler``; observations carry each agent's ``theta_hat``, so the policy learns
    ``pi(a | o, theta_hat)``. Agents of other classes act through ``policies``.

    Episodes end at the model's horizon (reported as truncation, so SB3 bootstraps) or when the
    model stops running (termination). The number of learning agents must be the same in every
    episode.

    Args:
        make_model: Factory called as ``make_model(theta=..., seed=...)``.
        agent_type: The :class:`PolicyAgent` class being trained.
        sampler: Distribution of theta over episodes.
        n_copies: Number of model copies stepped together.
        seed: Seed of the theta and model-seed stream.
        policies: Policies of the other agent classes, if any.

    Attributes:
        episode_returns: Per-agent episode returns finished since the last :meth:`pop_returns`.
    """

    def __init__(
        self,
        make_model: ModelFactory,
        agent_type: type[mesa.Agent],
        sampler: Sampler | None = None,
        *,
        n_copies: int = 8,
        seed: int = 0,
        policies: Mapping[type[mesa.Agent], Policy] | None = None,
    ) -> None:
        if not (isinstance(n_copies, int) and n_copies > 0):
            raise ValueError(f"n_copies={n_copies!r} must be a positive integer")
        self.make_model = make_model
        self.agent_type = agent_type
        self.sampler = sampler or Uniform()
        self.policies = dict(policies or {})
        self.n_copies = n_copies
        self._rng = np.random.default_rng(seed)
        probe = make_model(theta=None, seed=0)
        if agent_type not in probe.policy_agent_types:
            raise ValueError(
                f"agent_type={agent_type.__name__} has no agents in {type(probe).__name__}; "
                f"its policy agents are {[t.__name__ for t in probe.policy_agent_types]}"
            )
        self.agents_per_copy = len(probe.agents_by_type[agent_type])
        self.characteristics = probe.characteristics
        super().__init__(
            n_copies * self.agents_per_copy,
            probe.observation_space(agent_type),
            probe.learner(agent_type).action_space,
        )
        self.models: list[AdaptiveModel] = []
        self._actions: np.ndarray | None = None
        self._returns = np.zeros(self.num_envs)
        self.episode_returns: list[float] = []

    # ------------------------------------------------------------------ episodes

    def _new_episode(self) -> AdaptiveModel:
        theta = self.characteristics.sample(self.sampler, self._rng)[0]
        model = self.make_model(theta=theta, seed=int(self._rng.integers(2**31 - 1)))
        n = len(model.agents_by_type.get(self.agent_type, ()))
        if n != self.agents_per_copy:
            raise RuntimeError(
                f"an episode started with {n} {self.agent_type.__name__} agents but the env has "
                f"{self.agents_per_copy} slots per copy; the count must not change"
            )
        return model

    def _obs(self, model: AdaptiveModel) -> np.ndarray:
        return model.observations(self.agent_type)

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Reseed the theta and model-seed stream; takes effect at the next reset."""
        self._rng = np.random.default_rng(seed)
        return [seed] * self.num_envs

    def reset(self) -> np.ndarray:
        self.models = [self._new_episode() for _ in range(self.n_copies)]
        self._returns[:] = 0.0
        return np.concatenate([self._obs(m) for m in self.models])

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        if self._actions is None:
            raise RuntimeError("step_wait called before step_async")
        n = self.agents_per_copy
        actions = self._actions.reshape(self.num_envs, *self.action_space.shape)
        for c, model in enumerate(self.models):
            model.inject_actions(self.agent_type, actions[c * n : (c + 1) * n])
        if self.policies:
            inject_batched(self.models, self.policies)
        advance(self.models)
        self._actions = None

        obs = np.empty((self.num_envs, *self.observation_space.shape), dtype=np.float32)
        rewards = np.empty(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for c, model in enumerate(self.models):
            span = slice(c * n, (c + 1) * n)
            rewards[span] = model.rewards(self.agent_type)
            self._returns[span] += rewards[span]
            obs[span] = self._obs(model)
            if model.done:
                truncated = model.running
                for j in range(c * n, (c + 1) * n):
                    infos[j] = {
                        "terminal_observation": obs[j].copy(),
                        "TimeLimit.truncated": truncated,
                        "episode": {"r": float(self._returns[j]), "l": model.steps, "t": 0.0},
                    }
                self.episode_returns.extend(self._returns[span].tolist())
                dones[span] = True
                self._returns[span] = 0.0
                self.models[c] = self._new_episode()
                obs[span] = self._obs(self.models[c])
        return obs, rewards, dones, infos

    def pop_returns(self) -> list[float]:
        """Return and clear the per-agent episode returns finished so far."""
        out, self.episode_returns = self.episode_returns, []
        return out

    # ------------------------------------------------------------------ VecEnv plumbing

    def close(self) -> None:
        self.models = []

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        value = getattr(self, attr_name, None)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any
    ) -> list[Any]:
        result = getattr(self, method_name)(*args, **kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: Any = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


class JointEnv(gym.Env):
    """One model copy as a gymnasium ``Env``: the learning agents stacked, reward their mean.

    It is the centralised view of the same model, for gymnasium's and SB3's environment
    checkers and for single-agent tools; training uses :class:`MesaVecEnv`.

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
        act = probe.learner(agent_type).action_space
        self.action_space = gym.spaces.Box(
            np.tile(act.low, (n, 1)), np.tile(act.high, (n, 1)), dtype=act.dtype
        )
        self.model: AdaptiveModel = probe

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        theta = self.model.characteristics.sample(self.sampler, self.np_random)[0]
        self.model = self.make_model(theta=theta, seed=int(self.np_random.integers(2**31 - 1)))
        return self.model.observations(self.agent_type), {"theta": dict(self.model.theta)}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.model.inject_actions(self.agent_type, np.asarray(action))
        advance([self.model])
        reward = float(self.model.rewards(self.agent_type).mean())
        terminated = not self.model.running
        truncated = self.model.done and not terminated
        return self.model.observations(self.agent_type), reward, terminated, truncated, {}
