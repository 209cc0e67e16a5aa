import json
from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd
import pytest
from stable_baselines3 import A2C

from mesa_adage import (
    Characteristics,
    Experiment,
    Leader,
    LeaderScheduler,
    Param,
    SB3Policy,
    Timescales,
    simulate,
)
from mesa_adage.outer.evaluator import Evaluator
from mesa_adage.outer.objectives import calibration
from mesa_adage.run.executors import EXECUTORS, make_executor
from mesa_adage.samplers import Fixed, Uniform
from tests.toy import Guesser, Toy

TINY = Timescales(
    warmup_steps=3000,
    follower_steps=600,
    follower_lr=3e-3,
    follower_lr_final=1e-3,
    candidates=4,
    eval_rollouts=2,
    final_top_k=2,
)


def toy_data(seed):
    """Observed data: agents that play the target 0.4 exactly."""
    return pd.DataFrame({"episode": np.repeat([0, 1], 5), "mean_action": 0.4})


def experiment(**changes):
    base = Experiment(
        name="toy",
        make_model=Toy,
        characteristics=Toy.characteristics,
        agent_type=Guesser,
        objective=lambda frame: calibration(frame, "mean_action", ["mean", "path_mae"]),
        data=toy_data,
        epochs=3,
        leader="tpe",
        timescales=TINY,
        algo_kwargs={"n_steps": 16},
        n_copies=4,
        target_theta={"target": 0.4},
        fit_columns=("mean_action",),
    )
    return replace(base, **changes)


