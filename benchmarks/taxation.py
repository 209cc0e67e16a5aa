"""Taxation policy design: four policies side by side, zero-shot adaptation, and the RL leader.

    python benchmarks/taxation.py run --seeds 0 1 2              # ADAGE runs (GP leader)
    python benchmarks/taxation.py run --seeds 0 --leader rl      # the RL leader on the same task
    python benchmarks/taxation.py compare --seeds 0 1 2          # the four-policy table
    python benchmarks/taxation.py zeroshot                       # one policy vs retrained ones

``compare`` takes each ADAGE run's household policy and evaluates, with households that adapt
(they see the real tax), over 16 fresh episodes:

- (a) the free market (no tax); (b) the US HSV schedule (tau 0.2, xi 0.18);
- (c) a *naive* tax: the same leader (Optuna GP, 48 candidates) optimises welfare against
  households whose behaviour is frozen at the free market (they believe the tax is zero),
  then the tax is deployed to households that adapt (the Lucas critique);
- (d) the ADAGE tax (the run's answer).

Welfare is the mean per-period sum of utilities; the gain over (a) is a consumption
equivalent. Results go to ``benchmarks/results/taxation*.jsonl``.
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path

import harness
import pandas as pd
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage import LeaderScheduler, SB3Policy, simulate, train
from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.models import taxation
from mesa_adage.inner.observation import Belief
from mesa_adage.outer import objectives
from mesa_adage.outer.leaders import make_leader
from mesa_adage.samplers import Categorical, Fixed

ROLE = "report"
"""The four-policy comparison and the zero-shot test; chooses nothing."""

COLUMNS = ("welfare", "gdp", "gini_income", "gini_wealth", "revenue", "mean_labour")
EVAL_SEEDS = list(range(90_000, 90_016))


def run_dir(seed: int, leader: str) -> Path:
    return harness.RUNS / f"tax-{leader}-seed{seed}"


def outcomes(make, theta: dict, policy) -> dict[str, float]:
    """Episode means of the economy's reporters at ``theta``, over the evaluation seeds."""
    rollouts = simulate(make, [theta] * len(EVAL_SEEDS), {Household: policy}, EVAL_SEEDS)
    frame = pd.concat([r.frame for r in rollouts])
    cols = (*COLUMNS, "consumption_utility", "labour_disutility")
    return {c: float(frame[c].mean()) for c in cols}


def run(seeds: list[int], leader: str) -> None:
    for seed in seeds:
        start = time.perf_counter()
        experiment = taxation.policy_design()
        result = LeaderScheduler(
            experiment, run_dir(seed, leader), seed=seed, leader=leader, progress=False
        ).run()
        row = {
            "leader": leader,
            "seed": seed,
            "theta": result.theta,
            "objective": result.objective,
            "seconds": round(time.perf_counter() - start, 1),
        }
        harness.record(harness.RESULTS / "taxation_runs.jsonl", row)


def naive_tax(policy, seed: int, candidates: int = 48) -> dict:
    """Optimise welfare against households frozen at the free market."""
    frozen = partial(taxation.TaxationModel, observation=Belief(taxation.FREE_MARKET))
    leader = make_leader("gp", taxation.TAX_THETA, seed)
    seeds = list(range(8))
    welfare = objectives.mean_of("welfare")
    for _ in range(candidates // 8):
        thetas = leader.ask(8)
        values = []
        for theta in thetas:
            rollouts = simulate(frozen, [theta] * len(seeds), {Household: policy}, seeds)
            values.append(welfare(rollouts))
        leader.tell(thetas, values)
    return leader.best[0]


def compare(seeds: list[int], leader: str) -> None:
    for seed in seeds:
        folder = run_dir(seed, leader)
        policy = SB3Policy(PPO.load(folder / "policy.zip", device="cpu"))
        adage_theta = json.loads((folder / "summary.json").read_text())["theta"]
        policies = {
            "(a) free market": taxation.FREE_MARKET,
            "(b) US HSV": taxation.US_SCHEDULE,
            "(c) naive (frozen households)": naive_tax(policy, seed),
            "(d) ADAGE": adage_theta,
        }
        make = taxation.TaxationModel
        outs = {name: outcomes(make, theta, policy) for name, theta in policies.items()}
        base = outs["(a) free market"]
        for name, theta in policies.items():
            out = outs[name]
            row = {
                "seed": seed,
                "leader": leader,
                "policy": name,
                "theta": theta,
                **out,
                "ce_gain": taxation.consumption_equivalent(out, base),
            }
            harness.record(harness.RESULTS / "taxation_compare.jsonl", row)


def zeroshot(steps: int, seed: int = 0) -> None:
    """One policy trained on a grid of taxes, tested off the grid, against retrained ones."""
    kwargs = {**taxation.PPO_SETTINGS, "learning_rate": LinearSchedule(1e-3, 1e-4, 1.0)}
    grid = Categorical(points=5)  # tau in {0, .25, .5, .75, 1} x xi in {0, .125, .25, .375, .5}
    make = taxation.TaxationModel
    start = time.perf_counter()
    conditional = SB3Policy(
        train(make, Household, grid, steps, algo=PPO, seed=seed, n_copies=4, **kwargs)
    )
    trained_s = time.perf_counter() - start
    unseen = [{"tau": 0.35, "xi": 0.06}, {"tau": 0.1, "xi": 0.3}, {"tau": 0.6, "xi": 0.2}]
    for theta in unseen:
        start = time.perf_counter()
        specialist = SB3Policy(
            train(make, Household, Fixed(theta), steps, algo=PPO, seed=seed, n_copies=4, **kwargs)
        )
        zero, retrained = outcomes(make, theta, conditional), outcomes(make, theta, specialist)
        row = {
            "theta": theta,
            "steps": steps,
            "zero_shot_welfare": zero["welfare"],
            "retrained_welfare": retrained["welfare"],
            "gap_ce": taxation.consumption_equivalent(zero, retrained),
            "conditional_train_s": round(trained_s, 1),
            "specialist_train_s": round(time.perf_counter() - start, 1),
        }
        harness.record(harness.RESULTS / "taxation_zeroshot.jsonl", row)


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("mode", choices=["run", "compare", "zeroshot", "table"])
    harness.add_seeds(parser, [0, 1, 2])
    parser.add_argument("--leader", default="gp")
    parser.add_argument("--steps", type=int, default=3_000_000, help="zeroshot: training steps")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.mode == "run":
        run(args.seeds, args.leader)
    elif args.mode == "table":
        print(harness.tables("taxation-policies", "taxation-rl", "taxation-zeroshot"))
    elif args.mode == "compare":
        compare(args.seeds, args.leader)
    else:
        zeroshot(args.steps)


if __name__ == "__main__":
    main()
