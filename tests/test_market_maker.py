"""The market-making model: accounting, the fill law, behaviour that follows omega."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO

from mesa_adage import SB3Policy, simulate
from mesa_adage.examples.agents.market_maker import MarketMaker
from mesa_adage.examples.models.market_maker import (
    PPO_SETTINGS,
    MarketMakerModel,
    MarketParams,
    constant_quotes,
    mean_return,
    robust,
)
from mesa_adage.inner.policies import RandomPolicy
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.samplers import Categorical


def test_pnl_is_cash_plus_inventory_at_the_mid_every_step():
    params = MarketParams(n_makers=3)
    model = MarketMakerModel({"omega": 0.3}, params=params, seed=4)
    model.policies[MarketMaker] = RandomPolicy(MarketMaker.action_space, 1)
    traded = 0
    while not model.done:
        model.step()
        for maker in model.makers:
            assert maker.pnl == pytest.approx(maker.cash + maker.inventory * model.mid, abs=1e-9)
            traded += maker.fills
    assert traded > 100  # the check ran on real trading, not on an idle book
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["pnl"].iloc[-1] == pytest.approx(np.mean([m.pnl for m in model.makers]))


@pytest.mark.parametrize("spread", [0.2, 1.2])
def test_fills_follow_the_intensity_law(spread):
    params = MarketParams()
    model = MarketMakerModel(
        horizon=20_000, seed=7, policies={MarketMaker: constant_quotes(spread)}
    )
    model.run_episode()
    per_side = model.datacollector.get_model_vars_dataframe()["volume"].iloc[1:].mean() / 2
    rate = float(params.fill_rate(spread))  # A exp(-k delta) dt
    assert rate == pytest.approx(140 * np.exp(-1.5 * spread) * 0.01)
    assert per_side == pytest.approx(rate, abs=4 * np.sqrt(rate / 40_000))  # 4 standard errors


def test_share_is_the_quote_s_intensity_over_the_book_s():
    rollouts = simulate(
        MarketMakerModel, [{"omega": 1.0}], {MarketMaker: constant_quotes(0.0)}, [0]
    )
    mine, rival = MarketParams().fill_rate(0.0), MarketParams().fill_rate(0.75)
    shares = rollouts[0].frame["share"].iloc[1:].to_numpy()
    assert shares == pytest.approx(np.full(len(shares), mine / (mine + rival)))


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"omega"):
        MarketMakerModel({"omega": 1.5})
    with pytest.raises(ValueError, match=r"MarketParams.intensity=-1.0 must be a positive"):
        MarketParams(intensity=-1.0)
    with pytest.raises(ValueError, match=r"MarketParams.decay=0.0 must be a positive"):
        MarketParams(decay=0.0)
    with pytest.raises(ValueError, match=r"MarketParams.n_makers=0 must be an integer >= 1"):
        MarketParams(n_makers=0)
    with pytest.raises(ValueError, match=r"MarketParams.sigma=nan must be a number >= 0"):
        MarketParams(sigma=float("nan"))
    model = MarketMakerModel(policies={MarketMaker: lambda obs: np.full((len(obs), 2), 3.0)})
    with pytest.raises(ValueError, match=r"MarketMaker action \[3.0, 3.0\] must be two numbers"):
        model.step()


def test_the_robust_spec_is_a_distribution_leader_over_the_paper_s_omegas():
    experiment = robust()
    assert experiment.leader == "distribution"
    assert experiment.leader_kwargs["grid"] == {"omega": (0.0, 0.25, 0.5, 0.75, 1.0)}
    assert robust("coverage").leader_kwargs["reference"] is None


MIN_MARGIN, MEAN_MARGIN = 2.5, 6.5
"""What the learning test asserts of :func:`quote_margins`' smallest and mean margin: about half
those measured on its seed (RESULTS.md section 3, table ``learning-margins``)."""


def quote_margins(seed: int) -> dict[str, float]:
    """A conditional maker's return over random quotes at omega 0, 0.5 and 1, after 20,000
    PPO steps trained from ``seed``; the smallest and the mean of the three margins.

    The learning test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    env = MesaVecEnv(MarketMakerModel, MarketMaker, Categorical(5), n_copies=8, seed=seed)
    ppo = PPO("MlpPolicy", env, seed=seed, device="cpu", **PPO_SETTINGS).learn(20_000)
    random = RandomPolicy(MarketMaker.action_space, 0)
    out = {}
    for omega in (0.0, 0.5, 1.0):
        thetas, seeds = [{"omega": omega}] * 8, range(100, 108)
        policies = {MarketMaker: SB3Policy(ppo)}
        trained = mean_return(simulate(MarketMakerModel, thetas, policies, seeds))
        baseline = mean_return(simulate(MarketMakerModel, thetas, {MarketMaker: random}, seeds))
        out[f"margin at omega {omega:g}"] = float(trained - baseline)
    margins = list(out.values())
    return {**out, "smallest margin": min(margins), "mean margin": float(np.mean(margins))}


def test_a_briefly_trained_conditional_maker_beats_random_quotes_at_every_omega():
    measured = quote_margins(0)
    assert measured["smallest margin"] > MIN_MARGIN, measured
    assert measured["mean margin"] > MEAN_MARGIN, measured
