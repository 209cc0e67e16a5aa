r"""A Bewley-Aiyagari economy with an HSV income tax, in the spirit of TaxAI.

Sources: Aiyagari, "Uninsured idiosyncratic risk and aggregate saving", QJE 1994 (the
economy); Heathcote, Storesletten and Violante, "Optimal tax progressivity: an analytical
framework", QJE 2017 (the tax function and the US estimate); Mi et al., "TaxAI: a dynamic
economic simulator and benchmark for multi-agent reinforcement learning", AAMAS 2024 (the
learning households).

Each period t (a year):

* Household i has productivity ``e_i`` with ``log e' = rho log e + sigma_e eps`` (mean of ``e``
  is 1) and wealth ``a_i``. Its shared policy, conditioned on ``theta_hat = (tau, xi)``, chooses
  hours ``h_i`` in [0, 1] and a saving rate ``s_i`` in [0, 0.95].
* The firm rents ``K = sum_i a_i`` and hires ``L = sum_i e_i h_i`` to produce
  ``Y = K^alpha L^(1 - alpha)``, paying ``w = (1 - alpha) Y / L`` and ``r = alpha Y / K - delta``.
* Income ``y_i = w e_i h_i + r a_i`` is taxed by ``T(y) = y - (1 - tau) y^(1 - xi)`` (on
  ``max(y, 0)``; ``T < 0`` is a transfer). Revenue ``R = sum_i T(y_i)`` is rebated lump-sum,
  ``b = R / N``.
* Resources ``m_i = a_i + y_i - T(y_i) + b`` are split into consumption
  ``c_i = (1 - s_i) m_i`` and next period's wealth ``a_i' = s_i m_i``.
* Period utility ``u_i = c_i^(1 - sigma) / (1 - sigma) - chi h_i^(1 + 1/nu) / (1 + 1/nu)``;
  social welfare is the sum of utilities.

Accounting identities (tested every step): goods market ``C + K' = Y + (1 - delta) K``, each
household's budget ``c_i + a_i' = m_i``, and ``R = N b``.

Parameter values (``TaxParams``): ``alpha = 0.36``, ``delta = 0.08`` (Aiyagari 1994);
``rho = 0.9``, ``sigma_e = 0.2`` (Aiyagari's persistent case); ``sigma = 2``, ``nu = 0.5``
(a Frisch elasticity used by HSV 2017), ``chi = 1``. The US schedule is ``tau = 0.2``
(HSV's ``lambda = 0.8``) and ``xi = 0.18``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
from matplotlib.figure import Figure

from mesa_adage import AdaptiveModel, Characteristics, Experiment, Param, Timescales
from mesa_adage.analysis.reporting import RunResult
from mesa_adage.examples.agents.household import COLUMNS, Household
from mesa_adage.inner.model import theta_reporters
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer import objectives

if TYPE_CHECKING:
    from mesa_adage.outer.planner import PlannerEnv

TAX_THETA = Characteristics(
    Param("tau", 0.0, 1.0, default=0.0, doc="HSV tax level tau (1 - tau = HSV lambda)"),
    Param("xi", 0.0, 0.5, default=0.0, doc="HSV progressivity xi"),
)
FREE_MARKET = {"tau": 0.0, "xi": 0.0}
US_SCHEDULE = {"tau": 0.2, "xi": 0.18}


@dataclass(frozen=True)
class TaxParams:
    """Constants of the economy (annual model period).

    Attributes:
        n_households: Number of households N.
        alpha: Capital share of output.
        delta: Depreciation rate of capital.
        rho: Persistence of log productivity.
        sigma_e: Std of the log-productivity innovation.
        crra: Relative risk aversion ``sigma`` of consumption utility.
        frisch: Frisch elasticity of labour supply ``nu``.
        chi: Weight of the disutility of labour.
        initial_wealth: Mean initial wealth (log-normal across households, log std 0.8).
        min_consumption: Floor on consumption inside the utility only (keeps CRRA finite when
            a household has no resources; the accounts use actual consumption).
    """

    n_households: int = 100
    alpha: float = 0.36
    delta: float = 0.08
    rho: float = 0.9
    sigma_e: float = 0.2
    crra: float = 2.0
    frisch: float = 0.5
    chi: float = 1.0
    initial_wealth: float = 2.0
    min_consumption: float = 0.01


def hsv_tax(income: np.ndarray, tau: float, xi: float) -> np.ndarray:
    """HSV income tax ``T(y) = y - (1 - tau) y^(1 - xi)`` on ``max(y, 0)``."""
    y = np.maximum(income, 0.0)
    return y - (1.0 - tau) * np.power(y, 1.0 - xi)


def consumption_equivalent(
    policy: Mapping[str, float], baseline: Mapping[str, float], crra: float = 2.0
) -> float:
    """Consumption-equivalent welfare gain of ``policy`` over ``baseline``.

    The uniform proportional change ``Delta`` in every household's consumption, every period,
    under the baseline that would give the policy's welfare:
    ``(1 + Delta)^(1 - sigma) U_b - V_b = W_p`` with ``U`` the consumption utility, ``V`` the
    labour disutility and ``W = U - V`` (all summed, or all averaged, alike).

    Args:
        policy: ``{"welfare": W_p}`` (other keys are ignored).
        baseline: ``{"consumption_utility": U_b, "labour_disutility": V_b}``.
        crra: Relative risk aversion ``sigma`` (not 1).
    """
    ratio = (policy["welfare"] + baseline["labour_disutility"]) / baseline["consumption_utility"]
    if ratio <= 0:
        raise ValueError(f"no consumption equivalent: (W_p + V_b) / U_b = {ratio} is not positive")
    return float(ratio ** (1.0 / (1.0 - crra)) - 1.0)


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal; negatives count as 0)."""
    v = np.sort(np.maximum(np.asarray(x, dtype=float), 0.0))
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, len(v) + 1)
    return float((2.0 * (ranks * v).sum() / (len(v) * total)) - (len(v) + 1) / len(v))


