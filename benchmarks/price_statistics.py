"""Which statistics of the price series identify the cobweb's inertia? (issue 13)

With prices alone, the calibration can only tell two thetas apart through statistics of the
price series. For each candidate statistic this script measures, with the trained followers
of a finished calibration run, how the statistic's episode mean moves with ``lam`` and
``inertia`` (finite differences) against its standard error over 128 observed episodes. For a
*set* of statistics it combines them as the calibration's L2 distance does (each divided by
its spread across episodes) into the Fisher information of ``(lam, inertia)``, whose inverse
gives the expected standard error of each parameter, in % of its range, when the other is
unknown too. If the run folder's seed has pickled reference producers
(``benchmarks/trust.py``), the learner-to-learner bias is added: how far the data's producers
move the answer through that statistic set.

The design points are a 3 x 3 grid over the box, not the calibration's targets, so choosing
a set here does not tune on the targets it is judged on.

    python benchmarks/price_statistics.py --run benchmarks/runs/trust/full-lam0.3-eta0.2-seed0
"""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import harness
import numpy as np
import torch

from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models import cobweb
from mesa_adage.outer import objectives
from mesa_adage.outer.evaluator import Evaluator
from mesa_adage.run.record import RunRecord
from mesa_adage.seeds import EVAL, derive_seed

ROLE = "select"
"""Chooses the statistics of prices-only calibration."""

DESIGN = [{"lam": a, "inertia": b} for a in (0.2, 0.5, 0.8) for b in (0.15, 0.45, 0.75)]
STEP = {"lam": 0.05, "inertia": 0.05}
CANDIDATES = [s for s in objectives.STATISTICS if s != "path_mae"]
BASE = ["mean", "std", "autocorr", "mean_abs_change", "first"]
EARLY = ["second", "early_mean", "early_change"]
SETS = {
    "default+first": BASE,
    "+autocorr2,3": [*BASE, "autocorr2", "autocorr3"],
    "+early": [*BASE, *EARLY],
    "+early+autocorr2,3": [*BASE, *EARLY, "autocorr2", "autocorr3"],
    "best subset on seed 0": ["mean", "std", "autocorr2", "autocorr3", "first", "early_mean"],
}
OBSERVED = cobweb.OBSERVED_EPISODES
RESULTS = harness.RESULTS / "price_statistics-seed{seed}.json"


def statistics_at(evaluator: Evaluator, thetas: list[dict], policies: list) -> np.ndarray:
    """Per theta, per statistic: ``(mean, std across episodes)``, shape (thetas, stats, 2)."""
    groups = evaluator.rollouts(thetas, policies)
    out = np.empty((len(thetas), len(CANDIDATES), 2))
    for i, group in enumerate(groups):
        prices = objectives.episodes(group, "price")
        for j, name in enumerate(CANDIDATES):
            values = objectives.STATISTICS[name](prices)
            out[i, j] = values.mean(), values.std()
    return out


def points() -> list[dict]:
    """Every design point and its four neighbours (one parameter moved by +-STEP)."""
    out = []
    for centre in DESIGN:
        out.append(centre)
        for name, sign in itertools.product(STEP, (1, -1)):
            out.append({**centre, name: round(centre[name] + sign * STEP[name], 6)})
    return out


