"""The market maker, live: drag its preference omega and watch its quotes change.

    solara run visualization/market_maker_app.py

One market maker quotes a bid and an ask around a random-walk mid price, through the shipped
policy conditioned on ``omega`` (``policies/market_maker.zip``), against one rival with fixed
quotes. Raise omega toward 1 (market share over PnL) and the quotes close in on the mid: more
units trade and the PnL grows more slowly. Lower it toward 0 and the quotes widen. The policy
was trained once across all omega; nothing is retrained when the slider moves. This page is
also part of ``visualization/app.py``.
"""

from __future__ import annotations

from mesa_adage.examples.agents.market_maker import MarketMaker
from mesa_adage.examples.models.market_maker import MarketMakerModel
from mesa_adage.examples.visualization.components import trained_policy
from mesa_adage.examples.visualization.page import (
    Chart,
    Knob,
    ModelPage,
    Readout,
    page_component,
    recent_mean,
)


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


PAGE = ModelPage(
    slug="market-maker",
    title="Market maker",
    summary=(
        "Robust learning: one market maker trained across every preference omega between "
        "profit and market share does as well as a specialist at each."
    ),
    guide=(
        "A market maker quotes a bid and an ask around a moving mid price, against a rival "
        "with fixed quotes, through one policy that sees its preference omega. **Try:** move "
        "omega from 0.1 to 1 in *Change theta now* and press Step 10: the quotes close in on "
        "the mid, the spread narrows to a tenth, more units trade and PnL grows more slowly. "
        "**Look for:** inventory, which it keeps near zero at every omega. `adage run "
        "mesa_adage.examples.models.market_maker:robust` trains this one policy for all omega."
    ),
    build=MarketMakerPage,
    knobs={"omega": Knob("starting omega (weight on market share)", 0.1, 0.0, 1.0, 0.05)},
    charts=(
        Chart("quotes around the mid price", {"ask": "ask", "mid": "mid", "bid": "bid"}, "price"),
        Chart("spread: ask minus bid", {"spread": "spread"}, "price"),
        Chart("inventory", {"inventory": "inventory"}, "units held"),
        Chart("profit and loss", {"pnl": "PnL"}, "money"),
        Chart("units traded per step", {"volume": "volume"}, "units"),
    ),
    readout=Readout(
        "spread, last 10 steps",
        recent_mean("spread"),
        "falls as omega rises",
    ),
    run_models=("mesa_adage.examples.models.market_maker.MarketMakerModel",),
    compare={"PnL first (omega 0)": {"omega": 0.0}, "share first (omega 1)": {"omega": 1.0}},
)


Page = page_component(PAGE)
