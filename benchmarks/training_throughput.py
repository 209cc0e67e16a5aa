"""PPO training throughput on MesaVecEnv against a hand-written vectorised env of the same market.

The limit is ``CobwebArrays``: the cobweb market's dynamics written directly as an SB3
``VecEnv`` on numpy arrays (every producer of every copy is a slot, theta drawn uniformly per
episode, the same observation, action, reward and 50-period episodes), with no Mesa and no
agents. It exists only for this benchmark. Both train the same PPO (the calibration's
settings) for the same number of agent-steps, side by side in one process; the ratio of env
steps per second is what to read.

    python benchmarks/training_throughput.py                 # 6 and 600 producers x 8 copies
    python benchmarks/training_throughput.py --quick
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import gymnasium as gym
import harness
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv

from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import HORIZON, PPO_SETTINGS, CobwebModel, CobwebParams
from mesa_adage.inner.vec_env import MesaVecEnv

ROLE = "report"
"""Speed, measured; chooses nothing."""


class CobwebArrays(VecEnv):
    """The cobweb market as arrays: ``copies`` markets of ``n`` producers, one slot each."""

    def __init__(self, n: int, copies: int, seed: int = 0) -> None:
        self.n, self.copies, self.rng = n, copies, np.random.default_rng(seed)
        self.p = CobwebParams(n_producers=n)
        low = np.float32([-3, -3, -3, -1, -1])
        space = gym.spaces.Box(low, -low, dtype=np.float32)
        super().__init__(n * copies, space, gym.spaces.Box(-1, 1, (1,), dtype=np.float32))
        self.actions = np.zeros((n * copies, 1), dtype=np.float32)

    def _new_episode(self, c: np.ndarray) -> None:
        k = len(c)
        self.lam[c] = self.rng.uniform(0.1, 1.0, k)
        self.eta[c] = self.rng.uniform(0.0, 0.9, k)
        self.prices[c] = self.p.initial_price
        self.shock[c] = 0.0
        self.t[c] = 0
        first = self.p.initial_price + self.p.initial_spread * self.rng.standard_normal((k, self.n))
        self.forecast[c] = np.clip(first, 2, 10)

    def _obs(self) -> np.ndarray:
        n = self.n
        own = np.empty((self.copies, n, 5), dtype=np.float32)
        own[:, :, 0] = ((self.prices[:, 1] - 6.0) / 4.0)[:, None]
        own[:, :, 1] = ((self.prices[:, 0] - 6.0) / 4.0)[:, None]
        own[:, :, 2] = (self.forecast - 6.0) / 4.0
        own[:, :, 3] = (2 * (self.lam - 0.1) / 0.9 - 1)[:, None]
        own[:, :, 4] = (2 * self.eta / 0.9 - 1)[:, None]
        return own.reshape(-1, 5)

    def reset(self) -> np.ndarray:
        c = self.copies
        self.lam, self.eta, self.shock = np.zeros(c), np.zeros(c), np.zeros(c)
        self.prices, self.t = np.zeros((c, 2)), np.zeros(c, dtype=int)
        self.forecast = np.zeros((c, self.n))
        self._new_episode(np.arange(c))
        return self._obs()

    def step_async(self, actions: np.ndarray) -> None:
        self.actions = actions

    def step_wait(self):
        a = np.clip(self.actions.reshape(self.copies, self.n).astype(np.float64), -1, 1)
        last, self.forecast = self.forecast, 6.0 + 4.0 * a
        supply = np.tanh(self.lam[:, None] * (self.forecast - 6.0)) + 1.0
        self.shock = 0.8 * self.shock + 0.5 * self.rng.standard_normal(self.copies)
        price = (self.p.a - 6.0 * supply.mean(1)) / self.p.d + self.shock
        error, adjust = price[:, None] - self.forecast, self.forecast - last
        kappa = (self.eta / (1 - self.eta))[:, None]
        rewards = (-(error * error) - kappa * (adjust * adjust)).ravel().astype(np.float32)
        self.prices = np.column_stack([self.prices[:, 1], price])
        self.t += 1
        ended = self.t >= HORIZON
        dones = np.repeat(ended, self.n)
        infos = [{} for _ in range(self.num_envs)]
        if ended.any():
            final = self._obs()
            for i in np.flatnonzero(dones):
                infos[i] = {"terminal_observation": final[i], "TimeLimit.truncated": True}
            self._new_episode(np.flatnonzero(ended))
        return self._obs(), rewards, dones, infos

    def close(self) -> None:
        pass

    def get_attr(self, name, indices=None):
        return [getattr(self, name)] * self.num_envs

    def set_attr(self, name, value, indices=None) -> None:
        setattr(self, name, value)

    def env_method(self, name, *args, indices=None, **kwargs):
        return [None] * self.num_envs

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * self.num_envs

    def seed(self, seed=None):
        return [None] * self.num_envs


class Recording(CobwebModel):
    """The cobweb market collecting its data every step, also while MesaVecEnv trains on it
    (as before MesaVecEnv turned ``recording`` off): the cost of the DataCollector."""

    recording = property(lambda self: True, lambda self, value: None)


def steps_per_second(make_env: Callable[[], VecEnv], steps: int) -> float:
    """Agent-steps per second of PPO training on a new ``make_env()`` (the first update
    excluded)."""
    env = make_env()
    ppo = PPO("MlpPolicy", env, device="cpu", seed=0, **PPO_SETTINGS)
    warm = PPO_SETTINGS["n_steps"] * env.num_envs
    ppo.learn(warm)  # builds the buffers and takes the first update
    start = time.perf_counter()
    ppo.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--producers", type=int, nargs="+", default=[6, 600])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--rollouts", type=int, default=4, help="PPO rollouts timed per run")
    harness.add_repeats(parser, 3)
    harness.add_quick(parser, "6 producers, 2 rollouts, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.producers, args.rollouts, args.repeats = [6], 2, 2
    torch.set_num_threads(1)
    harness.header("torch single-threaded", f"PPO {PPO_SETTINGS}")
    print(
        "\n| producers x copies | MesaVecEnv | collecting too | hand-written | ratio | collecting |"
    )
    print("|---|---|---|---|---|---|")
    for n in args.producers:
        steps = args.rollouts * PPO_SETTINGS["n_steps"] * n * args.copies
        params = CobwebParams(n_producers=n)
        envs = {
            "mesa": partial(
                MesaVecEnv, partial(CobwebModel, params=params), Producer, n_copies=args.copies
            ),
            "collecting": partial(
                MesaVecEnv, partial(Recording, params=params), Producer, n_copies=args.copies
            ),
            "arrays": partial(CobwebArrays, n, args.copies),
        }
        rates = harness.medians(  # interleaved, so drift hits all alike
            {name: partial(steps_per_second, env, steps) for name, env in envs.items()},
            args.repeats,
        )
        m, c, a = rates["mesa"], rates["collecting"], rates["arrays"]
        print(
            f"| {n} x {args.copies} | {m:,.0f} | {c:,.0f} | {a:,.0f} "
            f"| {m / a:.2f}x | {c / a:.2f}x |",
            flush=True,
        )
        row = {
            "bench": "training_throughput",
            "producers": n,
            "copies": args.copies,
            "steps": steps,
            "repeats": args.repeats,
            **{f"{k}_steps_per_s": round(v) for k, v in rates.items()},
        }
        harness.append(harness.RESULTS / "training_throughput.jsonl", row)


if __name__ == "__main__":
    main()
