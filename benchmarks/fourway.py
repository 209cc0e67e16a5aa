"""Four ways to calibrate the cobweb, side by side on the same data (issue 23).

For each of the first ``--targets`` held-out cobweb runs (``protocol.heldout("cobweb")``), one
data set: 128 episodes of the calibration's horizon made at the run's target by its three
populations of reference learners (``posterior.data_for("reference", ...)``), with the series
of the posterior run folder's estimator (all three, or the price alone). Every arm answers that
same data set:

- ``gp``: today's calibration, ``adage run calibration --data CSV --followers-from RUN_DIR``
  (the GP leader, 10 epochs of 12 candidates, 200 bootstrap replicates widened by the
  followers' spread). It borrows the posterior run's followers, so the GP and the posterior
  read one follower population and the GP's cost is its leader epochs and its report.
- ``posterior``: NPE on the theta-conditioned followers, as this commit trains it from the run
  folder's 500 saved simulations (``posterior.current_estimator``; ``--estimator shipped``:
  the run's own ``estimator.pt``). Its one-off cost is the run's simulations and the
  training, paid once for every answer.
- ``heuristic``: the same NPE code (``train``, the same summary and box) trained on as many
  data sets of the same shape simulated by the heuristic cobweb, adaptive-expectations
  producers whose inertia is theta's (``heuristic_market``): ``sbi`` on the traditional model.
- ``black-it``: the heuristic cobweb calibrated by black-it (``black_it_baseline.py --data``,
  in black-it's own environment: ``--black-it-python``), its 18 standard moments, Halton,
  random forest and best-batch samplers. A point, no interval. Its standard budget is 120
  evaluations (15,360 episodes per answer), a quarter of the posterior's one-off 64,000
  (500 simulations of 128 episodes). ``--black-it-evaluations 500`` matches that budget: rounded
  up to whole batches of 12, 42 batches, 504 evaluations, 64,512 episodes per answer. The
  matched-budget arm answers the first 10 held-out targets (``--targets 10``), a number fixed
  before any of its answers was seen, for its cost (about four minutes per answer).

Point answers are posterior means (the two NPE arms) or the best candidate (GP, black-it);
intervals are 90%. A row per arm and target records the answer, the interval, the seconds of
the answer, the arm's one-off seconds and the simulated episodes it spent. ``--development``
answers the development runs instead (smoke runs), into ``fourway_development.jsonl``.

    python benchmarks/fourway.py RUN_DIR [--targets 20] [--arms gp posterior heuristic black-it]
    python benchmarks/fourway.py RUN_DIR --development --targets 2 --data model
    python benchmarks/fourway.py RUN_DIR --arms black-it --targets 10 --black-it-evaluations 500
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import harness
import numpy as np
import pandas as pd
import posterior
import protocol
import torch

from mesa_adage import Characteristics, Param
from mesa_adage.analysis.posterior import (
    DEFAULT_SIMULATIONS,
    Estimator,
    Summary,
    load_estimator,
    train,
)
from mesa_adage.examples.models.cobweb_market import heuristic_market
from mesa_adage.outer.statistics import episodes
from mesa_adage.run.conclusion import UNCERTAINTY_CANDIDATES
from mesa_adage.run.record import RunRecord

ROLE = "report"
"""Error, coverage, width and cost of four calibrations on held-out targets; chooses nothing."""
RESULTS = harness.RESULTS / "fourway.jsonl"
"""One row per arm and held-out target."""
DEVELOPMENT_RESULTS = harness.RESULTS / "fourway_development.jsonl"
"""Smoke runs on development targets: never reported."""
ARMS = ("gp", "posterior", "heuristic", "black-it")
HEURISTIC_SEED = 0
"""Seed of the heuristic simulations' thetas and episodes, and of its estimator's training."""
HEURISTIC_EPISODE_SEEDS = 2_000_000_000
"""First episode seed of the heuristic simulations, data set ``i`` episode ``j`` at
``+ i * episodes + j``: far from the data's seeds (``data_seeds``)."""
BLACK_IT_PYTHON = Path("/tmp/bi/bin/python")
BLACK_IT_BATCHES, BLACK_IT_BATCH_SIZE = 10, 12
"""black-it's budget per answer: its standard 10 batches of 12 evaluations, each a data set of
the data's shape (as ``black_it_baseline.py``), unless ``--black-it-batches`` says otherwise."""
SPANS = {"lam": 0.9, "inertia": 0.9}
"""The widths of the cobweb box: errors and widths are in % of them."""
PROFILE_POINTS = 15
"""The calibration's profile points per parameter (``cobweb.calibration``), which the GP arm's
run plays besides its candidates."""


