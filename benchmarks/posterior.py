"""Simulation-based calibration of a run's amortised posterior on the held-out cobweb targets.

A finished ``adage run calibration --posterior npe`` holds an estimator (``posterior/``). For
each of the first ``--runs`` held-out cobweb runs (``protocol.heldout("cobweb")``), a data set
shaped like the run's observed data is made at the held-out target and the estimator answers
it. Who makes the data (``--data``):

- ``model``: one of the run's own followers (member ``seed % followers`` of the held-out run,
  episodes on its ``reference_seed``'s data seeds): data the model can make, so the estimator
  alone is tested. Well calibrated 90% intervals cover 85-95% of the targets, and the truth's
  rank among the posterior draws is uniform (simulation-based calibration, Talts et al. 2018).
- ``adaptive``: Hommes et al.'s adaptive-expectations forecasters at the target
  (``heuristic_market``), on the same episode seeds: a model the followers do not contain.
  The question is whether the estimator refuses or warns (its share of the posterior inside
  the prior box), and how wrong it is where it does neither.
- ``reference``: the calibration's own reference learners (``reference_policies``, three PPO
  populations trained from the held-out run's ``reference_seed``), as the calibration
  benchmarks make their data: learners, but not the run's followers. Costly (three trainings
  per run), so run on ``--reference-runs`` runs only; they are pickled under
  ``benchmarks/runs/heldout/``.
- ``specialist``: three PPO populations trained at the target alone (``reference_policies``
  with ``"specialist"``): learners who never saw another theta, which the model does not
  contain. As costly, so on the first ``--specialist-runs`` runs only; pickled alike.

A row records the target, the posterior mean, the 90% credible interval, whether it covers the
target, the truth's rank (the share of draws below it), the share of the estimator's posterior
inside the prior box, the goodness-of-fit test (``Estimator.fit_of``: p-values uniform for
data the model makes), and the seconds the answer took; a refused data set records the
refusal.
On the first ``--check-runs`` targets it also records the posterior predictive check
(``predictive_check``: 20 data sets played by the followers at posterior draws; it costs about
as many seconds as the followers take to play them, so not every target gets one).
A ``speed`` row per run records the followers' simulations per second and the training time
(from the run's ``summary.json``) and the wall time of ``adage posterior RUN --data CSV``.
``figure`` draws the rank histograms from the rows.

    python benchmarks/posterior.py run RUN_DIR [RUN_DIR ...] [--runs 60] [--data model adaptive]
    python benchmarks/posterior.py figure
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import harness
import numpy as np
import pandas as pd
import protocol
import torch

from mesa_adage import Characteristics, Param, SB3Policy, simulate
from mesa_adage.analysis.posterior import (
    LOW_IN_BOX,
    Estimator,
    load_estimator,
    load_simulations,
    predictive_check,
    train,
)
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models import cobweb
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.examples.models.cobweb_market import heuristic_market
from mesa_adage.run.record import RunRecord
from mesa_adage.seeds import data_seeds

ROLE = "report"
"""Coverage, ranks and flags of the posterior on held-out targets; chooses nothing."""
RESULTS = harness.RESULTS / "posterior.jsonl"
"""One ``answer`` row per run folder, data kind and held-out target; one ``speed`` row per run."""
FIGURE = "posterior_ranks.png"
"""The rank histograms, in ``benchmarks/results/``."""
DATA = ("model", "adaptive", "reference", "specialist")
BINS = 10
"""Bins of a rank histogram: 60 ranks give 6 a bin when uniform."""
CLI_REPEATS = 3
"""Timed calls of ``adage posterior`` per run (each a fresh process)."""


def space_of(estimator: Estimator) -> Characteristics:
    """The characteristics an estimator's box spans."""
    return Characteristics(
        *(Param(n, lo, hi) for n, (lo, hi) in zip(estimator.names, estimator.box, strict=True))
    )


def current_estimator(run_dir: Path, **options: Any) -> Estimator:
    """The run's estimator as this commit trains it: from the run's saved simulations, with
    ``train``'s defaults unless ``options`` say otherwise (the run's own ``estimator.pt`` may
    predate them)."""
    shipped = load_estimator(run_dir)
    thetas, xs, _ = load_simulations(run_dir)
    return train(space_of(shipped), shipped.summary, thetas, xs, shipped.seed, **options)


def variant(estimator: Estimator) -> str:
    """``"full"`` or ``"prices"``: what the estimator's data hold."""
    return "prices" if estimator.summary.columns == ("price",) else "full"


