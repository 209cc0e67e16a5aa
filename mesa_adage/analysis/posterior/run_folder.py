"""A run's posterior: built after ``adage run --posterior``, asked by ``adage posterior``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from mesa_adage.analysis.posterior.check import predictive_check
from mesa_adage.analysis.posterior.estimator import (
    DRAWS,
    FOLDER,
    LOW_IN_BOX,
    load_estimator,
    train,
)
from mesa_adage.analysis.posterior.prior import Prior
from mesa_adage.analysis.posterior.simulations import simulate_pairs
from mesa_adage.analysis.posterior.summary import Summary
from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import ModelFactory
from mesa_adage.run.data import read_observed
from mesa_adage.run.executors import Executor

METHODS = ("npe",)
"""Posterior methods: ``"npe"``, ``sbi``'s neural posterior estimation."""
DEFAULT_SIMULATIONS = 500
"""Simulated data sets the estimator trains on unless the user says otherwise."""
SAMPLES, PAIRPLOT = "samples.csv", "pairplot.png"
"""The files beside the estimator: the observed data's posterior samples and their plot."""
SIMULATIONS = "simulations.npz"
"""The simulated pairs the estimator trained on (``thetas``, ``summaries``, ``members``): a
new estimator can be trained from them without simulating again."""


@dataclass(frozen=True)
class PosteriorRequest:
    """What the user asked for: ``adage run SPEC --posterior npe --posterior-simulations N``.

    Attributes:
        method: One of :data:`METHODS`.
        simulations: Simulated data sets to train on.
        prior: ``--prior NAME=KIND(A,B)`` options (:class:`~.prior.Prior`); none: uniform
            over the box. Checked against the characteristics by :meth:`prior_over`.

    Raises:
        ValueError: Naming the option, the value and what is allowed.
    """

    method: str = "npe"
    simulations: int = DEFAULT_SIMULATIONS
    prior: tuple[str, ...] = ()

    def prior_over(self, space: Characteristics) -> Prior:
        """The prior these options describe over ``space``.

        Raises:
            ValueError: Naming the option and what is allowed (:meth:`Prior.parse`).
        """
        return Prior.parse(self.prior, space)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"--posterior {self.method!r} is unknown; allowed are {list(METHODS)}")
        n = self.simulations
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 20):
            raise ValueError(
                f"--posterior-simulations {n!r} must be an integer >= 20 (the estimator holds "
                "out a tenth of them to know when to stop training)"
            )


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
        The report for ``summary.json`` (:meth:`Estimator.report`), with the simulation time,
        the observed data's goodness of fit (:meth:`Estimator.fit_of`) and
        :func:`predictive_check`;
        or, when the estimator refuses the observed data (:meth:`Estimator.sample`), the
        method, the simulations and the ``error``.
    """
    from mesa_adage.analysis import plots

    summary = Summary.of(objective)
    start = time.perf_counter()
    prior = request.prior_over(space)
    thetas, xs, members = simulate_pairs(
        space,
        make_model,
        agent_type,
        policies,
        summary,
        request.simulations,
        seed,
        executor=executor,
        progress=progress,
        prior=prior,
    )
    simulate_seconds = time.perf_counter() - start
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / SIMULATIONS, thetas=thetas, summaries=xs, members=members)
    estimator = train(space, summary, thetas, xs, seed)
    estimator.save(folder)  # kept even when these data are refused: it answers others
    try:
        samples = estimator.sample(data, "the run's observed data")
    except ValueError as err:  # the run keeps its answer; the summary says why no posterior
        return {"method": request.method, "simulations": request.simulations, "error": str(err)}
    samples.to_csv(folder / SAMPLES, index=False)
    report = estimator.report(samples, target)
    report["fit"] = estimator.fit_of(data, "the run's observed data")
    report["prior"] = prior.describe(space)
    report["predictive_check"] = predictive_check(
        estimator, samples, data, make_model, agent_type, policies, executor=executor
    )
    box = dict(zip(estimator.names, estimator.box, strict=True))
    plots.plot_pairs(samples, box, target, folder / PAIRPLOT, report["credible_intervals"])
    report["simulate_seconds"] = round(simulate_seconds, 2)
    return report


def load_simulations(run_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The thetas, summaries and members a run's estimator trained on (:data:`SIMULATIONS`).

    Raises:
        FileNotFoundError: If the run folder holds none (runs before they were kept).
    """
    path = Path(run_dir) / FOLDER / SIMULATIONS
    if not path.is_file():
        raise FileNotFoundError(
            f"RUN_DIR {str(run_dir)!r} holds no {FOLDER}/{SIMULATIONS}: its posterior was made "
            "before the simulations were kept; make it again with adage run SPEC --posterior npe"
        )
    with np.load(path) as saved:
        return saved["thetas"], saved["summaries"], saved["members"]


def answer_run_folder(
    run_dir: Path, data: Path, *, draws: int = DRAWS, seed: int | None = None
) -> tuple[dict[str, Any], pd.DataFrame]:
    """``adage posterior RUN_DIR --data x.csv``: a finished run's estimator answers new data.

    Nothing is simulated: the data are summarised, the trained estimator sampled, and the
    data's goodness of fit tested against the run's simulations (:meth:`Estimator.fit_of`).

    Raises:
        FileNotFoundError: If the folder has no estimator, or the file does not exist.
        ValueError: If the file is not readable or does not fit the estimator (naming what
            differs), or the estimator is damaged.
    """
    estimator = load_estimator(run_dir)
    frame = read_observed(data, estimator.summary.columns[0])
    where = f"--data file {str(data)!r}"
    samples = estimator.sample(frame, where, draws=draws, seed=seed)
    return {**estimator.report(samples), "fit": estimator.fit_of(frame, where)}, samples


def posterior_lines(report: Mapping[str, Any]) -> list[str]:
    """A table of the posterior: per parameter its mean and credible interval; the fit."""
    level = f"{report['level']:.0%} credible"
    lines = [f"{'parameter':<12}{'mean':>10}{'std':>10}  {level}"]
    for name, (low, high) in report["credible_intervals"].items():
        mean, std = report["mean"][name], report["std"][name]
        lines.append(f"{name:<12}{mean:>10.4g}{std:>10.4g}  [{low:.4g}, {high:.4g}]")
    fit = report.get("fit")
    if fit is not None:
        lines.append(
            f"goodness of fit: p = {fit['p_value']:.3g} ({fit['verdict']}), against the "
            f"run's {fit['simulations']} simulations refit alike"
        )
    return lines + posterior_warnings(report)


def posterior_warnings(report: Mapping[str, Any]) -> list[str]:
    """Warnings that the data may lie outside what the followers make.

    One when little of the estimator's posterior fell inside the prior box, one when the
    goodness-of-fit test says the data fit poorly, one when the :func:`predictive_check`
    flagged the data.
    """
    out = []
    share = report.get("in_prior", 1.0)
    if share < LOW_IN_BOX:
        out.append(
            f"warning: only {share:.0%} of the estimator's posterior fell inside the prior box: "
            "the data may lie outside what the model's followers make (mis-specified); read "
            "the posterior with care"
        )
    fit = report.get("fit")
    if fit is not None and fit["verdict"] == "poor fit":
        out.append(
            f"warning: poor fit (p = {fit['p_value']:.3g}): refit at their posterior median, "
            f"the data lie farther from what the followers make there than all but "
            f"{fit['p_value']:.1%} of the {fit['simulations']} simulations, refit alike "
            "(mis-specified?); read the posterior with care"
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
