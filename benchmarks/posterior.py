"""Simulation-based calibration of a run's amortised posterior on the held-out cobweb targets.

A finished ``adage run calibration --posterior npe`` holds an estimator (``posterior/``). For
each held-out target (``protocol.heldout("cobweb")``'s runs, the first ``--runs``), a data
set the size of the run's observed data is played by one of the run's own followers at the
target (the member and the episode seeds come from the held-out run's seeds): data the model
can make, so the estimator alone is tested. The estimator answers each; a row records the
target, the posterior mean, the 90% credible interval, whether it covers the target and the
truth's rank among the posterior samples (uniform ranks: a calibrated posterior, as in
simulation-based calibration). Well-calibrated 90% intervals cover 85-95% of the targets.

Data made by the reference learners instead (the model's learners are not the data's) are the
harder test of issue 23, not made here.

    python benchmarks/posterior.py RUN_DIR [--runs 60]
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import harness
import numpy as np
import pandas as pd
import protocol
import torch

from mesa_adage import SB3Policy, simulate
from mesa_adage.analysis.posterior import load_estimator
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.run.record import RunRecord
from mesa_adage.seeds import data_seeds

ROLE = "report"
"""Coverage and width of the posterior's intervals on held-out targets; chooses nothing."""
RESULTS = harness.RESULTS / "posterior.jsonl"
"""One row per held-out target."""


def data_at(
    policy: SB3Policy, steps: int, target: dict[str, float], seeds: list[int]
) -> pd.DataFrame:
    """A data set played at ``target`` by ``policy``'s producers, one episode per seed."""
    model = partial(CobwebModel, horizon=steps)
    played = simulate(model, [target] * len(seeds), {Producer: policy}, seeds)
    return pd.concat([r.frame.reset_index().assign(episode=i) for i, r in enumerate(played)])


def main() -> None:
    cli = harness.parser(__doc__)
    cli.add_argument("run_dir", type=Path, help="a run folder made with --posterior npe")
    cli.add_argument("--runs", type=int, default=60, help="held-out targets (first N)")
    args = cli.parse_args()
    torch.set_num_threads(1)
    harness.header("torch single-threaded", f"run {args.run_dir}")
    estimator = load_estimator(args.run_dir)
    summary = estimator.summary
    record = RunRecord(args.run_dir)
    config = record.read_config("RUN_DIR", "pass a run folder")
    policies = record.load_policies(config["algo"])
    runs = protocol.heldout("cobweb")["runs"][: args.runs]
    for index, run in enumerate(runs):
        target = run["target"]
        seeds = data_seeds(run["reference_seed"], summary.episodes)
        policy = policies[run["seed"] % len(policies)]
        frame = data_at(policy, summary.steps, target, seeds)
        frame = frame[["episode", "step", *summary.columns]]
        start = time.perf_counter()
        samples = estimator.sample(frame, f"held-out run {index}")
        seconds = time.perf_counter() - start
        report = estimator.report(samples, target)
        protocol.record(
            RESULTS,
            {
                "index": index,
                "target": target,
                "run_dir": str(args.run_dir),
                "simulations": estimator.simulations,
                "episodes": summary.episodes,
                "warmup_steps": config["timescales"]["warmup_steps"],
                "followers": len(policies),
                "mean": report["mean"],
                "interval": report["credible_intervals"],
                "covers": report["covers_target"],
                "rank": {n: float(np.mean(samples[n] < target[n])) for n in estimator.names},
                "seconds": round(seconds, 3),
            },
        )
    rows = [r for r in harness.read_rows(RESULTS) if r["run_dir"] == str(args.run_dir)][
        -len(runs) :
    ]
    for name in estimator.names:
        covered = np.mean([r["covers"][name] for r in rows])
        width = np.mean([np.diff(r["interval"][name])[0] for r in rows])
        print(f"{name}: 90% intervals cover {covered:.0%} of {len(rows)}, mean width {width:.3f}")


if __name__ == "__main__":
    main()
