r"""Cobweb market with learning producers, after Hommes et al. (2007).

Source: Hommes, Sonnemans, Tuinstra and van de Velden, "Learning in cobweb experiments",
Macroeconomic Dynamics 11, 2007.

Each period t, every producer i forecasts the price, ``p_e_{i,t}``, and supplies

    S(p_e) = tanh(lambda (p_e - 6)) + 1.

Demand is linear, ``D(p) = a - d p``, scaled to six producers as in the experiments, so the
market clears at

    p_t = (a - 6 * mean_i S(p_e_{i,t})) / d + eps_t,      eps_t ~ N(0, sigma^2),

with ``a = 13.8``, ``d = 1.5`` and ``sigma = 0.5`` (Hommes et al. 2007, section 2). ``lambda``
is the supply steepness: with naive forecasts the steady state is stable for
``lambda < 0.25`` and unstable above (treatments 0.22, 0.5 and 2 in the paper).

The producers are followers: one PPO policy, shared by all of them and conditioned on
``theta_hat = (lambda, eta)``, picks each forecast. A producer's reward is forecast accuracy
less an adjustment cost,

    r_{i,t} = -(p_t - p_e_{i,t})^2 - kappa (p_e_{i,t} - p_e_{i,t-1})^2,   kappa = eta / (1 - eta),

so the *inertia* ``eta`` is a behavioural parameter. For a price-taking forecaster the best
response is partial adjustment, ``p_e_t = (1 - eta) E[p_t] + eta p_e_{t-1}``: ``eta`` is the
weight on the last forecast, which makes behaviour change evenly across its range (a raw cost
``kappa`` would bunch all the inert behaviour at one end).
Each episode is the market's first :data:`HORIZON` periods after a price shock (50, as in the
experiments): the last two prices are ``initial_price`` and each producer's last forecast is
drawn around it.

The ``calibration`` experiment recovers a hidden ``theta* = (lambda, eta)`` from market data:
see :func:`calibration`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule
from tqdm.auto import tqdm

from mesa_adage import (
    AdaptiveModel,
    Characteristics,
    Experiment,
    Param,
    SB3Policy,
    Timescales,
    simulate,
    train,
)
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb_market import (
    MARKET,
    RULES,
    SERIES,
    CobwebParams,
    first_forecasts,
    heuristic_market,
    market_price,
    supply,
)
from mesa_adage.inner.model import theta_reporters
from mesa_adage.inner.policies import Policy
from mesa_adage.outer import objectives
from mesa_adage.run.data import read_observed
from mesa_adage.run.executors import Executor, SerialExecutor
from mesa_adage.samplers import Fixed, Sampler, Uniform
from mesa_adage.seeds import data_seeds, population_seed

HORIZON = 50
"""Periods per episode, as in the experiments."""

COBWEB_THETA = Characteristics(
    Param("lam", 0.1, 1.0, default=0.5, doc="supply steepness lambda (1/price unit)"),
    Param("inertia", 0.0, 0.9, default=0.5, doc="forecast inertia eta (weight on last forecast)"),
)


class CobwebModel(AdaptiveModel):
    """The cobweb market: producers forecast, supply, and the price clears the market.

    Args:
        theta: ``{"lam": ..., "inertia": ...}``; missing names take their defaults.
        params: Market constants.
        horizon: Periods per episode, after the shock.
        **kwargs: Passed to :class:`~mesa_adage.AdaptiveModel` (seed, policies, observation).

    Attributes:
        columns: The producers' ``forecast`` and ``last_forecast``, arrays indexed by row.
        price: The price that cleared the market this period.
        price_history: All prices, starting with the two pre-episode prices.
    """

    characteristics = COBWEB_THETA

    def __init__(
        self,
        theta: Mapping[str, float] | None = None,
        *,
        params: CobwebParams = MARKET,
        horizon: int = HORIZON,
        **kwargs: Any,
    ) -> None:
        super().__init__(theta, horizon=horizon, **kwargs)
        self.params = params
        self.price = params.initial_price
        self.shock = 0.0
        self.price_history = [params.initial_price, params.initial_price]
        first = first_forecasts(self.rng, params)
        self.columns = {"forecast": first, "last_forecast": first.copy()}  # by producer row
        Producer.create_agents(self, params.n_producers, row=list(range(params.n_producers)))
        self.producers = self.agents_by_type[Producer]
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "price": "price",
                "mean_forecast": lambda m: float(np.mean(m.columns["forecast"])),
                "forecast_spread": lambda m: float(np.std(m.columns["forecast"])),
                **theta_reporters(COBWEB_THETA),
            }
        )

    @property
    def adjustment_cost(self) -> float:
        """``kappa = eta / (1 - eta)``: the payoff cost of moving a forecast, per price^2."""
        eta = self.theta["inertia"]
        return eta / (1.0 - eta)

    def clearing_price(self) -> float:
        """Market-clearing price for the current forecasts, plus this period's demand shock."""
        p = self.params
        mean_supply = float(np.mean(supply(self.columns["forecast"], self.theta["lam"])))
        innovation = p.noise_std * float(self.rng.standard_normal())
        self.shock = p.demand_persistence * self.shock + innovation
        return market_price(mean_supply, self.shock, p)

    def step(self) -> None:
        self.decide()
        self.price = self.clearing_price()
        self.price_history.append(self.price)
        if self.recording:  # off while MesaVecEnv trains: training reads no collected data
            self.datacollector.collect(self)


