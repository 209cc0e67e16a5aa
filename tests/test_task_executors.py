"""Every shipped task, at a test budget, gives the same history on every executor."""

import pytest

from mesa_adage import LeaderScheduler
from mesa_adage.run.executors import make_executor
from tests import specs

TASKS = {
    "calibration": specs.tiny_calibration,
    "policy_design": specs.tiny_policy_design,
    "calm": specs.tiny_calm,
    "stress": specs.tiny_stress,
    "robust": specs.tiny_robust,
}


def tables(run):
    """history.csv without its wall-clock column, and candidates.csv, as text."""
    history = [line.rsplit(",", 1)[0] for line in (run / "history.csv").read_text().splitlines()]
    return history, (run / "candidates.csv").read_text()


@pytest.fixture(scope="module")
def executors():
    made = {name: make_executor(name, workers=2) for name in ("process", "ray")}
    yield made
    for executor in made.values():
        executor.close()


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(TASKS))
def test_a_task_gives_the_serial_history_on_every_executor(task, executors, tmp_path):
    serial = tmp_path / "serial"
    LeaderScheduler(TASKS[task](), serial, seed=2, progress=False).run()
    for name, executor in executors.items():
        run = tmp_path / name
        LeaderScheduler(TASKS[task](), run, seed=2, progress=False, executor=executor).run()
        assert tables(run) == tables(serial), name
