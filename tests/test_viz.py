"""mesa_adage.viz: ADAGE's components in Mesa's own SolaraViz, rendered in-process.

Mesa's Boltzmann wealth model is the test bed (examples/boltzmann/): adapted, with and without
its trained policy, and as Mesa ships it (not adaptive at all).
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import sys
import time
from pathlib import Path

import gymnasium as gym
import ipyvuetify as v
import mesa
import numpy as np
import pytest
import solara
from mesa.examples import BoltzmannWealth
from mesa.examples.basic.boltzmann_wealth_model.agents import MoneyAgent
from mesa.visualization import SolaraViz, make_plot_component
from solara.widgets import HTML

from examples.boltzmann.adaptive import AdaptiveBoltzmann, SharingBoltzmann, policy
from mesa_adage import Characteristics, Param, PolicyAgent
from mesa_adage.examples.visualization.browser import CHROMIUM, launch, served, watch
from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.viz import (
    ThetaPanel,
    make_adaptive_plot_component,
    make_replay_component,
    make_side_by_side_component,
    set_theta,
    theta_log,
)
from mesa_adage.viz.plots import change_positions, frame

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "boltzmann"
MESA_APP = Path(mesa.__file__).parent / "examples/basic/boltzmann_wealth_model/app.py"
NEED_BROWSER = os.environ.get("ADAGE_REQUIRE_BROWSER") == "1"


def viz(model, components, **kwargs):
    """``SolaraViz(model, components=...)`` rendered inside an AppLayout, as `solara run` does."""

    @solara.component
    def Page():
        with solara.AppLayout():
            SolaraViz(model, components=components, **kwargs)

    return solara.render(Page(), handle_error=False)[1]


def texts(rc, kind) -> str:
    return " ".join(str(w.children) for w in rc.find(kind).widgets)


def gini(model, steps: int) -> float:
    for _ in range(steps):
        model.step()
    return float(frame(model)["Gini"].iloc[-10:].mean())


# ---------------------------------------------------------------------- the theta panel


def test_the_theta_panel_changes_theta_mid_run_and_the_gini_falls():
    model = AdaptiveBoltzmann(50, 10, 10, seed=3)
    rc = viz(model, [make_adaptive_plot_component("Gini"), ThetaPanel])
    before = gini(model, 60)
    rc.find(v.Slider, label="solidarity").widget.v_model = 1.0
    assert model.theta["solidarity"] == 1.0
    rc.find(children=["theta: solidarity=1"]).assert_single()
    after = gini(model, 60)
    assert after < before - 0.15, (before, after)  # the rich now give to the poorest
    assert theta_log(model) == [(60, {"solidarity": 1.0})]


def test_a_plain_mesa_model_is_refused_by_name_on_the_page():
    rc = viz(
        BoltzmannWealth(20, 5, 5, seed=1),
        [
            ThetaPanel,
            make_adaptive_plot_component("Gini"),
            make_side_by_side_component({}, [], page=0),
        ],
    )
    errors = texts(rc, v.Alert)
    assert errors.count("BoltzmannWealth is a plain mesa.Model with no theta") == 3
    assert "ThetaPanel needs an adaptive model" in errors
    assert "mesa_adage.adapt(...)" in errors


def test_an_adapted_class_with_no_policy_is_named_as_running_its_own_rule():
    rc = viz(SharingBoltzmann(n=20, width=5, height=5, seed=1), [ThetaPanel])
    warning = texts(rc, v.Alert)
    assert "no policy for MoneyAgent" in warning and "model's own rule" in warning
    assert "policies={MoneyAgent: SB3Policy(...)}" in warning


class Learner(PolicyAgent):
    def observe(self):
        return [0.0]

    def act(self, action):
        pass

    def reward(self):
        return 0.0


Learner.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,))
Learner.action_space = gym.spaces.Discrete(2)


class Bare(AdaptiveModel):
    """A hand-written adaptive model whose PolicyAgents were given no policy."""

    characteristics = Characteristics(Param("tax", 0.0, 1.0))

    def __init__(self, theta=None, seed=None, **kwargs):
        super().__init__(theta, seed=seed, **kwargs)
        Learner.create_agents(self, 3)
        self.datacollector = mesa.DataCollector({"tax": lambda m: m.theta["tax"]})

    def step(self):
        self.decide()
        self.datacollector.collect(self)


def test_a_policy_agent_with_no_policy_is_an_error_naming_the_class():
    rc = viz(Bare(seed=1), [ThetaPanel])
    error = " ".join(str(a.children) for a in rc.find(v.Alert, type="error").widgets)
    assert "Bare has no policy for its learning class Learner, so it cannot step" in error


# ---------------------------------------------------------------------- charts


def test_theta_changes_are_marked_where_they_happened():
    model = AdaptiveBoltzmann(20, 5, 5, seed=1)
    for _ in range(5):
        model.step()
    set_theta(model, {"solidarity": 0.9})
    for _ in range(3):
        model.step()
    set_theta(model, {"solidarity": 0.2})
    model.step()
    # Boltzmann collects at start and after each step: row k is step k
    assert change_positions(model, frame(model)) == [5.5, 8.5]


def test_theta_columns_in_the_datacollector_place_the_marks_exactly():
    model = Bare(seed=1, policies={Learner: lambda obs: np.zeros(len(obs), int)})
    model.step()
    model.set_characteristics({"tax": 0.7}, mid_episode=True)  # not through the panel
    model.step()
    assert change_positions(model, frame(model)) == [1.0]


def test_a_measure_the_datacollector_lacks_is_named():
    rc = viz(AdaptiveBoltzmann(20, 5, 5, seed=1), [make_adaptive_plot_component("Wealth")])
    error = texts(rc, v.Alert)
    assert "no model variables ['Wealth']" in error and "it has ['Gini']" in error


def test_the_plot_shows_its_latest_value():
    model = AdaptiveBoltzmann(20, 5, 5, seed=1)
    rc = viz(model, [make_adaptive_plot_component("Gini")])
    rc.find(v.Btn, children=["Step"]).widget.click()
    (html,) = [
        h.unsafe_innerHTML for h in rc.find(HTML).widgets if "adage-latest" in h.unsafe_innerHTML
    ]
    assert f"<span class='adage-latest'>{frame(model)['Gini'].iloc[-1]:.4g}</span>" in html


# ---------------------------------------------------------------------- replay, side by side


def test_the_replay_of_a_folder_that_is_not_a_run_says_why(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    rc = viz(AdaptiveBoltzmann(20, 5, 5), [make_replay_component(tmp_path, page=0)])
    rc.find(
        children=[f"No run folders under `{tmp_path}/` yet: `adage run ...` writes them there."]
    )
    field = rc.find(v.TextField, label="or type a run folder").widget
    field.v_model = str(tmp_path / "notes.txt")
    field.fire_event("keyup.enter")
    assert "is a file, not a run folder" in texts(rc, v.Alert)


def test_side_by_side_rebuilds_the_shown_model_under_two_thetas():
    thetas = {"selfish": {"solidarity": 0.0}, "solidary": {"solidarity": 1.0}}
    model = SharingBoltzmann(n=30, width=5, height=5, seed=2, policies={MoneyAgent: policy()})
    component = make_side_by_side_component(thetas, ["Gini"], page=0, seed=4)
    rc = viz(model, [component])
    for _ in range(3):
        rc.find(v.Btn, children=["Step 10"]).widget.click()
    rc.find(children=["Step: 30"]).assert_single()
    (table,) = [
        h.unsafe_innerHTML for h in rc.find(HTML).widgets if "mean so far" in h.unsafe_innerHTML
    ]
    selfish, solidary = map(float, re.findall(r"<td>([\d.]+)</td>", table))
    assert solidary < selfish - 0.1, table


def test_side_by_side_says_when_it_cannot_rebuild_the_model():
    thetas = {"a": {"solidarity": 0.0}, "b": {"solidarity": 2.0}}
    component = make_side_by_side_component(thetas, ["Gini"], page=0)
    rc = viz(AdaptiveBoltzmann(20, 5, 5, seed=1), [component])
    error = texts(rc, v.Alert)
    assert "Side by side could not build the model: ValueError" in error
    assert "solidarity" in error


# ---------------------------------------------------------------------- the Boltzmann proof


def test_the_boltzmann_app_is_mesa_s_own_plus_at_most_five_lines():
    mesa_app = MESA_APP.read_text().splitlines()
    ours = (EXAMPLE / "app.py").read_text().splitlines()
    labels = ("mesa/examples/basic/boltzmann_wealth_model/app.py", "examples/boltzmann/app.py")
    diff = list(difflib.unified_diff(mesa_app, ours, *labels, lineterm="", n=1))
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    assert 0 < len(added) <= 5, added
    docs = (EXAMPLE.parents[1] / "docs" / "solaraviz.md").read_text()
    shown = docs.split("```diff\n", 1)[1].split("\n```", 1)[0]
    assert shown == "\n".join(diff)  # the docs show the real diff
    assert f"**{len(added)} added lines**" in docs


def test_the_boltzmann_app_renders_in_solara_viz(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(EXAMPLE))  # `solara run app.py` puts its folder first too
    monkeypatch.setenv("ADAGE_RUNS", str(tmp_path))
    sys.modules.pop("app", None)
    app = importlib.import_module("app")
    try:

        @solara.component
        def Page():  # app.page, as `solara run` shows it: in Solara's AppLayout
            with solara.AppLayout():
                app.page.component(*app.page.args, **app.page.kwargs)

        rc = solara.render(Page(), handle_error=False)[1]
        rc.find(v.Slider, label="solidarity").assert_single()
        rc.find(v.Btn, children=["Step"]).widget.click()
        rc.find(children=["Step: 1"]).assert_single()
    finally:
        sys.modules.pop("app", None)


def test_mesa_s_plot_component_still_works_beside_ours():
    model = AdaptiveBoltzmann(20, 5, 5, seed=1)
    rc = viz(model, [make_plot_component("Gini"), make_adaptive_plot_component("Gini")])
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(children=["Step: 1"]).assert_single()


# ---------------------------------------------------------------------- in Chromium


def steps_shown(page) -> int:
    """The step count in SolaraViz's Information card."""
    return int(page.get_by_text(re.compile(r"^Step: \d+$")).first.inner_text().split()[1])


