"""The posterior's goodness-of-fit test on the development cobweb runs, before any held-out run.

The test (``mesa_adage.analysis.posterior.fit``) has no setting chosen on data: its degree,
statistic and threshold were fixed on a toy model (tests/test_posterior.py). This script is
its development check: for each of the first ``--runs`` development targets it makes a data
set as ``posterior.py`` makes its ``model`` data (one of the run's followers) and its
``adaptive`` data (Hommes et al.'s forecasters), and records the test's p-value. Had the
p-values of the followers' data not been uniform, the test would have been changed here,
never on the held-out runs.

    python benchmarks/posterior_fit_select.py RUN_DIR [RUN_DIR ...] [--runs 60]
"""

from __future__ import annotations

from typing import Any

import harness
import posterior
import protocol
import torch

from mesa_adage.run.record import RunRecord

ROLE = "select"
"""A development check of the fit test; reads only the development set."""
RESULTS = harness.RESULTS / "posterior_fit_select.jsonl"
KINDS = ("model", "adaptive")


def run(args: Any) -> None:
    torch.set_num_threads(1)
    harness.header("torch single-threaded", f"runs {[str(r) for r in args.run_dirs]}")
    targets = protocol.development("cobweb")["runs"][: args.runs]
    for run_dir in args.run_dirs:
        estimator = posterior.current_estimator(run_dir)
        record = RunRecord(run_dir)
        followers = record.load_policies(record.read_config("RUN_DIR", "a run folder")["algo"])
        for kind in KINDS:
            for index, target in enumerate(targets):
                frame, _ = posterior.data_for(kind, target, estimator, followers)
                try:
                    fit, refused = estimator.fit_of(frame, "development data"), None
                except ValueError as err:  # outside the box: the estimator refuses it
                    fit, refused = None, str(err)
                row = {"variant": posterior.variant(estimator), "data": kind, "index": index}
                protocol.record(RESULTS, {**row, "fit": fit, "refused": refused})
    print(table())


def table() -> str:
    """The development check's table (``report.py``'s ``posterior-fit-select``)."""
    import report

    return report.posterior_fit_select(harness.RESULTS)


def main() -> None:
    cli = harness.parser(__doc__)
    commands = cli.add_subparsers(dest="command", required=True)
    go = commands.add_parser("run", help="answer the development data sets and record rows")
    go.add_argument("run_dirs", nargs="+", help="run folders made with --posterior")
    go.add_argument("--runs", type=int, default=60, help="development targets (the first N)")
    commands.add_parser("table", help="print the table from the rows")
    args = cli.parse_args()
    print(table()) if args.command == "table" else run(args)


if __name__ == "__main__":
    main()
