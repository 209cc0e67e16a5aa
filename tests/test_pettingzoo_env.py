from functools import partial

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the PettingZoo view needs the pettingzoo extra")
from pettingzoo.test import parallel_api_test

from mesa_adage.inner.pettingzoo_env import ParallelView
from models.cobweb import CobwebModel
from models.taxation import TaxationModel, TaxParams
from tests.test_adapt import boltzmann, wolf_sheep

MODELS = {
    "cobweb": partial(CobwebModel, horizon=6),
    "taxation": partial(TaxationModel, params=TaxParams(n_households=5), horizon=6),
    "adapted Boltzmann": partial(boltzmann(horizon=6), n=6),
    "adapted WolfSheep (births and deaths)": wolf_sheep,
}


@pytest.mark.parametrize("name", list(MODELS))
def test_the_parallel_api_test_passes(name):
    parallel_api_test(ParallelView(MODELS[name], seed=0), num_cycles=20)


def test_an_episode_runs_to_its_horizon_with_theta_in_every_observation():
    env = ParallelView(MODELS["cobweb"], seed=1)
    observations, infos = env.reset(seed=3)
    assert set(observations) == set(env.possible_agents) == set(env.agents)
    assert len(env.agents) == 6 and "theta" in infos[env.agents[0]]
    theta_hat = CobwebModel.characteristics.to_unit(infos[env.agents[0]]["theta"])
    np.testing.assert_allclose(observations[env.agents[0]][-2:], theta_hat, rtol=1e-6)
    steps = 0
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        _, rewards, terminations, truncations, _ = env.step(actions)
        steps += 1
        assert set(rewards) == set(actions)
    assert steps == 6 and all(truncations.values()) and not any(terminations.values())
    with pytest.raises(ValueError, match="no action for agents"):
        env.reset()
        env.step({})


def test_the_dead_leave_once_terminated_and_the_newborn_join():
    env = ParallelView(wolf_sheep, seed=0)
    env.reset(seed=5)
    deaths = births = 0
    while env.agents:
        before = set(env.agents)
        observations, rewards, terminations, _, _ = env.step(
            {a: env.action_space(a).sample() for a in env.agents}
        )
        dead = {a for a, done in terminations.items() if done}
        assert all(rewards[a] == -1.0 and not observations[a].any() for a in dead)
        assert set(env.agents) == (set(rewards) - dead if env.agents else set())
        deaths += len(dead)
        births += len(set(rewards) - before)
    assert deaths > 0 and births > 0
    assert set(env.possible_agents) >= set(rewards)
