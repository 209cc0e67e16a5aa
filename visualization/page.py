"""One model's page: the live model, theta changed mid-run, named tabs, a leader run.

A :class:`ModelPage` describes a flagship model's page as data: how to build the model with the
shipped policy, what to try, what to plot, which runs it can replay and which two thetas the
side-by-side view starts from. :func:`ModelView` renders it. The app (``app.py``) lists the
pages, so a new model joins by adding one entry, and each ``*_app.py`` file still runs alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import force_update

from mesa_adage import AdaptiveModel
from visualization.components import Prose, ThetaPanel
from visualization.replay import Replay

WINDOW = 200
"""Steps shown in the live charts (the latest ones)."""

PLAY_INTERVAL = 0.25
"""Seconds between steps while playing."""


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
class Chart:
    """A live chart of DataCollector columns.

    Attributes:
        title: What the chart shows.
        columns: Column name -> legend label.
        ylabel: The y axis, with units where there are any.
    """

    title: str
    columns: Mapping[str, str]
    ylabel: str


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


def frame(model: AdaptiveModel) -> pd.DataFrame:
    """The model's DataCollector variables so far (empty before the first collect)."""
    return model.datacollector.get_model_vars_dataframe()


def recent_mean(column: str, steps: int = 10) -> Callable[[pd.DataFrame], float]:
    """A readout's measure: the mean of ``column`` over the latest ``steps`` rows."""

    def measure(data: pd.DataFrame) -> float:
        return float(data[column].iloc[-steps:].mean()) if len(data) else float("nan")

    return measure


def theta_changes(data: pd.DataFrame, names: list[str]) -> list[int]:
    """The steps at which any of theta's columns ``names`` changed."""
    present = [n for n in names if n in data.columns]
    if len(data) < 2 or not present:
        return []
    moved = (data[present].diff().abs() > 0).any(axis=1)
    return list(data.index[moved])


def chart_figure(data: pd.DataFrame, chart: Chart, theta: list[str] = ()) -> Figure:
    """A labelled line chart of the latest :data:`WINDOW` rows of ``data``.

    A dotted line marks each step where one of theta's columns ``theta`` changed.
    """
    recent = data.iloc[-WINDOW:]
    fig = Figure(figsize=(5.2, 2.6))
    ax = fig.subplots()
    for column, label in chart.columns.items():
        ax.plot(recent.index, recent[column], label=label)
    for k, step in enumerate(theta_changes(recent, list(theta))):
        ax.axvline(step, color="grey", ls=":", lw=1, label="theta changed" if k == 0 else None)
    ax.set_title(chart.title, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(chart.ylabel)
    if len(ax.get_legend_handles_labels()[0]) > 1:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


@solara.component
def LiveChart(data: pd.DataFrame, chart: Chart, theta: list[str]) -> None:
    """One chart of the model's variables ``data``, redrawn when they change."""
    solara.FigureMatplotlib(chart_figure(data, chart, theta), format="png")


@solara.component
def ReadoutText(data: pd.DataFrame, readout: Readout) -> None:
    """The readout's value, with what to expect."""
    value = readout.measure(data)
    shown = "n/a" if not np.isfinite(value) else f"{value:.3f}"
    with solara.Row(style={"align-items": "baseline"}):
        solara.HTML(tag="b", unsafe_innerHTML=f"{readout.label}:")
        solara.HTML(tag="span", unsafe_innerHTML=shown, classes=["adage-readout"])
        solara.Text(f"({readout.expect})", style={"color": "grey"})


def use_stepper(models: list[AdaptiveModel]) -> tuple[int, Callable[[int], None], solara.Reactive]:
    """Steps ``models`` together; returns their step count, ``step(n)`` and the play switch."""
    _, redraw = solara.use_state(0)  # bumped after each step, so that the page redraws
    playing = solara.use_reactive(False)

    def step(n: int = 1) -> None:
        for _ in range(n):
            for model in models:
                model.step()
        redraw(lambda count: count + 1)
        force_update()  # Mesa's own components (a user's extras) redraw too

    def play() -> None:  # in a thread, as Mesa's own controller does
        while playing.value:
            time.sleep(PLAY_INTERVAL)
            step()

    solara.lab.use_task(play, dependencies=[playing.value, *map(id, models)], prefer_threaded=True)
    return models[0].steps, step, playing


@solara.component
def StepControls(
    steps: int, step: Callable[[int], None], playing: solara.Reactive, reset: Callable[[], None]
) -> None:
    """Step, Step 10, Play/Pause and Reset, with the step count."""
    with solara.Card("Run"):
        with solara.Row():
            solara.Button("Step", on_click=lambda: step(1), disabled=playing.value)
            solara.Button("Step 10", on_click=lambda: step(10), disabled=playing.value)
        with solara.Row():
            solara.Button(
                "Pause" if playing.value else "Play",
                on_click=lambda: playing.set(not playing.value),
                color="primary",
            )
            solara.Button("Reset", on_click=reset, disabled=playing.value)
        solara.Text(f"Step: {steps}")


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
    data, theta = frame(model), list(model.characteristics.names)  # once per redraw

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
                        LiveChart(data, chart, theta)
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
