"""The fiscal game, live: move the treasury's tax; the legislature answers, households adapt.

    solara run visualization/fiscal_game_app.py

Two leaders split the HSV tax of the taxation economy (``fiscal_game`` in
``models/taxation.py``; ``adage run fiscal-game``). The user plays the treasury and sets the
tax level ``tau``. For each ``tau`` the page computes the legislature's best response: the
progressivity ``xi`` on the game's grid that gives the most social welfare, by the game's own
payoffs, every ``xi`` played on the same few episodes (common random numbers). The economy
then runs at ``(tau, best xi)``, with the shipped household policy adapting to both.
This page is also part of ``visualization/app.py``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np
import solara
import torch
from matplotlib.figure import Figure
from mesa.visualization.utils import force_update

from mesa_adage import Experiment, simulate
from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.models.taxation import TaxationModel, fiscal_game
from mesa_adage.examples.visualization.components import trained_policy
from mesa_adage.examples.visualization.home import PageCard
from mesa_adage.examples.visualization.page import WINDOW, ReadoutText
from mesa_adage.examples.visualization.taxation_app import PAGE as TAXATION
from mesa_adage.examples.visualization.taxation_app import TaxationPage
from mesa_adage.outer.leaders import Game
from mesa_adage.viz import (
    AdaptivePlot,
    Chart,
    Prose,
    StepControls,
    ThetaSlider,
    set_theta,
    use_stepper,
)
from mesa_adage.viz.plots import frame

CARD = PageCard(
    slug="fiscal-game",
    title="Fiscal game",
    summary=(
        "Two leaders: a treasury sets the tax level for revenue, a legislature its "
        "progressivity for welfare. Move the treasury's tax and watch the legislature answer."
    ),
)
EPISODES = 4
"""Episodes per ``xi`` in a best response (seeds 0, 1, ...: the same for every ``xi``)."""
TAU = TaxationModel.characteristics.params[TaxationModel.characteristics.index("tau")]
"""The treasury's parameter (its slider moves in hundredths of its range)."""
START_TAU = 0.2
"""The treasury's tax when the page opens (the US level, HSV 2017)."""


def the_game() -> tuple[Game, Experiment]:
    """The game ``adage run fiscal-game`` plays, and its experiment (the same grid and payoffs)."""
    experiment = fiscal_game()
    return experiment.leader(experiment.space), experiment


@dataclass(frozen=True)
class BestResponse:
    """The legislature's answer to one tax level, with what every move on its grid scored.

    Attributes:
        tau: The treasury's tax level.
        xis: The legislature's moves (the game's grid over ``xi``).
        welfare: Its payoff at each move: mean social welfare per period.
        revenue: The treasury's payoff at each move: mean revenue per period.
        episodes: Episodes per move (the same seeds for each).
        horizon: Periods per episode.
        seconds: Wall time of the computation.
    """

    tau: float
    xis: tuple[float, ...]
    welfare: tuple[float, ...]
    revenue: tuple[float, ...]
    episodes: int
    horizon: int
    seconds: float

    @property
    def best(self) -> int:
        """Index of the best move (the first one on a tie, as the game breaks ties)."""
        return int(np.argmax(self.welfare))

    @property
    def xi(self) -> float:
        """The best response."""
        return self.xis[self.best]


@functools.cache
def best_response(tau: float, episodes: int = EPISODES) -> BestResponse:
    """The legislature's best response to ``tau``, with the shipped household policy.

    Each of the legislature's moves is scored on episodes ``0 .. episodes - 1`` (common
    random numbers: a difference between two moves comes from ``xi``, not from luck), by the
    players' own objectives, all moves in one batched :func:`~mesa_adage.simulate`.

    Args:
        tau: The treasury's tax level.
        episodes: Episodes per move.
    """
    game, experiment = the_game()
    treasury, legislature = game.players
    moves = [float(move["xi"]) for move in game.moves[game.players.index(legislature)]]
    thetas = [{"tau": tau, "xi": xi} for xi in moves for _ in range(episodes)]
    seeds = [seed for _ in moves for seed in range(episodes)]
    policies = {Household: trained_policy("taxation")}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small network on shared cores: more threads only contend
    start = time.perf_counter()
    try:
        rollouts = simulate(experiment.make_model, thetas, policies, seeds)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - start
    per_move = [rollouts[k * episodes : (k + 1) * episodes] for k in range(len(moves))]
    return BestResponse(
        tau=tau,
        xis=tuple(moves),
        welfare=tuple(legislature.objective(r) for r in per_move),
        revenue=tuple(treasury.objective(r) for r in per_move),
        episodes=episodes,
        horizon=len(rollouts[0].frame),
        seconds=seconds,
    )


