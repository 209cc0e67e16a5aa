"""Taxation policy design: the policies side by side, zero-shot adaptation, and the RL leader.

    python benchmarks/taxation.py run --seeds 0 1 2              # ADAGE runs (GP leader)
    python benchmarks/taxation.py run --seeds 0 --leader rl      # the RL leader on the same task
    python benchmarks/taxation.py compare --seeds 0 1 2          # the four-policy table
    python benchmarks/taxation.py fair                           # the same, households alike
    python benchmarks/taxation.py fair --development --quick     # a smoke run of it
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

``compare`` scores every tax with the ADAGE run's own households, which spent their last 3M
agent-steps with half their episodes drawn near the run's incumbent tax (``Timescales.focus``
0.5), so they are better trained at ADAGE's answer than at the US schedule (issue 22, item 6).
``fair`` removes that advantage. On each held-out taxation seed (``protocol.heldout``; the
development seeds with ``--development``) it runs ADAGE as ``run`` does, then a second run that
differs only in ``focus`` = 0: the same warm-up, then the same 10 phases of 300k agent-steps at
the same learning rate, with theta uniform over the box throughout. Those uniform households
score every tax on the set's 16 evaluation episodes: (a)-(d) as above, (e) the uniform run's
own answer, and (f) the best point of an 11 x 11 grid of ``(tau, xi)``, chosen on 8 other
episodes. The ADAGE run's own households score (a)-(d) on the same episodes, so the size of
their advantage shows beside the fair figures. A run's warm-up is borrowed from
``games.py``'s run on that seed when there is one: it was trained with the same settings and
seed, so it equals the warm-up the run would train.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import harness
import numpy as np
import pandas as pd
import protocol
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
"""The policy comparisons and the zero-shot test; chooses nothing."""

COLUMNS = ("welfare", "gdp", "gini_income", "gini_wealth", "revenue", "mean_labour")
SCORED = (*COLUMNS, "consumption_utility", "labour_disutility")
"""What :func:`outcomes` averages: the table's columns and the parts of welfare a consumption
equivalent needs."""
EVAL_SEEDS = list(range(90_000, 90_016))
GRID = 11
"""Values of tau and of xi on the grid of static taxes (:func:`grid_optimum`)."""
FAIR_RESULTS = harness.RESULTS / "taxation_fair.jsonl"
FAIR_DEVELOPMENT = harness.RESULTS / "taxation_fair_development.jsonl"
WARMUPS = protocol.HELDOUT_RUNS / "games"
"""``games.py``'s held-out runs, whose warm-ups ``fair`` borrows."""


def run_dir(seed: int, leader: str) -> Path:
    return harness.RUNS / f"tax-{leader}-seed{seed}"


def outcomes(make, theta: dict, policy, episodes: list[int] = EVAL_SEEDS) -> dict[str, float]:
    """Per-period means of the economy's reporters (:data:`SCORED`) at a static ``theta``.

    Args:
        make: The model factory.
        theta: The tax, held for the whole episode.
        policy: The households' policy.
        episodes: The episodes' seeds.
    """
    rollouts = simulate(make, [theta] * len(episodes), {Household: policy}, episodes)
    frame = pd.concat([r.frame for r in rollouts])
    return {c: float(frame[c].mean()) for c in SCORED}


def grid_optimum(make, policy, episodes: list[int], points: int = GRID) -> dict[str, float]:
    """The static tax of highest welfare on a ``points`` x ``points`` grid over the box.

    Args:
        make: The model factory.
        policy: The households' policy.
        episodes: The seeds every grid point is scored on; keep them apart from those the
            answer is then reported on.
        points: Values of each parameter, ends included.
    """
    axis = {p.name: np.linspace(p.low, p.high, points) for p in taxation.TAX_THETA.params}
    grid = [{"tau": float(t), "xi": float(x)} for t in axis["tau"] for x in axis["xi"]]
    return max(grid, key=lambda theta: outcomes(make, theta, policy, episodes)["welfare"])


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


def fair_runs(seed: int, folder: Path, quick: bool) -> dict[str, tuple[object, float]]:
    """The ADAGE run on ``seed`` and its twin trained uniformly: ``{name: (result, seconds)}``.

    The twin differs only in ``Timescales.focus`` = 0: its households see theta uniform over
    the box in every phase, at the same budget and learning rates as the ADAGE run's.
    """
    design = taxation.policy_design()
    if quick:  # a smoke run's budget: a few seconds of training, two epochs
        small = {"warmup_steps": 20_000, "follower_steps": 4_000, "candidates": 4}
        small |= {"eval_rollouts": 2, "final_top_k": 2}
        design = replace(design, epochs=2, profile_points=0,
                         timescales=replace(design.timescales, **small))  # fmt: skip
    uniform = replace(design, timescales=replace(design.timescales, focus=0.0))
    warmup = WARMUPS / f"simultaneous-seed{seed}"
    lender = warmup if warmup.exists() and not quick else None
    done = {}
    for name, experiment in (("adage", design), ("uniform", uniform)):
        start, where = time.perf_counter(), folder / f"{name}-seed{seed}"
        result = LeaderScheduler(
            experiment,
            where,
            seed=seed,
            progress=False,
            followers_from=lender,
            resume=where.exists(),
        ).run()
        done[name] = (result, time.perf_counter() - start)
        lender = lender or where  # the twin starts from the very warm-up the ADAGE run had
    return done