# --------------------------------------------------------------------------- the calibration task

PPO_SETTINGS = {
    "n_steps": 128,
    "batch_size": 1024,
    "n_epochs": 5,
    "gamma": 0.5,
    "policy_kwargs": {"net_arch": [64, 64], "log_std_init": -2.0},
}
"""PPO settings of the producers, chosen so that independently trained producers respond to
their inertia strongly and alike (``benchmarks/follower_response.py``, the slope of a forecast
on the producer's last forecast, which the best response puts at ``eta``):

- a short discount (``gamma`` 0.5): a forecast's only lasting effect is the next period's
  adjustment cost. With 0.9 the slope rose only from 0.20 to 0.34 across ``eta``'s range;
- long rollouts and large minibatches (128 steps per slot, 6,144 per update, in minibatches of
  1,024): the reward is noisy (the demand shock), and with 64 and 256 the seeds disagreed about
  the slope by 0.035 while it rose by 0.40 across ``eta``'s range; now by 0.013 while it rises
  by 0.55 (from 0.10 to 0.66; 5 seeds each)."""
LEARNING_RATE = (1e-3, 1e-4)
"""PPO's learning rate, annealed linearly from the first to the second value."""
DEFAULT_TARGET = COBWEB_THETA.validate({"lam": 0.6, "inertia": 0.6}, complete=True)
"""The demo's hidden theta, validated once here."""
OBSERVED_EPISODES = 128
MATCHED_SERIES = SERIES
"""Series the calibration matches, those the data hold: forecasts too (the experiments of
Hommes et al. recorded every forecast). How fast the forecasts' dispersion decays after the
shock is what separates inertia from supply steepness."""
MATCHED_STATISTICS = (*objectives.DEFAULT_STATISTICS, "first")
"""Statistics matched for every series: the defaults, plus each series' first value, the
market's response to the shock. Inertia shows most clearly there (how far producers move
from their pre-shock forecast); over 50 periods the defaults dilute it. Around a low inertia
(0.2) the objective was nearly flat in inertia without it (``benchmarks/RESULTS.md``)."""
PRICE_STATISTICS = (
    *MATCHED_STATISTICS,
    "second",
    "early_mean",
    "early_change",
    "autocorr2",
    "autocorr3",
)
"""Statistics matched when the data hold prices alone: the defaults, plus more of the
transient after the shock (the second price, the mean and drift of the first five) and the
autocorrelation at lags 2 and 3. Without the forecasts, inertia shows only through how the
price settles. Chosen before the fresh targets were run, on how each statistic moves with
lam and inertia against its noise and against the disagreement between independently trained
producers (``benchmarks/price_statistics.py``, two seeds), then judged on fresh targets
(``benchmarks/RESULTS.md``, section 15)."""


REFERENCES = ("model", "specialist", *RULES)
"""Who makes synthetic data: see :func:`observed_data`."""


