"""The timescale question (issue 24): how to split a fixed budget between followers and leader.

ADAGE alternates a follower phase and a leader phase. At a fixed budget of follower training
(``B`` agent-steps) and of leader evaluations (36 candidates), a run chooses:

- the **warm-up**: a share ``w`` of ``B`` before the first leader epoch (theta uniform);
- the **follower steps per leader epoch**: the rest, ``(1 - w) B / E`` per epoch, near the
  leader's incumbent (``Timescales.focus``);
- the **candidates per epoch**: ``36 / E``.

Two factors are varied one at a time from a base (``w`` 0.75, ``E`` 6): the warm-up share
``w`` in {0.5, 0.75, 1.0} and the leader's epochs ``E`` in {3, 6, 12} (the timescale ratio:
more epochs means shorter follower phases and fewer candidates each). Each setting runs on
both tasks:

- **calibration** (the cobweb market, prices and forecasts): the error of the answer in % of
  each parameter's range, on the first 3 held-out cobweb runs (their target, run seed and
  reference learners, :mod:`protocol`); ``B`` = 2 followers x 300k, 48 episodes a
  candidate;
- **policy design** (the taxation economy): welfare at the answer, as a consumption-equivalent
  gain over the free market, on the 3 held-out taxation seeds (16 held-out episodes);
  ``B`` = 1.5M.

No bootstrap and no profile: only the answer is scored. Rows go to
``benchmarks/results/timescales.jsonl`` (a setting already there is skipped).

    python benchmarks/timescales.py [--task calibration policy-design] [--seeds 3]
"""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import replace
from functools import partial

import harness
import pandas as pd
import protocol
import torch

from mesa_adage import LeaderScheduler, simulate
from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.models import cobweb, taxation

ROLE = "report"
"""The quality of the answer under each split of the budget; chooses nothing."""
RESULTS = harness.RESULTS / "timescales.jsonl"
RUNS = protocol.HELDOUT_RUNS / "timescales"
CANDIDATES = 36
"""Leader evaluations in every setting."""
BASE = {"warmup_share": 0.75, "epochs": 6}
SETTINGS = [
    *({**BASE, "warmup_share": w} for w in (0.5, 0.75, 1.0)),
    *({**BASE, "epochs": e} for e in (3, 12)),
]
"""The base, then one factor at a time."""
EVAL_ROLLOUTS = 48
"""Episodes per calibration candidate (the spec's 132, cut for time; alike in every setting)."""
BUDGET = {"calibration": 600_000, "policy-design": 1_500_000}
"""Follower agent-steps ``B`` of each task (all followers together)."""


def timescales(base, budget: int, followers: int, setting: dict):
    """The task's timescales with the budget split as ``setting`` says."""
    share, epochs = setting["warmup_share"], setting["epochs"]
    per_follower = budget // followers
    warmup = int(share * per_follower)
    follower_steps = (per_follower - warmup) // epochs
    fields = {
        "warmup_steps": warmup,
        "follower_steps": follower_steps,
        "candidates": CANDIDATES // epochs,
        "followers": followers,
        "final_top_k": 3,
    }
    return replace(base, **fields), epochs


def calibration_run(run: dict, setting: dict) -> dict:
    """One held-out cobweb run at ``setting``: the error of the answer."""
    path = RUNS / f"reference-{run['reference_seed']}.pkl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        policies = cobweb.reference_policies({}, run["reference_seed"], "model")
        path.write_bytes(pickle.dumps(policies))
    policies = pickle.loads(path.read_bytes())
    experiment = cobweb.calibration(run["target"])
    data = partial(cobweb.observed_data, experiment.target_theta, reference="model",
                   series=cobweb.check_series("all"), policies=policies)  # fmt: skip
    ts, epochs = timescales(experiment.timescales, BUDGET["calibration"], 2, setting)
    ts = replace(ts, eval_rollouts=EVAL_ROLLOUTS)
    experiment = replace(experiment, data=data, timescales=ts, epochs=epochs, bootstrap=0,
                         profile_points=0, eval_tasks=1)  # fmt: skip
    result = LeaderScheduler(experiment, None, seed=run["seed"], progress=False).run()
    error = experiment.space.range_error(result.theta, experiment.target_theta)
    return {"theta": dict(result.theta), "target": run["target"], "error": error}


def policy_run(seed: int, episodes: list[int], setting: dict) -> dict:
    """One held-out taxation seed at ``setting``: welfare at the answer."""
    experiment = taxation.policy_design()
    ts, epochs = timescales(experiment.timescales, BUDGET["policy-design"], 1, setting)
    experiment = replace(experiment, timescales=ts, epochs=epochs, profile_points=0)
    result = LeaderScheduler(experiment, None, seed=seed, progress=False).run()
    make, policy = experiment.make_model, result.policy
    scores = {}
    for name, theta in (("answer", result.theta), ("free", taxation.FREE_MARKET)):
        rollouts = simulate(make, [theta] * len(episodes), {Household: policy}, episodes)
        frame = pd.concat(r.frame for r in rollouts)
        parts = ("welfare", "consumption_utility", "labour_disutility")
        scores[name] = {c: float(frame[c].mean()) for c in parts}
    ce = taxation.consumption_equivalent(scores["answer"], scores["free"])
    return {"theta": dict(result.theta), "welfare": scores["answer"]["welfare"], "ce_gain": ce}


def done() -> set[str]:
    rows = harness.read_rows(RESULTS) if RESULTS.exists() else []
    return {json.dumps([r["task"], r["seed"], r["setting"]], sort_keys=True) for r in rows}


def main() -> None:
    cli = harness.parser(__doc__)
    cli.add_argument("--task", nargs="+", default=["calibration", "policy-design"],
                     choices=["calibration", "policy-design"])  # fmt: skip
    cli.add_argument("--seeds", type=int, default=3, help="held-out runs per task (first N)")
    args = cli.parse_args()
    torch.set_num_threads(1)
    harness.header("torch single-threaded", f"tasks {args.task}")
    cobweb_runs = protocol.heldout("cobweb")["runs"][: args.seeds]
    tax = protocol.heldout("taxation")
    finished = done()
    for task in args.task:
        cases = cobweb_runs if task == "calibration" else tax["seeds"][: args.seeds]
        for setting in SETTINGS:
            for case in cases:
                seed = case["seed"] if task == "calibration" else case
                if json.dumps([task, seed, setting], sort_keys=True) in finished:
                    continue
                start = time.perf_counter()
                if task == "calibration":
                    out = calibration_run(case, setting)
                else:
                    out = policy_run(case, tax["episode_seeds"], setting)
                row = {"task": task, "seed": seed, "setting": setting, **out}
                protocol.record(RESULTS, {**row, "seconds": round(time.perf_counter() - start, 1)})


if __name__ == "__main__":
    main()
