"""A leader inside the episode: a dynamic tax against the best static HSV tax (issue 24).

For each held-out taxation seed (``protocol.heldout("taxation")``), with one budget of model
steps for every tax that learns or searches:

1. **Households**: one population trained 3M agent-steps with theta uniform over the box
   (``policy_design``'s PPO settings), the same households for every tax compared.
2. **Static**: the best static HSV schedule on an 11 x 11 grid of ``(tau, xi)``, each point
   scored on 41 episodes with these households (about the budget).
3. **Dynamic**: a PPO planner (:mod:`mesa_adage.outer.planner`) that sets ``(tau, xi)``
   every 10 periods (6 decisions an episode), seeing the economy's state, trained for the
   budget against these households, who adapt to each new tax.
4. **Naive dynamic**: the same planner trained against households frozen at the free market
   (they believe the tax is zero), then deployed to households that adapt: the Lucas critique.

Each is scored on the 16 held-out evaluation episodes with households that adapt: welfare per
period and its consumption-equivalent gain over the free market. The planner's settings
(``taxation.PLANNER_SETTINGS``, rewards scaled by 1/10) were set on the shipped page
households (development), not on these seeds.

    python benchmarks/dynamic_tax.py [--budget 300000] [--households 3000000]
"""

from __future__ import annotations

import time
from functools import partial

import harness
import numpy as np
import protocol
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule
from taxation import GRID, grid_optimum, outcomes

from mesa_adage import SB3Policy, train
from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.models import taxation
from mesa_adage.inner.observation import Belief
from mesa_adage.outer.planner import PlannerEnv, play_planner, train_planner
from mesa_adage.samplers import Uniform

ROLE = "report"
"""The dynamic tax against the static optimum and the naive dynamic tax; chooses nothing."""
RESULTS = harness.RESULTS / "dynamic_tax.jsonl"
EVERY = taxation.PLANNER_EVERY
"""Periods between two of the planner's decisions."""


def households(seed: int, steps: int) -> SB3Policy:
    """Households trained across the whole box, as ``policy_design``'s warm-up trains them."""
    learner = train(
        partial(taxation.TaxationModel, params=taxation.TaxParams(n_households=100)),
        Household,
        Uniform(),
        steps,
        algo=PPO,
        seed=seed,
        n_copies=4,
        learning_rate=LinearSchedule(1e-3, 1e-4, 1.0),
        **taxation.PPO_SETTINGS,
    )
    return SB3Policy(learner)


def best_static(make, policy, budget: int, seed: int) -> tuple[dict, int]:
    """The grid point of highest welfare, and the model steps spent finding it."""
    episodes = max(1, budget // (GRID * GRID * 60))
    seeds = [seed * 1000 + i for i in range(episodes)]
    return grid_optimum(make, policy, seeds, GRID), GRID * GRID * episodes * 60


def planner(make, policy, decisions: int, seed: int) -> tuple[object, float]:
    """A PPO planner trained for ``decisions`` against ``make``'s households; its seconds."""
    env = taxation.planner_env(policy, make)
    start = time.perf_counter()
    model = train_planner(env, decisions, seed=seed, **taxation.PLANNER_SETTINGS)
    return model, time.perf_counter() - start


def report(seed: int, arm: str, rows: list[dict], base: dict, **extra: object) -> None:
    """Record one arm of one seed: welfare per period, its CE gain, the mean tax path."""
    value = float(np.mean([r["reward"] for r in rows]))
    path = [
        {k: round(float(np.mean([r["thetas"][i][k] for r in rows])), 4) for k in ("tau", "xi")}
        for i in range(len(rows[0]["thetas"]))
    ]
    ce = taxation.consumption_equivalent({"welfare": value}, base)
    out = {"seed": seed, "arm": arm, "welfare": value, "ce_gain": ce, "mean_path": path}
    protocol.record(RESULTS, {**out, **extra})
    print(f"seed {seed} {arm:<14} welfare {value:9.3f}  CE {ce:+.2%}  path {path}")


def main() -> None:
    cli = harness.parser(__doc__)
    cli.add_argument("--budget", type=int, default=300_000, help="model steps per learned tax")
    cli.add_argument("--households", type=int, default=3_000_000, help="their agent-steps")
    args = cli.parse_args()
    torch.set_num_threads(1)
    held = protocol.heldout("taxation")
    harness.header(
        "torch single-threaded",
        f"budget {args.budget} model steps, households {args.households} agent-steps",
    )
    params = taxation.TaxParams(n_households=100)
    adaptive = partial(taxation.TaxationModel, params=params)
    frozen = partial(adaptive, observation=Belief(taxation.FREE_MARKET))
    episodes = held["episode_seeds"]
    for seed in held["seeds"]:
        start = time.perf_counter()
        policy = households(seed, args.households)
        trained = time.perf_counter() - start
        base = outcomes(adaptive, taxation.FREE_MARKET, policy, episodes)
        scoring = PlannerEnv(
            adaptive, {Household: policy}, ("tau", "xi"), EVERY, lambda m: m.welfare
        )

        common = {"base": base, "households_seconds": round(trained, 1)}
        report(seed, "free market", play_planner(scoring, None, episodes), **common)
        theta, spent = best_static(adaptive, policy, args.budget, seed)
        static = PlannerEnv(adaptive, {Household: policy}, ("tau", "xi"), EVERY,
                            lambda m: m.welfare, base=theta)  # fmt: skip
        rows = play_planner(static, None, episodes)
        report(seed, "static best", rows, **common, theta=theta, model_steps=spent)
        decisions = args.budget // EVERY
        for arm, make in (("dynamic", adaptive), ("naive dynamic", frozen)):
            model, seconds = planner(make, policy, decisions, seed)
            act = lambda o, m=model: m.predict(o, deterministic=True)[0]  # noqa: E731
            rows = play_planner(scoring, act, episodes)
            spent = {"model_steps": decisions * EVERY, "train_seconds": round(seconds, 1)}
            report(seed, arm, rows, **common, **spent)


if __name__ == "__main__":
    main()
