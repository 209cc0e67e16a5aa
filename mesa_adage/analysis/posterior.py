"""An amortised posterior for a calibration: neural posterior estimation on the followers.

A calibration's leader returns one theta. Simulation-based inference returns a distribution:
draw theta from the prior (the characteristics' box, uniform), simulate a data set at each
draw, summarise it, and train a neural density estimator of theta given the summary (``sbi``'s
neural posterior estimation, NPE). The theta-conditioned followers make the simulator cheap:
one trained population plays any theta without retraining. Once trained, the estimator answers
any data set of the same shape without simulating again.

- **Simulations** (:func:`simulate_pairs`): each is a data set the size of the observed one
  (as many episodes, as many steps), all played by *one* member of the follower population
  chosen at random, so the learners' disagreement is part of the posterior.
- **Summary** (:class:`Summary`): the calibration's own statistics of its matched columns,
  the vector its objective compares (each statistic's mean over episodes, and for
  ``path_mae`` the mean path).
- **Estimator** (:class:`Estimator`): ``sbi``'s NPE, trained from a seed (same seed, same
  posterior), saved in the run folder's ``posterior/`` with what re-summarises new data.
- **Check** (:func:`predictive_check`): a posterior predictive check. Data sets simulated at
  posterior draws are compared with the data; data farther from them than every one of them
  are flagged: the followers do not make data like these, at any theta the posterior believes.

``sbi`` is an optional extra (``pip install "mesa-adage[sbi]"``), imported only by the
functions that need it.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import ModelFactory, simulate
from mesa_adage.outer.objectives import Calibration
from mesa_adage.outer.statistics import EPISODE_COLUMNS, STATISTICS, episodes
from mesa_adage.run.data import read_observed
from mesa_adage.run.executors import Executor, SerialExecutor
from mesa_adage.seeds import POSTERIOR, derive_seed

__all__ = [
    "DEFAULT_SIMULATIONS",
    "METHODS",
    "Estimator",
    "MissingExtraError",
    "PREDICTIVE_SIMULATIONS",
    "PosteriorRequest",
    "Summary",
    "answer_run_folder",
    "load_estimator",
    "posterior_for_run",
    "posterior_lines",
    "predictive_check",
    "require_sbi",
    "simulate_pairs",
    "train",
]

METHODS = ("npe",)
"""Posterior methods: ``"npe"``, ``sbi``'s neural posterior estimation."""
DEFAULT_SIMULATIONS = 500
"""Simulated data sets the estimator trains on unless the user says otherwise."""
FOLDER = "posterior"
"""The run folder's sub-folder of the posterior."""
ESTIMATOR, SAMPLES, PAIRPLOT = "estimator.pt", "samples.csv", "pairplot.png"
LEVEL = 0.9
"""Probability of the credible intervals (the 5th to the 95th percentile)."""
DRAWS = 4000
"""Posterior samples drawn for a data set."""
BATCH_EPISODES = 512
"""Episodes played in lockstep in one simulation task; fixed, so every executor agrees."""
FORMAT = 1
"""Version of the estimator file's layout."""
RESTARTS = 4
"""Trainings from different seeds; the one with the best validation loss is kept. One
training in four to eight failed (intervals over half the range where the others gave a
tenth) and its validation loss showed it."""
MIN_IN_BOX = 0.01
"""Below this share of the estimator's posterior inside the prior box, data are refused."""
LOW_IN_BOX = 0.5
"""Below this share, the answer warns that the data may lie outside what the model makes."""
NEGLIGIBLE = 1e-6
"""A summary entry whose spread across the simulations is below this share of the largest
spread among its series' entries is left out: it carries rounding noise, not information."""

PREDICTIVE_SIMULATIONS = 20
"""Data sets a posterior predictive check simulates; data farther than all of them are
flagged, which data the followers make are with probability at most 1 in 21."""

