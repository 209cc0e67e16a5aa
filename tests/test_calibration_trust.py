"""Calibration on harder data: heuristic data, prices alone, intervals, identification, fit."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from functools import partial
from pathlib import Path
from statistics import NormalDist

import gymnasium as gym
import mesa
import numpy as np
import pandas as pd
import pytest

from mesa_adage import (
    AdaptiveModel,
    Characteristics,
    Experiment,
    LeaderScheduler,
    Param,
    PolicyAgent,
    Timescales,
    simulate,
)
from mesa_adage.analysis.intervals import (
    bootstrap_estimates,
    combined_interval,
    follower_scores,
    interval,
    quadratic_peak,
)
from mesa_adage.analysis.uncertainty import (
    assess,
    goodness_of_fit,
    identification,
    uncertainty_lines,
)
from mesa_adage.cli import build_experiment
from mesa_adage.examples.agents.producer import PRICE_SCALE, Producer
from mesa_adage.examples.models import cobweb
from mesa_adage.examples.models.cobweb_market import heuristic_market
from mesa_adage.inner.observation import Subset
from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer import objectives
from mesa_adage.run.checkpoint import CheckpointError

# ------------------------------------------------------------------ the heuristic forecasters


def by_hand(lam: float, inertia: float, naive: int, seed: int, steps: int) -> list[float]:
    """The first prices of one episode, written out from Hommes et al.'s equations."""
    rng = np.random.default_rng(seed)
    forecast = np.clip(8.0 + 1.0 * rng.standard_normal(6), 2.0, 10.0)
    eps = 0.5 * rng.standard_normal(steps)
    weights = np.array([0.0] * naive + [inertia] * (6 - naive))
    price, shock, prices = 8.0, 0.0, []
    for t in range(steps):
        forecast = np.clip(weights * forecast + (1 - weights) * price, 2.0, 10.0)
        shock = 0.8 * shock + eps[t]
        supply = np.tanh(lam * (forecast - 6.0)) + 1.0
        price = (13.8 - 6.0 * supply.mean()) / 1.5 + shock
        prices.append(price)
    return prices


@pytest.mark.parametrize(("rule", "naive"), [("naive", 6), ("adaptive", 0), ("mix", 3)])
def test_heuristic_forecasters_match_hand_computed_first_steps(rule, naive):
    frame = heuristic_market(0.7, 0.6, rule, [11, 12], horizon=5)
    assert list(frame.columns) == ["episode", "step", "price", "mean_forecast", "forecast_spread"]
    for episode, seed in enumerate([11, 12]):
        got = frame.loc[frame["episode"] == episode, "price"].to_numpy()
        np.testing.assert_allclose(got, by_hand(0.7, 0.6, naive, seed, 5), rtol=1e-12)


def test_naive_forecasters_with_a_steep_supply_make_the_cobweb_oscillate():
    # lam = 2 is Hommes et al.'s unstable treatment: prices jump between two levels.
    prices = heuristic_market(2.0, 0.0, "naive", [0], horizon=20)["price"].to_numpy()
    changes = np.diff(prices[5:])
    assert (np.sign(changes[1:]) != np.sign(changes[:-1])).mean() > 0.8
    assert np.abs(changes).mean() > 3.0


class Adaptive:
    """A policy for the model's producers: adaptive expectations, read off their observation."""

    def __init__(self, inertia: float) -> None:
        self.inertia = inertia

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        last_price, own_last = obs[:, 0].astype(float), obs[:, 2].astype(float)
        target = self.inertia * own_last + (1 - self.inertia) * last_price  # unit scale
        return np.clip(target, -1.0, 1.0)[:, None]


def test_the_heuristic_market_is_the_mesa_market_with_adaptive_producers():
    seeds = [3, 4]
    episodes = simulate(
        partial(cobweb.CobwebModel, observation=None),
        [{"lam": 0.5, "inertia": 0.3}] * 2,
        {Producer: Adaptive(0.3)},
        seeds,
    )
    frame = heuristic_market(0.5, 0.3, "adaptive", seeds)
    for i, rollout in enumerate(episodes):
        expected = frame.loc[frame["episode"] == i, "price"].to_numpy()
        # float32 observations are the only difference
        np.testing.assert_allclose(rollout.frame["price"], expected, atol=1e-4 * PRICE_SCALE)


