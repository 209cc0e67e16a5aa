"""The taxation economy, live: drag the tax and watch trained households adapt.

    solara run visualization/taxation_app.py

Households act through the shipped theta-conditioned policy (``policies/taxation.zip``). The
sliders in "Change theta now" move the HSV tax mid-run; the charts show welfare, GDP, Gini and
hours responding over the next periods. The side panel sets the starting tax, the number of
households and the seed (applied on Reset). This page is also part of ``visualization/app.py``.
"""

from __future__ import annotations

import numpy as np
import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.models import taxation
from mesa_adage.examples.models.taxation import TaxationModel, TaxParams, hsv_tax
from mesa_adage.examples.visualization.components import trained_planner, trained_policy
from mesa_adage.examples.visualization.page import (
    Chart,
    Knob,
    ModelPage,
    Readout,
    page_component,
    recent_mean,
)


class TaxationPage(TaxationModel):
    """The taxation economy with the shipped household policy and no episode end.

    With ``dynamic`` on, the shipped planner (``policies/taxation_planner.zip``, trained on
    these households) sets the tax every :data:`~mesa_adage.examples.models.taxation.PLANNER_EVERY`
    periods, seeing the economy as it did in training.
    """

    def __init__(
        self,
        tau: float = 0.2,
        xi: float = 0.18,
        households: int = 100,
        seed: int = 0,
        dynamic: float = 0,
    ):
        households_policy = trained_policy("taxation")
        super().__init__(
            {"tau": tau, "xi": xi},
            params=TaxParams(n_households=int(households)),
            horizon=10**9,
            policies={Household: households_policy},
            seed=seed,
        )
        self.planner = None
        if dynamic:
            self.planner = taxation.planner_env(households_policy, make=self._same_economy)
            self._act = trained_planner("taxation_planner")

    def _same_economy(self, theta=None, seed=0) -> TaxationModel:
        """A 60-period economy of this page's size: the planner's frame of time."""
        return TaxationModel(theta, params=self.params, seed=seed)

    def step(self) -> None:
        done = self.steps - 1  # Mesa counts the step in progress before it runs
        if self.planner is not None and done % taxation.PLANNER_EVERY == 0:
            act = self._act.predict
            self.planner.decide(self, lambda obs: act(obs, deterministic=True)[0], steps=done)
        super().step()


@solara.component
def Distribution(model: TaxationModel) -> None:
    """The current tax schedule and the income distribution it meets."""
    update_counter.get()  # re-render after every step
    incomes = np.asarray(model.households.get("income"))
    fig = Figure(figsize=(5.2, 2.6))
    left, right = fig.subplots(1, 2)
    y = np.linspace(0.05, max(float(np.percentile(incomes, 99)), 1.0), 200)
    left.plot(y, hsv_tax(y, model.theta["tau"], model.theta["xi"]) / y)
    left.axhline(0, color="grey", lw=0.5)
    left.set_title("average tax rate T(y)/y", fontsize=9)
    left.set_xlabel("income y")
    left.set_ylabel("tax / income (<0: transfer)", fontsize=8)
    right.hist(incomes, bins=25, color="tab:orange")
    right.set_title(f"incomes at step {model.steps}", fontsize=9)
    right.set_xlabel("income y")
    right.set_ylabel("households")
    fig.tight_layout()
    solara.FigureMatplotlib(fig, format="png")


PAGE = ModelPage(
    slug="taxation",
    title="Taxation economy",
    summary=(
        "Policy design: households choose hours and savings under an HSV tax; the leader picks "
        "the tax that raises social welfare."
    ),
    guide=(
        "A hundred households work, save and pay the tax `T(y) = y - (1 - tau) y^(1 - xi)`, "
        "through one trained policy that sees the tax. **Try:** raise tau above 0.5 in *Change "
        "theta now*, then press Step 10: hours fall within a few periods, and GDP with them, "
        "while revenue first rises. **Look for:** the welfare chart, which the leader "
        "maximises: `adage run policy-design` found a low, progressive tax "
        "(tau about 0.1, xi about 0.2). **Dynamic tax:** set the side panel's *dynamic tax* "
        "to 1 and Reset: a planner trained inside the episode (`mesa_adage.outer.planner`) "
        "then sets tau and xi every 10 periods from what it sees of the economy; the first "
        "chart of theta shows its moves."
    ),
    build=TaxationPage,
    knobs={
        "tau": Knob("starting tax level tau", 0.2, 0.0, 1.0, 0.01),
        "xi": Knob("starting progressivity xi", 0.18, 0.0, 0.5, 0.01),
        "households": Knob("households", 100, 20, 1000, 20),
        "dynamic": Knob("dynamic tax: 1 = a learned planner sets it every 10 periods", 0, 0, 1, 1),
    },
    charts=(
        Chart("social welfare (sum of utilities)", {"welfare": "welfare"}, "utility per period"),
        Chart("output and tax revenue", {"gdp": "GDP", "revenue": "revenue"}, "goods per period"),
        Chart(
            "inequality",
            {"gini_income": "Gini of income", "gini_wealth": "Gini of wealth"},
            "Gini (0 equal, 1 unequal)",
        ),
        Chart("hours worked", {"mean_labour": "mean hours"}, "share of time endowment"),
    ),
    readout=Readout(
        "mean hours, last 10 steps",
        recent_mean("mean_labour"),
        "falls as tau rises",
    ),
    run_models=("mesa_adage.examples.models.taxation.TaxationModel",),
    compare={"free market": {"tau": 0.0, "xi": 0.0}, "ADAGE tax": {"tau": 0.13, "xi": 0.18}},
    extras=(Distribution,),
)


Page = page_component(PAGE)
