"""Mesa's Boltzmann wealth model, made adaptive: agents learn how much solidarity pays.

Mesa's ``BoltzmannWealth`` (random exchange of money, after Dragulescu and Yakovenko 2000,
"Statistical mechanics of money") runs unchanged: each step every ``MoneyAgent`` moves to a
neighbouring cell and gives one unit to a random cellmate (``MoneyAgent.step``). On top of that
rule, each agent now decides one thing: whether to give one more unit to the *poorest* agent.

Theta is one number, the agents' **solidarity** ``s`` in [0, 1]: the weight an agent puts on
staying close to the mean wealth ``w_bar`` rather than on its own wealth ``w``. Its reward each
step is

    r = (1 - s) w - s |w - w_bar|.

For an agent above the mean, giving one unit changes ``r`` by ``2 s - 1``: a selfish agent
(s < 1/2) keeps it, a solidary one (s > 1/2) gives it. So when ``s`` rises past 1/2 the rich
start to share, and the Gini coefficient, which Mesa's random exchange holds near 0.6 (50
agents on 10 x 10), falls to about 0.3. The agents are not told this rule: one shared policy
learns it, conditioned on ``s``, in a few seconds of PPO (:func:`policy`), and then answers a
new ``s`` mid-run without retraining.

``AdaptiveBoltzmann(n, width, height, seed)`` is built like Mesa's ``BoltzmannWealth``, so
Mesa's own ``app.py`` runs it unchanged.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO

from mesa.examples.basic.boltzmann_wealth_model.agents import MoneyAgent
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth
from mesa_adage import Characteristics, Param, SB3Policy, adapt, train
from mesa_adage.samplers import Uniform

SOLIDARITY = Characteristics(
    Param(
        "solidarity",
        0.0,
        1.0,
        default=0.0,
        doc="weight on staying near the mean wealth, against one's own wealth (0 to 1)",
    )
)

POLICY = Path(__file__).with_name("policy.zip")
"""Where :func:`policy` keeps the trained policy (it trains one if the file is missing)."""

TRAINING_STEPS = 12_000
"""Agent-steps of PPO: a few seconds on one core."""


def share(agent: MoneyAgent, action: Any) -> None:
    """Mesa's own step, then one more unit to the poorest agent if the policy says so."""
    MoneyAgent.step(agent)  # move and give to a random cellmate, as the model always did
    if int(action) == 1 and agent.wealth > 0:
        poorest = min(agent.model.agents, key=lambda a: a.wealth)
        poorest.wealth += 1
        agent.wealth -= 1


def reward(agent: MoneyAgent) -> float:
    """``(1 - s) w - s |w - w_bar|``: own wealth against the distance to the mean."""
    s, w = agent.model.solidarity, agent.wealth
    mean = np.mean(agent.model.agents.get("wealth"))
    return float((1 - s) * w - s * abs(w - mean))


SharingBoltzmann = adapt(
    BoltzmannWealth,
    MoneyAgent,
    characteristics=SOLIDARITY,
    apply_theta=lambda model, theta: setattr(model, "solidarity", theta["solidarity"]),
    observation_space=gym.spaces.Box(0.0, np.inf, shape=(1,)),
    action_space=gym.spaces.Discrete(2),  # 0: keep, 1: give one unit to the poorest agent
    observe=lambda agent: [agent.wealth],
    act=share,
    reward=reward,
    horizon=50,
)


@functools.cache
def policy() -> SB3Policy:
    """The agents' theta-conditioned policy: loaded from :data:`POLICY`, or trained and saved.

    Short myopic PPO (``gamma=0.5``): a gift pays, or costs, in the step it is made.
    """
    if not POLICY.exists():
        make = functools.partial(SharingBoltzmann, n=50, width=10, height=10)
        algo = train(
            make,
            MoneyAgent,
            Uniform(),
            TRAINING_STEPS,
            algo=PPO,
            seed=0,
            n_copies=2,
            n_steps=64,
            batch_size=256,
            gamma=0.5,
            learning_rate=3e-3,
        )
        algo.save(POLICY)
    return SB3Policy(PPO.load(POLICY, device="cpu"))


class AdaptiveBoltzmann(SharingBoltzmann):
    """``SharingBoltzmann`` with the trained policy and no episode end, built as Mesa's model is.

    Args:
        n: Number of agents.
        width: Grid width.
        height: Grid height.
        seed: Random seed.
        theta: The starting solidarity (its default, 0, if None).
    """

    def __init__(
        self,
        n: int = 100,
        width: int = 10,
        height: int = 10,
        seed: int | None = None,
        theta: dict[str, float] | None = None,
    ) -> None:
        super().__init__(
            theta,
            horizon=10**9,
            policies={MoneyAgent: policy()},
            n=n,
            width=width,
            height=height,
            seed=seed,
        )
