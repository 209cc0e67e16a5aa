"""A NaN or an infinity is caught at the step it appears, with the agent, the step and theta."""

import json
import math
import pickle
import re
from functools import partial

import gymnasium as gym
import mesa
import numpy as np
import pandas as pd
import pytest

from mesa_adage import AdaptiveModel, Characteristics, LeaderScheduler, Param, PolicyAgent, simulate
from mesa_adage.inner import checks
from mesa_adage.inner.checks import NonFiniteError, check_actions, require_finite
from mesa_adage.inner.observation import ObservationModel
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.outer.evaluator import Evaluator
from mesa_adage.outer.leaders import make_leader
from tests.test_scheduler import experiment
from tests.toy import drive

THETA = {"target": 0.25}
WHERE = r"for Sensor agent 2 at step 3 \(theta: target=0.25\)"


class Sensor(PolicyAgent):
    """Observes its last action; agent 2 goes wrong at step 3 if its model says how."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self, model):
        super().__init__(model)
        self.action = 0.0

    def faulty(self, part):
        model = self.model
        return model.fault == part and self.unique_id == 2 and model.steps == model.at

    def observe(self):
        self.bug("observe")
        return np.array([np.nan if self.faulty("observe") else self.action])

    def act(self, action):
        self.bug("act")
        self.action = float(action[0])

    def reward(self):
        self.bug("reward")
        return math.inf if self.faulty("reward") else -abs(self.action - self.model.theta["target"])

    def bug(self, part):
        """A bug in the agent's own code (``fault="bug in observe"``, ...)."""
        if self.faulty(f"bug in {part}"):
            raise LookupError(f"sensor {self.unique_id} has no calibration")


class Batched(Sensor):
    """A sensor with batched methods, which call the per-agent ones."""

    @classmethod
    def observe_all(cls, agents):
        return np.array([a.observe() for a in agents])

    @classmethod
    def act_all(cls, agents, actions):
        for agent, action in zip(agents, actions, strict=True):
            agent.act(action)

    @classmethod
    def reward_all(cls, agents):
        return np.array([a.reward() for a in agents])


class Faulty(AdaptiveModel):
    """Three sensors; ``fault`` ("observe" or "reward") breaks agent 2 at step ``at``.

    With ``above`` set, the fault strikes only where theta's target exceeds it.
    """

    characteristics = Characteristics(Param("target", -0.8, 0.8, default=0.0))

    def __init__(
        self, theta=None, *, fault=None, at=3, above=None, horizon=6, kind=Sensor, **kwargs
    ):
        super().__init__(theta, horizon=horizon, **kwargs)
        hit = above is None or self.theta["target"] > above
        self.fault, self.at = (fault if hit else None), at
        kind.create_agents(self, 3)
        self.datacollector = mesa.DataCollector(
            model_reporters={"mean_action": lambda m: m.agents.agg("action", np.mean)}
        )

    def step(self):
        self.decide()
        self.datacollector.collect(self)


def steady(obs):
    return np.full((len(obs), 1), 0.1, dtype=np.float32)


class Diverging:
    """A policy whose output turns NaN for the second agent on its ``at``-th call."""

    def __init__(self, at=3):
        self.at, self.calls = at, 0

    def __call__(self, obs):
        self.calls += 1
        actions = steady(obs)
        if self.calls == self.at:
            actions[1] = np.nan
        return actions


class HalfBlind(ObservationModel):
    """Shows theta to every agent but the second, who sees NaN."""

    def dim(self, space):
        return len(space)

    def __call__(self, space, unit_theta, n_agents, rng):
        views = np.tile(unit_theta, (n_agents, 1))
        views[1:2] = np.nan
        return views


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("observe", r"Sensor.observe\(\) returned \[nan\], a non-finite value, "),
        ("reward", r"Sensor.reward\(\) returned inf, a non-finite value, "),
    ],
)
def test_an_agents_bad_value_names_agent_step_and_theta(fault, message):
    make = partial(Faulty, fault=fault)
    with pytest.raises(NonFiniteError, match=message + WHERE) as caught:
        simulate(make, [THETA] * 2, {Sensor: steady}, [0, 1])
    assert caught.value.theta == THETA


