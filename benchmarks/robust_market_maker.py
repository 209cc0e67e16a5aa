"""Robust learning on the market maker: one conditional policy against specialists, and the
distribution leader against uniform sampling of omega.

    python benchmarks/robust_market_maker.py claim --seeds 31 32 33
    python benchmarks/robust_market_maker.py leader --seeds 31 32 33
    python benchmarks/robust_market_maker.py margin --seeds 41 42 43

``claim``: one policy trained once on omega drawn evenly from {0, .25, .5, .75, 1} against five
specialists, each trained on one omega (with ``--specialist-steps`` each; the conditional one
gets ``--conditional-steps`` in all). Both are scored on the same 16 fresh episodes per omega;
the conditional policy's spread, volume and final PnL per omega go to a plot.

``leader``: ``mesa_adage.examples.models.market_maker:robust`` (the worst-case distribution leader)
against the same run with the coverage leader started from uniform weights, which keeps them uniform
(uniform sampling). Each run's final policy is scored at every omega on fresh episodes.

``margin``: the setting of the learning test (``tests/test_market_maker.py``): PPO for 20,000
steps over the grid, against uniformly random quotes, on 8 episodes at omega 0, 0.5 and 1.

Results are appended to ``benchmarks/results/robust_market_maker.jsonl``; the plot is written to
``benchmarks/results/market_maker_behaviour.png``.
"""

from __future__ import annotations

import time

import harness
import numpy as np
from matplotlib.figure import Figure
from stable_baselines3 import PPO

from mesa_adage import LeaderScheduler, SB3Policy, simulate, train
from mesa_adage.examples.agents.market_maker import MarketMaker
from mesa_adage.examples.models.market_maker import (
    OMEGA_GRID,
    PPO_SETTINGS,
    MarketMakerModel,
    best_constant_return,
    mean_return,
    robust,
)
from mesa_adage.inner.policies import RandomPolicy
from mesa_adage.samplers import Categorical, Fixed, Sampler

ROLE = "select"
"""``margin`` measures the learning test's threshold; ``claim`` and ``leader`` report,
but move to a script of their own before they read the held-out set."""

TEST_SEEDS = range(500, 516)


def score(policy: SB3Policy) -> dict[str, list[float]]:
    """Mean return, spread, volume and final PnL at each omega of the grid, fresh episodes."""
    out: dict[str, list[float]] = {"return": [], "spread": [], "volume": [], "pnl": []}
    for omega in OMEGA_GRID:
        thetas = [{"omega": omega}] * len(TEST_SEEDS)
        rollouts = simulate(MarketMakerModel, thetas, {MarketMaker: policy}, TEST_SEEDS)
        out["return"].append(mean_return(rollouts))
        out["spread"].append(float(np.mean([r.frame["spread"].iloc[1:].mean() for r in rollouts])))
        out["volume"].append(float(np.mean([r.frame["volume"].iloc[1:].mean() for r in rollouts])))
        out["pnl"].append(float(np.mean([r.frame["pnl"].iloc[-1] for r in rollouts])))
    return out


def market_maker(sampler: Sampler, steps: int, seed: int) -> SB3Policy:
    """A market maker trained with PPO (its settings) on omega drawn from ``sampler``."""
    ppo = train(MarketMakerModel, MarketMaker, sampler, steps, algo=PPO, seed=seed, **PPO_SETTINGS)
    return SB3Policy(ppo)


def claim(seed: int, conditional_steps: int, specialist_steps: int) -> dict:
    t0 = time.perf_counter()
    cond = score(market_maker(Categorical(5), conditional_steps, seed))
    special = []
    for omega in OMEGA_GRID:
        specialist = market_maker(Fixed({"omega": omega}), specialist_steps, seed)
        special.append(score(specialist)["return"][OMEGA_GRID.index(omega)])
    return {
        "conditional": cond,
        "specialists": special,
        "conditional_steps": conditional_steps,
        "specialist_steps_total": specialist_steps * len(OMEGA_GRID),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def leader(seed: int) -> dict:
    out = {}
    for name, spec in (
        ("worst_case", robust("worst_case")),
        ("uniform", robust("coverage")),
    ):
        result = LeaderScheduler(spec, seed=seed, progress=False).run()
        scored = score(result.policy)
        weights = list(result.theta.values())
        entropy = -sum(w * np.log(w) for w in weights if w > 0) / np.log(len(weights))
        out[name] = {"weights": weights, "coverage": entropy, **scored}
    out["reference"] = best_constant_return(OMEGA_GRID)  # what the worst margin is taken from
    return out


def margin(seed: int) -> dict:
    policy = market_maker(Categorical(5), 20_000, seed)
    random = RandomPolicy(MarketMaker.action_space, 0)
    out = {}
    for omega in (0.0, 0.5, 1.0):
        thetas, seeds = [{"omega": omega}] * 8, range(100, 108)
        trained = mean_return(simulate(MarketMakerModel, thetas, {MarketMaker: policy}, seeds))
        baseline = mean_return(simulate(MarketMakerModel, thetas, {MarketMaker: random}, seeds))
        out[str(omega)] = {"trained": trained, "random": baseline, "margin": trained - baseline}
    return out


def plot(records: list[dict]) -> None:
    fig = Figure(figsize=(10, 3))
    axes = fig.subplots(1, 3)
    for record in records:
        cond = record["conditional"]
        for ax, key in zip(axes, ("spread", "volume", "pnl"), strict=True):
            ax.plot(OMEGA_GRID, cond[key], "o-", label=f"seed {record['seed']}")
    for ax, title in zip(
        axes, ("quoted spread (bid + ask)", "units traded per step", "final PnL"), strict=True
    ):
        ax.set_xlabel("omega (weight on market share)")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=8)
    harness.save_figure(fig, "market_maker_behaviour.png")


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("mode", choices=("claim", "leader", "margin"))
    harness.add_seeds(parser, [31, 32, 33])
    parser.add_argument("--conditional-steps", type=int, default=200_000)
    parser.add_argument("--specialist-steps", type=int, default=100_000)
    args = parser.parse_args()
    harness.header()
    records = []
    for seed in args.seeds:
        if args.mode == "claim":
            record = claim(seed, args.conditional_steps, args.specialist_steps)
        elif args.mode == "leader":
            record = leader(seed)
        else:
            record = margin(seed)
        record |= {"mode": args.mode, "seed": seed}
        records.append(record)
        harness.record(harness.RESULTS / "robust_market_maker.jsonl", record)
    if args.mode == "claim":
        plot(records)


if __name__ == "__main__":
    main()
