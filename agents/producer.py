"""Producers of the cobweb market: they forecast tomorrow's price through a shared policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from mesa_adage import PolicyAgent
from mesa_adage.examples.models.cobweb_market import PRICE_CENTRE, supply
from mesa_adage.inner.columns import Column, rows

if TYPE_CHECKING:
    from mesa_adage.examples.models.cobweb import CobwebModel

PRICE_SCALE = 4.0
"""Half the forecast range: an action of 1 forecasts ``PRICE_CENTRE + PRICE_SCALE``."""


def to_unit(price: float) -> float:
    """Price to the policy's [-1, 1] scale (a forecast of 6 is 0, of 10 is 1)."""
    return (price - PRICE_CENTRE) / PRICE_SCALE


class Producer(PolicyAgent):
    """A producer who forecasts the price, then supplies ``tanh(lambda (p_e - 6)) + 1``.

    Observation: the last two prices and the producer's own last forecast, scaled to about
    [-1, 1]. Action: the forecast in [-1, 1], mapped to a price in [2, 10].
    Reward: ``-(p_t - p_e)^2 - kappa (p_e_t - p_e_{t-1})^2`` (accuracy less an adjustment cost,
    ``kappa`` from the model's inertia).

    Its forecasts live in the market's arrays (:class:`~mesa_adage.inner.columns.Column`): the
    producer is row ``row`` of ``model.columns``.

    Attributes:
        row: The producer's row in ``model.columns``.
        forecast: This period's price forecast ``p_e_t``.
        last_forecast: Last period's forecast ``p_e_{t-1}``.
    """

    observation_space = gym.spaces.Box(-3.0, 3.0, shape=(3,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    model: CobwebModel

    forecast = Column()
    last_forecast = Column()

    def __init__(self, model: CobwebModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    def observe(self) -> np.ndarray:
        p1, p2 = self.model.price_history[-1], self.model.price_history[-2]
        return np.array([to_unit(p1), to_unit(p2), to_unit(self.forecast)], dtype=np.float32)

    def act(self, action: np.ndarray) -> None:
        a = float(np.asarray(action).reshape(-1)[0])
        if not -1.0 <= a <= 1.0:
            raise ValueError(f"Producer action {a} is outside the action space [-1, 1]")
        self.last_forecast = self.forecast
        self.forecast = PRICE_CENTRE + PRICE_SCALE * a

    def supply(self) -> float:
        """Quantity supplied given this period's forecast."""
        return float(supply(self.forecast, self.model.theta["lam"]))

    def reward(self) -> float:
        error = self.model.price - self.forecast
        adjust = self.forecast - self.last_forecast
        # products, not ** 2: Python's pow and numpy's square can differ in the last bit
        return -(error * error) - self.model.adjustment_cost * (adjust * adjust)

    # The batched versions of the three methods above: the same numbers, one call per step.

    @classmethod
    def observe_all(cls, agents: Sequence[Producer]) -> np.ndarray:
        out = np.empty((len(agents), 3), dtype=np.float32)
        if not agents:
            return out
        history = agents[0].model.price_history
        out[:, 0] = to_unit(history[-1])
        out[:, 1] = to_unit(history[-2])
        out[:, 2] = to_unit(forecasts(agents))
        return out

    @classmethod
    def act_all(cls, agents: Sequence[Producer], actions: np.ndarray) -> None:
        a = np.asarray(actions).reshape(len(agents), -1)[:, 0].astype(np.float64)
        outside = ~((-1.0 <= a) & (a <= 1.0))
        if outside.any():
            bad = a[int(np.argmax(outside))]
            raise ValueError(f"Producer action {bad} is outside the action space [-1, 1]")
        if not len(agents):
            return
        columns, mine = agents[0].model.columns, rows(agents)
        columns["last_forecast"][mine] = columns["forecast"][mine]
        columns["forecast"][mine] = PRICE_CENTRE + PRICE_SCALE * a

    @classmethod
    def reward_all(cls, agents: Sequence[Producer]) -> np.ndarray:
        if not agents:
            return np.empty(0)
        model, mine = agents[0].model, rows(agents)
        now, last = model.columns["forecast"][mine], model.columns["last_forecast"][mine]
        error, adjust = model.price - now, now - last
        return -(error * error) - model.adjustment_cost * (adjust * adjust)


def forecasts(agents: Sequence[Producer]) -> np.ndarray:
    """The producers' forecasts this period, as a float64 array."""
    if not agents:
        return np.empty(0)
    return agents[0].model.columns["forecast"][rows(agents)]
