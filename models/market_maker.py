r"""A limit-order-book market made by learning market makers, after Avellaneda & Stoikov (2008).

Source: Avellaneda and Stoikov, "High-frequency trading in a limit order book", Quantitative
Finance 8(3), 2008, sections 2.1-2.3.

Time runs in steps of ``dt`` (an episode of ``horizon`` steps is the paper's ``[0, T]``).

- **Mid price**, an arithmetic random walk (the paper's eq. 2.1):
  ``S_{t+1} = S_t + sigma sqrt(dt) Z_t``, ``Z_t ~ N(0, 1)``.
- **Quotes.** Each market maker ``i`` posts a bid at ``S_t - delta_b`` and an ask at
  ``S_t + delta_a``.
- **Fills.** Liquidity takers hit a quote at distance ``delta`` with Poisson intensity
  ``lambda(delta) = A exp(-k delta)`` (the paper's eq. 2.10-2.12, from a power-law order size
  and a log price impact), so in one step a quote is filled ``N ~ Poisson(A exp(-k delta) dt)``
  times, one unit each. A bid fill buys a unit at the bid, an ask fill sells one at the ask:
  ``X += N_a (S + delta_a) - N_b (S - delta_b)`` and ``q += N_b - N_a``.
- **PnL**, marked to market after the mid moves: ``PnL_t = X_t + q_t S_{t+1}``.
- **Competition.** ``competitors`` market makers quote fixed half-spreads ``delta_c`` on both
  sides. A quote's expected *share* of the order flow on a side is its intensity over the
  intensities of all quotes on that side; a maker's share is the mean over its two sides.
- **Reward** of maker ``i``, mixing share and PnL by its preference ``omega`` in [0, 1] (as in
  the market-making game of the ADAGE paper, arXiv 2501.09429), with a running inventory
  penalty like the paper's inventory risk:

      r_t = omega * share_t + (1 - omega) * (PnL_t - PnL_{t-1}) - phi * q_t^2.

  ``omega = 0`` is a pure PnL seeker (wide quotes; a risk-neutral maker earns most at
  ``delta = 1/k``), ``omega = 1`` a pure share seeker (the tightest quotes).

The makers share one SB3 policy conditioned on ``theta_hat = omega``. By default there is one
learning maker and one competitor; with ``n_makers > 1`` the learning makers share the market
and the same ``omega``.

The ``robust`` experiment trains one market maker across the whole range of ``omega`` while
a distribution leader shapes which ``omega`` it trains on: see :func:`robust`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import mesa
import numpy as np

from mesa_adage import AdaptiveModel, Characteristics, Experiment, Param, Timescales, simulate
from mesa_adage.examples.agents.market_maker import MarketMaker
from mesa_adage.inner.model import theta_reporters
from mesa_adage.inner.rollout import Rollout

MARKET_THETA = Characteristics(
    Param("omega", 0.0, 1.0, default=0.5, doc="preference for market share over PnL"),
)
HORIZON = 100
"""Steps per episode (``T = horizon * dt``)."""


@dataclass(frozen=True)
class MarketParams:
    """Market constants; the defaults are Avellaneda & Stoikov's numerical example.

    Attributes:
        mid: Initial mid price ``S_0``.
        sigma: Volatility of the mid price per unit of time.
        dt: Length of a step (the paper's example: ``T = 1`` in 200 steps of 0.005).
        intensity: ``A``, the takers' arrival rate at a quote on the mid price.
        decay: ``k``, how fast the fill intensity falls with the quote's distance.
        n_makers: Learning market makers.
        competitors: Market makers with fixed quotes.
        competitor_spread: Their half-spread ``delta_c``.
        inventory_penalty: ``phi`` of the reward's ``phi q^2``.
        max_spread: Largest half-spread a learning maker can quote.
    """

    mid: float = 100.0
    sigma: float = 2.0
    dt: float = 0.01
    intensity: float = 140.0
    decay: float = 1.5
    n_makers: int = 1
    competitors: int = 1
    competitor_spread: float = 0.75
    inventory_penalty: float = 0.002
    max_spread: float = 2.0

    def __post_init__(self) -> None:
        positive = ("mid", "dt", "intensity", "decay", "max_spread")
        non_negative = ("sigma", "competitor_spread", "inventory_penalty")
        for name in positive + non_negative:
            value = getattr(self, name)
            low_ok = value > 0 if name in positive else value >= 0
            if not (isinstance(value, int | float) and math.isfinite(value) and low_ok):
                allowed = "a positive number" if name in positive else "a number >= 0"
                raise ValueError(f"MarketParams.{name}={value!r} must be {allowed}")
        for name, low in (("n_makers", 1), ("competitors", 0)):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= low):
                raise ValueError(f"MarketParams.{name}={value!r} must be an integer >= {low}")

    def fill_rate(self, spread: np.ndarray | float) -> np.ndarray:
        """Expected fills per step of a quote ``spread`` from the mid: ``A exp(-k delta) dt``."""
        return self.intensity * np.exp(-self.decay * np.asarray(spread, dtype=float)) * self.dt


class MarketMakerModel(AdaptiveModel):
    """The market: makers quote, takers fill them, the mid price moves.

    Args:
        theta: ``{"omega": ...}``; the default is 0.5.
        params: Market constants.
        horizon: Steps per episode.
        **kwargs: Passed to :class:`~mesa_adage.AdaptiveModel` (seed, policies, observation).

    Attributes:
        mid: The mid price ``S_t`` the quotes of the next step are set around.
        makers: The learning market makers.
    """

    characteristics = MARKET_THETA

    def __init__(
        self,
        theta: Mapping[str, float] | None = None,
        *,
        params: MarketParams = MarketParams(),
        horizon: int = HORIZON,
        **kwargs: Any,
    ) -> None:
        super().__init__(theta, horizon=horizon, **kwargs)
        self.params = params
        self.mid = params.mid
        MarketMaker.create_agents(self, params.n_makers)
        self.makers = self.agents_by_type[MarketMaker]
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "mid": "mid",
                "bid": lambda m: m.mid - m.makers[0].bid_spread,
                "ask": lambda m: m.mid + m.makers[0].ask_spread,
                "spread": lambda m: (
                    m.makers.agg("bid_spread", np.mean) + m.makers.agg("ask_spread", np.mean)
                ),
                "volume": lambda m: m.makers.agg("fills", np.sum),
                "inventory": lambda m: m.makers.agg("inventory", np.mean),
                "pnl": lambda m: m.makers.agg("pnl", np.mean),
                "share": lambda m: m.makers.agg("share", np.mean),
                **theta_reporters(MARKET_THETA),
            }
        )

    def step(self) -> None:
        self.decide()
        p = self.params
        makers = list(self.makers)
        bids = np.array([m.bid_spread for m in makers])
        asks = np.array([m.ask_spread for m in makers])
        bid_rate, ask_rate = p.fill_rate(bids), p.fill_rate(asks)
        rival = p.competitors * float(p.fill_rate(p.competitor_spread))
        shares = 0.5 * (bid_rate / (bid_rate.sum() + rival) + ask_rate / (ask_rate.sum() + rival))
        bought, sold = self.rng.poisson(bid_rate), self.rng.poisson(ask_rate)
        for maker, b, s, share in zip(makers, bought, sold, shares, strict=True):
            maker.trade(self.mid, int(b), int(s))
            maker.share = float(share)
        self.mid += p.sigma * math.sqrt(p.dt) * float(self.rng.standard_normal())
        for maker in makers:
            maker.mark(self.mid)
        if self.recording:  # off while MesaVecEnv trains: training reads no collected data
            self.datacollector.collect(self)


# --------------------------------------------------------------------------- the robust task

PPO_SETTINGS = {
    "n_steps": 256,
    "batch_size": 256,
    "n_epochs": 5,
    "gamma": 0.9,
    "policy_kwargs": {"net_arch": [64, 64], "log_std_init": -1.0},
}
"""PPO settings of the market makers."""
OMEGA_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The preferences of the paper's robust-learning test."""


def mean_return(rollouts: Sequence[Rollout]) -> float:
    """The market makers' mean episode return (the follower's own objective)."""
    return float(np.mean([r.returns["MarketMaker"] for r in rollouts]))


def constant_quotes(spread: float) -> Any:
    """A policy quoting the half-spread ``spread`` on both sides, whatever it observes."""

    def policy(obs: np.ndarray) -> np.ndarray:
        unit = 2.0 * spread / MarketParams().max_spread - 1.0
        return np.full((len(obs), 2), unit, dtype=np.float32)

    return policy


def best_constant_return(
    omegas: Sequence[float], seeds: Sequence[int] = range(16), spreads: int = 21
) -> list[float]:
    """For each ``omega``, the mean return of the best constant symmetric quote.

    A cheap, policy-free reference for the worst-case leader: how well a maker with one fixed
    half-spread (chosen per ``omega`` from ``spreads`` values over ``[0, max_spread]``) does.
    """
    grid = np.linspace(0.0, MarketParams().max_spread, spreads)
    best = []
    for omega in omegas:
        thetas = [{"omega": float(omega)}] * len(seeds)
        values = [
            mean_return(
                simulate(MarketMakerModel, thetas, {MarketMaker: constant_quotes(s)}, seeds)
            )
            for s in grid
        ]
        best.append(max(values))
    return best


def robust(objective: str = "worst_case") -> Experiment:
    """One market maker for every ``omega``: a distribution leader shapes its training.

    The leader's theta is the categorical distribution of ``omega`` over
    :data:`OMEGA_GRID` that the followers train under. Each epoch it scores the conditional
    policy at every grid point and moves weight (``"worst_case"``: toward the ``omega`` whose
    return lags most behind the best constant quote's; ``"coverage"``: toward the highest
    entropy).

    Args:
        objective: ``"worst_case"`` or ``"coverage"``.
    """
    reference = partial(best_constant_return, OMEGA_GRID) if objective == "worst_case" else None
    return Experiment(
        name=f"market-maker-robust-{objective.replace('_', '-')}",
        make_model=MarketMakerModel,
        agent_type=MarketMaker,
        objective=mean_return,
        epochs=6,
        leader="distribution",
        leader_kwargs={
            "grid": {"omega": OMEGA_GRID},
            "objective": objective,
            "reference": reference,
        },
        timescales=Timescales(
            warmup_steps=100_000, follower_steps=20_000, candidates=5, eval_rollouts=8
        ),
        algo="PPO",
        algo_kwargs=PPO_SETTINGS,
        n_copies=8,
        track=("spread", "volume", "pnl", "share"),
    )
