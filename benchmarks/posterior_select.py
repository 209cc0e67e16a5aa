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

A second pass (issue 22/23, after the held-out prices-alone lam coverage fell short) crosses
the interval's kind: ``central`` (equal tails, as shipped) or ``shortest`` (the narrowest
holding 90% of the draws), both with the best restart and five folds. Sixty development
targets hold few truths near the box's edges, where the two kinds differ, so the pass also
records, per variant, the cross-fitted answers to the run's own 500 simulations (thetas drawn
from the prior, each answered by a fold's estimator that never saw it): coverage over all of
them and over those whose truth lies in the outer tenth of its range (``crossfit`` rows, table
``posterior-crossfit``). The rule below is unchanged and applies to both tables' coverage:
a kind qualifies if it covers at least 85% of the development targets for every parameter and
the cross-fitted simulations as well, then the narrowest wins.

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
CROSSFIT = harness.RESULTS / "posterior_crossfit.jsonl"
VARIANTS = (
    ("best", 0, "central"),
    ("ensemble", 0, "central"),
    ("best", 5, "central"),
    ("best", 5, "shortest"),
)
"""(combine, folds, interval) tried. A first pass tried a fifth of the simulations held out
(100) instead of folds, with both combines; its rows stay in the results file."""
EDGE = 0.1
"""The outer share of each parameter's range that counts as near an edge (fixed before the
``crossfit`` rows were first made)."""
FLOOR = 0.85
"""The least coverage a variant must reach for every parameter and data kind."""


def setting(row: dict) -> str:
    """How a row's estimator was widened: ``none``, ``5 folds``, or the first pass's share."""
    if row.get("calibration"):
        return f"share {row['calibration']:g}"
    folds = f"{row['folds']} folds" if row.get("folds") else "none"
    return f"{folds}, {row.get('interval_kind', 'central')}"


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
        for combine, folds, interval in VARIANTS:
            start = time.perf_counter()
            estimator = posterior.current_estimator(
                run_dir, combine=combine, folds=folds, interval=interval
            )
            seconds = round(time.perf_counter() - start, 1)
            if estimator.cross_fitted is not None:
                row = crossfit_row(estimator, run_dir)
                protocol.record(CROSSFIT, {**row, "variant": posterior.variant(shipped)})
            for index, (target, frame) in enumerate(zip(targets, frames, strict=True)):
                fields = posterior.answer(estimator, frame, target["target"], None)
                protocol.record(
                    RESULTS,
                    {
                        "run_dir": str(run_dir),
                        "variant": posterior.variant(shipped),
                        "combine": combine,
                        "folds": folds,
                        "interval_kind": interval,
                        "widen": list(estimator.widen),
                        "train_seconds": seconds,
                        "index": index,
                        "target": target["target"],
                        **fields,
                    },
                )
    print(table())


def crossfit_row(estimator: Any, run_dir: Any) -> dict[str, Any]:
    """Coverage of the widened cross-fitted answers to the run's simulations, all and near
    an edge (the outer :data:`EDGE` of a range), per parameter; JSON-ready."""
    thetas, _, _ = posterior.load_simulations(run_dir)
    center, low, high = estimator.cross_fitted.transpose(1, 0, 2)
    widen = np.array(estimator.widen or [1.0] * len(estimator.names))
    low, high = center + widen * (low - center), center + widen * (high - center)
    lows, highs = (np.array(b) for b in zip(*estimator.box, strict=True))
    unit = (thetas - lows) / (highs - lows)
    edge = (unit < EDGE) | (unit > 1 - EDGE)
    covers = (low <= thetas) & (thetas <= high)
    row: dict[str, Any] = {
        "interval_kind": estimator.interval,
        "widen": list(estimator.widen),
        "simulations": len(thetas),
    }
    for j, name in enumerate(estimator.names):
        row[name] = {
            "covers": int(covers[:, j].sum()),
            "edge": int(edge[:, j].sum()),
            "edge_covers": int(covers[edge[:, j], j].sum()),
            "width": round(float(np.mean((high - low)[:, j]) / (highs - lows)[j]), 4),
        }
    return row


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
    crossfit = {(r["variant"], r["interval_kind"]): r for r in harness.read_rows(CROSSFIT)}
    for row in crossfit.values():
        for name in ("lam", "inertia"):  # the simulations' coverage must qualify as well
            share = row[name]["covers"] / row["simulations"]
            scores[("best", f"5 folds, {row['interval_kind']}")].append(share)
    qualified = [k for k, v in scores.items() if min(v) >= FLOOR]
    if qualified:
        chosen = min(qualified, key=lambda k: np.mean(widths[k]))
        why = "covers at least 85% everywhere, narrowest"
    else:
        chosen = min(scores, key=lambda k: max(abs(v - 0.9) for v in scores[k]))
        why = "none covers 85% everywhere; nearest 90% at its worst"
    choice = f"chosen: combine={chosen[0]}, widening={chosen[1]} ({why})"
    simulations = report.posterior_crossfit(harness.RESULTS)
    return report.posterior_select(harness.RESULTS) + "\n\n" + simulations + "\n\n" + choice


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
