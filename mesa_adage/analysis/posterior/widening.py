"""The widening: factors that make an estimator's intervals cover what they claim.

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


def answer_bounds(
    estimator: Estimator, xs: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The median and ``level`` interval bounds of ``estimator``'s answer to each of ``xs``.

    An answer refused (its mass outside the box) is NaN, and so never covers.
    """
    tail = 100 * (1 - level) / 2
    rows = []
    for i, x in enumerate(xs):
        try:
            drawn, _ = estimator.draw(x, CALIBRATION_DRAWS, estimator.seed + 1 + i, "a simulation")
        except ValueError:
            drawn = np.full((1, len(estimator.names)), np.nan)
        bounds = np.percentile(drawn, [tail, 100 - tail], axis=0)
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
