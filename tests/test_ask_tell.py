"""Every built-in leader, driven by the scheduler through plain ask/tell, gives the history it
gave when leaders ran their own phase with a callback (recorded before the change, in
tests/data/leader_histories.json: the toy calibration, 3 epochs, seed 11)."""

import json
from pathlib import Path

import pytest

from mesa_adage import LeaderScheduler
from tests.test_scheduler import experiment

RECORDED = json.loads((Path(__file__).parent / "data" / "leader_histories.json").read_text())
OPTIONS = {"distribution": {"grid": 3}}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_a_leader_driven_by_ask_tell_gives_the_recorded_history(name, tmp_path):
    recorded = RECORDED[name]
    exp = experiment(leader=name, leader_kwargs=OPTIONS.get(name, {}), epochs=3)
    result = LeaderScheduler(exp, tmp_path, seed=11, progress=False).run()
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert [line.rsplit(",", 1)[0] for line in history] == recorded["history"]  # no seconds
    assert (tmp_path / "candidates.csv").read_text().splitlines() == recorded["candidates"]
    assert result.theta == recorded["theta"] and result.objective == recorded["objective"]