def fair_set(development: bool, quick: bool) -> tuple[list[int], list[int], Path, Path]:
    """``fair``'s seeds, evaluation episodes, results file and run folder.

    Args:
        development: Read the development set (and write apart); otherwise the held-out set.
        quick: A smoke run at a tiny budget on the first development seed, two episodes.
    """
    if quick and not development:
        raise ValueError("--quick is a smoke run: it reads the development set (--development)")
    if development:
        sets, results = protocol.development("taxation"), FAIR_DEVELOPMENT
        folder = harness.RUNS / ("taxation-fair-quick" if quick else "taxation-fair")
    else:
        sets, results = protocol.heldout("taxation"), FAIR_RESULTS
        folder = protocol.HELDOUT_RUNS / "taxation-fair"
    seeds, episodes = sets["seeds"], sets["episode_seeds"]
    if quick:
        seeds, episodes = seeds[:1], episodes[:2]
    return seeds, episodes, results, folder


def choosing(seed: int, quick: bool) -> list[int]:
    """The episodes the grid's points are scored on: apart from the evaluation episodes."""
    return [seed * 1000 + i for i in range(2 if quick else 8)]


def fair(development: bool, quick: bool) -> None:
    """Every tax scored with households trained alike (uniform over the box), and with ADAGE's."""
    seeds, episodes, results, folder = fair_set(development, quick)
    harness.header("torch single-threaded", "quick" if quick else "full budget")
    for seed in seeds:
        done = fair_runs(seed, folder, quick)
        for name, (result, seconds) in done.items():
            row = {"seed": seed, "run": name, "theta": result.theta,
                   "objective": result.objective, "seconds": round(seconds, 1),
                   "search_fell_short": result.search_fell_short}  # fmt: skip
            protocol.record(results, row)
        make = taxation.policy_design().make_model
        candidates, points = (8, 3) if quick else (48, GRID)
        adage, uniform = done["adage"][0], done["uniform"][0]
        for label, policy in (("uniform", uniform.policy), ("adage run", adage.policy)):
            taxes = {
                "(a) free market": taxation.FREE_MARKET,
                "(b) US HSV": taxation.US_SCHEDULE,
                "(c) naive (frozen households)": naive_tax(policy, seed, candidates),
                "(d) ADAGE": adage.theta,
            }
            if label == "uniform":
                found = grid_optimum(make, policy, choosing(seed, quick), points)
                taxes |= {"(e) ADAGE, uniform households": uniform.theta}
                taxes |= {"(f) best of the grid": found}
            outs = {name: outcomes(make, theta, policy, episodes) for name, theta in taxes.items()}
            for name, theta in taxes.items():
                ce = taxation.consumption_equivalent(outs[name], outs["(a) free market"])
                row = {"seed": seed, "households": label, "policy": name, "theta": theta,
                       **outs[name], "ce_gain": ce}  # fmt: skip
                protocol.record(results, row)


def own_households(development: bool, quick: bool, steps: int) -> None:
    """The second fair reading: each tax scored with households trained at that tax alone.

    After ``fair``, on its seeds: for the free market, the US schedule and ADAGE's answer, a
    specialist population trained ``steps`` agent-steps at that fixed tax (as ``zeroshot``'s
    specialists, from scratch), scored on the same episodes; the CE gain is over the free
    market's own specialists.
    """
    seeds, episodes, results, folder = fair_set(development, quick)
    harness.header("torch single-threaded", f"specialists {steps} agent-steps")
    make = taxation.policy_design().make_model
    kwargs = {**taxation.PPO_SETTINGS, "learning_rate": LinearSchedule(1e-3, 1e-4, 1.0)}
    for seed in seeds:
        answer = json.loads((folder / f"adage-seed{seed}" / "summary.json").read_text())["theta"]
        taxes = {
            "(a) free market": taxation.FREE_MARKET,
            "(b) US HSV": taxation.US_SCHEDULE,
            "(d) ADAGE": answer,
        }
        outs, spent = {}, {}
        for name, theta in taxes.items():
            start = time.perf_counter()
            learner = train(
                make, Household, Fixed(theta), steps, algo=PPO, seed=seed, n_copies=4, **kwargs
            )
            outs[name] = outcomes(make, theta, SB3Policy(learner), episodes)
            spent[name] = round(time.perf_counter() - start, 1)
        for name, theta in taxes.items():
            ce = taxation.consumption_equivalent(outs[name], outs["(a) free market"])
            row = {"seed": seed, "households": "own", "policy": name, "theta": theta,
                   **outs[name], "ce_gain": ce, "steps": steps, "seconds": spent[name]}  # fmt: skip
            protocol.record(results, row)


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
    parser.add_argument("mode", choices=["run", "compare", "fair", "zeroshot", "table"])
    harness.add_seeds(parser, [0, 1, 2], help="run, compare: the seeds (fair reads its set's)")
    parser.add_argument("--leader", default="gp")
    parser.add_argument(
        "--steps", type=int, default=3_000_000, help="zeroshot, fair --own: training steps"
    )
    parser.add_argument(
        "--development", action="store_true", help="fair: the development seeds, not held-out"
    )
    harness.add_quick(parser, "fair --development: one seed, two episodes, a tiny budget")
    parser.add_argument(
        "--own", action="store_true", help="fair, after it: each tax with its own households"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.mode == "run":
        run(args.seeds, args.leader)
    elif args.mode == "table":
        names = ("taxation-fair", "taxation-policies", "taxation-rl", "taxation-zeroshot")
        print(harness.tables(*names))
    elif args.mode == "compare":
        compare(args.seeds, args.leader)
    elif args.mode == "fair" and args.own:
        own_households(args.development, args.quick, 20_000 if args.quick else args.steps)
    elif args.mode == "fair":
        fair(args.development, args.quick)
    else:
        zeroshot(args.steps)


if __name__ == "__main__":
    main()
