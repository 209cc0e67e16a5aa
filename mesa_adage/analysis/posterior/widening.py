"""Credible intervals, and the widening that makes them cover what they claim.

An interval is ``central`` (equal tails) or ``shortest`` (the narrowest holding its share of
the draws: the highest-density interval of a one-peaked marginal). Near an edge of the box the
two differ: a posterior pressed against the edge has its densest part there, which a central
interval always cuts off (it can never hold a truth on the edge itself).

NPE trained on a few hundred simulations is over-confident. Answers to simulations the
estimator never saw (:func:`answer_bounds`) show, per parameter, how far each interval must be
stretched about its median to cover its share of their thetas (:func:`widening_factors`).
``train`` gets those answers by cross-fitting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mesa_adage.analysis.posterior.estimator import Estimator

WIDENINGS = np.round(np.arange(0.5, 3.0001, 0.05), 2)
"""The widening factors tried, each scaling the draws' distance from their median."""
CALIBRATION_DRAWS = 500
"""Posterior samples per held-out simulation when the widening is measured."""
INTERVALS = ("central", "shortest")
"""Kinds of credible interval (:func:`credible_bounds`)."""


def credible_bounds(draws: np.ndarray, level: float, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``draws`` (one row a draw), the ``level`` interval's bounds.

    Args:
        draws: Posterior draws ``(draws, parameters)``.
        level: The share of the draws the interval holds.
        kind: ``"central"`` (the two tails alike) or ``"shortest"`` (:data:`INTERVALS`).

    Raises:
        ValueError: If ``kind`` is unknown.
    """
    if kind == "central":
        tail = 100 * (1 - level) / 2
        low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
        return low, high
    if kind != "shortest":
        raise ValueError(f"interval {kind!r} is unknown; allowed are {list(INTERVALS)}")
    ordered = np.sort(draws, axis=0)
    n = len(ordered)
    inside = min(n, max(1, int(np.ceil(level * n))))
    widths = ordered[inside - 1 :] - ordered[: n - inside + 1]
    start = widths.argmin(axis=0)
    columns = np.arange(ordered.shape[1])
    return ordered[start, columns], ordered[start + inside - 1, columns]


def answer_bounds(
    estimator: Estimator, xs: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The median and ``level`` interval bounds of ``estimator``'s answer to each of ``xs``.

    The intervals are of the estimator's kind. An answer refused (its mass outside the box)
    is NaN, and so never covers.
    """
    rows = []
    for i, x in enumerate(xs):
        try:
            drawn, _ = estimator.draw(x, CALIBRATION_DRAWS, estimator.seed + 1 + i, "a simulation")
        except ValueError:
            drawn = np.full((1, len(estimator.names)), np.nan)
        bounds = credible_bounds(drawn, level, estimator.interval)
        rows.append(np.stack([np.median(drawn, axis=0), *bounds]))
    center, low, high = np.stack(rows).transpose(1, 0, 2)
    return center, low, high


def widening_factors(
    center: np.ndarray, low: np.ndarray, high: np.ndarray, thetas: np.ndarray, level: float
) -> tuple[float, ...]:
    """Per parameter, the smallest :data:`WIDENINGS` factor that makes the intervals cover.

    The intervals ``[low, high]`` about ``center`` (one row per answer), each widened by the
    factor, must cover a ``level`` share of ``thetas``; the largest factor if none does.
    """
    widen = []
    for j in range(thetas.shape[1]):
        factor = WIDENINGS[-1]
        for w in WIDENINGS:
            inside = (center[:, j] + w * (low[:, j] - center[:, j]) <= thetas[:, j]) & (
                thetas[:, j] <= center[:, j] + w * (high[:, j] - center[:, j])
            )
            if inside.mean() >= level:
                factor = w
                break
        widen.append(float(factor))
    return tuple(widen)
