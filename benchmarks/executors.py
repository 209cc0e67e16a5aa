"""Executors side by side: the same work serial, on a local process pool, and on local Ray.

``candidates``: 16 candidate evaluations of the cobweb calibration (six follower policies, 132
episodes per candidate, the calibration's objective), each backend timed on the same frozen
policies after one untimed call that starts its workers; the values must agree to the bit.

``demo``: the default ``adage run models.cobweb:calibration``, serial and then with
``--executor process``, as separate commands; the answers must agree to the last digit.

    python benchmarks/executors.py candidates [--quick] [--repeats 3]
    python benchmarks/executors.py demo

Both also report ``ceiling_speedup``: two runs of a pure-Python loop on a two-process pool
against on a one-process pool, the most any executor can gain on this machine right now.
Results are appended to ``benchmarks/results/executors.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mesa_adage import Evaluator, Followers, Uniform, make_executor  # noqa: E402
from models import cobweb  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def machine() -> dict:
    import mesa
    import ray
    import stable_baselines3

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "mesa": mesa.__version__,
        "sb3": stable_baselines3.__version__,
        "ray": ray.__version__,
    }


def _spin(n: int) -> float:
    total = 0.0
    for i in range(n):
        total += i * 0.5
    return total


def ceiling(n: int = 20_000_000, repeats: int = 3) -> float:
    """The machine's own limit: a pure-Python loop twice on one worker against on two at once."""
    ones, twos = [], []
    with make_executor("process", workers=1) as one, make_executor("process", workers=2) as two:
        one.map(_spin, [1])  # start the workers
        two.map(_spin, [1, 1])
        for _ in range(repeats):
            for pool, times in ((one, ones), (two, twos)):
                start = time.perf_counter()
                pool.map(_spin, [n, n])
                times.append(time.perf_counter() - start)
    return round(statistics.median(ones) / statistics.median(twos), 2)


def candidates(quick: bool, repeats: int) -> dict:
    experiment = cobweb.calibration()
    ts = experiment.timescales
    followers = Followers(
        experiment.make_model,
        experiment.agent_type,
        algo_kwargs=experiment.algo_kwargs,
        size=ts.followers,
        seed=0,
    )
    followers.train(6_144 * 2, Uniform(), 0, progress=False)  # weights do not change the cost
    policies = followers.policies()
    data = cobweb.observed_data(cobweb.DEFAULT_TARGET, 0, reference_steps=6_144)
    objective = experiment.objective(data)
    episodes = 2 * ts.followers if quick else ts.eval_rollouts
    seeds = list(range(10_000, 10_000 + episodes))
    thetas = cobweb.COBWEB_THETA.sample(Uniform(), np.random.default_rng(0), 16)
    row: dict = {"bench": "candidates", "candidates": 16, "episodes": episodes, **machine()}
    row["ceiling_speedup"] = ceiling()
    values = {}
    for name in ("serial", "process", "ray"):
        with make_executor(name, workers=2) as executor:
            evaluator = Evaluator(
                experiment.make_model, experiment.agent_type, objective, seeds, executor=executor
            )
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
    for name in ("serial", "process"):
        out = ROOT / "benchmarks" / "runs" / f"executors-demo-{name}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        command = ["adage", "run", "models.cobweb:calibration", "--out", str(out), "--quiet"]
        command += ["--executor", name]
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT)
        row[f"{name}_s"] = round(time.perf_counter() - start, 1)
        summaries[name] = json.loads((out / "summary.json").read_text())
        row[f"{name}_theta"] = summaries[name]["theta"]
    row["speedup"] = round(row["serial_s"] / row["process_s"], 2)
    row["same_answer"] = all(
        summaries["serial"][k] == summaries["process"][k] for k in ("theta", "objective")
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", choices=["candidates", "demo"])
    parser.add_argument("--quick", action="store_true", help="fewer episodes (a CI-sized run)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("command:", " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), flush=True)
    row = candidates(args.quick, args.repeats) if args.bench == "candidates" else demo()
    print(json.dumps(row, indent=1), flush=True)
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "executors.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
