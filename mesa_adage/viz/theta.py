"""Change theta mid-run: the agents see it at once and adapt zero-shot, with no retraining.

:func:`ThetaPanel` is a SolaraViz component (``components=[ThetaPanel]``): a slider per
parameter of theta, over its bounds. :func:`set_theta` is what it calls; it also keeps, per
model, the steps at which theta changed (:func:`theta_log`), which the adaptive plots mark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from weakref import WeakKeyDictionary

import solara
from mesa.visualization.utils import force_update, update_counter

from mesa_adage.characteristics import Param
from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.viz.guards import missing_policies, not_adaptive

_LOGS: WeakKeyDictionary[AdaptiveModel, list[tuple[int, dict[str, float]]]] = WeakKeyDictionary()


def theta_log(model: AdaptiveModel) -> list[tuple[int, dict[str, float]]]:
    """``(steps, theta)`` for each change of ``model``'s theta seen so far, oldest first.

    ``steps`` is the model's step count when theta changed: the new theta holds from step
    ``steps + 1``. Changes made through :func:`set_theta` are logged as they happen; others
    when :func:`note_theta` first sees them (each redraw of an adaptive plot calls it).
    """
    note_theta(model)
    return list(_LOGS[model][1:])


def note_theta(model: AdaptiveModel) -> None:
    """Log ``model``'s theta if it differs from the last one logged."""
    log = _LOGS.setdefault(model, [])
    theta = dict(model.theta)
    if not log or log[-1][1] != theta:
        log.append((model.steps, theta))


def set_theta(model: AdaptiveModel, values: Mapping[str, float]) -> None:
    """Change some of ``model``'s theta now, mid-run, and log the change.

    Raises:
        ValueError: On an unknown name or a value outside its bounds (from the model).
    """
    note_theta(model)  # the theta before, if never seen
    model.set_characteristics(dict(values), mid_episode=True)
    note_theta(model)


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
    """Sliders that change theta mid-run; the next steps show the agents adapting.

    A SolaraViz component: ``SolaraViz(model, components=[ThetaPanel, ...])``. Given a model
    that is not adaptive, or one whose learning agents have no policy, it says so on the page.

    Args:
        model: Any adaptive model: an :class:`~mesa_adage.AdaptiveModel` subclass, or a
            model made adaptive with :func:`~mesa_adage.adapt`.
    """
    update_counter.get()  # redraw after every step, as Mesa's own components do
    refused, set_refused = solara.use_state("", key=f"refused-{id(model)}")
    problem = not_adaptive(model, "ThetaPanel")
    if problem:
        solara.Error(problem)
        return

    def setter(name: str) -> Callable[[float], None]:
        def on_value(value: float) -> None:
            try:
                set_theta(model, {name: value})
            except ValueError as err:  # a value the model refuses: say why, keep running
                set_refused(str(err))
                return
            set_refused("")
            force_update()  # the plots mark the change, the text below shows it

        return on_value

    with solara.Card("Change theta now (agents adapt zero-shot)"):
        errors, warnings = missing_policies(model)
        for message in errors:
            solara.Error(message)
        for message in warnings:
            solara.Warning(message)
        for p in model.characteristics.params:
            ThetaSlider(p, model.theta[p.name], setter(p.name))
        solara.Text("theta: " + ", ".join(f"{k}={v:.3g}" for k, v in model.theta.items()))
        if refused:
            solara.Error(refused)


def make_theta_component(page: int = 0) -> tuple[Callable[[AdaptiveModel], None], int]:
    """The theta panel on SolaraViz page ``page``: ``components=[make_theta_component(1)]``."""
    return ThetaPanel, page
