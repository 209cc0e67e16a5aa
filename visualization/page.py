"""One model's page: the live model, theta changed mid-run, named tabs, a leader run.

The pieces (theta panel, charts marking theta's changes, the replay, the stepper) are
:mod:`mesa_adage.viz`'s, the ones a Mesa user puts in SolaraViz; this page lays them out with
a guide, starting values and a readout.

A :class:`ModelPage` describes a flagship model's page as data: how to build the model with the
shipped policy, what to try, what to plot, which runs it can replay and which two thetas the
side-by-side view starts from. :func:`ModelView` renders it. The app (``app.py``) lists the
pages, so a new model joins by adding one entry, and each ``*_app.py`` file still runs alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import solara

from mesa_adage import AdaptiveModel
from mesa_adage.viz import AdaptivePlot, Chart, Prose, Replay, StepControls, ThetaPanel, use_stepper
from mesa_adage.viz.plots import frame

WINDOW = 200
"""Steps shown in the live charts (the latest ones)."""


@dataclass(frozen=True)
class Knob:
    """A starting value set in the side panel, applied on Reset.

    Attributes:
        label: What the slider sets.
        default: Its value when the page opens.
        low: Lowest value.
        high: Highest value.
        step: Slider resolution (an integer knob when every value here is an integer).
    """

    label: str
    default: float
    low: float
    high: float
    step: float

    @property
    def integer(self) -> bool:
        return all(float(x).is_integer() for x in (self.default, self.low, self.high, self.step))


@dataclass(frozen=True)
class Readout:
    """One number that sums up the agents' behaviour, shown above the charts.

    Attributes:
        label: What it measures.
        measure: The number, from the DataCollector's model variables (latest steps last).
        expect: What it does when theta moves, in words (e.g. "falls as tau rises").
    """

    label: str
    measure: Callable[[pd.DataFrame], float]
    expect: str


@dataclass(frozen=True)
class ModelPage:
    """A flagship model's page, as data.

    Attributes:
        slug: The page's address in the app, e.g. ``"taxation"``.
        title: The page's title.
        summary: One sentence for the home page.
        guide: Markdown: what to try and what to look for.
        build: Makes the model with the shipped policy from the knobs' values and ``seed``.
        knobs: Starting values set in the side panel, by ``build``'s argument names.
        charts: The live charts.
        readout: The number that shows the agents adapting.
        run_models: The model classes (import paths) of the runs this page can replay.
        compare: The two thetas the side-by-side view starts from, by label.
        extras: Further components of the live tab, each called with the model.
    """

    slug: str
    title: str
    summary: str
    guide: str
    build: Callable[..., AdaptiveModel]
    knobs: Mapping[str, Knob]
    charts: tuple[Chart, ...]
    readout: Readout
    run_models: tuple[str, ...]
    compare: Mapping[str, Mapping[str, float]]
    extras: tuple[Callable[[AdaptiveModel], None], ...] = field(default=())

    def defaults(self) -> dict[str, float]:
        """The knobs' starting values."""
        return {name: knob.default for name, knob in self.knobs.items()}


def recent_mean(column: str, steps: int = 10) -> Callable[[pd.DataFrame], float]:
    """A readout's measure: the mean of ``column`` over the latest ``steps`` rows."""

    def measure(data: pd.DataFrame) -> float:
        return float(data[column].iloc[-steps:].mean()) if len(data) else float("nan")

    return measure


@solara.component
def ReadoutText(data: pd.DataFrame, readout: Readout) -> None:
    """The readout's value, with what to expect."""
    value = readout.measure(data)
    shown = "n/a" if not np.isfinite(value) else f"{value:.3f}"
    with solara.Row(style={"align-items": "baseline"}):
        solara.HTML(tag="b", unsafe_innerHTML=f"{readout.label}:")
        solara.HTML(tag="span", unsafe_innerHTML=shown, classes=["adage-readout"])
        solara.Text(f"({readout.expect})", style={"color": "grey"})


@solara.component
def KnobSliders(knobs: Mapping[str, Knob], values: solara.Reactive) -> None:
    """Sliders for the starting values (taken up by Reset)."""
    for name, knob in knobs.items():

        def on_value(value: float, name: str = name) -> None:
            values.set({**values.value, name: value})

        slider = solara.SliderInt if knob.integer else solara.SliderFloat
        kind = int if knob.integer else float
        solara.Text(knob.label, style={"color": "grey", "font-size": "0.85em"})
        slider(
            label=name,
            value=kind(values.value[name]),
            min=kind(knob.low),
            max=kind(knob.high),
            step=kind(knob.step),
            on_value=on_value,
        )


@solara.component
def ModelView(page: ModelPage) -> None:
    """A model's page: run controls and starting values at the side, theta, charts, a run."""
    knob_values = solara.use_reactive(page.defaults())
    seed = solara.use_reactive(0)
    build_count = solara.use_reactive(0)
    model = solara.use_memo(
        lambda: page.build(**knob_values.value, seed=seed.value), dependencies=[build_count.value]
    )
    steps, step, playing = use_stepper([model])
    data = frame(model)  # once per redraw

    solara.Title(page.title)
    with solara.Sidebar():
        StepControls(steps, step, playing, reset=lambda: build_count.set(build_count.value + 1))
        with solara.Card("Starting values (applied on Reset)"):
            KnobSliders(page.knobs, knob_values)
            solara.InputInt("seed", value=seed)

    with solara.Column(style={"padding": "8px 16px"}):
        Prose(f"## {page.title}\n\n{page.guide}")
        with solara.Columns([3, 2]):
            ThetaPanel(model)
            with solara.Card("What the agents do"):
                ReadoutText(data, page.readout)
        with solara.lab.Tabs():
            with solara.lab.Tab("Live model"):
                with solara.ColumnsResponsive(12, medium=6):
                    for chart in page.charts:
                        AdaptivePlot(model, chart, window=WINDOW)
                    for extra in page.extras:
                        extra(model)
            with solara.lab.Tab("Leader run"):
                Replay(models=page.run_models)


def page_component(page: ModelPage) -> Callable[[], None]:
    """A component showing ``page`` alone: a ``*_app.py`` file's ``Page``, an app route's."""

    @solara.component
    def Page() -> None:
        ModelView(page)

    return Page
