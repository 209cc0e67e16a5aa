"""RESULTS.md's generated tables against the raw rows they are made from (issue 22).

``benchmarks/report.py`` makes every marked table of RESULTS.md from the rows in
``benchmarks/results/``. These tests fail when the record drifts from its data, and check on a
copy of the rows that a changed row does change its table (so the check could fail).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def _load(path: Path):
    """The file at ``path`` as a module named after it (a sibling import finds it there)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = sys.modules[path.stem] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = sys.modules.get("harness") or _load(BENCHMARKS / "harness.py")
report = harness.load_file(BENCHMARKS / "report.py")


@pytest.fixture
def copy(tmp_path):
    """A copy of the results folder and of RESULTS.md, to plant changes in."""
    results = tmp_path / "results"
    shutil.copytree(harness.RESULTS, results)
    results_md = tmp_path / "RESULTS.md"
    shutil.copyfile(report.RESULTS_MD, results_md)
    return results, results_md


def test_results_md_matches_its_rows():
    drifted = report.differences()
    assert drifted == {}, "RESULTS.md differs from benchmarks/results/ (python " + (
        "benchmarks/report.py rewrites it):\n\n" + "\n\n".join(drifted.values())
    )


def test_every_generated_table_is_marked_once():
    names = re.findall(r"<!-- table: ([a-z0-9-]+) -->", report.RESULTS_MD.read_text())
    assert sorted(names) == sorted(report.TABLES)


def test_a_planted_change_to_a_row_changes_its_table(copy):
    results, results_md = copy
    path = results / "taxation_zeroshot.jsonl"
    rows = harness.read_rows(path)
    rows[1]["retrained_welfare"] -= 1.0  # -117.68 -> -118.68
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    drifted = report.differences(results, results_md)
    assert list(drifted) == ["taxation-zeroshot"]
    assert "-| (0.1, 0.3) | -117.71 | -117.68 |" in drifted["taxation-zeroshot"]
    assert "+| (0.1, 0.3) | -117.71 | -118.68 |" in drifted["taxation-zeroshot"]


def test_a_planted_change_in_an_aggregate_changes_its_table(copy):
    results, results_md = copy
    path = results / "calibration.jsonl"
    rows = harness.read_rows(path)
    default = [r for r in rows if r["mode"] == report.DEFAULT_CALIBRATION]
    default[0]["error"]["lam"] += 0.09  # one run 9 points worse: means, maxima, 5% counts move
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    drifted = report.differences(results, results_md)
    assert set(drifted) == {"calibration-settings", "calibration-default", "calibration-runs"}


def test_rewriting_fixes_the_tables_and_keeps_the_prose(copy):
    results, results_md = copy
    path = results / "entrance.jsonl"
    rows = harness.read_rows(path)
    rows[0]["baseline"]["volume"] = 99.0
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = results_md.read_text()
    assert report.main(["--results", str(results), "--results-md", str(results_md)]) == 0
    after = results_md.read_text()
    assert report.differences(results, results_md) == {}
    assert "| 61 | 0 (no tax) | 0.211 | 0.169 | 99.0 | 7.38 | -0.380 |" in after
    outside = re.compile(r"<!-- table: [a-z0-9-]+ -->\n.*?<!-- /table -->", re.S)
    assert outside.split(before) == outside.split(after)


def test_check_exits_1_naming_each_drifted_table(copy, capsys):
    results, results_md = copy
    text = results_md.read_text()
    results_md.write_text(text.replace("| 62 | 0.212, 1.62 |", "| 62 | 0.213, 1.62 |"))
    args = ["--check", "--results", str(results), "--results-md", str(results_md)]
    assert report.main(args) == 1
    out, err = capsys.readouterr()
    assert "entrance-stress-earlier: differs from its rows" in out
    assert "-| 62 | 0.213, 1.62 |" in out and "+| 62 | 0.212, 1.62 |" in out
    assert "entrance-stress-earlier" in err


def test_check_refuses_a_marker_it_does_not_make(copy):
    results, results_md = copy
    unknown = "\n<!-- table: no-such-table -->\n\n| a |\n|---|\n\n<!-- /table -->\n"
    results_md.write_text(results_md.read_text() + unknown)
    assert "no-such-table" in report.differences(results, results_md)


def test_the_spans_are_the_models_box():
    draw = harness.load_file(BENCHMARKS / "draw_heldout.py")  # tests/test_protocol.py ties it
    assert report.SPANS == {name: high - low for name, (low, high) in draw.BOX.items()}
