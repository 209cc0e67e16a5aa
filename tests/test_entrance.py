"""The market entrance game: accounting, the plain game at tau = 0, the response to tau."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO

from mesa_adage import SB3Policy, simulate
from mesa_adage.examples.agents.trader import Trader
from mesa_adage.examples.models.entrance import (
    PPO_SETTINGS,
    EntranceModel,
    EntranceParams,
    StressedEntranceModel,
    calm,
    stress,
)
from mesa_adage.inner.policies import RandomPolicy
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.samplers import Uniform


def _run(tau, seed=2):
    model = EntranceModel({"tau": tau}, seed=seed, horizon=30)
    model.policies[Trader] = RandomPolicy(Trader.action_space, seed)
    return model


def test_wealth_plus_taxes_collected_equals_payoffs_paid_every_step():
    model = _run(0.3)
    while not model.done:
        model.step()
        wealth = sum(t.wealth for t in model.traders)
        assert wealth + model.tax_revenue == pytest.approx(model.paid, rel=1e-12)
        taxed = sum(t.switched for t in model.traders) * 0.3 * model.price
        assert model.tax_revenue > 0 and taxed == pytest.approx(
            sum(t.switched * (0.3 * model.price) for t in model.traders)
        )


def test_without_tax_the_reward_is_the_plain_game_s_payoff():
    model = _run(0.0)
    for _ in range(5):
        model.step()
        pay_in = 1.0 + 20.0 * (model.capacity - model.attendance) / 100
        for trader in model.traders:
            assert trader.reward() == pytest.approx(pay_in if trader.position else 1.0)
    assert model.tax_revenue == 0.0
    assert model.price == (model.attendance + 1) / 51
    assert model.returns[-1] == pytest.approx(np.log(model.prices[-1] / model.prices[-2]))


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"tau"):
        EntranceModel({"tau": 0.7})
    with pytest.raises(ValueError, match=r"capacity=150 must be an integer between 1 and"):
        EntranceParams(capacity=150)
    with pytest.raises(ValueError, match=r"n_traders=-5 must be an integer >= 2"):
        EntranceParams(n_traders=-5)
    with pytest.raises(ValueError, match=r"drop=1.5 must be in \(0, 1\)"):
        EntranceParams(crash_drop=1.5)


def test_the_specs_search_tau_and_stress_also_demand_turbulence():
    assert calm().space.names == ("tau",)
    assert stress().space.names == ("tau", "demand_shock")
    calm_model = EntranceModel(seed=1)
    wild = StressedEntranceModel({"demand_shock": 2.0}, seed=1)
    for model in (calm_model, wild):
        model.policies[Trader] = RandomPolicy(Trader.action_space, 0)
        model.run_episode()
    assert abs(wild.shock) > 0 and wild.capacity != calm_model.capacity


FEWER_TRADES = 2.5
"""What the learning test asserts of :func:`tax_response`: about half the drop measured on its
seed (RESULTS.md section 3, table ``learning-margins``)."""


def tax_response(seed: int) -> dict[str, float]:
    """How many fewer entries and exits per period traders make at tau 0.5 than at tau 0, after
    500,000 PPO steps trained from ``seed``.

    The learning test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    env = MesaVecEnv(EntranceModel, Trader, Uniform(), n_copies=4, seed=seed)
    ppo = PPO("MlpPolicy", env, seed=seed, device="cpu", **PPO_SETTINGS).learn(500_000)
    volume = {}
    for tau in (0.0, 0.5):
        rollouts = simulate(EntranceModel, [{"tau": tau}] * 4, {Trader: SB3Policy(ppo)}, range(4))
        volume[tau] = float(np.mean([r.frame["volume"].iloc[1:].mean() for r in rollouts]))
    fewer = volume[0.0] - volume[0.5]
    return {"volume at tau 0": volume[0.0], "volume at tau 0.5": volume[0.5], "fewer trades": fewer}


def test_trained_traders_trade_less_as_the_tax_rises():
    measured = tax_response(0)
    assert measured["fewer trades"] > FEWER_TRADES, measured
