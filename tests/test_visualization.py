"""The Solara app: rendered in-process, and served to a real headless Chromium."""

from __future__ import annotations

import importlib
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pytest
import solara

from mesa_adage.cli import main as adage
from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.visualization.browser import CHROMIUM, launch, served, watch
from mesa_adage.examples.visualization.components import trained_policy
from mesa_adage.viz import NotARun, Replay, ThetaPanel, find_runs, load_run
from mesa_adage.viz.replay import answer_markdown

NEED_BROWSER = os.environ.get("ADAGE_REQUIRE_BROWSER") == "1"


def rendered(component, *args):
    """``component(*args)`` rendered inside an AppLayout, as the app does."""

    @solara.component
    def Wrapped():
        with solara.AppLayout():
            component(*args)

    return solara.render(Wrapped(), handle_error=False)[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A folder holding one real, finished run of the tiny cobweb calibration (2 epochs)."""
    root = tmp_path_factory.mktemp("runs")
    code = adage(["run", "tests.specs:tiny_calibration", "--out", str(root / "tiny"), "--quiet"])
    assert code == 0
    return root


# ---------------------------------------------------------------------- in process


def test_theta_panel_changes_theta_mid_run_and_households_see_it():
    from mesa_adage.examples.visualization.taxation_app import TaxationPage

    model = TaxationPage(tau=0.1, xi=0.1, households=50)
    for _ in range(3):
        model.step()
    rc = rendered(ThetaPanel, model)
    rc.find(v.Slider, label="tau").widget.v_model = 0.6
    assert model.theta["tau"] == pytest.approx(0.6)
    rc.find(children=["theta: tau=0.6, xi=0.1"]).assert_single()
    hours_before = np.mean(model.households.get("hours"))
    for _ in range(3):
        model.step()  # the shipped policy reacts to the new tax without retraining
    assert np.allclose(model.observations(Household)[:, -2], 0.2)  # tau 0.6 -> 0.2 in [-1, 1]
    assert np.mean(model.households.get("hours")) < hours_before


def test_the_taxation_page_plays_the_shipped_dynamic_tax_every_10_periods():
    from mesa_adage.examples.models import taxation
    from mesa_adage.examples.visualization.components import trained_planner
    from mesa_adage.examples.visualization.taxation_app import TaxationPage

    static = TaxationPage(tau=0.1, xi=0.1, households=50, seed=2)
    model = TaxationPage(tau=0.1, xi=0.1, households=50, seed=2, dynamic=1)
    planner, seen = trained_planner("taxation_planner"), []
    for step in range(25):
        if step % taxation.PLANNER_EVERY == 0:  # what the planner will see, then its move
            obs = model.planner.observation(model)
            seen.append(model.planner.theta_of(planner.predict(obs, deterministic=True)[0]))
        model.step()
        static.step()
        assert dict(model.theta) == pytest.approx(seen[-1])  # held between decisions
    assert len(seen) == 3 and dict(static.theta) == {"tau": 0.1, "xi": 0.1}
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["tau"].iloc[0] == pytest.approx(seen[0]["tau"])  # the households saw it


SLIDERS = {  # page: starting theta, the slider and its new value, the column, the steps
    "market maker quotes tighter when omega rises": (
        "market_maker_app.MarketMakerPage",
        {"omega": 0.0},
        ("omega", 1.0, "theta: omega=1"),
        ("spread", 20),
    ),
    "traders trade less when the tax rises": (
        "entrance_app.EntrancePage",
        {"tau": 0.0},
        ("tau", 0.5, "theta: tau=0.5"),
        ("volume", 30),
    ),
}


@pytest.mark.parametrize("case", list(SLIDERS))
def test_a_slider_halves_a_page_s_series_without_retraining(case):
    page, start, (label, value, shown), (column, steps) = SLIDERS[case]
    module, name = page.split(".")
    pages = importlib.import_module(f"mesa_adage.examples.visualization.{module}")
    model = getattr(pages, name)(**start, seed=3)
    rc = rendered(ThetaPanel, model)

    def recent_mean():
        for _ in range(steps):
            model.step()
        return model.datacollector.get_model_vars_dataframe()[column].iloc[-steps:].mean()

    before = recent_mean()
    rc.find(v.Slider, label=label).widget.v_model = value
    rc.find(children=[shown]).assert_single()
    after = recent_mean()
    assert after < 0.5 * before, (before, after)


def test_every_model_page_steps_and_shows_its_readout():
    from mesa_adage.examples.visualization.app import PAGES
    from mesa_adage.examples.visualization.page import ModelView

    for page in PAGES:
        rc = rendered(ModelView, page)
        rc.find(v.Btn, children=["Step 10"]).widget.click()
        rc.find(children=["Step: 10"]).assert_single()
        shown = rc.find(attributes={"class": "adage-readout"}).widget.unsafe_innerHTML
        assert re.fullmatch(r"-?\d+\.\d{3}", shown), (page.slug, shown)
        rc.find(v.Btn, children=["Reset"]).widget.click()
        rc.find(children=["Step: 0"]).assert_single()


def test_standalone_page_files_still_run_alone():
    for name in ("cobweb_app", "taxation_app", "market_maker_app", "entrance_app"):
        module = importlib.import_module(f"mesa_adage.examples.visualization.{name}")
        rc = rendered(module.Page)
        rc.find(v.Btn, children=["Step"]).widget.click()
        rc.find(children=["Step: 1"]).assert_single()


def test_the_app_has_a_route_per_page_plus_home_replay_and_side_by_side():
    from mesa_adage.examples.visualization import app

    paths = [r.path for r in app.routes]
    pages = [p.slug for p in app.PAGES]
    assert paths == ["/", *pages, "fiscal-game", "leader-replay", "side-by-side"]
    assert len({p.slug for p in app.PAGES}) == len(app.PAGES)
    rendered(app.HomePage)


def test_the_home_diagram_is_valid_svg_naming_both_layers():
    from mesa_adage.examples.visualization.home import diagram_svg

    root = ET.fromstring(diagram_svg())
    texts = " ".join(t.text for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for words in ("Leader (outer layer)", "Mesa model (inner layer)", "theta", "J_L"):
        assert words in texts


def test_the_fiscal_game_page_answers_tau_with_the_legislature_s_best_response():
    from mesa_adage.examples.models.taxation import fiscal_game
    from mesa_adage.examples.visualization.fiscal_game_app import Page, best_response

    game = fiscal_game().leader(fiscal_game().space)
    low, high = best_response(0.2), best_response(0.9)
    assert [{"xi": xi} for xi in low.xis] == game.moves[1]  # the game's own grid
    assert low.welfare[low.best] == max(low.welfare) and low.xi > high.xi == 0.0

    rc = rendered(Page)
    rc.find(v.Btn, children=["Step 10"]).widget.click()
    rc.find(v.Slider, label="tau").widget.v_model = 0.9  # mid-run
    rc.find(children=["economy runs at: tau=0.9, xi=0"]).assert_single()
    shown = rc.find(attributes={"class": "adage-best-response"}).widget.unsafe_innerHTML
    assert "At tau = 0.90" in shown and "xi = <span class='adage-best-xi'>0</span>" in shown


def test_side_by_side_starts_both_models_from_one_seed():
    """Equal thetas give identical paths, so a gap on the charts comes from theta alone."""
    from mesa_adage.examples.visualization.app import PAGES
    from mesa_adage.examples.visualization.page import frame

    for page in PAGES:
        start = page.defaults()
        first, second = (page.build(**start, seed=5) for _ in range(2))
        a, b = (page.build(**{**start, **theta}, seed=5) for theta in page.compare.values())
        for model in (first, second, a, b):
            for _ in range(8):
                model.step()
        assert frame(first).equals(frame(second)), page.slug
        assert not frame(a).equals(frame(b)), page.slug


def test_side_by_side_steps_both_models():
    from mesa_adage.examples.visualization.app import SideBySide

    rc = rendered(SideBySide)
    rc.find(v.Btn, children=["Step 10"]).widget.click()
    rc.find(children=["Step: 10"]).assert_single()


def test_a_real_run_replays_epoch_by_epoch(runs):
    assert find_runs(runs) == [runs / "tiny"]
    run = load_run(runs / "tiny", models=["mesa_adage.examples.models.cobweb.CobwebModel"])
    assert run.epochs == 2 and run.names == ["lam", "inertia"]
    assert set(run.candidates["epoch"]) == {1, 2}
    summary = json.loads((runs / "tiny" / "summary.json").read_text())
    table = answer_markdown(run)
    assert f"{summary['theta']['lam']:.4g}" in table and "| lam |" in table
    low, high = summary["uncertainty"]["intervals"]["inertia"]
    assert f"[{low:.4g}, {high:.4g}]" in table and "90% interval" in table
    assert f"Fit: **{summary['uncertainty']['fit']['verdict']}**" in table

    rc = rendered(Replay, None, runs)
    rc.find(children=["cobweb-calibration: epoch 2 of 2"]).assert_single()
    rc.find(v.Slider, label="epoch").widget.v_model = 1
    rc.find(children=["cobweb-calibration: epoch 1 of 2"]).assert_single()


BAD_FOLDERS = {
    "missing": (lambda root: root / "nope", "There is no folder at"),
    "a file": (lambda root: root / "tiny" / "summary.json", "is a file, not a run folder"),
    "not a run": (lambda root: root, "is not a run folder"),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_a_folder_that_is_not_a_run_says_why(runs, case):
    where, message = BAD_FOLDERS[case]
    with pytest.raises(NotARun, match=message):
        load_run(where(runs))
    rc = rendered(Replay, None, runs)
    field = rc.find(v.TextField, label="or type a run folder").widget
    field.v_model = str(where(runs))
    field.fire_event("keyup.enter")
    assert message in str(rc.find(v.Alert).widget.children)


def test_a_run_of_another_model_is_refused_by_name(runs):
    cobweb = r"mesa_adage\.examples\.models\.cobweb\.CobwebModel"
    with pytest.raises(NotARun, match=rf"run of `{cobweb}`.*Leader replay"):
        load_run(runs / "tiny", models=["mesa_adage.examples.models.taxation.TaxationModel"])
    rc = rendered(
        Replay, ["mesa_adage.examples.models.taxation.TaxationModel"], runs
    )  # the taxation page's tab
    assert "is a run of `mesa_adage.examples.models.cobweb.CobwebModel`" in str(
        rc.find(v.Alert).widget.children
    )


@pytest.mark.parametrize(
    "file, content, message",
    [
        ("summary.json", "{not json", "is not valid JSON"),
        ("summary.json", "{}", "has no `theta`"),
        ("candidates.csv", "epoch,x,objective\n1,0.5,-1\n", "lacks theta's columns"),
        ("config.json", "[]", "is not a run's config"),
        ("history.csv", "epoch,lam\n1,0.5\n", "lacks the columns"),
    ],
)
def test_a_damaged_run_folder_says_which_file(runs, tmp_path, file, content, message):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(runs / "tiny", damaged)
    (damaged / file).write_text(content)
    with pytest.raises(NotARun, match=message):
        load_run(damaged)


def test_an_unfinished_run_says_so(runs, tmp_path):
    run = tmp_path / "half"
    run.mkdir()
    (run / "config.json").write_text((runs / "tiny" / "config.json").read_text())
    (run / "history.csv").write_text("epoch,lam,inertia,objective\n")
    with pytest.raises(NotARun, match="has not finished an epoch"):
        load_run(run)
    history = (runs / "tiny" / "history.csv").read_text().splitlines()
    (run / "history.csv").write_text("\n".join(history[:2]) + "\n")
    assert "not yet" in answer_markdown(load_run(run))


def test_missing_policy_file_says_how_to_rebuild(monkeypatch, tmp_path):
    import mesa_adage.examples.visualization.components as components

    monkeypatch.setattr(components, "POLICIES", tmp_path)
    trained_policy.cache_clear()
    with pytest.raises(FileNotFoundError, match=r"visualization/train_policies\.py"):
        trained_policy("taxation")
    trained_policy.cache_clear()


# ---------------------------------------------------------------------- in Chromium

# page: which slider of "Change theta now" to push to its top, the readout's direction
THETA_MOVES = {"taxation": 0, "cobweb": 1, "entrance": 0, "market-maker": 0}


@pytest.fixture(scope="module")
def browser_page(runs):
    if not Path(CHROMIUM).exists():
        if NEED_BROWSER:
            pytest.fail(f"chromium not found at {CHROMIUM}; install Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with served(env={"ADAGE_RUNS": str(runs)}) as url, playwright.sync_playwright() as p:
        browser = launch(p)
        yield url, browser
        browser.close()


def open_page(browser_page, path: str):
    """A fresh tab at ``path``, recording console errors and failed requests."""
    url, browser = browser_page
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = watch(page)
    page.goto(f"{url}/{path}")
    return page, problems


def no_problems(problems: list[str]) -> list[str]:
    return [p for p in problems if "favicon" not in p]


def images(page) -> list[str]:
    return page.locator("img").evaluate_all("els => els.map(e => e.src)")


def step_ten(page, total: int) -> None:
    page.get_by_role("button", name="Step 10").click()
    page.get_by_text(f"Step: {total}", exact=True).wait_for(timeout=60_000)


def readout(page) -> float:
    return float(page.locator(".adage-readout").inner_text())


@pytest.mark.slow
@pytest.mark.parametrize("slug", list(THETA_MOVES))
def test_a_model_page_in_a_real_browser(browser_page, slug):
    page, problems = open_page(browser_page, slug)
    panel = page.locator(".v-card", has_text="Change theta now")
    panel.wait_for(timeout=60_000)
    step_ten(page, 10)
    before_images = images(page)
    step_ten(page, 20)
    deadline = time.monotonic() + 30
    while images(page) == before_images:  # a step redraws the charts
        assert time.monotonic() < deadline, "no chart changed after a step"
        page.wait_for_timeout(200)
    before = readout(page)

    theta_text = panel.get_by_text("theta: ").inner_text()
    slider = panel.locator(".v-slider").nth(THETA_MOVES[slug])
    box = slider.bounding_box()
    slider.click(position={"x": box["width"] * 0.97, "y": box["height"] / 2})
    deadline = time.monotonic() + 30
    while panel.get_by_text("theta: ").inner_text() == theta_text:
        assert time.monotonic() < deadline, "the theta slider did not change theta"
        page.wait_for_timeout(200)
    step_ten(page, 30)
    step_ten(page, 40)
    assert readout(page) < before, (slug, before, readout(page))  # every readout falls
    page.close()
    assert not no_problems(problems), problems


@pytest.mark.slow
def test_the_fiscal_game_page_in_a_real_browser(browser_page):
    """Moving the treasury's tau mid-run: the legislature answers, the households adapt."""
    from mesa_adage.examples.visualization.fiscal_game_app import START_TAU, best_response

    page, problems = open_page(browser_page, "fiscal-game")
    panel = page.locator(".v-card", has_text="Treasury: set the tax level now")
    panel.wait_for(timeout=60_000)
    best = page.locator(".adage-best-xi")
    start = f"{best_response(START_TAU).xi:.3g}"
    assert best.inner_text() == start
    step_ten(page, 10)
    step_ten(page, 20)
    before = readout(page)

    slider = panel.locator(".v-slider")
    box = slider.bounding_box()
    slider.click(position={"x": box["width"] * 0.97, "y": box["height"] / 2})
    deadline = time.monotonic() + 30
    while best.inner_text() == start:
        assert time.monotonic() < deadline, "the best response did not change with tau"
        page.wait_for_timeout(200)
    running = panel.get_by_text("economy runs at: ").inner_text()
    tau = float(re.search(r"tau=([0-9.]+)", running)[1])
    assert tau > 0.5 and best.inner_text() == f"{best_response(tau).xi:.3g}"
    assert running.endswith(f"xi={best_response(tau).xi:.3g}")  # the economy runs at it
    step_ten(page, 30)
    step_ten(page, 40)
    assert readout(page) < before  # hours fall under the higher tax
    page.close()
    assert not no_problems(problems), problems


@pytest.mark.slow
def test_home_and_side_by_side_in_a_real_browser(browser_page):
    page, problems = open_page(browser_page, "")
    page.get_by_text("Leader (outer layer)").wait_for(timeout=60_000)
    page.get_by_role("button", name="Open Market maker").click()
    page.wait_for_url("**/market-maker", timeout=30_000)
    page.locator(".v-card", has_text="Change theta now").wait_for(timeout=60_000)

    page.goto(page.url.rsplit("/", 1)[0] + "/side-by-side")
    page.get_by_text("free market").first.wait_for(timeout=60_000)
    before = images(page)
    step_ten(page, 10)
    deadline = time.monotonic() + 30
    while images(page) == before:
        assert time.monotonic() < deadline, "no chart changed after a step"
        page.wait_for_timeout(200)
    page.close()
    assert not no_problems(problems), problems


@pytest.mark.slow
def test_the_replay_in_a_real_browser(browser_page, runs):
    page, problems = open_page(browser_page, "leader-replay")
    page.get_by_text("cobweb-calibration: epoch 2 of 2").wait_for(timeout=60_000)
    page.get_by_text("Final answer", exact=True).wait_for(timeout=30_000)
    assert page.locator("img").count() >= 2  # epochs and candidates

    field = page.get_by_label("or type a run folder")
    field.fill(str(runs / "nope"))
    field.press("Enter")
    page.get_by_text("There is no folder at").wait_for(timeout=30_000)
    page.close()
    assert not no_problems(problems), problems
