import json

import numpy as np
import pandas as pd
import pytest

from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.models.taxation import (
    US_SCHEDULE,
    TaxationModel,
    TaxParams,
    consumption_equivalent,
    gini,
    hsv_tax,
)
from mesa_adage.inner.policies import RandomPolicy


@pytest.mark.parametrize("theta", [{"tau": 0.0, "xi": 0.0}, US_SCHEDULE, {"tau": 0.7, "xi": 0.45}])
def test_accounting_identities_hold_every_step(theta):
    m = TaxationModel(theta, seed=3, policies={Household: RandomPolicy(Household.action_space, 1)})
    alpha, delta = m.params.alpha, m.params.delta
    for _ in range(20):
        before = {a.unique_id: a.wealth for a in m.households}
        m.step()
        # goods market: C + K' = Y + (1 - delta) K
        assert m.consumption + m.next_capital == pytest.approx(m.gdp + (1 - delta) * m.capital)
        # factor payments exhaust output
        assert m.wage * m.labour + (m.interest + delta) * m.capital == pytest.approx(m.gdp)
        assert alpha * m.gdp == pytest.approx((m.interest + delta) * m.capital)
        # the government rebates exactly what it collects
        assert m.revenue == pytest.approx(m.rebate * len(m.households))
        assert m.revenue == pytest.approx(sum(a.tax for a in m.households))
        welfare = m.datacollector.get_model_vars_dataframe().iloc[-1]
        assert welfare["welfare"] == pytest.approx(
            welfare["consumption_utility"] - welfare["labour_disutility"]
        )
        for a in m.households:  # every budget: c + a' = a + y - T + b
            assert a.consumption + a.wealth == pytest.approx(a.resources)
            assert a.resources == pytest.approx(before[a.unique_id] + a.income - a.tax + m.rebate)
            assert a.consumption > 0


def test_free_market_collects_nothing_and_hsv_is_progressive():
    y = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    assert np.allclose(hsv_tax(y, 0.0, 0.0), 0.0)
    avg = hsv_tax(y[1:], 0.2, 0.18) / y[1:]
    assert np.all(np.diff(avg) > 0)  # average tax rate rises with income
    assert hsv_tax(np.array([0.2]), 0.2, 0.18)[0] < 0  # low incomes receive a transfer


def test_consumption_equivalent_inverts_a_uniform_consumption_change():
    rng = np.random.default_rng(0)
    c, h = rng.uniform(0.5, 2.0, 50), rng.uniform(0.1, 0.9, 50)
    u, v = (1.0 / -c).sum(), (h**3 / 3).sum()
    richer = (1.0 / -(1.1 * c)).sum() - v  # 10% more consumption, same hours
    baseline = {"consumption_utility": u, "labour_disutility": v}
    assert consumption_equivalent({"welfare": richer}, baseline) == pytest.approx(0.1)
    assert consumption_equivalent({"welfare": u - v}, baseline) == pytest.approx(0.0)


def test_gini():
    assert gini(np.ones(10)) == pytest.approx(0.0)
    assert gini(np.r_[np.zeros(99), 1.0]) == pytest.approx(0.99)


def test_productivity_process_keeps_mean_one():
    m = TaxationModel(
        params=TaxParams(n_households=4000),
        seed=0,
        policies={Household: lambda o: np.zeros((len(o), 2))},
    )
    for _ in range(10):
        m.step()
    e = np.array(m.households.get("productivity"))
    assert e.mean() == pytest.approx(1.0, abs=0.03)
    assert np.log(e).std() == pytest.approx(0.2 / np.sqrt(1 - 0.81), abs=0.03)


def test_bad_theta_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'tau'=1.2 is outside its bounds \[0, 1\]"):
        TaxationModel({"tau": 1.2})
    with pytest.raises(ValueError, match=r"'xi'=-0.1 is outside its bounds \[0, 0.5\]"):
        TaxationModel({"xi": -0.1})
    with pytest.raises(ValueError, match="unknown parameter 'wealth_tax'"):
        TaxationModel({"wealth_tax": 0.01})


@pytest.mark.parametrize("leader", ["gp", "spsa", "rl"])
def test_tiny_policy_design_run_end_to_end(tmp_path, capsys, leader):
    from mesa_adage.cli import main

    out = tmp_path / "run"
    args = ["run", "tests.specs:tiny_policy_design", "--out", str(out), "--quiet"]
    assert main([*args, "--leader", leader]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["theta"]) == {"tau", "xi"}
    assert set(summary["tracked"]) == {
        "welfare",
        "gdp",
        "gini_income",
        "gini_wealth",
        "revenue",
        "mean_labour",
    }
    history = pd.read_csv(out / "history.csv")
    assert {"welfare", "gdp", "gini_income"} <= set(history.columns)
    for png in ("tax_schedule.png", "economy.png", "theta.png", "objective.png", "profile.png"):
        assert (out / png).stat().st_size > 10_000, png
    assert "tau" in capsys.readouterr().out


FEWER_HOURS = 0.065
"""What the learning test asserts of :func:`hours_response`: about half the drop measured on
its seed (RESULTS.md section 3, table ``learning-margins``)."""


def hours_response(seed: int) -> dict[str, float]:
    """Mean hours at tau 0.1 minus those at tau 0.7 (xi 0, lump-sum rebate) of 50 households
    after 200k agent-steps of PPO trained from ``seed``.

    The learning test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    from functools import partial

    from stable_baselines3 import PPO

    from mesa_adage import SB3Policy, simulate, train
    from mesa_adage.examples.models.taxation import PPO_SETTINGS
    from mesa_adage.samplers import Uniform

    make = partial(TaxationModel, params=TaxParams(n_households=50))
    ppo = train(
        make,
        Household,
        Uniform(),
        200_000,
        algo=PPO,
        seed=seed,
        n_copies=4,
        learning_rate=1e-3,
        **{**PPO_SETTINGS, "batch_size": 640},
    )
    hours = {}
    for tau in (0.1, 0.7):
        rollouts = simulate(
            make, [{"tau": tau, "xi": 0.0}] * 4, {Household: SB3Policy(ppo)}, range(4)
        )
        hours[tau] = float(np.mean([r.frame["mean_labour"].mean() for r in rollouts]))
    fewer = hours[0.1] - hours[0.7]
    return {"hours at tau 0.1": hours[0.1], "hours at tau 0.7": hours[0.7], "fewer hours": fewer}


@pytest.mark.slow
def test_trained_households_work_less_under_a_higher_tax():
    measured = hours_response(0)
    assert measured["fewer hours"] > FEWER_HOURS, measured


def test_ten_thousand_households_run_and_clear_markets():
    m = TaxationModel(
        US_SCHEDULE,
        params=TaxParams(n_households=10_000),
        seed=0,
        policies={Household: lambda o: np.zeros((len(o), 2), np.float32)},
    )
    for _ in range(3):
        m.step()
        assert m.consumption + m.next_capital == pytest.approx(
            m.gdp + (1 - m.params.delta) * m.capital
        )
    assert len(m.households) == 10_000
