"""How a data set becomes the vector the posterior conditions on, and which data fit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mesa_adage.outer.objectives import Calibration
from mesa_adage.outer.statistics import EPISODE_COLUMNS, STATISTICS, episodes

NEGLIGIBLE = 1e-6
"""A summary entry whose spread across the simulations is below this share of the largest
spread among its series' entries is left out: it carries rounding noise, not information."""


@dataclass(frozen=True)
class Summary:
    """How a data set becomes the vector the estimator conditions on, and which data fit.

    Attributes:
        columns: The series matched, in order.
        statistics: The calibration's statistics, each taken of every column.
        episodes: Episodes in a data set.
        steps: Steps in an episode.
    """

    columns: tuple[str, ...]
    statistics: tuple[str, ...]
    episodes: int
    steps: int

    @classmethod
    def of(cls, objective: object) -> Summary:
        """The summary of a calibration objective built from observed data.

        Raises:
            ValueError: If ``objective`` is not a :class:`~mesa_adage.outer.objectives.Calibration`.
        """
        if not isinstance(objective, Calibration):
            raise ValueError(
                f"--posterior needs a calibration objective (mesa_adage.outer.objectives."
                f"calibration), not {objective!r}: the posterior summarises data with its "
                "statistics"
            )
        shapes = {column: target.shape for column, target in objective.targets.items()}
        (episodes_, steps), *_ = shapes.values()
        return cls(tuple(shapes), tuple(objective.statistics), int(episodes_), int(steps))

    def names(self) -> list[str]:
        """The name of every entry of the vector, ``column:statistic`` (``[step]`` for paths)."""
        return [
            f"{c}:{s}" + (f"[{t}]" if s == "path_mae" else "")
            for c in self.columns
            for s in self.statistics
            for t in (range(self.steps) if s == "path_mae" else [0])
        ]

    def vector(self, series: Mapping[str, np.ndarray]) -> np.ndarray:
        """The flat summary of one data set's ``(episodes, steps)`` arrays by column."""
        parts = [
            series[c].mean(axis=0) if s == "path_mae" else [STATISTICS[s](series[c]).mean()]
            for c in self.columns
            for s in self.statistics
        ]
        return np.concatenate([np.asarray(p, dtype=float) for p in parts])

    def check(self, data: pd.DataFrame, where: str) -> dict[str, np.ndarray]:
        """The series of ``data`` as arrays, if the data fit; else an error naming what differs.

        Args:
            data: Observed data: the columns, optionally ``episode`` and ``step``.
            where: What names the data in an error (``--data file 'x.csv'``).

        Raises:
            ValueError: If a column is missing or extra, a value is not finite, or the data
                hold another number of episodes or steps per episode than the estimator's.
        """
        series = [c for c in data.columns if c not in EPISODE_COLUMNS]
        missing = [c for c in self.columns if c not in series]
        extra = [c for c in series if c not in self.columns]
        if missing or extra:
            pairs = (("missing", missing), ("extra", extra))
            differs = "; ".join(f"{what} {names}" for what, names in pairs if names)
            raise ValueError(
                f"{where} has columns {series}, the estimator was trained on {list(self.columns)} "
                f"({differs}); give data with exactly those series (episode and step may be added)"
            )
        arrays = {}
        for column in self.columns:
            try:
                arrays[column] = episodes(data, column)
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
        found = arrays[self.columns[0]].shape
        for name, have, want in (
            ("episodes", found[0], self.episodes),
            ("steps per episode", found[1], self.steps),
        ):
            if have != want:
                raise ValueError(
                    f"{where} has {have} {name}, the estimator was trained on data sets of "
                    f"{want}; its posterior is only calibrated for data of that shape "
                    f"({self.episodes} episodes of {self.steps} steps)"
                )
        return arrays


def informative(summary: Summary, xs: np.ndarray) -> np.ndarray:
    """The indices of the summary entries that vary across the simulations ``xs``.

    An entry whose spread is below :data:`NEGLIGIBLE` times the largest spread among its own
    series' entries is left out (a forecast dispersion that settles to zero: rounding noise
    there, scaled up by standardising, made training fail).
    """
    spread = xs.std(axis=0)
    series = np.array([name.split(":")[0] for name in summary.names()])
    largest = np.array([spread[series == c].max() for c in series])
    return np.flatnonzero(spread > NEGLIGIBLE * largest)