def test_observed_data_from_heuristic_producers_hold_the_asked_series():
    frame = cobweb.observed_data({"lam": 0.4, "inertia": 0.5}, 1, reference="mix", series="price")
    assert list(frame.columns) == ["episode", "step", "price"]
    assert frame["episode"].nunique() == cobweb.OBSERVED_EPISODES


# ------------------------------------------------------------------ intervals on a known answer

SPACE = Characteristics(Param("mu", -1.0, 1.0))


def constant_episodes(mu: float, count: int, steps: int = 4) -> list[Rollout]:
    return [Rollout({"mu": mu}, i, pd.DataFrame({"x": [mu] * steps})) for i in range(count)]


def test_a_bootstrap_interval_of_a_mean_has_the_textbook_width():
    # Data: 400 episodes whose level is N(0.3, 1); the model's episodes sit exactly at mu, so
    # the best candidate is the sample mean, and its 90% interval is mean +- 1.645 / 20.
    rng = np.random.default_rng(0)
    levels = 0.3 + rng.standard_normal(400)
    data = pd.DataFrame({"episode": np.repeat(np.arange(400), 4), "x": np.repeat(levels, 4)})
    grid = np.round(np.linspace(-1, 1, 201), 6)
    groups = [constant_episodes(float(m), 2) for m in grid]
    build = partial(objectives.calibration, columns=("x",), statistics=("mean",))
    chosen, scores = bootstrap_estimates(build, data, groups, 1, 300, np.random.default_rng(1))
    low, high = interval(grid[chosen], 0.9)
    assert scores.shape == (300, len(grid))
    assert low < levels.mean() < high
    assert (high - low) == pytest.approx(2 * 1.645 / 20, rel=0.2)


def test_a_quadratic_peak_is_found_between_the_candidates():
    rng = np.random.default_rng(3)
    points = rng.uniform(-1, 1, size=(40, 2))
    peak = np.array([0.23, -0.41])
    values = -((points - peak) ** 2 @ np.array([1.0, 4.0])) - 0.5 * np.prod(points - peak, 1)
    best = int(np.argmax(values))
    np.testing.assert_allclose(quadratic_peak(points, values, best), peak, atol=1e-9)
    saddle = points[:, 0] ** 2 - points[:, 1] ** 2  # no peak: the best candidate stands
    assert (quadratic_peak(points, saddle, 5) == points[5]).all()


@pytest.mark.slow
def test_intervals_are_not_tied_to_a_coarse_grid_of_candidates():
    # The same known answer as above with candidates 0.1 apart, coarser than the interval:
    # the quadratic refinement still gives the textbook width.
    rng = np.random.default_rng(0)
    levels = 0.3 + rng.standard_normal(400)
    data = pd.DataFrame({"episode": np.repeat(np.arange(400), 4), "x": np.repeat(levels, 4)})
    grid = np.round(np.linspace(-1, 1, 21), 6)
    thetas = [{"mu": float(m)} for m in grid]
    groups = [constant_episodes(float(m), 2) for m in grid]
    build = partial(objectives.calibration, columns=("x",), statistics=("mean",))
    report = assess(SPACE, build, data, thetas, groups, thetas[13], None, groups[13], 1,
                    replicates=300, seed=1)  # fmt: skip
    for low, high in (report["bootstrap_intervals"]["mu"], report["intervals"]["mu"]):
        assert low < levels.mean() < high
        assert (high - low) == pytest.approx(2 * 1.645 / 20, rel=0.2)


def test_each_follower_gets_its_own_estimate():
    # Follower 0 plays every candidate 0.2 too high, follower 1 plays it exactly.
    data = pd.DataFrame({"episode": np.repeat(np.arange(20), 4), "x": 0.5})
    grid = np.round(np.linspace(-1, 1, 21), 6)
    groups = []
    for m in grid:
        high_first = constant_episodes(float(m) + 0.2, 1) + constant_episodes(float(m), 1)
        groups.append(high_first * 3)  # episodes alternate between the two followers
    build = partial(objectives.calibration, columns=("x",), statistics=("mean",))
    scores = follower_scores(build, data, groups, 2)
    assert scores.shape == (2, len(grid))
    assert [grid[np.argmax(v)] for v in scores] == [pytest.approx(0.3), pytest.approx(0.5)]
    thetas = [{"mu": float(m)} for m in grid]
    report = assess(SPACE, build, data, thetas, groups, thetas[14], None, groups[14], 2,
                    replicates=20)  # fmt: skip
    learners = [t["mu"] for t in report["follower_estimates"]]
    assert learners == [pytest.approx(0.3, abs=1e-6), pytest.approx(0.5, abs=1e-6)]
    # The data are exact, so the bootstrap varies only which followers it draws (their mean
    # has variance 0.01 / 2); the learners' own spread (variance 0.02) is added to it.
    low, high = report["intervals"]["mu"]
    z = NormalDist().inv_cdf(0.95)
    assert (low + high) / 2 == pytest.approx(0.4)
    assert z * np.sqrt(0.02) < (high - low) / 2 < z * np.sqrt(0.02 + 0.01)


