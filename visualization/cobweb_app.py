"""The cobweb market, live: drag the supply steepness or the producers' inertia mid-run.

    solara run visualization/cobweb_app.py

Producers forecast through the shipped theta-conditioned policy (``policies/cobweb.zip``). Move
lambda above 0.25 and naive forecasts would explode into a cobweb; the learned producers
adapt their forecasts instead. The side panel sets the starting theta and the seed. This page
is also part of ``visualization/app.py``.
"""

from __future__ import annotations

import numpy as np

from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.examples.visualization.components import trained_policy
from mesa_adage.examples.visualization.page import Chart, Knob, ModelPage, Readout, page_component


class CobwebPage(CobwebModel):
    """The cobweb market with the shipped producer policy and no episode end."""

    def __init__(self, lam: float = 0.5, inertia: float = 0.5, seed: int = 0):
        super().__init__(
            {"lam": lam, "inertia": inertia},
            horizon=10**9,
            policies={Producer: trained_policy("cobweb")},
            seed=seed,
        )


def forecast_moves(data) -> float:
    """Mean absolute change of the mean forecast over the last 10 steps."""
    if len(data) < 2:
        return float("nan")
    return float(np.abs(np.diff(data["mean_forecast"].to_numpy()[-11:])).mean())


PAGE = ModelPage(
    slug="cobweb",
    title="Cobweb market",
    summary=(
        "Calibration: six producers forecast the price of a good; the leader recovers the "
        "hidden supply steepness and forecast inertia from the market's prices."
    ),
    guide=(
        "Six producers forecast the price, and their forecasts set supply, through one policy "
        "that sees (lambda, inertia). **Try:** push the forecast inertia to 0.9 in *Change "
        "theta now* and press Step 10: forecasts stop chasing the price, and the readout (how "
        "far the mean forecast moves per period) drops. Then raise lambda: with naive "
        "forecasts any lambda above 0.25 would spiral; the learned producers keep the market "
        "stable. **Leader run** replays `adage run calibration`, which recovers "
        "both parameters from prices and forecasts."
    ),
    build=CobwebPage,
    knobs={
        "lam": Knob("starting supply steepness lambda", 0.5, 0.1, 1.0, 0.01),
        "inertia": Knob("starting forecast inertia", 0.5, 0.0, 0.9, 0.01),
    },
    charts=(
        Chart(
            "price and the mean forecast",
            {"price": "price", "mean_forecast": "mean forecast"},
            "price (units of money)",
        ),
        Chart("how much producers disagree", {"forecast_spread": "std of forecasts"}, "price"),
    ),
    readout=Readout(
        "mean forecast move per period, last 10 steps", forecast_moves, "falls as inertia rises"
    ),
    run_models=("mesa_adage.examples.models.cobweb.CobwebModel",),
    compare={
        "low inertia": {"lam": 0.6, "inertia": 0.1},
        "high inertia": {"lam": 0.6, "inertia": 0.8},
    },
)


Page = page_component(PAGE)
