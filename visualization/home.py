"""The app's home page: ADAGE in a few sentences, a diagram of its two layers, the pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import solara

from mesa_adage.examples.visualization.page import ModelPage
from mesa_adage.viz import Prose

INTRO = """
# ADAGE: agents that adapt, a leader that designs

**mesa-adage** adds adaptivity to agent-based models written with Mesa, after ADAGE
(arXiv 2501.09429). A Mesa model is the **inner layer**: its agents, the **followers**, act
through policies `pi(a | o, theta_hat)` trained by reinforcement learning and *conditioned on*
the environment's characteristics **theta** (a tax, a market's steepness, a preference). The
**outer layer** is a **leader** that changes theta between epochs to raise a global objective
`J_L`: welfare, a fit to data, calm markets, or a good result across many settings.

The two move on **two timescales**: the followers learn for many steps, then the leader takes
one step in theta, and so on, a Stackelberg game solved by alternating optimisation. Because
the followers' policies take theta as an input, they respond at once to a theta they were not
trained at: no retraining. That answers the **Lucas critique**: a policy judged against
agents frozen in yesterday's behaviour is judged wrongly, so the agents must adapt.

Every model page lets you **change theta now** and watch the trained agents adapt, zero-shot.
"""

TASKS = """
| task | what the leader looks for | page |
|---|---|---|
| policy design | the tax that raises social welfare | taxation economy |
| calibration | the hidden parameters behind observed prices | cobweb market |
| scenario generation | a Tobin tax that calms a market, or a stress test | entrance game |
| robust learning | one market maker that does well for every preference | market maker |
| a game of two leaders | each leader's best response to the other, an equilibrium | fiscal game |
"""


@dataclass(frozen=True)
class PageCard:
    """A page's card on the home page, for a page that is not a model's (the fiscal game).

    Attributes:
        slug: The page's address in the app.
        title: The page's title.
        summary: One sentence for the card.
    """

    slug: str
    title: str
    summary: str


def _text(x: int, y: int, words: str, size: int = 12, anchor: str = "middle", bold=False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}"{weight}>{words}</text>'


def _arrow(x: int, y0: int, y1: int) -> str:
    return f'<path d="M{x},{y0} L{x},{y1}" stroke="#444" stroke-width="2" marker-end="url(#a)"/>'


def diagram_svg() -> str:
    """ADAGE's two layers as SVG: the leader above, the Mesa model and its followers below."""
    agents = "".join(
        f'<circle cx="{150 + 70 * i}" cy="262" r="17" fill="#cfe3f7" stroke="#2b6cb0"/>'
        + _text(150 + 70 * i, 267, "pi")
        for i in range(5)
    )
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 330" width="640" role="img"'
        ' aria-label="ADAGE: a leader sets theta for a Mesa model whose agents adapt">',
        '<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>'
        "</defs>",
        '<rect x="170" y="10" width="300" height="64" rx="10" fill="#fde8d7" stroke="#c05621"/>',
        _text(320, 36, "Leader (outer layer)", 16, bold=True),
        _text(320, 58, "chooses theta to maximise J_L, once per epoch"),
        _arrow(260, 76, 176),
        _text(252, 122, "theta: tax, steepness,", 13, "end"),
        _text(252, 140, "preference ...", 13, "end"),
        _arrow(380, 176, 76),
        _text(390, 122, "J_L: welfare, fit to data,", 13, "start"),
        _text(390, 140, "calm, robustness ...", 13, "start"),
        '<rect x="100" y="180" width="440" height="130" rx="10" fill="#ebf4ff" stroke="#2b6cb0"/>',
        _text(320, 204, "Mesa model (inner layer)", 16, bold=True),
        _text(320, 226, "followers act by pi(a | o, theta_hat), one policy per agent type"),
        agents,
        _text(320, 298, "they learn for many steps between two leader moves (two timescales)"),
        "</svg>",
    ]
    return "\n".join(parts)


@solara.component
def Home(pages: Sequence[ModelPage | PageCard]) -> None:
    """ADAGE in a few sentences, its diagram, and a card per page."""
    solara.Title("mesa-adage")
    with solara.Column(style={"padding": "8px 24px", "max-width": "1300px"}):
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
            with solara.Column(style={"flex": "1", "min-width": "380px"}):
                Prose(INTRO)
            with solara.Column(style={"min-width": "400px"}):
                solara.HTML(tag="div", unsafe_innerHTML=diagram_svg(), classes=["adage-diagram"])
                Prose(TASKS)
        with solara.ColumnsResponsive(12, medium=6, large=3):
            for page in pages:
                with solara.Card(page.title):
                    Prose(page.summary)
                    with solara.Link(f"/{page.slug}"):
                        solara.Button(f"Open {page.title}", text=True, color="primary")
        Prose(
            "**Leader replay** steps through a run folder that `adage run` wrote; **Side by "
            "side** runs one seed under two thetas with the same trained agents. The lab in "
            "`docs/teaching.md` walks through all of it in 45 minutes."
        )
