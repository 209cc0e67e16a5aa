"""Side by side: one seed, the same trained agents, two thetas, stepped together.

Both models start from the same seed, so the shocks they meet are the same and every
difference on the charts comes from theta and from the agents' response to it.
:func:`SideBySide` takes a function that builds the model; :func:`make_side_by_side_component`
builds more of the model SolaraViz shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import solara
from matplotlib.figure import Figure

from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.viz.guards import not_adaptive
from mesa_adage.viz.plots import Chart, frame
from mesa_adage.viz.prose import Prose
from mesa_adage.viz.stepping import StepControls, use_stepper
from mesa_adage.viz.theta import ThetaSlider

COLOURS = ("tab:blue", "tab:red")

Build = Callable[[Mapping[str, float], int], AdaptiveModel]
"""Builds the model under a theta from a seed: ``build(theta, seed)``."""

Measure = str | Sequence[str] | Mapping[str, str] | Chart


def compare_figure(
    frames: Mapping[str, pd.DataFrame], chart: Chart, window: int | None = None
) -> Figure:
    """``chart``'s first column under each theta, one line per theta."""
    column, label = next(iter(chart.columns.items()))
    fig = Figure(figsize=(5.2, 2.6))
    ax = fig.subplots()
    for (name, data), colour in zip(frames.items(), COLOURS, strict=False):
        recent = data.iloc[-window:] if window else data
        ax.plot(recent.index, recent[column], color=colour, label=name)
    ax.set_title(label, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(chart.ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def gap_markdown(frames: Mapping[str, pd.DataFrame], charts: Sequence[Chart]) -> str:
    """Each chart's first column, averaged over the steps so far, under each theta."""
    names = list(frames)
    rows = [f"| mean so far | {' | '.join(names)} |", "|---" * (len(names) + 1) + "|"]
    for chart in charts:
        column, label = next(iter(chart.columns.items()))
        means = [frames[n][column].mean() for n in names]
        rows.append(f"| {label} | {' | '.join(f'{m:.4g}' for m in means)} |")
    return "\n".join(rows)


def _built(build: Build, thetas: Mapping[str, Mapping[str, float]], seed: int) -> Any:
    """The models, or the sentence saying why they could not be built."""
    try:
        models = [build(theta, seed) for theta in thetas.values()]
    except (TypeError, ValueError, RuntimeError) as err:
        return f"Side by side could not build the model: {type(err).__name__}: {err}"
    for model in models:
        problem = not_adaptive(model, "Side by side")
        if problem:
            return problem
    return models


@solara.component
def SideBySide(
    build: Build,
    thetas: Mapping[str, Mapping[str, float]],
    measures: Sequence[Measure],
    *,
    seed: int = 0,
    window: int | None = None,
) -> None:
    """The model under two thetas at once, from one seed; the thetas apply on Reset.

    Args:
        build: Builds the model under a theta from a seed, ``build(theta, seed)``.
        thetas: A label -> theta for each side (two of them; names left out keep defaults).
        measures: The DataCollector variables to compare, as Mesa's ``make_plot_component``
            takes them, or :class:`~mesa_adage.viz.Chart` s; the first column of each is drawn.
        seed: The seed both models start from (editable on the page).
        window: Show only the latest steps, this many (all if None).
    """
    edited = solara.use_reactive({name: dict(t) for name, t in thetas.items()})
    seed_value = solara.use_reactive(seed)
    build_count = solara.use_reactive(0)
    models = solara.use_memo(
        lambda: _built(build, edited.value, seed_value.value), dependencies=[build_count.value]
    )
    reset = lambda: build_count.set(build_count.value + 1)  # noqa: E731
    steps, step, playing = use_stepper([] if isinstance(models, str) else models)
    if isinstance(models, str):
        solara.Error(models)
        solara.Button("Reset", on_click=reset)
        return
    charts = [Chart.of(m) for m in measures]
    frames = {name: frame(m) for name, m in zip(edited.value, models, strict=True)}
    missing = sorted({c for ch in charts for c in ch.columns} - set(frames[next(iter(frames))]))
    with solara.Row(style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(style={"min-width": "320px", "max-width": "360px"}):
            StepControls(steps, step, playing, reset)
            for name, theta in edited.value.items():
                with solara.Card(f"theta: {name}"):
                    for p in models[0].characteristics.params:

                        def on_value(value: float, name: str = name, param: str = p.name) -> None:
                            new = {k: dict(v) for k, v in edited.value.items()}
                            new[name][param] = value
                            edited.set(new)

                        ThetaSlider(p, theta.get(p.name, p.default), on_value)
            solara.InputInt("seed (both models)", value=seed_value)
            solara.Text("The thetas and the seed apply on Reset.")
        with solara.Column(style={"flex": "1"}):
            if missing:
                solara.Error(
                    f"The DataCollector has no model variables {missing}; it has "
                    f"{list(frames[next(iter(frames))].columns)}"
                )
                return
            Prose(gap_markdown(frames, charts))
            with solara.ColumnsResponsive(12, medium=6):
                for chart in charts:
                    solara.FigureMatplotlib(compare_figure(frames, chart, window), format="png")


def rebuild(model: AdaptiveModel) -> Build:
    """Builds more of ``model``'s class: ``type(model)(theta=theta, seed=seed)``.

    A policy the new model lacks is taken from ``model``, so an ``adapt()``-ed model given its
    policies as a keyword still has them.
    """

    def build(theta: Mapping[str, float], seed: int) -> AdaptiveModel:
        new = type(model)(theta=dict(theta), seed=seed)
        for agent_type, policy in model.policies.items():
            new.policies.setdefault(agent_type, policy)
        return new

    return build


def make_side_by_side_component(
    thetas: Mapping[str, Mapping[str, float]],
    measures: Sequence[Measure],
    build: Build | None = None,
    page: int = 2,
    *,
    seed: int = 0,
    window: int | None = None,
) -> tuple[Callable[[AdaptiveModel], None], int]:
    """One seed under two thetas, side by side, on SolaraViz page ``page``.

    Args:
        thetas: A label -> theta for each side.
        measures: The DataCollector variables to compare.
        build: Builds the model, ``build(theta, seed)``; by default more of the class
            SolaraViz shows (:func:`rebuild`), which must take ``theta=`` and ``seed=``.
        page: The SolaraViz page (tab) to show it on.
        seed: The seed both models start from.
        window: Show only the latest steps, this many (all if None).

    Returns:
        ``(component, page)``, for ``SolaraViz(..., components=[...])``.
    """

    def MakeSideBySide(model: AdaptiveModel) -> None:
        problem = not_adaptive(model, "Side by side")
        if problem:
            return solara.Error(problem)
        return SideBySide(build or rebuild(model), thetas, measures, seed=seed, window=window).key(
            type(model).__qualname__
        )

    return MakeSideBySide, page
