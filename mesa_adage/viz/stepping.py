"""Step models from a page of one's own (Mesa's SolaraViz steps only the model it shows)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import mesa
import solara
from mesa.visualization.utils import force_update

PLAY_INTERVAL = 0.25
"""Seconds between steps while playing."""


def use_stepper(
    models: Sequence[mesa.Model],
) -> tuple[int, Callable[[int], None], solara.Reactive]:
    """Steps ``models`` together; returns their step count, ``step(n)`` and the play switch."""
    _, redraw = solara.use_state(0)  # bumped after each step, so that the page redraws
    playing = solara.use_reactive(False)

    def step(n: int = 1) -> None:
        for _ in range(n):
            for model in models:
                model.step()
        redraw(lambda count: count + 1)
        force_update()  # Mesa's own components redraw too

    def play() -> None:  # in a thread, as Mesa's own controller does
        while playing.value:
            time.sleep(PLAY_INTERVAL)
            step()

    solara.lab.use_task(play, dependencies=[playing.value, *map(id, models)], prefer_threaded=True)
    return (models[0].steps if models else 0), step, playing


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
