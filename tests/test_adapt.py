"""adapt() on Mesa's own, unmodified examples: a grid, a network, a two-phase grid, and a
grid whose agents are born and die (WolfSheep, driven by its event simulator)."""

from __future__ import annotations

import re
import sys
from functools import partial

import gymnasium as gym
import mesa
import mesa.examples.basic.boltzmann_wealth_model.agents as boltzmann_agents
import mesa.examples.basic.boltzmann_wealth_model.model as boltzmann_model
import numpy as np
import pandas as pd
import pytest
from mesa.examples import BoltzmannWealth, PdGrid, Schelling, VirusOnNetwork, WolfSheep
from mesa.examples.advanced.pd_grid.agents import PDAgent
from mesa.examples.advanced.wolf_sheep.agents import GrassPatch, Sheep, Wolf
from mesa.examples.basic.boltzmann_wealth_model.agents import MoneyAgent
from mesa.examples.basic.schelling.agents import SchellingAgent
from mesa.examples.basic.virus_on_network.agents import State, VirusAgent
from mesa.experimental.devs import ABMSimulator
from stable_baselines3 import PPO

from mesa_adage import (
    Characteristics,
    Experiment,
    LeaderScheduler,
    Param,
    SB3Policy,
    Timescales,
    adapt,
    simulate,
)
from mesa_adage.inner import checks
from mesa_adage.inner.policies import RandomPolicy
from mesa_adage.inner.vec_env import MesaVecEnv

TAX = Characteristics(Param("tax", 0.0, 0.5, doc="wealth tax rate"))


def give(agent, action):
    """Boltzmann: move as before, then give a unit only if the policy says so."""
    agent.move()
    if int(action) == 1 and agent.wealth > 0:
        agent.give_money()


def boltzmann(**changes):
    spec = {
        "characteristics": TAX,
        "apply_theta": lambda model, theta: setattr(model, "tax", theta["tax"]),
        "observation_space": gym.spaces.Box(0.0, np.inf, shape=(1,)),
        "action_space": gym.spaces.Discrete(2),
        "observe": lambda agent: [agent.wealth],
        "act": give,
        "reward": lambda agent: float(np.log1p(agent.wealth)),  # concave: equality pays
        "horizon": 20,
    }
    model = changes.pop("model", BoltzmannWealth)
    return adapt(model, MoneyAgent, **{**spec, **changes})


def isolate(agent, action):
    """Virus: an infected agent that isolates does not try to infect its neighbours."""
    if int(action) == 1 and agent.state is State.INFECTED:
        agent.isolated = True
        agent.check_situation()
    else:
        agent.isolated = False
        VirusAgent.step(agent)  # the class's own step: the instance's is the policy's


def tempt(model, theta):
    """Prisoner's dilemma: theta sets the temptation to defect against a cooperator."""
    model.payoff[("D", "C")] = theta["temptation"]


def choose(agent, action):
    """Prisoner's dilemma: the policy picks the next move; the model's advance() plays it."""
    agent.next_move = "C" if int(action) == 0 else "D"


def gained(agent):
    """Prisoner's dilemma: the payoff of the step that just ran."""
    step, agent.scored = agent.score - getattr(agent, "scored", 0), agent.score
    return float(step)


def graze(sheep, action):
    """WolfSheep: a sheep moves as it always did (1) or stays put (0), then lives its step."""
    if int(action) == 1:
        sheep.move()
    sheep.energy -= 1
    sheep.feed()
    if sheep.energy < 0:
        sheep.remove()
    elif sheep.random.random() < sheep.p_reproduce:
        sheep.spawn_offspring()


def senses(sheep):
    """WolfSheep: the sheep's energy, whether its grass is grown, the wolves next to it."""
    grass = next(a for a in sheep.cell.agents if isinstance(a, GrassPatch))
    wolves = sum(isinstance(a, Wolf) for cell in sheep.cell.neighborhood for a in cell.agents)
    return [sheep.energy / 10, grass.fully_grown, wolves]


AdaptiveWolfSheep = adapt(
    WolfSheep,
    Sheep,
    characteristics=Characteristics(Param("energy_from_food", 2.0, 6.0)),  # on each sheep
    observation_space=gym.spaces.Box(0.0, np.inf, shape=(3,)),
    action_space=gym.spaces.Discrete(2),
    observe=senses,
    act=graze,
    reward=lambda sheep: 0.0 if sheep.cell else -1.0,  # asked in the step it dies, too
    horizon=15,
)