def test_a_policys_nan_action_names_agent_step_and_theta():
    with pytest.raises(
        NonFiniteError,
        match=r"the policy for Sensor returned \[nan\], a non-finite value, "
        + WHERE
        + "; actions must be finite",
    ):
        simulate(Faulty, [THETA], {Sensor: Diverging(at=3)}, [0])


def test_a_nan_theta_hat_is_caught_when_drawn():
    make = partial(Faulty, observation=HalfBlind())
    with pytest.raises(
        NonFiniteError,
        match=r"the observation model HalfBlind returned \[nan\], a non-finite value, for Sensor "
        r"agent 2 at step 0 \(theta: target=0.25\); theta_hat must be finite",
    ):
        simulate(make, [THETA], {Sensor: steady}, [0])


def test_training_stops_at_the_first_bad_value():
    env = MesaVecEnv(partial(Faulty, fault="reward"), Sensor, n_copies=2, seed=0)
    env.reset()
    actions = np.zeros((env.num_envs, 1), dtype=np.float32)
    env.step(actions)
    env.step(actions)
    with pytest.raises(NonFiniteError, match=r"Sensor.reward\(\) returned inf.*agent 2 at step 3"):
        env.step(actions)


def test_a_nan_objective_names_the_theta():
    evaluator = Evaluator(Faulty, Sensor, lambda rollouts: math.nan, [0, 1])
    with pytest.raises(
        NonFiniteError, match=r"the objective is nan at theta: target=0.25; it must be finite"
    ):
        evaluator.score([THETA], [steady])


def mean_action(rollouts):
    return -float(np.mean([r.frame["mean_action"].mean() for r in rollouts]))


def test_skipping_fails_only_the_bad_candidate():
    thetas = [{"target": t} for t in (-0.5, 0.0, 0.5, 0.7)]
    make = partial(Faulty, fault="observe", above=0.4)
    kwargs = {"seeds": [0, 1, 2], "min_tasks": 1}
    evaluator = Evaluator(make, Sensor, mean_action, on_nonfinite="skip", **kwargs)
    values, groups = evaluator.score(thetas, [steady])
    assert values[2:] == [-math.inf, -math.inf]
    assert groups[2:] == [[], []]
    assert [theta for theta, _ in evaluator.skipped] == thetas[2:]
    assert "Sensor.observe() returned [nan]" in evaluator.skipped[0][1]
    alone = Evaluator(make, Sensor, mean_action, **kwargs).score(thetas[:2], [steady])[0]
    assert values[:2] == alone  # the good candidates keep their episodes
    with pytest.raises(NonFiniteError, match=WHERE.replace("0.25", "0.5")):
        Evaluator(make, Sensor, mean_action, **kwargs).score(thetas, [steady])


def test_a_run_that_skips_completes_and_reports_the_skipped(tmp_path):
    def objective(frame):
        def score(rollouts):
            return math.nan if rollouts[0].theta["target"] > 0.2 else -1.0

        return score

    run = tmp_path / "run"
    spec = experiment(objective=objective, on_nonfinite="skip", epochs=2)
    result = LeaderScheduler(spec, run, seed=3, progress=False).run()
    candidates = pd.read_csv(run / "candidates.csv")
    skipped = candidates[candidates["skipped"].notna()]
    assert len(skipped) > 0  # the seed was chosen so that some candidates land above 0.2
    assert (skipped["target"] > 0.2).all() and (skipped["objective"] == -math.inf).all()
    assert skipped["skipped"].str.startswith("the objective is nan at theta: target=").all()
    assert (candidates.loc[candidates["skipped"].isna(), "target"] <= 0.2).all()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["candidates_skipped"] == len(skipped)
    assert result.objective == -1.0 and result.theta["target"] <= 0.2


def test_on_nonfinite_is_checked():
    with pytest.raises(ValueError, match=r"on_nonfinite='ignore'; allowed are \['raise', 'skip'\]"):
        experiment(on_nonfinite="ignore")


SPACE = Characteristics(Param("a", 0.0, 1.0), Param("b", -1.0, 1.0))