def jacobians(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per design point: d(mean)/d(theta) in units of the episode spread, and the spread."""
    per = 1 + 2 * len(STEP)
    jac, spread, centre = [], [], []
    for d in range(len(DESIGN)):
        block = stats[d * per : (d + 1) * per]
        sd = np.maximum(block[0, :, 1], 1e-6)
        cols = []
        for k, name in enumerate(STEP):
            up, down = block[1 + 2 * k, :, 0], block[2 + 2 * k, :, 0]
            cols.append((up - down) / (2 * STEP[name]) / sd)
        jac.append(np.stack(cols, axis=1))  # (stats, params)
        spread.append(sd)
        centre.append(block[0, :, 0])
    return np.array(jac), np.array(spread), np.array(centre)


def expected_errors(jac: np.ndarray, names: list[str], bias: np.ndarray | None) -> dict:
    """Expected standard error (and learner bias) of lam and inertia in % of range."""
    idx = [CANDIDATES.index(n) for n in names]
    spans = np.array([p.span for p in cobweb.COBWEB_THETA.params])
    se, shift = [], []
    for d in range(len(DESIGN)):
        j = jac[d][idx]  # per-episode sd units; the mean over n episodes has sd 1/sqrt(n)
        fisher = OBSERVED * j.T @ j
        cov = np.linalg.pinv(fisher)
        se.append(np.sqrt(np.diag(cov)) / spans * 100)
        if bias is not None:
            # the least-squares move of theta that the data's bias in these statistics causes
            move = np.linalg.lstsq(j, bias[d][idx], rcond=None)[0]
            shift.append(np.abs(move) / spans * 100)
    out = {
        "se_lam": float(np.mean([s[0] for s in se])),
        "se_eta": float(np.mean([s[1] for s in se])),
    }
    out["se_eta_max"] = float(np.max([s[1] for s in se]))
    if shift:
        out["bias_lam"] = float(np.mean([s[0] for s in shift]))
        out["bias_eta"] = float(np.mean([s[1] for s in shift]))
        out["bias_eta_max"] = float(np.max([s[1] for s in shift]))
    return out


def best_subsets(jac: np.ndarray, bias: np.ndarray, top: int = 8) -> list[dict]:
    """Every subset of at least 4 statistics, ranked by the worse parameter's expected error
    (standard error and learner bias combined): what a search over sets would pick."""
    ranked = []
    for k in range(4, len(CANDIDATES) + 1):
        for names in itertools.combinations(CANDIDATES, k):
            e = expected_errors(jac, list(names), bias)
            total = max(np.hypot(e["se_lam"], e["bias_lam"]), np.hypot(e["se_eta"], e["bias_eta"]))
            ranked.append({"statistics": list(names), "expected_error": float(total), **e})
    ranked.sort(key=lambda r: r["expected_error"])
    return ranked[:top]


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--run", type=Path, required=True, help="a finished calibration run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seed = json.loads((args.run / "config.json").read_text())["seed"]
    followers = RunRecord(args.run).load_policies(cobweb.PPO)
    seeds = [derive_seed(seed, 0, EVAL) + i for i in range(132)]
    evaluator = Evaluator(cobweb.CobwebModel, Producer, lambda r: 0.0, seeds)
    thetas = points()
    model = statistics_at(evaluator, thetas, followers)
    jac, spread, centre = jacobians(model)
    reference = harness.RUNS / "trust" / f"reference-policies-seed{seed}.pkl"
    bias = None
    if reference.exists():
        makers = pickle.loads(reference.read_bytes())
        data_seeds = [derive_seed(seed, 0, EVAL) + 10_000 + i for i in range(len(seeds))]
        data_eval = Evaluator(cobweb.CobwebModel, Producer, lambda r: 0.0, data_seeds)
        data = statistics_at(data_eval, DESIGN, makers)
        bias = (data[:, :, 0] - centre) / spread
    single = {
        name: {
            "d_mean/d_eta per 0.1 (se units)": float(
                np.mean(np.abs(jac[:, i, 1])) * 0.1 * np.sqrt(OBSERVED)
            ),
            "d_mean/d_lam per 0.1 (se units)": float(
                np.mean(np.abs(jac[:, i, 0])) * 0.1 * np.sqrt(OBSERVED)
            ),
            **(
                {"learner_bias (episode sd)": float(np.mean(np.abs(bias[:, i])))}
                if bias is not None
                else {}
            ),
        }
        for i, name in enumerate(CANDIDATES)
    }
    sets = {label: expected_errors(jac, names, bias) for label, names in SETS.items()}
    result = {"run": str(args.run), "seed": seed, "single": single, "sets": sets}
    if bias is not None:
        result["best_subsets"] = best_subsets(jac, bias)
    path = Path(str(RESULTS).format(seed=seed))
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
