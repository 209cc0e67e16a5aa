"""The learning tests' margins, measured on the seeds the tests train with (issue 22).

A learning test trains a policy or a leader and asserts that it beat a baseline by a
threshold. For each such test this script calls the measurement function the test itself
calls (defined in the test's module, so the two cannot drift), with the test's seed, and
records one row per test and seed: the measured values, the threshold the test asserts (read
from the test's module), the margin (measured minus threshold, on the side the test asserts)
and, where the measured value is a gain over a baseline, the margin over the threshold.

    python benchmarks/learning_margins.py                  # every test: about a minute
    python benchmarks/learning_margins.py --quick          # the default suite's tests only
    python benchmarks/learning_margins.py --only adapt planner

Rows: ``benchmarks/results/learning_margins.jsonl``; RESULTS.md section 3's table
``learning-margins`` (``report.py``). Torch runs single-threaded and the scheduler serially,
as under ``tests/conftest.py``, so a row's numbers are the test's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import harness
import protocol

ROLE = "select"
"""Its rows set the learning tests' thresholds (about half of each margin measured here)."""


@dataclass(frozen=True)
class Check:
    """One assertion of a test: ``measured[quantity] > module.THRESHOLD`` (or ``<``).

    Attributes:
        quantity: The key of the measurement's result that the test asserts on.
        threshold: The name of the test module's constant the test compares it with.
        above: Whether the test asserts the quantity above the threshold (else below).
        gain: Whether the quantity is a gain over a baseline, so that margin / threshold says
            how much of the measured gain the test leaves as headroom.
    """

    quantity: str
    threshold: str
    above: bool = True
    gain: bool = True


@dataclass(frozen=True)
class Case:
    """One learning test: where its measurement lives, its seed, and what it asserts.

    Attributes:
        test: The test's pytest id.
        measure: ``measure(module, seed, folder)``: the test's own measurement.
        seeds: The seeds the test trains with.
        checks: The test's assertions on the measurement.
        slow: Whether the test is marked ``slow``.
    """

    test: str
    measure: Callable[[ModuleType, int, Path], dict[str, float]]
    seeds: tuple[int, ...]
    checks: tuple[Check, ...]
    slow: bool = False

    @property
    def path(self) -> Path:
        """The test's file."""
        return harness.ROOT / self.test.split("::")[0]


def _by_seed(name: str) -> Callable[[ModuleType, int, Path], dict[str, float]]:
    """A measurement the test module defines as ``name(seed)``."""
    return lambda module, seed, folder: getattr(module, name)(seed)


def _guesses(algo: str) -> Callable[[ModuleType, int, Path], dict[str, float]]:
    return lambda module, seed, folder: module.guess_reward(algo, seed)


def _from_scratch(module: ModuleType, seed: int, folder: Path) -> dict[str, float]:
    """The docs page trains from its own seed, 0: there is no other to give it."""
    if seed != 0:
        raise ValueError(f"seed={seed}: docs/from_scratch.md trains from seed 0 only")
    (folder / "page").mkdir()
    (folder / "block").mkdir()
    page = module.run_page(module.DOCS / "from_scratch.md", folder / "page")
    return module.from_scratch_gain(page.after("class Saver"), folder / "block")


def _in_folder(name: str) -> Callable[[ModuleType, int, Path], dict[str, float]]:
    """A measurement the test module defines as ``name(seed, folder)``: a run into ``folder``."""
    return lambda module, seed, folder: getattr(module, name)(seed, folder / "run")


