"""The market entrance game, live: drag the Tobin tax and watch trading calm down.

    solara run visualization/entrance_app.py

A hundred traders choose each period to be in the market or out of it, through the shipped
policy conditioned on the Tobin tax ``tau`` (``policies/entrance.zip``). The market's capacity
drifts, so they keep re-balancing, and the price follows attendance. Raise tau toward 0.5 and
entries and exits dry up: the price path smooths and crashes become rare. Drop it to 0 and the
traders chase every move. The traders were trained once across all tau; nothing is retrained
when the slider moves.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mesa.visualization import Slider, SolaraViz, make_plot_component

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.trader import Trader
from models.entrance import EntranceModel
from visualization.components import ThetaPanel, trained_policy


class EntrancePage(EntranceModel):
    """The entrance game with the shipped trader policy and no episode end."""

    def __init__(self, tau: float = 0.0, seed: int = 0):
        super().__init__(
            {"tau": tau},
            horizon=10**9,
            policies={Trader: trained_policy("entrance")},
            seed=seed,
        )


model_params = {
    "tau": Slider("starting Tobin tax tau", 0.0, 0.0, 0.5, 0.01),
    "seed": 0,
}

COMPONENTS = [
    (ThetaPanel, 0),
    make_plot_component({"price": "tab:blue"}),
    make_plot_component({"attendance": "tab:green"}),
    make_plot_component({"volume": "tab:orange"}),
    make_plot_component({"crashes": "tab:red"}),
]
NAME = "Market entrance game (ADAGE)"

page = SolaraViz(EntrancePage(), components=COMPONENTS, model_params=model_params, name=NAME)
