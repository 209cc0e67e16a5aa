"""The fresh-episode check on the entrance game's run folders: does each answer hold?

    python benchmarks/entrance_confirmation.py                 # the held-out seeds
    python benchmarks/entrance_confirmation.py --development   # the development seeds

A run whose leader maximises over theta ends by scoring its answer, with its final followers,
on fresh episodes (``mesa_adage.analysis.confirmation``; the rule was chosen on the
development seeds by ``confirmation_select.py``; the fragility threshold, the share of
bootstrap resamples of the fresh episodes that may fall past the tolerance, by
``fragility_select.py``). The calm and stress run folders of
``entrance.py`` were made before the check existed. ``confirm_run_folder`` computes from a
folder what a run with the same seed computes at its end (the same answer, followers, seed
and episodes), so the check is applied here to the existing folders, without a new search.

Rows (the set, seed, task, answer and the check's finding) go to
``benchmarks/results/entrance_confirmation.jsonl`` through ``protocol.record``.
"""

from __future__ import annotations

import json
import time

import harness
import protocol

from mesa_adage.analysis.confirmation import (
    EPISODES_PER_OWN,
    MAX_FRAGILE_SHARE,
    RELATIVE,
    RESAMPLES,
    confirm_run_folder,
)
from mesa_adage.examples.models.entrance import calm, stress

ROLE = "report"
"""It applies the check, chosen on the development seeds, once to the held-out run folders."""

RESULTS = harness.RESULTS / "entrance_confirmation.jsonl"


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--development", action="store_true", help="the development seeds")
    args = parser.parse_args()
    if args.development:
        sets, runs, name = protocol.development("entrance"), harness.RUNS, "development"
    else:
        sets, runs, name = protocol.heldout("entrance"), protocol.HELDOUT_RUNS, "heldout"
    harness.header("serial executor")
    for seed in sets["seeds"]:
        for task, make in (("calm", calm), ("stress", stress)):
            folder = runs / f"entrance-{task}-seed{seed}"
            if not folder.is_dir():  # seeds 61-63 ran before run folders were kept
                continue
            t0 = time.perf_counter()
            finding = confirm_run_folder(folder, make())
            protocol.record(
                RESULTS,
                {
                    "set": name,
                    "seed": seed,
                    "task": task,
                    "theta": json.loads((folder / "summary.json").read_text())["theta"],
                    "rule": {
                        "relative": RELATIVE,
                        "episodes_per_own": EPISODES_PER_OWN,
                        "resamples": RESAMPLES,
                        "max_fragile_share": MAX_FRAGILE_SHARE,
                    },
                    **finding,
                    "seconds": round(time.perf_counter() - t0, 1),
                },
            )


if __name__ == "__main__":
    main()
