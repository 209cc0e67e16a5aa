"""Reading observed data for calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


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
