"""Batched inference: mesa-adage's rollouts against per-agent predict and the numpy/torch limit.

For a cobweb market with ``n`` producers, ``copies`` episodes run for 50 steps with one policy:

- ``adage``: :func:`mesa_adage.simulate`, one forward pass per step for all agents of all copies;
- ``per-agent``: the same models, but the policy calls SB3's ``predict`` once per agent;
- ``limit``: the same network on a pre-stacked tensor plus the market arithmetic in numpy, no
  Mesa at all: the floor to compare against.

All three run side by side in one process; ratios are what to read.

    python benchmarks/inference.py --agents 6 60 600 6000 --copies 8
"""

from __future__ import annotations

from functools import partial

import harness
import numpy as np
import torch
from stable_baselines3 import PPO

from mesa_adage import SB3Policy, simulate
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import PPO_SETTINGS, CobwebModel, CobwebParams
from mesa_adage.inner.vec_env import MesaVecEnv

ROLE = "report"
"""Speed, measured; chooses nothing."""
RESULTS = harness.RESULTS / "inference.jsonl"
"""One row per population size (RESULTS.md section 4, from the next run on)."""

STEPS = 50


def per_agent(ppo: PPO):
    def policy(obs: np.ndarray) -> np.ndarray:
        return np.stack([ppo.predict(o, deterministic=True)[0] for o in obs])

    return policy


def limit(ppo: PPO, n: int, copies: int, rng: np.random.Generator) -> None:
    """The policy network on a stacked tensor plus the cobweb in numpy."""
    net = ppo.policy
    forecasts = 8.0 + rng.standard_normal((copies, n))
    prices = np.full((copies, 2), 8.0)
    shock = np.zeros(copies)
    theta = np.tile([0.0, 0.3], (copies * n, 1)).astype(np.float32)
    for _ in range(STEPS):
        own = np.stack(
            [np.repeat(prices[:, -1], n), np.repeat(prices[:, -2], n), forecasts.ravel()], axis=1
        )
        obs = np.concatenate([(own - 6.0) / 4.0, theta], axis=1).astype(np.float32)
        with torch.no_grad():
            act = net._predict(torch.as_tensor(obs), deterministic=True).numpy()
        forecasts = 6.0 + 4.0 * np.clip(act.reshape(copies, n), -1, 1)
        supply = np.tanh(0.5 * (forecasts - 6.0)) + 1.0
        shock = 0.8 * shock + 0.5 * rng.standard_normal(copies)
        price = (13.8 - 6.0 * supply.mean(1)) / 1.5 + shock
        prices = np.column_stack([prices[:, -1], price])


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--agents", type=int, nargs="+", default=[6, 60, 600, 6000])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument(
        "--per-agent-max",
        type=int,
        default=600,
        help="skip per-agent predict above this many agents (too slow)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    harness.header("torch single-threaded")
    print(
        "| agents | copies | adage agent-steps/s | per-agent predict | limit | "
        "adage / limit time | per-agent / adage time |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in args.agents:
        make = partial(CobwebModel, params=CobwebParams(n_producers=n))
        ppo = PPO("MlpPolicy", MesaVecEnv(make, Producer, n_copies=1), device="cpu", **PPO_SETTINGS)
        thetas, seeds = [{"lam": 0.5, "inertia": 0.5}] * args.copies, range(args.copies)
        work = n * args.copies * STEPS
        t_adage = harness.seconds(simulate, make, thetas, {Producer: SB3Policy(ppo)}, seeds)
        t_limit = harness.seconds(limit, ppo, n, args.copies, np.random.default_rng(0))
        if n <= args.per_agent_max:
            t_agent = harness.seconds(simulate, make, thetas, {Producer: per_agent(ppo)}, seeds)
            agent_cell, ratio_cell = f"{work / t_agent:,.0f}", f"{t_agent / t_adage:.1f}x"
        else:
            agent_cell, ratio_cell = "skipped", "-"
        print(
            f"| {n} | {args.copies} | {work / t_adage:,.0f} | {agent_cell} | "
            f"{work / t_limit:,.0f} | {t_adage / t_limit:.1f}x | {ratio_cell} |",
            flush=True,
        )
        row = {"command": harness.command(), "agents": n, "copies": args.copies, "work": work}
        row |= {"adage_s": t_adage, "limit_s": t_limit}
        row["per_agent_s"] = t_agent if n <= args.per_agent_max else None
        harness.append(RESULTS, row)


if __name__ == "__main__":
    main()
