"""Leader objectives: pure functions from rollouts to a float that the leader maximises.

:func:`calibration` turns the distance between simulated and observed statistics
(:mod:`~mesa_adage.outer.statistics`) into a score (0 is a perfect fit, lower is worse);
:func:`mean_of` scores a column's mean (social welfare); the market objectives score a price
path (volatility, mean absolute percentage change, crashes, a volume floor).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.statistics import (  # the statistics a calibration names, here too
    DEFAULT_STATISTICS,
    EPISODE_COLUMNS,
    STATISTICS,
    check_statistics,
    episodes,
)

__all__ = [
    "DEFAULT_STATISTICS",
    "DISTANCES",
    "EPISODE_COLUMNS",
    "STATISTICS",
    "Calibration",
    "CrashCounter",
    "Objective",
    "calibration",
    "check_statistics",
    "crash_frequency",
    "crashes",
    "episodes",
    "mean_abs_pct_change",
    "mean_of",
    "volatility",
    "volume_floor",
]

Objective = Callable[[Sequence[Rollout]], float]


DISTANCES = ("l2", "l1", "mahalanobis")


@dataclass(frozen=True)
class Calibration:
    """Negative distance between simulated and observed statistics of one or more series.

    Each statistic's difference is divided by its spread across the observed episodes (or
    across simulated ones when only one episode is observed), so statistics in different units
    weigh alike. ``path_mae`` is the mean absolute gap between the average simulated path and
    the average observed path, divided by the mean per-step spread.

    ``distance="mahalanobis"`` weighs the per-episode statistics by the inverse of their
    covariance across the observed episodes (the efficient weighting of the method of
    simulated moments), so correlated or noisy statistics do not count twice; ``path_mae``
    terms are added as scaled squares.

    Attributes:
        targets: Observed series by column, each of shape ``(episodes, steps)``.
        statistics: Names from :data:`STATISTICS`, plus ``"path_mae"``.
        distance: ``"l2"`` (root of summed squares), ``"l1"`` (sum of absolute values) or
            ``"mahalanobis"``.
    """

    targets: dict[str, np.ndarray]
    statistics: tuple[str, ...] = DEFAULT_STATISTICS
    distance: str = "l2"

    def __post_init__(self) -> None:
        unknown = [s for s in self.statistics if s not in STATISTICS and s != "path_mae"]
        if unknown:
            raise ValueError(
                f"unknown statistic {unknown[0]!r}; allowed are {[*STATISTICS, 'path_mae']}"
            )
        if self.distance not in DISTANCES:
            raise ValueError(f"distance={self.distance!r}; allowed are {list(DISTANCES)}")
        if self.distance == "mahalanobis":
            stats = self._episode_statistics(self.targets)
            if len(stats) <= stats.shape[1]:
                raise ValueError(
                    f"distance='mahalanobis' needs more observed episodes ({len(stats)}) than "
                    f"statistics ({stats.shape[1]}); use distance='l2'"
                )
            cov = np.atleast_2d(np.cov(stats, rowvar=False))
            ridge = 1e-9 * np.trace(cov) / len(cov) + 1e-12
            object.__setattr__(self, "_precision", np.linalg.pinv(cov + ridge * np.eye(len(cov))))
            object.__setattr__(self, "_target_means", stats.mean(0))

    def _episode_statistics(self, series: dict[str, np.ndarray]) -> np.ndarray:
        """Per-episode statistics (``path_mae`` excluded), shape ``(episodes, k)``."""
        cols = [
            STATISTICS[name](series[column])
            for column in self.targets
            for name in self.statistics
            if name != "path_mae"
        ]
        return np.stack(cols, axis=1) if cols else np.zeros((len(next(iter(series.values()))), 0))

    def gaps(self, rollouts: Sequence[Rollout]) -> dict[str, float]:
        """Scaled gap of each ``column:statistic`` (0 means simulated equals observed)."""
        out: dict[str, float] = {}
        for column, target in self.targets.items():
            sim = episodes(rollouts, column)
            for name in self.statistics:
                out[f"{column}:{name}"] = _gap(name, sim, target)
        return out

    def __call__(self, rollouts: Sequence[Rollout]) -> float:
        if self.distance != "mahalanobis":
            g = np.array(list(self.gaps(rollouts).values()))
            return -float(np.sqrt((g**2).sum()) if self.distance == "l2" else np.abs(g).sum())
        sims = {c: episodes(rollouts, c) for c in self.targets}
        g = self._episode_statistics(sims).mean(0) - self._target_means
        d2 = float(g @ self._precision @ g)
        if "path_mae" in self.statistics:
            d2 += sum(_gap("path_mae", sims[c], t) ** 2 for c, t in self.targets.items())
        return -float(np.sqrt(max(d2, 0.0)))


def _gap(name: str, sim: np.ndarray, target: np.ndarray) -> float:
    if name == "path_mae":
        if sim.shape[1] != target.shape[1]:
            raise ValueError(
                f"path_mae needs episodes of equal length: simulated {sim.shape[1]} "
                f"steps, observed {target.shape[1]}"
            )
        spread = _spread(target, sim).mean()
        return float(np.abs(sim.mean(0) - target.mean(0)).mean() / spread)
    s, t = STATISTICS[name](sim), STATISTICS[name](target)
    return float((s.mean() - t.mean()) / _spread(t[:, None], s[:, None])[0])


def _spread(target: np.ndarray, sim: np.ndarray) -> np.ndarray:
    """Std across episodes (axis 0) of the target, or of the simulation if one episode."""
    base = target if len(target) > 1 else sim
    return np.maximum(base.std(axis=0), 1e-6)


def calibration(
    target: pd.DataFrame | np.ndarray,
    columns: str | Sequence[str] = "price",
    statistics: Sequence[str] = DEFAULT_STATISTICS,
    distance: str = "l2",
) -> Calibration:
    """Build a calibration objective from observed data.

    Args:
        target: A frame with the ``columns`` (and optionally ``episode``), or, for one column,
            an array of shape ``(episodes, steps)``.
        columns: Series to match, as the model's DataCollector names them.
        statistics: Statistics compared for every column.
        distance: ``"l2"``, ``"l1"`` or ``"mahalanobis"``.
    """
    columns = (columns,) if isinstance(columns, str) else tuple(columns)
    if isinstance(target, pd.DataFrame):
        targets = {c: episodes(target, c) for c in columns}
    else:
        if len(columns) != 1:
            raise ValueError(f"an array target holds one series; got columns={list(columns)}")
        targets = {columns[0]: np.atleast_2d(np.asarray(target, dtype=float))}
    return Calibration(targets, tuple(statistics), distance)


def mean_of(column: str) -> Objective:
    """Objective: the mean of a DataCollector column over all steps of all rollouts.

    ``mean_of("welfare")`` is the social welfare per period when the model reports the sum
    of utilities as ``welfare``.
    """

    def objective(rollouts: Sequence[Rollout]) -> float:
        return float(episodes(rollouts, column).mean())

    objective.__name__ = f"mean_of_{column}"
    return objective


def _returns(values: np.ndarray) -> np.ndarray:
    """Log changes of each row of positive values."""
    if (values <= 0).any():
        raise ValueError("a price series must stay positive to have log returns")
    return np.diff(np.log(values), axis=-1)


def volatility(column: str = "price") -> Objective:
    """Objective: the standard deviation of the log returns of ``column``, per episode, averaged.

    Maximising it searches for turbulence (a stress scenario); minimise it by negating it.
    """

    def objective(rollouts: Sequence[Rollout]) -> float:
        return float(_returns(episodes(rollouts, column)).std(axis=-1).mean())

    objective.__name__ = f"volatility_of_{column}"
    return objective


def mean_abs_pct_change(column: str = "price") -> Objective:
    """Objective: the mean absolute percentage change, ``mean |x_t / x_{t-1} - 1|``."""

    def objective(rollouts: Sequence[Rollout]) -> float:
        x = episodes(rollouts, column)
        if (x[:, :-1] == 0).any():
            raise ValueError(f"{column!r} is 0 somewhere: a percentage change is undefined")
        return float(np.abs(x[:, 1:] / x[:, :-1] - 1.0).mean())

    objective.__name__ = f"mean_abs_pct_change_of_{column}"
    return objective


class CrashCounter:
    """Counts crashes, falls of more than ``drop`` within ``window`` steps, value by value.

    ``drop`` is a fraction of the value. A crash starts at the first step whose value is below
    ``(1 - drop)`` times the highest value of the ``window`` steps before it; the next crash
    can start only after the series has recovered above that level. Each value costs
    ``O(window)``, so a model can keep the count as it runs.

    Raises:
        ValueError: If ``drop`` is outside (0, 1) or ``window`` is not a positive integer.
    """

    def __init__(self, drop: float, window: int) -> None:
        if not 0.0 < drop < 1.0:
            raise ValueError(f"drop={drop!r} must be in (0, 1), a fraction of the value")
        if not (isinstance(window, int) and window >= 1):
            raise ValueError(f"window={window!r} must be a positive integer")
        self.drop, self.window = drop, window
        self.count = 0
        self._recent: list[float] = []
        self._level: float | None = None  # the level to recover above before the next crash

    def add(self, value: float) -> None:
        """Take the series' next value."""
        if self._level is not None:
            if value >= self._level:
                self._level = None
        elif self._recent and value < (1.0 - self.drop) * max(self._recent):
            self.count += 1
            self._level = (1.0 - self.drop) * max(self._recent)
        self._recent = [*self._recent, float(value)][-self.window :]


