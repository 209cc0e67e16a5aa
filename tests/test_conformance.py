"""Every shipped model passes Gymnasium's, SB3's and PettingZoo's own environment checks.

The models are the ones in ``models/`` and the tutorial's adapted Boltzmann economy, each
through the three views: ``JointEnv`` (a single-agent gymnasium ``Env``), ``MesaVecEnv``
(the SB3 ``VecEnv`` training uses) and ``ParallelView`` (PettingZoo).
"""

import re
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import VecCheckNan

from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.agents.market_maker import MarketMaker
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.agents.trader import Trader
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.examples.models.entrance import EntranceModel, StressedEntranceModel
from mesa_adage.examples.models.market_maker import MarketMakerModel
from mesa_adage.examples.models.taxation import TaxationModel, TaxParams
from mesa_adage.inner.joint_env import JointEnv
from mesa_adage.inner.vec_env import MesaVecEnv

HORIZON = 8
"""Episode length of the models here (the tutorial's is its own, 20)."""
TUTORIAL = Path(__file__).parents[1] / "docs" / "tutorial_adapt_existing_model.md"


def tutorial_model():
    """The tutorial's ``TaxedBoltzmann`` and its agent class, from its first code block."""
    scope: dict = {}
    exec(re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), re.S)[0], scope)
    return partial(scope["TaxedBoltzmann"], n=6), scope["MoneyAgent"]


MODELS = {
    "cobweb": lambda: (partial(CobwebModel, horizon=HORIZON), Producer),
    "taxation": lambda: (
        partial(TaxationModel, params=TaxParams(n_households=5), horizon=HORIZON),
        Household,
    ),
    "market maker": lambda: (partial(MarketMakerModel, horizon=HORIZON), MarketMaker),
    "entrance": lambda: (partial(EntranceModel, horizon=HORIZON), Trader),
    "entrance, stressed": lambda: (partial(StressedEntranceModel, horizon=HORIZON), Trader),
    "tutorial": tutorial_model,
}
"""Factory and learning agent class of every shipped model (short episodes)."""


@pytest.mark.parametrize("name", list(MODELS))
def test_gymnasium_env_checker_passes(name):
    make, agent_type = MODELS[name]()
    gym_check_env(JointEnv(make, agent_type), skip_render_check=True)


@pytest.mark.parametrize("name", list(MODELS))
def test_sb3_env_checker_passes(name):
    make, agent_type = MODELS[name]()
    sb3_check_env(JointEnv(make, agent_type), warn=True)


@pytest.mark.parametrize("name", list(MODELS))
def test_pettingzoo_parallel_api_test_passes(name):
    parallel_api_test = pytest.importorskip("pettingzoo.test").parallel_api_test
    from mesa_adage.inner.pettingzoo_env import ParallelView

    make, _ = MODELS[name]()
    parallel_api_test(ParallelView(make, seed=0), num_cycles=3 * HORIZON)


@pytest.mark.parametrize("name", list(MODELS))
def test_the_vec_env_keeps_the_vec_env_contract(name):
    make, agent_type = MODELS[name]()
    env = MesaVecEnv(make, agent_type, n_copies=2, seed=0)
    checked = VecCheckNan(env, raise_exception=True)  # NaN or inf in or out raises
    space, n = env.observation_space, env.num_envs
    env.action_space.seed(0)

    def contained(obs):
        return obs.dtype == np.float32 and all(space.contains(row) for row in obs)

    obs = checked.reset()
    assert obs.shape == (n, *space.shape) and contained(obs)
    ended = 0
    for _ in range(2 * env.models[0].horizon):  # two whole episodes of every copy
        actions = np.stack([env.action_space.sample() for _ in range(n)])
        obs, rewards, dones, infos = checked.step(actions)
        assert obs.shape == (n, *space.shape) and contained(obs)
        assert rewards.shape == (n,) and rewards.dtype == np.float32
        assert dones.shape == (n,) and dones.dtype == bool and len(infos) == n
        for info in (infos[i] for i in np.flatnonzero(dones)):
            ended += "episode" in info
            if "terminal_observation" in info:
                assert contained(info["terminal_observation"][None])
    assert ended == 2 * n  # every slot's agent finished both of its episodes
