"""Market makers: they quote a bid and an ask around the mid price through a shared policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from mesa_adage import PolicyAgent

if TYPE_CHECKING:
    from mesa_adage.examples.models.market_maker import MarketMakerModel

INVENTORY_SCALE = 10.0
"""Inventory seen by the policy is divided by this (units)."""


class MarketMaker(PolicyAgent):
    """A market maker that quotes half-spreads around the mid price and is filled by takers.

    Observation: its inventory (scaled by :data:`INVENTORY_SCALE`) and the share of the episode
    left. Action: two numbers in [-1, 1], mapped to the bid and ask half-spreads in
    ``[0, max_spread]``. Reward (see :mod:`mesa_adage.examples.models.market_maker`): ``omega``
    times its expected share of the order flow plus ``1 - omega`` times its PnL change, less an
    inventory penalty.

    Attributes:
        bid_spread: Distance of the bid below the mid price (``delta_b``).
        ask_spread: Distance of the ask above the mid price (``delta_a``).
        cash: Cash account ``X``.
        inventory: Units held ``q`` (negative: short).
        pnl: Mark-to-market PnL, ``cash + inventory * mid``.
        fills: Units traded this step (bid and ask fills).
        share: Expected share of this step's order flow its quotes attract.
        step_pnl: PnL change over this step.
    """

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    model: MarketMakerModel

    def __init__(self, model: MarketMakerModel) -> None:
        super().__init__(model)
        self.bid_spread = self.ask_spread = model.params.competitor_spread
        self.cash = 0.0
        self.inventory = 0
        self.pnl = 0.0
        self.fills = 0
        self.share = 0.0
        self.step_pnl = 0.0

    def observe(self) -> np.ndarray:
        left = 1.0 - self.model.steps / self.model.horizon
        return np.array([self.inventory / INVENTORY_SCALE, left], dtype=np.float32)

    def act(self, action: np.ndarray) -> None:
        a = np.asarray(action, dtype=float).reshape(-1)
        if a.shape != (2,) or not np.all(np.abs(a) <= 1.0):
            raise ValueError(f"MarketMaker action {a.tolist()} must be two numbers in [-1, 1]")
        half = self.model.params.max_spread / 2.0
        self.bid_spread, self.ask_spread = (half * (a + 1.0)).tolist()

    def trade(self, mid: float, bought: int, sold: int) -> None:
        """Settle this step's fills around ``mid``: buy at the bid, sell at the ask."""
        self.cash += sold * (mid + self.ask_spread) - bought * (mid - self.bid_spread)
        self.inventory += bought - sold
        self.fills = bought + sold

    def mark(self, mid: float) -> None:
        """Mark the position to the new ``mid`` and record the step's PnL change."""
        pnl = self.cash + self.inventory * mid
        self.step_pnl, self.pnl = pnl - self.pnl, pnl

    def reward(self) -> float:
        omega = self.model.theta["omega"]
        penalty = self.model.params.inventory_penalty * self.inventory**2
        return float(omega * self.share + (1.0 - omega) * self.step_pnl - penalty)
