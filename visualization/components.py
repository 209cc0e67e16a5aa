"""Page pieces shared by the mesa-adage Solara pages.

- :func:`trained_policy` loads the theta-conditioned policies the pages ship with;
- :func:`ThetaPanel` drags theta *during* a run: the agents see the new theta at once and
  adapt zero-shot, with no retraining (the Lucas critique, live);
- :func:`make_leader_trajectory` shows a run folder's leader trajectory, theta_k and J_L.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import solara
from matplotlib.figure import Figure
from stable_baselines3 import PPO

from mesa_adage import AdaptiveModel, SB3Policy

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
            solara.SliderFloat(
                label=p.doc or p.name,
                value=values[p.name],
                min=p.low,
                max=p.high,
                step=p.span / 100,
                on_value=setter(p.name),
            )
        solara.Text("theta: " + ", ".join(f"{k}={v:.3g}" for k, v in model.theta.items()))


def make_leader_trajectory(run_dir: str | Path):
    """A component showing ``history.csv`` of a run folder: theta_k and J_L over epochs."""
    path = Path(run_dir) / "history.csv"

    @solara.component
    def LeaderTrajectory(model: AdaptiveModel) -> None:
        if not path.exists():
            solara.Markdown(
                f"No leader run at `{path.parent}` yet: `adage run ...` writes one, and this "
                "panel shows its theta and objective per epoch."
            )
            return
        history = pd.read_csv(path)
        names = [p.name for p in model.characteristics.params]
        fig = Figure(figsize=(7, 2.6))
        left, right = fig.subplots(1, 2)
        for name in names:
            left.plot(history["epoch"], history[name], "o-", label=name)
        left.set_title("leader's theta by epoch", fontsize=9)
        left.legend(fontsize=8)
        right.plot(history["epoch"], history["objective"], "o-", color="tab:red")
        right.set_title("leader objective J_L", fontsize=9)
        fig.tight_layout()
        solara.FigureMatplotlib(fig)

    return LeaderTrajectory
