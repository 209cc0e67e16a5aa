"""The fresh-episode check's fragility threshold, chosen on the entrance development seeds.

    python benchmarks/fragility_select.py   # 2 cores shared, 2026-12-03: about 6 minutes

``mesa_adage.analysis.confirmation``: a run scores its answer on 32 fresh episodes and held it
when that objective was no worse than its own minus ``max(noise, 10%)`` (chosen by
``confirmation_select.py``). On held-out seed 824710887 that held for an answer at the calm
volume floor's edge (fresh -0.214, own -0.212) that scored -0.667 on the held-out episodes.
This check was designed after that miss was seen, so the held-out seeds are no independent
test of it; its settings are chosen here, on the development seeds only.

The fragility: bootstrap the fresh episodes (``B`` resamples with replacement, seeded from the
run seed), recompute the objective on each, and take the share of resamples more than the
tolerance below the own objective (``fragile_share``). The answer holds only if the fresh
objective is within the tolerance and ``fragile_share <= t``.

The points and the truth are ``confirmation_select.py``'s (its rows in
``benchmarks/results/confirmation_select.jsonl``): 169 points of the three development calm and
three stress runs (answers, profile points, a calm ``tau`` grid), each with its own objective;
a point holds if its objective on 64 further fresh episodes was within 5% of its own. Each
point is played again here on the check's 32 fresh episodes (the first 32 of the same
``CONFIRM`` stream, same followers), which are resampled; the truth's 64 are not played again.

The rule, written down before any held-out number with this check:

- **Candidates.** ``t`` in :data:`THRESHOLDS`, ``B`` in :data:`RESAMPLE_COUNTS` (the first
  ``B`` resamples of one stream of :data:`MAX_RESAMPLES`); the tolerance as the check's (10%,
  the noise 0 as in ``confirmation_select.py``).
- **Choice.** The most points that did not hold caught (fewest misses) with no more false
  alarms than the current rule (the fresh objective alone) has on these points; if no
  candidate qualifies, the fewest wrong verdicts. Ties go to the larger ``t`` (the fewer flags
  on points that held), then to the larger ``B`` (the steadier share; it costs no simulation).

Rows (one per point, then the choice) go to ``benchmarks/results/fragility_select.jsonl``.

What it chose (2026-12-03, 169 points, 156 of which held on the truth's episodes; every
point's fresh objective replayed to the last digit of ``confirmation_select.py``'s): ``t`` 50%
on 1000 resamples, no better than the fresh objective alone (no false alarm, 11 misses of 13).
No threshold caught more without a false alarm: 20% on 1000 caught one more (10 misses) and
flagged one point that held; 10% flagged 10 that held, 5% 17. The misses are calm points
already past the volume floor, whose penalty grew by more than 5% on the truth's episodes
(shares 0% to 23%), and stress points 5% to 8% worse on the truth's (shares 0% to 3%): a
bootstrap of the 32 episodes does not see these drops either. The one development point at
the floor's edge (calm 992768067, ``tau`` 0.25, some resamples under the floor, 5% quantile
-0.687 against -0.191) had a share of 19% and held on the truth's episodes; so did a stress
profile point with 32%.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

import harness
import numpy as np
import protocol
from confirmation_select import holds, tally

from mesa_adage.analysis.confirmation import (
    LOW_QUANTILE,
    RELATIVE,
    answer_held,
    fragile_share,
    fresh_seeds,
    resample_objectives,
    resample_seed,
)
from mesa_adage.examples.models.entrance import calm, stress
from mesa_adage.outer.evaluator import Evaluator
from mesa_adage.run.record import RunRecord
from mesa_adage.seeds import EVAL, episode_seeds

ROLE = "select"
"""It chooses the fragility check's threshold and resample count."""

RESULTS = harness.RESULTS / "fragility_select.jsonl"
POINTS = harness.RESULTS / "confirmation_select.jsonl"
THRESHOLDS = (0.05, 0.10, 0.20, 0.30, 0.40, 0.50)
RESAMPLE_COUNTS = (200, 1000)
MAX_RESAMPLES = max(RESAMPLE_COUNTS)
EPISODES = 32


