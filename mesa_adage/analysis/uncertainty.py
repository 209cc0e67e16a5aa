"""How far to trust a calibration's answer: intervals, identification and goodness of fit.

A calibration returns one theta; a scientist needs to know how much of it the data decide.
Three checks run on the candidates a run has already scored, with their episodes:

- **Intervals** (:mod:`~mesa_adage.analysis.intervals`): the run's answer is the candidate whose
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
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mesa_adage.analysis.intervals import (
    Build,
    bootstrap_estimates,
    by_follower,
    combined_interval,
    follower_scores,
    frame_of,
    interval,
    pick,
    quadratic_peak,
    rollout_arrays,
    series_arrays,
)
from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner.rollout import Rollout

FLAT = 2.0
"""A profile that rises by less than this many noise standard deviations is flat."""
WEAK = 0.25
"""An interval wider than this share of the parameter's range is weakly identified."""
POOR_FIT = 0.05
"""A goodness-of-fit p-value below this is a poor fit."""


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
