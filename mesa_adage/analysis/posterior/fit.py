"""A goodness-of-fit test that treats the simulations exactly as it treats the data.

Could the followers, at some theta, have made the data? The test refits: the data's theta is
the estimator's posterior median for them, and the statistic is how far the data's summary
lies from what the followers make on average at that theta (a regression of the summaries on
theta over the estimator's simulations), entry by entry in units of the followers' own
spread. Each of the estimator's simulations gets the same statistic by the same steps, refit
included: its theta is the same estimator's posterior median for it, and the regression is
fitted without it (cross-fitted). The p-value is the share of simulations at least as far as
the data. Data the followers make at a theta drawn from the prior are exchangeable with the
simulations, so their p-values are uniform; nothing new is simulated, so the test answers in
``adage posterior`` as fast as the posterior does.

The refit is by the estimator that trained on the simulations, not by cross-fitted ones: an
estimator trained on four fifths answers worse than the whole one, which made the
simulations look farther than data and piled the p-values of a toy model's own data near 1
(tests/test_posterior.py measures the uniformity).

This is a parametric bootstrap with refit whose pseudo-data are the prior's simulations rather
than new ones at the answer: it asks whether the data are like anything the followers make
anywhere in the prior, as the estimator itself assumes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

DEGREE = 3
"""Degree of the polynomial in theta (scaled to the box) that predicts each summary entry."""
FOLDS = 5
"""Folds of the regression's cross-fitting, for the simulations' own statistics."""
POOR_FIT = 0.05
"""Below this p-value the data are said to fit poorly."""


def features(units: np.ndarray, degree: int = DEGREE) -> np.ndarray:
    """Every monomial of the columns of ``units`` (thetas scaled to [0, 1]) up to ``degree``."""
    columns = [np.ones(len(units))]
    for power in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(range(units.shape[1]), power):
            columns.append(np.prod(units[:, combo], axis=1))
    return np.stack(columns, axis=1)


def _regression(units: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients of ``xs`` on ``features(units)``, and residual spreads.

    A spread is never below a millionth of its entry's own, so that an entry theta decides
    exactly does not dominate.
    """
    design = features(units)
    coef, *_ = np.linalg.lstsq(design, xs, rcond=None)
    spread = (xs - design @ coef).std(axis=0)
    return coef, np.maximum(spread, 1e-6 * xs.std(axis=0) + 1e-12)


@dataclass(frozen=True)
class FitTest:
    """The fitted regression and the simulations' statistics (:func:`fit_test`).

    Attributes:
        lows: The box's lower bounds.
        highs: The box's upper bounds.
        coef: The regression's coefficients ``(features, entries)``.
        scale: Each entry's residual spread.
        null: Each simulation's statistic: refit by the estimator, the regression fitted
            without it.
    """

    lows: np.ndarray
    highs: np.ndarray
    coef: np.ndarray
    scale: np.ndarray
    null: np.ndarray

    def statistic(self, x: np.ndarray, theta: np.ndarray) -> float:
        """Mean squared standardised distance of ``x`` from the followers' mean at ``theta``."""
        units = ((np.asarray(theta) - self.lows) / (self.highs - self.lows))[None, :]
        predicted = (features(units) @ self.coef)[0]
        return float(np.mean(((x - predicted) / self.scale) ** 2))

    def test(self, x: np.ndarray, theta: np.ndarray | None) -> dict[str, Any]:
        """The test of summary ``x`` refit at ``theta`` (None: the refit was refused).

        Returns:
            ``statistic`` (None when the refit was refused: as far as can be),
            ``null_median`` (the simulations' median), ``p_value``, ``verdict`` and
            ``simulations``; JSON-ready.
        """
        value = np.inf if theta is None else self.statistic(x, theta)
        p = (1 + int(np.sum(self.null >= value))) / (len(self.null) + 1)
        return {
            "statistic": round(value, 4) if np.isfinite(value) else None,
            "null_median": round(float(np.median(self.null)), 4),
            "p_value": round(p, 4),
            "verdict": "poor fit" if p < POOR_FIT else "consistent",
            "simulations": len(self.null),
        }

    def state(self) -> dict[str, list]:
        """The test as plain lists, for the estimator's file."""
        return {k: getattr(self, k).tolist() for k in ("lows", "highs", "coef", "scale", "null")}

    @classmethod
    def from_state(cls, state: dict[str, list]) -> FitTest:
        """The test saved by :meth:`state`."""
        return cls(**{k: np.asarray(v, dtype=float) for k, v in state.items()})


def fit_test(
    thetas: np.ndarray,
    xs: np.ndarray,
    refits: np.ndarray,
    lows: np.ndarray,
    highs: np.ndarray,
    seed: int,
) -> FitTest:
    """The fit test of an estimator trained on ``(thetas, xs)``.

    Args:
        thetas: The simulations' thetas ``(simulations, parameters)``.
        xs: Their summaries (the entries the estimator reads).
        refits: Each simulation's posterior median by the estimator, as it refits data.
        lows: The box's lower bounds.
        highs: The box's upper bounds.
        seed: Seed of the regression's folds.
    """
    units = (thetas - lows) / (highs - lows)
    refit_units = (refits - lows) / (highs - lows)
    order = np.random.default_rng(seed).permutation(len(thetas))
    null = np.empty(len(thetas))
    for out in np.array_split(order, FOLDS):
        fit = np.setdiff1d(order, out)
        coef, scale = _regression(units[fit], xs[fit])
        predicted = features(refit_units[out]) @ coef
        null[out] = np.mean(((xs[out] - predicted) / scale) ** 2, axis=1)
    null[np.isnan(null)] = np.inf  # a simulation the estimator refused is as far as can be
    coef, scale = _regression(units, xs)
    return FitTest(np.asarray(lows, float), np.asarray(highs, float), coef, scale, null)
