"""LeaderScheduler: the alternating follower/leader loop of ADAGE (a Stackelberg game).

For epoch k = 1..K, after a warm-up of the followers:

1. *follower phase*: train the followers for ``N_F`` agent-steps (warm start), theta drawn from
   the leader's training sampler, or by default partly around its incumbent, partly uniform;
2. *leader phase*: ask the leader for candidates, score each with the frozen followers over
   ``M`` episodes (the same seeds for every candidate), tell it the values;
3. *record*: append the epoch to ``history.csv`` and commit a checkpoint.

The scheduler owns the loop and nothing else: :class:`~mesa_adage.followers.Followers` trains,
:class:`~mesa_adage.evaluator.Evaluator` scores, an executor runs both, a leader decides, and
:mod:`~mesa_adage.reporting` writes the results. Every random stream of epoch k derives from
``(seed, k)`` and the checkpoint holds the policies (with their optimiser states) and the
leader state, so a resumed run reproduces an uninterrupted one exactly. The checkpoint of an
epoch is committed at once or not at all (:mod:`~mesa_adage.checkpoint`), and a follower
phase in progress is snapshotted as it goes (:mod:`~mesa_adage.snapshot`), so a run killed
at any point loses at most the epoch in progress, and of a long follower phase (the warm-up)
at most ``snapshot_seconds`` of training.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import pandas as pd
import torch
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from mesa_adage.borrow import borrow
from mesa_adage.characteristics import Theta
from mesa_adage.checkpoint import CheckpointError, crash_point, read_state, state_value
from mesa_adage.data import run_data
from mesa_adage.evaluator import Evaluator
from mesa_adage.executors import Executor, ProcessExecutor, make_executor
from mesa_adage.experiment import Experiment
from mesa_adage.fingerprint import describe, parameters
from mesa_adage.followers import Followers
from mesa_adage.leaders import Leader, LeaderFactory, make_leader
from mesa_adage.objectives import EPISODE_COLUMNS, episodes
from mesa_adage.policies import SB3Policy
from mesa_adage.record import RunRecord
from mesa_adage.reporting import RunResult, tracked, write_report
from mesa_adage.rollout import Rollout
from mesa_adage.samplers import Mixture, Normal, Sampler, Uniform
from mesa_adage.seeds import EVAL, FINAL, FIT, derive_seed
from mesa_adage.uncertainty import assess

UNCERTAINTY_CANDIDATES = 16
"""The leader's best candidates the uncertainty report chooses among (besides the profile)."""


