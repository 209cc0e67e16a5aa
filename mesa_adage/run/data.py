"""Observed data for calibration: reading a user's CSV, and a run's data, made once."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

EPISODE = "episode"
"""The optional column that numbers the episodes of an observed-data file."""


def read_observed(path: str | Path, column: str, *, min_steps: int = 3) -> pd.DataFrame:
    """Read a CSV of observed series: a ``column`` column, optionally ``episode`` and others.

    Every column is a series of finite numbers, ``episode`` of whole numbers; every episode
    has the same number of steps, at least ``min_steps`` (the calibration statistics need
    them: a change needs two steps, an autocorrelation three). A pure check, so a command
    can refuse a file before it writes anything.

    Raises:
        FileNotFoundError: If nothing exists at ``path``.
        ValueError: If it is not a file, cannot be parsed, lacks ``column``, holds a value
            that is not a finite number, or has episodes that are too short or unequal,
            naming the file, the column and the row.
    """
    path = Path(path)
    where = f"--data file {str(path)!r}"
    if not path.exists():
        raise FileNotFoundError(f"{where} does not exist")
    if not path.is_file():
        raise ValueError(f"{where} is a folder, not a file; pass a CSV file")
    try:
        with warnings.catch_warnings():
            # A first row longer than the header would silently become the index.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, index_col=False)
    except pd.errors.ParserWarning:
        raise ValueError(f"{where} has a row with more fields than its header") from None
    except ValueError as err:  # also pandas' ParserError, EmptyDataError, UnicodeDecodeError
        raise ValueError(f"{where} is not a readable CSV: {err}") from None
    if column not in frame.columns:
        raise ValueError(f"{where} has no {column!r} column; its columns are {list(frame.columns)}")
    for name in frame.columns:
        values = _finite(frame[name], where, whole=name == EPISODE)
        if name == column or not pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = values  # other numeric columns keep their type (integer episodes)
    if frame.empty:
        raise ValueError(f"{where} has a header but no rows; need at least {min_steps}")
    lengths = frame.groupby(EPISODE).size() if EPISODE in frame else pd.Series([len(frame)])
    short = lengths[lengths < min_steps]
    if len(short):
        which = f"{where}: episode {short.index[0]:g}" if EPISODE in frame else where
        rows = f"{short.iloc[0]} row" + ("s" if short.iloc[0] != 1 else "")
        raise ValueError(f"{which} has {rows}; every episode needs at least {min_steps} steps")
    if lengths.nunique() > 1:
        first, other = lengths.iloc[0], lengths[lengths != lengths.iloc[0]]
        raise ValueError(
            f"{where}: episode {lengths.index[0]:g} has {first} rows but episode "
            f"{other.index[0]:g} has {other.iloc[0]}; every episode must have the same length"
        )
    return frame


def _finite(series: pd.Series, where: str, *, whole: bool) -> pd.Series:
    """``series`` as floats, or a ValueError naming the first value that is no finite number.

    Raises:
        ValueError: Naming the file, the column and the row (its line in the file).
    """
    bool_typed = pd.api.types.is_bool_dtype(series)  # "True" is no observation
    values = pd.to_numeric(series, errors="coerce").astype(float)
    bad = ~np.isfinite(values) | bool_typed
    if whole:
        bad |= values != np.round(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = series.iloc[row]
        value = value.item() if isinstance(value, np.generic) else value
        shown = "empty (or NaN)" if isinstance(value, float) and np.isnan(value) else repr(value)
        wanted = "a whole number" if whole else "a finite number"
        raise ValueError(f"{where}: {series.name!r} at row {row + 2} is {shown}, not {wanted}")
    return values


def run_data(
    data: pd.DataFrame | Callable[..., pd.DataFrame] | None,
    seed: int,
    executor: Any,
    announce: Callable[[], None] | None = None,
    progress: bool = False,
) -> pd.DataFrame | None:
    """A run's observed data, given or generated (the run folder keeps it: ``RunRecord``).

    Args:
        data: A frame, a function of the seed that generates one (given ``executor`` and
            ``progress`` too if it takes those keywords), or None.
        seed: Seed of the generator.
        executor: Passed to a generator that takes an ``executor`` keyword.
        announce: Called before generating (it can take minutes).
        progress: Passed to a generator that takes a ``progress`` keyword (show a bar).
    """
    if data is None:
        return None
    if callable(data):
        if announce is not None:
            announce()
        takes = inspect.signature(data).parameters
        offered = {"executor": executor, "progress": progress}
        options = {name: value for name, value in offered.items() if name in takes}
        with threadpool_limits(limits=1):
            data = data(seed, **options)
    return data
