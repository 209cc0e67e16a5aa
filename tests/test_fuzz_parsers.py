"""Fuzzing the parsers of user text: each returns a valid value or raises a clear ValueError.

Theta strings, ``--train-range`` strings, integer flags, theta mappings of any type, observed
data files and a run folder's ``config.json``: never another exception type, and what they
accept holds what their docstrings promise.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesa_adage import Characteristics, Param
from mesa_adage.analysis.evaluation import RUN_KEYS
from mesa_adage.characteristics import parse_theta
from mesa_adage.cli import integer, parse_range
from mesa_adage.run.data import read_observed
from mesa_adage.run.record import RunRecord
from tests.test_scheduler import experiment

SPACE = Characteristics(Param("lam", 0.1, 1.0), Param("inertia", 0.0, 1.0))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text made of the pieces these parsers split on, so that many draws get far into them.
pieces = st.sampled_from(
    ["lam", "inertia", "speed", "=", ",", ":", " ", "0.5", "1", "-2", "1e400", "nan", "inf", "x"]
)
fragments = st.lists(pieces, max_size=12).map("".join)
values_text = st.sampled_from(
    ["0.5", "0.25", " 1 ", "0", "-0", "1e-1", "2", "nan", "inf", "abc", ""]
)
pairs = st.tuples(
    st.sampled_from(["lam", "inertia", " lam ", "speed", ""]),
    st.sampled_from(["=", "=", ":", "=="]),
    values_text,
).map("".join)


@st.composite
def theta_texts(draw):
    """Both names once, in either order, often with fitting values; sometimes one pair more."""
    parts = [f"{name}={draw(values_text)}" for name in draw(st.permutations(["lam", "inertia"]))]
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), draw(pairs))
    return ",".join(parts)


texts = st.one_of(theta_texts(), fragments, st.text(max_size=40))


@FUZZ
@given(texts)
def test_a_theta_string_parses_to_a_complete_theta_in_bounds_or_is_refused(text):
    try:
        theta = parse_theta(text, SPACE)
    except ValueError as err:
        assert str(err)
        return
    assert list(theta) == list(SPACE.names)
    for p in SPACE.params:
        assert isinstance(theta[p.name], float) and p.low <= theta[p.name] <= p.high


@FUZZ
@given(
    st.floats(0.1, 1.0),
    st.floats(0.0, 1.0),
    st.booleans(),
    st.sampled_from(["", " ", "  "]),
)
def test_a_written_theta_parses_back_exactly(lam, inertia, swap, pad):
    parts = [f"{pad}lam{pad}={pad}{lam!r}", f"inertia={inertia!r}{pad}"]
    text = ",".join(reversed(parts) if swap else parts)
    assert parse_theta(text, SPACE) == {"lam": lam, "inertia": inertia}


@FUZZ
@given(texts)
def test_a_train_range_parses_to_pairs_or_is_refused(text):
    try:
        ranges = parse_range(text)
    except ValueError as err:
        assert "--train-range" in str(err)
        return
    assert ranges and all(isinstance(v, tuple) and len(v) == 2 for v in ranges.values())


@FUZZ
@given(st.one_of(st.integers(-5, 5).map(str), st.text(max_size=8)), st.integers(0, 2))
def test_an_integer_flag_is_an_int_at_least_its_low_or_is_refused(text, low):
    try:
        value = integer(low)(text)
    except argparse.ArgumentTypeError as err:
        assert f">= {low}" in str(err) and repr(text) in str(err)
        return
    assert isinstance(value, int) and value >= low and value == int(text)


values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
    st.lists(st.floats(0, 1), max_size=2),
    st.sampled_from([np.True_, np.float32(0.5), np.int64(1), np.nan]),
)


@FUZZ
@given(st.dictionaries(st.sampled_from(["lam", "inertia", "speed"]), values, max_size=3))
def test_a_theta_mapping_of_any_values_validates_or_is_refused(theta):
    try:
        valid = SPACE.validate(theta)
    except ValueError as err:
        assert any(repr(name) in str(err) for name in theta) or "theta" in str(err)
        return
    for name, given_value in theta.items():
        assert not isinstance(given_value, bool | np.bool_ | str)
        assert valid[name] == float(given_value) and math.isfinite(valid[name])


# ---------------------------------------------------------------- observed data files

cells = st.one_of(
    st.integers(-3, 3).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "abc", "True", " 5", '"5"', '"', "1,2", "0.5"]),
)
headers = st.lists(
    st.sampled_from(["price", "episode", "mean_forecast", "x", "", "price"]), min_size=1, max_size=4
)


@st.composite
def csv_texts(draw):
    """CSV-like text: a header of likely names, rows of likely cells, sometimes ragged."""
    header = draw(headers)
    rows = draw(
        st.lists(st.lists(cells, min_size=len(header) - 1, max_size=len(header) + 1), max_size=9)
    )
    return "\n".join([",".join(header), *(",".join(r) for r in rows)]) + draw(
        st.sampled_from(["", "\n", "\n\n"])
    )


@st.composite
def data_texts(draw):
    """Well-formed data, then perhaps one cell or line replaced by something else."""
    columns = ["episode", "price", *draw(st.sampled_from([[], ["mean_forecast"]]))]
    episodes, steps = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    numbers = st.floats(-1e6, 1e6).map(repr)
    lines = [",".join(columns)]
    for e in range(episodes):
        lines += [",".join([str(e)] + [draw(numbers) for _ in columns[1:]]) for _ in range(steps)]
    if draw(st.booleans()):
        row = draw(st.integers(0, len(lines) - 1))
        fields = lines[row].split(",")
        fields[draw(st.integers(0, len(fields) - 1))] = draw(cells)
        lines[row] = draw(st.sampled_from([",".join(fields), ",".join(fields[:-1]), ""]))
    return "\n".join(lines) + "\n"


def check_observed(text: str | bytes) -> None:
    """``read_observed`` of ``text`` returns what it promises, or names the file it refuses."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "observed.csv"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        try:
            frame = read_observed(path, "price")
        except ValueError as err:
            assert f"--data file {str(path)!r}" in str(err)
            return
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 3
    for column in frame.columns:
        assert np.isfinite(pd.to_numeric(frame[column]).to_numpy(dtype=float)).all()
    assert frame["price"].dtype == float
    if "episode" in frame:
        lengths = frame.groupby("episode").size()
        assert lengths.nunique() == 1 and lengths.iloc[0] >= 3
        assert (frame["episode"] == np.round(frame["episode"])).all()