class TaxationModel(AdaptiveModel):
    """The taxation economy: households, a competitive firm, and an HSV tax with rebates.

    Args:
        theta: ``{"tau": ..., "xi": ...}``; missing names take the free market's zero.
        params: Constants of the economy.
        horizon: Periods per episode.
        **kwargs: Passed to :class:`~mesa_adage.AdaptiveModel` (seed, policies, observation).

    Attributes:
        columns: Every household's state as arrays indexed by its ``row``
            (``mesa_adage.examples.agents.household.COLUMNS``); ``household.wealth`` reads one
            entry.
        wage: This period's wage ``w`` (last period's before the first step: the steady
            state of a representative household).
        interest: This period's interest rate ``r``.
        gdp: Output ``Y``.
        capital: Capital ``K`` used this period.
        revenue: Tax revenue ``R``.
        rebate: Lump-sum rebate per household ``b``.
        welfare: Social welfare, the sum of this period's utilities.
        gini_income: Gini coefficient of this period's incomes.
        gini_wealth: Gini coefficient of wealth after saving.
        mean_labour: Mean hours worked.
    """

    characteristics = TAX_THETA

    def __init__(
        self,
        theta: Mapping[str, float] | None = None,
        *,
        params: TaxParams = TaxParams(),
        horizon: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(theta, horizon=horizon, **kwargs)
        self.params = p = params
        n = p.n_households
        log_sd = p.sigma_e / np.sqrt(1.0 - p.rho**2)
        productivity = np.exp(log_sd * self.rng.standard_normal(n) - 0.5 * log_sd**2)
        wealth = p.initial_wealth * np.exp(0.8 * self.rng.standard_normal(n) - 0.32)
        self.columns = {name: np.zeros(n) for name in COLUMNS}  # the households' state
        self.columns["productivity"][:], self.columns["wealth"][:] = productivity, wealth
        Household.create_agents(self, n, row=list(range(n)))
        self.households = self.agents_by_type[Household]
        self.wage, self.interest = 1.0, 0.04
        self.gdp = self.capital = self.labour = self.revenue = self.rebate = 0.0
        self.consumption = self.next_capital = 0.0
        self.consumption_utility = self.labour_disutility = self.welfare = 0.0
        self.gini_income, self.gini_wealth = 0.0, gini(wealth)
        self.mean_labour = 0.0
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "gdp": "gdp",
                "welfare": "welfare",
                "revenue": "revenue",
                "gini_income": "gini_income",
                "gini_wealth": "gini_wealth",
                "mean_labour": "mean_labour",
                "consumption": "consumption",
                "consumption_utility": "consumption_utility",
                "labour_disutility": "labour_disutility",
                "capital": "capital",
                "wage": "wage",
                "interest": "interest",
                **theta_reporters(TAX_THETA),
            }
        )

    def step(self) -> None:
        self.decide()
        self.produce_and_tax()
        if self.recording:  # off while MesaVecEnv trains: training reads no collected data
            self.datacollector.collect(self)

    def leader_observation(self) -> np.ndarray:
        """What a planner inside the episode sees (:mod:`mesa_adage.outer.planner`).

        Per household GDP, capital and revenue; the Gini of income and of wealth; mean hours;
        the interest rate and the wage. All zero before the first period.
        """
        n = len(self.columns["wealth"])
        per_household = [self.gdp / n, self.capital / n, self.revenue / n]
        shares = [self.gini_income, self.gini_wealth, self.mean_labour]
        return np.array([*per_household, *shares, self.interest, self.wage], dtype=float)

    def produce_and_tax(self) -> None:
        """Clear the factor markets, tax and rebate, then consume, save and draw new shocks."""
        p, columns = self.params, self.columns  # every household's state, by row
        e, a = columns["productivity"], columns["wealth"]
        h, s = columns["hours"], columns["saving_rate"]

        self.capital = float(a.sum())
        self.labour = float((e * h).sum())
        k, lab = max(self.capital, 1e-8), max(self.labour, 1e-8)
        self.gdp = k**p.alpha * lab ** (1.0 - p.alpha)
        self.wage = (1.0 - p.alpha) * self.gdp / lab
        self.interest = p.alpha * self.gdp / k - p.delta

        income = self.wage * e * h + self.interest * a
        tax = hsv_tax(income, self.theta["tau"], self.theta["xi"])
        self.revenue = float(tax.sum())
        self.rebate = self.revenue / len(a)
        resources = a + income - tax + self.rebate
        saved = np.where(resources > 0, s * resources, resources)
        consumption = resources - saved

        c_util = np.maximum(consumption, p.min_consumption)
        u_consumption = c_util ** (1.0 - p.crra) / (1.0 - p.crra)
        v_labour = p.chi * h ** (1.0 + 1.0 / p.frisch) / (1.0 + 1.0 / p.frisch)
        utility = u_consumption - v_labour
        self.consumption_utility = float(u_consumption.sum())
        self.labour_disutility = float(v_labour.sum())
        self.consumption = float(consumption.sum())
        self.next_capital = float(saved.sum())
        self.welfare = float(np.sum(utility))
        self.gini_income, self.gini_wealth = gini(income), gini(saved)
        self.mean_labour = float(np.mean(h))

        shocks = p.rho * np.log(e) + p.sigma_e * self.rng.standard_normal(len(e))
        shocks -= 0.5 * p.sigma_e**2 / (1.0 + p.rho)  # keeps the mean of e at 1
        columns.update(
            income=income,
            tax=tax,
            resources=resources,
            consumption=consumption,
            utility=utility,
            wealth=saved,
            productivity=np.exp(shocks),
        )