def test_a_combined_interval_adds_the_two_variances():
    replicates = np.array([-1.0, 1.0] * 50)  # variance 1
    learners = np.array([-2.0, 2.0, -2.0, 2.0])  # sample variance 16/3
    low, high = combined_interval(0.5, replicates, learners, 0.9)
    assert high - 0.5 == pytest.approx(0.5 - low)
    assert (high - low) / 2 == pytest.approx(NormalDist().inv_cdf(0.95) * np.sqrt(1 + 16 / 3))


def noisy_episodes(mu: float, scale: float, count: int, rng) -> list[Rollout]:
    return [
        Rollout({"mu": mu}, i, pd.DataFrame({"x": mu + scale * rng.standard_normal(30)}))
        for i in range(count)
    ]


@pytest.mark.parametrize(("data_scale", "verdict"), [(1.0, "consistent"), (2.0, "poor fit")])
def test_goodness_of_fit_tells_a_model_that_can_make_the_data_from_one_that_cannot(
    data_scale, verdict
):
    # The model's episodes are N(0.3, 1) noise; data with twice the noise has the same mean
    # but a spread no candidate makes.
    rng = np.random.default_rng(5)
    data = pd.DataFrame(
        {"episode": np.repeat(np.arange(60), 30), "x": 0.3 + data_scale * rng.standard_normal(1800)}
    )
    build = partial(objectives.calibration, columns=("x",), statistics=("mean", "std"))
    answer = noisy_episodes(0.3, 1.0, 60, rng)
    pool = noisy_episodes(0.3, 1.0, 60, rng)
    fit = goodness_of_fit(build, data, answer, pool, 4, 200, np.random.default_rng(2))
    assert fit["verdict"] == verdict
    if verdict == "poor fit":
        assert fit["p_value"] < 0.05 and fit["ratio"] > 3
    else:
        assert fit["p_value"] > 0.1 and fit["ratio"] < 2


def test_a_flat_profile_is_not_identified_and_a_steep_one_is():
    profile = pd.DataFrame(
        {
            "parameter": ["a"] * 5 + ["b"] * 5,
            "value": [0, 0.25, 0.5, 0.75, 1] * 2,
            "objective": [-5, -2, -0.1, -2, -5, -0.11, -0.1, -0.12, -0.1, -0.1],
        }
    )
    space = Characteristics(Param("a", 0, 1), Param("b", 0, 1))
    verdicts = identification(space, profile, 0.05, {"a": (0.45, 0.55), "b": (0.0, 1.0)})
    assert verdicts["a"]["status"] == "identified"
    assert verdicts["b"]["status"] == "not identified"
    assert verdicts["b"]["rise_in_noise"] == pytest.approx(0.4)
    weak = identification(space, profile, 0.05, {"a": (0.2, 0.8), "b": (0, 1)})["a"]
    assert weak["status"] == "weakly identified" and weak["interval_share"] == 0.6


# ------------------------------------------------------------------ a parameter with no effect


class Setter(PolicyAgent):
    """Sets a level; rewarded for matching ``gain``, so theta's ``decoy`` changes nothing."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self, model):
        super().__init__(model)
        self.level = 0.0

    def observe(self):
        return np.array([self.level], dtype=np.float32)

    def act(self, action):
        self.level = float(np.asarray(action).reshape(-1)[0])

    def reward(self):
        return -((self.level - self.model.theta["gain"]) ** 2)


class Decoy(AdaptiveModel):
    """Observed ``x`` is the agents' mean level plus noise; ``decoy`` has no effect at all."""

    characteristics = Characteristics(Param("gain", -0.8, 0.8), Param("decoy", 0.0, 1.0))

    def __init__(self, theta=None, **kwargs):
        super().__init__(theta, horizon=8, **kwargs)
        Setter.create_agents(self, 3)
        self.x = 0.0
        self.datacollector = mesa.DataCollector(model_reporters={"x": "x"})

    def step(self):
        self.decide()
        levels = [a.level for a in self.agents]
        self.x = float(np.mean(levels)) + 0.1 * float(self.rng.standard_normal())
        self.datacollector.collect(self)