def crashes(values: np.ndarray, drop: float, window: int) -> np.ndarray:
    """Crash count of each row (see :class:`CrashCounter`).

    Raises:
        ValueError: If ``drop`` is outside (0, 1) or ``window`` is not a positive integer.
    """
    counts = []
    for row in np.atleast_2d(values):
        counter = CrashCounter(drop, window)
        for value in row:
            counter.add(value)
        counts.append(counter.count)
    return np.array(counts, dtype=int)


def crash_frequency(column: str = "price", drop: float = 0.3, window: int = 3) -> Objective:
    """Objective: crashes (see :func:`crashes`) per 100 steps, over all rollouts."""
    crashes(np.zeros((1, 2)) + 1.0, drop, window)  # validate now, not at the first evaluation

    def objective(rollouts: Sequence[Rollout]) -> float:
        x = episodes(rollouts, column)
        return float(100.0 * crashes(x, drop, window).sum() / x.size)

    objective.__name__ = f"crash_frequency_of_{column}"
    return objective


def volume_floor(objective: Objective, column: str, floor: float, weight: float) -> Objective:
    """``objective`` less ``weight`` times how far the mean of ``column`` falls below ``floor``.

    A penalty rather than a hard constraint: candidates below the floor keep a finite,
    ordered score, so a leader can still move toward the floor from the wrong side.

    Raises:
        ValueError: If ``floor`` is negative or ``weight`` is not positive.
    """
    if not floor >= 0:
        raise ValueError(f"floor={floor!r} must be >= 0")
    if not weight > 0:
        raise ValueError(f"weight={weight!r} must be positive")

    def penalised(rollouts: Sequence[Rollout]) -> float:
        shortfall = max(0.0, floor - float(episodes(rollouts, column).mean()))
        return objective(rollouts) - weight * shortfall

    penalised.__name__ = f"{getattr(objective, '__name__', 'objective')}_with_{column}_floor"
    return penalised
