"""What the benchmark scripts share: paths, arguments, the machine line, result rows, timing.

Each script in ``benchmarks/`` stays one file that reads top to bottom; this module holds only
what several of them would otherwise repeat. Scripts import it as a sibling (``import
harness``): ``python benchmarks/X.py`` puts ``benchmarks/`` on ``sys.path``, not the checkout.

The examples import by their installed names (``mesa_adage.examples.models``, after ``pip
install -e .``). At import it uses the standard library only, so ``black_it_baseline.py`` can
use it from black-it's own environment.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from mesa_adage import Experiment
    from mesa_adage.inner.policies import Policy
    from mesa_adage.inner.rollout import Rollout
    from mesa_adage.outer.evaluator import Evaluator
    from mesa_adage.run.executors import Executor

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
"""Raw result rows (JSON lines, CSV, JSON) that RESULTS.md's tables are made from."""
RUNS = ROOT / "benchmarks" / "runs"
"""Run folders of the scheduler's runs."""

ACCEPTANCE = [
    {"lam": 0.3, "inertia": 0.2},
    {"lam": 0.6, "inertia": 0.6},
    {"lam": 0.85, "inertia": 0.4},
]
"""The cobweb calibration's acceptance targets: low, middle and high supply steepness."""


def load_file(path: Path) -> ModuleType:
    """The Python file at ``path`` as a module named after it, without touching ``sys.path``."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None, path
    module = sys.modules[path.stem] = importlib.util.module_from_spec(spec)  # dataclasses ask
    spec.loader.exec_module(module)
    return module


def tables(*names: str) -> str:
    """RESULTS.md's generated tables ``names``, made from the rows by ``report.py``."""
    report = load_file(ROOT / "benchmarks" / "report.py")
    return "\n\n".join(report.TABLES[name](RESULTS) for name in names)


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser described by the first line of a script's docstring."""
    return argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])


def add_seeds(parser: argparse.ArgumentParser, default: list[int], help: str | None = None) -> None:
    """``--seeds S [S ...]``: the seeds to run, one result row (or more) each."""
    parser.add_argument("--seeds", type=int, nargs="+", default=default, help=help)


def add_quick(parser: argparse.ArgumentParser, help: str) -> None:
    """``--quick``: a CI-sized run; ``help`` says what it cuts."""
    parser.add_argument("--quick", action="store_true", help=help)


def add_repeats(parser: argparse.ArgumentParser, default: int) -> None:
    """``--repeats N``: timed repeats, of which the script reports the median or the best."""
    parser.add_argument("--repeats", type=int, default=default, help="timed repeats")


def command() -> str:
    """The command line that ran this script, as RESULTS.md quotes it."""
    return "python " + " ".join(sys.argv)


def machine() -> str:
    """The machine: architecture, cores and operating system."""
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"


def versions() -> dict[str, str]:
    """The versions of Python and of the packages the numbers depend on."""
    packages = ("numpy", "torch", "stable_baselines3", "mesa", "optuna")
    return {"python": platform.python_version(), **{p: metadata.version(p) for p in packages}}


def header(*notes: str) -> None:
    """Print the command, the machine, the versions and the date: the line RESULTS.md records.

    Args:
        notes: What else the numbers depend on ("torch single-threaded", "median of 5").
    """
    found = ", ".join(f"{name} {v}" for name, v in versions().items())
    parts = [machine(), found, time.strftime("%Y-%m-%d"), *notes]
    print(f"{command()}\n# {'; '.join(parts)}", flush=True)


def append(path: Path, row: dict[str, Any]) -> None:
    """Append ``row`` to the JSON-lines file ``path``, making its folder if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def record(path: Path, row: dict[str, Any]) -> None:
    """Print ``row`` as one JSON line and append it to ``path``."""
    print(json.dumps(row), flush=True)
    append(path, row)


def save_figure(fig: Figure, name: str) -> None:
    """Lay out ``fig`` and save it as ``RESULTS / name`` at 110 dpi."""
    fig.tight_layout()
    fig.savefig(RESULTS / name, dpi=110)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of the JSON-lines file ``path`` (none if it does not exist yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def markdown(frame: pd.DataFrame) -> str:
    """``frame`` as a Markdown table, its index left out."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    lines += [
        "| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def label(theta: dict[str, float]) -> str:
    """A cobweb theta as the tables print it: ``lam=0.3, eta=0.2``."""
    return f"lam={theta['lam']}, eta={theta['inertia']}"


def seconds(fn: Callable[..., object], *args: object) -> float:
    """Wall seconds of one call ``fn(*args)``."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Mean wall seconds per call over ``calls`` calls of ``fn`` in a row."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def medians(measures: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """The median of each measure over ``rounds`` rounds, side by side.

    Every round takes each measure once, in turn, so the drift of a shared machine hits them
    alike: compare the medians as ratios, not one run's seconds with another run's.
    """
    taken: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            taken[name].append(measure())
    return {name: statistics.median(values) for name, values in taken.items()}


@dataclass(frozen=True)
class Scoring:
    """Candidates of the default cobweb calibration and what scoring them takes.

    Attributes:
        experiment: ``mesa_adage.examples.models.cobweb.calibration()``.
        policies: A trained follower population (its weights do not change what scoring costs).
        objective: The calibration's objective on observed data at the default target.
        seeds: The episodes' seeds, the same for every candidate.
        thetas: The candidates, drawn uniformly from the box with seed 0.
    """

    experiment: Experiment
    policies: list[Policy]
    objective: Callable[[list[Rollout]], float]
    seeds: list[int]
    thetas: list[dict[str, float]]

    def evaluator(self, executor: Executor | None = None) -> Evaluator:
        """The scheduler's evaluator for these candidates, on ``executor`` (serial if None)."""
        from mesa_adage.outer.evaluator import Evaluator

        e = self.experiment
        return Evaluator(e.make_model, e.agent_type, self.objective, self.seeds, executor=executor)


def cobweb_scoring(candidates: int, quick: bool) -> Scoring:
    """Set up scoring ``candidates`` cobweb candidates as the scheduler scores them.

    Args:
        candidates: How many thetas to draw.
        quick: Two episodes per follower instead of the calibration's ``eval_rollouts``.
    """
    import numpy as np  # here, not at the top: see the module's docstring

    from mesa_adage.examples.models import cobweb
    from mesa_adage.inner.followers import Followers
    from mesa_adage.samplers import Uniform

    experiment = cobweb.calibration()
    ts = experiment.timescales
    followers = Followers(
        experiment.make_model,
        experiment.agent_type,
        algo_kwargs=experiment.algo_kwargs,
        size=ts.followers,
        seed=0,
    )
    followers.train(6_144 * 2, Uniform(), 0, progress=False)
    data = cobweb.observed_data(cobweb.DEFAULT_TARGET, 0, reference_steps=6_144)
    episodes = 2 * ts.followers if quick else ts.eval_rollouts
    return Scoring(
        experiment=experiment,
        policies=list(followers.policies()),
        objective=experiment.objective(data),
        seeds=list(range(10_000, 10_000 + episodes)),
        thetas=cobweb.COBWEB_THETA.sample(Uniform(), np.random.default_rng(0), candidates),
    )