# The streams of the POSTERIOR purpose (derive_seed's ``member``).
_PRIOR, _EPISODES, _TRAIN, _SAMPLE, _CHECK = range(5)


class MissingExtraError(ImportError):
    """The ``sbi`` extra is not installed."""


def require_sbi() -> Any:
    """The ``sbi`` package, imported now.

    Raises:
        MissingExtraError: If it is not installed, naming the extra that installs it.
    """
    try:
        return importlib.import_module("sbi")
    except ImportError as err:
        raise MissingExtraError(
            f"the posterior needs the sbi package ({err}); install it with: "
            'pip install "mesa-adage[sbi]"'
        ) from None


@dataclass(frozen=True)
class PosteriorRequest:
    """What the user asked for: ``adage run SPEC --posterior npe --posterior-simulations N``.

    Attributes:
        method: One of :data:`METHODS`.
        simulations: Simulated data sets to train on.

    Raises:
        ValueError: Naming the option, the value and what is allowed.
    """

    method: str = "npe"
    simulations: int = DEFAULT_SIMULATIONS

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"--posterior {self.method!r} is unknown; allowed are {list(METHODS)}")
        n = self.simulations
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 20):
            raise ValueError(
                f"--posterior-simulations {n!r} must be an integer >= 20 (the estimator holds "
                "out a tenth of them to know when to stop training)"
            )


@dataclass(frozen=True)
class Summary:
    """How a data set becomes the vector the estimator conditions on, and which data fit.

    Attributes:
        columns: The series matched, in order.
        statistics: The calibration's statistics, each taken of every column.
        episodes: Episodes in a data set.
        steps: Steps in an episode.
    """

    columns: tuple[str, ...]
    statistics: tuple[str, ...]
    episodes: int
    steps: int

    @classmethod
    def of(cls, objective: object) -> Summary:
        """The summary of a calibration objective built from observed data.

        Raises:
            ValueError: If ``objective`` is not a :class:`~mesa_adage.outer.objectives.Calibration`.
        """
        if not isinstance(objective, Calibration):
            raise ValueError(
                f"--posterior needs a calibration objective (mesa_adage.outer.objectives."
                f"calibration), not {objective!r}: the posterior summarises data with its "
                "statistics"
            )
        shapes = {column: target.shape for column, target in objective.targets.items()}
        (episodes_, steps), *_ = shapes.values()
        return cls(tuple(shapes), tuple(objective.statistics), int(episodes_), int(steps))

    def names(self) -> list[str]:
        """The name of every entry of the vector, ``column:statistic`` (``[step]`` for paths)."""
        return [
            f"{c}:{s}" + (f"[{t}]" if s == "path_mae" else "")
            for c in self.columns
            for s in self.statistics
            for t in (range(self.steps) if s == "path_mae" else [0])
        ]

    def vector(self, series: Mapping[str, np.ndarray]) -> np.ndarray:
        """The flat summary of one data set's ``(episodes, steps)`` arrays by column."""
        parts = [
            series[c].mean(axis=0) if s == "path_mae" else [STATISTICS[s](series[c]).mean()]
            for c in self.columns
            for s in self.statistics
        ]
        return np.concatenate([np.asarray(p, dtype=float) for p in parts])

    def check(self, data: pd.DataFrame, where: str) -> dict[str, np.ndarray]:
        """The series of ``data`` as arrays, if the data fit; else an error naming what differs.

        Args:
            data: Observed data: the columns, optionally ``episode`` and ``step``.
            where: What names the data in an error (``--data file 'x.csv'``).

        Raises:
            ValueError: If a column is missing or extra, a value is not finite, or the data
                hold another number of episodes or steps per episode than the estimator's.
        """
        series = [c for c in data.columns if c not in EPISODE_COLUMNS]
        missing = [c for c in self.columns if c not in series]
        extra = [c for c in series if c not in self.columns]
        if missing or extra:
            pairs = (("missing", missing), ("extra", extra))
            differs = "; ".join(f"{what} {names}" for what, names in pairs if names)
            raise ValueError(
                f"{where} has columns {series}, the estimator was trained on {list(self.columns)} "
                f"({differs}); give data with exactly those series (episode and step may be added)"
            )
        arrays = {}
        for column in self.columns:
            try:
                arrays[column] = episodes(data, column)
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
        found = arrays[self.columns[0]].shape
        for name, have, want in (
            ("episodes", found[0], self.episodes),
            ("steps per episode", found[1], self.steps),
        ):
            if have != want:
                raise ValueError(
                    f"{where} has {have} {name}, the estimator was trained on data sets of "
                    f"{want}; its posterior is only calibrated for data of that shape "
                    f"({self.episodes} episodes of {self.steps} steps)"
                )
        return arrays


