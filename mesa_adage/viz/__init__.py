"""ADAGE in Mesa's SolaraViz: theta changed mid-run, marked on charts, leader runs replayed.

Each piece is a SolaraViz component, given the way Mesa's ``make_plot_component`` is::

    from mesa.visualization import SolaraViz
    from mesa_adage.viz import ThetaPanel, make_adaptive_plot_component, make_replay_component

    SolaraViz(
        model,  # any adaptive model: adapt()-ed or an AdaptiveModel subclass
        components=[make_adaptive_plot_component("Gini"), ThetaPanel, make_replay_component()],
        model_params=model_params,
    )

- :func:`ThetaPanel`: a slider per parameter of theta; the agents adapt zero-shot.
- :func:`make_adaptive_plot_component`: a DataCollector chart with a dotted line wherever theta
  changed.
- :func:`make_replay_component`: any run folder of ``adage run``, epoch by epoch.
- :func:`make_side_by_side_component`: one seed under two thetas, stepped together.

A component given a model that is not adaptive, a learning class with no policy, or a folder
that is not a run says so on the page.
"""

from mesa_adage.viz.plots import AdaptivePlot, Chart, make_adaptive_plot_component, plot_figure
from mesa_adage.viz.prose import Prose
from mesa_adage.viz.replay import NotARun, Replay, Run, find_runs, load_run, make_replay_component
from mesa_adage.viz.side_by_side import SideBySide, make_side_by_side_component
from mesa_adage.viz.stepping import StepControls, use_stepper
from mesa_adage.viz.theta import (
    ThetaPanel,
    ThetaSlider,
    make_theta_component,
    set_theta,
    theta_log,
)

__all__ = [
    "AdaptivePlot",
    "Chart",
    "NotARun",
    "Prose",
    "Replay",
    "Run",
    "SideBySide",
    "StepControls",
    "ThetaPanel",
    "ThetaSlider",
    "find_runs",
    "load_run",
    "make_adaptive_plot_component",
    "make_replay_component",
    "make_side_by_side_component",
    "make_theta_component",
    "plot_figure",
    "set_theta",
    "theta_log",
    "use_stepper",
]