# --------------------------------------------------------------------------- the policy-design task

PPO_SETTINGS = {
    "n_steps": 32,
    "batch_size": 1280,
    "n_epochs": 5,
    "gamma": 0.96,
    "policy_kwargs": {"net_arch": [64, 64], "log_std_init": -1.0},
}
PLANNER_EVERY = 10
"""Periods between two decisions of a planner inside the episode (6 in an episode)."""
PLANNER_SETTINGS = {
    "n_steps": 512,
    "batch_size": 128,
    "gamma": 0.99,
    "policy_kwargs": {"log_std_init": -1.0},
}
"""PPO settings of a planner that sets the tax inside the episode (set on the page's shipped
households, the development case; ``benchmarks/dynamic_tax.py``)."""
TRACKED = ("welfare", "gdp", "gini_income", "gini_wealth", "revenue", "mean_labour")


def policy_design(n_households: int = 100) -> Experiment:
    """Choose ``(tau, xi)`` to maximise social welfare, with households that adapt.

    Args:
        n_households: Households per economy.
    """
    return Experiment(
        name="taxation-policy-design",
        make_model=partial(TaxationModel, params=TaxParams(n_households=n_households)),
        agent_type=Household,
        objective=objectives.mean_of("welfare"),
        epochs=10,
        leader="gp",
        timescales=Timescales(
            warmup_steps=3_000_000,
            follower_steps=300_000,
            candidates=8,
            eval_rollouts=8,
            final_top_k=4,
        ),
        algo="PPO",
        algo_kwargs=PPO_SETTINGS,
        n_copies=4,
        track=TRACKED,
        report=report,
        profile_points=11,
    )


def revenue(rollouts: Sequence[Rollout]) -> float:
    """The treasury's payoff: mean tax revenue per period."""
    return objectives.mean_of("revenue")(rollouts)