def replay(task: str, seed: int, rows: list[dict]) -> list[dict]:
    """Each point of one run on the check's fresh episodes: its objective and its resamples."""
    experiment = {"calm": calm, "stress": stress}[task]()
    folder = harness.RUNS / f"entrance-{task}-seed{seed}"
    evaluator = Evaluator(
        experiment.make_model,
        experiment.agent_type,
        experiment.objective,
        episode_seeds(seed, EVAL, experiment.timescales.eval_rollouts),
        min_tasks=experiment.eval_tasks,
    )
    policies = RunRecord(folder).load_policies(experiment.algo)
    thetas = [experiment.space.validate(r["theta"], complete=True) for r in rows]
    values, groups = evaluator.score(thetas, policies, seeds=fresh_seeds(seed, EPISODES))
    out = []
    for row, value, group in zip(rows, values, groups, strict=True):
        resampled = resample_objectives(
            experiment.objective, group, resample_seed(seed), MAX_RESAMPLES
        )
        tolerance = RELATIVE * abs(row["own"])
        out.append(
            {
                "seed": seed,
                "task": task,
                "source": row["source"],
                "theta": row["theta"],
                "own": row["own"],
                "fresh": float(value),
                "fresh_recorded": row[f"fresh_{EPISODES}"],
                "truth": row["truth"],
                "tolerance": tolerance,
                "fragile_share": {
                    str(b): fragile_share(resampled[:b], row["own"], tolerance)
                    for b in RESAMPLE_COUNTS
                },
                "low_quantile": float(np.quantile(resampled, LOW_QUANTILE)),
            }
        )
    return out


def verdicts(rows: list[dict], threshold: float | None, resamples: int) -> dict:
    """False alarms and misses of the check with fragility (``threshold``; None: without)."""
    held = [
        answer_held(r["own"], r["fresh"], EPISODES, relative=RELATIVE)["held"]
        and (threshold is None or r["fragile_share"][str(resamples)] <= threshold)
        for r in rows
    ]
    return {
        "threshold": threshold,
        "resamples": resamples if threshold is not None else None,
        **tally(rows, held),
    }


def main() -> None:
    parser = harness.parser(__doc__)
    parser.parse_args()
    protocol.development("entrance")
    points = [r for r in harness.read_rows(POINTS) if r.get("kind") == "point"]
    harness.header("torch single-threaded per process; serial executor")
    by_run: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in points:
        by_run[(r["seed"], r["task"])].append(r)
    rows = []
    for (seed, task), run_points in by_run.items():
        t0 = time.perf_counter()
        found = replay(task, seed, run_points)
        for row in found:
            protocol.record(RESULTS, {"kind": "point", **row})
        rows += found
        drift = max(abs(r["fresh"] - r["fresh_recorded"]) for r in found)
        print(
            f"# {task} {seed}: {len(found)} points, fresh objective within {drift:.2g} of "
            f"confirmation_select's, {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    current = verdicts(rows, None, 0)
    table = [verdicts(rows, t, b) for b in RESAMPLE_COUNTS for t in THRESHOLDS]
    print(json.dumps(current))
    for t in table:
        print(json.dumps(t))
    allowed = [t for t in table if t["false_alarms"] <= current["false_alarms"]]
    best = (
        min(allowed, key=lambda t: (t["misses"], -t["threshold"], -t["resamples"]))
        if allowed
        else min(table, key=lambda t: (t["wrong"], -t["threshold"], -t["resamples"]))
    )
    truly = sum(map(holds, rows))
    protocol.record(
        RESULTS,
        {"kind": "choice", "points": len(rows), "points_that_held": truly, "current": current,
         "table": table, "chosen": best},
    )  # fmt: skip
    print("chosen:", json.dumps(best))


if __name__ == "__main__":
    main()
