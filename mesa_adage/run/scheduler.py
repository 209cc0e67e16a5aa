"""LeaderScheduler: the alternating follower/leader loop of ADAGE (a Stackelberg game).

For epoch k = 1..K, after a warm-up of the followers:

1. *ask*: the leader proposes this epoch's candidates; a leader with none left (a grid it has
   visited) ends the loop here, so no follower phase goes unrecorded;
2. *follower phase*: train the followers for ``N_F`` agent-steps (warm start), theta drawn from
   the leader's training sampler, or by default partly around its incumbent, partly uniform;
3. *leader phase*: score each candidate with the frozen followers over ``M`` episodes (the
   same seeds for every candidate), tell the leader the values;
4. *record*: append the epoch to ``history.csv`` and commit a checkpoint.

The scheduler owns this loop and nothing else. :mod:`~mesa_adage.run.assembly` builds the
parts, :class:`~mesa_adage.inner.followers.Followers` trains,
:class:`~mesa_adage.outer.evaluator.Evaluator` scores, the leader is a plain ask/tell object
that never sees a callback, and :mod:`~mesa_adage.run.conclusion` ends the run. Every random
stream of epoch k derives from ``(seed, k)`` and the checkpoint holds the policies (with their
optimiser states) and the leader state, so a resumed run reproduces an uninterrupted one
exactly. The checkpoint of an epoch is committed at once or not at all
(:mod:`~mesa_adage.run.checkpoint`), and a follower phase in progress is snapshotted as it goes
(:mod:`~mesa_adage.run.snapshot`), so a run killed at any point loses at most the epoch in
progress, and of a long follower phase (the warm-up) at most ``snapshot_seconds`` of training.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from mesa_adage.analysis.reporting import RunResult, tracked
from mesa_adage.characteristics import Theta
from mesa_adage.inner.rollout import Rollout
from mesa_adage.run.assembly import assemble
from mesa_adage.run.checkpoint import CheckpointError, read_state, state_value
from mesa_adage.run.conclusion import conclude
from mesa_adage.run.experiment import Experiment
from mesa_adage.samplers import Mixture, Normal, Sampler, Uniform


class LeaderScheduler:
    """Wraps an adaptive Mesa model and runs ADAGE's alternating optimisation.

    Args:
        experiment: The task: model factory, followers, objective, leader, timescales.
        run_dir: Run folder for config, history, checkpoints, plots; nothing is written if None.
        **options: How to run it, passed to :func:`~mesa_adage.run.assembly.assemble`:
            ``seed``, ``epochs``, ``leader``, ``executor``, ``storage``, ``resume``,
            ``progress``, ``snapshot_seconds``, ``followers_from``.

    Attributes:
        parts: The run's built parts; ``leader``, ``followers``, ``evaluator``, ``record`` and
            ``data`` name them.
    """

    def __init__(
        self, experiment: Experiment, run_dir: str | Path | None = None, **options: Any
    ) -> None:
        self.parts = assemble(experiment, run_dir, **options)
        self.experiment, self.ts = experiment, experiment.timescales
        self.leader, self.followers = self.parts.leader, self.parts.followers
        self.evaluator, self.record = self.parts.evaluator, self.parts.record
        self.data = self.parts.data
        self.epoch = 0

    def training_sampler(self) -> Sampler:
        """The theta distribution of the next follower phase: the leader's, or the focus mix."""
        chosen = self.leader.training_sampler()
        if chosen is not None:
            return chosen
        if self.epoch <= 1 or self.ts.focus == 0 or not self.leader.history:
            return Uniform()
        return Mixture(Normal(self.leader.incumbent, self.ts.focus_std), Uniform(), self.ts.focus)

    def run(self) -> RunResult:
        """Run (or resume) the alternating loop, then conclude: re-rank and report.

        BLAS and torch run single-threaded during the run: small matrices gain nothing from
        threads, and a fixed thread count keeps floating-point sums, hence results, identical.
        """
        try:
            with threadpool_limits(limits=1):
                torch.set_num_threads(1)
                start = time.perf_counter()
                self._start()
                self._epochs()
                return conclude(self.parts, self.epoch, time.perf_counter() - start)
        finally:
            self.parts.close()

    def _start(self) -> None:
        """Resume from the last checkpoint, or warm the followers up (or borrow them)."""
        self._restore()
        if len(self.followers):
            return
        borrowed = self.parts.borrowed
        if borrowed is not None:
            self.followers.load(borrowed.files, borrowed.env_steps)
        else:
            self.followers.train(self.ts.warmup_steps, Uniform(), 0, progress=self.parts.progress)
        self._checkpoint()

    def _epochs(self) -> None:
        """The alternating loop: ask, follower phase, evaluate, tell; record; commit.

        ``self.epoch`` ends at the last recorded epoch, also when the leader runs out of
        candidates before ``epochs``.
        """
        epochs = range(self.epoch + 1, self.parts.epochs + 1)
        bar = tqdm(epochs, desc=self.experiment.name, unit="epoch", disable=not self.parts.progress)
        for epoch in bar:
            self.epoch = epoch
            t0 = time.perf_counter()
            sampler = self.training_sampler()
            # Asked before the followers train: a leader out of candidates ends the run
            # without a follower phase that no epoch would record.
            thetas = self.leader.ask(self.ts.candidates)
            if not thetas:
                self.epoch = epoch - 1
                break
            trained = self.followers.train(
                self.ts.follower_steps, sampler, epoch, progress=self.parts.progress
            )
            policies = self.followers.policies()
            values, groups = self.evaluator.score(thetas, policies)
            self.leader.observe(thetas, groups)
            self.leader.tell(thetas, values)
            best = groups[values.index(max(values))]
            self._record_epoch(thetas, values, trained, best, time.perf_counter() - t0)
            self._checkpoint()
            bar.set_postfix(objective=f"{self.leader.best[1]:.4g}")

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
        self.record.append("history.csv", [row])
