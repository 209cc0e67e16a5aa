"""The mesa-adage app: home, a page per flagship model, a game, a leader replay, side by side.

    solara run visualization/app.py            # from the repository root; http://localhost:8765

A new model joins by adding its :class:`~mesa_adage.examples.visualization.page.ModelPage` to
:data:`PAGES`.
"""

from __future__ import annotations

import solara

from mesa_adage.examples.visualization import (
    cobweb_app,
    entrance_app,
    fiscal_game_app,
    market_maker_app,
    taxation_app,
)
from mesa_adage.examples.visualization.compare import CompareView
from mesa_adage.examples.visualization.home import Home
from mesa_adage.examples.visualization.page import ModelPage, page_component
from mesa_adage.viz import Prose, Replay

PAGES = (taxation_app.PAGE, cobweb_app.PAGE, entrance_app.PAGE, market_maker_app.PAGE)
"""The model pages, in the order of the navigation tabs."""


@solara.component
def LeaderReplay() -> None:
    """Any run folder's epochs, candidates and answer."""
    solara.Title("Leader replay")
    with solara.Column(style={"padding": "8px 16px"}):
        Prose(
            "## Leader replay\n\nPick a run folder that `adage run` wrote (under `runs/`), or type "
            "its path. Move the epoch slider to see where the leader stood after each epoch, "
            "the candidates it tried over the objective's profile, and its final answer."
        )
        Replay()


@solara.component
def SideBySide() -> None:
    """One seed under two thetas, with the same trained agents."""
    slug = solara.use_reactive(PAGES[0].slug)
    page = next(p for p in PAGES if p.slug == slug.value)
    solara.Title("Side by side")
    with solara.Column(style={"padding": "8px 16px"}):
        Prose(
            "## Side by side\n\nThe same model, the same seed and the same trained agents under "
            "two thetas, stepped together: every difference comes from theta and from the "
            "agents' response to it. Press Play and watch the gaps open."
        )
        solara.ToggleButtonsSingle(value=slug, values=[p.slug for p in PAGES])
        CompareView(page).key(page.slug)


@solara.component
def HomePage() -> None:
    """ADAGE explained, with a card per page."""
    Home([*PAGES, fiscal_game_app.CARD])


def model_route(page: ModelPage) -> solara.Route:
    """The route of one model's page."""
    return solara.Route(path=page.slug, component=page_component(page), label=page.title)


@solara.component
def Layout(children: list | None = None) -> None:
    """Solara's app layout, with the routes' labels (not their paths) as the navigation tabs."""
    route, routes = solara.use_route()
    with solara.AppLayout(children=children or []):
        with solara.AppBar():
            with solara.lab.Tabs(
                value=routes.index(route) if route in routes else 0, align="center"
            ):
                for r in routes:
                    solara.lab.Tab(r.label, path_or_route=solara.resolve_path(r, level=0))


routes = [
    solara.Route(path="/", component=HomePage, label="Home", layout=Layout),
    *[model_route(page) for page in PAGES],
    solara.Route(
        path=fiscal_game_app.CARD.slug,
        component=fiscal_game_app.Page,
        label=fiscal_game_app.CARD.title,
    ),
    solara.Route(path="leader-replay", component=LeaderReplay, label="Leader replay"),
    solara.Route(path="side-by-side", component=SideBySide, label="Side by side"),
]
