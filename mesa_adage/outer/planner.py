"""A leader inside the episode: a planner that sets theta every ``k`` steps, learned by SB3.

The leaders of :mod:`~mesa_adage.outer.leaders` move between epochs: theta is fixed for a whole
episode. A *planner* acts within the episode, like the AI Economist's: every ``k`` steps it
observes the economy's state and sets its part of theta; the followers see the new theta at
once (their ``theta_hat``) and act on it. The between-epochs leader is the case
``k = horizon``: one decision per episode.

:class:`PlannerEnv` is the planner's side of an episode as a gymnasium ``Env``, with the
followers' policies frozen: an SB3 algorithm learns the planner's policy on it
(:func:`train_planner`) and :func:`play_planner` scores that policy on fresh episodes. The model
tells the planner what it sees by defining ``leader_observation()``, a 1-D array of fixed
length; the planner also sees the time left and its own current theta.

When ``k`` does not divide the horizon, the last interval is shorter: the planner's last
decision holds for the steps that are left.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import mesa
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from mesa_adage.characteristics import Characteristics, Theta, is_count
from mesa_adage.inner.checks import format_theta
from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import ModelFactory
from mesa_adage.inner.training import algorithm, quiet

StepReward = Callable[[AdaptiveModel], float]
"""The planner's reward for one model step, read from the model after it (``m.welfare``)."""


class PlannerEnv(gym.Env):
    """The planner's side of an episode: observe the economy, set theta, ``every`` steps pass.

    Args:
        make_model: Episode factory, called as ``make_model(theta=..., seed=...)``; its model
            must define ``leader_observation()``.
        policies: The followers' frozen policy per agent class.
        owns: The names of theta the planner sets; the others stay at ``base``.
        every: Model steps between two decisions (``k``).
        reward: The reward of one model step; a decision's reward is the sum over its steps.
        base: Theta at the start of each episode (default: the defaults).

    Raises:
        ValueError: On a part of theta that is empty or names a parameter not in theta, a bad
            ``every``, or a model with no ``leader_observation()``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        make_model: ModelFactory,
        policies: Mapping[type[mesa.Agent], Policy],
        owns: Sequence[str],
        every: int,
        reward: StepReward,
        base: Mapping[str, float] | None = None,
    ) -> None:
        probe = make_model(theta=None, seed=0)
        space: Characteristics = probe.characteristics
        if isinstance(owns, str) or not owns or any(n not in space.names for n in owns):
            raise ValueError(
                f"planner owns={owns!r}: give a non-empty tuple of names of theta "
                f"{list(space.names)}"
            )
        if not (is_count(every) and every >= 1):
            raise ValueError(f"planner every={every!r} must be a positive integer (model steps)")
        if not callable(getattr(probe, "leader_observation", None)):
            raise ValueError(
                f"{type(probe).__name__} does not expose its state to a planner: define "
                "leader_observation(self) -> 1-D array of floats (what the planner sees)"
            )
        self.make_model, self.policies = make_model, dict(policies)
        self.space, self.owns, self.every, self.reward = space, tuple(owns), every, reward
        self.base: Theta = space.validate(dict(base or {}))
        self.horizon = probe.horizon
        self._mine = [space.index(name) for name in self.owns]
        size = len(self.observation(probe))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (len(self.owns),), dtype=np.float32)
        self.model: AdaptiveModel = probe

    @property
    def decisions(self) -> int:
        """Decisions per episode: ``ceil(horizon / every)``."""
        return math.ceil(self.horizon / self.every)

    def theta_of(self, action: np.ndarray) -> dict[str, float]:
        """The planner's part of theta for an action in ``[-1, 1]`` (each range, linearly)."""
        unit = self.space.to_unit(self.base)
        unit[self._mine] = np.clip(np.asarray(action, dtype=float).reshape(-1), -1.0, 1.0)
        theta = self.space.from_unit(unit)
        return {name: theta[name] for name in self.owns}

    def action_of(self, theta: Mapping[str, float]) -> np.ndarray:
        """The action that sets the planner's part to ``theta``'s (inverse of :meth:`theta_of`)."""
        return self.space.to_unit(self.space.validate({**self.base, **theta}))[self._mine]

    def observation(self, model: AdaptiveModel, steps: int | None = None) -> np.ndarray:
        """What the planner sees of ``model``: its state, its own theta, the episode's time left.

        Args:
            model: The model, between two steps.
            steps: The steps done so far (default ``model.steps``; inside ``step()`` Mesa has
                already counted the step in progress). A model that runs past the horizon (a
                page's endless economy) counts the time left of its current stretch of
                ``horizon`` steps.
        """
        state = np.asarray(model.leader_observation(), dtype=np.float32).reshape(-1)  # type: ignore[attr-defined]
        if not np.isfinite(state).all():
            raise ValueError(
                f"{type(model).__name__}.leader_observation() is not finite at step "
                f"{model.steps}, theta {format_theta(model.theta)}: {state.tolist()}"
            )
        mine = self.space.to_unit(model.theta)[self._mine].astype(np.float32)
        done = model.steps if steps is None else steps
        left = 1.0 - (done % self.horizon) / self.horizon
        return np.concatenate([state, mine, [np.float32(left)]])

    def decide(
        self,
        model: AdaptiveModel,
        act: Callable[[np.ndarray], np.ndarray],
        steps: int | None = None,
    ) -> None:
        """Set ``model``'s theta (the planner's part) from ``act`` on its :meth:`observation`."""
        theta = self.theta_of(act(self.observation(model, steps)))
        model.set_characteristics(theta, mid_episode=True)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """A new episode at ``base``, on a model seed drawn from the env's generator."""
        super().reset(seed=seed)
        episode = int(self.np_random.integers(0, 2**31 - 1))
        self.model = self.make_model(theta=dict(self.base), seed=episode)
        self.model.policies = dict(self.policies)
        return self.observation(self.model), {"seed": episode}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Set the planner's theta, then run ``every`` model steps (fewer at the end)."""
        model = self.model
        part = self.theta_of(action)
        model.set_characteristics(part, mid_episode=True)
        total = 0.0
        for _ in range(self.every):
            if model.done:
                break
            model.tick()
            total += float(self.reward(model))
        return self.observation(model), total, bool(model.done), False, {"theta": part}


