"""From a built wheel, in a fresh virtualenv, in an empty folder: what a Mesa user gets.

Builds the wheel and the sdist (``python -m build``), checks them with ``twine check`` and
lists what the wheel carries. Then installs the wheel into a new virtualenv (torch first, as
the README says) and, from an empty folder with nothing of this checkout on any path, runs the
five task names at a reduced budget, serves ``adage app`` and Mesa's Boltzmann app made
adaptive, and drives both in Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mesa_adage import __version__
from mesa_adage.examples import TASKS
from mesa_adage.examples.visualization.app import PAGES
from mesa_adage.examples.visualization.browser import CHROMIUM, free_port, launch, served

ROOT = Path(__file__).resolve().parents[1]
NEED_BROWSER = os.environ.get("ADAGE_REQUIRE_BROWSER") == "1"
SMALL = [
    "--epochs", "1", "--quiet", "--executor", "serial",
    *("--timescale warmup_steps=2000 --timescale follower_steps=0 --timescale candidates=2 "
      "--timescale eval_rollouts=2 --timescale final_top_k=1 --timescale followers=1").split(),
]  # fmt: skip
"""A budget that runs each task in seconds: one epoch of two candidates, 2,000 warm-up steps."""

pytestmark = pytest.mark.slow


def run(command: list[str | Path], cwd: Path, timeout: float = 900) -> str:
    """Run ``command`` with no PYTHONPATH; its output, or a failure that shows it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ADAGE_EXECUTOR")}
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out)
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    return dist / f"mesa_adage-{__version__}-py3-none-any.whl"


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh virtualenv with torch (the CPU wheel) and the built wheel: its bin folder.

    The wheel's ``offline`` extra adds Solara's JS and CSS (``solara-assets``): without it a page
    asks a CDN for them, and this machine reaches only the package registries.
    """
    home = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", home / "v"], cwd=home)
    pip = [home / "v" / "bin" / "python", "-m", "pip", "install", "--quiet"]
    run([*pip, "torch==2.13.0"], cwd=home)
    run([*pip, f"{wheel}[offline]"], cwd=home)  # this machine is offline: Solara's own assets
    return home / "v" / "bin"


@pytest.fixture
def empty(tmp_path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_build_makes_a_wheel_and_an_sdist_that_twine_accepts(dist, wheel):
    sdist = dist / f"mesa_adage-{__version__}.tar.gz"
    assert wheel.exists() and sdist.exists(), sorted(p.name for p in dist.iterdir())
    said = run([sys.executable, "-m", "twine", "check", "--strict", wheel, sdist], cwd=dist)
    assert said.count("PASSED") == 2, said


def test_the_wheel_carries_the_package_and_its_examples_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"mesa_adage", f"mesa_adage-{__version__}.dist-info"}, tops  # no `models`
    folders = {name.rsplit("/", 1)[0] for name in names if name.startswith("mesa_adage/")}
    assert {
        "mesa_adage/inner",
        "mesa_adage/outer/leaders",
        "mesa_adage/run",
        "mesa_adage/analysis",
        "mesa_adage/viz",
        "mesa_adage/examples/models",
        "mesa_adage/examples/agents",
        "mesa_adage/examples/visualization",
        "mesa_adage/examples/visualization/policies",
    } <= folders, folders
    sources = {
        p.relative_to(ROOT).as_posix()
        for d in ("models", "agents")
        for p in (ROOT / d).glob("*.py")
    }
    assert {f"mesa_adage/examples/{s}" for s in sources} <= set(names)  # every example module
    for page in PAGES:  # each page's trained policy ships, so the app opens without training
        assert (
            f"mesa_adage/examples/visualization/policies/{page.slug.replace('-', '_')}.zip" in names
        )
    stray = [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".ipynb"))]
    assert not stray, stray
    assert f"mesa_adage-{__version__}.dist-info/licenses/LICENSE" in names


def test_the_five_tasks_run_by_name_from_an_empty_folder(venv, empty):
    python = venv / "python"
    make_data = (
        "from mesa_adage.examples.models.cobweb_market import heuristic_market\n"
        "f = heuristic_market(0.6, 0.5, 'adaptive', list(range(8)), horizon=20)\n"
        "f[['episode', 'price']].to_csv('prices.csv', index=False)"
    )
    run([python, "-c", make_data], cwd=empty)
    for task in TASKS:
        data = ["--data", "prices.csv"] if task == "calibration" else []
        said = run([venv / "adage", "run", task, *data, *SMALL, "--out", f"runs/{task}"], empty)
        assert "run folder runs/" in said, said
        summary = json.loads((empty / "runs" / task / "summary.json").read_text())
        assert summary["theta"] and isinstance(summary["objective"], float), summary
    assert sorted(p.name for p in empty.iterdir()) == ["prices.csv", "runs"]  # nothing else


def test_an_unknown_task_name_lists_the_names(venv, empty):
    done = subprocess.run(
        [venv / "adage", "run", "calibrate"], cwd=empty, capture_output=True, text=True
    )
    assert done.returncode == 2, done
    assert "'calibrate' is not a task name (calibration, policy-design, calm" in done.stderr


def browser_or_skip():
    if not Path(CHROMIUM).exists():
        if NEED_BROWSER:
            pytest.fail(f"chromium not found at {CHROMIUM}; install Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return pytest.importorskip("playwright.sync_api")


def test_adage_app_opens_every_model_page(venv, empty):
    from tests.test_visualization import no_problems, open_page

    playwright = browser_or_skip()
    port = free_port()
    command = [venv / "adage", "app", "--host", "127.0.0.1", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    log = empty.parent / "app.log"  # a file, not a pipe nobody reads: a full pipe stalls it
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=empty, env=env, stdout=out, stderr=out)
    try:
        wait_for(port, server, log)
        with playwright.sync_playwright() as p:
            browser = launch(p)
            for spec in PAGES:
                page, problems = open_page((f"http://127.0.0.1:{port}", browser), spec.slug)
                try:
                    page.locator(".v-card", has_text="Change theta now").wait_for(timeout=120_000)
                    page.get_by_role("button", name="Step 10").click()
                    page.get_by_text("Step: 10", exact=True).wait_for(timeout=60_000)
                except Exception as err:
                    shown = page.inner_text("body")[:1500]
                    pytest.fail(
                        f"page {spec.slug}: {err}\nit shows: {shown}\nproblems: {problems}\n"
                        f"the server said: {log.read_text()[-3000:]}"
                    )
                page.close()
                assert not no_problems(problems), (spec.slug, problems)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


def wait_for(port: int, server: subprocess.Popen, log: Path) -> None:
    """Wait until something answers on ``port``, or fail with the server's output."""
    import socket

    deadline = time.monotonic() + 90
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline or server.poll() is not None:
            server.terminate()
            pytest.fail(f"adage app did not serve: {log.read_text()[-2000:]}")
        time.sleep(0.5)


def test_mesa_s_boltzmann_app_gains_adage_from_the_wheel(venv, empty, tmp_path):
    from tests.test_viz import drive_boltzmann

    browser_or_skip()
    example = ROOT / "examples" / "boltzmann"
    for name in ("adaptive.py", "app.py", "policy.zip"):
        shutil.copy(example / name, empty / name)
    env = {"ADAGE_RUNS": str(tmp_path / "runs"), "PYTHONPATH": ""}
    with served(app="app.py", cwd=empty, env=env, solara=venv / "solara") as url:
        drive_boltzmann(url)
