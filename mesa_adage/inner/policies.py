"""Policies for batched inference: a stacked observation array in, an action array out.

Any callable ``policy(obs) -> actions`` with ``obs`` of shape ``(n_agents, obs_dim)`` is a
policy. This module wraps Stable-Baselines3 models and provides a random baseline.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

Policy = Callable[[np.ndarray], np.ndarray]


class SB3Policy:
    """A trained SB3 model used for batched inference (one forward pass per call).

    Args:
        model: The SB3 algorithm, or just its policy network (``algo.policy``).
        deterministic: Use the mean action instead of sampling.
    """

    def __init__(self, model: BaseAlgorithm | BasePolicy, *, deterministic: bool = True) -> None:
        self.policy: BasePolicy = model.policy if isinstance(model, BaseAlgorithm) else model
        self.deterministic = deterministic

    def __getstate__(self) -> dict[str, Any]:
        """Pickled by its weights and constructor, not as a module.

        A network fresh from training holds tensors of its last forward pass, which torch
        refuses to pickle, and an executor ships policies between processes.
        """
        buffer = io.BytesIO()
        self.policy.save(buffer)  # type: ignore[arg-type]  # torch.save takes a buffer too
        return {
            "kind": type(self.policy),
            "policy": buffer.getvalue(),
            "deterministic": self.deterministic,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.policy = state["kind"].load(io.BytesIO(state["policy"]), device="cpu")
        self.deterministic = state["deterministic"]

    @classmethod
    def load(cls, path: str | Path, algo: type[BaseAlgorithm], **kwargs: bool) -> SB3Policy:
        """Load a saved SB3 model file as a policy."""
        return cls(algo.load(path, device="cpu"), **kwargs)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            actions, _ = self.policy.predict(obs, deterministic=self.deterministic)
        return actions


class RandomPolicy:
    """Uniformly random actions from ``action_space``: the baseline to beat.

    Args:
        action_space: Space to sample from; the policy seeds its own copy, never the caller's
            (often a class attribute that other code samples from too).
        seed: Seed of the policy's own generator.
    """

    def __init__(self, action_space: gym.spaces.Space, seed: int = 0) -> None:
        self.action_space = copy.deepcopy(action_space)
        self.action_space.seed(seed)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.stack([self.action_space.sample() for _ in range(len(obs))])
