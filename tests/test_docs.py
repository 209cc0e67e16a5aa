"""The docs site builds with no warning, and the Python blocks in its pages run.

A block may be preceded by one line that tells this test how to run it:

- ``<!-- docs-test: skip: REASON -->``: not run here. The reason must name the test that runs
  the block instead (``tests/test_tutorial.py``), and that test must read the page.
- ``<!-- docs-test: in PATH -->``: the block is an excerpt of the module at ``PATH``; it runs
  in that module's namespace, after the module itself.

Any other block runs as it stands, after the blocks above it on the same page.

Each page runs once per session (:func:`ran`), in a folder of its own; the tests below that
check what a page's example does (the code the README used to hold: adapting Mesa's models,
a model from scratch, your own leader) read that one run's namespace, so no block runs twice.
A leader a page registers is kept with its run, not in the session's registry.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
NEED_DOCS = os.environ.get("ADAGE_REQUIRE_DOCS") == "1"
"""Fail, rather than skip, the site's build when Sphinx is missing (CI sets it)."""

BLOCK = re.compile(r"(?:<!-- docs-test: (?P<mark>[^\n]*?) -->\n)?```python\n(?P<code>.*?)```", re.S)
MAX_SKIPPED = 3
"""Blocks that may run elsewhere instead of here; each says where."""


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    code: str
    mark: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.relative_to(DOCS).parts)


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    return [
        Block(page, text.count("\n", 0, m.start("code")) + 1, m["code"], m["mark"])
        for m in BLOCK.finditer(text)
    ]


ALL = [block for page in pages() for block in blocks(page)]
SKIPPED = [b for b in ALL if b.mark and b.mark.startswith("skip:")]
PAGES = sorted({b.page for b in ALL if b not in SKIPPED})


def module_scope(path: str) -> dict:
    """The namespace of the module at ``path`` (relative to the repository), after it ran."""
    file = ROOT / path
    assert file.is_file(), f"docs-test: in {path}: there is no such file"
    spec = importlib.util.spec_from_file_location(f"docs_test_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(vars(module))


@dataclass
class Ran:
    """A page's blocks, run: what each left, and the leaders the page registered."""

    steps: list[tuple[Block, dict]]
    """Each block run, with a shallow copy of the namespace right after it."""
    leaders: dict = field(default_factory=dict)

    @property
    def scope(self) -> dict:
        """The namespace the page's last block left."""
        return self.steps[-1][1]

    def after(self, marker: str) -> dict:
        """The namespace right after the first block whose code contains ``marker``."""
        return next(scope for block, scope in self.steps if marker in block.code)


def run_page(page: Path, folder: Path) -> Ran:
    """Run the page's blocks in order, in ``folder`` (a block that writes a run folder writes
    there); the session's leader registry is left as it was."""
    from mesa_adage.outer.leaders import LEADERS

    before = dict(LEADERS)
    scope: dict = {"__name__": "docs_test"}
    steps: list[tuple[Block, dict]] = []
    try:
        with contextlib.chdir(folder):
            for block in blocks(page):
                if block in SKIPPED:
                    continue
                if block.mark and block.mark.startswith("in "):
                    scope = {**module_scope(block.mark.removeprefix("in ").strip()), **scope}
                elif block.mark:
                    pytest.fail(f"{block.where}: unknown docs-test mark {block.mark!r}")
                code = "\n" * (block.line - 1) + block.code  # tracebacks give the page's lines
                exec(compile(code, str(block.page), "exec"), scope)
                steps.append((block, dict(scope)))
        return Ran(steps, {k: v for k, v in LEADERS.items() if k not in before})
    finally:
        LEADERS.clear()
        LEADERS.update(before)


@pytest.fixture(scope="session")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Ran]:
    """``ran("adapt.md")``: that page's run, made on first use and kept for the session."""
    done: dict[str, Ran] = {}

    def run(name: str) -> Ran:
        if name not in done:
            page = DOCS / name
            done[name] = run_page(page, tmp_path_factory.mktemp(page.stem))
        return done[name]

    return run


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_the_page_s_python_blocks_run(page, ran):
    ran(str(page.relative_to(DOCS)))


# ------------------------------- what the pages' examples do (adapt.md, from_scratch.md)


def test_the_adapt_example_builds_an_adapted_model(ran):
    from mesa.examples import BoltzmannWealth

    scope = ran("adapt.md").after("BoltzmannWealth,")
    model, env = scope["model"], scope["env"]
    assert isinstance(model, BoltzmannWealth) and model.tax == 0.1 and model.horizon == 20
    assert env.num_envs == 8 * 50  # every MoneyAgent of every copy is a slot


def test_the_wolf_sheep_example_trains_with_births_and_deaths(ran):
    env = ran("adapt.md").after("AdaptiveWolfSheep")["env"]
    env.reset()
    for _ in range(3):
        _, rewards, dones, _ = env.step(np.ones(env.num_envs, dtype=int))
    assert env.num_envs == 300 and (rewards == -1.0).any()  # some sheep were eaten or starved
    assert dones.sum() > 2 * 50  # dead sheep and free slots are done; the living are not


def test_the_batched_methods_match_the_per_agent_ones(ran):
    page = ran("from_scratch.md")
    scope, batched = page.after("class Saver"), page.after("def observe_all")
    model = scope["Savings"](seed=3)
    agents = list(model.agents)
    for agent, wealth in zip(agents, np.linspace(0.5, 3.0, len(agents)), strict=True):
        agent.wealth = float(wealth)
    own = np.array([a.observe() for a in agents])
    assert np.array_equal(batched["observe_all"].__func__(None, agents), own)

    actions = np.random.default_rng(0).uniform(-0.5, 1.5, (len(agents), 1))
    reference = copy.deepcopy(agents)
    for agent, action in zip(reference, actions, strict=True):
        agent.act(action)
    batched["act_all"].__func__(None, agents, actions)
    assert [(a.wealth, a.consumed) for a in agents] == [(a.wealth, a.consumed) for a in reference]