def wolf_sheep(theta=None, seed=None):
    """A fresh simulator per episode: the model's events (grass regrowth) run on it."""
    return AdaptiveWolfSheep(
        theta, seed=seed, simulator=ABMSimulator(), initial_sheep=40, initial_wolves=10
    )


def relocate(agent, action):
    """Schelling: the policy, not the agent's unhappiness, decides who moves."""
    if int(action) == 1:
        agent.cell = agent.model.grid.select_random_empty_cell()


AdaptiveSchelling = adapt(  # the issue's own call shape
    Schelling,
    SchellingAgent,
    characteristics=Characteristics(Param("homophily", 0.2, 0.8)),  # on each agent
    observation_space=gym.spaces.Box(0.0, 1.0, shape=(1,)),
    action_space=gym.spaces.Discrete(2),
    observe=lambda agent: [agent.happy],
    act=relocate,
    reward=lambda agent: float(agent.happy),
    decision="step",
    horizon=50,
)


ADAPTED = {
    "grid": (MoneyAgent, partial(boltzmann(), n=20), None),
    "network": (
        VirusAgent,
        partial(
            adapt(
                VirusOnNetwork,
                VirusAgent,
                characteristics=Characteristics(Param("virus_spread_chance", 0.1, 0.9)),
                observation_space=gym.spaces.Box(0.0, 1.0, shape=(2,)),
                action_space=gym.spaces.Discrete(2),
                observe=lambda a: [a.state is State.INFECTED, a.state is State.RESISTANT],
                act=isolate,
                reward=lambda a: (
                    -float(a.state is State.INFECTED) - 0.1 * getattr(a, "isolated", 0)
                ),
                horizon=15,
            ),
            num_nodes=12,
        ),
        None,
    ),
    "two-phase grid": (
        PDAgent,
        partial(
            adapt(
                PdGrid,
                PDAgent,
                characteristics=Characteristics(Param("temptation", 1.0, 2.0)),
                apply_theta=tempt,
                observation_space=gym.spaces.Box(0.0, 1.0, shape=(2,)),
                action_space=gym.spaces.Discrete(2),
                observe=lambda a: [
                    a.move == "C",
                    np.mean([n.move == "C" for n in a.cell.neighborhood.agents]),
                ],
                act=choose,
                reward=gained,
                horizon=10,
            ),
            width=5,
            height=5,
            activation_order="Simultaneous",
        ),
        None,
    ),
    "births and deaths": (Sheep, wolf_sheep, 80),
    "seed-dependent population": (
        SchellingAgent,
        partial(AdaptiveSchelling, width=8, height=8),
        64,
    ),
}


@pytest.mark.parametrize("case", list(ADAPTED))
def test_an_adapted_example_trains_simulates_and_meets_a_leader(case):
    # The pipeline on each kind of model: 200 steps teach nothing. What the policies learn is
    # asserted for the grid and for births and deaths, by the learning tests below.
    agent_type, make, slots = ADAPTED[case]
    env = MesaVecEnv(make, agent_type, n_copies=2, seed=0, slots_per_copy=slots)
    ppo = PPO("MlpPolicy", env, n_steps=16, batch_size=32, seed=0).learn(200)
    theta = make().characteristics.defaults
    [rollout] = simulate(make, [theta], {agent_type: SB3Policy(ppo)}, [3])
    assert len(rollout.frame) >= 1 and agent_type.__name__ in rollout.returns
    experiment = Experiment(
        name=f"adapted-{case}",
        make_model=make,
        agent_type=agent_type,
        objective=lambda rollouts: float(
            np.mean([r.returns[agent_type.__name__] for r in rollouts])
        ),
        epochs=1,
        leader="random",
        timescales=Timescales(warmup_steps=200, follower_steps=0, candidates=2, eval_rollouts=2),
        algo_kwargs={"n_steps": 16, "batch_size": 32},
        n_copies=2,
        slots_per_copy=slots,
    )
    result = LeaderScheduler(experiment, progress=False).run()
    assert set(result.theta) == set(experiment.space.names)


