"""Malformed input, everywhere a user can give it: each is refused with a clear error.

One table of real calls that raise. Each case names the exception and the fragments its
message must hold: the parameter or flag, the offending value, and what is allowed (or what
to do). The command line's errors are its exit status 2 and what it printed on stderr.
``benchmarks/RESULTS.md`` (section 11) counts the cases by category.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import mesa
import numpy as np
import pytest

from mesa_adage import Characteristics, Experiment, Param, Timescales, adapt
from mesa_adage.characteristics import parse_theta
from mesa_adage.cli import main
from mesa_adage.inner.observation import Noisy
from mesa_adage.run.data import read_observed
from mesa_adage.samplers import Categorical, Grid, Mixture, Normal, Uniform, Weighted
from tests.test_scheduler import experiment

SPEC = "tests.specs:tiny_calibration"
TOY = "tests.test_scheduler:experiment"
HERE = "tests.test_bad_inputs"
COBWEB = "mesa_adage.examples.models.cobweb"
SPACE = Characteristics(Param("lam", 0.1, 1.0), Param("inertia", 0.0, 1.0))


class ExitStatus2(Exception):
    """The command line exited with status 2; the message is what it printed on stderr."""


def cli(*args: str) -> None:
    """Run ``adage`` in-process; raise :class:`ExitStatus2` with its stderr if it refused."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(args))
    if code == 2:
        raise ExitStatus2(err.getvalue())
    raise AssertionError(f"adage {' '.join(args)} exited with {code}, not 2")


def run(tmp: Path, *args: str) -> None:
    """``adage run`` of the tiny calibration into ``tmp/run``, with ``args``."""
    cli("run", SPEC, "--quiet", "--out", str(tmp / "run"), *args)


def data_file(tmp: Path, text: str | bytes, name: str = "data.csv") -> Path:
    """A data file holding ``text``."""
    path = tmp / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def read(text: str | bytes) -> Callable[[Path], Any]:
    """A call reading ``text`` as observed data with a ``price`` column."""
    return lambda tmp: read_observed(data_file(tmp, text), "price")


def prices(episodes: int, steps: int, extra: str = "") -> str:
    """A well-formed data file's text: ``episodes`` x ``steps`` prices (``extra`` appended)."""
    rows = "".join(f"{e},{5 + 0.1 * t}\n" for e in range(episodes) for t in range(steps))
    return "episode,price\n" + rows + extra


def not_a_run(tmp: Path, config: str | None) -> Path:
    """A folder with a policy file (never loaded) and the given ``config.json`` text."""
    folder = tmp / "folder"
    folder.mkdir()
    (folder / "policy.zip").write_bytes(b"not read: the folder is refused first")
    if config is not None:
        (folder / "config.json").write_text(config)
    return folder


def evaluate(folder: Path) -> None:
    """``adage eval`` of ``folder`` with the toy experiment's spec."""
    cli("eval", str(folder), "--spec", TOY, "--train-range", "target=0:0.4")


def corrupt_policy(tmp: Path) -> Path:
    """A folder that matches the toy spec's config but whose policy.zip is no zip file."""
    folder = not_a_run(tmp, json.dumps(experiment().config()))
    (folder / "policy.zip").write_bytes(b"PK\x03\x04 truncated")
    return folder


# ---------------------------------------------------------------- specs a test run can name


def returns_a_number() -> int:
    """A spec function that returns something other than an Experiment."""
    return 42


FIXED = experiment()
"""A spec that is a fixed Experiment: it takes no --target-theta or --data."""


def takes_nothing() -> Experiment:
    """A spec function without the ``data`` parameter."""
    return experiment()


# ---------------------------------------------------------------- an unmodified Mesa model


class Walker(mesa.Agent):
    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.x = 0.0

    def step(self) -> None:
        self.x += 1.0