def response_figure(response: BestResponse) -> Figure:
    """Welfare (the legislature's payoff) and revenue (the treasury's) against ``xi``."""
    fig = Figure(figsize=(5.2, 2.6))
    left, right = fig.subplots(1, 2)
    panels = (
        (left, response.welfare, "welfare (legislature's payoff)"),
        (right, response.revenue, "revenue (treasury's payoff)"),
    )
    for ax, values, title in panels:
        ax.plot(response.xis, values, "o-", color="tab:blue")
        best = values[response.best]
        ax.plot(response.xi, best, "*", color="tab:green", ms=14, label="best response")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(response.xis, [f"{xi:.3g}" for xi in response.xis])
        ax.set_xlabel("legislature's xi")
        ax.tick_params(labelsize=8)
        ax.margins(x=0.08, y=0.12)  # the star at an end of the grid stays whole
    left.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def response_sentence(response: BestResponse) -> str:
    """The best response in words (HTML), its value in ``.adage-best-xi`` for the tests."""
    worst = int(np.argmin(response.welfare))
    return (
        f"At tau = {response.tau:.2f}, the legislature's best response is "
        f"<b>xi = <span class='adage-best-xi'>{response.xi:.3g}</span></b>: "
        f"welfare {response.welfare[response.best]:.1f} per period, against "
        f"{response.welfare[worst]:.1f} at xi = {response.xis[worst]:.3g}; the treasury then "
        f"raises {response.revenue[response.best]:.2f} per period. Scored on "
        f"{response.episodes} episodes of {response.horizon} periods per xi, in "
        f"{response.seconds:.2f} s."
    )


GUIDE = f"""
## {CARD.title}: two leaders share one tax

The taxation economy's HSV tax `T(y) = y - (1 - tau) y^(1 - xi)` has two parameters, and here
two leaders own one each. The **treasury** sets the level **tau** and wants **revenue**; the
**legislature** sets the progressivity **xi** and wants **social welfare**. The households
follow both, through one trained policy that sees the whole tax.

**You are the treasury.** Move tau, even while the economy runs. The legislature answers with
its **best response**: of its moves (the game's grid, 5 values of xi), the one that gives the
most welfare *at your tau*. The page plays every xi on the same {EPISODES} episodes of 60
periods with the shipped household policy (common random numbers: a gap between two xi comes
from xi, not luck; under a second here, where `adage run fiscal-game` plays 8), then runs the
economy at your tau and the legislature's xi.

**Try:** at tau 0 the legislature wants a progressive tax (xi 0.25), at tau 0.2 a milder one
(0.125), and from tau 0.25 on a flat one (xi 0): the higher the level, the more hours
progressivity costs. Watch hours fall over the next periods as the households adapt.

**An equilibrium** is a pair of moves where neither leader gains by moving alone. Sweep tau
and read the revenue in the legislature's answer: it peaks at tau 0.75, where the
legislature answers xi 0, and against xi 0 no other tax on the treasury's grid raises more.
That pair is the equilibrium `adage run fiscal-game` finds. Its welfare is well below what one
planner owning both parameters would choose (`adage run policy-design`): the cost of splitting
the tax. More in `docs/games.md`.
"""

CHARTS = (
    Chart(
        "the tax: treasury's tau, legislature's xi",
        {"tau": "tau (treasury)", "xi": "xi (legislature)"},
        "parameter value",
    ),
    *(c for c in TAXATION.charts if c.title != "inequality"),  # welfare, output, hours
)
READOUT = TAXATION.readout


@solara.component
def ResponseView(response: BestResponse) -> None:
    """The legislature's best response: a sentence and its payoffs over the grid."""
    solara.HTML(
        tag="div", unsafe_innerHTML=response_sentence(response), classes=["adage-best-response"]
    )
    solara.FigureMatplotlib(response_figure(response), format="png")


@solara.component
def FiscalGameView() -> None:
    """The page: the treasury's slider, the legislature's answer, the economy adapting."""
    tau = solara.use_reactive(START_TAU)
    seed = solara.use_reactive(0)
    build_count = solara.use_reactive(0)
    model = solara.use_memo(
        lambda: TaxationPage(tau=tau.value, xi=best_response(tau.value).xi, seed=seed.value),
        dependencies=[build_count.value],
    )
    steps, step, playing = use_stepper([model])
    response = best_response(tau.value)  # cached: computed once per tau

    def move_tau(value: float) -> None:
        value = round(value, 2)  # the slider's hundredths: a few cached answers
        answer = best_response(value)  # the legislature answers before the economy moves on
        set_theta(model, {"tau": value, "xi": answer.xi})
        tau.set(value)
        force_update()  # the charts mark the change

    solara.Title(CARD.title)
    with solara.Sidebar():
        StepControls(steps, step, playing, reset=lambda: build_count.set(build_count.value + 1))
        with solara.Card("Starting values (applied on Reset)"):
            solara.InputInt("seed", value=seed)
            solara.Text("Reset starts at the current tau and its best response.")

    with solara.Column(style={"padding": "8px 16px"}):
        Prose(GUIDE)
        with solara.Columns([2, 3]):
            with solara.Column():
                with solara.Card("Treasury: set the tax level now"):
                    ThetaSlider(TAU, tau.value, move_tau)
                    solara.Text(
                        "economy runs at: "
                        + ", ".join(f"{k}={v:.3g}" for k, v in model.theta.items())
                    )
                with solara.Card("What the households do"):
                    ReadoutText(frame(model), READOUT)
            with solara.Card("Legislature: best response to this tau"):
                ResponseView(response)
        with solara.ColumnsResponsive(12, medium=6):
            for chart in CHARTS:
                AdaptivePlot(model, chart, window=WINDOW)


@solara.component
def Page() -> None:
    """The fiscal game's page alone."""
    FiscalGameView()
