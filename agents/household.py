"""Households of the taxation economy: they choose labour and saving through a shared policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from mesa_adage import PolicyAgent
from mesa_adage.inner.columns import Column, rows

if TYPE_CHECKING:
    from mesa_adage.examples.models.taxation import TaxationModel

MAX_SAVING_RATE = 0.95
"""Households consume at least 5% of their resources, so consumption stays positive."""


COLUMNS = (
    "productivity",
    "wealth",
    "hours",
    "saving_rate",
    "income",
    "tax",
    "resources",
    "consumption",
    "utility",
)
"""The household attributes kept as columns of the economy's arrays."""


class Household(PolicyAgent):
    """A household with idiosyncratic productivity that works, saves and consumes.

    Observation: log productivity, log(1 + wealth), and last period's wage and interest rate,
    each scaled to about [-1, 1]. Action (in [-1, 1]^2): hours worked ``h`` in [0, 1] and the
    saving rate ``s`` in [0, 0.95] of this period's resources. Reward: period utility
    ``u(c) - v(h)`` (see :mod:`mesa_adage.examples.models.taxation`).

    Its state lives in the economy's arrays (:class:`~mesa_adage.inner.columns.Column`): the
    household is row ``row``.

    Attributes:
        row: The household's row in ``model.columns``.
        productivity: Labour productivity ``e``.
        wealth: Assets ``a`` at the start of the period (capital lent to the firm).
        hours: Hours worked this period.
        saving_rate: Share of resources saved this period.
        income: Pre-tax income ``y = w e h + r a``.
        tax: Income tax paid ``T(y)`` (negative is a transfer).
        resources: ``m = a + y - T(y) + b``, split between consumption and saving.
        consumption: Consumption this period.
        utility: Period utility.
    """

    # scaled to about unit size, but unbounded: the interest rate spikes when capital is scarce
    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    model: TaxationModel

    productivity = Column()
    wealth = Column()
    hours = Column()
    saving_rate = Column()
    income = Column()
    tax = Column()
    resources = Column()
    consumption = Column()
    utility = Column()

    def __init__(self, model: TaxationModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    def observe(self) -> np.ndarray:
        m = self.model
        return np.array(
            [
                np.log(self.productivity) / 0.5,
                np.log1p(max(self.wealth, 0.0)) - 1.0,
                (m.wage - 1.0) * 2.0,
                m.interest * 10.0,
            ],
            dtype=np.float32,
        )

    def act(self, action: np.ndarray) -> None:
        a = np.asarray(action, dtype=float).reshape(-1)
        if a.shape != (2,) or not np.all(np.abs(a) <= 1.0):
            raise ValueError(f"Household action {a.tolist()} is outside the action space [-1, 1]^2")
        self.hours = 0.5 * (a[0] + 1.0)
        self.saving_rate = MAX_SAVING_RATE * 0.5 * (a[1] + 1.0)

    def reward(self) -> float:
        return self.utility

    # The batched versions of the three methods above: the same numbers, one call per step.

    @classmethod
    def observe_all(cls, agents: Sequence[Household]) -> np.ndarray:
        out = np.empty((len(agents), 4), dtype=np.float32)
        if not agents:
            return out
        m, mine = agents[0].model, rows(agents)
        out[:, 0] = np.log(m.columns["productivity"][mine]) / 0.5
        out[:, 1] = np.log1p(np.maximum(m.columns["wealth"][mine], 0.0)) - 1.0
        out[:, 2] = (m.wage - 1.0) * 2.0
        out[:, 3] = m.interest * 10.0
        return out

    @classmethod
    def act_all(cls, agents: Sequence[Household], actions: np.ndarray) -> None:
        a = np.asarray(actions, dtype=float).reshape(len(agents), -1)
        outside = (np.abs(a) > 1.0) | np.isnan(a)
        if a.shape[1] != 2 or outside.any():
            row = a[int(np.argwhere(outside)[0, 0])] if outside.any() else a[0]
            raise ValueError(
                f"Household action {row.tolist()} is outside the action space [-1, 1]^2"
            )
        if not len(agents):
            return
        columns, mine = agents[0].model.columns, rows(agents)
        columns["hours"][mine] = 0.5 * (a[:, 0] + 1.0)
        columns["saving_rate"][mine] = MAX_SAVING_RATE * 0.5 * (a[:, 1] + 1.0)

    @classmethod
    def reward_all(cls, agents: Sequence[Household]) -> np.ndarray:
        if not agents:
            return np.empty(0)
        return agents[0].model.columns["utility"][rows(agents)]
