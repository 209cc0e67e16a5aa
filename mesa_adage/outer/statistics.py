"""Statistics: what summarises one series per episode, and the episodes they are taken over.

Each statistic maps an ``(episodes, steps)`` array to one value per episode; a calibration
(:func:`~mesa_adage.outer.objectives.calibration`) compares them between simulated and
observed data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import pandas as pd

from mesa_adage.inner.rollout import Rollout


def mean(x: np.ndarray) -> np.ndarray:
    """Mean of each row (episode)."""
    return x.mean(axis=-1)


def std(x: np.ndarray) -> np.ndarray:
    """Standard deviation of each row."""
    return x.std(axis=-1)


def autocorr(x: np.ndarray, lag: int = 1) -> np.ndarray:
    """Autocorrelation of each row at ``lag`` (0 for a row constant up to rounding)."""
    scale = np.abs(x).max(axis=-1, keepdims=True)  # rows of tiny numbers would underflow
    x = np.divide(x, scale, out=np.zeros_like(x, dtype=float), where=scale > 0)
    d = x - x.mean(axis=-1, keepdims=True)
    num = (d[..., lag:] * d[..., :-lag]).sum(axis=-1)
    den = (d**2).sum(axis=-1)
    varies = den > 1e-12 * (x**2).sum(axis=-1)  # relative: the statistic is scale-free
    return np.divide(num, den, out=np.zeros_like(num), where=varies)


def mean_abs_change(x: np.ndarray) -> np.ndarray:
    """Mean absolute one-step change of each row."""
    return np.abs(np.diff(x, axis=-1)).mean(axis=-1)


def first(x: np.ndarray) -> np.ndarray:
    """First value of each row: the response to the episode's start (a shock, a given state)."""
    return x[..., 0]


EARLY = 5
"""Steps of an episode's start that the ``early_*`` statistics look at."""


def early_mean(x: np.ndarray) -> np.ndarray:
    """Mean of each row's first :data:`EARLY` values: the transient after the start."""
    return x[..., :EARLY].mean(axis=-1)


def early_change(x: np.ndarray) -> np.ndarray:
    """Mean signed one-step change over each row's first :data:`EARLY` values.

    How fast the transient moves, and which way.
    """
    return np.diff(x[..., :EARLY], axis=-1).mean(axis=-1)


STATISTICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": mean,
    "std": std,
    "autocorr": autocorr,
    "autocorr2": partial(autocorr, lag=2),
    "autocorr3": partial(autocorr, lag=3),
    "mean_abs_change": mean_abs_change,
    "first": first,
    "second": partial(np.take, indices=1, axis=-1),
    "early_mean": early_mean,
    "early_change": early_change,
}
"""Per-episode statistics by name; ``path_mae`` is handled by :func:`calibration`."""

EPISODE_COLUMNS = ("episode", "step")
"""Columns of an observed-data frame that number its episodes and steps, not series."""
DEFAULT_STATISTICS = ("mean", "std", "autocorr", "mean_abs_change", "path_mae")


def check_statistics(statistics: str | Sequence[str]) -> tuple[str, ...]:
    """Statistic names as a tuple; a string is comma-separated (``"mean,std,first"``).

    Raises:
        ValueError: If there are none, or one is unknown (naming it and the allowed ones).
    """
    names = statistics.split(",") if isinstance(statistics, str) else list(statistics)
    names = [str(n).strip() for n in names if str(n).strip()]
    allowed = [*STATISTICS, "path_mae"]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        what = f"unknown statistic {unknown[0]!r}" if unknown else "no statistic"
        raise ValueError(f"statistics={statistics!r}: {what}; allowed are {allowed}")
    return tuple(dict.fromkeys(names))


def episodes(data: pd.DataFrame | Sequence[Rollout], column: str) -> np.ndarray:
    """Stack ``column`` into an ``(episodes, steps)`` array.

    ``data`` is either rollouts or a frame with ``column`` and, optionally, an ``episode``
    column (one episode if absent).

    Raises:
        ValueError: If the column is missing, episodes differ in length, or values are not
            finite.
    """
    if isinstance(data, pd.DataFrame):
        if column not in data.columns:
            raise ValueError(f"data has no column {column!r}; columns are {list(data.columns)}")
        groups = (
            [g[column] for _, g in data.groupby("episode")] if "episode" in data else [data[column]]
        )
    else:
        missing = [r for r in data if column not in r.frame.columns]
        if missing:
            raise ValueError(
                f"rollout frame has no column {column!r}; its DataCollector reports "
                f"{list(missing[0].frame.columns)}"
            )
        groups = [r.series(column) for r in data]
    lengths = {len(g) for g in groups}
    if len(lengths) != 1:
        raise ValueError(f"episodes of {column!r} differ in length: {sorted(lengths)}")
    arr = np.stack([np.asarray(g, dtype=float) for g in groups])
    if not np.isfinite(arr).all():
        raise ValueError(f"{column!r} holds non-finite values")
    return arr