def played(policies: list[SB3Policy], steps: int, target: dict, seeds: list[int]) -> pd.DataFrame:
    """Episodes at ``target``, one per seed, split evenly between ``policies``' producers."""
    groups = np.array_split(np.arange(len(seeds)), len(policies))
    model = partial(CobwebModel, horizon=steps)
    frames = []
    for policy, group in zip(policies, groups, strict=True):
        chosen = [seeds[i] for i in group]
        rollouts = simulate(model, [target] * len(chosen), {Producer: policy}, chosen)
        frames += [r.frame.reset_index() for r in rollouts]
    return pd.concat([f.assign(episode=i) for i, f in enumerate(frames)], ignore_index=True)


def reference_learners(run: dict[str, Any], kind: str = "model") -> list[SB3Policy]:
    """The held-out run's three populations of reference learners (``kind`` ``"model"``:
    across the box; ``"specialist"``: at the target alone), trained once and pickled."""
    name = "reference" if kind == "model" else kind
    path = protocol.HELDOUT_RUNS / f"{name}-policies-{run['reference_seed']}.pkl"
    if not path.exists():
        policies = cobweb.reference_policies(run["target"], run["reference_seed"], kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(policies))
    return pickle.loads(path.read_bytes())


def data_for(
    kind: str, run: dict[str, Any], estimator: Estimator, followers: list[SB3Policy]
) -> tuple[pd.DataFrame, int | None]:
    """The data set of ``kind`` at the held-out run's target, and the follower who made it."""
    summary = estimator.summary
    seeds = data_seeds(run["reference_seed"], summary.episodes)
    member = None
    if kind == "model":
        member = run["seed"] % len(followers)
        frame = played([followers[member]], summary.steps, run["target"], seeds)
    elif kind == "adaptive":
        lam, inertia = run["target"]["lam"], run["target"]["inertia"]
        frame = heuristic_market(lam, inertia, "adaptive", seeds, horizon=summary.steps)
    elif kind == "specialist":
        frame = played(reference_learners(run, kind), summary.steps, run["target"], seeds)
    else:
        frame = played(reference_learners(run), summary.steps, run["target"], seeds)
    return frame[["episode", "step", *summary.columns]], member


def answer(
    estimator: Estimator,
    frame: pd.DataFrame,
    target: dict[str, float],
    followers: list[SB3Policy] | None,
) -> dict:
    """The estimator's answer to one data set, as a row's fields; a refusal is recorded.

    With ``followers``, the posterior predictive check too (``predictive_check``).
    """
    start = time.perf_counter()
    try:
        samples = estimator.sample(frame, "held-out data")
    except ValueError as err:
        return {"refused": str(err), "seconds": round(time.perf_counter() - start, 3)}
    report = estimator.report(samples, target)
    seconds = time.perf_counter() - start
    fit = estimator.fit_of(frame, "held-out data")
    check: dict[str, Any] = {"predictive_check": None}
    if followers is not None:
        begun = time.perf_counter()
        model = partial(CobwebModel, horizon=estimator.summary.steps)
        found = predictive_check(estimator, samples, frame, model, Producer, followers)
        check = {"predictive_check": {**found, "seconds": round(time.perf_counter() - begun, 2)}}
    return {
        **check,
        "refused": None,
        "warned": report["in_prior"] < LOW_IN_BOX,
        "fit": fit,
        "in_prior": report["in_prior"],
        "mean": report["mean"],
        "std": report["std"],
        "interval": report["credible_intervals"],
        "width": report["interval_share"],
        "covers": report["covers_target"],
        "rank": {n: float(np.mean(samples[n] < target[n])) for n in estimator.names},
        "seconds": round(seconds, 3),
    }


def cli_seconds(run_dir: Path, frame: pd.DataFrame) -> list[float]:
    """Wall times of ``adage posterior RUN_DIR --data CSV``, each a fresh process."""
    adage = Path(sys.executable).with_name("adage")
    times = []
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "data.csv"
        frame.to_csv(csv, index=False)
        for _ in range(CLI_REPEATS):
            start = time.perf_counter()
            subprocess.run(
                [str(adage), "posterior", str(run_dir), "--data", str(csv)],
                check=True,
                capture_output=True,
            )
            times.append(round(time.perf_counter() - start, 2))
    return times