def test_run_writes_the_run_folder(tmp_path):
    result = LeaderScheduler(experiment(), tmp_path / "run", seed=1, progress=False).run()
    run = tmp_path / "run"
    for name in (
        "config.json",
        "history.csv",
        "candidates.csv",
        "summary.json",
        "policy.zip",
        "observed.csv",
        "theta.png",
        "objective.png",
        "fit.png",
        "fingerprint.json",
        "checkpoint/manifest.json",
        "checkpoint/epoch-0003/state.json",
        "checkpoint/epoch-0003/policy.zip",
        "checkpoint/leader.db",
    ):
        assert (run / name).exists(), name
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3]
    assert {"target", "objective", "follower_return", "env_steps"} <= set(history.columns)
    assert len(pd.read_csv(run / "candidates.csv")) == 12
    assert set(result.theta) == {"target"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["theta"] == result.theta and summary["objective"] == result.objective
    # The objective is the answer's own episodes scored against the data the folder keeps.
    observed = pd.read_csv(run / "observed.csv")
    pd.testing.assert_frame_equal(observed, toy_data(0), check_dtype=False)
    assert len(result.rollouts) == TINY.eval_rollouts
    score = calibration(observed, "mean_action", ["mean", "path_mae"])(result.rollouts)
    assert result.objective == pytest.approx(score, rel=1e-12)


def test_same_seed_same_history(tmp_path):
    a = LeaderScheduler(experiment(), tmp_path / "a", seed=7, progress=False).run()
    b = LeaderScheduler(experiment(), tmp_path / "b", seed=7, progress=False).run()
    pd.testing.assert_frame_equal(
        a.history.drop(columns="seconds"), b.history.drop(columns="seconds")
    )
    assert a.theta == b.theta and a.objective == b.objective


@pytest.mark.parametrize(
    ("leader", "followers", "steps"),
    [("tpe", 1, 600), ("spsa", 1, 600), ("tpe", 2, 600), ("rl", 1, 600), ("rl", 1, 0)],
)
def test_resume_after_a_crash_equals_an_uninterrupted_run(
    tmp_path, monkeypatch, leader, followers, steps
):
    timescales = replace(TINY, follower_average=0.5, followers=followers, follower_steps=steps)
    exp = experiment(leader=leader, timescales=timescales)
    full = LeaderScheduler(exp, tmp_path / "full", seed=3, progress=False).run()

    calls = {"n": 0}
    score = Evaluator.score

    def crash_in_epoch_two(self, thetas, policies):
        out = score(self, thetas, policies)
        calls["n"] += 1
        if calls["n"] == 2:  # after epoch 2's evaluation, before its checkpoint
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(Evaluator, "score", crash_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        LeaderScheduler(exp, tmp_path / "cut", seed=3, progress=False).run()
    monkeypatch.setattr(Evaluator, "score", score)
    resumed = LeaderScheduler(exp, tmp_path / "cut", seed=3, progress=False, resume=True).run()

    pd.testing.assert_frame_equal(
        full.history.drop(columns="seconds"), resumed.history.drop(columns="seconds")
    )
    assert resumed.theta == full.theta and resumed.objective == full.objective


def test_resume_guards(tmp_path):
    LeaderScheduler(experiment(epochs=1), tmp_path / "r", seed=0, progress=False).run()
    with pytest.raises(FileExistsError, match="--resume"):
        LeaderScheduler(experiment(), tmp_path / "r", seed=0, progress=False)
    with pytest.raises(ValueError, match=r"settings differ from the saved run in \['seed'\]"):
        LeaderScheduler(experiment(), tmp_path / "r", seed=1, progress=False, resume=True)
    # more epochs on resume is allowed: the run continues where it stopped
    more = LeaderScheduler(
        experiment(epochs=2), tmp_path / "r", seed=0, progress=False, resume=True
    )
    assert list(more.run().history["epoch"]) == [1, 2]


def test_a_population_of_followers_shares_every_candidate(tmp_path):
    exp = experiment(epochs=1, timescales=replace(TINY, followers=2, eval_rollouts=4))
    scheduler = LeaderScheduler(exp, tmp_path / "run", seed=2, progress=False)
    result = scheduler.run()
    for name in ("policy.zip", "policy-1.zip", "checkpoint/epoch-0001/policy-1.zip"):
        assert (tmp_path / "run" / name).exists(), name
    first, second = (p.policy.state_dict() for p in result.policies)
    assert any(not np.allclose(first[k], second[k]) for k in first)  # independent seeds
    assert scheduler.followers.env_steps == 2 * (TINY.warmup_steps + TINY.follower_steps)
    # episode j of a candidate is played by follower j % 2, on the shared evaluation seeds
    theta = {"target": 0.3}
    _, [episodes] = scheduler.evaluator.score([theta], result.policies)
    for j, episode in enumerate(episodes):
        policy = result.policies[j % 2]
        [alone] = simulate(Toy, [theta], {Guesser: policy}, [scheduler.evaluator.seeds[j]])
        pd.testing.assert_frame_equal(episode.frame, alone.frame)


def test_without_follower_steps_the_leader_scores_one_fixed_model(tmp_path):
    exp = experiment(epochs=2, timescales=replace(TINY, follower_steps=0, follower_average=0.5))
    scheduler = LeaderScheduler(exp, tmp_path / "run", seed=4, progress=False)
    result = scheduler.run()
    assert scheduler.followers.env_steps == TINY.warmup_steps
    assert result.history["follower_return"].isna().all()
    warm = scheduler.followers.latest(0).state_dict()  # the warm-up's last weights ...
    used = result.policy.policy.state_dict()  # ... are what every epoch evaluated with
    assert all(np.array_equal(warm[k], used[k]) for k in warm)


def test_a_leader_out_of_candidates_ends_the_run_without_training_again(tmp_path):
    # A 3-point grid, 4 candidates an epoch: epoch 1 takes every point, epoch 2 finds none.
    exp = experiment(leader="grid", leader_kwargs={"points": 3}, epochs=3)
    scheduler = LeaderScheduler(exp, tmp_path / "run", seed=6, progress=False)
    result = scheduler.run()
    trained = TINY.warmup_steps + TINY.follower_steps  # the warm-up and epoch 1, no more
    assert list(result.history["epoch"]) == [1]
    assert scheduler.followers.env_steps == trained == result.history["env_steps"].iloc[-1]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs"] == 1 and summary["env_steps"] == trained
    assert not (tmp_path / "run" / "checkpoint" / "epoch-0002").exists()


def test_the_profile_scores_each_parameter_s_range_through_the_answer(tmp_path):
    exp = experiment(epochs=1, profile_points=5)
    result = LeaderScheduler(exp, tmp_path / "run", seed=5, progress=False).run()
    profile = pd.read_csv(tmp_path / "run" / "profile.csv")
    answer = result.theta["target"]
    assert set(np.linspace(-0.8, 0.8, 5)) | {answer} == set(profile["value"])
    # same followers, same evaluation seeds: the answer scores exactly as it did in the run
    at_answer = profile.loc[profile["value"] == answer, "objective"].item()
    assert at_answer == result.objective
    best = profile.loc[profile["objective"].idxmax(), "value"]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["profile_best"] == {"target": best}
    assert (tmp_path / "run" / "profile.png").exists()
    with pytest.raises(ValueError, match=r"profile_points=1 must be 0 \(no profile\) or"):
        experiment(profile_points=1)


def test_timescales_and_leader_errors():
    with pytest.raises(ValueError, match=r"Timescales\.candidates=0"):
        Timescales(candidates=0)
    with pytest.raises(ValueError, match=r"Timescales\.followers=0"):
        Timescales(followers=0)
    with pytest.raises(ValueError, match="eval_rollouts=2 must be at least followers=3"):
        Timescales(eval_rollouts=2, followers=3)
    with pytest.raises(ValueError, match=r"follower_steps=0 would leave the followers untrained"):
        Timescales(warmup_steps=0, follower_steps=0)
    with pytest.raises(ValueError, match=r"focus=1\.5"):
        Timescales(focus=1.5)
    with pytest.raises(ValueError, match="unknown leader 'nope'"):
        LeaderScheduler(experiment(leader="nope"))
    with pytest.raises(ValueError, match="unknown SB3 algorithm 'PPO2'"):
        experiment(algo="PPO2")
    assert LeaderScheduler(experiment(algo=A2C), progress=False).followers.algo is A2C
    with pytest.raises(ValueError, match="unknown executor 'gpu'"):
        LeaderScheduler(experiment(), executor="gpu")
    with pytest.raises(ValueError, match="epochs=0"):
        LeaderScheduler(experiment(), epochs=0)
    with pytest.raises(ValueError, match=r"Timescales\(follower_lr"):
        experiment(algo_kwargs={"learning_rate": 0.1})


def test_scheduler_in_memory_recovers_the_toy_target():
    result = LeaderScheduler(experiment(epochs=4), seed=0, progress=False).run()
    assert abs(result.theta["target"] - 0.4) < 0.08
    rollouts = simulate(Toy, [{"target": 0.4}] * 2, {Guesser: result.policy}, [0, 1])
    assert isinstance(result.policy, SB3Policy) and len(rollouts) == 2


def test_a_leader_s_rate_lives_on_the_leader():
    spsa = LeaderScheduler(experiment(leader="spsa", leader_kwargs={"alpha_L": 0.05}))
    assert spsa.leader.alpha_L == 0.05
    # the RL leader keeps its own PPO learning rate; it once received the SPSA step size
    assert LeaderScheduler(experiment(leader="rl")).leader.alpha_L == 3e-3
    # an overriding leader does not inherit arguments meant for the experiment's own
    assert LeaderScheduler(experiment(leader="spsa", leader_kwargs={"alpha_L": 0.05}), leader="rl")


class FixedTrainer(Leader):
    """A leader that asks random candidates but trains the followers at target=0.7 only."""

    def ask(self, n):
        return self.space.sample(Uniform(), self.rng, n)

    def training_sampler(self):
        return Fixed({"target": 0.7})


def test_a_leader_s_training_sampler_reaches_the_followers(tmp_path):
    built = []

    def make_model(theta=None, seed=None):
        built.append(None if theta is None else theta["target"])
        return Toy(theta, seed=seed)

    exp = experiment(make_model=make_model, leader=FixedTrainer, epochs=1)
    LeaderScheduler(exp, tmp_path / "run", seed=0, progress=False).run()
    first = built.index(0.7)  # the epoch's follower phase: every copy starts at the target
    assert built[first : first + exp.n_copies] == [0.7] * exp.n_copies
    assert len(built[:first]) > exp.n_copies  # after the warm-up, uniform over the box


@pytest.mark.slow
def test_every_executor_gives_the_same_history(tmp_path):
    pytest.importorskip("ray", reason="the ray executor needs the optional ray extra")
    exp = experiment(epochs=2, timescales=replace(TINY, followers=2, eval_rollouts=4))
    runs = {}
    for name in EXECUTORS:  # ray: a local ray.init(num_cpus=2), shut down with the executor
        with make_executor(name, workers=2) as executor:
            scheduler = LeaderScheduler(exp, tmp_path / name, seed=6, executor=executor)
            runs[name] = scheduler.run()
    serial = runs.pop("serial")
    for name, other in runs.items():
        pd.testing.assert_frame_equal(
            serial.history.drop(columns="seconds"), other.history.drop(columns="seconds")
        )
        assert (serial.theta, serial.objective) == (other.theta, other.objective), name
        saved = [pd.read_csv(tmp_path / n / "candidates.csv") for n in ("serial", name)]
        pd.testing.assert_frame_equal(*saved)


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ({"make_model": partial(Toy, n=4)}, "model"),
        ({"objective": lambda frame: calibration(frame, "mean_action", ["mean"])}, "objective"),
        ({"data": lambda seed: toy_data(seed).assign(mean_action=0.2)}, "data"),
    ],
)
def test_resume_refuses_another_model_objective_or_data(tmp_path, change, differs):
    LeaderScheduler(experiment(epochs=1), tmp_path / "r", progress=False).run()
    with pytest.raises(ValueError, match=rf"differ from the saved run in \['{differs}'"):
        LeaderScheduler(experiment(**change), tmp_path / "r", progress=False, resume=True)


def test_the_space_is_declared_once_on_the_model():
    assert experiment(characteristics=None).space is Toy.characteristics
    other = Characteristics(Param("target", -1.0, 1.0))
    with pytest.raises(ValueError, match="differ from the model's own"):
        experiment(characteristics=other)


def test_a_local_ray_started_for_a_run_stops_when_its_data_fail():
    ray = pytest.importorskip("ray", reason="the ray executor needs the optional ray extra")

    def broken(seed):
        raise ValueError("the data source is down")

    with pytest.raises(ValueError, match="the data source is down"):
        LeaderScheduler(experiment(data=broken), executor="ray", progress=False)
    assert not ray.is_initialized()