def shape_of(run_dir: Path) -> tuple[Summary, Characteristics]:
    """The run's summary (as its estimator's: ``Summary.of`` its objective) and its box.

    Read from ``config.json`` and ``observed.csv``, which a run writes first, so the arms that
    do not need the finished estimator can start before the run's posterior is built.
    """
    config = json.loads((run_dir / "config.json").read_text())
    kwargs = config["objective"]["kwargs"]
    observed = pd.read_csv(run_dir / "observed.csv")
    shape = episodes(observed, kwargs["columns"][0]).shape
    summary = Summary(tuple(kwargs["columns"]), tuple(kwargs["statistics"]), *map(int, shape))
    space = Characteristics(
        *(Param(c["name"], c["low"], c["high"]) for c in config["characteristics"])
    )
    return summary, space


def heuristic_estimator(
    summary: Summary, space: Characteristics, simulations: int
) -> tuple[Estimator, float]:
    """NPE trained on the heuristic cobweb: ``simulations`` data sets of ``summary``'s shape.

    Thetas are drawn uniformly from the box, as the followers' simulations draw theta; the
    producers forecast adaptively with theta's inertia.

    Returns:
        The estimator and the seconds its simulations took (training is in the estimator).
    """
    lows = np.array([p.low for p in space.params])
    highs = np.array([p.high for p in space.params])
    rng = np.random.default_rng(HEURISTIC_SEED)
    thetas = lows + (highs - lows) * rng.random((simulations, len(space)))
    start = time.perf_counter()
    xs = []
    for i, theta in enumerate(thetas):
        first = HEURISTIC_EPISODE_SEEDS + i * summary.episodes
        seeds = list(range(first, first + summary.episodes))
        at = space.to_dict(theta)
        frame = heuristic_market(at["lam"], at["inertia"], "adaptive", seeds, horizon=summary.steps)
        frame = frame[["episode", "step", *summary.columns]]
        xs.append(summary.vector(summary.check(frame, "a heuristic simulation")))
    seconds = time.perf_counter() - start
    return train(space, summary, thetas, np.stack(xs), HEURISTIC_SEED), seconds


def npe_fields(estimator: Estimator, frame: pd.DataFrame, target: dict) -> dict[str, Any]:
    """An NPE arm's answer: the posterior mean, its 90% interval, a refusal if any."""
    found = posterior.answer(estimator, frame, target, None)
    if found["refused"] is not None:
        return {
            "point": None,
            "interval": None,
            "refused": found["refused"],
            "warned": None,
            "in_prior": None,
            "seconds": found["seconds"],
        }
    return {
        "point": found["mean"],
        "interval": found["interval"],
        "refused": None,
        "warned": found["warned"],
        "in_prior": found["in_prior"],
        "seconds": found["seconds"],
    }


