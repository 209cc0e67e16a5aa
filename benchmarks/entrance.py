"""Scenario generation on the market entrance game: the calm Tobin tax and the stress search.

    python benchmarks/entrance.py --seeds 61 62 63

For each seed: ``mesa_adage.examples.models.entrance:calm`` and
``mesa_adage.examples.models.entrance:stress`` run (their run folders go to ``benchmarks/runs/``);
the calm run's trained traders are then scored on a grid of 16 fixed ``tau`` (16 fresh episodes
each, seeds 900-915): volatility of returns, mean absolute percentage change, volume and crashes per
100 periods. At two ``tau`` values (0.15, 0.35), traders retrained there alone (the same steps as
the warm-up) are scored against the conditional ones. Results are appended to
``benchmarks/results/entrance.jsonl``, and the price paths under no tax, the calm ``tau`` and the
stress theta (``tau`` and ``demand_shock``, with the stress run's traders) go to
``benchmarks/results/entrance_price_paths.png``.
"""

from __future__ import annotations

import time

import harness
import numpy as np
from matplotlib.figure import Figure
from stable_baselines3 import PPO

from mesa_adage import LeaderScheduler, SB3Policy, simulate, train
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
development seeds, not here."""

SEEDS = range(900, 916)
GRID = np.linspace(0.0, 0.5, 16).round(4).tolist()


def measure(policy, tau: float, model=EntranceModel, **theta: float) -> dict[str, float]:
    thetas = [{"tau": tau, **theta}] * len(SEEDS)
    rollouts = simulate(model, thetas, {Trader: policy}, SEEDS)
    return {
        "tau": tau,
        **theta,
        "volatility": objectives.volatility("price")(rollouts),
        "mapc": objectives.mean_abs_pct_change("price")(rollouts),
        "volume": float(objectives.episodes(rollouts, "volume")[:, 1:].mean()),
        "crashes_per_100": objectives.crash_frequency("price")(rollouts),
        "calm": calm_objective(rollouts),
        "stress": stress_objective(rollouts),
        "return": float(np.mean([r.returns["Trader"] for r in rollouts])),
    }


def run(seed: int) -> dict:
    t0 = time.perf_counter()
    calm_spec, stress_spec = calm(), stress()
    quiet = LeaderScheduler(calm_spec, harness.RUNS / f"entrance-calm-seed{seed}", seed=seed)
    calm_result = quiet.run()
    loud = LeaderScheduler(stress_spec, harness.RUNS / f"entrance-stress-seed{seed}", seed=seed)
    stress_result = loud.run()
    policy = calm_result.policy
    grid = [measure(policy, tau) for tau in GRID]
    calm_tau = calm_result.theta["tau"]
    stress_theta = dict(stress_result.theta)
    retrained = []
    for tau in (0.15, 0.35):
        specialist = train(
            EntranceModel,
            Trader,
            Fixed({"tau": tau}),
            calm_spec.timescales.warmup_steps,
            algo=PPO,
            seed=seed,
            n_copies=calm_spec.n_copies,
            **PPO_SETTINGS,
        )
        retrained.append(
            {"conditional": measure(policy, tau), "retrained": measure(SB3Policy(specialist), tau)}
        )
    return {
        "seed": seed,
        "calm_tau": calm_tau,
        "calm_evaluations": len(quiet.leader.history) + calm_spec.timescales.final_top_k,
        "stress_theta": stress_theta,
        "baseline": measure(policy, 0.0),
        "at_calm": measure(policy, calm_tau),
        "at_stress": measure(stress_result.policy, model=StressedEntranceModel, **stress_theta),
        "stress_baseline": measure(
            stress_result.policy, 0.0, model=StressedEntranceModel, demand_shock=1.0
        ),
        "grid": grid,
        "zero_shot": retrained,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def plot(record: dict, seed: int) -> None:
    runs = harness.RUNS
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
    harness.add_seeds(parser, [61, 62, 63])
    args = parser.parse_args()
    harness.header()
    for i, seed in enumerate(args.seeds):
        record = run(seed)
        harness.record(harness.RESULTS / "entrance.jsonl", record)
        if i == 0:
            plot(record, seed)


if __name__ == "__main__":
    main()
