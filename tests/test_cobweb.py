import numpy as np
import pytest
from stable_baselines3 import PPO

from mesa_adage import SB3Policy, simulate, train
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import (
    HORIZON,
    PPO_SETTINGS,
    CobwebModel,
    CobwebParams,
    calibration,
)
from mesa_adage.inner.policies import RandomPolicy
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.samplers import Uniform

THETAS = [{"lam": lam, "inertia": e} for lam in (0.2, 0.6, 1.0) for e in (0.0, 0.5, 0.85)]


def per_step_reward(policy, repeats=4):
    seeds = list(range(500, 500 + len(THETAS) * repeats))
    rollouts = simulate(CobwebModel, THETAS * repeats, {Producer: policy}, seeds)
    return np.mean([r.returns["Producer"] for r in rollouts]) / HORIZON


def test_market_clears_as_in_hommes_et_al():
    quiet = CobwebParams(noise_std=0.0)
    m = CobwebModel({"lam": 0.5}, params=quiet, policies={Producer: lambda o: np.zeros((6, 1))})
    m.step()  # every producer forecasts 6: supply tanh(0) + 1 = 1
    assert m.price == pytest.approx((13.8 - 6.0) / 1.5)
    m = CobwebModel({"lam": 0.5}, params=quiet, policies={Producer: lambda o: np.ones((6, 1))})
    m.step()  # forecast 10: supply tanh(2) + 1
    assert m.price == pytest.approx((13.8 - 6.0 * (np.tanh(2.0) + 1.0)) / 1.5)


def test_adjustment_cost_is_charged():
    m = CobwebModel(
        {"inertia": 2 / 3},
        params=CobwebParams(noise_std=0.0, initial_spread=0.0),
        policies={Producer: lambda o: np.full((6, 1), 0.5)},
    )
    m.step()  # forecast moves from 8 to 8: no cost
    assert m.producers[0].reward() == pytest.approx(-((m.price - 8.0) ** 2))
    m.policies[Producer] = lambda o: np.zeros((6, 1))
    m.step()  # forecast moves from 8 to 6: cost 2 * 4
    assert m.producers[0].reward() == pytest.approx(-((m.price - 6.0) ** 2) - 8.0)


def test_producer_rejects_actions_outside_its_space():
    m = CobwebModel(policies={Producer: lambda o: np.full((6, 1), 1.5)})
    with pytest.raises(ValueError, match=r"action 1.5 is outside the action space \[-1, 1\]"):
        m.step()


OVER_RANDOM, OVER_UNTRAINED = 15.0, 0.4
"""What the learning test asserts of :func:`forecaster_rewards`: about half the gains measured
on its seed (RESULTS.md section 3, table ``learning-margins``)."""


def forecaster_rewards(seed: int) -> dict[str, float]:
    """Per producer-step reward of forecasters after 40k agent-steps of PPO from ``seed``, of
    untrained ones and of random ones, over 9 thetas x 4 episodes.

    The learning test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    ppo = train(
        CobwebModel,
        Producer,
        Uniform(),
        40_000,
        algo=PPO,
        seed=seed,
        learning_rate=1e-3,
        **PPO_SETTINGS,
    )
    trained = float(per_step_reward(SB3Policy(ppo)))
    env = MesaVecEnv(CobwebModel, Producer, Uniform(), seed=seed)
    untrained = float(per_step_reward(SB3Policy(PPO("MlpPolicy", env, seed=seed, **PPO_SETTINGS))))
    random = float(per_step_reward(RandomPolicy(Producer.action_space, seed=seed)))
    return {
        "trained": trained,
        "untrained": untrained,
        "random": random,
        "over random": trained - random,
        "over untrained": trained - untrained,
    }


@pytest.mark.slow
def test_a_few_thousand_ppo_steps_beat_random_and_untrained_forecasters():
    measured = forecaster_rewards(0)
    assert measured["over random"] > OVER_RANDOM, measured
    assert measured["over untrained"] > OVER_UNTRAINED, measured


def test_calibration_to_a_csv_simulates_episodes_as_long_as_the_data(tmp_path):
    data = tmp_path / "prices.csv"
    data.write_text("episode,price\n" + "".join(f"{e},6.0\n" for e in range(2) for _ in range(35)))
    assert calibration(data=data).make_model(theta=None, seed=0).horizon == 35
    assert calibration().make_model(theta=None, seed=0).horizon == HORIZON
