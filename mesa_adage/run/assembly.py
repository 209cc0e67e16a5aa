"""Assembly: an :class:`~mesa_adage.run.experiment.Experiment` made into the parts of one run.

The experiment describes a task; this module builds what runs it, in one place: the leader,
the run folder, the executor, the observed data, the followers and the evaluator. The
:class:`~mesa_adage.run.scheduler.LeaderScheduler` receives these parts and only alternates
between them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from mesa_adage.analysis.posterior import PosteriorRequest, Summary, require_sbi
from mesa_adage.inner.followers import Followers
from mesa_adage.outer.evaluator import Evaluator
from mesa_adage.outer.leaders import Leader, LeaderFactory, make_leader
from mesa_adage.run.borrow import Borrowed, borrow
from mesa_adage.run.data import run_data
from mesa_adage.run.executors import Executor, make_executor
from mesa_adage.run.experiment import Experiment
from mesa_adage.run.fingerprint import describe, parameters
from mesa_adage.run.record import RunRecord
from mesa_adage.seeds import EVAL, FINAL, derive_seed, episode_seeds


@dataclass
class Parts:
    """The built parts of one run.

    Attributes:
        experiment: The task.
        seed: Seed of every random stream in the run.
        epochs: Leader epochs.
        leader: The outer-layer optimiser.
        followers: The population of follower learners.
        evaluator: Scores candidate thetas with frozen followers.
        executor: Where training and evaluation tasks run.
        record: The run folder, or None for a run kept in memory.
        data: The observed data, if the experiment has any.
        borrowed: Followers taken from another run instead of a warm-up, if any.
        owns_executor: The executor was made for this run and is closed with it.
        progress: Show progress bars.
        posterior: The amortised posterior to build at the end, if asked for.
    """

    experiment: Experiment
    seed: int
    epochs: int
    leader: Leader
    followers: Followers
    evaluator: Evaluator
    executor: Executor
    record: RunRecord | None
    data: pd.DataFrame | None
    borrowed: Borrowed | None
    owns_executor: bool
    progress: bool
    posterior: PosteriorRequest | None = None

    def close(self) -> None:
        """Stop the executor if this run made it."""
        if self.owns_executor:
            self.executor.close()


def assemble(
    experiment: Experiment,
    run_dir: str | Path | None = None,
    *,
    seed: int = 0,
    epochs: int | None = None,
    leader: str | Leader | LeaderFactory | None = None,
    executor: str | Executor = "serial",
    storage: str | None = None,
    resume: bool = False,
    progress: bool = True,
    snapshot_seconds: float = 300.0,
    followers_from: str | Path | None = None,
    posterior: PosteriorRequest | None = None,
) -> Parts:
    """Build the parts of a run for :class:`~mesa_adage.run.scheduler.LeaderScheduler`.

    Args:
        experiment: The task: model factory, followers, objective, leader, timescales.
        run_dir: Run folder for config, history, checkpoints, plots; nothing is written if None.
        seed: Seed of every random stream in the run.
        epochs: Leader epochs; the experiment's default if None.
        leader: A leader (name, instance or factory) replacing the experiment's; the
            experiment's ``leader_kwargs`` then do not apply.
        executor: Where follower training and candidate evaluation run: ``"serial"``,
            ``"process"``, ``"ray"`` or an :class:`~mesa_adage.run.executors.Executor`. Every
            executor gives the same results.
        storage: Optuna storage URL for an Optuna leader (default: the run folder).
        resume: Continue the run in ``run_dir`` from its last checkpoint.
        progress: Show progress bars.
        snapshot_seconds: Least time between snapshots of a follower phase in progress (0:
            at every rollout); results do not depend on it.
        followers_from: A run folder whose committed followers this run starts from instead
            of a warm-up (:mod:`~mesa_adage.run.borrow`); they must have been trained with
            this run's model, algorithm and follower settings.
        posterior: Build an amortised posterior at the end (a calibration only; see
            :mod:`~mesa_adage.analysis.posterior`). It does not change the run's answer.

    Raises:
        ValueError: On bad settings, or a run folder whose settings differ (on resume).
        FileExistsError, FileNotFoundError: On a run folder that does not fit ``resume``.
        MissingExtraError: If a posterior is asked for without the ``sbi`` extra.
    """
    epochs = experiment.epochs if epochs is None else epochs
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs={epochs!r} must be a positive integer")
    if not (isinstance(snapshot_seconds, int | float) and 0 <= snapshot_seconds < math.inf):
        raise ValueError(
            f"snapshot_seconds (--snapshot-seconds) = {snapshot_seconds!r} must be a finite "
            "number of seconds >= 0"
        )
    if posterior is not None:  # refused now, not after the run's training
        if experiment.data is None:
            raise ValueError(
                f"--posterior {posterior.method}: experiment {experiment.name!r} is not a "
                "calibration (it has no observed data); a posterior needs data to condition on"
            )
        if run_dir is None:
            raise ValueError(
                f"--posterior {posterior.method}: a posterior is written to the run folder; "
                "give run_dir"
            )
        require_sbi()
        posterior.prior_over(experiment.space)
    spec = experiment.leader if leader is None else leader
    kwargs = dict(experiment.leader_kwargs) if leader is None else {}
    where = {"storage": storage} if storage is not None else {}
    built_leader = make_leader(spec, experiment.space, seed, **kwargs, **where)
    record = RunRecord(run_dir) if run_dir is not None else None
    config: dict[str, Any] = {
        **experiment.config(),
        "leader": describe(spec),
        "leader_kwargs": describe(kwargs),
        "model_parameters": parameters(experiment.make_model),
    }
    borrowed = None
    if followers_from is not None:
        borrowed = borrow(followers_from, {**config, "seed": seed})
        config["followers_from"] = borrowed.source
    if record is not None:
        record.check_config({**config, "seed": seed}, resume=resume)
    built_leader.bind(record.path if record else None, experiment.name)
    owns = isinstance(executor, str)
    runner = make_executor(executor) if isinstance(executor, str) else executor
    try:
        data = _observed(experiment, record, seed, runner, progress)
    except BaseException:  # an executor made here (a local Ray) must not outlive the error
        if owns:
            runner.close()
        raise
    ts = experiment.timescales
    followers = Followers(
        experiment.make_model,
        experiment.agent_type,
        algo=experiment.algo,
        algo_kwargs=experiment.algo_kwargs,
        size=ts.followers,
        seed=seed,
        learning_rate=(ts.follower_lr, ts.follower_lr_final),
        average=ts.follower_average,
        n_copies=experiment.n_copies,
        slots_per_copy=experiment.slots_per_copy,
        executor=runner,
        snapshots=record.phase_folder() if record is not None and runner.shares_files else None,
        snapshot_seconds=snapshot_seconds,
    )
    objective = experiment.objective
    evaluator = Evaluator(
        experiment.make_model,
        experiment.agent_type,
        objective(data) if data is not None else objective,
        episode_seeds(seed, EVAL, ts.eval_rollouts),
        executor=runner,
        min_tasks=experiment.eval_tasks,
        on_nonfinite=experiment.on_nonfinite,
    )
    if posterior is not None:
        try:  # a calibration's statistics summarise the data: refused before any training
            Summary.of(evaluator.objective)
        except ValueError:
            if owns:
                runner.close()
            raise
    return Parts(
        experiment, seed, epochs, built_leader, followers, evaluator, runner, record, data,
        borrowed, owns, progress, posterior,
    )  # fmt: skip


def _observed(
    experiment: Experiment,
    record: RunRecord | None,
    seed: int,
    executor: Executor,
    progress: bool,
) -> pd.DataFrame | None:
    """The run's observed data: saved in its folder, or generated (and then saved)."""
    data = record.observed() if record else None
    if data is not None:
        return data
    note = f"{experiment.name}: generating the observed data ..."
    announce = (lambda: tqdm.write(note)) if progress else None
    data = run_data(experiment.data, derive_seed(seed, 0, FINAL), executor, announce, progress)
    if record is not None and data is not None:
        data = record.save_observed(data)
    return data
