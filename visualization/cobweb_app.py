"""The cobweb market, live: drag the supply steepness or the producers' inertia mid-run.

    solara run visualization/cobweb_app.py

Producers forecast through the shipped theta-conditioned policy (``policies/cobweb.zip``). Move
lambda above 0.25 and naive forecasts would explode into a cobweb; the learned producers
adapt their forecasts instead. The side panel sets the starting theta and the seed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mesa.visualization import Slider, SolaraViz, make_plot_component

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.producer import Producer
from models.cobweb import CobwebModel
from visualization.components import (
    ThetaPanel,
    make_leader_trajectory,
    trained_policy,
)

RUN_DIR = os.environ.get("ADAGE_RUN", "runs/cobweb-calibration-seed0")


class CobwebPage(CobwebModel):
    """The cobweb market with the shipped producer policy and no episode end."""

    def __init__(self, lam: float = 0.5, inertia: float = 0.5, seed: int = 0):
        super().__init__(
            {"lam": lam, "inertia": inertia},
            horizon=10**9,
            policies={Producer: trained_policy("cobweb")},
            seed=seed,
        )


model_params = {
    "lam": Slider("starting supply steepness lambda", 0.5, 0.1, 1.0, 0.01),
    "inertia": Slider("starting forecast inertia", 0.5, 0.0, 0.9, 0.01),
    "seed": 0,
}

COMPONENTS = [
    (ThetaPanel, 0),
    make_plot_component({"price": "tab:blue", "mean_forecast": "tab:orange"}),
    make_plot_component({"forecast_spread": "tab:green"}),
    make_plot_component({"lam": "tab:red", "inertia": "tab:purple"}),
    (make_leader_trajectory(RUN_DIR), 1),
]
NAME = "Cobweb market (ADAGE)"

page = SolaraViz(CobwebPage(), components=COMPONENTS, model_params=model_params, name=NAME)