def run(args: Any) -> None:
    torch.set_num_threads(1)
    harness.header("torch single-threaded", f"runs {[str(r) for r in args.run_dirs]}")
    heldout = protocol.heldout("cobweb")["runs"]
    for run_dir in args.run_dirs:
        estimator = current_estimator(run_dir)
        record = RunRecord(run_dir)
        config = record.read_config("RUN_DIR", "pass a run folder")
        followers = record.load_policies(config["algo"])
        common = {
            "run_dir": str(run_dir),
            "variant": variant(estimator),
            "simulations": estimator.simulations,
            "episodes": estimator.summary.episodes,
            "followers": len(followers),
            "warmup_steps": config["timescales"]["warmup_steps"],
            "widen": list(estimator.widen),
            "interval_kind": estimator.interval,
        }
        for kind in args.data:
            count = {"reference": args.reference_runs, "specialist": args.specialist_runs}.get(
                kind, args.runs
            )
            for index, held in enumerate(heldout[:count]):
                frame, member = data_for(kind, held, estimator, followers)
                checked = followers if index < args.check_runs else None
                fields = answer(estimator, frame, held["target"], checked)
                row = {"kind": "answer", **common, "data": kind, "index": index}
                row.update(target=held["target"], seed=held["seed"], member=member, **fields)
                protocol.record(RESULTS, row)
        frame, _ = data_for("model", heldout[0], estimator, followers)
        summary = json.loads((Path(run_dir) / "summary.json").read_text())["posterior"]
        protocol.record(
            RESULTS,
            {
                "kind": "speed",
                **common,
                "simulate_seconds": summary["simulate_seconds"],
                "simulations_per_second": round(
                    summary["simulations"] / summary["simulate_seconds"], 2
                ),
                "episodes_per_second": round(
                    summary["simulations"]
                    * estimator.summary.episodes
                    / summary["simulate_seconds"],
                    1,
                ),
                "train_seconds": summary["train_seconds"],
                "cli_seconds": cli_seconds(run_dir, frame),
            },
        )
    print(harness.tables("posterior-coverage", "posterior-speed"))
    figure()


def latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last answer row of each (variant, data, index): a rerun replaces its rows."""
    found = {(r["variant"], r["data"], r["index"]): r for r in rows if r["kind"] == "answer"}
    return list(found.values())


def figure() -> None:
    """Rank histograms of the well-specified answers, one panel per variant and parameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    rows = [r for r in latest(harness.read_rows(RESULTS)) if r["data"] == "model"]
    variants = sorted({r["variant"] for r in rows})
    names = ("lam", "inertia")
    fig, axes = plt.subplots(
        len(variants), len(names), figsize=(7, 2.6 * len(variants)), squeeze=False
    )
    for i, name_of_variant in enumerate(variants):
        mine = [r for r in rows if r["variant"] == name_of_variant and r["refused"] is None]
        n = len(mine)
        # The band a uniform count falls in with probability 0.99, bin by bin.
        low, high = stats.binom.interval(0.99, n, 1 / BINS)
        for j, name in enumerate(names):
            ax = axes[i][j]
            ranks = [r["rank"][name] for r in mine]
            ax.axhspan(low, high, color="0.85", label="99% band if uniform")
            ax.hist(ranks, bins=BINS, range=(0, 1), color="tab:blue", edgecolor="white")
            ax.axhline(n / BINS, color="0.4", lw=1)
            ax.set_title(f"{name_of_variant}: {name} ({n} held-out targets)", fontsize=9)
            ax.set_xlabel("share of posterior draws below the truth", fontsize=8)
            ax.set_ylabel("targets", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="upper left")
    harness.save_figure(fig, FIGURE)
    print(f"wrote {harness.RESULTS / FIGURE}")


def main() -> None:
    cli = harness.parser(__doc__)
    commands = cli.add_subparsers(dest="command", required=True)
    go = commands.add_parser("run", help="answer held-out data sets and record the rows")
    go.add_argument("run_dirs", type=Path, nargs="+", help="run folders made with --posterior")
    go.add_argument("--runs", type=int, default=60, help="held-out targets (the first N)")
    go.add_argument("--data", nargs="+", choices=DATA, default=["model", "adaptive"])
    go.add_argument(
        "--reference-runs",
        type=int,
        default=10,
        help="targets for --data reference (first N)",
    )
    go.add_argument(
        "--specialist-runs", type=int, default=10, help="targets for --data specialist (first N)"
    )
    go.add_argument(
        "--check-runs",
        type=int,
        default=15,
        help="targets whose answers get the posterior predictive check too (first N; each "
        "plays 20 data sets)",
    )
    commands.add_parser("figure", help="draw the rank histograms from the rows")
    args = cli.parse_args()
    if args.command == "run":
        run(args)
    else:
        figure()


if __name__ == "__main__":
    main()
