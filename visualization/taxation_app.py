"""The taxation economy, live: drag the tax and watch trained households adapt.

    solara run visualization/taxation_app.py

Households act through the shipped theta-conditioned policy (``policies/taxation.zip``). The
sliders in "Change theta now" move the HSV tax mid-run; the plots show welfare, GDP, Gini and
hours responding over the next periods. The side panel sets the starting tax and the seed
(applied on Reset).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import solara
from matplotlib.figure import Figure
from mesa.visualization import Slider, SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.household import Household
from models.taxation import TaxationModel, TaxParams, hsv_tax
from visualization.components import (
    ThetaPanel,
    make_leader_trajectory,
    trained_policy,
)

RUN_DIR = os.environ.get("ADAGE_RUN", "runs/taxation-policy-design-seed0")


class TaxationPage(TaxationModel):
    """The taxation economy with the shipped household policy and no episode end."""

    def __init__(self, tau: float = 0.2, xi: float = 0.18, households: int = 100, seed: int = 0):
        super().__init__(
            {"tau": tau, "xi": xi},
            params=TaxParams(n_households=households),
            horizon=10**9,
            policies={Household: trained_policy("taxation")},
            seed=seed,
        )


@solara.component
def Distribution(model: TaxationModel) -> None:
    """The current tax schedule and the income distribution it meets."""
    update_counter.get()  # re-render after every step
    incomes = np.asarray(model.households.get("income"))
    fig = Figure(figsize=(7, 2.6))
    left, right = fig.subplots(1, 2)
    y = np.linspace(0.05, max(float(np.percentile(incomes, 99)), 1.0), 200)
    left.plot(y, hsv_tax(y, model.theta["tau"], model.theta["xi"]) / y)
    left.axhline(0, color="grey", lw=0.5)
    left.set_title("average tax rate T(y)/y (negative: transfer)", fontsize=9)
    left.set_xlabel("income")
    right.hist(incomes, bins=25, color="tab:orange")
    right.set_title(f"income distribution, step {model.steps}", fontsize=9)
    fig.tight_layout()
    solara.FigureMatplotlib(fig)


model_params = {
    "tau": Slider("starting tax level tau", 0.2, 0.0, 1.0, 0.01),
    "xi": Slider("starting progressivity xi", 0.18, 0.0, 0.5, 0.01),
    "households": Slider("households", 100, 20, 1000, 20),
    "seed": 0,
}

COMPONENTS = [
    (ThetaPanel, 0),
    (Distribution, 0),
    make_plot_component({"welfare": "tab:blue"}),
    make_plot_component({"gdp": "tab:green", "revenue": "tab:purple"}),
    make_plot_component({"gini_income": "tab:red", "gini_wealth": "tab:brown"}),
    make_plot_component({"mean_labour": "tab:gray", "tau": "tab:blue", "xi": "tab:cyan"}),
    (make_leader_trajectory(RUN_DIR), 1),
]
NAME = "Taxation economy (ADAGE)"

page = SolaraViz(TaxationPage(), components=COMPONENTS, model_params=model_params, name=NAME)
