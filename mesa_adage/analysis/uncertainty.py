"""How far to trust a calibration's answer: intervals, identification and goodness of fit.

A calibration returns one theta; a scientist needs to know how much of it the data decide.
Three checks run on the candidates a run has already scored, with their episodes:

- **Intervals** (:func:`bootstrap_estimates`): the run's answer is the candidate whose
  simulated statistics are closest to the observed ones. Redo that choice many times with the
  observed episodes resampled with replacement, and with the followers resampled too (a
  cluster bootstrap: each follower's episodes go together), each time refined to the peak of
  a quadratic fitted around the best candidate (:func:`quadratic_peak`). Each follower's own
  answer is found the same way. The interval adds the followers' spread to the bootstrap's
  (:func:`combined_interval`): the data were made by other agents than the model's
  followers, and learners disagree.
- **Identification** (:func:`identification`): along each parameter's profile (the objective
  over its whole range, the others at the answer), does the objective rise by more than its
  own noise? A flat profile means the data cannot tell that parameter's values apart.
- **Goodness of fit** (:func:`goodness_of_fit`): is the data as close to the model at its
  answer as the model's own episodes are? Pseudo-data are drawn from fresh episodes of some
  followers at the answer and compared with the episodes of the others, exactly as the
  observed data are. A model that cannot produce the data fits them worse than its own
  pseudo-data: a poor fit, not a confident wrong answer.

Everything here is a pure function of scored episodes and a random generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.objectives import EPISODE_COLUMNS, Objective, episodes

Build = Callable[[pd.DataFrame], Objective]
"""Builds the objective from observed data (an experiment's ``objective``)."""

FLAT = 2.0
"""A profile that rises by less than this many noise standard deviations is flat."""
WEAK = 0.25
"""An interval wider than this share of the parameter's range is weakly identified."""
POOR_FIT = 0.05
"""A goodness-of-fit p-value below this is a poor fit."""


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


def comparison_noise(scores: np.ndarray, answer: int) -> float:
    """How noisy a comparison with the answer is, across bootstrap replicates.

    The median, over candidates, of the std of a candidate's score less the answer's;
    candidates that always score as the answer does (such as ones that differ only in a
    parameter with no effect) are left out.
    """
    gaps = np.std(scores - scores[:, [answer]], axis=0)
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else 0.0


def identification(
    space: Characteristics,
    profile: pd.DataFrame,
    noise: float,
    intervals: dict[str, tuple[float, float]],
) -> dict[str, dict[str, Any]]:
    """Is each parameter identified by the data? One verdict per parameter.

    Args:
        space: The characteristics.
        profile: The objective along each parameter's range (``parameter``, ``value``,
            ``objective``), the others at the answer.
        noise: How noisy a comparison of two candidates is (:func:`comparison_noise`).
        intervals: Each parameter's interval.

    Returns:
        Per parameter: ``rise`` (the profile's range of the objective), ``rise_in_noise``
        (that in noise standard deviations), ``interval_share`` (the interval's share of the
        range) and ``status``: ``"not identified"`` when the profile is flat (it rises by
        less than :data:`FLAT` noise standard deviations), ``"weakly identified"`` when the
        interval spans more than :data:`WEAK` of the range, else ``"identified"``.
    """
    out: dict[str, dict[str, Any]] = {}
    for p in space.params:
        line = profile.loc[profile["parameter"] == p.name, "objective"].to_numpy()
        line = line[np.isfinite(line)]
        rise = float(line.max() - line.min()) if len(line) else 0.0
        in_noise = rise / noise if noise > 0 else (math.inf if rise > 0 else 0.0)
        low, high = intervals[p.name]
        share = (high - low) / p.span
        status = (
            "not identified"
            if in_noise < FLAT
            else "weakly identified"
            if share > WEAK
            else "identified"
        )
        out[p.name] = {
            "status": status,
            "rise": rise,
            "rise_in_noise": round(in_noise, 2) if math.isfinite(in_noise) else None,
            "interval_share": round(share, 3),
        }
    return out


def goodness_of_fit(
    build: Build,
    data: pd.DataFrame,
    answer: Sequence[Rollout],
    pool: Sequence[Rollout],
    followers: int,
    replicates: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Does the model at its answer fit the data as well as it fits its own episodes?

    Each replicate splits the followers at random in two halves (one follower plays both
    parts when there is only one): pseudo-data are ``len(data)`` episodes resampled from the
    first half's ``pool`` episodes, the model is the second half's ``answer`` episodes. The
    observed data, resampled the same way, meet the same model episodes. The p-value is the
    share of replicates in which the pseudo-data fit no better than the observed data.

    Args:
        build: Makes the objective from observed data.
        data: The observed data.
        answer: The answer's scored episodes, dealt among ``followers``.
        pool: Fresh episodes at the answer, dealt among ``followers`` the same way.
        followers: Follower policies.
        replicates: Replicates.
        rng: Random generator.

    Returns:
        ``distance`` (the observed data's median distance to the model, over replicates),
        ``null_distance`` (the pseudo-data's median), ``ratio`` (their ratio: 1 fits as well
        as the model's own episodes), ``p_value`` and ``verdict`` (``"poor fit"`` below
        :data:`POOR_FIT`, else ``"consistent"``).
    """
    observed = series_arrays(data)
    columns = list(observed)
    n_obs = len(next(iter(observed.values())))
    mine = by_follower(answer, followers)
    theirs = [rollout_arrays(part, columns) for part in by_follower(pool, followers)]
    d_obs, d_null = np.empty(replicates), np.empty(replicates)
    for r in range(replicates):
        order = rng.permutation(followers)
        makers, model = (order[: followers // 2], order[followers // 2 :])
        if followers == 1:
            makers = model
        episodes_of_model = [e for m in model for e in mine[m]]
        made = {c: np.concatenate([theirs[m][c] for m in makers]) for c in columns}
        pseudo = frame_of(made, rng.integers(0, len(made[columns[0]]), n_obs))
        real = frame_of(observed, rng.integers(0, n_obs, n_obs))
        d_null[r] = -build(pseudo)(episodes_of_model)
        d_obs[r] = -build(real)(episodes_of_model)
    p_value = float(np.mean(d_null >= d_obs))
    distance, null = float(np.median(d_obs)), float(np.median(d_null))
    return {
        "distance": distance,
        "null_distance": null,
        "ratio": distance / null if null > 0 else math.inf,
        "p_value": p_value,
        "verdict": "poor fit" if p_value < POOR_FIT else "consistent",
    }


def assess(
    space: Characteristics,
    build: Build,
    data: pd.DataFrame,
    thetas: Sequence[Theta],
    groups: Sequence[Sequence[Rollout]],
    answer: Theta,
    profile: pd.DataFrame | None,
    pool: Sequence[Rollout],
    followers: int,
    *,
    replicates: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> dict[str, Any]:
    """The uncertainty report of a calibration: intervals, identification, goodness of fit.

    Args:
        space: The characteristics.
        build: Makes the objective from observed data.
        data: The observed data.
        thetas: The scored candidates (the answer among them).
        groups: Their episodes, dealt among ``followers``.
        answer: The run's answer.
        profile: The identification profile, if computed.
        pool: Fresh episodes at the answer for the goodness of fit.
        followers: Follower policies.
        replicates: Bootstrap replicates.
        level: Coverage of the intervals.
        seed: Seed of the resampling.

    Returns:
        A JSON-ready dict: ``level``, ``replicates``, ``intervals`` (per parameter ``[low,
        high]``), ``follower_estimates`` (each follower's own best candidate),
        ``identification`` and ``fit``.
    """
    rng = np.random.default_rng(seed)
    chosen, scores = bootstrap_estimates(build, data, groups, followers, replicates, rng)
    names = space.names
    units = np.array([space.to_unit(t) for t in thetas])
    # A calibration's objective is a negative distance; its square, not itself, is smooth
    # (quadratic) at its optimum.
    square = lambda v: -np.square(v) if (v <= 0).all() else v  # noqa: E731

    def peak(values: np.ndarray, best: int) -> Theta:
        return space.from_unit(quadratic_peak(units, square(values), best))

    estimates = np.array([[p[n] for n in names] for p in map(peak, scores, chosen)])
    per_follower = follower_scores(build, data, groups, followers)
    learners = [peak(v, pick(v, rng)) for v in per_follower]
    spread = np.array([[t[n] for n in names] for t in learners])
    boxes = {p.name: (p.low, p.high) for p in space.params}
    intervals = {
        n: tuple(
            np.clip(combined_interval(answer[n], estimates[:, i], spread[:, i], level), *boxes[n])
        )
        for i, n in enumerate(names)
    }
    index = list(thetas).index(answer)
    report: dict[str, Any] = {
        "level": level,
        "replicates": replicates,
        "candidates": len(thetas),
        "intervals": {n: [float(v) for v in iv] for n, iv in intervals.items()},
        "bootstrap_intervals": {
            n: list(interval(estimates[:, i], level)) for i, n in enumerate(names)
        },
        "follower_estimates": learners,
        "comparison_noise": comparison_noise(scores, index),
    }
    if profile is not None:
        report["identification"] = identification(
            space, profile, report["comparison_noise"], intervals
        )
    answer_group = groups[index]
    report["fit"] = goodness_of_fit(build, data, answer_group, pool, followers, replicates, rng)
    return report


def uncertainty_lines(report: dict[str, Any]) -> list[str]:
    """The goodness of fit in one line, then a warning for each doubt the report raises."""
    fit = report["fit"]
    lines = [
        f"fit: {fit['verdict']} (p = {fit['p_value']:.2f}; the data's distance to the model "
        f"{fit['distance']:.3g}, its own episodes' {fit['null_distance']:.3g})"
    ]
    for name, verdict in report.get("identification", {}).items():
        if verdict["status"] == "not identified":
            lines.append(
                f"warning: {name} is not identified by these data: its profile is flat (it "
                f"rises by {verdict['rise_in_noise']} noise standard deviations over the whole "
                f"range, under {FLAT:g}), so its recovered value is arbitrary; match data "
                "that move with it, or fix it"
            )
        elif verdict["status"] == "weakly identified":
            lines.append(
                f"warning: {name} is weakly identified: its interval spans "
                f"{verdict['interval_share']:.0%} of its range"
            )
    if fit["verdict"] == "poor fit":
        lines.append(
            f"warning: poor fit: the model at its answer fits its own episodes better than "
            f"these data in {1 - fit['p_value']:.0%} of resamples, so the model may not "
            "contain what made the data (mis-specified); read the answer with care"
        )
    return lines
