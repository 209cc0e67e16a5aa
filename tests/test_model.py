import gc
import json
import subprocess
import sys
import weakref
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from mesa_adage.inner.observation import Noisy, Subset
from mesa_adage.inner.policies import RandomPolicy
from tests.toy import Guesser, Toy


def constant(value):
    return lambda obs: np.full((len(obs), 1), value, dtype=np.float32)


def test_model_is_a_mesa_model_with_datacollector_and_seed():
    runs = []
    for _ in range(2):
        m = Toy({"target": 0.3}, seed=5, policies={Guesser: RandomPolicy(Guesser.action_space, 1)})
        while not m.done:
            m.step()
        runs.append(m.datacollector.get_model_vars_dataframe()["mean_action"].to_numpy())
    assert m.steps == 5 and len(m.agents) == 3
    assert np.array_equal(runs[0], runs[1])
    assert m.rewards(Guesser).shape == (3,)


def test_observation_carries_normalised_theta():
    m = Toy({"target": 0.4}, policies={Guesser: constant(0.0)})
    obs = m.observations(Guesser)
    assert obs.shape == (3, 2)
    assert np.allclose(obs[:, 1], 0.5)  # 0.4 in [-0.8, 0.8] -> 0.5
    assert m.observation_space(Guesser).contains(obs[0])


def test_subset_and_noisy_views():
    assert Toy(observation=Subset(())).observations(Guesser).shape == (3, 1)
    m = Toy({"target": 0.0}, n=500, observation=Noisy(0.2), seed=1)
    hat = m.observations(Guesser)[:, 1]
    assert abs(hat.mean()) < 0.05 and 0.15 < hat.std() < 0.25
    assert np.array_equal(hat, m.observations(Guesser)[:, 1])  # a belief, fixed per theta


def test_set_characteristics_between_and_within_episodes():
    m = Toy({"target": 0.0}, policies={Guesser: constant(0.0)})
    m.set_characteristics({"target": 0.8})
    assert m.theta["target"] == 0.8
    assert np.allclose(m.observations(Guesser)[:, 1], 1.0)
    m.step()
    with pytest.raises(RuntimeError, match="mid_episode=True"):
        m.set_characteristics({"target": 0.1})
    m.set_characteristics({"target": 0.1}, mid_episode=True)
    with pytest.raises(ValueError, match=r"'target'=0.9 is outside its bounds \[-0.8, 0.8\]"):
        m.set_characteristics({"target": 0.9})
    with pytest.raises(ValueError, match="unknown parameter 'tax'"):
        Toy({"tax": 0.1})
    with pytest.raises(TypeError):
        m.theta["target"] = 0.2


def test_missing_policy_is_a_clear_error_that_says_what_to_do():
    with pytest.raises(
        RuntimeError,
        match=r"no policy for Guesser: set model.policies\[Guesser\] \(or pass "
        r"policies=\{Guesser: ...\} to Toy\) to an SB3Policy, RandomPolicy or any callable "
        r"obs -> actions; Guesser is a PolicyAgent, with no rule of its own",
    ):
        Toy().step()


def test_wrong_action_count_is_a_clear_error():
    m = Toy(policies={Guesser: lambda obs: np.zeros((1, 1))})
    with pytest.raises(ValueError, match="returned 1 actions for 3 agents"):
        m.step()


def test_bad_observation_shape_and_nan_are_clear_errors(monkeypatch):
    m = Toy()
    monkeypatch.setattr(Guesser, "observe", lambda self: np.zeros(2))
    with pytest.raises(
        ValueError, match=r"Guesser.observe\(\) returned shape \(2,\).*expects \(1,\)"
    ):
        m.observations(Guesser)
    monkeypatch.setattr(Guesser, "observe", lambda self: np.array([np.nan]))
    with pytest.raises(ValueError, match="non-finite value"):
        m.observations(Guesser)


def test_nan_reward_is_a_clear_error(monkeypatch):
    m = Toy(policies={Guesser: constant(0.0)})
    m.step()
    monkeypatch.setattr(Guesser, "reward", lambda self: float("nan"))
    with pytest.raises(ValueError, match=r"Guesser.reward\(\) returned nan.*must be finite"):
        m.rewards(Guesser)


def test_class_contract_errors():
    with pytest.raises(TypeError, match="characteristics"):
        type("NoTheta", (Toy.__mro__[1],), {})()
    with pytest.raises(TypeError, match="1-D gymnasium Box"):
        type("Bad", (Guesser,), {"observation_space": gym.spaces.Discrete(3)})
    with pytest.raises(ValueError, match="horizon=0"):
        Toy(horizon=0)


def test_a_finished_episode_is_freed():
    # Mesa <= 3.3 kept every model alive through its agent-id counters (mesa/mesa#3179)
    model = Toy(policies={Guesser: constant(0.0)})
    model.run_episode()
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None
    again = Toy()
    assert [a.unique_id for a in again.agents] == [1, 2, 3]  # ids still count per model


MESA_STATE = """
import json
import mesa

def state():
    # every class Mesa exports, and what each of its attributes is (type and identity)
    return {
        f"{name}.{attr}": f"{type(value).__qualname__}@{id(value)}"
        for name in dir(mesa)
        if isinstance(getattr(mesa, name), type)
        for attr, value in vars(getattr(mesa, name)).items()
    }

before = state()
import mesa_adage
imported = state()
from tests.toy import Toy
Toy()
built = state()
print(json.dumps({"before": before, "imported": imported, "built": built}))
"""


def test_importing_mesa_adage_changes_nothing_in_mesa():
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-c", MESA_STATE], capture_output=True, text=True, check=True, cwd=root
    )
    states = json.loads(run.stdout)
    assert states["imported"] == states["before"]
    changed = {k for k in states["built"] if states["built"][k] != states["before"].get(k)}
    if states["before"].get("Agent._ids", "").startswith("defaultdict@"):  # Mesa with the leak
        assert changed == {"Agent._ids"}  # the workaround, applied by the first model built
        assert states["built"]["Agent._ids"].startswith("AgentIds@")
    else:
        assert changed == set()


def test_a_validated_theta_reaches_the_model_as_it_is():
    theta = Toy.characteristics.validate({"target": 0.3})
    assert Toy(theta).theta is theta  # validated once, at the boundary
    assert Toy({"target": 0.3}).theta == theta == {"target": 0.3}  # a plain dict still works