CASES = {
    "adapt": Case(
        "tests/test_adapt.py::test_a_learned_policy_beats_random_giving",
        _by_seed("giving_gain"),
        (0,),
        (Check("gain", "GIVING_GAIN"),),
    ),
    "wolf_sheep": Case(
        "tests/test_adapt.py::test_sheep_learn_to_outlive_random_ones",
        _by_seed("sheep_gain"),
        (0,),
        (Check("gain", "SHEEP_GAIN"),),
        slow=True,
    ),
    "market_maker": Case(
        "tests/test_market_maker.py::"
        "test_a_briefly_trained_conditional_maker_beats_random_quotes_at_every_omega",
        _by_seed("quote_margins"),
        (0,),
        (Check("smallest margin", "MIN_MARGIN"), Check("mean margin", "MEAN_MARGIN")),
    ),
    "entrance": Case(
        "tests/test_entrance.py::test_trained_traders_trade_less_as_the_tax_rises",
        _by_seed("tax_response"),
        (0,),
        (Check("fewer trades", "FEWER_TRADES"),),
    ),
    "planner": Case(
        "tests/test_planner.py::test_a_learned_planner_beats_every_static_theta",
        _by_seed("planner_gain"),
        (0,),
        (Check("over best", "OVER_BEST_STATIC"),),
    ),
    **{
        f"vec_env_{algo}": Case(
            f"tests/test_vec_env.py::test_on_and_off_policy_sb3_algorithms_train_the_shared_policy[{algo}]",
            _guesses(algo),
            (0,),
            (Check("reward a step", "GUESS_REWARD", gain=False),),
        )
        for algo in ("PPO", "A2C", "SAC")
    },
    "rl_leader": Case(
        "tests/test_leaders.py::test_rl_leader_learns_towards_the_optimum",
        _by_seed("rl_leader_error"),
        (0,),
        (
            Check("end error", "RL_ERROR", above=False, gain=False),
            Check("start error", "RL_ERROR", gain=False),
        ),
    ),
    "distribution_leader": Case(
        "tests/test_distribution_leader.py::"
        "test_the_scheduler_trains_followers_under_the_leader_s_distribution",
        _in_folder("worst_point_weight"),
        (0,),
        (Check("gain over uniform", "WORST_POINT_GAIN"),),
    ),
    "calibration_prices": Case(
        "tests/test_calibration_trust.py::"
        "test_price_only_calibration_runs_end_to_end_and_reports_its_uncertainty",
        _in_folder("price_only_rises"),
        (0,),
        (
            Check("lam rise in noise", "LAM_RISE"),
            Check("inertia rise in noise", "INERTIA_RISE"),
        ),
    ),
    "cobweb": Case(
        "tests/test_cobweb.py::test_a_few_thousand_ppo_steps_beat_random_and_untrained_forecasters",
        _by_seed("forecaster_rewards"),
        (0,),
        (Check("over random", "OVER_RANDOM"), Check("over untrained", "OVER_UNTRAINED")),
        slow=True,
    ),
    "taxation": Case(
        "tests/test_taxation.py::test_trained_households_work_less_under_a_higher_tax",
        _by_seed("hours_response"),
        (0,),
        (Check("fewer hours", "FEWER_HOURS"),),
        slow=True,
    ),
    "from_scratch": Case(
        "tests/test_docs.py::test_the_from_scratch_example_runs_and_learns",
        _from_scratch,
        (0,),
        (Check("gain", "FROM_SCRATCH_GAIN"),),
        slow=True,
    ),
}
"""Every learning test, by a short name for ``--only``."""


def judge(check: Check, measured: dict[str, float], threshold: float) -> dict[str, Any]:
    """One assertion's numbers: the value, the threshold, the margin and its ratio.

    The margin is how far the value clears the threshold on the side the test asserts
    (negative: the test fails); the ratio divides it by the threshold when the value is a gain
    over a baseline (1: the threshold is half the measured gain).
    """
    value = measured[check.quantity]
    margin = value - threshold if check.above else threshold - value
    ratio = margin / abs(threshold) if check.gain and threshold != 0 else None
    return {
        "quantity": check.quantity,
        "asserted": f"{'>' if check.above else '<'} {threshold:g}",
        "value": value,
        "threshold": threshold,
        "margin": margin,
        "ratio": ratio,
    }


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="these tests only")
    harness.add_quick(parser, "the default suite's tests only (no slow ones)")
    parser.add_argument("--seeds", type=int, nargs="+", help="instead of each test's own")
    args = parser.parse_args()
    os.environ.setdefault("ADAGE_EXECUTOR", "serial")  # as tests/conftest.py
    import torch

    torch.set_num_threads(1)  # as tests/conftest.py: the test's numbers, bit for bit
    sys.path.insert(0, str(harness.ROOT))  # the tests import tests.toy and the like
    harness.header("torch single-threaded")
    names = args.only or [n for n, c in CASES.items() if not (args.quick and c.slow)]
    for name in names:
        case = CASES[name]
        module = harness.load_file(case.path)
        for seed in args.seeds or case.seeds:
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                measured = case.measure(module, seed, Path(folder))
            checks = [judge(c, measured, getattr(module, c.threshold)) for c in case.checks]
            row = {"command": harness.command(), "test": case.test, "slow": case.slow}
            row |= {"seed": seed, "own_seed": seed in case.seeds, "measured": measured}
            row |= {"checks": checks, "seconds": round(time.perf_counter() - start, 1)}
            protocol.record(harness.RESULTS / "learning_margins.jsonl", row)


if __name__ == "__main__":
    main()