def train_planner(
    env: PlannerEnv,
    steps: int,
    seed: int,
    algo: str | type[BaseAlgorithm] = "PPO",
    **algo_kwargs: Any,
) -> BaseAlgorithm:
    """Learn the planner's policy on ``env`` for ``steps`` decisions (SB3, seeded).

    Raises:
        ValueError: If ``steps`` is not a positive integer.
    """
    if not (is_count(steps) and steps >= 1):
        raise ValueError(f"planner steps={steps!r} must be a positive integer (decisions)")
    env.reset(seed=seed)
    model = algorithm(algo)("MlpPolicy", env, seed=seed, verbose=0, device="cpu", **algo_kwargs)
    quiet(model).learn(total_timesteps=steps)
    return model


def play_planner(
    env: PlannerEnv,
    act: Callable[[np.ndarray], np.ndarray] | None,
    seeds: Sequence[int],
) -> list[dict[str, Any]]:
    """Play one episode per seed with the planner ``act`` (``None``: hold ``env.base``).

    Returns:
        Per episode: its seed, the planner's mean reward per model step and its thetas.
    """
    rows = []
    for seed in seeds:
        env.model = env.make_model(theta=dict(env.base), seed=int(seed))
        env.model.policies = dict(env.policies)
        obs, total, thetas, done = env.observation(env.model), 0.0, [], False
        while not done:
            action = env.action_of(env.base) if act is None else act(obs)
            obs, reward, done, _, info = env.step(action)
            total += reward
            thetas.append(info["theta"])
        rows.append({"seed": int(seed), "reward": total / env.horizon, "thetas": thetas})
    return rows