def decoy_data(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"episode": np.repeat(np.arange(40), 8), "x": 0.4 + 0.1 * rng.standard_normal(320)}
    )


def test_a_parameter_with_no_effect_is_reported_not_identified(tmp_path, capsys):
    experiment = Experiment(
        name="decoy",
        make_model=partial(Decoy, observation=Subset(("gain",))),  # agents never see decoy
        agent_type=Setter,
        objective=partial(objectives.calibration, columns=("x",), statistics=("mean", "std")),
        data=decoy_data,
        epochs=2,
        leader="random",
        timescales=Timescales(
            warmup_steps=6_000, follower_steps=0, candidates=6, eval_rollouts=8, followers=2
        ),
        algo_kwargs={"n_steps": 64, "batch_size": 64},
        n_copies=2,
        profile_points=5,
        bootstrap=50,
    )
    result = LeaderScheduler(experiment, tmp_path / "run", seed=0, progress=False).run()
    report = json.loads((tmp_path / "run" / "summary.json").read_text())["uncertainty"]
    assert report == json.loads(json.dumps(result.uncertainty))
    assert report["identification"]["decoy"]["status"] == "not identified"
    assert report["identification"]["decoy"]["rise"] == 0.0
    assert report["identification"]["gain"]["status"] != "not identified"
    assert set(report["intervals"]) == {"gain", "decoy"}
    assert any("decoy is not identified" in line for line in uncertainty_lines(report))
    assert not any("gain is not" in line for line in uncertainty_lines(report))


# ------------------------------------------------------------------ prices alone, end to end


def tiny(experiment: Experiment) -> Experiment:
    return replace(
        experiment,
        epochs=1,
        bootstrap=30,
        profile_points=3,
        timescales=Timescales(
            warmup_steps=6_000, follower_steps=0, candidates=4, eval_rollouts=8, followers=2
        ),
        algo_kwargs={**cobweb.PPO_SETTINGS, "n_steps": 32, "batch_size": 192},
    )


LAM_RISE, INERTIA_RISE = 55.0, 8.0
"""What the price-only test asserts of :func:`price_only_rises`: each parameter's profile rises
above the comparison noise by about half as many noise standard deviations as measured on its
seed (RESULTS.md section 3, table ``learning-margins``)."""


