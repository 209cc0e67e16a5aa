from functools import partial

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the PettingZoo view needs the pettingzoo extra")
from pettingzoo.test import parallel_api_test, parallel_seed_test
from stable_baselines3 import PPO
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecMonitor

from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.examples.models.taxation import TaxationModel, TaxParams
from mesa_adage.inner.pettingzoo_env import ParallelView
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


@pytest.mark.parametrize("name", list(MODELS))
def test_the_parallel_seed_test_passes(name):
    parallel_seed_test(partial(ParallelView, MODELS[name], seed=0), num_cycles=20)


def test_a_view_seeds_its_own_spaces_and_draws_nothing():
    env = ParallelView(MODELS["cobweb"], seed=0)
    env.reset(seed=1)
    agent = env.agents[0]
    assert env.action_space(agent) is env.action_space(env.agents[1])  # one per class and view
    assert env.action_space(agent) is not Producer.action_space  # seeding it leaves the class's
    assert env.render_mode is None and env.render() is None  # SolaraViz draws a Mesa model


@pytest.mark.filterwarnings(  # VecMonitor asks SuperSuit's ConcatVecEnv for get_attr, not there
    "ignore:The `render_mode` attribute is not defined in your environment"
)
@pytest.mark.parametrize("name", ["cobweb", "adapted Boltzmann"])
def test_supersuit_makes_an_sb3_vec_env_that_ppo_trains_on(name):
    ss = pytest.importorskip("supersuit", reason="SuperSuit is what PettingZoo users use for SB3")
    copies = ss.concat_vec_envs_v1(
        ss.pettingzoo_env_to_vec_env_v1(ParallelView(MODELS[name], seed=0)),
        2,
        num_cpus=0,
        base_class="stable_baselines3",
    )
    views = [markov.par_env for markov in copies.venv.vec_envs]
    copies.venv.reset(seed=0)  # pickled clones draw alike until each gets a seed of its own
    assert views[0].model.theta != views[1].model.theta
    set_random_seed(0)  # SuperSuit's VecEnv has no seed(): the algorithm gets no seed=
    env = VecMonitor(copies)
    ppo = PPO("MlpPolicy", env, n_steps=16, batch_size=48, n_epochs=2, device="cpu").learn(300)
    assert ppo.num_timesteps >= 300 and env.num_envs == 2 * len(views[0].possible_agents)
    assert np.isfinite(ppo.logger.name_to_value["train/loss"])
    returns = [episode["r"] for episode in ppo.ep_info_buffer]
    assert len(returns) >= env.num_envs and np.isfinite(returns).all()  # every slot finished one


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
