"""Calibration on harder data (issue 13): prices alone, mis-specified data, intervals.

Every job is one ``mesa_adage.examples.models.cobweb:calibration`` run at its default settings, with
the run's uncertainty report (200 bootstrap replicates). Two things are shared between jobs because
they do not depend on the target, so sharing them changes no number:

- the model's followers: the first job of each seed trains them; the others start from them
  (``followers_from``), as ``adage run --followers-from`` does;
- the producers of ``reference="model"`` data: three populations trained across the whole
  box per seed (:func:`mesa_adage.examples.models.cobweb.reference_policies`), pickled once.

    python benchmarks/trust.py run --variant full --set acceptance fresh --seeds 0 1 2
    python benchmarks/trust.py run --variant prices --set acceptance fresh --seeds 0 1 2
    python benchmarks/trust.py run --variant mis-naive --set default --seeds 0 1 2
    python benchmarks/trust.py table

``--workers 2`` runs two jobs side by side. Results are appended to
``benchmarks/results/trust.jsonl`` (a job already there is skipped).
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path

import harness
import torch

from mesa_adage import LeaderScheduler
from mesa_adage.examples.models import cobweb
from mesa_adage.seeds import FINAL, derive_seed

ROLE = "report"
"""Errors, intervals and fit on harder data; its acceptance set is development data."""

TARGET_SETS = {
    "acceptance": harness.ACCEPTANCE,
    "fresh": [
        {"lam": 0.432, "inertia": 0.844},
        {"lam": 0.244, "inertia": 0.183},
        {"lam": 0.537, "inertia": 0.581},
        {"lam": 0.389, "inertia": 0.679},
    ],
    "default": [cobweb.DEFAULT_TARGET],
}
"""The acceptance targets (those the settings were chosen on); four fresh targets drawn
uniformly from the box with ``numpy.random.default_rng(20261127)`` (rounded to 3 decimals)
before any setting of this issue was tried; and the demo's target."""
FRESH_SEED = 20261127
VARIANTS = {
    "full": {"series": "all"},
    "prices": {"series": "price", "statistics": ",".join(cobweb.MATCHED_STATISTICS)},
    "mis-specialist": {"series": "all", "reference": "specialist"},
    "mis-naive": {"series": "all", "reference": "naive"},
    "mis-adaptive": {"series": "all", "reference": "adaptive"},
    "mis-mix": {"series": "all", "reference": "mix"},
}
"""Each variant's options of :func:`mesa_adage.examples.models.cobweb.calibration`; ``--statistics``
replaces the statistics. ``prices`` keeps the statistics of full data (the "before");
``--statistics`` with ``PRICE_STATISTICS``' names is the "after", now the default for price-only
data."""
BOOTSTRAP = 200
RESULTS = harness.RESULTS / "trust.jsonl"
BLACK_IT = harness.RESULTS / "black_it.jsonl"
RUNS = harness.RUNS / "trust"


def job_name(variant: str, statistics: str | None, theta: dict, seed: int) -> str:
    stats = f"-stats={statistics}" if statistics else ""
    return f"{variant}{stats}-lam{theta['lam']}-eta{theta['inertia']}-seed{seed}"


def followers_source(seed: int) -> Path:
    """The run whose followers every job of ``seed`` starts from (it trains them)."""
    return RUNS / job_name("full", None, TARGET_SETS["acceptance"][0], seed)


def reference_file(seed: int) -> Path:
    return RUNS / f"reference-policies-seed{seed}.pkl"


def wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(5)


def reference(seed: int, train: bool) -> list:
    """The three trained populations of ``reference="model"`` data of run seed ``seed``."""
    path = reference_file(seed)
    if train and not path.exists():
        policies = cobweb.reference_policies({}, derive_seed(seed, 0, FINAL), "model")
        path.write_bytes(pickle.dumps(policies))
    wait_for(path)
    return pickle.loads(path.read_bytes())


