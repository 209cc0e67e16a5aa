"""The Solara pages: rendered in-process, and served to a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pytest
import solara

from agents.household import Household
from visualization.components import ThetaPanel, trained_policy

ROOT = Path(__file__).parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NEED_BROWSER = os.environ.get("ADAGE_REQUIRE_BROWSER") == "1"


def test_theta_panel_changes_theta_mid_run_and_households_see_it():
    from visualization.taxation_app import TaxationPage

    model = TaxationPage(tau=0.1, xi=0.1, households=50)
    for _ in range(3):
        model.step()

    @solara.component
    def Page():
        with solara.AppLayout():
            ThetaPanel(model)

    _, rc = solara.render(Page(), handle_error=False)
    slider = rc.find(v.Slider, label="HSV tax level tau (1 - tau = HSV lambda)").widget
    slider.v_model = 0.6
    assert model.theta["tau"] == pytest.approx(0.6)
    rc.find(children=["theta: tau=0.6, xi=0.1"]).assert_single()
    hours_before = np.mean(model.households.get("hours"))
    for _ in range(3):
        model.step()  # the shipped policy reacts to the new tax without retraining
    assert np.allclose(model.observations(Household)[:, -2], 0.2)  # tau 0.6 -> 0.2 in [-1, 1]
    assert np.mean(model.households.get("hours")) < hours_before


SLIDERS = {  # page: starting theta, the slider's label and new value, the column, the steps
    "market maker quotes tighter when omega rises": (
        "market_maker_app.MarketMakerPage",
        {"omega": 0.0},
        ("preference for market share over PnL", 1.0, "theta: omega=1"),
        ("spread", 20),
    ),
    "traders trade less when the tax rises": (
        "entrance_app.EntrancePage",
        {"tau": 0.0},
        ("Tobin tax on each entry and exit (x price)", 0.5, "theta: tau=0.5"),
        ("volume", 30),
    ),
}


@pytest.mark.parametrize("case", list(SLIDERS))
def test_a_slider_halves_a_page_s_series_without_retraining(case):
    import importlib

    page, start, (label, value, shown), (column, steps) = SLIDERS[case]
    module, name = page.split(".")
    model = getattr(importlib.import_module(f"visualization.{module}"), name)(**start, seed=3)

    @solara.component
    def Page():
        with solara.AppLayout():
            ThetaPanel(model)

    _, rc = solara.render(Page(), handle_error=False)

    def recent_mean():
        for _ in range(steps):
            model.step()
        return model.datacollector.get_model_vars_dataframe()[column].iloc[-steps:].mean()

    before = recent_mean()
    rc.find(v.Slider, label=label).widget.v_model = value
    rc.find(children=[shown]).assert_single()
    after = recent_mean()
    assert after < 0.5 * before, (before, after)


def test_pages_build_and_step_in_process():
    from mesa.visualization import SolaraViz

    from visualization import cobweb_app, entrance_app, market_maker_app, taxation_app

    for module, model_class in (
        (cobweb_app, cobweb_app.CobwebPage),
        (taxation_app, taxation_app.TaxationPage),
        (market_maker_app, market_maker_app.MarketMakerPage),
        (entrance_app, entrance_app.EntrancePage),
    ):

        @solara.component
        def Page(module=module, model_class=model_class):
            with solara.AppLayout():
                SolaraViz(
                    model_class(),
                    components=module.COMPONENTS,
                    model_params=module.model_params,
                    name=module.NAME,
                )

        _, rc = solara.render(Page(), handle_error=False)
        rc.find(v.Btn, children=["Step"]).widget.click()
        rc.find(children=["Step: 1"]).assert_single()


def test_missing_policy_file_says_how_to_rebuild(monkeypatch, tmp_path):
    import visualization.components as components

    monkeypatch.setattr(components, "POLICIES", tmp_path)
    trained_policy.cache_clear()
    with pytest.raises(FileNotFoundError, match=r"visualization/train_policies\.py"):
        trained_policy("taxation")
    trained_policy.cache_clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served_page(request):
    port = free_port()
    solara_bin = Path(sys.executable).with_name("solara")
    server = subprocess.Popen(
        [
            str(solara_bin),
            "run",
            request.param,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--production",
            "--no-open",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.3)
    yield f"http://127.0.0.1:{port}/"
    server.terminate()
    server.wait(timeout=10)


PAGES = {  # app file: the theta text after a click on the middle of the first slider
    "visualization/taxation_app.py": "theta: tau=0.5",
    "visualization/market_maker_app.py": "theta: omega=0.5",
    "visualization/entrance_app.py": "theta: tau=0.25",
}


@pytest.mark.slow
@pytest.mark.parametrize("served_page", list(PAGES), indirect=True)
def test_a_page_in_a_real_browser(served_page, request):
    if not Path(CHROMIUM).exists():
        if NEED_BROWSER:
            pytest.fail(f"chromium not found at {CHROMIUM}; install Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(served_page)
        page.get_by_text("Change theta now").wait_for(timeout=60_000)
        page.get_by_role("button", name="Step").click()
        page.get_by_text("Step: 1").wait_for(timeout=30_000)
        plots_before = page.locator("img").count()
        assert plots_before >= 4  # the matplotlib panels render as images

        panel = page.locator(".v-card", has_text="Change theta now")
        panel.locator(".v-slider").first.click()  # jump the first theta to the slider's middle
        page.get_by_text(PAGES[request.node.callspec.params["served_page"]]).wait_for(
            timeout=30_000
        )
        images = "els => els.map(e => e.src)"
        before = page.locator("img").evaluate_all(images)
        page.get_by_role("button", name="Step").click()
        page.get_by_text("Step: 2").wait_for(timeout=30_000)
        deadline = time.monotonic() + 30
        while page.locator("img").evaluate_all(images) == before:  # the plots redraw
            assert time.monotonic() < deadline, "no plot changed after a step"
            page.wait_for_timeout(200)
        browser.close()
    assert not [e for e in errors if "favicon" not in e], errors
