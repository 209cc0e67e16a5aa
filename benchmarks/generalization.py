"""Generalisation tables: train on a sub-range of theta, score across the full range.

    python benchmarks/generalization.py market_maker --seeds 71 72 73
    python benchmarks/generalization.py cobweb --seeds 71 72 73

``market_maker``: one conditional market maker trained on ``omega`` in [0.3, 0.7] (200,000
steps), specialists at 11 values of ``omega`` over [0, 1] (60,000 steps each).
``cobweb``: producers trained on ``lam`` in [0.3, 0.7] (inertia over its whole range, 300,000
steps), specialists at 7 values of ``lam`` over [0.1, 1] (inertia at its default, 100,000 steps
each). Each seed's table goes to ``benchmarks/results/generalization.jsonl``, its plot to
``benchmarks/results/generalization_<case>_seed<seed>.png``.
"""

from __future__ import annotations

import time

import harness
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage import SB3Policy, train
from mesa_adage.analysis.generalization import generalization
from mesa_adage.examples.agents.market_maker import MarketMaker
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models import cobweb, market_maker
from mesa_adage.samplers import Uniform

ROLE = "report"
"""Generalisation tables; chooses nothing."""

CASES = {  # model, agent, trained range, settings, conditional steps, points, specialist steps
    "market_maker": (
        market_maker.MarketMakerModel,
        MarketMaker,
        {"omega": (0.3, 0.7)},
        market_maker.PPO_SETTINGS,
        200_000,
        11,
        60_000,
    ),
    "cobweb": (
        cobweb.CobwebModel,
        Producer,
        {"lam": (0.3, 0.7)},
        {**cobweb.PPO_SETTINGS, "learning_rate": LinearSchedule(*cobweb.LEARNING_RATE, 1.0)},
        300_000,
        7,
        100_000,
    ),
}


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("case", choices=sorted(CASES))
    harness.add_seeds(parser, [71, 72, 73])
    args = parser.parse_args()
    harness.header()
    make, agent, trained, settings, steps, points, special = CASES[args.case]
    low = {name: lo for name, (lo, _) in trained.items()}
    high = {name: hi for name, (_, hi) in trained.items()}
    for seed in args.seeds:
        t0 = time.perf_counter()
        model = train(make, agent, Uniform(low, high), steps, algo=PPO, seed=seed, **settings)
        report = generalization(
            make,
            agent,
            SB3Policy(model),
            train_range=trained,
            points=points,
            specialist_steps=special,
            algo="PPO",
            algo_kwargs=settings,
            seed=seed,
            progress=False,
        )
        folder = harness.RESULTS / f"generalization_{args.case}_seed{seed}"
        report.write(folder)
        record = {
            "case": args.case,
            "seed": seed,
            "conditional_steps": steps,
            "summary": report.summary(),
            "table": report.table.to_dict(orient="records"),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        harness.record(harness.RESULTS / "generalization.jsonl", record)


if __name__ == "__main__":
    main()
