"""The market entrance game, live: drag the Tobin tax and watch trading calm down.

    solara run visualization/entrance_app.py

A hundred traders choose each period to be in the market or out of it, through the shipped
policy conditioned on the Tobin tax ``tau`` (``policies/entrance.zip``). The market's capacity
drifts, so they keep re-balancing, and the price follows attendance. Raise tau toward 0.5 and
entries and exits dry up: the price path smooths and crashes become rare. Drop it to 0 and the
traders chase every move. The traders were trained once across all tau; nothing is retrained
when the slider moves. This page is also part of ``visualization/app.py``.
"""

from __future__ import annotations

from mesa_adage.examples.agents.trader import Trader
from mesa_adage.examples.models.entrance import EntranceModel
from mesa_adage.examples.visualization.components import trained_policy
from mesa_adage.examples.visualization.page import (
    Chart,
    Knob,
    ModelPage,
    Readout,
    page_component,
    recent_mean,
)


class EntrancePage(EntranceModel):
    """The entrance game with the shipped trader policy and no episode end."""

    def __init__(self, tau: float = 0.0, seed: int = 0):
        super().__init__(
            {"tau": tau},
            horizon=10**9,
            policies={Trader: trained_policy("entrance")},
            seed=seed,
        )


PAGE = ModelPage(
    slug="entrance",
    title="Market entrance game",
    summary=(
        "Scenario generation: a hundred traders decide each period to enter or leave a market; "
        "the leader finds the Tobin tax that calms it, or the shock that stresses it."
    ),
    guide=(
        "A hundred traders decide each period to be in the market or out; the price follows "
        "how many are in against a drifting capacity. **Try:** raise the Tobin tax tau to 0.3 "
        "and press Step 10 a few times: entries and exits (volume) dry up, the price path "
        "smooths, and crashes (falls of over 30% within 3 periods) stop. **Look for:** the "
        "trade-off the leader of `adage run calm` resolves: calm prices, but "
        "enough volume (at least 5 per period); it chose tau about 0.15."
    ),
    build=EntrancePage,
    knobs={"tau": Knob("starting Tobin tax tau", 0.0, 0.0, 0.5, 0.01)},
    charts=(
        Chart("price", {"price": "price"}, "price"),
        Chart("traders in the market", {"attendance": "in the market"}, "traders (of 100)"),
        Chart("volume: entries plus exits", {"volume": "volume"}, "traders per period"),
        Chart("crashes so far", {"crashes": "crashes"}, "count"),
    ),
    readout=Readout(
        "volume per period, last 10 steps",
        recent_mean("volume"),
        "falls as tau rises",
    ),
    run_models=(
        "mesa_adage.examples.models.entrance.EntranceModel",
        "mesa_adage.examples.models.entrance.StressedEntranceModel",
    ),
    compare={"no tax": {"tau": 0.0}, "ADAGE Tobin tax": {"tau": 0.146}},
)


Page = page_component(PAGE)