class Street(mesa.Model):
    def __init__(self, n: int = 3, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.speed = 1.0
        Walker.create_agents(self, n)

    def step(self) -> None:
        self.agents.do("step")


SPEED = Characteristics(Param("speed", 0.0, 2.0))


def street(**changes: Any) -> Any:
    """``adapt(Street, Walker, ...)`` with ``changes`` to a working specification."""
    spec = {
        "characteristics": SPEED,
        "observation_space": gym.spaces.Box(-np.inf, np.inf, shape=(1,)),
        "action_space": gym.spaces.Discrete(2),
        "observe": lambda agent: [agent.x],
        "act": lambda agent, action: None,
        "reward": lambda agent: 0.0,
    }
    model = changes.pop("model", Street)
    return adapt(model, Walker, **{**spec, **changes})


def still(obs: np.ndarray) -> np.ndarray:
    return np.zeros(len(obs), dtype=int)


def observe_with(observe: Callable[[Any], Any]) -> Callable[[Path], Any]:
    return lambda tmp: street(observe=observe)(policies={Walker: still}).observations(Walker)


def reward_with(reward: Callable[[Any], Any]) -> Callable[[Path], Any]:
    def call(tmp: Path) -> Any:
        model = street(reward=reward)(policies={Walker: still})
        model.step()
        return model.rewards(Walker)

    return call


def step_with(act: Callable[[Any, Any], None], policy: Callable) -> Callable[[Path], Any]:
    return lambda tmp: street(act=act)(policies={Walker: policy}).step()


def missing_key(model: mesa.Model, theta: dict) -> None:
    model.speed = theta["sped"]


def pick(agent: Walker, action: Any) -> None:
    """An ``act`` for two actions: indexing with any other fails."""
    [agent.step, agent.step][action]()


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """A malformed input: the call that makes it, the error, and what its message must say."""

    category: str
    id: str
    call: Callable[[Path], Any]
    error: type[BaseException]
    says: tuple[str, ...]


NAN, INF = math.nan, math.inf
EXIT = ExitStatus2
RNG = np.random.default_rng(0)
EVAL = ("eval", ".", "--spec", SPEC, "--train-range", "lam=0.2:0.5")
OTHER_CONFIG = json.dumps({**experiment().config(), "model": "another.Model"})

# fmt: off
TABLE: dict[str, list[tuple[Any, ...]]] = {
    # (id, call, error, *fragments the message holds: name, value, what is allowed)
    "command line": [
        ("seed-negative", lambda t: run(t, "--seed", "-1"), EXIT, "--seed", "'-1'", ">= 0"),
        ("seed-not-int", lambda t: run(t, "--seed", "1.5"), EXIT,
         "--seed", "'1.5'", "integer >= 0"),
        ("epochs-zero", lambda t: run(t, "--epochs", "0"), EXIT, "--epochs", "'0'", ">= 1"),
        ("workers-zero", lambda t: run(t, "--workers", "0"), EXIT, "--workers", "'0'", ">= 1"),
        ("followers-word", lambda t: run(t, "--followers", "two"), EXIT,
         "--followers", "'two'", ">= 1"),
        ("eval-points-one", lambda t: cli(*EVAL, "--points", "1"), EXIT, "--points", "'1'", ">= 2"),
        ("eval-episodes-zero", lambda t: cli(*EVAL, "--episodes", "0"), EXIT,
         "--episodes", "'0'", ">= 1"),
        ("eval-seed-negative", lambda t: cli(*EVAL, "--seed", "-3"), EXIT,
         "--seed", "'-3'", ">= 0"),
        ("target-theta-twice", lambda t: run(t, "--target-theta", "lam=0.5,lam=0.6,inertia=0.1"),
         EXIT, "--target-theta", "'lam' is given twice", "lam=0.5,lam=0.6", "each parameter once"),
        ("target-theta-no-value", lambda t: run(t, "--target-theta", "lam="), EXIT,
         "--target-theta", "'lam='", "expected name=value", "['lam', 'inertia']"),
        ("target-theta-no-name", lambda t: run(t, "--target-theta", "=0.5"), EXIT,
         "--target-theta", "'=0.5'", "expected name=value"),
        ("target-theta-not-a-number", lambda t: run(t, "--target-theta", "lam=abc,inertia=0.1"),
         EXIT, "--target-theta", "'abc' is not a number", "expected name=value"),
        ("target-theta-infinite", lambda t: run(t, "--target-theta", "lam=inf,inertia=0.1"), EXIT,
         "--target-theta", "'lam'=inf", "not a finite number", "[0.1, 1]"),
        ("target-theta-unknown-name", lambda t: run(t, "--target-theta", "speed=1,inertia=0.1"),
         EXIT, "--target-theta", "'speed'", "allowed names are ['lam', 'inertia']"),
        ("leader-unknown", lambda t: run(t, "--leader", "bayes"), EXIT,
         "--leader", "'bayes'", "allowed are ['cmaes'"),
        ("executor-unknown", lambda t: run(t, "--executor", "gpu"), EXIT,
         "executor", "'gpu'", "allowed are ['auto', 'serial', 'process', 'ray']"),
        ("address-without-ray", lambda t: run(t, "--address", "10.0.0.1:6379"), EXIT,
         "--address", "--executor ray", "'serial'"),
        ("out-is-a-file", lambda t: cli("run", SPEC, "--out", str(data_file(t, "x", "o.txt"))),
         EXIT, "--out", "o.txt'", "is a file, not a folder", "a folder you can write to"),
        ("out-under-a-file", lambda t: cli("run", SPEC, "--out", str(data_file(t, "", "f") / "r")),
         EXIT, "--out", "f/r'", "is a file, so no folder can be made", "a folder you can write to"),
        # sysfs refuses new folders, to root as well
        ("out-not-permitted", lambda t: cli("run", SPEC, "--out", "/sys/adage-run"), EXIT,
         "--out", "'/sys/adage-run'", "cannot be written", "a folder you can write to"),
    ],
    "experiment specs": [
        ("spec-not-importable", lambda t: cli("run", "not.a:spec"), EXIT,
         "SPEC 'not.a:spec'", "cannot import 'not.a'", "run adage from the folder"),
        ("spec-unknown-task", lambda t: cli("run", "calibrate"), EXIT,
         "SPEC 'calibrate'",
         "not a task name (calibration, policy-design, calm, stress, robust, fiscal-game)",
         "'package.module:function'"),
        ("spec-empty-name", lambda t: cli("run", "mymodel:"), EXIT,
         "SPEC 'mymodel:'", "'package.module:name'"),
        ("spec-unknown-name", lambda t: cli("run", f"{COBWEB}:nothing"), EXIT,
         f"SPEC '{COBWEB}:nothing'", "no attribute 'nothing'"),
        ("spec-not-callable", lambda t: cli("run", f"{COBWEB}:COBWEB_THETA"), EXIT,
         f"SPEC '{COBWEB}:COBWEB_THETA'", "neither an Experiment nor a function"),
        ("spec-returns-no-experiment", lambda t: cli("run", f"{HERE}:returns_a_number"), EXIT,
         f"SPEC '{HERE}:returns_a_number'", "returned int", "not an Experiment"),
        ("fixed-spec-with-target", lambda t: cli("run", f"{HERE}:FIXED", "--target-theta", "x=1"),
         EXIT, f"SPEC '{HERE}:FIXED'", "fixed Experiment", "no --target-theta, --data or --set"),
        ("set-not-name-value", lambda t: cli("run", "calibration", "--set", "naive"),
         EXIT, "--set 'naive'", "NAME=VALUE"),
        ("set-unknown-option", lambda t: cli("run", "calibration", "--set", "x=1"),
         EXIT, "--set 'x=1'", "no option 'x'", "'reference', 'series', 'statistics'"),
        ("set-twice", lambda t: cli("run", "calibration", "--set", "series=price",
                                    "--set", "series=all"),
         EXIT, "--set series is given twice", "'price'", "'all'"),
        ("set-data-option", lambda t: cli("run", "calibration", "--set", "data=x"),
         EXIT, "--set 'data=x'", "pass data as --data"),
        ("reference-unknown", lambda t: cli("run", "calibration", "--set",
                                            "reference=oracle"),
         EXIT, "reference='oracle'", "'specialist', 'naive', 'adaptive', 'mix'"),
        ("series-without-price", lambda t: cli("run", "calibration", "--set",
                                               "series=mean_forecast"),
         EXIT, "series='mean_forecast'", "must name 'price'", "price is missing"),
        ("statistics-unknown", lambda t: cli("run", "calibration", "--set",
                                             "statistics=mean,kurtosis"),
         EXIT, "statistics='mean,kurtosis'", "unknown statistic 'kurtosis'", "'autocorr'"),
        ("followers-from-no-run", lambda t: cli("run", "calibration", "--out",
                                                str(t / "o"), "--followers-from", str(t)),
         EXIT, "--followers-from", "holds no run", "no config.json"),
        ("bootstrap-negative", lambda t: experiment(bootstrap=-1), ValueError,
         "bootstrap=-1", "0 (no uncertainty report) or a positive integer"),
        ("spec-takes-no-data", lambda t: cli("run", f"{HERE}:takes_nothing", "--data", "x.csv"),
         EXIT, f"SPEC '{HERE}:takes_nothing'", "does not accept --data"),
        ("epochs-bool", lambda t: experiment(epochs=True), ValueError,
         "epochs=True", "positive integer"),
        ("n-copies-zero", lambda t: experiment(n_copies=0), ValueError,
         "n_copies=0", "positive integer"),
        ("fit-columns-a-string", lambda t: experiment(fit_columns="mean_action"), ValueError,
         "fit_columns='mean_action'", "tuple of column names", "('price',)"),
        ("agent-type-not-an-agent", lambda t: experiment(agent_type=int), ValueError,
         "agent_type=<class 'int'>", "mesa.Agent subclass"),
        ("objective-none", lambda t: experiment(objective=None), ValueError,
         "objective=None", "callable"),
        ("algo-unknown", lambda t: experiment(algo="PPOX"), ValueError,
         "SB3 algorithm 'PPOX'", "allowed are [", "'PPO'"),
        ("algo-learning-rate", lambda t: experiment(algo_kwargs={"learning_rate": 1e-3}),
         ValueError, "algo_kwargs sets learning_rate", "Timescales(follower_lr="),
        ("timescales-focus", lambda t: Timescales(focus=1.5), ValueError,
         "Timescales.focus=1.5", "[0, 1]"),
        ("timescales-lr-infinite", lambda t: Timescales(follower_lr=INF), ValueError,
         "Timescales.follower_lr=inf", "finite positive number"),
        ("timescales-followers-bool", lambda t: Timescales(followers=True), ValueError,
         "Timescales.followers=True", "integer >= 1"),
        ("timescales-too-few-rollouts", lambda t: Timescales(eval_rollouts=2, followers=3),
         ValueError, "eval_rollouts=2", "at least followers=3"),
    ],
    "characteristics": [
        ("bounds-reversed", lambda t: Param("lam", 1.0, 0.1), ValueError,
         "'lam'", "low=1.0, high=0.1", "low < high"),
        ("bounds-equal", lambda t: Param("lam", 0.5, 0.5), ValueError,
         "'lam'", "low=0.5, high=0.5", "low < high"),
        ("bounds-nan", lambda t: Param("lam", NAN, 1.0), ValueError, "'lam'", "low=nan", "finite"),
        ("bound-a-string", lambda t: Param("lam", "0", 1.0), ValueError,
         "'lam'", "low='0'", "must be a number"),
        ("default-outside", lambda t: Param("lam", 0.1, 1.0, default=2.0), ValueError,
         "'lam'", "default=2.0", "[0.1, 1.0]"),
        ("name-not-identifier", lambda t: Param("1lam", 0.0, 1.0), ValueError,
         "'1lam'", "Python identifier"),
        ("names-duplicate", lambda t: Characteristics(Param("lam", 0, 1), Param("lam", 0, 2)),
         ValueError, "duplicate parameter names", "['lam']"),
        ("not-a-param", lambda t: Characteristics(Param("lam", 0, 1), "inertia"), ValueError,
         "argument 1", "'inertia' (str)", "not a Param"),
        ("theta-unknown-name", lambda t: SPACE.validate({"speed": 1.0}), ValueError,
         "'speed'", "allowed names are ['lam', 'inertia']"),
        ("theta-bool", lambda t: SPACE.validate({"lam": True}), ValueError,
         "'lam'", "True (bool)", "[0.1, 1]"),
        ("theta-numpy-bool", lambda t: SPACE.validate({"inertia": np.True_}), ValueError,
         "'inertia'", "True", "(bool) is not a number", "[0, 1]"),
        ("theta-string", lambda t: SPACE.validate({"lam": "0.5"}), ValueError,
         "'lam'", "'0.5' (str)", "[0.1, 1]"),
        ("theta-outside", lambda t: SPACE.validate({"lam": 5}), ValueError,
         "'lam'=5.0", "outside its bounds [0.1, 1]"),
        ("theta-nan", lambda t: SPACE.validate({"lam": NAN}), ValueError,
         "'lam'=nan", "not a finite number", "[0.1, 1]"),
        ("theta-not-a-mapping", lambda t: SPACE.validate([0.5, 0.5]), ValueError,
         "theta=[0.5, 0.5]", "mapping", "['lam', 'inertia']"),
        ("theta-incomplete", lambda t: parse_theta("lam=0.5", SPACE), ValueError,
         "missing parameters ['inertia']", "every one of ['lam', 'inertia']"),
        ("theta-vector-shape", lambda t: SPACE.to_dict([0.5]), ValueError,
         "shape (1,)", "expected (2,)", "['lam', 'inertia']"),
    ],
    "samplers": [
        ("mixture-weight-five", lambda t: Mixture(Uniform(), Uniform(), 5), ValueError,
         "Mixture", "weight=5", "[0, 1]"),
        ("mixture-weight-nan", lambda t: Mixture(Uniform(), Uniform(), NAN), ValueError,
         "Mixture", "weight=nan", "[0, 1]"),
        ("mixture-weight-bool", lambda t: Mixture(Uniform(), Uniform(), True), ValueError,
         "Mixture", "weight=True", "[0, 1]"),
        ("mixture-not-a-sampler", lambda t: Mixture(Uniform(), {"lam": 0.5}), ValueError,
         "Mixture", "second={'lam': 0.5}", "must be a Sampler"),
        ("noisy-sigma-inf", lambda t: Noisy(sigma=INF), ValueError,
         "Noisy", "sigma=inf", "finite number >= 0"),
        ("noisy-sigma-negative", lambda t: Noisy(sigma=-0.1), ValueError,
         "Noisy", "sigma=-0.1", "finite number >= 0"),
        ("noisy-sigma-nan", lambda t: Noisy(sigma=NAN), ValueError,
         "Noisy", "sigma=nan", "finite number >= 0"),
        ("normal-std-inf", lambda t: Normal({"lam": 0.5}, std=INF), ValueError,
         "Normal", "std=inf", "finite positive"),
        ("normal-std-zero", lambda t: Normal({"lam": 0.5}, std=0), ValueError,
         "Normal", "std=0", "finite positive"),
        ("grid-one-point", lambda t: Grid(1), ValueError, "Grid", "points=1", "integer >= 2"),
        ("grid-fractional", lambda t: Grid(2.5), ValueError, "Grid", "points=2.5", "integer >= 2"),
        ("categorical-sum", lambda t: Categorical(2, (0.5, 0.6, 0.0, 0.0)), ValueError,
         "Categorical", "[0.5, 0.6, 0.0, 0.0]", "sum to 1.1", "not 1"),
        ("categorical-size", lambda t: SPACE.sample(Categorical(2, (0.5, 0.5)), RNG), ValueError,
         "Categorical", "needs 4 weights", "got 2"),
        ("weighted-lengths", lambda t: Weighted(({"lam": 0.5},), (0.5, 0.5)), ValueError,
         "Weighted", "1 thetas but 2 weights", "one weight per theta"),
        ("weighted-negative", lambda t: Weighted(({"lam": 0.5}, {"lam": 0.6}), (1.5, -0.5)),
         ValueError, "Weighted", "[1.5, -0.5]", "finite and non-negative"),
        ("uniform-low-above-high", lambda t: SPACE.sample(Uniform({"lam": 0.8}, {"lam": 0.2}), RNG),
         ValueError, "Uniform", "low['lam']=0.8", "high['lam']=0.2", "low <= high"),
        ("uniform-outside", lambda t: SPACE.sample(Uniform({"lam": -1.0}), RNG), ValueError,
         "'lam'=-1.0", "outside its bounds [0.1, 1]"),
        ("sample-negative-n", lambda t: SPACE.sample(Uniform(), RNG, -1), ValueError,
         "n=-1", "integer >= 0"),
    ],
    "data files": [
        ("missing-file", lambda t: read_observed(t / "nowhere.csv", "price"), FileNotFoundError,
         "nowhere.csv'", "does not exist"),
        ("a-folder", lambda t: read_observed(t, "price"), ValueError,
         "--data file", "is a folder, not a file", "a CSV file"),
        ("empty-file", read(""), ValueError, "data.csv'", "is not a readable CSV", "No columns"),
        ("not-a-csv", read(b"\x89PNG\r\n\x1a\n\x00\x00"), ValueError,
         "data.csv'", "is not a readable CSV", "decode"),
        ("header-only", read("episode,price\n"), ValueError, "data.csv'", "no rows", "at least 3"),
        ("missing-column", read("episode,volume\n0,1\n0,2\n0,3\n"), ValueError,
         "data.csv'", "no 'price' column", "['episode', 'volume']"),
        ("non-numeric", read("price\n5.1\nabc\n5.3\n"), ValueError,
         "data.csv'", "'price' at row 3", "'abc'", "finite number"),
        ("nan-price", read("price\n5.1\nnan\n5.3\n"), ValueError,
         "data.csv'", "'price' at row 3", "NaN", "finite number"),
        ("inf-price", read("price\n5.1\n5.2\n-inf\n"), ValueError,
         "data.csv'", "'price' at row 4", "-inf", "finite number"),
        ("bool-price", read("price\nTrue\nFalse\nTrue\n"), ValueError,
         "data.csv'", "'price' at row 2", "True", "finite number"),
        ("nan-other-column", read("price,mean_forecast\n5,5\n5,\n5,5\n"), ValueError,
         "data.csv'", "'mean_forecast' at row 3", "empty (or NaN)", "finite number"),
        ("episodes-of-one-step", read(prices(4, 1)), ValueError,
         "data.csv'", "episode 0 has 1 row", "at least 3 steps"),
        ("episodes-unequal", read(prices(2, 4, "2,5.0\n2,5.1\n2,5.2\n")), ValueError,
         "data.csv'", "episode 0 has 4 rows but episode 2 has 3", "same length"),
        ("episode-fractional", read("episode,price\n0.5,1\n0.5,1\n0.5,1\n"), ValueError,
         "data.csv'", "'episode' at row 2", "0.5", "whole number"),
        ("episode-words", read("episode,price\nfirst,1\nfirst,1\nfirst,1\n"), ValueError,
         "data.csv'", "'episode' at row 2", "'first'", "whole number"),
        ("row-longer-than-header", read("price\n5,6\n7\n8\n"), ValueError,
         "data.csv'", "more fields than its header"),
        ("cli-episodes-of-one-step", lambda t: run(t, "--data", str(data_file(t, prices(4, 1)))),
         EXIT, "--data file", "episode 0 has 1 row", "at least 3 steps"),
    ],
    "run folders": [
        ("eval-empty-folder", lambda t: evaluate(t), EXIT,
         "holds no policy.zip", "not the folder of a finished adage run"),
        ("eval-a-file", lambda t: evaluate(data_file(t, "x", "run.txt")), EXIT,
         "RUN_DIR", "run.txt'", "is not a folder", "finished adage run"),
        ("eval-no-config", lambda t: evaluate(not_a_run(t, None)), EXIT,
         "folder holds no config.json", "not the folder of a finished adage run"),
        ("eval-config-not-json", lambda t: evaluate(not_a_run(t, "{epoch: 1")), EXIT,
         "config.json is not readable JSON", "damaged"),
        ("eval-config-a-list", lambda t: evaluate(not_a_run(t, "[1, 2]")), EXIT,
         "config.json holds a list", "not the JSON object adage run writes"),
        ("eval-config-of-another-run", lambda t: evaluate(not_a_run(t, OTHER_CONFIG)), EXIT,
         f"--spec '{TOY}'", "['model'] differ", "pass the spec the run was made with"),
        ("eval-corrupt-policy", lambda t: evaluate(corrupt_policy(t)), EXIT,
         "policy.zip", "cannot be loaded as a PPO policy", "not written by adage run"),
    ],
    "adapt() callables": [
        ("observe-wrong-shape", observe_with(lambda a: [a.x, 0.0]), ValueError,
         "adapt(observe=", "for Walker returned shape (2,)", "expects (1,)"),
        ("observe-strings", observe_with(lambda a: ["far"]), ValueError,
         "adapt(observe=", "returned ['far']", "not numbers", "expects (1,) floats"),
        ("observe-objects", observe_with(lambda a: [object]), ValueError,
         "adapt(observe=", "returned [<class 'object'>]", "not numbers", "expects (1,) floats"),
        ("observe-nan", observe_with(lambda a: [math.nan]), ValueError,
         "adapt(observe=", "returned [nan], a non-finite value", "for Walker agent 1"),
        ("reward-a-list", reward_with(lambda a: [1.0, 2.0]), ValueError,
         "adapt(reward=", "returned [1.0, 2.0]", "must return one number"),
        ("reward-nan", reward_with(lambda a: math.nan), ValueError,
         "adapt(reward=", "returned nan", "rewards must be finite"),
        ("apply-theta-raises", lambda t: street(apply_theta=missing_key)(), ValueError,
         "adapt(apply_theta=missing_key)", "{'speed': 1.0}", "KeyError: 'sped'",
         "every parameter of ['speed']"),
        ("action-outside-its-space", step_with(pick, lambda obs: np.full(len(obs), 5)), ValueError,
         "adapt(act=pick)", "could not take action", "5", "Discrete(2)"),
        ("action-space-kind", lambda t: street(action_space=gym.spaces.MultiBinary(2)), ValueError,
         "action_space=MultiBinary(2)", "Box or Discrete"),
        ("observation-space-2d", lambda t: street(observation_space=gym.spaces.Box(0, 1, (2, 2))),
         ValueError, "observation_space=Box(", "(2, 2)", "1-D gymnasium Box"),
        ("observe-not-callable", lambda t: street(observe="x"), ValueError,
         "observe='x'", "must be callable"),
        ("horizon-zero", lambda t: street(horizon=0), ValueError, "horizon=0", "positive integer"),
        ("decision-missing", lambda t: street(decision="decide"), ValueError,
         "Walker has no method 'decide'", "pass decision="),
        ("model-not-mesa", lambda t: street(model=dict), ValueError,
         "model=<class 'dict'>", "mesa.Model subclass"),
    ],
}
# fmt: on
CASES = [Case(category, *row[:3], row[3:]) for category, rows in TABLE.items() for row in rows]


def says(*fragments: str) -> str:
    """A regex matching a message that holds every fragment, in any order."""
    return "(?s)^" + "".join(f"(?=.*{re.escape(f)})" for f in fragments)


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_clear_error(bad: Case, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a default run folder would land here, never in the checkout
    with pytest.raises(bad.error, match=says(*bad.says)):
        bad.call(tmp_path)


def test_the_table_is_at_least_forty_distinct_inputs_in_every_category() -> None:
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids) >= 40
    assert all(TABLE.values())
    assert all(len(c.says) >= 2 for c in CASES)


def test_bad_data_leaves_no_run_folder(tmp_path: Path) -> None:
    bad = data_file(tmp_path, "episode,price,mean_forecast\n" + "0,5,5\n0,5,\n0,5,5\n")
    with pytest.raises(ExitStatus2, match=says("'mean_forecast' at row 3", "finite number")):
        run(tmp_path, "--data", str(bad))
    assert not (tmp_path / "run").exists()


def test_bad_out_leaves_nothing_behind(tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    blocker = data_file(tmp_path, "x", "blocker")
    with pytest.raises(ExitStatus2, match="--out"):
        cli("run", SPEC, "--quiet", "--out", str(blocker / "a" / "b"))
    assert sorted(tmp_path.rglob("*")) == sorted([*before, blocker])