def play_until(page, steps: int) -> None:
    """Press Play, wait until the model has run ``steps`` steps, press Pause."""
    page.get_by_role("button", name="▶").click()
    deadline = time.monotonic() + 120
    while steps_shown(page) < steps:
        assert time.monotonic() < deadline, f"the model did not reach step {steps}"
        page.wait_for_timeout(200)
    page.get_by_role("button", name="❚❚").click()
    page.get_by_role("button", name="▶").wait_for(timeout=30_000)


def recent_gini(page) -> float:
    """The adaptive Gini chart's mean over its last 10 steps, as the page shows it."""
    return float(page.locator(".adage-recent").first.inner_text())


@pytest.mark.slow
def test_the_boltzmann_app_in_a_real_browser(tmp_path):
    """Mesa's Boltzmann app plus ADAGE's lines, served with `solara run`, offline.

    Solidarity moved from 0 to 1 mid-run makes the rich give to the poorest: the Gini falls.
    The space is drawn with matplotlib: offline, Mesa's altair backend cannot load vega.
    """
    if not Path(CHROMIUM).exists():
        if NEED_BROWSER:
            pytest.fail(f"chromium not found at {CHROMIUM}; install Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    env = {"ADAGE_RUNS": str(tmp_path)}
    with served(app="app.py", cwd=EXAMPLE, env=env) as url:  # as a user runs it, in its folder
        drive_boltzmann(url)


def drive_boltzmann(url: str) -> None:
    """Play the served Boltzmann app, raise solidarity mid-run, and see the Gini fall."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        problems = watch(page)
        page.goto(url)
        panel = page.locator(".v-card", has_text="Change theta now")
        panel.wait_for(timeout=60_000)
        assert panel.get_by_text("theta: ").inner_text() == "theta: solidarity=0"

        play_until(page, 40)
        before = recent_gini(page)
        slider = panel.locator(".v-slider").first
        box = slider.bounding_box()
        slider.click(position={"x": box["width"] * 0.99, "y": box["height"] / 2})
        shown = panel.get_by_text("theta: ")
        deadline = time.monotonic() + 30
        while shown.inner_text() == "theta: solidarity=0":
            assert time.monotonic() < deadline, "the theta slider did not change theta"
            page.wait_for_timeout(200)
        assert float(shown.inner_text().split("=")[1]) > 0.9, shown.inner_text()
        play_until(page, steps_shown(page) + 40)
        after = recent_gini(page)
        assert after < before - 0.15, (before, after)  # the rich now give to the poorest

        page.get_by_role("tab", name="Page 1").click()  # the replay's page
        page.get_by_text("No run folders under").wait_for(timeout=30_000)
        browser.close()
    assert not [p for p in problems if "favicon" not in p], problems
