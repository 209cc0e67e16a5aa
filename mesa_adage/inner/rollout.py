"""Rollouts: run episodes of adaptive models in lockstep with batched policy inference."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import mesa
import numpy as np
import pandas as pd

from mesa_adage.characteristics import Theta
from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.inner.policies import Policy

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
    _series: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def series(self, column: str) -> np.ndarray:
        """One column of :attr:`frame` as float64 values (read once, then kept).

        Raises:
            KeyError: If the frame has no such column.
        """
        if column not in self._series:
            self._series[column] = self.frame[column].to_numpy(dtype=float)
        return self._series[column]


def inject_batched(models: Sequence[AdaptiveModel], policies: Mapping[type, Policy]) -> None:
    """Stack each agent class's observations across ``models``: one forward pass per class.

    Each model receives its slice of the actions through ``inject_actions``.
    """
    for agent_type, policy in policies.items():
        obs = [m.observations(agent_type) for m in models]
        stacked = np.concatenate(obs)
        if not len(stacked):  # nobody of this class is alive anywhere
            continue
        actions = np.asarray(policy(stacked))
        bounds = np.cumsum([len(o) for o in obs])[:-1]
        for model, part in zip(models, np.split(actions, bounds), strict=True):
            model.inject_actions(agent_type, part)


def advance(models: Sequence[AdaptiveModel]) -> None:
    """Advance each model one step and check that it consumed the injected actions."""
    for model in models:
        model.tick()
        if model.has_pending_actions:
            raise RuntimeError(
                f"{type(model).__name__}.step() did not call self.decide(); policy agents "
                "act only through decide()"
            )


class Returns:
    """Each agent's summed reward over one episode, while agents are born and die.

    ``add`` takes the rewards of the agents that acted in a step; an agent that no longer acts
    keeps the sum it reached.
    """

    def __init__(self) -> None:
        self.agents: list[mesa.Agent] = []
        self.sums = np.zeros(0)
        self.closed: list[float] = []

    def add(self, agents: list[mesa.Agent], rewards: np.ndarray) -> None:
        """Add one step's ``rewards``, aligned with ``agents``."""
        if agents != self.agents:
            old = dict(zip(self.agents, self.sums.tolist(), strict=True))
            now = set(agents)
            self.closed.extend(total for agent, total in old.items() if agent not in now)
            self.sums = np.array([old.get(a, 0.0) for a in agents])
            self.agents = list(agents)
        self.sums += rewards

    def per_agent(self) -> np.ndarray:
        """Every agent's episode return: those that left first, then those still acting."""
        return np.concatenate([self.closed, self.sums])


def simulate(
    make_model: ModelFactory,
    thetas: Sequence[Theta],
    policies: Mapping[type[mesa.Agent], Policy],
    seeds: Sequence[int],
) -> list[Rollout]:
    """Run one episode per ``(theta, seed)`` pair, all in lockstep.

    Every step, the observations of each agent class across all episodes go through one
    policy call. Episodes that end early drop out of the batch. Agents may be born and die:
    a newcomer joins the next batched decision, and a rollout's return is the mean over
    every agent that acted in the episode.

    Args:
        make_model: Factory called as ``make_model(theta=..., seed=...)``.
        thetas: Characteristics of each episode.
        policies: Policy for every :class:`PolicyAgent` class in the model; an adapted class
            left out follows the model's own rule (and gets no return).
        seeds: Model seed of each episode.

    Returns:
        One :class:`Rollout` per episode, in input order.
    """
    if len(thetas) != len(seeds):
        raise ValueError(f"got {len(thetas)} thetas but {len(seeds)} seeds; pass one seed each")
    models = [make_model(theta=t, seed=int(s)) for t, s in zip(thetas, seeds, strict=True)]
    returns = [{t: Returns() for t in policies} for _ in models]
    live = list(range(len(models)))
    while live:
        batch = [models[i] for i in live]
        inject_batched(batch, policies)
        advance(batch)
        for i in live:
            for agent_type, tally in returns[i].items():
                tally.add(models[i].acted(agent_type), models[i].rewards(agent_type))
        live = [i for i in live if not models[i].done]
    return [
        Rollout(
            theta=dict(m.theta),
            seed=int(s),
            frame=_frame(m),
            returns={t.__name__: _mean(r.per_agent()) for t, r in ret.items()},
        )
        for m, s, ret in zip(models, seeds, returns, strict=True)
    ]


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def _frame(model: AdaptiveModel) -> pd.DataFrame:
    collector = getattr(model, "datacollector", None)
    if collector is None:
        return pd.DataFrame(index=pd.RangeIndex(model.steps, name="step"))
    frame = collector.get_model_vars_dataframe().reset_index(drop=True)
    frame.index.name = "step"
    return frame