def observed_data(
    theta: Mapping[str, float],
    seed: int,
    *,
    reference: str = "model",
    series: Sequence[str] = SERIES,
    policies: Sequence[Policy] | None = None,
    reference_steps: int = 600_000,
    populations: int = 3,
    executor: Executor | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Synthetic "observed" markets at a known theta: :data:`OBSERVED_EPISODES` episodes.

    The producers in the data are never the policy being calibrated (``reference``):

    - ``"model"``: the model's own kind of followers, theta-conditioned PPO policies trained
      from independent seeds;
    - ``"specialist"``: PPO policies trained at ``theta`` alone (producers who only ever
      lived in that market), a mis-specified test;
    - ``"naive"``, ``"adaptive"``, ``"mix"``: classical rule-based forecasters
      (:func:`~mesa_adage.examples.models.cobweb_market.heuristic_market`), adaptive ones
      with theta's inertia. The model contains no such producers: the test of a mis-specified
      model.

    For the learning references, ``populations`` independently trained policies each play an
    equal share of the episodes, as different groups of subjects would, so one unlucky
    training run does not define the data. They train side by side on ``executor``.

    Args:
        theta: The market's true ``lam`` and ``inertia``.
        seed: Seed of the data (episodes and training).
        reference: Who the producers in the data are (above).
        series: The series the data hold
            (:data:`~mesa_adage.examples.models.cobweb_market.SERIES`, or a subset such as
            ``("price",)``: prices alone).
        policies: The learning producers, already trained (see :func:`reference_policies`);
            None trains them.
        reference_steps: Training agent-steps of each learning population.
        populations: Learning populations in the data.
        executor: Where the populations train.
        progress: Show a bar of the populations trained.

    Returns:
        A frame with columns ``episode``, ``step`` and ``series``.
    """
    theta = COBWEB_THETA.validate(theta, complete=True)
    if reference not in REFERENCES:
        raise ValueError(f"reference={reference!r}; allowed are {list(REFERENCES)}")
    series = check_series(series)
    seeds = data_seeds(seed, OBSERVED_EPISODES)
    if reference in RULES:
        frame = heuristic_market(theta["lam"], theta["inertia"], reference, seeds)
        return frame[["episode", "step", *series]]
    if policies is None:
        policies = reference_policies(
            theta,
            seed,
            reference,
            reference_steps,
            populations,
            executor=executor,
            progress=progress,
        )
    groups = np.array_split(np.arange(OBSERVED_EPISODES), len(policies))
    rollouts = [
        rollout
        for policy, episodes in zip(policies, groups, strict=True)
        for rollout in simulate(
            CobwebModel, [theta] * len(episodes), {Producer: policy}, [seeds[i] for i in episodes]
        )
    ]
    return pd.concat(
        [r.frame.reset_index().assign(episode=i) for i, r in enumerate(rollouts)],
        ignore_index=True,
    )[["episode", "step", *series]]


def reference_policies(
    theta: Mapping[str, float],
    seed: int,
    reference: str = "model",
    steps: int = 600_000,
    populations: int = 3,
    *,
    executor: Executor | None = None,
    progress: bool = False,
) -> list[SB3Policy]:
    """The learning producers of synthetic data: ``populations`` PPO policies, own seeds.

    ``reference="model"`` trains across the whole box (conditioned on theta, like the
    model's followers), so they do not depend on ``theta``; ``"specialist"`` trains at
    ``theta`` alone. ``progress`` shows a bar of the groups trained.
    """
    if reference not in ("model", "specialist"):
        raise ValueError(
            f"reference={reference!r} has no policies; allowed are ['model', 'specialist']"
        )
    sampler = Uniform() if reference == "model" else Fixed(COBWEB_THETA.validate(theta))
    if not (isinstance(populations, int) and 1 <= populations <= OBSERVED_EPISODES):
        raise ValueError(
            f"populations={populations!r} must be an integer in [1, {OBSERVED_EPISODES}]"
        )
    train_one = partial(_train_reference, sampler, steps, seed)
    runner = executor or SerialExecutor()
    with tqdm(total=populations, desc="  data producers", disable=not progress) as bar:
        return runner.map(train_one, list(range(populations)), on_result=lambda *_: bar.update())


def _train_reference(sampler: Sampler, steps: int, seed: int, index: int) -> SB3Policy:
    """One group of producers in the data: a policy trained from its own seed."""
    ppo = train(
        CobwebModel,
        Producer,
        sampler,
        steps,
        algo=PPO,
        seed=population_seed(seed, index),
        learning_rate=LinearSchedule(LEARNING_RATE[0], LEARNING_RATE[1], 1.0),
        **PPO_SETTINGS,
    )
    return SB3Policy(ppo)


def check_series(series: str | Sequence[str]) -> tuple[str, ...]:
    """``series`` as a tuple of the market's series, ``"price"`` first; ``"all"`` is every one.

    Raises:
        ValueError: If it names no series, an unknown one, or lacks ``price``.
    """
    names = SERIES if series == "all" else (series,) if isinstance(series, str) else series
    names = tuple(n for part in names for n in str(part).split(",") if n)
    unknown = [n for n in names if n not in SERIES]
    if unknown or "price" not in names:
        raise ValueError(
            f"series={series!r} must name 'price' and any of {list(SERIES)[1:]} (or be 'all'); "
            f"{'unknown: ' + repr(unknown) if unknown else 'price is missing'}"
        )
    return tuple(n for n in SERIES if n in names)


def _steps(text: int | str) -> int:
    """``reference_steps`` as a positive integer (the command line gives a string)."""
    try:
        steps = int(text)
    except ValueError:
        steps = 0
    if steps < 1:
        raise ValueError(f"reference_steps={text!r} must be a positive integer, e.g. 3000")
    return steps


def calibration(
    target_theta: Mapping[str, float] | None = None,
    data: str | Path | None = None,
    reference: str = "model",
    series: str | Sequence[str] = "all",
    statistics: str | Sequence[str] | None = None,
    reference_steps: int | str | None = None,
) -> Experiment:
    """Recover the cobweb's ``(lam, inertia)`` from market data: prices, and forecasts if any.

    The run ends with an uncertainty report (``Experiment.bootstrap``, 200 replicates): a
    90% interval for each parameter, whether the data identify it, and whether the model
    fits the data as well as it fits its own episodes (a mis-specified model shows up as a
    poor fit). See :mod:`mesa_adage.analysis.uncertainty`.

    The model's producers are a population too: six independently seeded conditional
    policies (``Timescales.followers``) share every candidate's episodes, as three groups of
    producers share the synthetic data, so neither side is one training run's quirks. They
    are trained once, across the whole box, and then kept fixed (``follower_steps=0``): being
    conditioned on theta they need no retraining as the leader moves, and the leader then
    compares every candidate through the same model. Training them a further 30k steps per
    epoch near the leader's incumbent changed that model between epochs and did worse (7 of 9
    benchmark runs within 5% against 8 of 9, both before the ``first`` statistic was added;
    ``benchmarks/RESULTS.md``, section 1).

    Args:
        target_theta: Generate the observed data at this theta (default
            :data:`DEFAULT_TARGET` when ``data`` is not given either).
        data: A CSV of observed data instead: a ``price`` column, optionally ``episode``,
            ``mean_forecast`` and ``forecast_spread`` (matched too when present). Its
            episode length becomes the model's horizon.
        reference: Who generates synthetic data, one of :data:`REFERENCES` (see
            :func:`observed_data`).
        series: The series synthetic data hold: ``"all"``, or ``"price"`` for prices alone.
        statistics: The statistics matched, names from
            :data:`mesa_adage.outer.objectives.STATISTICS` (a comma-separated string from the
            command line); None takes :data:`MATCHED_STATISTICS`, or
            :data:`PRICE_STATISTICS` when prices are all the data hold.
        reference_steps: Training agent-steps of each population of learning producers that
            make synthetic data (a string from the command line); None keeps
            :func:`observed_data`'s.
    """
    if target_theta is not None and data is not None:
        raise ValueError("give either target_theta (synthetic data) or data (a CSV), not both")
    if reference not in REFERENCES:
        raise ValueError(f"reference={reference!r}; allowed are {list(REFERENCES)}")
    if reference_steps is not None and data is not None:
        raise ValueError(
            "reference_steps trains the producers of synthetic data; with data, drop it"
        )
    make_model: Callable[..., CobwebModel] = CobwebModel
    if data is not None:
        observed: pd.DataFrame | Callable[[int], pd.DataFrame] = read_observed(data, "price")
        make_model = partial(CobwebModel, horizon=objectives.episodes(observed, "price").shape[1])
        matched = tuple(c for c in SERIES if c in observed.columns)
        truth = None
    else:
        matched = check_series(series)
        truth = COBWEB_THETA.validate(target_theta or DEFAULT_TARGET, complete=True)
        steps = {} if reference_steps is None else {"reference_steps": _steps(reference_steps)}
        observed = partial(observed_data, truth, reference=reference, series=matched, **steps)
    if statistics is None:
        statistics = PRICE_STATISTICS if matched == ("price",) else MATCHED_STATISTICS
    statistics = objectives.check_statistics(statistics)
    suffix = ("" if reference == "model" else f"-{reference}") + (
        "-prices" if matched == ("price",) else ""
    )
    return Experiment(
        name="cobweb-calibration" + suffix,
        make_model=make_model,
        agent_type=Producer,
        objective=partial(objectives.calibration, columns=matched, statistics=statistics),
        data=observed,
        epochs=10,
        leader="gp",
        timescales=Timescales(
            warmup_steps=600_000,
            follower_steps=0,
            candidates=12,
            eval_rollouts=132,
            followers=6,
        ),
        algo="PPO",
        algo_kwargs=PPO_SETTINGS,
        target_theta=truth,
        fit_columns=matched,
        profile_points=15,
        bootstrap=200,
    )
