"""Side by side: one seed, the same trained agents, two thetas, stepped together.

Both models start from the same seed, so the shocks they meet are the same and every
difference on the charts comes from theta and from the agents' response to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import solara
from matplotlib.figure import Figure

from visualization.components import Prose, ThetaSlider
from visualization.page import WINDOW, Chart, ModelPage, StepControls, frame, use_stepper

COLOURS = ("tab:blue", "tab:red")


def compare_figure(frames: Mapping[str, object], chart: Chart) -> Figure:
    """``chart``'s first column under each theta, one line per theta."""
    column, label = next(iter(chart.columns.items()))
    fig = Figure(figsize=(5.2, 2.6))
    ax = fig.subplots()
    for (name, data), colour in zip(frames.items(), COLOURS, strict=False):
        recent = data.iloc[-WINDOW:]
        ax.plot(recent.index, recent[column], color=colour, label=name)
    ax.set_title(label, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(chart.ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def gap_markdown(frames: Mapping[str, object], charts: Sequence[Chart]) -> str:
    """Each chart's first column, averaged over the steps so far, under each theta."""
    names = list(frames)
    rows = [f"| mean so far | {' | '.join(names)} |", "|---" * (len(names) + 1) + "|"]
    for chart in charts:
        column, label = next(iter(chart.columns.items()))
        means = [frames[n][column].mean() for n in names]
        rows.append(f"| {label} | {' | '.join(f'{m:.4g}' for m in means)} |")
    return "\n".join(rows)


@solara.component
def CompareView(page: ModelPage) -> None:
    """The page's model under two thetas at once; the thetas apply on Reset."""
    thetas = solara.use_reactive({name: dict(t) for name, t in page.compare.items()})
    seed = solara.use_reactive(0)
    build_count = solara.use_reactive(0)

    def build():
        start = page.defaults()
        return [
            page.build(**{**start, **theta}, seed=seed.value) for theta in thetas.value.values()
        ]

    models = solara.use_memo(build, dependencies=[build_count.value, page.slug])
    steps, step, playing = use_stepper(models)
    reset = lambda: build_count.set(build_count.value + 1)  # noqa: E731

    with solara.Row(style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(style={"min-width": "320px", "max-width": "360px"}):
            StepControls(steps, step, playing, reset)
            for name, theta in thetas.value.items():
                with solara.Card(f"theta: {name}"):
                    for p in models[0].characteristics.params:

                        def on_value(value: float, name: str = name, param: str = p.name) -> None:
                            new = {k: dict(v) for k, v in thetas.value.items()}
                            new[name][param] = value
                            thetas.set(new)

                        ThetaSlider(p, theta.get(p.name, p.default), on_value)
            solara.InputInt("seed (both models)", value=seed)
            solara.Text("The thetas and the seed apply on Reset.")
        with solara.Column(style={"flex": "1"}):
            frames = {name: frame(m) for name, m in zip(thetas.value, models, strict=True)}
            Prose(gap_markdown(frames, page.charts))
            with solara.ColumnsResponsive(12, medium=6):
                for chart in page.charts:
                    solara.FigureMatplotlib(compare_figure(frames, chart), format="png")
