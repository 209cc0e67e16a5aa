"""Intervals for a calibration's answer: a cluster bootstrap, refined, widened by the followers.

The run's answer is the candidate whose simulated statistics are closest to the observed
ones. :func:`bootstrap_estimates` redoes that choice many times with the observed episodes
resampled with replacement, and with the followers resampled too (each follower's episodes go
together), each time refined to the peak of a quadratic fitted around the best candidate
(:func:`quadratic_peak`). :func:`follower_scores` finds each follower's own answer the same way,
and :func:`combined_interval` adds the followers' spread to the bootstrap's: the data were
made by other agents than the model's followers, and learners disagree. Pure functions of
scored episodes and a random generator; :mod:`~mesa_adage.analysis.uncertainty` assembles
the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.objectives import Objective
from mesa_adage.outer.statistics import EPISODE_COLUMNS, episodes

Build = Callable[[pd.DataFrame], Objective]
"""Builds the objective from observed data (an experiment's ``objective``)."""


def series_arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Observed data as ``(episodes, steps)`` arrays, one per series column."""
    columns = [c for c in frame.columns if c not in EPISODE_COLUMNS]
    return {c: episodes(frame, c) for c in columns}


def frame_of(arrays: dict[str, np.ndarray], rows: np.ndarray | None = None) -> pd.DataFrame:
    """A data frame of the episodes ``rows`` (all if None) of ``arrays``, renumbered from 0."""
    first = next(iter(arrays.values()))
    rows = np.arange(len(first)) if rows is None else rows
    steps = first.shape[1]
    return pd.DataFrame(
        {
            "episode": np.repeat(np.arange(len(rows)), steps),
            "step": np.tile(np.arange(steps), len(rows)),
            **{c: a[rows].ravel() for c, a in arrays.items()},
        }
    )


def rollout_arrays(rollouts: Sequence[Rollout], columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Simulated episodes as ``(episodes, steps)`` arrays of ``columns``."""
    return {c: episodes(rollouts, c) for c in columns}


def by_follower(group: Sequence[Rollout], followers: int) -> list[list[Rollout]]:
    """A candidate's episodes split by follower (episode ``j`` is follower ``j mod n``'s)."""
    return [list(group[f::followers]) for f in range(followers)]


def pick(values: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the highest value; ties (a flat objective) are broken at random."""
    best = np.flatnonzero(values >= np.max(values) - 1e-12 * max(1.0, abs(np.max(values))))
    return int(best[0] if len(best) == 1 else rng.choice(best))


def quadratic_peak(points: np.ndarray, values: np.ndarray, best: int) -> np.ndarray:
    """Where a quadratic fitted around the best of scored ``points`` peaks.

    The objective is known only at the candidates, so the best candidate alone would move in
    jumps between them. A quadratic is fitted by least squares to the candidates nearest the
    best (three times as many as it has coefficients), and its peak is the estimate, kept
    inside the box those candidates span. Where the fit has no peak (not concave: a flat or
    saddle-shaped objective), the best candidate is the estimate.

    Args:
        points: Candidates, shape ``(n, d)`` (in ``[-1, 1]`` units, so distances compare).
        values: Their objective values (maximised), shape ``(n,)``.
        best: Index of the best candidate.

    Returns:
        The estimate, shape ``(d,)``.
    """
    d = points.shape[1]
    pairs = [(i, j) for i in range(d) for j in range(i, d)]
    near = np.argsort(np.linalg.norm(points - points[best], axis=1))[: 3 * (1 + d + len(pairs))]
    if len(near) < 1 + d + len(pairs):
        return points[best]
    x = points[near] - points[best]
    features = np.column_stack([np.ones(len(x)), x, *(x[:, i] * x[:, j] for i, j in pairs)])
    coef = np.linalg.lstsq(features, values[near], rcond=None)[0]
    gradient, hessian = coef[1 : 1 + d], np.zeros((d, d))
    for (i, j), c in zip(pairs, coef[1 + d :], strict=True):
        hessian[i, j] += c if i != j else 2 * c
        hessian[j, i] += c if i != j else 0.0
    if not np.all(np.linalg.eigvalsh(hessian) < 0):
        return points[best]
    peak = points[best] - np.linalg.solve(hessian, gradient)
    return np.clip(peak, points[near].min(axis=0), points[near].max(axis=0))


def bootstrap_estimates(
    build: Build,
    data: pd.DataFrame,
    groups: Sequence[Sequence[Rollout]],
    followers: int,
    replicates: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The best candidate of each bootstrap replicate, and each replicate's scores.

    Args:
        build: Makes the objective from (resampled) observed data.
        data: The observed data.
        groups: Each candidate's episodes, dealt among ``followers`` as the evaluator does.
        followers: Follower policies.
        replicates: Bootstrap replicates.
        rng: Random generator of the resamples.

    Returns:
        ``(chosen, scores)``: the index of each replicate's best candidate, shape
        ``(replicates,)``, and every candidate's score in each, ``(replicates, candidates)``.
    """
    observed = series_arrays(data)
    n_obs = len(next(iter(observed.values())))
    split = [by_follower(g, followers) for g in groups]
    scores = np.empty((replicates, len(groups)))
    chosen = np.empty(replicates, dtype=int)
    for r in range(replicates):
        objective = build(frame_of(observed, rng.integers(0, n_obs, n_obs)))
        members = rng.integers(0, followers, followers)
        for c, parts in enumerate(split):
            scores[r, c] = objective([e for m in members for e in parts[m]])
        chosen[r] = pick(scores[r], rng)
    return chosen, scores


def follower_scores(
    build: Build, data: pd.DataFrame, groups: Sequence[Sequence[Rollout]], followers: int
) -> np.ndarray:
    """Every candidate's score under each follower alone: the learners' spread.

    Returns:
        Shape ``(followers, candidates)``.
    """
    objective = build(data)
    split = [by_follower(g, followers) for g in groups]
    return np.array([[objective(parts[f]) for parts in split] for f in range(followers)])


def combined_interval(
    centre: float, replicates: np.ndarray, learners: np.ndarray, level: float
) -> tuple[float, float]:
    """A ``level`` interval around ``centre`` that adds the learners' spread to the bootstrap's.

    The bootstrap resamples the observed episodes and the model's followers, so it measures
    how well the *average* follower pins the answer down. The data were made by other agents
    than these followers (another learner at best), whose answer differs from the average
    one by about the spread between followers: a normal interval with both variances.
    """
    spread = float(np.var(replicates))
    if len(learners) > 1:
        spread += float(np.var(learners, ddof=1))
    half = NormalDist().inv_cdf(0.5 + level / 2) * math.sqrt(spread)
    return centre - half, centre + half


def interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` interval of ``values`` (percentiles)."""
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)
