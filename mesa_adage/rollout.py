"""Rollouts: run episodes of adaptive models in lockstep with batched policy inference."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import mesa
import numpy as np
import pandas as pd

from mesa_adage.characteristics import Theta
from mesa_adage.model import AdaptiveModel
from mesa_adage.policies import Policy

ModelFactory = Callable[..., AdaptiveModel]
"""Builds one episode: called as ``make_model(theta=..., seed=...)``."""


@dataclass(frozen=True)
class Rollout:
    """What one episode left behind.

    Attributes:
        theta: The characteristics of the episode.
        seed: The model seed.
        frame: The model's ``DataCollector`` model variables, one row per step.
        returns: Mean episode return per agent, by agent class name.
    """

    theta: Theta
    seed: int
    frame: pd.DataFrame
    returns: dict[str, float] = field(default_factory=dict)


def inject_batched(models: Sequence[AdaptiveModel], policies: Mapping[type, Policy]) -> None:
    """Stack each agent class's observations across ``models``: one forward pass per class.

    Each model receives its slice of the actions through ``inject_actions``.
    """
    for agent_type, policy in policies.items():
        obs = [m.observations(agent_type) for m in models]
        actions = np.asarray(policy(np.concatenate(obs)))
        bounds = np.cumsum([len(o) for o in obs])[:-1]
        for model, part in zip(models, np.split(actions, bounds), strict=True):
            model.inject_actions(agent_type, part)


def advance(models: Sequence[AdaptiveModel]) -> None:
    """Step each model once and check that its ``step()`` consumed the injected actions."""
    for model in models:
        model.step()
        if model.has_pending_actions:
            raise RuntimeError(
                f"{type(model).__name__}.step() did not call self.decide(); policy agents "
                "act only through decide()"
            )


def simulate(
    make_model: ModelFactory,
    thetas: Sequence[Theta],
    policies: Mapping[type[mesa.Agent], Policy],
    seeds: Sequence[int],
) -> list[Rollout]:
    """Run one episode per ``(theta, seed)`` pair, all in lockstep.

    Every step, the observations of each agent class across all episodes go through one
    policy call. Episodes that end early drop out of the batch.

    Args:
        make_model: Factory called as ``make_model(theta=..., seed=...)``.
        thetas: Characteristics of each episode.
        policies: Policy for every :class:`PolicyAgent` class in the model.
        seeds: Model seed of each episode.

    Returns:
        One :class:`Rollout` per episode, in input order.
    """
    if len(thetas) != len(seeds):
        raise ValueError(f"got {len(thetas)} thetas but {len(seeds)} seeds; pass one seed each")
    models = [make_model(theta=t, seed=int(s)) for t, s in zip(thetas, seeds, strict=True)]
    returns = [{t: np.zeros(len(m.agents_by_type[t])) for t in policies} for m in models]
    live = list(range(len(models)))
    while live:
        batch = [models[i] for i in live]
        inject_batched(batch, policies)
        advance(batch)
        for i in live:
            for agent_type in policies:
                returns[i][agent_type] += models[i].rewards(agent_type)
        live = [i for i in live if not models[i].done]
    return [
        Rollout(
            theta=dict(m.theta),
            seed=int(s),
            frame=_frame(m),
            returns={t.__name__: float(r.mean()) for t, r in ret.items()},
        )
        for m, s, ret in zip(models, seeds, returns, strict=True)
    ]


def _frame(model: AdaptiveModel) -> pd.DataFrame:
    collector = getattr(model, "datacollector", None)
    if collector is None:
        return pd.DataFrame(index=pd.RangeIndex(model.steps, name="step"))
    frame = collector.get_model_vars_dataframe().reset_index(drop=True)
    frame.index.name = "step"
    return frame