class LeaderScheduler:
    """Wraps an adaptive Mesa model and runs ADAGE's alternating optimisation.

    Args:
        experiment: The task: model factory, followers, objective, leader, timescales.
        run_dir: Run folder for config, history, checkpoints, plots; nothing is written if None.
        seed: Seed of every random stream in the run.
        epochs: Leader epochs; the experiment's default if None.
        leader: A leader (name, instance or factory) replacing the experiment's; the
            experiment's ``leader_kwargs`` then do not apply.
        executor: Where follower training and candidate evaluation run: ``"serial"``,
            ``"process"``, ``"ray"`` or an :class:`~mesa_adage.executors.Executor`. Every
            executor gives the same results.
        storage: Optuna storage URL for an Optuna leader (default: the run folder).
        resume: Continue the run in ``run_dir`` from its last checkpoint.
        progress: Show progress bars.
        snapshot_seconds: Least time between snapshots of a follower phase in progress (0:
            at every rollout); results do not depend on it.
        followers_from: A run folder whose committed followers this run starts from instead
            of a warm-up (:mod:`~mesa_adage.borrow`); they must have been trained with this
            run's model, algorithm and follower settings.
    """

    def __init__(
        self,
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
    ) -> None:
        self.experiment = experiment
        self.seed = seed
        self.epochs = experiment.epochs if epochs is None else epochs
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ValueError(f"epochs={self.epochs!r} must be a positive integer")
        self.ts = experiment.timescales
        if not (isinstance(snapshot_seconds, int | float) and 0 <= snapshot_seconds < math.inf):
            raise ValueError(
                f"snapshot_seconds (--snapshot-seconds) = {snapshot_seconds!r} must be a finite "
                "number of seconds >= 0"
            )
        self.progress = progress
        self.space = experiment.space
        spec = experiment.leader if leader is None else leader
        kwargs = dict(experiment.leader_kwargs) if leader is None else {}
        where = {"storage": storage} if storage is not None else {}
        self.leader = make_leader(spec, self.space, seed, **kwargs, **where)
        self.record = RunRecord(run_dir) if run_dir is not None else None
        config = {
            **experiment.config(),
            "leader": describe(spec),
            "leader_kwargs": describe(kwargs),
            "model_parameters": parameters(experiment.make_model),
        }
        self.borrowed = None
        if followers_from is not None:
            self.borrowed = borrow(followers_from, {**config, "seed": seed})
            config["followers_from"] = self.borrowed.source
        if self.record is not None:
            self.record.check_config({**config, "seed": seed}, resume=resume)
        self.leader.bind(self.record.path if self.record else None, experiment.name)
        self._owns_executor = isinstance(executor, str)
        self.executor = make_executor(executor) if isinstance(executor, str) else executor
        note = f"{experiment.name}: generating the observed data ..."
        announce = (lambda: tqdm.write(note)) if progress else None
        try:
            self.data = self.record.observed() if self.record else None
            if self.data is None:
                seed_data = derive_seed(seed, 0, FINAL)
                self.data = run_data(experiment.data, seed_data, self.executor, announce)
                if self.record is not None and self.data is not None:
                    self.data = self.record.save_observed(self.data)
        except BaseException:  # an executor made here (a local Ray) must not outlive the error
            if self._owns_executor:
                self.executor.close()
            raise
        objective = experiment.objective
        self.followers = Followers(
            experiment.make_model,
            experiment.agent_type,
            algo=experiment.algo,
            algo_kwargs=experiment.algo_kwargs,
            size=self.ts.followers,
            seed=seed,
            learning_rate=(self.ts.follower_lr, self.ts.follower_lr_final),
            average=self.ts.follower_average,
            n_copies=experiment.n_copies,
            slots_per_copy=experiment.slots_per_copy,
            executor=self.executor,
            snapshots=self._snapshot_folder(),
            snapshot_seconds=snapshot_seconds,
        )
        self.evaluator = Evaluator(
            experiment.make_model,
            experiment.agent_type,
            objective(self.data) if self.data is not None else objective,
            [derive_seed(seed, 0, EVAL) + i for i in range(self.ts.eval_rollouts)],
            executor=self.executor,
            min_tasks=experiment.eval_tasks,
            on_nonfinite=experiment.on_nonfinite,
        )
        self.epoch = 0

    def _snapshot_folder(self) -> Path | None:
        """Where follower phases save their progress: this machine's workers only."""
        local = self.executor.in_process or isinstance(self.executor, ProcessExecutor)
        if self.record is None or not local:
            return None
        folder = self.record.checkpoint / "phase"
        folder.mkdir(exist_ok=True)
        return folder

    def training_sampler(self) -> Sampler:
        """The theta distribution of the next follower phase: the leader's, or the focus mix."""
        chosen = self.leader.training_sampler()
        if chosen is not None:
            return chosen
        if self.epoch <= 1 or self.ts.focus == 0 or not self.leader.history:
            return Uniform()
        return Mixture(Normal(self.leader.incumbent, self.ts.focus_std), Uniform(), self.ts.focus)

    # ------------------------------------------------------------------ the loop

    def run(self) -> RunResult:
        """Run (or resume) the alternating loop, then re-rank and write the summary.

        BLAS and torch run single-threaded during the run: small matrices gain nothing from
        threads, and a fixed thread count keeps floating-point sums, hence results, identical.
        """
        try:
            with threadpool_limits(limits=1):
                torch.set_num_threads(1)
                return self._run()
        finally:
            if self._owns_executor:
                self.executor.close()

    def _run(self) -> RunResult:
        start = time.perf_counter()
        self._restore()
        if not len(self.followers):
            if self.borrowed is not None:
                self.followers.load(self.borrowed.files, self.borrowed.env_steps)
            else:
                self.followers.train(self.ts.warmup_steps, Uniform(), 0, progress=self.progress)
            self._checkpoint()
        epochs = tqdm(
            range(self.epoch + 1, self.epochs + 1),
            desc=self.experiment.name,
            unit="epoch",
            disable=not self.progress,
        )
        for epoch in epochs:
            self.epoch = epoch
            t0 = time.perf_counter()
            steps, sampler = self.ts.follower_steps, self.training_sampler()
            follower_return = self.followers.train(steps, sampler, epoch, progress=self.progress)
            scored: list[tuple[float, list[Rollout]]] = []
            score = partial(self._score, self.followers.policies(), scored)
            thetas, values = self.leader.phase(score, self.ts.candidates)
            if not thetas:
                break
            best = max(scored, key=lambda vg: vg[0])[1]
            self._record_epoch(thetas, values, follower_return, best, time.perf_counter() - t0)
            self._checkpoint()
            epochs.set_postfix(objective=f"{self.leader.best[1]:.4g}")
        return self._finish(time.perf_counter() - start)

    def _score(self, policies: list[SB3Policy], scored: list, thetas: list[Theta]) -> list[float]:
        crash_point("evaluate")
        values, groups = self.evaluator.score(thetas, policies)
        scored.extend(zip(values, groups, strict=True))
        crash_point("evaluated")
        return values

    def _restore(self) -> None:
        """Continue from the last committed checkpoint, if there is one.

        Raises:
            CheckpointError: If the checkpoint is damaged, partial or of another format.
        """
        found = self.record.load_checkpoint() if self.record else None
        if found is None:
            return
        epoch, folder, files = found
        state, where = read_state(folder, files)
        env_steps = state_value(state, "env_steps", where)
        leader = state_value(state, "leader", where)
        try:
            self.leader.load_state_dict(leader)
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(
                f"{where}: the {self.leader.name} leader's state is incomplete or of another "
                f"leader ({type(err).__name__}: {err}); resume with the run's own --leader"
            ) from None
        self.followers.load(files, int(env_steps))
        self.epoch = epoch
        for name in ("history.csv", "candidates.csv"):
            self.record.truncate(name, self.epoch)

    def _checkpoint(self) -> None:
        if self.record is None:
            return
        files = self.followers.files()
        state = {
            "epoch": self.epoch,
            "env_steps": self.followers.env_steps,
            "leader": self.leader.state_dict(),
        }
        files["state.json"] = json.dumps(state).encode()
        self.record.commit(self.epoch, files)
        self.followers.drop_snapshots()

    def _record_epoch(
        self,
        thetas: list[Theta],
        values: list[float],
        follower_return: float,
        best: list[Rollout],
        seconds: float,
    ) -> None:
        if self.record is None:
            return
        pairs = zip(thetas, values, strict=True)
        rows = [{"epoch": self.epoch, **t, "objective": v} for t, v in pairs]
        if self.experiment.on_nonfinite == "skip":
            reasons = {tuple(t.items()): why for t, why in self.evaluator.skipped}
            for row, theta in zip(rows, thetas, strict=True):
                failed = row["objective"] == -math.inf
                row["skipped"] = reasons.get(tuple(theta.items()), "") if failed else ""
        self.record.append("candidates.csv", rows)
        row = {
            "epoch": self.epoch,
            **self.leader.incumbent,
            "objective": self.leader.best[1],
            "epoch_best": max(values),
            "follower_return": follower_return,
            **tracked(best, self.experiment.track),
            "env_steps": self.followers.env_steps,
            "seconds": round(seconds, 2),
        }
        crash_point("record")
        self.record.append("history.csv", [row])
        crash_point("recorded")

    def _uncertainty(
        self,
        answer: Theta,
        policies: list[SB3Policy],
        scored: list[tuple[Theta, float, list[Rollout]]],
        profile: pd.DataFrame | None,
    ) -> dict:
        """The uncertainty report over the best candidates and the profile's points.

        The leader's best :data:`UNCERTAINTY_CANDIDATES` candidates are scored again (those
        the final re-ranking scored are reused), and fresh episodes at the answer are played
        for the goodness of fit.
        """
        assert self.data is not None
        names = self.space.names
        key = lambda theta: tuple(theta[n] for n in names)  # noqa: E731
        known = {key(t): group for t, _, group in scored if group}
        fresh = [t for t in self.leader.finalists(UNCERTAINTY_CANDIDATES) if key(t) not in known]
        _, groups = self.evaluator.score(fresh, policies)
        known.update((key(t), g) for t, g in zip(fresh, groups, strict=True) if g)
        observed = episodes(self.data, next(c for c in self.data if c not in EPISODE_COLUMNS))
        pool = Evaluator(
            self.experiment.make_model,
            self.experiment.agent_type,
            self.evaluator.objective,
            [derive_seed(self.seed, 0, FIT) + i for i in range(max(len(observed), len(policies)))],
            executor=self.executor,
            min_tasks=self.experiment.eval_tasks,
        ).rollouts([answer], policies)[0]
        return assess(
            self.space,
            self.experiment.objective,
            self.data,
            [dict(zip(names, k, strict=True)) for k in known],
            list(known.values()),
            answer,
            profile,
            pool,
            len(policies),
            replicates=self.experiment.bootstrap,
            seed=derive_seed(self.seed, 0, FIT),
        )

    def _skipped(self) -> dict[str, int]:
        """How many candidates were skipped, for the summary (when skipping is on)."""
        if self.experiment.on_nonfinite != "skip" or self.record is None:
            return {}
        skipped = self.record.table("candidates.csv").get("skipped", pd.Series(dtype=str))
        return {"candidates_skipped": int(skipped.fillna("").astype(bool).sum())}

    def _finish(self, seconds: float) -> RunResult:
        policies = self.followers.policies()
        scored: list[tuple[Theta, float, list[Rollout]]] = []

        def evaluate(thetas: list[Theta]) -> list[float]:
            values, groups = self.evaluator.score(thetas, policies)
            scored.extend(zip(thetas, values, groups, strict=True))
            return values

        crash_point("finish")
        answer, value, shown = self.leader.conclude(evaluate, self.ts.final_top_k)
        rollouts = [r for theta, _, group in scored if theta in shown for r in group]
        history = self.record.table("history.csv") if self.record else pd.DataFrame()
        result = RunResult(answer, value, history, tuple(policies), rollouts, self.data)
        if self.record is None:
            return result
        self.followers.save_answer(self.record.path)
        points = self.experiment.profile_points
        in_space = set(answer) == set(self.space.names)
        profile, profiled = (
            self.evaluator.profile(self.space, answer, policies, points)
            if points and in_space
            else (None, [])
        )
        if self.experiment.bootstrap and self.data is not None and in_space:
            if profile is not None:
                rows = profile[["parameter", "value"]].itertuples(index=False)
                scored += [
                    ({**answer, name: v}, math.nan, group)
                    for (name, v), group in zip(rows, profiled, strict=True)
                ]
            report = self._uncertainty(answer, policies, scored, profile)
            result = replace(result, uncertainty=report)
        summary = {
            "theta": result.theta,
            "objective": result.objective,
            "leader": self.leader.name,
            **self.leader.summary(),
            "seed": self.seed,
            "epochs": self.epoch,
            "env_steps": self.followers.env_steps,
            "candidates_evaluated": len(self.leader.history),
            **self._skipped(),
            "wall_seconds_this_session": round(seconds, 1),
        }
        crash_point("report")
        write_report(self.record, self.experiment, result, summary, profile)
        return result
