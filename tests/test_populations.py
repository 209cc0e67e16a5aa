"""Populations that vary with the seed train with no slot count from the user, and an adapted
class with no policy runs the model's own rule.

Mesa's EpsteinCivilViolence and Schelling place their agents at random, so each seed has its
own number of them; adapted here with small wrappers (observe, act, reward, and theta: the
regime's legitimacy, or the agents' homophily).
"""

from __future__ import annotations

from functools import partial

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from mesa.examples import EpsteinCivilViolence, Schelling
from mesa.examples.advanced.epstein_civil_violence.agents import Citizen, CitizenState
from mesa.examples.basic.schelling.agents import SchellingAgent
from stable_baselines3 import PPO

from mesa_adage import (
    AdaptiveModel,
    Characteristics,
    Experiment,
    LeaderScheduler,
    Param,
    Timescales,
    adapt,
)
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.inner.training import train
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.samplers import Uniform
from tests.test_adapt import AdaptiveSchelling
from tests.toy import Guesser

# ---------------------------------------------------------------- EpsteinCivilViolence, adapted


def rebel(citizen, action):
    """Runs in place of Citizen.step: the policy, not grievance minus risk, decides to rebel."""
    if citizen.jail_sentence:
        citizen.jail_sentence -= 1
        return
    citizen.update_neighbors()
    citizen.update_estimated_arrest_probability()
    citizen.state = CitizenState.ACTIVE if int(action) == 1 else CitizenState.QUIET
    citizen.move()


def senses(citizen):
    """Grievance, the estimated risk of arrest, and whether in jail."""
    risk = citizen.arrest_probability or 0.0  # None before the first step
    return [citizen.grievance, risk, float(citizen.jail_sentence > 0)]


def protest_pays(citizen):
    """Grievance voiced pays; jail costs."""
    if citizen.state is CitizenState.ARRESTED:
        return -1.0
    return citizen.grievance if citizen.state is CitizenState.ACTIVE else 0.0


def legitimacy(model, theta):
    """The regime's legitimacy, and with it each citizen's grievance (fixed at birth in Mesa)."""
    for citizen in model.agents_by_type[Citizen]:
        citizen.regime_legitimacy = theta["legitimacy"]
        citizen.grievance = citizen.hardship * (1 - theta["legitimacy"])


AdaptiveEpstein = adapt(
    EpsteinCivilViolence,
    Citizen,
    characteristics=Characteristics(Param("legitimacy", 0.5, 0.95)),
    apply_theta=legitimacy,
    observation_space=gym.spaces.Box(0.0, 1.0, shape=(3,)),
    action_space=gym.spaces.Discrete(2),
    observe=senses,
    act=rebel,
    reward=protest_pays,
    horizon=8,
)
GRID = {"width": 10, "height": 10, "citizen_vision": 2, "cop_vision": 2, "max_jail_term": 4}

MODELS = {
    "EpsteinCivilViolence": (partial(AdaptiveEpstein, **GRID, horizon=4), Citizen),
    "Schelling": (partial(AdaptiveSchelling, width=8, height=8, horizon=4), SchellingAgent),
}
"""Factory and learning class of each; short episodes, so that a few hundred steps end some."""
pytestmark = pytest.mark.filterwarnings("ignore:You have specified a mini-batch size")
"""The slots are sized from the episodes, so no batch size divides every rollout."""


@pytest.mark.parametrize("name", list(MODELS))
def test_a_population_that_varies_with_the_seed_trains_with_no_slot_count(name):
    make, agent_type = MODELS[name]
    assert len({len(make(seed=s).agents_by_type[agent_type]) for s in range(6)}) > 1
    env = MesaVecEnv(make, agent_type, n_copies=2, seed=0)  # no slots_per_copy
    ppo = PPO("MlpPolicy", env, n_steps=8, batch_size=64, n_epochs=1, seed=0).learn(300)
    assert env.sized and ppo.num_timesteps >= 300
    assert np.isfinite(ppo.logger.name_to_value["train/loss"])
    returns = env.pop_returns()  # two episodes of every copy ended, each agent's return
    assert len(returns) > env.slots_per_copy and np.isfinite(returns).all()
    trained = train(make, agent_type, Uniform(), 300, algo=PPO, seed=1, n_copies=2, n_steps=8)
    assert trained.num_timesteps >= 300