def test_your_own_leader_plugs_in(ran):
    from mesa_adage import LeaderScheduler
    from mesa_adage.outer.leaders import LEADERS
    from mesa_adage.samplers import Normal, Uniform
    from tests.test_scheduler import experiment

    page = ran("from_scratch.md")
    assert set(page.leaders) == {"annealing"}  # the page's register() call
    LEADERS.update(page.leaders)
    try:
        scheduler = LeaderScheduler(experiment(leader="annealing", epochs=1), progress=False)
        assert isinstance(scheduler.training_sampler(), Uniform)  # no history yet: the default
        result = scheduler.run()
        assert isinstance(scheduler.leader.training_sampler(), Normal)
        assert len(scheduler.leader.history) == experiment().timescales.candidates
        assert set(result.theta) == {"target"}
    finally:
        del LEADERS["annealing"]


FROM_SCRATCH_GAIN = 10.0
"""What the from-scratch test asserts of :func:`from_scratch_gain`: about half the gain measured
with the page's seed (RESULTS.md section 3, table ``learning-margins``)."""


def from_scratch_gain(scope: dict, folder: Path) -> dict[str, float]:
    """Run from_scratch.md's training block (PPO from the page's seed 0) in ``folder``, after the
    page's blocks up to ``class Saver`` left ``scope``; the savers' return over random ones.

    The test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    from mesa_adage import simulate
    from mesa_adage.inner.policies import RandomPolicy

    block = next(b for b in SKIPPED if b.page == DOCS / "from_scratch.md")
    scope = dict(scope)
    with contextlib.chdir(folder):
        exec(compile("\n" * (block.line - 1) + block.code, str(block.page), "exec"), scope)
    model, savers = scope["model"], scope["Saver"]
    assert model.steps == 10 and model.done
    make = scope["Savings"]
    thetas, seeds = [{"r": 0.15}] * 4, range(4)
    trained = simulate(make, thetas, {savers: scope["SB3Policy"](scope["ppo"])}, seeds)
    random = simulate(make, thetas, {savers: RandomPolicy(savers.action_space, 0)}, seeds)
    trained_return = float(np.mean([r.returns["Saver"] for r in trained]))
    random_return = float(np.mean([r.returns["Saver"] for r in random]))
    gain = trained_return - random_return
    return {"trained": trained_return, "random": random_return, "gain": gain}


@pytest.mark.slow
def test_the_from_scratch_example_runs_and_learns(ran, tmp_path):
    """The page's training block (skipped by the page test: about 20 s of PPO)."""
    measured = from_scratch_gain(ran("from_scratch.md").after("class Saver"), tmp_path)
    assert measured["gain"] > FROM_SCRATCH_GAIN, measured


def test_skipped_blocks_are_few_and_each_names_the_test_that_runs_it():
    assert len(SKIPPED) <= MAX_SKIPPED, [b.where for b in SKIPPED]
    for block in SKIPPED:
        named = re.findall(r"tests/test_\w+\.py", block.mark)
        assert named, f"{block.where}: the skip reason names no test: {block.mark!r}"
        for test in named:
            assert (ROOT / test).is_file(), f"{block.where}: {test} does not exist"
            assert block.page.name in (ROOT / test).read_text(), f"{test} never reads the page"


def test_the_api_reference_lists_every_top_level_name():
    import mesa_adage

    reference = (DOCS / "api" / "index.md").read_text()
    listed = set(re.findall(r"^\s+~[\w.]+\.(\w+)$", reference, re.M))
    assert listed == set(mesa_adage.__all__), listed ^ set(mesa_adage.__all__)


def test_every_page_is_reachable_from_the_front_page():
    """Sphinx warns about a page in no toctree only when it builds: say so sooner."""
    index = (DOCS / "index.md").read_text() + (DOCS / "api" / "index.md").read_text()
    for page in pages():
        name = page.relative_to(DOCS).with_suffix("").as_posix()
        if name not in ("index", "api/index"):
            entry = name.removeprefix("api/")
            assert re.search(rf"^{re.escape(entry)}$", index, re.M), f"{name} is in no toctree"


@pytest.mark.slow
def test_the_site_builds_with_no_warning(tmp_path):
    missing = [
        name
        for name in ("sphinx", "myst_parser", "pydata_sphinx_theme")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        problem = f"the docs need {', '.join(missing)} (pip install sphinx myst-parser "
        problem += "pydata-sphinx-theme)"
        if NEED_DOCS:
            pytest.fail(f"{problem}; ADAGE_REQUIRE_DOCS=1 requires them")
        pytest.skip(problem)
    before = sorted(DOCS.rglob("*"))
    out, cache = tmp_path / "html", tmp_path / "doctrees"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html"]
    done = subprocess.run(
        [*command, "-d", str(cache), str(DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert done.returncode == 0 and not warnings, "\n".join(warnings) or done.stderr[-3000:]
    pages = ("index", "api/index", "api/inner", "readme", "tasks", "cli", "adapt", "from_scratch")
    for page in (*pages, "app", "scale_out", "trust", "design", "solaraviz"):
        assert (out / f"{page}.html").is_file(), page
    assert 'id="mesa_adage.inner.model.AdaptiveModel"' in (out / "api" / "inner.html").read_text()
    assert 'id="mesa_adage.viz.ThetaPanel"' in (out / "api" / "viz.html").read_text()
    assert sorted(DOCS.rglob("*")) == before, "the build wrote into docs/"
