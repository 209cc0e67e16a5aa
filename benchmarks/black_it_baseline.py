"""The traditional route (issue 13): a heuristic-agent cobweb calibrated with black-it.

The paper (ADAGE, arXiv 2501.09429) reports that ADAGE's cobweb calibration "reduced mean
absolute error by 35% compared to traditional methods". The traditional method is a
heuristic-agent model calibrated with a black-box sampler by the method of simulated moments,
as black-it does. Here that model is the same market
(:func:`mesa_adage.examples.models.cobweb_market.heuristic_market`) with adaptive-expectations
producers whose parameters are the calibration targets: supply steepness ``lam`` and the weight on
the last forecast ``inertia``. black-it calibrates it to the *same* observed data as each ADAGE run
of ``benchmarks/trust.py`` (its run folder's ``observed.csv``), at an equal budget of model
evaluations: ADAGE scores 120 candidates and re-scores its 5 best, each on 132 episodes; black-it
gets 10 batches of 12 evaluations (Halton, random forest and best-batch samplers in turn, black-it's
standard trio), each simulating as many episodes as the data hold.

The loss is black-it's method of simulated moments with the identity weighting, each moment
relative to the data's (``standardise_moments``): with one simulation per candidate, its
``inverse_variance`` weighting divides each moment's gap by itself and scores every candidate
the same. ``--moments black-it`` uses its standard 18 moments; ``--moments episodes`` uses
ADAGE's own statistics instead, so that only the model and the sampler differ.

black-it is AGPL-3.0 and pins gymnasium < 0.28, which conflicts with Stable-Baselines3, so it
lives in its own environment and this script imports nothing from ``mesa_adage`` (it loads
``models/cobweb_market.py``, which needs numpy and pandas only, by its file):

    python3.11 -m venv /tmp/bi && /tmp/bi/bin/pip install black-it==0.3.3
    /tmp/bi/bin/python benchmarks/black_it_baseline.py --jobs 'full-*' 'prices-lam*'

The episodes of one evaluation are concatenated into one long series (black-it's data are
one series per column), so its moments (mean, std, skew, kurtosis, autocorrelations at lags
1-5, of the levels and of the absolute changes) see the transients after every shock.
Results are appended to ``benchmarks/results/black_it.jsonl``. ``--data CSV`` calibrates one
data set and prints its answer as JSON instead (``benchmarks/fourway.py`` calls it so).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from fnmatch import fnmatch
from pathlib import Path

import harness
import numpy as np
import pandas as pd

heuristic_market = harness.load_file(harness.ROOT / "models" / "cobweb_market.py").heuristic_market

ROLE = "report"
"""The traditional route on the same data as trust.py's runs; chooses nothing."""

BOUNDS = [[0.1, 0.0], [1.0, 0.9]]
"""The box of ``(lam, inertia)``, as ``mesa_adage.examples.models.cobweb.COBWEB_THETA``."""
BATCHES, BATCH_SIZE = 10, 12
RUNS = harness.RUNS / "trust"
RESULTS = harness.RESULTS / "black_it.jsonl"


def model_for(columns: list[str], episodes: int, horizon: int):
    """black-it's model: ``(theta, N, seed) -> (N, columns)``, adaptive producers."""

    def model(theta: np.ndarray, n: int, seed: int) -> np.ndarray:
        seeds = [int(seed) * 1_000 + i for i in range(episodes)]
        frame = heuristic_market(
            float(theta[0]), float(theta[1]), "adaptive", seeds, horizon=horizon
        )
        return frame[columns].to_numpy()[:n]

    return model


def episode_moments(horizon: int):
    """ADAGE's per-episode statistics (mean, std, lag-1 autocorrelation, mean absolute change,
    first value), averaged over the episodes of a concatenated series, as black-it moments.

    The same formulas as ``mesa_adage.outer.objectives``, written out: that package cannot be
    imported next to black-it.
    """

    def moments(series: np.ndarray) -> np.ndarray:
        x = series.reshape(-1, horizon)
        d = x - x.mean(axis=1, keepdims=True)
        den = (d**2).sum(axis=1)
        acf = np.divide(
            (d[:, 1:] * d[:, :-1]).sum(axis=1), den, out=np.zeros(len(x)), where=den > 0
        )
        stats = [x.mean(1), x.std(1), acf, np.abs(np.diff(x, axis=1)).mean(1), x[:, 0]]
        return np.array([s.mean() for s in stats])

    return moments