@pytest.mark.parametrize("name", list(MODELS))
def test_an_experiment_on_a_varying_population_needs_no_slot_count(name):
    make, agent_type = MODELS[name]
    experiment = Experiment(
        name=f"varying-{name}",
        make_model=make,
        agent_type=agent_type,
        objective=lambda rollouts: float(
            np.mean([r.returns[agent_type.__name__] for r in rollouts])
        ),
        epochs=1,
        leader="random",
        timescales=Timescales(warmup_steps=300, follower_steps=0, candidates=2, eval_rollouts=2),
        algo_kwargs={"n_steps": 8, "batch_size": 64, "n_epochs": 1},
        n_copies=2,
    )
    result = LeaderScheduler(experiment, progress=False).run()
    assert set(result.theta) == set(experiment.space.names)


# ---------------------------------------------------------------- how the slots are sized


def test_a_fixed_population_keeps_its_count_and_its_stream():
    sized = MesaVecEnv(CobwebModel, Producer, n_copies=3, seed=4)
    given = MesaVecEnv(CobwebModel, Producer, n_copies=3, seed=4, slots_per_copy=6)
    assert sized.sized and not given.sized and sized.slots_per_copy == 6 == sized.num_envs / 3
    np.testing.assert_array_equal(sized.reset(), given.reset())  # sizing drew nothing from it
    assert [m.theta for m in sized.models] == [m.theta for m in given.models]


class Crowd(AdaptiveModel):
    """Three guessers, but thirty for one model seed in ten (or whenever ``target > 0.7``
    with ``crowded_above=0.7``): a population whose first episodes look fixed."""

    characteristics = Characteristics(Param("target", -0.8, 0.8, default=0.0))

    def __init__(self, theta=None, *, crowded_above=None, seed=None, **kwargs):
        super().__init__(theta, horizon=1, seed=seed, **kwargs)
        if crowded_above is None:
            crowded = seed is not None and seed % 10 == 7
        else:
            crowded = self.theta["target"] > crowded_above
        Guesser.create_agents(self, 30 if crowded else 3)

    def step(self):
        self.decide()


def test_a_rare_larger_episode_is_redrawn_at_the_same_theta_with_a_warning():
    calls = []

    def make(theta=None, seed=None):
        calls.append((theta, seed))
        return Crowd(theta, seed=seed)

    env = MesaVecEnv(make, Guesser, n_copies=1, seed=0)
    assert env.slots_per_copy == 3  # the probes all had three
    env.reset()
    with pytest.warns(UserWarning, match=r"more Guesser agents than the 3 slots per copy.*same t"):
        for _ in range(40):  # one episode per step
            env.step(np.zeros((3, 1), dtype=np.float32))
    crowded = [i for i, (_, seed) in enumerate(calls) if seed is not None and seed % 10 == 7]
    assert crowded and all(calls[i + 1][0] == calls[i][0] for i in crowded)  # theta kept
    assert all(len(m.agents) == 3 for m in env.models)


def test_an_episode_that_never_fits_is_an_error_naming_slots_per_copy():
    env = MesaVecEnv(partial(Crowd, crowded_above=0.7), Guesser, n_copies=1, seed=2)
    assert env.slots_per_copy == 3
    env.reset()
    with (
        pytest.warns(UserWarning, match="another model seed replaces it"),
        pytest.raises(
            RuntimeError,
            match=r"30 Guesser agents at step 0, more than slots_per_copy=3 \(sized from the "
            r"first episodes\); pass slots_per_copy= the most",
        ),
    ):
        for _ in range(60):
            env.step(np.zeros((3, 1), dtype=np.float32))


# ---------------------------------------------------------------- no policy: the model's own rule


@pytest.mark.parametrize(
    ("original", "name", "theta"),
    [
        (EpsteinCivilViolence, "EpsteinCivilViolence", {"legitimacy": 0.8}),
        (Schelling, "Schelling", {"homophily": 0.5}),
    ],
    ids=["EpsteinCivilViolence", "Schelling"],
)
def test_an_adapted_class_with_no_policy_runs_the_model_s_own_rule(original, name, theta):
    make, agent_type = MODELS[name]
    own = {key: value for key, value in make.keywords.items() if key != "horizon"}
    mine = original(**own, **theta, seed=3)  # theta's names are the models' own arguments
    theirs = make(theta=theta, **theta, seed=3)  # and no policy for agent_type
    for _ in range(6):
        mine.step()
        theirs.step()
    pd.testing.assert_frame_equal(
        theirs.datacollector.get_model_vars_dataframe(),
        mine.datacollector.get_model_vars_dataframe(),
    )  # the model, unchanged: the baseline a policy is compared with
    assert theirs.steps == 6 and np.isfinite(theirs.rewards(agent_type)).all()
