"""Choose how the posterior's estimator is trained, on the development cobweb runs (issue 23).

On the held-out targets the 90% credible intervals covered 78-85% (RESULTS section 16): too
narrow. The candidates cross how the four training restarts are combined (``best``: the one with
the best validation loss, as shipped; ``ensemble``: all four as an equal mixture) with a
widening measured on the run's own simulations by cross-fitting (``folds`` 0: none; 5: each
simulation answered by an estimator trained on the other four fifths; see
``mesa_adage.analysis.posterior.train``). Each is trained from a run
folder's saved simulations (nothing is simulated again) and answers data sets at the first
``--runs`` development targets, made as ``posterior.py`` makes its ``model`` data: played by
one of the run's followers on the target's reference seed.

The rule: a variant qualifies when its 90% intervals cover at least 85% of the targets for
every parameter, with full data and with prices alone; among those the narrowest (mean width
over parameters and runs) is chosen; if none qualifies, the one whose worst coverage lies
nearest 90%. A first rule, fixed before the first row, also asked for at most 95%; on the
full data it chose the ensemble with a fifth held out, whose intervals were 3-4 times wider
than the others' (39-40% of the range) because one of its restarts was the wide failure
``RESTARTS`` describes, while the best restart widened covered 58/60 (97%). Over-coverage is
already paid for in width, so the upper bound went; this was decided on development rows
only. The first pass's rows (``calibration``: a share held out) stay in the results file.

    python benchmarks/posterior_select.py RUN_DIR [RUN_DIR ...] [--runs 60]
"""

from __future__ import annotations

import time
from typing import Any

import harness
import numpy as np
import posterior
import protocol
import torch

from mesa_adage.analysis.posterior import load_estimator
from mesa_adage.run.record import RunRecord

ROLE = "select"
"""Chooses the estimator's defaults (combine, folds) on the development set."""
RESULTS = harness.RESULTS / "posterior_select.jsonl"
VARIANTS = (("best", 0), ("ensemble", 0), ("best", 5))
"""(combine, folds) pairs tried. A first pass tried a fifth of the simulations held out
(100) instead of folds, with both combines; its rows stay in the results file."""
FLOOR = 0.85
"""The least coverage a variant must reach for every parameter and data kind."""


def setting(row: dict) -> str:
    """How a row's estimator was widened: ``none``, ``5 folds``, or the first pass's share."""
    if row.get("calibration"):
        return f"share {row['calibration']:g}"
    return f"{row['folds']} folds" if row.get("folds") else "none"


def run(args: Any) -> None:
    torch.set_num_threads(1)
    harness.header("torch single-threaded", f"runs {[str(r) for r in args.run_dirs]}")
    targets = protocol.development("cobweb")["runs"][: args.runs]
    for run_dir in args.run_dirs:
        shipped = load_estimator(run_dir)
        record = RunRecord(run_dir)
        config = record.read_config("RUN_DIR", "pass a run folder")
        followers = record.load_policies(config["algo"])
        frames = [posterior.data_for("model", t, shipped, followers)[0] for t in targets]
        for combine, folds in VARIANTS:
            start = time.perf_counter()
            estimator = posterior.current_estimator(run_dir, combine=combine, folds=folds)
            seconds = round(time.perf_counter() - start, 1)
            for index, (target, frame) in enumerate(zip(targets, frames, strict=True)):
                fields = posterior.answer(estimator, frame, target["target"], None)
                harness.record(
                    RESULTS,
                    {
                        "run_dir": str(run_dir),
                        "variant": posterior.variant(shipped),
                        "combine": combine,
                        "folds": folds,
                        "widen": list(estimator.widen),
                        "train_seconds": seconds,
                        "index": index,
                        "target": target["target"],
                        **fields,
                    },
                )
    print(table())


def table() -> str:
    """The variants' table (``report.py``'s ``posterior-select``) and the rule's choice."""
    import report

    rows = harness.read_rows(RESULTS)
    latest = {(r["variant"], r["combine"], setting(r), r["index"]): r for r in rows}
    groups: dict[tuple, list[dict]] = {}
    for (variant, combine, widening, _), row in latest.items():
        if not widening.startswith("share"):  # the first pass answered to the first rule
            groups.setdefault((combine, widening, variant), []).append(row)
    scores: dict[tuple, list[float]] = {}
    widths: dict[tuple, list[float]] = {}
    for (combine, widening, _), mine in groups.items():
        for name in ("lam", "inertia"):
            hits = sum(r["covers"][name] for r in mine if r["refused"] is None)
            scores.setdefault((combine, widening), []).append(hits / len(mine))
            widths.setdefault((combine, widening), []).extend(
                r["width"][name] for r in mine if r["refused"] is None
            )
    qualified = [k for k, v in scores.items() if min(v) >= FLOOR]
    if qualified:
        chosen = min(qualified, key=lambda k: np.mean(widths[k]))
        why = "covers at least 85% everywhere, narrowest"
    else:
        chosen = min(scores, key=lambda k: max(abs(v - 0.9) for v in scores[k]))
        why = "none covers 85% everywhere; nearest 90% at its worst"
    choice = f"chosen: combine={chosen[0]}, widening={chosen[1]} ({why})"
    return report.posterior_select(harness.RESULTS) + "\n\n" + choice


def main() -> None:
    cli = harness.parser(__doc__)
    commands = cli.add_subparsers(dest="command", required=True)
    go = commands.add_parser("run", help="train each variant and answer the development targets")
    go.add_argument("run_dirs", nargs="+", help="run folders made with --posterior")
    go.add_argument("--runs", type=int, default=60, help="development targets (the first N)")
    commands.add_parser("table", help="print the table and the choice from the rows")
    args = cli.parse_args()
    if args.command == "run":
        run(args)
    else:
        print(table())


if __name__ == "__main__":
    main()