def _simulate_summaries(
    task: tuple[ModelFactory, type[mesa.Agent], Policy, list[Theta], list[list[int]], Summary],
) -> np.ndarray:
    """One task: several simulated data sets, played in lockstep by one policy; summaries."""
    make_model, agent_type, policy, thetas, seeds, summary = task
    flat = [theta for theta, own in zip(thetas, seeds, strict=True) for _ in own]
    played = simulate(make_model, flat, {agent_type: policy}, [s for own in seeds for s in own])
    e = summary.episodes
    out = []
    for i in range(len(thetas)):
        series = {c: episodes(played[i * e : (i + 1) * e], c) for c in summary.columns}
        steps = series[summary.columns[0]].shape[1]
        if steps != summary.steps:
            raise ValueError(
                f"the model's episodes have {steps} steps, the observed data's {summary.steps}; "
                "a posterior simulates data shaped like the observed: make the model's horizon "
                "the data's episode length"
            )
        out.append(summary.vector(series))
    return np.stack(out)


def simulate_pairs(
    space: Characteristics,
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Sequence[Policy],
    summary: Summary,
    simulations: int,
    seed: int,
    *,
    executor: Executor | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw theta from the box (uniform), simulate a data set at each, summarise it.

    Every data set has ``summary.episodes`` episodes on seeds of its own, all played by one
    member of ``policies`` chosen at random. The tasks are split by the problem alone (at
    most :data:`BATCH_EPISODES` episodes, of one member), never by the executor.

    Args:
        space: The characteristics; the prior is uniform over their box.
        make_model: Episode factory (its horizon must be the data's episode length).
        agent_type: The class the policies act for.
        policies: The follower population.
        summary: How a data set is summarised.
        simulations: Data sets to simulate.
        seed: Seed of the draws and the episodes.
        executor: Where the tasks run.
        progress: Show a bar of the simulations.

    Returns:
        Thetas ``(simulations, parameters)``, summaries ``(simulations, len(summary.names()))``
        and the member that played each.
    """
    rng = np.random.default_rng(derive_seed(seed, 0, POSTERIOR, _PRIOR))
    lows, highs = _box(space)
    thetas = lows + (highs - lows) * rng.random((simulations, len(space)))
    members = rng.integers(0, len(policies), simulations)
    xs = _play(
        make_model,
        agent_type,
        policies,
        summary,
        [space.to_dict(theta) for theta in thetas],
        members,
        derive_seed(seed, 0, POSTERIOR, _EPISODES),
        executor=executor,
        progress=progress,
    )
    return thetas, xs, members


def _play(
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Sequence[Policy],
    summary: Summary,
    thetas: list[Theta],
    members: np.ndarray,
    first: int,
    *,
    executor: Executor | None = None,
    progress: bool = False,
) -> np.ndarray:
    """The summaries of data sets at ``thetas``, data set ``i`` played by ``members[i]``.

    Data set ``i``'s episodes are seeded ``first + i * episodes + j``. The tasks are split by
    the problem alone (at most :data:`BATCH_EPISODES` episodes, of one member), never by the
    executor.
    """
    e = summary.episodes
    per_task = max(1, BATCH_EPISODES // e)
    tasks, places = [], []
    for member in range(len(policies)):
        mine = np.flatnonzero(members == member)
        for start in range(0, len(mine), per_task):
            chunk = mine[start : start + per_task]
            tasks.append(
                (
                    make_model,
                    agent_type,
                    policies[member],
                    [thetas[i] for i in chunk],
                    [[first + int(i) * e + j for j in range(e)] for i in chunk],
                    summary,
                )
            )
            places.append(chunk)
    xs = np.empty((len(thetas), len(summary.names())))
    runner = executor or SerialExecutor()
    with tqdm(total=len(thetas), desc="  posterior simulations", disable=not progress) as bar:
        done = runner.map(
            _simulate_summaries, tasks, on_result=lambda i, _: bar.update(len(places[i]))
        )
    for chunk, values in zip(places, done, strict=True):
        xs[chunk] = values
    return xs


def _box(space: Characteristics) -> tuple[np.ndarray, np.ndarray]:
    """The box's lower and upper bounds, as vectors."""
    return (
        np.array([p.low for p in space.params], dtype=float),
        np.array([p.high for p in space.params], dtype=float),
    )


@dataclass
class Estimator:
    """A trained posterior: ``sbi``'s NPE and what it needs to answer new data.

    Attributes:
        posterior: The ``sbi`` posterior (a ``DirectPosterior``).
        names: Parameter names, in the order of the posterior's dimensions.
        box: Each parameter's ``(low, high)``: the uniform prior.
        summary: How data are summarised, and which data fit.
        keep: The summary's entries the estimator reads (:data:`NEGLIGIBLE` ones are not).
        simulations: Simulated data sets it was trained on.
        seed: Seed of the training (and of the samples it draws by default).
        train_seconds: Wall time of the training.
    """

    posterior: Any
    names: tuple[str, ...]
    box: tuple[tuple[float, float], ...]
    summary: Summary
    keep: tuple[int, ...]
    simulations: int
    seed: int
    train_seconds: float

    def sample(
        self,
        data: pd.DataFrame,
        where: str = "data",
        *,
        draws: int = DRAWS,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """Posterior samples of theta given observed ``data``, one column per parameter.

        Args:
            data: Observed data of the estimator's shape (:meth:`Summary.check`).
            where: What names the data in an error.
            draws: Samples to draw.
            seed: Seed of the samples (default the estimator's): same seed, same samples.

        Raises:
            ValueError: If the data do not fit (:meth:`Summary.check`), or less than
                :data:`MIN_IN_BOX` of the estimator's posterior lies inside the prior box.
        """
        x = self.summary.vector(self.summary.check(data, where))[list(self.keep)]
        sampling = derive_seed(self.seed if seed is None else seed, 0, POSTERIOR, _SAMPLE)
        low, high = (torch.tensor(b, dtype=torch.float32) for b in zip(*self.box, strict=True))
        kept, share = [], 1.0
        with torch.random.fork_rng(), torch.no_grad():  # sbi draws from torch's generator
            torch.manual_seed(sampling)
            observed = torch.as_tensor(x, dtype=torch.float32)
            # Rejection outside the box, done here: sbi's own loops without end when the
            # estimator puts almost no mass in the box (data the model cannot make).
            while sum(len(k) for k in kept) < draws:
                with warnings.catch_warnings():  # sbi warns of the leak counted here
                    warnings.filterwarnings("ignore", message=".*lie outside the prior support")
                    drawn = self.posterior.sample(
                        (draws,), x=observed, reject_outside_prior=False, show_progress_bars=False
                    )
                inside = ((drawn >= low) & (drawn <= high)).all(dim=1)
                if not kept:
                    share = float(inside.float().mean())
                    if share < MIN_IN_BOX:
                        raise ValueError(
                            f"{where}: only {share:.2%} of the estimator's posterior lies inside "
                            f"the prior box {dict(zip(self.names, self.box, strict=True))}: the "
                            "data lie outside what the model's followers make (another kind "
                            "of producer, or other data), and the posterior would be an "
                            "extrapolation"
                        )
                kept.append(drawn[inside])
        samples = torch.cat(kept)[:draws].detach().numpy().astype(float)
        frame = pd.DataFrame(samples, columns=list(self.names))
        frame.attrs["in_prior"] = share
        return frame

    def report(
        self, samples: pd.DataFrame, target: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """Per parameter the posterior mean, median, std and :data:`LEVEL` credible interval.

        With a known ``target``, whether each interval covers it. JSON-ready.
        """
        tail = 100 * (1 - LEVEL) / 2
        out: dict[str, Any] = {"method": "npe", "level": LEVEL, "draws": len(samples)}
        out["mean"] = {n: float(samples[n].mean()) for n in self.names}
        out["median"] = {n: float(samples[n].median()) for n in self.names}
        out["std"] = {n: float(samples[n].std()) for n in self.names}
        out["credible_intervals"] = {
            n: [float(v) for v in np.percentile(samples[n], [tail, 100 - tail])] for n in self.names
        }
        out["interval_share"] = {
            n: round((high - low) / (self.box[i][1] - self.box[i][0]), 4)
            for i, (n, (low, high)) in enumerate(out["credible_intervals"].items())
        }
        if target is not None:
            out["covers_target"] = {
                n: bool(low <= target[n] <= high)
                for n, (low, high) in out["credible_intervals"].items()
            }
        out["summary_entries"] = len(self.keep)
        out["in_prior"] = round(float(samples.attrs.get("in_prior", 1.0)), 4)
        out.update(simulations=self.simulations, seed=self.seed)
        out["train_seconds"] = round(self.train_seconds, 2)
        return out

    def save(self, folder: Path) -> Path:
        """Write the estimator to ``folder/estimator.pt`` (made if missing); its path."""
        folder.mkdir(parents=True, exist_ok=True)
        sbi = require_sbi()
        path = folder / ESTIMATOR
        tmp = path.with_name(path.name + ".tmp")
        state = {
            "format": FORMAT,
            "sbi": sbi.__version__,
            "posterior": self.posterior,
            "names": list(self.names),
            "box": [list(b) for b in self.box],
            "summary": {**asdict(self.summary)},
            "keep": list(self.keep),
            "simulations": self.simulations,
            "seed": self.seed,
            "train_seconds": self.train_seconds,
        }
        torch.save(state, tmp)
        tmp.replace(path)
        return path


class _Untracked:
    """An ``sbi`` tracker that keeps nothing.

    By default ``sbi`` writes TensorBoard logs to ``./sbi-logs`` of whatever folder the user
    is in.
    """

    log_dir = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Drop a metric."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Drop metrics."""

    def log_params(self, params: dict[str, Any]) -> None:
        """Drop parameters."""

    def add_figure(self, name: str, figure: Any, step: int | None = None) -> None:
        """Drop a figure."""

    def flush(self) -> None:
        """Nothing to flush."""


def train(
    space: Characteristics,
    summary: Summary,
    thetas: np.ndarray,
    xs: np.ndarray,
    seed: int,
    *,
    restarts: int = RESTARTS,
) -> Estimator:
    """Train ``sbi``'s NPE on ``(theta, summary)`` pairs.

    The density estimator is a masked autoregressive flow (a mixture of Gaussians for a
    single parameter), trained ``restarts`` times from derived seeds; the one with the best
    validation loss is kept. Summary entries that do not vary are left out
    (:func:`informative`).

    Training runs on torch's generator seeded from ``seed`` (the caller's generator is left
    as it was), so the same pairs and seed give the same estimator.

    Raises:
        MissingExtraError: If ``sbi`` is missing (naming the extra).
        ValueError: If a summary is not finite.
    """
    require_sbi()
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    bad = ~np.isfinite(xs).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} of {len(xs)} simulated summaries are not finite (first at theta "
            f"{space.to_dict(thetas[np.flatnonzero(bad)[0]])}); the followers' episodes "
            "must give finite statistics"
        )
    keep = informative(summary, xs)
    if not len(keep):
        raise ValueError(
            f"none of the {xs.shape[1]} summary entries varies across the {len(xs)} "
            "simulations: the followers' data do not depend on theta"
        )
    lows, highs = _box(space)
    start = time.perf_counter()
    best: tuple[float, Any] | None = None
    for restart in range(restarts):
        with torch.random.fork_rng():
            torch.manual_seed(derive_seed(seed, restart, POSTERIOR, _TRAIN))
            prior = BoxUniform(
                low=torch.as_tensor(lows, dtype=torch.float32),
                high=torch.as_tensor(highs, dtype=torch.float32),
            )
            # A flow over one dimension is a Gaussian; a mixture can be skewed or bimodal.
            family = "maf" if len(space) > 1 else "mdn"
            inference = NPE(
                prior=prior,
                density_estimator=family,
                tracker=_Untracked(),
                show_progress_bars=False,
            )
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                # sbi prints that training converged, and warns of summaries that do not vary
                # (a series that settles to a constant): z-scoring maps them to zero.
                warnings.filterwarnings("ignore", message="Data has constant values")
                inference.append_simulations(
                    torch.as_tensor(thetas, dtype=torch.float32),
                    torch.as_tensor(xs[:, keep], dtype=torch.float32),
                )
                estimator = inference.train(show_train_summary=False)
        loss = float(inference.summary["best_validation_loss"][-1])
        if best is None or loss < best[0]:
            best = (loss, inference.build_posterior(estimator))
    assert best is not None
    posterior = best[1]
    return Estimator(
        posterior,
        tuple(space.names),
        tuple(zip(lows.tolist(), highs.tolist(), strict=True)),
        summary,
        tuple(int(i) for i in keep),
        len(thetas),
        seed,
        time.perf_counter() - start,
    )


def informative(summary: Summary, xs: np.ndarray) -> np.ndarray:
    """The indices of the summary entries that vary across the simulations ``xs``.

    An entry whose spread is below :data:`NEGLIGIBLE` times the largest spread among its own
    series' entries is left out (a forecast dispersion that settles to zero: rounding noise
    there, scaled up by standardising, made training fail).
    """
    spread = xs.std(axis=0)
    series = np.array([name.split(":")[0] for name in summary.names()])
    largest = np.array([spread[series == c].max() for c in series])
    return np.flatnonzero(spread > NEGLIGIBLE * largest)


def predictive_check(
    estimator: Estimator,
    samples: pd.DataFrame,
    data: pd.DataFrame,
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Sequence[Policy],
    *,
    simulations: int = PREDICTIVE_SIMULATIONS,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """A posterior predictive check: could the followers have made ``data``?

    ``simulations`` data sets are played at posterior draws (from ``samples``), each by one
    member of ``policies`` chosen at random. The data and the simulated sets, summarised as
    the estimator reads them, are standardised together entry by entry, and each one's
    distance from their common mean is taken. Had the followers made the data, the data's
    distance would rank anywhere among the ``simulations + 1``; data farther than every
    simulation are ``flagged``, a false alarm at most once in ``simulations + 1`` (the
    posterior was fitted to the data, which only pulls the simulations towards them). NPE
    can sit confidently inside the prior box on data no theta makes: this checks the data.

    Args:
        estimator: The estimator that drew ``samples``.
        samples: Posterior samples for ``data`` (:meth:`Estimator.sample`).
        data: The data, of the estimator's shape.
        make_model: The experiment's episode factory.
        agent_type: The class the followers act for.
        policies: The follower population.
        simulations: Data sets to simulate.
        executor: Where they are played.

    Returns:
        ``predictive_p`` (the share of the ``simulations + 1`` sets at least as far as the
        data), ``distance_ratio`` (the data's distance over the simulations' median),
        ``flagged`` and ``predictive_simulations``; JSON-ready.
    """
    summary, keep = estimator.summary, list(estimator.keep)
    x = summary.vector(summary.check(data, "the data"))[keep]
    rng = np.random.default_rng(derive_seed(estimator.seed, 0, POSTERIOR, _CHECK))
    draws = samples.iloc[rng.integers(0, len(samples), simulations)]
    thetas = [{n: float(row[n]) for n in estimator.names} for _, row in draws.iterrows()]
    members = rng.integers(0, len(policies), simulations)
    first = derive_seed(estimator.seed, 1, POSTERIOR, _CHECK)
    xs = _play(make_model, agent_type, policies, summary, thetas, members, first, executor=executor)
    every = np.vstack([x[None, :], xs[:, keep]])
    scale = every.std(axis=0)
    scale[scale == 0] = 1.0  # an entry that no set moves tells none apart
    distance = np.linalg.norm((every - every.mean(axis=0)) / scale, axis=1)
    return {
        "predictive_p": float(np.mean(distance >= distance[0])),
        "distance_ratio": round(float(distance[0] / np.median(distance[1:])), 3),
        "flagged": bool(distance[0] > distance[1:].max()),
        "predictive_simulations": simulations,
    }


def load_estimator(run_dir: Path) -> Estimator:
    """The estimator of a finished run's folder (``posterior/estimator.pt``), and only there.

    Raises:
        FileNotFoundError: If the folder holds none (naming how to make one).
        ValueError: If the file is damaged or of another layout.
        MissingExtraError: If ``sbi`` is missing (naming the extra).
    """
    path = Path(run_dir) / FOLDER / ESTIMATOR
    if not path.is_file():
        what = "is not a folder" if not Path(run_dir).is_dir() else f"holds no {FOLDER}/{ESTIMATOR}"
        raise FileNotFoundError(
            f"RUN_DIR {str(run_dir)!r} {what}: it has no posterior; make one with adage run "
            "SPEC --posterior npe (pass that run's folder)"
        )
    require_sbi()
    try:
        # The estimator is a pickled sbi object: it is read only from the run folder named.
        state = torch.load(path, weights_only=False)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"its layout is not format {FORMAT}")
        return Estimator(
            state["posterior"],
            tuple(state["names"]),
            tuple((float(a), float(b)) for a, b in state["box"]),
            Summary(**{**state["summary"], "columns": tuple(state["summary"]["columns"])}),
            tuple(int(i) for i in state["keep"]),
            int(state["simulations"]),
            int(state["seed"]),
            float(state["train_seconds"]),
        )
    except Exception as err:  # unpickling raises many kinds for a damaged file
        raise ValueError(
            f"{path} cannot be loaded as a posterior estimator ({type(err).__name__}: {err}); "
            "it is damaged or was not written by adage run --posterior: make it again"
        ) from None


def posterior_for_run(
    request: PosteriorRequest,
    space: Characteristics,
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Sequence[Policy],
    objective: object,
    data: pd.DataFrame,
    folder: Path,
    seed: int,
    *,
    target: Theta | None = None,
    executor: Executor | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Build a run's posterior and write ``folder`` (samples, estimator, pair plot).

    Args:
        request: The method and the number of simulations.
        space: The characteristics (the prior's box).
        make_model: The experiment's episode factory.
        agent_type: The class the followers act for.
        policies: The final follower population.
        objective: The calibration objective built from ``data``.
        data: The observed data.
        folder: Where to write (the run folder's ``posterior/``).
        seed: The run's seed.
        target: The true theta, if known (marked in the plot, checked for coverage).
        executor: Where the simulations run.
        progress: Show a bar of the simulations.

    Returns:
        The report for ``summary.json`` (:meth:`Estimator.report`), with the simulation time
        and the observed data's :func:`predictive_check`;
        or, when the estimator refuses the observed data (:meth:`Estimator.sample`), the
        method, the simulations and the ``error``.
    """
    from mesa_adage.analysis import plots

    summary = Summary.of(objective)
    start = time.perf_counter()
    thetas, xs, _ = simulate_pairs(
        space,
        make_model,
        agent_type,
        policies,
        summary,
        request.simulations,
        seed,
        executor=executor,
        progress=progress,
    )
    simulate_seconds = time.perf_counter() - start
    estimator = train(space, summary, thetas, xs, seed)
    folder.mkdir(parents=True, exist_ok=True)
    estimator.save(folder)  # kept even when these data are refused: it answers others
    try:
        samples = estimator.sample(data, "the run's observed data")
    except ValueError as err:  # the run keeps its answer; the summary says why no posterior
        return {"method": request.method, "simulations": request.simulations, "error": str(err)}
    samples.to_csv(folder / SAMPLES, index=False)
    report = estimator.report(samples, target)
    report["predictive_check"] = predictive_check(
        estimator, samples, data, make_model, agent_type, policies, executor=executor
    )
    box = dict(zip(estimator.names, estimator.box, strict=True))
    plots.plot_pairs(samples, box, target, folder / PAIRPLOT, report["credible_intervals"])
    report["simulate_seconds"] = round(simulate_seconds, 2)
    return report


def answer_run_folder(
    run_dir: Path, data: Path, *, draws: int = DRAWS, seed: int | None = None
) -> tuple[dict[str, Any], pd.DataFrame]:
    """``adage posterior RUN_DIR --data x.csv``: a finished run's estimator answers new data.

    Nothing is simulated: the data are summarised and the trained estimator sampled.

    Raises:
        FileNotFoundError: If the folder has no estimator, or the file does not exist.
        ValueError: If the file is not readable or does not fit the estimator (naming what
            differs), or the estimator is damaged.
    """
    estimator = load_estimator(run_dir)
    frame = read_observed(data, estimator.summary.columns[0])
    samples = estimator.sample(frame, f"--data file {str(data)!r}", draws=draws, seed=seed)
    return estimator.report(samples), samples


def posterior_lines(report: Mapping[str, Any]) -> list[str]:
    """A table of the posterior: per parameter its mean and credible interval."""
    level = f"{report['level']:.0%} credible"
    lines = [f"{'parameter':<12}{'mean':>10}{'std':>10}  {level}"]
    for name, (low, high) in report["credible_intervals"].items():
        mean, std = report["mean"][name], report["std"][name]
        lines.append(f"{name:<12}{mean:>10.4g}{std:>10.4g}  [{low:.4g}, {high:.4g}]")
    return lines + posterior_warnings(report)


def posterior_warnings(report: Mapping[str, Any]) -> list[str]:
    """Warnings that the data may lie outside what the followers make.

    One when little of the estimator's posterior fell inside the prior box, one when the
    :func:`predictive_check` flagged the data.
    """
    out = []
    share = report.get("in_prior", 1.0)
    if share < LOW_IN_BOX:
        out.append(
            f"warning: only {share:.0%} of the estimator's posterior fell inside the prior box: "
            "the data may lie outside what the model's followers make (mis-specified); read "
            "the posterior with care"
        )
    check = report.get("predictive_check")
    if check is not None and check["flagged"]:
        out.append(
            f"warning: the posterior predictive check failed: the data are farther from the "
            f"{check['predictive_simulations']} data sets the followers made at posterior draws "
            f"than every one of them ({check['distance_ratio']:.3g} times their median "
            "distance): the followers do not make data like these (mis-specified); the "
            "posterior is not to be trusted"
        )
    return out