def test_wolf_sheep_runs_on_its_simulator_and_its_sheep_are_born_and_die():
    model = wolf_sheep(theta={"energy_from_food": 5.0}, seed=4)
    model.policies[Sheep] = RandomPolicy(gym.spaces.Discrete(2), 0)
    seen, alive = set(), []
    while not model.done:
        seen.update(model.agents_by_type[Sheep])
        model.tick()
        alive.append(len(model.agents_by_type[Sheep]))
    assert model.simulator.time == model.steps == 15  # each tick ran the model's step once
    assert len(seen) > 40 and alive[-1] < len(seen)  # lambs were born, and sheep died
    assert {a.energy_from_food for a in seen} == {5.0}  # lambs too: theta reaches newcomers
    grown = model.datacollector.get_model_vars_dataframe()["Grass"]
    assert grown.diff().max() > 0  # regrowth events ran: the grass came back


GIVING_GAIN = 1.0
"""What ``test_a_learned_policy_beats_random_giving`` asserts of :func:`giving_gain`: about half
the gain measured on its seed (RESULTS.md section 3, table ``learning-margins``)."""


def giving_gain(seed: int) -> dict[str, float]:
    """PPO's per-agent return against random giving, after 5,000 steps trained from ``seed``.

    The learning test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    make = partial(boltzmann(), n=20)
    env = MesaVecEnv(make, MoneyAgent, n_copies=4, seed=seed)
    ppo = PPO("MlpPolicy", env, n_steps=32, seed=seed).learn(5_000)
    thetas, seeds = [{"tax": 0.1}] * 8, range(100, 108)

    def mean_return(policy):
        rollouts = simulate(make, thetas, {MoneyAgent: policy}, seeds)
        return float(np.mean([r.returns["MoneyAgent"] for r in rollouts]))

    trained = mean_return(SB3Policy(ppo))
    random = mean_return(RandomPolicy(gym.spaces.Discrete(2), 0))
    return {"trained": trained, "random": random, "gain": trained - random}


def test_a_learned_policy_beats_random_giving():
    measured = giving_gain(0)
    assert measured["gain"] > GIVING_GAIN, measured


SHEEP_GAIN = 0.13
"""What ``test_sheep_learn_to_outlive_random_ones`` asserts of :func:`sheep_gain`: about half the
gain measured on its seed (RESULTS.md section 3, table ``learning-margins``)."""


def sheep_gain(seed: int) -> dict[str, float]:
    """WolfSheep's sheep after 6,000 PPO steps trained from ``seed``: their per-sheep return
    against random moves and against always moving (the model's own rule), on 8 episodes.

    The setting of ``benchmarks/adapt_margin.py wolf_sheep``. The learning test and
    ``benchmarks/learning_margins.py`` both measure with this.
    """
    env = MesaVecEnv(wolf_sheep, Sheep, n_copies=4, seed=seed, slots_per_copy=80)
    ppo = PPO("MlpPolicy", env, n_steps=32, seed=seed, device="cpu").learn(6_000)
    thetas, seeds = [{"energy_from_food": 4.0}] * 8, range(200, 208)

    def mean_return(policy):
        rollouts = simulate(wolf_sheep, thetas, {Sheep: policy}, seeds)
        return float(np.mean([r.returns["Sheep"] for r in rollouts]))

    trained = mean_return(SB3Policy(ppo))
    random = mean_return(RandomPolicy(gym.spaces.Discrete(2), 0))
    always = mean_return(lambda obs: np.ones(len(obs), dtype=int))
    return {"trained": trained, "random": random, "always move": always, "gain": trained - random}


@pytest.mark.slow
def test_sheep_learn_to_outlive_random_ones():
    measured = sheep_gain(0)
    assert measured["gain"] > SHEEP_GAIN, measured


def _snapshot():
    return {k: dict(vars(v)) for k, v in (("model", BoltzmannWealth), ("agent", MoneyAgent))} | {
        "modules": (dict(vars(boltzmann_model)), dict(vars(boltzmann_agents)))
    }


def test_the_user_s_classes_and_model_stay_as_they_were():
    def run_original():
        model = BoltzmannWealth(n=20, seed=5)
        for _ in range(10):
            model.step()
        return model.datacollector.get_model_vars_dataframe()

    before_frame, before = run_original(), _snapshot()
    adapted = boltzmann()
    model = adapted(theta={"tax": 0.2}, seed=5, n=20, policies={MoneyAgent: lambda o: o[:, 0] > 1})
    model.run_episode()
    assert model.tax == 0.2 and model.steps == 20
    assert _snapshot() == before
    pd.testing.assert_frame_equal(run_original(), before_frame)
    assert adapted.__name__ not in vars(sys.modules[BoltzmannWealth.__module__])


def test_mis_specifications_are_clear_errors():
    with pytest.raises(ValueError, match=r"MoneyAgent has no method 'decide' for act to replace"):
        boltzmann(decision="decide")
    with pytest.raises(ValueError, match=r"created no \['SchellingAgent'\] agents"):
        adapt(BoltzmannWealth, [MoneyAgent, SchellingAgent], **_spec())(n=5)
    with pytest.raises(ValueError, match=r"theta parameter 'tax' is neither an attribute of"):
        boltzmann(apply_theta=None)(n=5)
    with pytest.raises(ValueError, match=r"action_space=.* must be a gymnasium Box or Discrete"):
        boltzmann(action_space=gym.spaces.MultiBinary(2))
    with pytest.raises(ValueError, match=r"observe=.* must be callable"):
        boltzmann(observe="wealth")
    model = boltzmann(observe=lambda a: [a.wealth, 0.0])(n=5)
    with pytest.raises(
        ValueError, match=r"adapt\(observe=.*\) for MoneyAgent returned shape \(2,\)"
    ):
        model.observations(MoneyAgent)
    with pytest.raises(ValueError, match=r"entry 0 is outside its observation_space \[0.0, inf\]"):
        boltzmann(observe=lambda a: [-1.0])(n=5).observations(MoneyAgent)
    with pytest.raises(ValueError, match=r"Timed uses the names \['done', 'horizon'\]"):
        boltzmann(model=Timed)
    with pytest.raises(ValueError, match=r"Ruled uses the names \['policies'\]"):
        boltzmann(model=Ruled)(n=5)
    model = boltzmann(act=move_or_give)(n=5, seed=1, policies={MoneyAgent: lambda o: [2] * len(o)})
    with pytest.raises(
        ValueError,
        match=r"adapt\(act=move_or_give\) for MoneyAgent could not take action 2 for agent \d+ "
        r"\(IndexError: .*\): it is outside the action space Discrete\(2\)",
    ):
        model.step()  # the policy's fault, not move_or_give's
    model = boltzmann(reward=lambda a: float("nan"))(n=5, policies={MoneyAgent: _never})
    model.step()
    with pytest.raises(ValueError, match=r"adapt\(reward=.*\) for MoneyAgent returned nan"):
        model.rewards(MoneyAgent)
    walkers = adapt(Walkers, Walker, **{**_spec(), "characteristics": TAX})  # decision="step"
    model = walkers(policies={Walker: _never})
    with pytest.raises(RuntimeError, match=r"Walkers.step\(\) never called step\(\) on a learning"):
        model.step()


def move_or_give(agent, action):
    [agent.move, agent.give_money][action]()


def no_such_attribute(agent):
    return [agent.welath]  # the user's typo


def takes_a_number(agent, action):
    agent.give_money(int(action))  # MoneyAgent.give_money takes no argument


def per_capita(agent):
    return agent.wealth / (agent.wealth - agent.wealth)


def taxed(model, theta):
    model.tax = theta["tax"] / model.exemption  # BoltzmannWealth has no exemption


@pytest.mark.parametrize(
    ("changes", "call", "error", "where"),
    [
        ({"observe": no_such_attribute}, lambda m: m.observations(MoneyAgent), AttributeError,
         r"adapt\(observe=no_such_attribute\) for MoneyAgent raised this, for MoneyAgent "
         r"agent 1 at step 0 \(theta: tax=0.1\)"),
        ({"act": takes_a_number}, lambda m: m.step(), TypeError,
         r"adapt\(act=takes_a_number\) for MoneyAgent raised this, for MoneyAgent agent \d+ "
         r"at step 1 \(theta: tax=0.1\)"),
        ({"reward": per_capita}, lambda m: (m.step(), m.rewards(MoneyAgent)), ZeroDivisionError,
         r"adapt\(reward=per_capita\) for MoneyAgent raised this, for MoneyAgent agent 1 at "
         r"step 1 \(theta: tax=0.1\)"),
        ({"apply_theta": taxed}, None, AttributeError,
         r"adapt\(apply_theta=taxed\) raised this, for BoltzmannWealth with theta "
         r"\{'tax': 0.1\}"),
    ],
    ids=["observe", "act", "reward", "apply_theta"],
)  # fmt: skip
def test_a_bug_in_the_user_s_callable_keeps_its_type_and_says_whose_code_it_is(
    changes, call, error, where
):
    def run():
        model = boltzmann(**changes)(theta={"tax": 0.1}, n=5, seed=1, policies={MoneyAgent: _one})
        return call(model) if call else model

    with pytest.raises(error) as caught:
        run()
    [note] = caught.value.__notes__
    assert re.match("in user code: " + where + "; the error is in that code", note), note
    assert checks.from_user_code(caught.value)
    assert caught.traceback[-1].name == next(iter(changes.values())).__name__  # its own line


def test_a_contract_violation_stays_a_value_error_with_no_note():
    model = boltzmann(observe=lambda a: [a.wealth, 0.0])(n=5)
    with pytest.raises(ValueError, match=r"returned shape \(2,\)") as caught:
        model.observations(MoneyAgent)
    assert not checks.from_user_code(caught.value)


class Hatchling(mesa.Agent):
    def __init__(self, model):
        super().__init__(model)
        self.speed = 1.0  # what the model gives a newborn; theta should override it

    def step(self):
        pass


class Nest(mesa.Model):
    """Two hatchlings at the start, one more each step."""

    def __init__(self, seed=None):
        super().__init__(seed=seed)
        Hatchling.create_agents(self, 2)

    def step(self):
        self.agents.do("step")
        Hatchling(self)


def test_by_default_theta_reaches_agents_born_later():
    nest = adapt(
        Nest,
        Hatchling,
        characteristics=Characteristics(Param("speed", 0.0, 5.0)),
        observation_space=gym.spaces.Box(0.0, 5.0, shape=(1,)),
        action_space=gym.spaces.Discrete(2),
        observe=lambda a: [a.speed],
        act=lambda a, action: None,
        reward=lambda a: 0.0,
    )(theta={"speed": 3.0}, policies={Hatchling: _never})
    nest.step()
    nest.step()
    assert nest.observations(Hatchling)[:, 0].tolist() == [3.0] * 4
    nest.agents_by_type[Hatchling][0].speed = 4.0  # the model's own later changes stay
    nest.step()
    assert nest.observations(Hatchling)[:, 0].tolist() == [4.0] + [3.0] * 4


class Timed(BoltzmannWealth):
    """Names an adaptive model needs: its episode length and end."""

    horizon = 10

    def done(self):
        return self.steps >= self.horizon


class Ruled(BoltzmannWealth):
    def __init__(self, n=5, seed=None):
        super().__init__(n=n, seed=seed)
        self.policies = {"tax": "flat"}


class Walker(mesa.Agent):
    def walk(self):
        self.wealth = 1

    def step(self):
        raise AssertionError("the model never calls this")


class Walkers(mesa.Model):
    """A model whose step() calls its agents' walk(), not step()."""

    def __init__(self, seed=None):
        super().__init__(seed=seed)
        Walker.create_agents(self, 3)
        self.agents.do("walk")

    def step(self):
        self.agents.do("walk")


def _never(obs):
    return np.zeros(len(obs), dtype=int)


def _one(obs):
    return np.ones(len(obs), dtype=int)


def _spec():
    adapted = boltzmann()
    learner = adapted.learners[MoneyAgent]
    return {
        "characteristics": TAX,
        "apply_theta": lambda m, t: None,
        "observation_space": learner.observation_space,
        "action_space": learner.action_space,
        "observe": learner.observe,
        "act": learner.act,
        "reward": learner.reward,
    }


def test_the_learning_agents_decide_in_one_batch_and_act_in_the_model_s_order():
    calls = []

    def policy(obs):
        calls.append(len(obs))
        return np.zeros(len(obs), dtype=int)

    model = boltzmann()(n=7, seed=2, policies={MoneyAgent: policy})
    model.step()
    model.step()
    assert calls == [7, 7]  # one forward pass per step for all seven agents
    assert [a.wealth for a in model.agents] == [1] * 7  # nobody gave


def test_solara_viz_steps_and_resets_an_adapted_model():
    import ipyvuetify as v
    import solara
    from mesa.visualization import SolaraViz, make_plot_component

    adapted = boltzmann()
    fixed = {"n": 10, "theta": {"tax": 0.3}, "policies": {MoneyAgent: _never}}

    @solara.component
    def Page():
        with solara.AppLayout():
            SolaraViz(
                adapted(**fixed),
                components=[make_plot_component("Gini")],
                model_params={**fixed, "seed": {"type": "InputText", "value": 1, "label": "Seed"}},
            )

    _, rc = solara.render(Page(), handle_error=False)
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(children=["Step: 1"]).assert_single()
    rc.find(v.Btn, children=["Reset"]).widget.click()
    rc.find(children=["Step: 0"]).assert_single()
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(children=["Step: 1"]).assert_single()