@FUZZ
@given(st.one_of(data_texts(), csv_texts()))
def test_a_csv_like_file_loads_as_valid_data_or_is_refused_naming_it(text):
    check_observed(text)


@FUZZ
@given(st.one_of(st.text(max_size=60), st.binary(max_size=60)))
def test_any_file_loads_as_valid_data_or_is_refused_naming_it(text):
    check_observed(text)


# ---------------------------------------------------------------- a run folder's config.json


@pytest.fixture(scope="module")
def toy():
    return experiment()


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.text(max_size=40),
        st.binary(max_size=40),
        st.sampled_from(["{}", "[]", "null", '{"model": 1}', '{"algo": "PPO"}', "1e999"]),
    )
)
def test_a_config_file_of_any_content_is_accepted_or_refused_with_a_value_error(toy, text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        try:
            differ = RunRecord(folder).compare(toy.config(), RUN_KEYS, "RUN_DIR", "advice")
        except ValueError as err:
            assert "config.json" in str(err) and str(err).startswith("RUN_DIR: ")
        else:
            assert all(text.startswith(key) and " -> " in text for key, text in differ.items())


# --------------------------------------------------------------------- checkpoint manifests

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    manifest=st.fixed_dictionaries(
        {},
        optional={
            "format": st.sampled_from([2, 2, 2, 1, 3, "2", None]),
            "epoch": st.one_of(st.integers(-2, 3), JSON),
            "folder": st.one_of(st.sampled_from(["epoch-0001", "../x", "epoch-0001/..", ""]), JSON),
            "files": st.one_of(
                st.dictionaries(
                    st.sampled_from(["policy.zip", "../state.json", "", "state.json"]),
                    st.one_of(
                        st.fixed_dictionaries(
                            {"size": st.integers(0, 9), "sha256": st.text(max_size=4)}
                        ),
                        JSON,
                    ),
                    max_size=3,
                ),
                JSON,
            ),
        },
    )
)
def test_any_manifest_reads_or_is_a_clear_checkpoint_error(tmp_path, manifest):
    from mesa_adage.run.checkpoint import MANIFEST, CheckpointError, read_checkpoint

    directory = tmp_path / "checkpoint"
    (directory / "epoch-0001").mkdir(parents=True, exist_ok=True)
    (directory / "epoch-0001" / "state.json").write_text("{}")
    (directory / MANIFEST).write_text(json.dumps(manifest))
    try:
        found = read_checkpoint(directory)
    except CheckpointError as err:
        assert str(directory) in str(err) or "checkpoint" in str(err)
    else:
        assert found is not None and found.folder.parent == directory


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=60) | st.text(max_size=60).map(str.encode))
def test_any_manifest_bytes_read_or_are_a_clear_checkpoint_error(tmp_path, content):
    from mesa_adage.run.checkpoint import MANIFEST, CheckpointError, read_checkpoint

    directory = tmp_path / "checkpoint"
    directory.mkdir(exist_ok=True)
    (directory / MANIFEST).write_bytes(content)
    with pytest.raises(CheckpointError, match=r"manifest|checkpoint|format"):
        read_checkpoint(directory)