def price_only_rises(seed: int, folder: Path) -> dict[str, float]:
    """A tiny price-only calibration run from ``seed`` into ``folder`` (adaptive producers' data,
    target lam 0.5, inertia 0.5): how far each parameter's profile rises, in noise standard
    deviations, after the run's report was checked for consistency.

    The test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    experiment = tiny(
        cobweb.calibration({"lam": 0.5, "inertia": 0.5}, reference="adaptive", series="price")
    )
    assert experiment.name == "cobweb-calibration-adaptive-prices"
    assert experiment.fit_columns == ("price",)
    result = LeaderScheduler(experiment, folder, seed=seed, progress=False).run()
    assert list(result.data.columns) == ["episode", "step", "price"]
    summary = json.loads((folder / "summary.json").read_text())
    report = summary["uncertainty"]
    for name, (low, high) in report["intervals"].items():
        assert low <= high
        assert report["covers_target"][name] == (low <= summary["target_theta"][name] <= high)
    assert 0.0 <= report["fit"]["p_value"] <= 1.0
    rises = {name: v["rise_in_noise"] for name, v in report["identification"].items()}
    assert set(rises) == {"lam", "inertia"}
    return {"lam rise in noise": rises["lam"], "inertia rise in noise": rises["inertia"]}


def test_price_only_calibration_runs_end_to_end_and_reports_its_uncertainty(tmp_path):
    # prices alone carry information on both parameters: neither profile is flat
    measured = price_only_rises(0, tmp_path / "run")
    assert measured["lam rise in noise"] > LAM_RISE, measured
    assert measured["inertia rise in noise"] > INERTIA_RISE, measured


def test_followers_from_another_run_give_the_same_answer(tmp_path):
    experiment = tiny(cobweb.calibration({"lam": 0.5, "inertia": 0.5}, reference="naive"))
    first = LeaderScheduler(experiment, tmp_path / "a", seed=0, progress=False).run()
    other = replace(
        experiment, data=partial(cobweb.observed_data, experiment.target_theta, reference="naive")
    )
    again = LeaderScheduler(
        other, tmp_path / "b", seed=0, progress=False, followers_from=tmp_path / "a"
    ).run()
    assert again.theta == first.theta
    assert again.uncertainty == first.uncertainty
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["followers_from"]["run"] == str(tmp_path / "a")
    changed = replace(experiment, algo_kwargs={**experiment.algo_kwargs, "gamma": 0.9})
    with pytest.raises(ValueError, match=r"algo_kwargs.*there.*here"):
        LeaderScheduler(changed, tmp_path / "c", seed=0, followers_from=tmp_path / "a")


@pytest.fixture(scope="module")
def trained_on(tmp_path_factory):
    """A two-epoch run whose followers trained on after the warm-up (follower_steps > 0)."""
    experiment = tiny(cobweb.calibration({"lam": 0.5, "inertia": 0.5}, reference="naive"))
    timescales = replace(experiment.timescales, follower_steps=2_000)
    experiment = replace(experiment, epochs=2, timescales=timescales)
    run = tmp_path_factory.mktemp("source") / "run"
    return experiment, run, LeaderScheduler(experiment, run, seed=0, progress=False).run()


def history(run):
    return pd.read_csv(run / "history.csv").drop(columns="seconds")  # wall-clock time


def test_followers_from_a_run_that_trained_on_start_from_its_warm_up(trained_on, tmp_path):
    experiment, source, fresh = trained_on
    again = LeaderScheduler(
        experiment, tmp_path / "b", seed=0, progress=False, followers_from=source
    ).run()
    pd.testing.assert_frame_equal(history(tmp_path / "b"), history(source), check_exact=True)
    assert again.theta == fresh.theta and again.objective == fresh.objective
    borrowed = json.loads((tmp_path / "b" / "config.json").read_text())["followers_from"]
    assert borrowed["epoch"] == 0 and borrowed["env_steps"] == 2 * 6_000  # the warm-up's


def test_followers_from_a_run_with_another_seed_is_refused(trained_on, tmp_path):
    experiment, source, _ = trained_on
    with pytest.raises(ValueError, match=r"in \['seed'\] \(seed: 0 -> 1; values there -> here\)"):
        LeaderScheduler(experiment, tmp_path / "c", seed=1, followers_from=source)
    assert not (tmp_path / "c").exists()


def test_followers_from_an_older_run_that_kept_no_warm_up(trained_on, tmp_path):
    experiment, source, _ = trained_on
    older = tmp_path / "older"  # as an older mesa-adage left it: the last epoch's set alone
    shutil.copytree(source, older)
    manifest = json.loads((older / "checkpoint" / "manifest.json").read_text())
    del manifest["warmup"]
    (older / "checkpoint" / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(older / "checkpoint" / "warmup")
    with pytest.raises(
        ValueError,
        match=r"kept no warm-up .* its epoch 2 trained on after the warm-up "
        r"\(timescales.follower_steps=2000 there, 0 allowed\)",
    ):
        LeaderScheduler(experiment, tmp_path / "d", seed=0, followers_from=older)


def test_followers_from_a_damaged_warm_up_is_refused_naming_the_file(trained_on, tmp_path):
    experiment, source, _ = trained_on
    damaged = tmp_path / "damaged"
    shutil.copytree(source, damaged)
    policy = damaged / "checkpoint" / "warmup" / "policy.zip"
    policy.write_bytes(policy.read_bytes()[:999])
    with pytest.raises(CheckpointError, match=r"warmup/policy.zip does not match .* truncated"):
        LeaderScheduler(experiment, tmp_path / "e", seed=0, followers_from=damaged)


@pytest.mark.parametrize("reference", cobweb.REFERENCES)
def test_the_command_line_reaches_every_reference(reference):
    experiment = build_experiment(
        "mesa_adage.examples.models.cobweb:calibration",
        "lam=0.7,inertia=0.1",
        None,
        [f"reference={reference}", "series=price", "statistics=mean,first"],
    )
    assert experiment.data.keywords["reference"] == reference
    assert experiment.data.keywords["series"] == ("price",)
    assert experiment.objective.keywords["statistics"] == ("mean", "first")
    assert experiment.target_theta == {"lam": 0.7, "inertia": 0.1}
