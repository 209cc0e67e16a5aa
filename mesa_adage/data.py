"""Observed data for calibration: reading a user's CSV, and a run's data, made once."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits


def read_observed(path: str | Path, column: str) -> pd.DataFrame:
    """Read a CSV of observed series: a ``column`` column and, optionally, ``episode``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it cannot be parsed, lacks ``column``, or holds non-numeric or
            non-finite values, naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--data file {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"--data file {str(path)!r} is not a readable CSV: {err}") from None
    if column not in frame.columns:
        raise ValueError(
            f"--data file {str(path)!r} has no {column!r} column; its columns are "
            f"{list(frame.columns)}"
        )
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.isna().any() or not np.isfinite(values).all():
        row = int(np.flatnonzero(values.isna() | ~np.isfinite(values.fillna(0)))[0])
        raise ValueError(
            f"--data file {str(path)!r}: {column!r} at row {row + 2} is "
            f"{frame[column].iloc[row]!r}, not a finite number"
        )
    frame[column] = values.astype(float)
    if len(frame) < 3:
        raise ValueError(f"--data file {str(path)!r} has {len(frame)} rows; need at least 3")
    return frame


def run_data(
    data: pd.DataFrame | Callable[..., pd.DataFrame] | None,
    saved: Path | None,
    seed: int,
    executor: Any,
    announce: Callable[[], None] | None = None,
) -> pd.DataFrame | None:
    """A run's observed data: ``saved`` if a run already made it, else given or generated.

    Args:
        data: A frame, a function of the seed that generates one (given ``executor`` too if
            it takes that keyword), or None.
        saved: Where the run keeps its data (written here the first time), or None.
        seed: Seed of the generator.
        executor: Passed to a generator that takes an ``executor`` keyword.
        announce: Called before generating (it can take minutes).
    """
    if data is None:
        return None
    if saved is not None and saved.exists():
        return pd.read_csv(saved)
    if callable(data):
        if announce is not None:
            announce()
        takes_executor = "executor" in inspect.signature(data).parameters
        with threadpool_limits(limits=1):
            data = data(seed, executor=executor) if takes_executor else data(seed)
    if saved is not None:
        data.to_csv(saved, index=False)
    return data
