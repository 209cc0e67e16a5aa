"""The market maker, live: drag its preference omega and watch its quotes change.

    solara run visualization/market_maker_app.py

One market maker quotes a bid and an ask around a random-walk mid price, through the shipped
policy conditioned on ``omega`` (``policies/market_maker.zip``), against one rival with fixed
quotes. Raise omega toward 1 (market share over PnL) and the quotes close in on the mid: more
units trade and the PnL grows more slowly. Lower it toward 0 and the quotes widen. The policy
was trained once across all omega; nothing is retrained when the slider moves.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mesa.visualization import Slider, SolaraViz, make_plot_component

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.market_maker import MarketMaker
from models.market_maker import MarketMakerModel
from visualization.components import ThetaPanel, trained_policy


class MarketMakerPage(MarketMakerModel):
    """The market with the shipped market-maker policy and no session end.

    The policy sees the share of its session left; the page keeps it at the start of one.
    """

    def __init__(self, omega: float = 0.1, seed: int = 0):
        super().__init__(
            {"omega": omega},
            horizon=10**9,
            policies={MarketMaker: trained_policy("market_maker")},
            seed=seed,
        )


model_params = {
    "omega": Slider("starting omega (weight on market share)", 0.1, 0.0, 1.0, 0.05),
    "seed": 0,
}

COMPONENTS = [
    (ThetaPanel, 0),
    make_plot_component({"ask": "tab:red", "mid": "tab:gray", "bid": "tab:green"}),
    make_plot_component({"spread": "tab:purple"}),
    make_plot_component({"inventory": "tab:blue"}),
    make_plot_component({"pnl": "tab:orange"}),
    make_plot_component({"volume": "tab:brown"}),
]
NAME = "Market maker (ADAGE)"

page = SolaraViz(MarketMakerPage(), components=COMPONENTS, model_params=model_params, name=NAME)
