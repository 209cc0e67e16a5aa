"""Traders of the market entrance game: each period they choose to be in the market or out."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from mesa_adage import PolicyAgent

if TYPE_CHECKING:
    from mesa_adage.examples.models.entrance import EntranceModel


class Trader(PolicyAgent):
    """A trader who is in the market or out of it, and pays the Tobin tax when it switches.

    Observation: its position, its private, noisy reading of the last excess payoff of being
    in, the last attendance as a
    share of capacity, and the last two returns. Action: the probability of being in the market
    this period (the model draws the position with its own random generator, so evaluation
    stays reproducible with a deterministic policy). Reward: this period's payoff of its
    position, less the tax if it switched.

    Attributes:
        position: 1 in the market, 0 out.
        switched: Whether it entered or left this period.
        wealth: Payoffs received less taxes paid, since the episode began.
        payoff: This period's payoff less tax.
    """

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(5,), dtype=np.float32)
    action_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
    model: EntranceModel

    def __init__(self, model: EntranceModel, position: int) -> None:
        super().__init__(model)
        self.position = position
        self.switched = False
        self.wealth = 0.0
        self.payoff = 0.0
        self.wish = float(position)
        self.signal_noise = 0.0

    def observe(self) -> np.ndarray:
        m = self.model
        return np.array(
            [
                self.position,
                m.excess_payoff + self.signal_noise,
                m.attendance / m.params.capacity,
                m.returns[-1],
                m.returns[-2],
            ],
            dtype=np.float32,
        )

    def act(self, action: np.ndarray) -> None:
        p = float(np.asarray(action).reshape(-1)[0])
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Trader action {p} must be a probability in [0, 1]")
        self.wish = p

    def reward(self) -> float:
        return self.payoff

    # The batched versions of the three methods above: the same numbers, one call per step.

    @classmethod
    def observe_all(cls, agents: Sequence[Trader]) -> np.ndarray:
        out = np.empty((len(agents), 5), dtype=np.float32)
        if not agents:
            return out
        m = agents[0].model
        out[:, 0] = _column(agents, "position")
        out[:, 1] = m.excess_payoff + _column(agents, "signal_noise")
        out[:, 2] = m.attendance / m.params.capacity
        out[:, 3], out[:, 4] = m.returns[-1], m.returns[-2]
        return out

    @classmethod
    def act_all(cls, agents: Sequence[Trader], actions: np.ndarray) -> None:
        p = np.asarray(actions).reshape(len(agents), -1)[:, 0].astype(np.float64)
        outside = ~((0.0 <= p) & (p <= 1.0))
        if outside.any():
            raise ValueError(
                f"Trader action {p[int(np.argmax(outside))]} must be a probability in [0, 1]"
            )
        for agent, wish in zip(agents, p.tolist(), strict=True):
            agent.wish = wish

    @classmethod
    def reward_all(cls, agents: Sequence[Trader]) -> np.ndarray:
        return _column(agents, "payoff")


def _column(agents: Sequence[Trader], name: str) -> np.ndarray:
    """One attribute of every trader, as a float64 array."""
    return np.fromiter(map(attrgetter(name), agents), dtype=np.float64, count=len(agents))
