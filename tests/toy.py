"""A tiny adaptive model for tests of the framework: agents guess a target set by theta."""

from __future__ import annotations

import gymnasium as gym
import mesa
import numpy as np

from mesa_adage import AdaptiveModel, Characteristics, Param, PolicyAgent


class Guesser(PolicyAgent):
    """Rewarded for an action close to ``target``; observes its last action."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self, model):
        super().__init__(model)
        self.action = 0.0

    def observe(self):
        return np.array([self.action], dtype=np.float32)

    def act(self, action):
        self.action = float(np.asarray(action).reshape(-1)[0])

    def reward(self):
        return -((self.action - self.model.theta["target"]) ** 2)


class Toy(AdaptiveModel):
    characteristics = Characteristics(Param("target", -0.8, 0.8, default=0.0))

    def __init__(self, theta=None, *, n=3, horizon=5, **kwargs):
        super().__init__(theta, horizon=horizon, **kwargs)
        Guesser.create_agents(self, n)
        self.datacollector = mesa.DataCollector(
            model_reporters={"mean_action": lambda m: m.agents.agg("action", np.mean)}
        )

    def step(self):
        self.decide()
        self.datacollector.collect(self)


class Mayfly(PolicyAgent):
    """Lives two steps; its reward is its age, asked even in the step it dies."""

    observation_space = gym.spaces.Box(0.0, 10.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self, model):
        super().__init__(model)
        self.age = 0

    def observe(self):
        return np.array([self.age], dtype=np.float32)

    def act(self, action):
        self.age += 1

    def reward(self):
        return float(self.age)


class Pond(AdaptiveModel):
    """Two mayflies hatch at the start and one more every step; each dies at age 2."""

    characteristics = Characteristics(Param("warmth", 0.0, 1.0))

    def __init__(self, theta=None, *, horizon=4, **kwargs):
        super().__init__(theta, horizon=horizon, **kwargs)
        Mayfly.create_agents(self, 2)

    def step(self):
        self.decide()
        for fly in list(self.agents_by_type[Mayfly]):
            if fly.age >= 2:
                fly.remove()
        Mayfly(self)


def drive(leader, score, n):
    """One leader epoch as the scheduler runs it: ask, score, tell."""
    thetas = leader.ask(n)
    values = score(thetas)
    leader.tell(thetas, values)
    return thetas, values
