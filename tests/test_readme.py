"""The README's front door stays true: its example runs and learns, its commands exist."""

import re
from pathlib import Path

import numpy as np
import pytest

from mesa_adage import simulate
from mesa_adage.inner.policies import RandomPolicy

README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.slow
def test_readme_example_runs_and_learns():
    block = next(b for b in BLOCKS if "class Saver" in b)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    model, savers = scope["model"], scope["Saver"]
    assert model.steps == 10 and model.done
    make = scope["Savings"]
    thetas, seeds = [{"r": 0.15}] * 4, range(4)
    trained = simulate(make, thetas, {savers: scope["SB3Policy"](scope["ppo"])}, seeds)
    random = simulate(make, thetas, {savers: RandomPolicy(savers.action_space, 0)}, seeds)
    gain = np.mean([r.returns["Saver"] for r in trained]) - np.mean(
        [r.returns["Saver"] for r in random]
    )
    assert gain > 10.0, gain  # measured: 21.1 (seed 0)


def test_readme_commands_are_the_ci_commands():
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "pip install -e . && adage run calibration" in README
    assert 'pip install -e ".[test]" && pytest' in README
    assert "README.md" in ci and "pytest -m slow" in ci  # the default suite skips the slow tests


def test_readme_leader_example_plugs_in():
    from mesa_adage import LeaderScheduler
    from mesa_adage.outer.leaders import LEADERS
    from mesa_adage.samplers import Normal, Uniform
    from tests.test_scheduler import experiment

    block = next(b for b in BLOCKS if "class Annealing" in b)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    try:
        scheduler = LeaderScheduler(experiment(leader="annealing", epochs=1), progress=False)
        assert isinstance(scheduler.training_sampler(), Uniform)  # no history yet: the default
        result = scheduler.run()
        assert isinstance(scheduler.leader.training_sampler(), Normal)
        assert len(scheduler.leader.history) == experiment().timescales.candidates
        assert set(result.theta) == {"target"}
    finally:
        del LEADERS["annealing"]


def test_readme_adapt_example_builds_an_adapted_model():
    from mesa.examples import BoltzmannWealth

    block = next(b for b in BLOCKS if "adapt(" in b)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    model, env = scope["model"], scope["env"]
    assert isinstance(model, BoltzmannWealth) and model.tax == 0.1 and model.horizon == 20
    assert env.num_envs == 8 * 50  # every MoneyAgent of every copy is a slot


def test_readme_wolf_sheep_example_trains_with_births_and_deaths():
    scope: dict = {}
    for block in (
        next(b for b in BLOCKS if "adapt(" in b),
        next(b for b in BLOCKS if "Sheep" in b),
    ):
        exec(compile(block, "README.md", "exec"), scope)
    env = scope["env"]
    env.reset()
    for _ in range(3):
        _, rewards, dones, _ = env.step(np.ones(env.num_envs, dtype=int))
    assert env.num_envs == 300 and (rewards == -1.0).any()  # some sheep were eaten or starved
    assert dones.sum() > 2 * 50  # dead sheep and free slots are done; the living are not


def test_readme_batched_methods_match_the_per_agent_ones():
    import copy
    import textwrap

    scope: dict = {}
    exec(compile(next(b for b in BLOCKS if "class Saver" in b), "README.md", "exec"), scope)
    batched: dict = {"np": np}
    snippet = next(b for b in BLOCKS if "def observe_all" in b)
    exec(compile(textwrap.dedent(snippet), "README.md", "exec"), batched)
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
