r"""The cobweb market's arithmetic, and the classical forecasters it was first studied with.

Pure numpy (no Mesa, no learning), so the Mesa model, its producers, the heuristic data
generator and the traditional-route benchmark (``benchmarks/black_it_baseline.py``, which
runs in black-it's own environment) share one market.

The market (Hommes et al. 2007): producers forecast the price, supply
``S(p_e) = tanh(lambda (p_e - 6)) + 1``, and the price clears linear demand,

    p_t = (a - 6 * mean_i S(p_e_{i,t})) / d + u_t,    u_t = rho u_{t-1} + sigma eps_t.

The classical forecasters (Hommes et al. 2007, section 4; Nerlove 1958):

- **naive**: ``p_e_t = p_{t-1}``;
- **adaptive** with inertia ``eta``: ``p_e_t = eta p_e_{t-1} + (1 - eta) p_{t-1}``, adaptive
  expectations with weight ``w = 1 - eta`` on the last price (naive is ``eta = 0``);
- **mix**: half the producers naive, half adaptive, a heterogeneous market.

Forecasts are kept in the learning producers' range [2, 10], so both kinds of producer can
say the same things.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PRICE_CENTRE = 6.0
"""The price at which a producer supplies 1 (the middle of the supply curve)."""
FORECAST_RANGE = (2.0, 10.0)
"""Lowest and highest forecast a producer can make."""
RULES = ("naive", "adaptive", "mix")
"""The classical forecasting rules :func:`heuristic_market` knows."""
SERIES = ("price", "mean_forecast", "forecast_spread")
"""The series a market episode records."""


@dataclass(frozen=True)
class CobwebParams:
    """Market constants (Hommes et al. 2007).

    Attributes:
        n_producers: Number of forecasting producers.
        a: Demand intercept, for six producers.
        d: Demand slope.
        noise_std: Std of the demand-shock innovation ``eta_t``, in price units.
        demand_persistence: AR(1) coefficient ``rho`` of the demand shock (0 gives iid shocks,
            the original design).
        initial_price: Price in the two periods before the episode (the shock).
        initial_spread: Std of the producers' first forecasts around ``initial_price``.
    """

    n_producers: int = 6
    a: float = 13.8
    d: float = 1.5
    noise_std: float = 0.5
    demand_persistence: float = 0.8
    initial_price: float = 8.0
    initial_spread: float = 1.0


MARKET = CobwebParams()
"""The market of the experiments."""


def supply(forecast: float | np.ndarray, lam: float) -> float | np.ndarray:
    """Quantity supplied at a price forecast: ``tanh(lambda (p_e - 6)) + 1`` (elementwise)."""
    return np.tanh(lam * (forecast - PRICE_CENTRE)) + 1.0


def market_price(mean_supply: float, shock: float, p: CobwebParams) -> float:
    """The price that clears demand against ``mean_supply`` per producer, plus the shock.

    Elementwise over arrays of episodes too.
    """
    return (p.a - 6.0 * mean_supply) / p.d + shock


def first_forecasts(rng: np.random.Generator, p: CobwebParams) -> np.ndarray:
    """The producers' forecasts before the episode: around ``initial_price``, in range."""
    drawn = p.initial_price + p.initial_spread * rng.standard_normal(p.n_producers)
    return np.clip(drawn, *FORECAST_RANGE)


def heuristic_market(
    lam: float,
    inertia: float,
    rule: str,
    seeds: list[int],
    *,
    horizon: int = 50,
    params: CobwebParams = MARKET,
) -> pd.DataFrame:
    """Episodes of the market with classical forecasters, one per seed.

    Every episode starts like the learning model's: the last two prices are
    ``initial_price`` and the producers' last forecasts are drawn around it. Each period the
    producers forecast by ``rule``, then the price clears.

    Args:
        lam: Supply steepness.
        inertia: The adaptive producers' weight on their last forecast (unused by ``naive``).
        rule: ``"naive"``, ``"adaptive"`` or ``"mix"`` (the first half of the producers naive).
        seeds: One episode per seed; its generator draws the first forecasts, then one shock
            innovation per period.
        horizon: Periods per episode.
        params: Market constants.

    Returns:
        A frame with columns ``episode``, ``step``, ``price``, ``mean_forecast`` and
        ``forecast_spread``, as the learning model's data.

    Raises:
        ValueError: If ``rule`` is unknown or ``inertia`` is outside [0, 1].
    """
    if rule not in RULES:
        raise ValueError(f"rule={rule!r}; allowed are {list(RULES)}")
    if not 0.0 <= inertia <= 1.0:
        raise ValueError(f"inertia={inertia!r} must be in [0, 1]")
    n = params.n_producers
    weight = np.full(n, float(inertia))  # each producer's weight on its last forecast
    if rule == "naive":
        weight[:] = 0.0
    elif rule == "mix":
        weight[: n // 2] = 0.0
    rngs = [np.random.default_rng(s) for s in seeds]
    forecast = np.stack([first_forecasts(rng, params) for rng in rngs])  # (episodes, producers)
    innovations = params.noise_std * np.stack([rng.standard_normal(horizon) for rng in rngs])
    last_price = np.full(len(seeds), params.initial_price)
    shock = np.zeros(len(seeds))
    out = {name: np.empty((len(seeds), horizon)) for name in SERIES}
    for t in range(horizon):
        forecast = weight * forecast + (1.0 - weight) * last_price[:, None]
        forecast = np.clip(forecast, *FORECAST_RANGE)
        shock = params.demand_persistence * shock + innovations[:, t]
        last_price = market_price(supply(forecast, lam).mean(axis=1), shock, params)
        out["price"][:, t] = last_price
        out["mean_forecast"][:, t] = forecast.mean(axis=1)
        out["forecast_spread"][:, t] = forecast.std(axis=1)
    return pd.DataFrame(
        {
            "episode": np.repeat(np.arange(len(seeds)), horizon),
            "step": np.tile(np.arange(horizon), len(seeds)),
            **{name: values.ravel() for name, values in out.items()},
        }
    )
