"""An RL leader: a Stable-Baselines3 agent whose action is theta.

Each epoch is one PPO update of a one-step episode (a continuous bandit), written out as
ask/tell: :meth:`RLLeader.ask` samples one action per slot from the Gaussian policy, exactly
as PPO's rollout collection would; the scheduler scores the proposals with the frozen
followers; :meth:`RLLeader.tell` stores them with their objective values as rewards in PPO's
rollout buffer and runs PPO's own update. The leader's learning rate is the PPO learning rate,
``alpha_L``; the slots are the candidates per epoch, fixed by the first :meth:`ask`. A skipped
candidate (``-inf``) is rewarded as the batch's worst scored one, so PPO never sees an
infinity.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner.training import quiet
from mesa_adage.outer.leaders.base import Leader


class _Bandit(gym.Env):
    """The spaces of one slot: a constant observation, theta in ``[-1, 1]`` as the action.

    It is never stepped: :class:`RLLeader` collects its one-step episodes through ask/tell.
    """

    def __init__(self, k: int) -> None:
        self.observation_space = gym.spaces.Box(0.0, 0.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(k,), dtype=np.float32)


class RLLeader(Leader):
    """A PPO agent that proposes theta; one policy update per leader phase.

    Args:
        space: The characteristics searched.
        seed: Seed of the agent.
        alpha_L: PPO learning rate of the leader.
        log_std_init: Initial exploration, log std in normalised units.
    """

    name = "rl"

    def __init__(
        self,
        space: Characteristics,
        seed: int = 0,
        alpha_L: float = 3e-3,
        log_std_init: float = -0.5,
    ) -> None:
        super().__init__(space, seed)
        if not alpha_L > 0:
            raise ValueError(f"RLLeader: alpha_L={alpha_L} must be > 0")
        self.alpha_L = alpha_L
        self.log_std_init = log_std_init
        self.agent: PPO | None = None
        self._pending: tuple[np.ndarray, torch.Tensor, torch.Tensor] | None = None

    def _build(self, candidates: int) -> PPO:
        if candidates < 2:
            raise ValueError(f"RLLeader needs at least 2 candidates per epoch, got {candidates}")
        k = len(self.space)
        env = DummyVecEnv([lambda: _Bandit(k)] * candidates)
        self.agent = PPO(
            "MlpPolicy",
            env,
            n_steps=1,
            batch_size=candidates,
            n_epochs=10,
            learning_rate=self.alpha_L,
            gamma=0.0,
            ent_coef=0.0,
            seed=self.seed,
            device="cpu",
            policy_kwargs={"net_arch": [16], "log_std_init": self.log_std_init},
        )
        return quiet(self.agent)  # PPO's update records to a logger

    @property
    def incumbent(self) -> Theta:
        """The policy's mean proposal (the defaults before the first epoch)."""
        if self.agent is None:
            return self.space.defaults
        unit, _ = self.agent.predict(np.zeros((1, 1), np.float32), deterministic=True)
        return self.space.from_unit(np.clip(unit[0], -1, 1))

    def ask(self, n: int) -> list[Theta]:
        """One sample of the policy per slot: the proposals of the next PPO update."""
        agent = self.agent or self._build(n)
        if n != agent.n_envs:
            raise ValueError(f"RLLeader was built for {agent.n_envs} candidates, asked {n}")
        agent.policy.set_training_mode(False)
        with torch.no_grad():
            actions, values, log_probs = agent.policy(torch.zeros((n, 1)))
        self._pending = (actions.numpy(), values, log_probs)
        return [self.space.from_unit(u) for u in np.clip(self._pending[0], -1.0, 1.0)]

    def tell(self, thetas: list[Theta], values: list[float]) -> None:
        """One PPO update on the proposals of the last :meth:`ask`, rewarded by ``values``."""
        super().tell(thetas, values)
        if self.agent is None or self._pending is None or len(values) != self.agent.n_envs:
            raise RuntimeError("RLLeader.tell must follow its own ask, with every value")
        actions, estimates, log_probs = self._pending
        self._pending = None
        rewards = np.asarray(values, dtype=np.float64)
        failed = ~np.isfinite(rewards)
        rewards[failed] = rewards[~failed].min() if (~failed).any() else 0.0
        n, ends = len(rewards), np.ones(len(rewards), dtype=bool)  # every episode is one step
        agent = self.agent
        agent.num_timesteps += n
        buffer = agent.rollout_buffer
        buffer.reset()
        obs = np.zeros((n, 1), np.float32)
        buffer.add(obs, actions, rewards.astype(np.float32), ends, estimates, log_probs)
        with torch.no_grad():
            last = agent.policy.predict_values(torch.zeros((n, 1)))
        buffer.compute_returns_and_advantage(last_values=last, dones=ends)
        agent.train()

    def state_dict(self) -> dict[str, Any]:
        if self.agent is None:
            return super().state_dict()
        buffer = io.BytesIO()
        self.agent.save(buffer)
        agent = base64.b64encode(buffer.getvalue()).decode()
        return {**super().state_dict(), "agent": agent, "candidates": self.agent.n_envs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "agent" in state:
            env = self._build(int(state["candidates"])).get_env()
            buffer = io.BytesIO(base64.b64decode(state["agent"]))
            self.agent = PPO.load(buffer, env=env, device="cpu")
            quiet(self.agent)
