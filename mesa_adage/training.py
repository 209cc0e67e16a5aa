"""Train a shared policy on an adaptive model outside the leader loop (baselines, references)."""

from __future__ import annotations

from typing import Any

import mesa
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from threadpoolctl import threadpool_limits

from mesa_adage.rollout import ModelFactory
from mesa_adage.samplers import Sampler
from mesa_adage.vec_env import MesaVecEnv


def train(
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    sampler: Sampler,
    steps: int,
    *,
    algo: type[BaseAlgorithm],
    seed: int = 0,
    n_copies: int = 8,
    **algo_kwargs: Any,
) -> BaseAlgorithm:
    """Train a fresh SB3 policy for ``steps`` agent-steps with theta drawn from ``sampler``.

    A :class:`~mesa_adage.Fixed` sampler gives a specialist for one theta; pair it with
    ``observation=Subset(())`` in the factory for a policy that does not see theta at all.
    """
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        env = MesaVecEnv(make_model, agent_type, sampler, n_copies=n_copies, seed=seed)
        model = algo("MlpPolicy", env, seed=seed, device="cpu", **algo_kwargs)
        return model.learn(steps)
