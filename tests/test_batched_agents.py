"""Batched agent methods (observe_all, act_all, reward_all) against the per-agent reference."""

from __future__ import annotations

import tracemalloc

import gymnasium as gym
import numpy as np
import pytest

from mesa_adage import AdaptiveModel, Characteristics, Param, PolicyAgent
from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.agents.trader import Trader
from mesa_adage.examples.models.cobweb import CobwebModel, CobwebParams
from mesa_adage.examples.models.entrance import EntranceModel
from mesa_adage.examples.models.taxation import TaxationModel, TaxParams
from mesa_adage.inner.agent import Learner
from mesa_adage.inner.policies import RandomPolicy

SHIPPED = {  # model, its batched agent class, model arguments
    "cobweb": (CobwebModel, Producer, {"params": CobwebParams(n_producers=40)}),
    "taxation": (TaxationModel, Household, {"params": TaxParams(n_households=60)}),
    "entrance": (EntranceModel, Trader, {}),
}


def reference(model_class: type[AdaptiveModel], agent_class: type[PolicyAgent]):
    """``model_class`` with ``agent_class`` stepping through its per-agent methods only."""
    return type(
        f"Reference{model_class.__name__}",
        (model_class,),
        {"learners": {agent_class: Learner.of(agent_class, batched=False)}},
    )


@pytest.mark.parametrize("name", list(SHIPPED))
def test_batched_and_per_agent_paths_agree_bit_for_bit(name):
    model_class, agent_class, kwargs = SHIPPED[name]
    assert Learner.of(agent_class).observe_all is not None  # the batched path is really used
    runs = []
    for cls in (model_class, reference(model_class, agent_class)):
        policy = RandomPolicy(agent_class.action_space, seed=7)
        model = cls(seed=11, policies={agent_class: policy}, **kwargs)
        observed, rewards = [], []
        for step in range(25):
            observed.append(model.observations(agent_class))
            model.step()
            rewards.append(model.rewards(agent_class))
            if step == 12:
                model.set_characteristics(
                    {
                        n: p.high
                        for n, p in zip(
                            model.characteristics.names, model.characteristics.params, strict=True
                        )
                    },
                    mid_episode=True,
                )
        runs.append(
            (np.stack(observed), np.stack(rewards), model.datacollector.get_model_vars_dataframe())
        )
    (obs_a, rew_a, frame_a), (obs_b, rew_b, frame_b) = runs
    assert np.array_equal(obs_a, obs_b)
    assert np.array_equal(rew_a, rew_b)
    assert frame_a.equals(frame_b)


class Walker(PolicyAgent):
    """A toy agent with batched methods that can be made to misbehave."""

    observation_space = gym.spaces.Box(-10.0, 10.0, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    shape_of_observations: tuple[int, ...] | None = None
    rewards_per_agent = 1

    def __init__(self, model):
        super().__init__(model)
        self.x = 0.0

    @classmethod
    def observe_all(cls, agents):
        shape = cls.shape_of_observations or (len(agents), 2)
        return np.zeros(shape)

    @classmethod
    def act_all(cls, agents, actions):
        for agent, a in zip(agents, np.asarray(actions)[:, 0].tolist(), strict=True):
            agent.x += a

    @classmethod
    def reward_all(cls, agents):
        return np.ones(len(agents) * cls.rewards_per_agent)


class Walk(AdaptiveModel):
    characteristics = Characteristics(Param("drift", 0.0, 1.0))

    def __init__(self, theta=None, **kwargs):
        super().__init__(theta, **kwargs)
        Walker.create_agents(self, 3)

    def step(self):
        self.decide()


@pytest.fixture
def walker(monkeypatch):
    model = Walk(seed=0, policies={Walker: RandomPolicy(Walker.action_space, seed=0)})
    return model, monkeypatch


def test_batched_methods_are_used_when_defined(walker):
    model, _ = walker
    model.step()
    assert np.array_equal(model.rewards(Walker), np.ones(3))
    assert all(agent.x != 0.0 for agent in model.agents_by_type[Walker])


def test_observe_all_of_the_wrong_shape_is_named(walker):
    model, monkeypatch = walker
    monkeypatch.setattr(Walker, "shape_of_observations", (3, 5))
    with pytest.raises(
        ValueError,
        match=r"Walker\.observe_all\(\) returned shape \(3, 5\) for 3 agents; expected \(3, 2\)",
    ):
        model.observations(Walker)


def test_reward_all_of_the_wrong_length_is_named(walker):
    model, monkeypatch = walker
    model.step()
    monkeypatch.setattr(Walker, "rewards_per_agent", 2)
    with pytest.raises(
        ValueError,
        match=r"Walker\.reward_all\(\) must return one number per agent \(shape \(6,\) for 3",
    ):
        model.rewards(Walker)


def test_a_batched_action_outside_the_space_names_the_agent_class():
    model = TaxationModel(params=TaxParams(n_households=5), seed=0)
    model.inject_actions(Household, np.array([[0.0, 0.0]] * 4 + [[1.5, 0.0]]))
    with pytest.raises(
        ValueError, match=r"Household action \[1\.5, 0\.0\] is outside the action space"
    ):
        model.step()


@pytest.mark.slow
def test_ten_thousand_households_step_with_bounded_memory():
    """Memory grows per step by the DataCollector's row, never per agent."""
    model = TaxationModel(
        params=TaxParams(n_households=10_000),
        horizon=10**6,
        seed=0,
        policies={Household: RandomPolicy(Household.action_space, seed=0)},
    )
    for _ in range(3):  # warm caches and the allocator
        model.step()
    tracemalloc.start()
    model.step()
    before = tracemalloc.take_snapshot()
    for _ in range(10):
        model.step()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # one float per household per step would be 10 x 10,000 x 24 bytes = 2.4 MB
    assert growth < 100_000, growth
