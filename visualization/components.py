"""Page pieces shared by the mesa-adage Solara pages.

- :func:`trained_policy` loads the theta-conditioned policies the pages ship with;
- :func:`ThetaPanel` drags theta *during* a run: the agents see the new theta at once and
  adapt zero-shot, with no retraining (the Lucas critique, live);
- :func:`ThetaSlider` is one parameter of theta, described, over its bounds;
- :func:`Prose` shows Markdown text without fetching anything.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import markdown
import solara
from stable_baselines3 import PPO

from mesa_adage import AdaptiveModel, Param, SB3Policy

POLICIES = Path(__file__).parent / "policies"


@functools.cache
def trained_policy(name: str) -> SB3Policy:
    """The shipped policy ``visualization/policies/<name>.zip``.

    Raises:
        FileNotFoundError: If it is missing, saying how to rebuild it.
    """
    path = POLICIES / f"{name}.zip"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; rebuild the page policies with "
            "`python visualization/train_policies.py`"
        )
    return SB3Policy(PPO.load(path, device="cpu"))


@solara.component
def Prose(text: str) -> None:
    """Markdown rendered on the server, styled as Solara's Markdown.

    ``solara.Markdown`` fetches mermaid.js from the CDN on every page, and the offline assets
    lack it: a failed request on every page. Prose text needs none of it.
    """
    html = markdown.markdown(text, extensions=["tables"])
    solara.HTML(
        tag="div", unsafe_innerHTML=html, classes=["rendered_html", "jp-RenderedHTMLCommon"]
    )


@solara.component
def ThetaSlider(param: Param, value: float, on_value: Callable[[float], None]) -> None:
    """One parameter of theta: its description above a slider over its bounds."""
    if param.doc:
        solara.Text(param.doc, style={"color": "grey", "font-size": "0.85em"})
    solara.SliderFloat(
        label=param.name,
        value=value,
        min=param.low,
        max=param.high,
        step=param.span / 100,
        on_value=on_value,
    )


@solara.component
def ThetaPanel(model: AdaptiveModel) -> None:
    """Sliders that change theta mid-episode; the next steps show the agents adapting."""
    space = model.characteristics
    values, set_values = solara.use_state(dict(model.theta), key=str(id(model)))

    def setter(name: str):
        def on_value(value: float) -> None:
            model.set_characteristics({name: value}, mid_episode=True)
            set_values({**values, name: value})

        return on_value

    with solara.Card("Change theta now (agents adapt zero-shot)"):
        for p in space.params:
            ThetaSlider(p, values[p.name], setter(p.name))
        solara.Text("theta: " + ", ".join(f"{k}={v:.3g}" for k, v in model.theta.items()))
