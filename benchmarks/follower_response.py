"""How strongly, and how reproducibly, trained producers respond to their inertia.

A producer's best response is partial adjustment, ``p_e_t = (1 - eta) E[p_t] + eta p_e_{t-1}``:
its forecast should follow its own last forecast with slope ``eta``. Calibration can only
recover ``eta`` if trained policies show that dependence, and only precisely if independently
trained policies agree on it. For each setting this script trains theta-conditioned PPO
producers from several seeds and probes the slope ``d p_e_t / d p_e_{t-1}`` of the mean action
at a grid of ``(lam, eta)``, at two price levels. It reports

- ``sensitivity``: the slope's rise per unit of ``eta`` (the best response: 1);
- ``seed_std``: the slope's std across seeds, averaged over the grid;
- ``eta_err``: ``seed_std / sensitivity`` as a share of eta's range, the error one would
  expect from reading one policy's behaviour with another's.

    python benchmarks/follower_response.py --settings 50,0.9 20,0.5 --seeds 0 1 2
    python benchmarks/follower_response.py --settings 50,0.5 --ppo n_epochs=10

Each setting is ``horizon,gamma``; ``--ppo name=value`` overrides other PPO settings and
``--market name=value`` the market's constants
(:class:`mesa_adage.examples.models.cobweb.CobwebParams`); everything else is
``mesa_adage.examples.models.cobweb``'s. Results are appended to
``benchmarks/results/follower_response.jsonl``; ``--table`` prints them, with the same error
computed over the low-inertia half of the grid (``eta`` 0.1 to 0.3) too.
"""

from __future__ import annotations

import json
import time
from functools import partial

import harness
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage import SB3Policy, train
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models import cobweb
from mesa_adage.samplers import Uniform

ROLE = "select"
"""A screen of the producers' settings before the acceptance runs."""

RESULTS = harness.RESULTS / "follower_response.jsonl"
LAMS = (0.3, 0.6, 0.9)
ETAS = (0.1, 0.3, 0.5, 0.7, 0.9)
PRICES = (0.0, 0.25)
"""Probe points: last two prices (unit scale) equal to these; last forecast +- 0.125 around."""


def slopes(policy: SB3Policy) -> np.ndarray:
    """``d p_e_t / d p_e_{t-1}`` at every ``(lam, eta)``, averaged over :data:`PRICES`."""
    out = np.zeros((len(LAMS), len(ETAS)))
    for i, lam in enumerate(LAMS):
        for j, eta in enumerate(ETAS):
            theta_hat = cobweb.COBWEB_THETA.normalize([lam, eta])
            rows = [np.r_[p, p, p + d, theta_hat] for p in PRICES for d in (-0.125, 0.125)]
            actions = policy(np.array(rows, dtype=np.float32)).reshape(len(PRICES), 2)
            out[i, j] = np.mean((actions[:, 1] - actions[:, 0]) / 0.25)
    return out


def measure(
    horizon: int, gamma: float, seed: int, steps: int, ppo_extra: dict, market: dict
) -> dict:
    """Train one policy and probe it."""
    start = time.perf_counter()
    ppo = train(
        partial(cobweb.CobwebModel, horizon=horizon, params=cobweb.CobwebParams(**market)),
        Producer,
        Uniform(),
        steps,
        algo=PPO,
        seed=seed,
        learning_rate=LinearSchedule(*cobweb.LEARNING_RATE, 1.0),
        **{**cobweb.PPO_SETTINGS, "gamma": gamma, **ppo_extra},
    )
    return {
        "horizon": horizon,
        "gamma": gamma,
        "variant": variant(ppo_extra, market),
        "seed": seed,
        "steps": steps,
        "seconds": round(time.perf_counter() - start, 1),
        "slopes": slopes(SB3Policy(ppo)).round(4).tolist(),
    }


def variant(ppo_extra: dict, market: dict) -> str:
    """A label for the rollout and minibatch sizes in use, and any other overrides."""
    sizes = {k: cobweb.PPO_SETTINGS[k] for k in ("n_steps", "batch_size")}
    return " ".join(f"{k}={v}" for k, v in {**sizes, **ppo_extra, **market}.items())


def overrides(pairs: list[str]) -> dict:
    """``["n_epochs=10", "policy_kwargs={...}"]`` to a dict; values are read as JSON."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            sep = ""
        if not sep:
            raise SystemExit(f"override {pair!r} must be name=value with a JSON value (10, 0.5)")
    return out


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--settings", nargs="+", default=["50,0.9", "20,0.5"])
    harness.add_seeds(parser, [0, 1, 2])
    parser.add_argument("--steps", type=int, default=600_000)
    parser.add_argument("--ppo", nargs="*", default=[], help="PPO overrides, name=value")
    parser.add_argument("--market", nargs="*", default=[], help="CobwebParams, name=value")
    parser.add_argument("--table", action="store_true", help="print the recorded results")
    args = parser.parse_args()
    ppo_extra, market = overrides(args.ppo), overrides(args.market)
    if args.table:
        print(harness.tables("follower-response"))
        return
    for setting in args.settings:
        horizon, gamma = setting.split(",")
        for seed in args.seeds:
            row = measure(int(horizon), float(gamma), seed, args.steps, ppo_extra, market)
            harness.append(RESULTS, row)
            print(json.dumps({k: v for k, v in row.items() if k != "slopes"}), flush=True)


if __name__ == "__main__":
    main()
