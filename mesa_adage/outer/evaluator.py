"""The evaluator: scores candidate thetas with frozen follower policies.

Every candidate is played on the same episode seeds (common random numbers), and episode
``j`` of every candidate is played by follower ``j mod followers``, so all candidates meet the
same population on the same draws and differ only by theta. The episodes run as independent
tasks through an executor. How they are split into tasks depends on the problem alone, never
on the executor: a policy's floating-point output can depend on the batch it is computed in,
so this is what makes every backend give the same numbers.

A NaN or an infinity in an episode (an observation, ``theta_hat``, an action, a reward) or in
a candidate's objective stops the run with an error that names where it arose; with
``on_nonfinite="skip"`` the candidate is scored ``-inf`` instead (failed: never better than a
scored one), and :attr:`Evaluator.skipped` records why. A task holding a failed candidate is
played again one candidate at a time, so the others keep their episodes; their batches then
differ, which can move their values in the last bits, the same way on every executor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import groupby

import mesa
import numpy as np
import pandas as pd

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner.checks import ON_NONFINITE, NonFiniteError, format_theta
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import ModelFactory, Rollout, simulate
from mesa_adage.outer.objectives import Objective
from mesa_adage.run.executors import Executor, SerialExecutor

_Task = tuple[ModelFactory, list[Theta], dict[type[mesa.Agent], Policy], list[int], bool]


def _simulate(task: _Task) -> list[Rollout | str]:
    """One task's episodes; when skipping, a failed candidate's episodes give way to the error."""
    make_model, thetas, policies, seeds, skip = task
    try:
        return list(simulate(make_model, thetas, policies, seeds))
    except NonFiniteError as err:
        if not skip:
            raise
        if all(t == thetas[0] for t in thetas):  # one candidate: it failed
            return [str(err)] * len(thetas)
    out: list[Rollout | str] = []
    for _, run in groupby(range(len(thetas)), key=thetas.__getitem__):
        idx = list(run)
        alone = [thetas[i] for i in idx], [seeds[i] for i in idx]
        out += _simulate((make_model, alone[0], policies, alone[1], skip))
    return out


class Evaluator:
    """Scores thetas by an objective over rollouts with frozen policies.

    Args:
        make_model: Episode factory, called as ``make_model(theta=..., seed=...)``.
        agent_type: The :class:`PolicyAgent` class the policies act for.
        objective: Maps one candidate's rollouts to a float (maximised).
        seeds: Episode seeds, shared by every candidate.
        executor: Where the episodes run.
        min_tasks: Split the candidates so that there are at least this many tasks (at least
            one per follower); one task's episodes run in lockstep, one forward pass per step.
        on_nonfinite: ``"raise"`` to stop at a NaN or an infinity, ``"skip"`` to score that
            candidate ``-inf`` and record it in :attr:`skipped`.

    Attributes:
        skipped: Every candidate skipped so far, with the reason.
    """

    def __init__(
        self,
        make_model: ModelFactory,
        agent_type: type[mesa.Agent],
        objective: Objective,
        seeds: Sequence[int],
        *,
        executor: Executor | None = None,
        min_tasks: int = 4,
        on_nonfinite: str = "raise",
    ) -> None:
        if not (isinstance(min_tasks, int) and min_tasks >= 1):
            raise ValueError(f"min_tasks={min_tasks!r} must be a positive integer")
        if on_nonfinite not in ON_NONFINITE:
            raise ValueError(f"on_nonfinite={on_nonfinite!r}; allowed are {list(ON_NONFINITE)}")
        self.make_model = make_model
        self.agent_type = agent_type
        self.objective = objective
        self.seeds = list(seeds)
        self.executor = executor or SerialExecutor()
        self.min_tasks = min_tasks
        self.on_nonfinite = on_nonfinite
        self.skipped: list[tuple[Theta, str]] = []

    def rollouts(
        self,
        thetas: Sequence[Theta],
        policies: Sequence[Policy],
        seeds: Sequence[int] | None = None,
    ) -> list[list[Rollout | str]]:
        """Every theta's episodes, one per seed (the evaluator's by default), among ``policies``.

        When skipping, an episode of a failed candidate is the error's message instead.
        """
        seeds = self.seeds if seeds is None else list(seeds)
        m, n = len(seeds), len(policies)
        if not 1 <= n <= m:
            raise ValueError(f"got {n} follower policies for {m} episodes; need 1 to {m}")
        groups = math.ceil(self.min_tasks / n)
        tasks, places = [], []
        for member, policy in enumerate(policies):
            episodes = range(member, m, n)
            for chunk in np.array_split(np.arange(len(thetas)), groups):
                if len(chunk) == 0:
                    continue
                tasks.append(
                    (
                        self.make_model,
                        [thetas[c] for c in chunk for _ in episodes],
                        {self.agent_type: policy},
                        [seeds[j] for _ in chunk for j in episodes],
                        self.on_nonfinite == "skip",
                    )
                )
                places.append([(int(c), j) for c in chunk for j in episodes])
        out: list[list[Rollout | str]] = [[None] * m for _ in thetas]  # type: ignore[list-item]
        for done, place in zip(self.executor.map(_simulate, tasks), places, strict=True):
            for rollout, (c, j) in zip(done, place, strict=True):
                out[c][j] = rollout
        return out

    def score(
        self,
        thetas: Sequence[Theta],
        policies: Sequence[Policy],
        seeds: Sequence[int] | None = None,
    ) -> tuple[list[float], list[list[Rollout]]]:
        """The objective of every theta, and the rollouts it was computed from.

        A skipped candidate scores ``-inf`` with no rollouts. The episodes are the evaluator's
        unless ``seeds`` names others.

        Raises:
            NonFiniteError: If an episode or an objective is not finite, unless skipping.
        """
        values: list[float] = []
        groups: list[list[Rollout]] = []
        for theta, group in zip(thetas, self.rollouts(thetas, policies, seeds), strict=True):
            reason = next((r for r in group if isinstance(r, str)), None)
            value = -math.inf if reason is not None else float(self.objective(group))
            if reason is None and not math.isfinite(value):
                reason = f"the objective is {value} at theta: {format_theta(theta)}"
                if self.on_nonfinite == "raise":
                    raise NonFiniteError(
                        f"{reason}; it must be finite (Experiment(on_nonfinite='skip') scores "
                        "such a candidate as failed)",
                        theta,
                    )
            if reason is not None:
                self.skipped.append((dict(theta), reason))
                value, group = -math.inf, []
            values.append(value)
            groups.append(group)  # type: ignore[arg-type]  # only rollouts are left
        return values, groups

    def profile(
        self, space: Characteristics, theta: Theta, policies: Sequence[Policy], points: int
    ) -> tuple[pd.DataFrame, list[list[Rollout]]]:
        """The objective along each parameter's range through ``theta``, the others fixed.

        An identification check: a well identified parameter shows one clear optimum. Each
        line holds ``points`` evenly spaced values and ``theta``'s own, scored like any
        candidate (same followers, same seeds).

        Returns:
            A frame with columns ``parameter``, ``value`` and ``objective``, and each row's
            episodes.
        """
        rows = [
            (p.name, float(v))
            for p in space.params
            for v in np.union1d(np.linspace(p.low, p.high, points), [theta[p.name]])
        ]
        values, groups = self.score([{**theta, name: v} for name, v in rows], policies)
        frame = pd.DataFrame(rows, columns=["parameter", "value"]).assign(objective=values)
        return frame, groups