@pytest.mark.parametrize("name", ["tpe", "gp", "random", "grid", "spsa", "rl"])
def test_every_point_leader_digests_a_failed_candidate(name, tmp_path):
    optuna = name in ("tpe", "gp")
    where = {"storage": f"sqlite:///{tmp_path / 'leader.db'}"} if optuna else {}
    leader = make_leader(name, SPACE, seed=0, **where)

    def evaluate(thetas):
        return [-math.inf if i == 1 else -abs(t["a"] - 0.3) for i, t in enumerate(thetas)]

    for _ in range(3):  # Optuna's samplers leave their random start after 10 trials
        drive(leader, evaluate, 5)
    assert math.isfinite(leader.best[1])
    assert all(np.isfinite(list(leader.incumbent.values())))
    assert sum(v == -math.inf for _, v in leader.history) == 3
    again = make_leader(name, SPACE, seed=0, **where)
    again.load_state_dict(json.loads(json.dumps(leader.state_dict())))
    assert again.history == leader.history
    if optuna:  # the failed trials count as told: the study resumes as it is, no fork
        assert again.study.study_name == leader.study.study_name


def test_the_distribution_leader_refuses_a_skipped_support_point():
    leader = make_leader("distribution", SPACE, seed=0, grid=2)
    with pytest.raises(ValueError, match=r"candidates at \['a=1,b=-1'\] were skipped"):
        drive(leader, lambda thetas: [-math.inf if i == 2 else 0.0 for i in range(4)], 4)


def test_the_leader_refuses_nan_naming_the_theta():
    leader = make_leader("random", SPACE, seed=0)
    thetas = leader.ask(2)
    with pytest.raises(ValueError, match=r"non-finite objective value nan for theta a=.*, b="):
        leader.tell(thetas, [0.0, math.nan])


@pytest.mark.parametrize("part", ["observe", "act", "reward"])
@pytest.mark.parametrize(
    ("kind", "where"),
    [(Sensor, "{part}()"), (Batched, "{part}_all()")],
    ids=["per agent", "batched"],
)
def test_a_bug_in_an_agent_s_own_method_keeps_its_type_and_is_noted_as_its_own(kind, where, part):
    make = partial(Faulty, fault=f"bug in {part}", kind=kind)
    with pytest.raises(LookupError, match="sensor 2 has no calibration") as caught:
        simulate(make, [THETA], {kind: steady}, [0])
    agents = WHERE.replace("Sensor agent 2", "3 Batched agents") if kind is Batched else WHERE
    [note] = caught.value.__notes__
    assert re.match(
        re.escape(f"in user code: {kind.__name__}.{where.format(part=part)} raised this, ")
        + agents
        + "; the error is in that code",
        note,
    ), note
    assert caught.traceback[-1].name == "bug"  # the traceback ends in the agent's own code
    again = pickle.loads(pickle.dumps(caught.value))  # as executors ship it between processes
    assert type(again) is LookupError and checks.from_user_code(again)


def test_the_error_survives_a_process_boundary():
    err = NonFiniteError("x returned nan", THETA)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == "x returned nan" and again.theta == THETA


class Probe:
    """Anything with a ``unique_id`` stands for an agent: the checks need no model."""

    def __init__(self, unique_id):
        self.unique_id = unique_id


def test_the_checks_take_plain_values_not_a_model():
    agents, theta = [Probe(1), Probe(2)], Faulty.characteristics.validate(THETA)
    with pytest.raises(
        NonFiniteError,
        match=r"the policy for Probe returned \[nan\], a non-finite value, for Probe agent 2 at "
        r"step 7 \(theta: target=0.25\); actions must be finite",
    ) as caught:
        check_actions(np.array([[0.1], [np.nan]]), agents, "Probe", 7, theta)
    assert caught.value.theta == THETA and type(caught.value.theta) is dict
    with pytest.raises(ValueError, match="policy for Probe returned 1 actions for 2 agents"):
        check_actions(np.zeros((1, 1)), agents, "Probe", 7, theta)
    require_finite(np.array([0.0, 1.0]), "Probe.reward()", "rewards", agents, 7, THETA)
