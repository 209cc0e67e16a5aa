"""Executors side by side: the same work serial, on a local process pool, and on local Ray.

``candidates``: 16 candidate evaluations of the cobweb calibration (six follower policies, 132
episodes per candidate, the calibration's objective), each backend timed on the same frozen
policies after one untimed call that starts its workers; the values must agree to the bit.

``demo``: the main job ``adage run calibration`` with ``--executor serial`` and
then as it runs by default (``--executor auto``: a process pool on more than one CPU), as
separate commands; the answers must agree to the last digit.

    python benchmarks/executors.py candidates [--quick] [--repeats 3]
    python benchmarks/executors.py demo

Both also report ``ceiling_speedup``: two runs of a pure-Python loop on a two-process pool
against on a one-process pool, the most any executor can gain on this machine right now.
Results are appended to ``benchmarks/results/executors.jsonl``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from importlib import metadata

import harness

from mesa_adage.run.executors import make_executor

ROLE = "report"
"""Speed-ups, measured; chooses nothing."""

RESULTS = harness.RESULTS / "executors.jsonl"


def machine() -> dict:
    """The machine and versions each row records (its own keys, kept for the old rows)."""
    v = harness.versions()
    return {
        "python": v["python"],
        "cpus": os.cpu_count(),
        "torch": v["torch"],
        "mesa": v["mesa"],
        "sb3": v["stable_baselines3"],
        "ray": metadata.version("ray"),
    }


def _spin(n: int) -> float:
    total = 0.0
    for i in range(n):
        total += i * 0.5
    return total


def ceiling(n: int = 20_000_000, repeats: int = 3) -> float:
    """The machine's own limit: a pure-Python loop twice on one worker against on two at once."""
    with make_executor("process", workers=1) as one, make_executor("process", workers=2) as two:
        one.map(_spin, [1])  # start the workers
        two.map(_spin, [1, 1])
        t = harness.medians(
            {
                "one": lambda: harness.seconds(one.map, _spin, [n, n]),
                "two": lambda: harness.seconds(two.map, _spin, [n, n]),
            },
            repeats,
        )
    return round(t["one"] / t["two"], 2)


def candidates(quick: bool, repeats: int) -> dict:
    scoring = harness.cobweb_scoring(16, quick)
    thetas, policies = scoring.thetas, scoring.policies
    row: dict = {"bench": "candidates", "candidates": 16, "episodes": len(scoring.seeds)}
    row |= machine()
    row["ceiling_speedup"] = ceiling()
    values = {}
    for name in ("serial", "process", "ray"):
        with make_executor(name, workers=2) as executor:
            evaluator = scoring.evaluator(executor)
            start = time.perf_counter()
            values[name], _ = evaluator.score(thetas, policies)  # starts the workers
            row[f"{name}_first_s"] = round(time.perf_counter() - start, 2)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                again, _ = evaluator.score(thetas, policies)
                times.append(time.perf_counter() - start)
                assert again == values[name]
            row[f"{name}_s"] = round(statistics.median(times), 2)
    for name in ("process", "ray"):
        row[f"{name}_speedup"] = round(row["serial_s"] / row[f"{name}_s"], 2)
        row[f"{name}_same_values"] = values[name] == values["serial"]
    return row


def demo() -> dict:
    row: dict = {"bench": "demo", **machine(), "ceiling_speedup": ceiling()}
    summaries = {}
    env = {k: v for k, v in os.environ.items() if k != "ADAGE_EXECUTOR"}
    for name, flags in (("serial", ["--executor", "serial"]), ("default", [])):
        out = harness.RUNS / f"executors-demo-{name}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        command = [
            "adage",
            "run",
            "mesa_adage.examples.models.cobweb:calibration",
            "--out",
            str(out),
            "--quiet",
        ]
        start = time.perf_counter()
        subprocess.run(command + flags, check=True, cwd=harness.ROOT, env=env)
        row[f"{name}_s"] = round(time.perf_counter() - start, 1)
        summaries[name] = json.loads((out / "summary.json").read_text())
        row[f"{name}_theta"] = summaries[name]["theta"]
        row[f"{name}_run_s"] = summaries[name].get("wall_seconds_this_session")  # less data
    row["speedup"] = round(row["serial_s"] / row["default_s"], 2)
    row["same_answer"] = all(
        summaries["serial"][k] == summaries["default"][k] for k in ("theta", "objective")
    )
    return row


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("bench", choices=["candidates", "demo"])
    harness.add_quick(parser, "fewer episodes (a CI-sized run)")
    harness.add_repeats(parser, 3)
    args = parser.parse_args()
    harness.header()
    row = candidates(args.quick, args.repeats) if args.bench == "candidates" else demo()
    print(json.dumps(row, indent=1), flush=True)
    harness.append(RESULTS, row)


if __name__ == "__main__":
    main()