def run_job(
    variant: str,
    statistics: str | None,
    target_set: str,
    theta: dict,
    seed: int,
    refresh: bool = False,
) -> dict:
    torch.set_num_threads(1)
    options = dict(VARIANTS[variant])
    if statistics:
        options["statistics"] = statistics
    experiment = cobweb.calibration(theta, **options)
    experiment = replace(experiment, bootstrap=BOOTSTRAP)
    name = job_name(variant, statistics, theta, seed)
    source = followers_source(seed)
    is_source = name == source.name
    if options.get("reference", "model") == "model":
        policies = reference(seed, train=is_source)
        data = partial(
            cobweb.observed_data,
            experiment.target_theta,
            reference="model",
            series=cobweb.check_series(options["series"]),
            policies=policies,
        )
        experiment = replace(experiment, data=data)
    if not is_source:
        wait_for(source / "summary.json")
    start = time.perf_counter()
    result = LeaderScheduler(
        experiment,
        RUNS / name,
        seed=seed,
        progress=False,
        followers_from=None if is_source else source,
        resume=refresh,  # a finished run: only its final re-ranking and report run again
    ).run()
    summary = json.loads((RUNS / name / "summary.json").read_text())
    report = summary["uncertainty"]
    return {
        "variant": variant,
        "statistics": statistics or "default",
        "set": target_set,
        "target": theta,
        "seed": seed,
        "theta": result.theta,
        "error": summary.get("error_fraction_of_range"),
        "intervals": report["intervals"],
        "covers": report.get("covers_target"),
        "identification": {k: v["status"] for k, v in report["identification"].items()},
        "rise_in_noise": {k: v["rise_in_noise"] for k, v in report["identification"].items()},
        "fit": report["fit"],
        "follower_estimates": report["follower_estimates"],
        "seconds": round(time.perf_counter() - start, 1),
        "borrowed_followers": not is_source,
        "bootstrap_intervals": report["bootstrap_intervals"],
        "estimator": "combined",
    }


def run(args: argparse.Namespace) -> None:
    RUNS.mkdir(parents=True, exist_ok=True)
    RESULTS.parent.mkdir(exist_ok=True)
    rows = harness.read_rows(RESULTS)
    done = {job_name(r["variant"], _stats(r), r["target"], r["seed"]) for r in rows}
    jobs = [
        (variant, args.statistics, target_set, theta, seed)
        for variant in args.variant
        for target_set in args.set
        for theta in TARGET_SETS[target_set]
        for seed in args.seeds
    ]
    if args.refresh:  # finish again the runs whose report predates the combined intervals
        old = {job_name(r["variant"], _stats(r), r["target"], r["seed"]): r for r in rows}
        stale = {
            name
            for name in (job_name(j[0], j[1], j[3], j[4]) for j in jobs)
            if (RUNS / name / "summary.json").exists()
            and old.get(name, {}).get("estimator") != "combined"
        }
        jobs = [j for j in jobs if job_name(j[0], j[1], j[3], j[4]) in stale]
    else:
        jobs = [j for j in jobs if job_name(j[0], j[1], j[3], j[4]) not in done]
        first = [("full", None, "acceptance", TARGET_SETS["acceptance"][0], s) for s in args.seeds]
        first = [j for j in first if job_name(j[0], j[1], j[3], j[4]) not in done]
        jobs = first + [j for j in jobs if j not in first]
    print(f"{len(jobs)} jobs", flush=True)
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_job, *job, refresh=args.refresh) for job in jobs]
        for job, future in zip(jobs, futures, strict=True):
            name = job_name(job[0], job[1], job[3], job[4])
            try:
                row = future.result()
            except Exception as err:  # report it, keep the other jobs going
                print(f"FAILED {name}: {err!r}", flush=True)
                continue
            if args.refresh:
                row["seconds"] = old.get(name, {}).get("seconds")  # the run's, not the re-finish's
            print(json.dumps(row), flush=True)
            rows = [
                r for r in rows if job_name(r["variant"], _stats(r), r["target"], r["seed"]) != name
            ]
            rows.append(row)
            RESULTS.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _stats(row: dict) -> str | None:
    return None if row["statistics"] == "default" else row["statistics"]


def main() -> None:
    parser = harness.parser(__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run")
    go.add_argument("--variant", nargs="+", choices=list(VARIANTS), default=["full"])
    go.add_argument("--set", nargs="+", choices=list(TARGET_SETS), default=["acceptance"])
    harness.add_seeds(go, [0, 1, 2])
    go.add_argument("--statistics", help="comma-separated statistics (default: the model's)")
    go.add_argument("--workers", type=int, default=2)
    go.add_argument("--refresh", action="store_true", help="re-finish done jobs (new report)")
    sub.add_parser("table")
    sub.add_parser("versus", help="ADAGE against black-it (benchmarks/black_it_baseline.py)")
    args = parser.parse_args()
    if args.command == "table":
        print(harness.tables("trust-summary", "trust-runs"))
    elif args.command == "versus":
        print(harness.tables("black-it-versus"))
    else:
        run(args)


if __name__ == "__main__":
    main()