def fiscal_game(structure: str = "simultaneous", points: str | int = 5) -> Experiment:
    """Two leaders split the HSV tax: a treasury sets its level, a legislature its progressivity.

    The treasury owns ``tau`` and wants revenue; the legislature owns ``xi`` and wants social
    welfare (the policy-design objective). Neither controls the whole schedule, so the
    answer is an equilibrium between them, and its welfare can be held against the joint
    optimum that ``policy_design`` finds (the cost of splitting the tax). The households,
    trained across the whole box, adapt to every schedule zero-shot.

    Args:
        structure: ``"simultaneous"`` (a Nash equilibrium) or ``"sequential"`` (the treasury
            commits first; :class:`~mesa_adage.outer.leaders.Game`).
        points: Values of each leader's parameter on its grid of moves.
    """
    from mesa_adage.outer.leaders import Game, Player

    welfare = objectives.mean_of("welfare")
    players = (Player("treasury", ("tau",), revenue), Player("legislature", ("xi",), welfare))
    game = partial(Game, players=players, structure=structure, points=int(points), tol=1e-3)
    return replace(
        policy_design(),
        name="taxation-fiscal-game",
        leader=game,
        epochs=8,
        timescales=replace(policy_design().timescales, follower_steps=0, final_top_k=1),
        profile_points=0,
    )


def planner_env(
    policy: Policy, make: Any = None, base: Mapping[str, float] | None = None
) -> PlannerEnv:
    """The planner's side of the economy: it sets ``(tau, xi)`` every :data:`PLANNER_EVERY`.

    Args:
        policy: The households' policy (frozen).
        make: The episode factory (default: 100 households).
        base: The tax at the start of each episode (default: the free market).

    Returns:
        A :class:`~mesa_adage.outer.planner.PlannerEnv` rewarded by welfare per period / 10.
    """
    from mesa_adage.outer.planner import PlannerEnv

    make = make or partial(TaxationModel, params=TaxParams(n_households=100))
    return PlannerEnv(make, {Household: policy}, ("tau", "xi"), PLANNER_EVERY,
                      _welfare_tenth, base=base)  # fmt: skip


def _welfare_tenth(model: TaxationModel) -> float:
    """A planner's reward for one period: social welfare, scaled to about 1 a decision."""
    return model.welfare / 10


def final_state(
    theta: Mapping[str, float], policy: Policy, seed: int = 0, n_households: int = 100
) -> TaxationModel:
    """Run one episode at ``theta`` with ``policy`` and return the model at its end."""
    model = TaxationModel(
        theta, params=TaxParams(n_households=n_households), policies={Household: policy}, seed=seed
    )
    model.run_episode()
    return model


def report(run_dir: Path, result: RunResult) -> None:
    """Plots of a policy-design run: the tax schedule, the distributions, the economy by epoch."""
    schedules = {"free market": FREE_MARKET, "US (HSV 2017)": US_SCHEDULE, "ADAGE": result.theta}
    economies = {name: final_state(theta, result.policy) for name, theta in schedules.items()}

    fig = Figure(figsize=(10, 3.6))
    left, right = fig.subplots(1, 2)
    incomes = np.concatenate([m.households.get("income") for m in economies.values()])
    y = np.linspace(0.05, np.percentile(incomes, 99), 200)
    for name, theta in schedules.items():
        left.plot(y, hsv_tax(y, theta["tau"], theta["xi"]) / y, label=name)
    left.axhline(0, color="grey", lw=0.5)
    left.set_xlabel("pre-tax income y")
    left.set_ylabel("average tax rate T(y) / y")
    left.set_title("tax schedules (negative: transfer)", fontsize=9)
    left.legend(fontsize=8)
    for name, model in economies.items():
        right.hist(model.households.get("income"), bins=30, histtype="step", label=name)
    right.set_xlabel("income at the end of an episode")
    right.set_title("income distribution", fontsize=9)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run_dir / "tax_schedule.png", dpi=110)

    history = result.history
    if len(history):
        fig = Figure(figsize=(11, 3))
        axes = fig.subplots(1, 3)
        for ax, column in zip(axes, ("welfare", "gdp", "gini_income"), strict=True):
            ax.plot(history["epoch"], history[column], "o-")
            ax.set_title(f"{column} at the epoch's best tax", fontsize=9)
            ax.set_xlabel("epoch")
        fig.tight_layout()
        fig.savefig(run_dir / "economy.png", dpi=110)
