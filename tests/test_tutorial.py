"""docs/tutorial_adapt_existing_model.md stays true: its code runs, and it is short."""

import re
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).parents[1] / "docs" / "tutorial_adapt_existing_model.md"


def code() -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), re.S))


def test_the_tutorial_is_under_forty_lines_of_user_code():
    lines = [
        line for line in code().splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    assert len(lines) < 40, len(lines)


@pytest.mark.slow
def test_the_tutorial_runs_and_its_leader_taxes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the tutorial writes runs/tutorial/ where it runs
    scope: dict = {}
    exec(compile(code(), str(TUTORIAL), "exec"), scope)
    tax = scope["result"].theta["tax"]
    assert 0.05 < tax < 0.4, tax  # neither the untaxed economy nor the highest tax
    profile = (tmp_path / "runs" / "tutorial" / "profile.csv").read_text()
    assert profile.startswith("parameter,value,objective")