def calibrate(folder: Path, seed: int, moments: str) -> dict:
    """black-it on a run folder's ``observed.csv``."""
    return calibrate_frame(pd.read_csv(folder / "observed.csv"), seed, moments)


def calibrate_frame(
    data: pd.DataFrame,
    seed: int,
    moments: str,
    batches: int = BATCHES,
    batch_size: int = BATCH_SIZE,
) -> dict:
    """black-it on one data set (``episode``, ``step`` and series columns): its answer."""
    # imported here so that --help works without black-it, which lives in its own environment
    from black_it.calibrator import Calibrator
    from black_it.loss_functions.msm import MethodOfMomentsLoss
    from black_it.samplers.best_batch import BestBatchSampler
    from black_it.samplers.halton import HaltonSampler
    from black_it.samplers.random_forest import RandomForestSampler
    from black_it.utils.time_series import get_mom_ts_1d

    columns = [c for c in data.columns if c not in ("episode", "step")]
    episodes = data["episode"].nunique()
    horizon = len(data) // episodes
    real = data[columns].to_numpy()
    calibrator = Calibrator(
        loss_function=MethodOfMomentsLoss(
            moment_calculator=get_mom_ts_1d if moments == "black-it" else episode_moments(horizon),
            standardise_moments=True,  # relative errors: columns and moments in other units
        ),
        real_data=real,
        model=model_for(columns, episodes, horizon),
        parameters_bounds=BOUNDS,
        parameters_precision=[0.0001, 0.0001],
        ensemble_size=1,
        samplers=[
            HaltonSampler(batch_size=batch_size),
            RandomForestSampler(batch_size=batch_size),
            BestBatchSampler(batch_size=batch_size),
        ],
        random_state=seed,
        n_jobs=1,
        verbose=False,
    )
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        params, losses = calibrator.calibrate(batches)
    return {
        "theta": {"lam": float(params[0][0]), "inertia": float(params[0][1])},
        "loss": float(losses[0]),
        "evaluations": len(losses),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--jobs", nargs="+", default=["*"], help="run folder name patterns")
    parser.add_argument("--runs", type=Path, default=RUNS, help="folder of the ADAGE runs")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--moments",
        choices=["black-it", "episodes"],
        default="black-it",
        help="black-it's 18 moments of the concatenated series, or ADAGE's per-episode ones",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="calibrate this one CSV instead, and print the answer as JSON (recording nothing: "
        "benchmarks/fourway.py records it)",
    )
    parser.add_argument("--seed", type=int, default=0, help="with --data: black-it's seed")
    parser.add_argument("--batches", type=int, default=BATCHES, help="with --data")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="with --data")
    args = parser.parse_args()
    if args.data is not None:
        frame = pd.read_csv(args.data)
        found = calibrate_frame(frame, args.seed, args.moments, args.batches, args.batch_size)
        print(json.dumps(found))
        return
    done = {r["job"] for r in harness.read_rows(args.results) if r["moments"] == args.moments}
    folders = sorted(
        f
        for f in args.runs.iterdir()
        if f.is_dir()
        and (f / "summary.json").exists()
        and any(fnmatch(f.name, p) for p in args.jobs)
        and f.name not in done
    )
    for folder in folders:
        summary = json.loads((folder / "summary.json").read_text())
        target = summary.get("target_theta")
        row = {
            "job": folder.name,
            "moments": args.moments,
            **calibrate(folder, summary["seed"], args.moments),
            "target": target,
        }
        if target is not None:
            spans = {"lam": 0.9, "inertia": 0.9}
            row["error"] = {k: abs(row["theta"][k] - target[k]) / spans[k] for k in spans}
        harness.record(args.results, row)


if __name__ == "__main__":
    main()
