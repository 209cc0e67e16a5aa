"""Scenario generation on the market entrance game: the calm Tobin tax and the stress search.

    python benchmarks/entrance.py                  # the held-out seeds: the rows RESULTS reports
    python benchmarks/entrance.py --development    # the development seeds, for sizing budgets
    python benchmarks/entrance.py --development --quick --seeds 552908155   # a smoke run

For each seed (``protocol.heldout("entrance")``, or ``protocol.development("entrance")`` with
``--development``), ``mesa_adage.examples.models.entrance:calm`` and ``:stress`` run. Every
score below plays the set's 16 episode seeds with the run's own final traders:

- **Calm against a dense grid.** The calm answer against :data:`CALM_GRID` (26 ``tau`` over
  [0, 0.5], steps of 0.02), each with volatility of returns, mean absolute percentage change,
  volume, crashes per 100 periods and the calm objective.
- **Stress against a dense grid.** The stress answer against :data:`STRESS_GRID` (6 x 6 over
  ``tau`` and ``demand_shock``), scored with the stress run's traders and the stress objective.
- **Whether the run said so.** Each run's ``search_fell_short`` (``summary.json``): the point it
  scored itself (re-rank or profile) that beat its answer, or None.
- **Zero-shot against retrained.** At ``tau`` 0.15 and 0.35, traders retrained there alone with
  the warm-up's budget and schedule (the same steps, model copies, PPO settings and learning
  rate, annealed from ``follower_lr`` to ``follower_lr_final``) against the conditional ones.

Rows go to ``benchmarks/results/entrance.jsonl`` through ``protocol.record`` (with the commit);
held-out run folders to ``benchmarks/runs/heldout/entrance/``. The price paths under no tax, the
calm ``tau`` and the stress theta of the first held-out seed go to
``benchmarks/results/entrance_price_paths.png``. ``--quick`` trains 20k steps and records
nothing: it only checks that the script runs.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import harness
import numpy as np
import protocol
from matplotlib.figure import Figure
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage import Experiment, LeaderScheduler, SB3Policy, simulate, train
from mesa_adage.examples.agents.trader import Trader
from mesa_adage.examples.models.entrance import (
    PPO_SETTINGS,
    EntranceModel,
    StressedEntranceModel,
    calm,
    calm_objective,
    stress,
    stress_objective,
)
from mesa_adage.outer import objectives
from mesa_adage.samplers import Fixed

ROLE = "report"
"""The calm and stress answers and the zero-shot comparison; their budgets are sized on the
development seeds (``--development``), not on the held-out ones."""

RESULTS = harness.RESULTS / "entrance.jsonl"
CALM_GRID = np.linspace(0.0, 0.5, 26).round(4).tolist()
"""Steps of 0.02 in tau: fine enough to judge an answer within 5% of the optimum."""
STRESS_GRID = [
    {"tau": float(t), "demand_shock": float(d)}
    for t in np.linspace(0.0, 0.5, 6).round(4)
    for d in np.linspace(0.5, 2.0, 6).round(4)
]
ZERO_SHOT_TAUS = (0.15, 0.35)
QUICK_STEPS = 20_000


def measure(
    policy: SB3Policy, episodes: list[int], theta: dict[str, float], model=EntranceModel
) -> dict[str, float]:
    """Every statistic the tables show, at ``theta``, over the episodes ``episodes``."""
    rollouts = simulate(model, [theta] * len(episodes), {Trader: policy}, episodes)
    return {
        **theta,
        "volatility": objectives.volatility("price")(rollouts),
        "mapc": objectives.mean_abs_pct_change("price")(rollouts),
        "volume": float(objectives.episodes(rollouts, "volume")[:, 1:].mean()),
        "crashes_per_100": objectives.crash_frequency("price")(rollouts),
        "calm": calm_objective(rollouts),
        "stress": stress_objective(rollouts),
        "return": float(np.mean([r.returns["Trader"] for r in rollouts])),
    }


def shrink(experiment: Experiment, quick: bool) -> Experiment:
    if not quick:
        return experiment
    timescales = replace(experiment.timescales, warmup_steps=QUICK_STEPS)
    return replace(experiment, timescales=timescales)


def run(seed: int, episodes: list[int], runs: Path, quick: bool) -> dict:
    t0 = time.perf_counter()
    calm_spec, stress_spec = shrink(calm(), quick), shrink(stress(), quick)
    quiet = LeaderScheduler(calm_spec, runs / f"entrance-calm-seed{seed}", seed=seed)
    calm_result = quiet.run()
    loud = LeaderScheduler(stress_spec, runs / f"entrance-stress-seed{seed}", seed=seed)
    stress_result = loud.run()
    policy, stress_policy = calm_result.policy, stress_result.policy
    calm_tau = calm_result.theta["tau"]
    stress_theta = dict(stress_result.theta)
    ts = calm_spec.timescales
    schedule = LinearSchedule(ts.follower_lr, ts.follower_lr_final, 1.0)  # the warm-up's
    retrained = []
    for tau in ZERO_SHOT_TAUS:
        specialist = train(
            EntranceModel,
            Trader,
            Fixed({"tau": tau}),
            ts.warmup_steps,
            algo=PPO,
            seed=seed,
            n_copies=calm_spec.n_copies,
            learning_rate=schedule,
            **PPO_SETTINGS,
        )
        retrained.append(
            {
                "conditional": measure(policy, episodes, {"tau": tau}),
                "retrained": measure(SB3Policy(specialist), episodes, {"tau": tau}),
            }
        )
    stressed = StressedEntranceModel
    return {
        "seed": seed,
        "episode_seeds": [episodes[0], episodes[-1]],
        "calm_tau": calm_tau,
        "calm_evaluations": len(quiet.leader.history),
        "calm_fell_short": calm_result.search_fell_short,
        "stress_theta": stress_theta,
        "stress_evaluations": len(loud.leader.history),
        "stress_fell_short": stress_result.search_fell_short,
        "budget": {
            "leaders": {"calm": calm_spec.leader, "stress": stress_spec.leader},
            "epochs": calm_spec.epochs,
            "candidates": ts.candidates,
            "final_top_k": ts.final_top_k,
            "profile_points": {
                "calm": calm_spec.profile_points,
                "stress": stress_spec.profile_points,
            },
            "warmup_steps": ts.warmup_steps,
        },
        "specialist_learning_rate": [ts.follower_lr, ts.follower_lr_final],
        "baseline": measure(policy, episodes, {"tau": 0.0}),
        "at_calm": measure(policy, episodes, {"tau": calm_tau}),
        "at_stress": measure(stress_policy, episodes, stress_theta, stressed),
        "stress_baseline": measure(
            stress_policy, episodes, {"tau": 0.0, "demand_shock": 1.0}, stressed
        ),
        "grid": [measure(policy, episodes, {"tau": tau}) for tau in CALM_GRID],
        "stress_grid": [measure(stress_policy, episodes, theta, stressed) for theta in STRESS_GRID],
        "zero_shot": retrained,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def plot(record: dict, runs: Path) -> None:
    seed = record["seed"]
    calm_policy = SB3Policy(PPO.load(runs / f"entrance-calm-seed{seed}" / "policy.zip"))
    stress_policy = SB3Policy(PPO.load(runs / f"entrance-stress-seed{seed}" / "policy.zip"))
    fig = Figure(figsize=(12, 3))
    axes = fig.subplots(1, 3, sharey=True)
    cases = (
        ("no tax", EntranceModel, {"tau": 0.0}, calm_policy),
        ("calm", EntranceModel, {"tau": record["calm_tau"]}, calm_policy),
        ("stress", StressedEntranceModel, record["stress_theta"], stress_policy),
    )
    for ax, (name, model, theta, policy) in zip(axes, cases, strict=True):
        for rollout in simulate(model, [theta] * 3, {Trader: policy}, [0, 1, 2]):
            ax.plot(rollout.frame["price"], lw=0.8)
        label = ", ".join(f"{k} = {v:.3g}" for k, v in theta.items())
        ax.set_title(f"{name}: {label}", fontsize=9)
        ax.set_xlabel("period")
    axes[0].set_ylabel("price")
    harness.save_figure(fig, "entrance_price_paths.png")


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument(
        "--development", action="store_true", help="the development seeds (for smoke runs)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="a subset of the set's seeds")
    harness.add_quick(parser, f"{QUICK_STEPS} training steps, no rows recorded")
    args = parser.parse_args()
    if args.development:
        sets, runs, name = protocol.development("entrance"), harness.RUNS, "development"
    else:
        sets, runs, name = protocol.heldout("entrance"), protocol.HELDOUT_RUNS, "heldout"
    if args.quick:  # never a folder a full run would resume
        runs = Path(tempfile.mkdtemp(prefix="entrance-quick-"))
    seeds = args.seeds or sets["seeds"]
    if not set(seeds) <= set(sets["seeds"]):
        parser.error(f"--seeds {seeds} are not all {name} entrance seeds {sets['seeds']}")
    harness.header()
    for i, seed in enumerate(seeds):
        record = {"set": name, **run(seed, sets["episode_seeds"], runs, args.quick)}
        if args.quick:
            print(record["seconds"], "s:", record["calm_tau"], record["stress_theta"], flush=True)
            continue
        protocol.record(RESULTS, record)
        if i == 0 and not args.development:
            plot(record, runs)


if __name__ == "__main__":
    main()