def gp_fields(run_dir: Path, csv: Path, out: Path) -> dict[str, Any]:
    """Today's calibration of the data in ``csv``, borrowing the run's followers.

    Borrowed followers must be the source run's seed's (``--followers-from``), so the run
    takes that seed.
    """
    seed = json.loads((run_dir / "config.json").read_text())["seed"]
    adage = Path(sys.executable).with_name("adage")
    command = [
        str(adage),
        "run",
        "calibration",
        "--data",
        str(csv),
        "--followers-from",
        str(run_dir),
        "--seed",
        str(seed),
        "--quiet",
        "--out",
        str(out),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    summary = json.loads((out / "summary.json").read_text())
    config = json.loads((out / "config.json").read_text())
    timescales = config["timescales"]
    # Episodes the run played: every candidate, the re-ranked finalists, the profile's points,
    # the report's further candidates (at most), and the goodness of fit's fresh episodes.
    points = (
        summary["candidates_evaluated"]
        + timescales["final_top_k"]
        + PROFILE_POINTS * len(SPANS)
        + UNCERTAINTY_CANDIDATES
        - timescales["final_top_k"]
    )
    played = points * timescales["eval_rollouts"] + len(pd.read_csv(csv)["episode"].unique())
    return {
        "point": summary["theta"],
        "interval": summary["uncertainty"]["intervals"],
        "refused": None,
        "warned": None,
        "in_prior": None,
        "seconds": round(seconds, 1),
        "run_seconds": summary["wall_seconds_this_session"],
        "episodes_at_most": int(played),
        "fit_p": summary["uncertainty"]["fit"].get("p_value"),
    }


def black_it_batches(evaluations: int | None, batches: int) -> int:
    """black-it's batches: enough whole batches for ``evaluations`` when given, else ``batches``.

    Raises:
        ValueError: If ``evaluations`` is given and is not positive.
    """
    if evaluations is None:
        return batches
    if evaluations < 1:
        raise ValueError(f"--black-it-evaluations must be at least 1, got {evaluations}")
    return -(-evaluations // BLACK_IT_BATCH_SIZE)


def black_it_fields(csv: Path, seed: int, python: Path, batches: int) -> dict[str, Any]:
    """black-it's answer to the data in ``csv`` (run in its own environment), with its loss."""
    script = Path(__file__).with_name("black_it_baseline.py")
    command = [
        str(python),
        str(script),
        "--data",
        str(csv),
        "--seed",
        str(seed),
        "--batches",
        str(batches),
        "--batch-size",
        str(BLACK_IT_BATCH_SIZE),
    ]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "point": found["theta"],
        "interval": None,
        "refused": None,
        "warned": None,
        "in_prior": None,
        "seconds": round(seconds, 1),
        "evaluations": found["evaluations"],
        "batches": batches,
        "loss": found["loss"],
    }


def scored(fields: dict[str, Any], target: dict[str, float]) -> dict[str, Any]:
    """``fields`` with the point's error and the interval's width (% of range) and coverage."""
    point, interval = fields["point"], fields["interval"]
    error = covers = width = None
    if point is not None:
        error = {n: round(100 * abs(point[n] - target[n]) / s, 3) for n, s in SPANS.items()}
    if interval is not None:
        covers = {n: bool(interval[n][0] <= target[n] <= interval[n][1]) for n in SPANS}
        width = {n: round(100 * (interval[n][1] - interval[n][0]) / s, 3) for n, s in SPANS.items()}
    return {**fields, "error_pct": error, "covers": covers, "width_pct": width}


def run(args: Any) -> None:
    torch.set_num_threads(1)
    batches = black_it_batches(args.black_it_evaluations, args.black_it_batches)
    harness.header(
        "torch single-threaded",
        f"run {args.run_dir}",
        f"arms {args.arms}",
        f"black-it {batches} batches of {BLACK_IT_BATCH_SIZE}",
    )
    if args.development:
        runs, results, which = protocol.development("cobweb")["runs"], DEVELOPMENT_RESULTS, "dev"
    else:
        runs, results, which = protocol.heldout("cobweb")["runs"], RESULTS, "heldout"
    gp_targets = args.targets if args.gp_targets is None else args.gp_targets
    runs = runs[: gp_targets if args.arms == ["gp"] else args.targets]
    run_dir = args.run_dir.resolve()
    summary, space = shape_of(run_dir)
    one_off: dict[str, dict[str, Any]] = {
        "gp": {"seconds": 0.0, "episodes": 0},
        "black-it": {"seconds": 0.0, "episodes": 0},
    }
    estimators: dict[str, Estimator] = {}
    if "posterior" in args.arms:
        built = time.perf_counter()
        if args.estimator == "current":
            estimators["posterior"] = posterior.current_estimator(run_dir)
            train_seconds = time.perf_counter() - built
        else:
            estimators["posterior"] = load_estimator(run_dir)
            train_seconds = estimators["posterior"].train_seconds
        shipped = json.loads((run_dir / "summary.json").read_text())["posterior"]
        one_off["posterior"] = {
            "seconds": round(shipped["simulate_seconds"] + train_seconds, 1),
            "simulate_seconds": shipped["simulate_seconds"],
            "train_seconds": round(train_seconds, 1),
            "episodes": estimators["posterior"].simulations * summary.episodes,
            "widen": list(estimators["posterior"].widen),
            "estimator": args.estimator,
        }
    if "heuristic" in args.arms:
        built = time.perf_counter()
        estimators["heuristic"], simulate_seconds = heuristic_estimator(
            summary, space, DEFAULT_SIMULATIONS
        )
        one_off["heuristic"] = {
            "seconds": round(time.perf_counter() - built, 1),
            "simulate_seconds": round(simulate_seconds, 1),
            "train_seconds": round(estimators["heuristic"].train_seconds, 1),
            "episodes": estimators["heuristic"].simulations * summary.episodes,
            "widen": list(estimators["heuristic"].widen),
        }
    followers = None
    if args.data == "model":
        record = RunRecord(run_dir)
        config = record.read_config("RUN_DIR", "pass a run folder")
        followers = record.load_policies(config["algo"])
    common = {
        "set": which,
        "data": args.data,
        "variant": "prices" if summary.columns == ("price",) else "full",
        "run_dir": str(args.run_dir),
        "targets": args.targets,
        "gp_targets": gp_targets,
    }
    print(f"one-off: {json.dumps(one_off)}", flush=True)
    shaped = SimpleNamespace(summary=summary)  # data_for reads the estimator's summary only
    with tempfile.TemporaryDirectory(prefix="fourway-") as folder:
        for index, held in enumerate(runs):
            frame, _ = posterior.data_for(args.data, held, shaped, followers)
            csv = Path(folder) / f"data-{index}.csv"
            frame.to_csv(csv, index=False)
            target = held["target"]
            for arm in args.arms:
                if arm in estimators:
                    fields = npe_fields(estimators[arm], frame, target)
                    per_answer = 0
                elif arm == "gp":
                    if index >= gp_targets:
                        continue
                    fields = gp_fields(run_dir, csv, Path(folder) / f"gp-{index}")
                    per_answer = fields["episodes_at_most"]
                else:
                    fields = black_it_fields(csv, held["seed"], args.black_it_python, batches)
                    per_answer = fields["evaluations"] * summary.episodes
                row = {"arm": arm, **common, "index": index, "target": target}
                row.update(scored(fields, target))
                row.update(
                    one_off_seconds=one_off[arm]["seconds"],
                    one_off=one_off[arm],
                    episodes_per_answer=per_answer,
                    episodes_one_off=one_off[arm]["episodes"],
                )
                protocol.record(results, row)
                print(f"{index} {arm}: {row['seconds']} s", flush=True)


def main() -> None:
    cli = harness.parser(__doc__)
    cli.add_argument("run_dir", type=Path, help="a run folder made with --posterior npe")
    cli.add_argument("--targets", type=int, default=20, help="held-out targets (the first N)")
    cli.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    cli.add_argument(
        "--gp-targets",
        type=int,
        help="the GP arm answers only the first N of the targets (its runs take minutes each)",
    )
    cli.add_argument(
        "--data",
        choices=["reference", "model"],
        default="reference",
        help="who makes the data (posterior.data_for): the held-out run's reference learners, "
        "or (cheap, for smoke runs) one of the run's own followers",
    )
    cli.add_argument(
        "--development",
        action="store_true",
        help="answer the development runs instead, into fourway_development.jsonl (smoke runs)",
    )
    cli.add_argument(
        "--estimator",
        choices=["current", "shipped"],
        default="current",
        help="the posterior arm's estimator: trained by this commit from the run's saved "
        "simulations (posterior.current_estimator), or the run's own estimator.pt",
    )
    cli.add_argument("--black-it-python", type=Path, default=BLACK_IT_PYTHON)
    cli.add_argument("--black-it-batches", type=int, default=BLACK_IT_BATCHES)
    cli.add_argument(
        "--black-it-evaluations",
        type=int,
        help="black-it's budget per answer in evaluations, rounded up to whole batches "
        "(overrides --black-it-batches; 500 matches the posterior's one-off episodes)",
    )
    run(cli.parse_args())


if __name__ == "__main__":
    main()
