"""Charts of a model's DataCollector, with a dotted line wherever theta changed.

:func:`make_adaptive_plot_component` is the adaptive counterpart of Mesa's
``make_plot_component``: ``SolaraViz(model, components=[make_adaptive_plot_component("Gini")])``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.axes
import pandas as pd
import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.viz.guards import not_adaptive
from mesa_adage.viz.theta import theta_log


@dataclass(frozen=True)
class Chart:
    """A chart of DataCollector model variables.

    Attributes:
        title: What the chart shows.
        columns: Column name -> legend label.
        ylabel: The y axis, with units where there are any.
        colours: Column name -> line colour, for those not left to matplotlib.
    """

    title: str
    columns: Mapping[str, str]
    ylabel: str
    colours: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, measure: str | Sequence[str] | Mapping[str, str] | Chart) -> Chart:
        """A chart of ``measure``, given as Mesa's ``make_plot_component`` takes it.

        A string is one column; a list or tuple, several; a dict maps columns to colours.
        """
        if isinstance(measure, Chart):
            return measure
        if isinstance(measure, str):
            return cls(measure, {measure: measure}, measure)
        if isinstance(measure, Mapping):
            return cls(", ".join(measure), {m: m for m in measure}, "", dict(measure))
        if isinstance(measure, Sequence) and all(isinstance(m, str) for m in measure):
            return cls(", ".join(measure), {m: m for m in measure}, "")
        raise ValueError(
            f"measure={measure!r} must be a column name, a list of them, a dict of column -> "
            "colour, or a Chart"
        )


def frame(model: AdaptiveModel) -> pd.DataFrame:
    """The model's DataCollector variables so far (empty before the first collect)."""
    return model.datacollector.get_model_vars_dataframe()


def theta_changes(data: pd.DataFrame, names: Sequence[str]) -> list[float]:
    """The rows of ``data`` at which any of theta's columns ``names`` changed."""
    present = [n for n in names if n in data.columns]
    if len(data) < 2 or not present:
        return []
    moved = (data[present].diff().abs() > 0).any(axis=1)
    return [float(x) for x in data.index[moved]]


def change_positions(model: AdaptiveModel, data: pd.DataFrame) -> list[float]:
    """Where on a chart of ``data`` theta changed, on its x axis (the row index).

    From theta's own columns when the DataCollector reports them (exact); otherwise from the
    changes :func:`~mesa_adage.viz.theta.theta_log` saw, half-way between the last row under
    the old theta and the first under the new one.
    """
    names = list(model.characteristics.names)
    if any(n in data.columns for n in names):
        return theta_changes(data, names)
    if not len(data):
        return []
    last = float(data.index[-1])
    offset = last - model.steps  # the row of step k is k + offset (Mesa collects per step)
    return [steps + offset + 0.5 for steps, _ in theta_log(model)]


def plot_figure(
    data: pd.DataFrame,
    chart: Chart,
    changes: Sequence[float] = (),
    *,
    window: int | None = None,
    post_process: Callable[[matplotlib.axes.Axes], None] | None = None,
) -> Figure:
    """A labelled line chart of ``data``, a dotted line at each of theta's ``changes``.

    Args:
        data: DataCollector model variables.
        chart: Which columns, and the labels.
        changes: x positions where theta changed.
        window: Show only the latest rows, this many (all if None).
        post_process: Called with the axes last, as Mesa's plot components do.

    Raises:
        ValueError: If a column of ``chart`` is not in ``data``, naming those that are.
    """
    missing = [c for c in chart.columns if c not in data.columns]
    if missing:
        raise ValueError(
            f"the DataCollector has no model variables {missing}; it has {list(data.columns)}"
        )
    recent = data.iloc[-window:] if window else data
    fig = Figure(figsize=(5.2, 2.6))
    ax = fig.subplots()
    for column, label in chart.columns.items():
        ax.plot(recent.index, recent[column], label=label, color=chart.colours.get(column))
    low = recent.index[0] if len(recent) else 0
    shown = [x for x in changes if x >= low]
    for k, x in enumerate(shown):
        ax.axvline(x, color="grey", ls=":", lw=1, label="theta changed" if k == 0 else None)
    ax.set_title(chart.title, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(chart.ylabel)
    if len(ax.get_legend_handles_labels()[0]) > 1:
        ax.legend(fontsize=8, loc="best")
    if post_process is not None:
        post_process(ax)
    fig.tight_layout()
    return fig


@solara.component
def AdaptivePlot(
    model: AdaptiveModel,
    measure: str | Sequence[str] | Mapping[str, str] | Chart,
    *,
    window: int | None = None,
    post_process: Callable[[matplotlib.axes.Axes], None] | None = None,
) -> None:
    """``measure`` from the model's DataCollector, a dotted line wherever theta changed.

    Given a model that is not adaptive, or a measure the DataCollector lacks, it says so on
    the page.
    """
    update_counter.get()  # redraw after every step, as Mesa's own components do
    problem = not_adaptive(model, "make_adaptive_plot_component")
    if problem:
        solara.Error(problem)
        return
    data = frame(model)
    try:
        chart = Chart.of(measure)
        figure = plot_figure(
            data,
            chart,
            change_positions(model, data),
            window=window,
            post_process=post_process,
        )
    except ValueError as err:
        solara.Error(f"Cannot plot {measure!r}: {err}")
        return
    solara.FigureMatplotlib(figure, format="png")
    LatestValues(data, chart)


@solara.component
def LatestValues(data: pd.DataFrame, chart: Chart, steps: int = 10) -> None:
    """Each column's latest value and its mean over the latest ``steps`` rows, as text."""
    if not len(data):
        return
    with solara.Row(style={"flex-wrap": "wrap", "font-size": "0.85em"}):
        for column, label in chart.columns.items():
            latest, recent = data[column].iloc[-1], data[column].iloc[-steps:].mean()
            solara.HTML(
                tag="span",
                unsafe_innerHTML=(
                    f"{label}: latest <span class='adage-latest'>{latest:.4g}</span>, mean of the "
                    f"last {steps} steps <span class='adage-recent'>{recent:.4g}</span>"
                ),
                attributes={"data-column": column},
            )


def make_adaptive_plot_component(
    measure: str | Sequence[str] | Mapping[str, str] | Chart,
    post_process: Callable[[matplotlib.axes.Axes], None] | None = None,
    page: int = 0,
    *,
    window: int | None = None,
) -> tuple[Callable[[AdaptiveModel], None], int]:
    """Mesa's ``make_plot_component``, with a dotted line wherever theta changed.

    Args:
        measure: The DataCollector model variable(s), as Mesa takes them: a name, a list of
            names, a dict of name -> colour; or a :class:`Chart` with labels and units.
        post_process: Called with the matplotlib axes after drawing.
        page: The SolaraViz page (tab) to show it on.
        window: Show only the latest steps, this many (all if None).

    Returns:
        ``(component, page)``, for ``SolaraViz(..., components=[...])``.

    Raises:
        ValueError: If ``measure`` is none of those kinds.
    """
    chart = Chart.of(measure)

    def MakeAdaptivePlot(model: AdaptiveModel) -> None:
        return AdaptivePlot(model, chart, window=window, post_process=post_process)

    return MakeAdaptivePlot, page
