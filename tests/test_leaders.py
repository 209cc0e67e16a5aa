import json
import shutil

import numpy as np
import pytest
import torch

from mesa_adage import Characteristics, Leader, Param, register
from mesa_adage.outer.leaders import LEADERS, RandomLeader, make_leader

SPACE = Characteristics(Param("a", 0.0, 1.0), Param("b", -5.0, 5.0))
OPTIMUM = {"a": 0.3, "b": 2.0}


def score(theta):
    """A smooth objective with its maximum (0) at OPTIMUM."""
    return -(((theta["a"] - 0.3) / 1.0) ** 2) - ((theta["b"] - 2.0) / 10.0) ** 2


def drive(leader, rounds, n=8):
    for _ in range(rounds):
        thetas = leader.ask(n)
        if not thetas:
            break
        leader.tell(thetas, [score(t) for t in thetas])
    return leader


@pytest.mark.parametrize(
    ("name", "rounds", "tolerance"),
    [
        ("grid", 10, 0.09),
        ("random", 10, 0.1),
        ("tpe", 8, 0.06),
        ("cmaes", 8, 0.06),
        ("gp", 4, 0.05),
        ("spsa", 30, 0.05),
    ],
)
def test_every_leader_finds_the_optimum(name, rounds, tolerance):
    leader = drive(make_leader(name, SPACE, seed=0), rounds)
    error = SPACE.range_error(leader.incumbent, OPTIMUM)
    assert max(error.values()) < tolerance, (name, leader.incumbent)


@pytest.mark.parametrize("name", LEADERS)
def test_state_dict_round_trip_continues_identically(name, tmp_path):
    optuna = name in ("tpe", "gp", "cmaes")
    storage = f"sqlite:///{tmp_path / 'study.db'}" if optuna else None
    where = {"storage": storage} if optuna else {}
    original = drive(make_leader(name, SPACE, seed=3, **where), 3, n=5)
    state = json.loads(json.dumps(original.state_dict()))
    if optuna:  # the resumed run gets its own copy of the run folder's study
        shutil.copy(tmp_path / "study.db", tmp_path / "copy.db")
        storage = f"sqlite:///{tmp_path / 'copy.db'}"
        where = {"storage": storage}
    restored = make_leader(name, SPACE, seed=3, **where)
    restored.load_state_dict(state)
    # PPO samples the RL leader's proposals from torch's generator, as its own training does;
    # in a run, each follower phase seeds it.
    torch.manual_seed(0)
    again = restored.ask(5)
    torch.manual_seed(0)
    assert again == original.ask(5)


def test_optuna_leader_resumes_a_shared_study_without_forking(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    leader = drive(make_leader("tpe", SPACE, seed=1, storage=storage), 2, n=4)
    state = json.loads(json.dumps(leader.state_dict()))
    expected = leader.ask(4)
    leader.tell(expected, [0.0] * 4)  # an epoch told to the leader but never committed
    restored = make_leader("tpe", SPACE, seed=1, storage=storage)
    restored.load_state_dict(state)
    assert restored.study.study_name == leader.study.study_name  # the same study, no fork
    states = [t.state.name for t in restored.study.trials]
    assert states == ["COMPLETE"] * 8 + ["FAIL"] * 4  # the lost epoch's trials failed
    assert restored.ask(4) == expected


def test_spsa_takes_a_step_of_size_alpha():
    leader = make_leader("spsa", SPACE, seed=0, alpha_L=0.2)
    before = SPACE.to_unit(leader.incumbent)
    drive(leader, 1, n=3)
    after = SPACE.to_unit(leader.incumbent)
    assert np.linalg.norm(after - before) == pytest.approx(0.2)


def test_bad_leader_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown leader 'bayes'; allowed are \['cmaes', 'dist"):
        make_leader("bayes", SPACE)
    with pytest.raises(ValueError, match=r"leader 'spsa' takes no argument 'storage'; its argu"):
        make_leader("spsa", SPACE, storage="sqlite:///x.db")
    with pytest.raises(ValueError, match=r"configure the RandomLeader instance itself"):
        make_leader(RandomLeader(SPACE), SPACE, seed=1, points=3)
    other = Characteristics(Param("c", 0.0, 1.0))
    with pytest.raises(ValueError, match=r"the leader searches \['c'\] but the experiment's"):
        make_leader(RandomLeader(other), SPACE)
    with pytest.raises(ValueError, match="--storage 'nosuchdb://x': Optuna cannot open it"):
        make_leader("tpe", SPACE, storage="nosuchdb://x")
    leader = make_leader("random", SPACE)
    thetas = leader.ask(2)
    with pytest.raises(ValueError, match="non-finite objective value nan"):
        leader.tell(thetas, [0.0, float("nan")])
    with pytest.raises(ValueError, match="2 thetas but 1 values"):
        leader.tell(thetas, [0.0])
    with pytest.raises(ValueError, match="alpha_L=-1"):
        make_leader("spsa", SPACE, alpha_L=-1)


def test_grid_leader_is_exhausted_after_every_point():
    leader = make_leader("grid", SPACE, points=3)
    assert len(drive(leader, 5, n=4).history) == 9
    assert leader.ask(4) == []


RL_ERROR = 0.1
"""What the learning test asserts of :func:`rl_leader_error`: the RL leader's incumbent ends
within this share of the box of the optimum, and started farther (RESULTS.md section 3, table
``learning-margins``)."""


def rl_leader_error(seed: int) -> dict[str, float]:
    """The RL leader's largest error (in shares of the box) before and after 40 rounds of 8.

    The learning test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    leader = make_leader("rl", SPACE, seed=seed, alpha_L=3e-2)
    start = max(SPACE.range_error(leader.incumbent, OPTIMUM).values())
    for _ in range(40):
        thetas = leader.ask(8)
        assert len(thetas) == 8
        leader.tell(thetas, [score(t) for t in thetas])
    end = max(SPACE.range_error(leader.incumbent, OPTIMUM).values())
    return {"start error": float(start), "end error": float(end)}


def test_rl_leader_learns_towards_the_optimum():
    measured = rl_leader_error(0)
    assert measured["end error"] < RL_ERROR < measured["start error"], measured


class Centre(Leader):
    """A user's leader: always proposes the middle of the box, a step size apart."""

    def __init__(self, space, seed=0, step=0.1):
        super().__init__(space, seed)
        self.step = step

    def ask(self, n):
        middle = self.space.defaults
        return [{**middle, "a": middle["a"] + self.step * i / n} for i in range(n)]


def test_a_user_leader_plugs_in_as_instance_factory_or_registered_name():
    instance = Centre(SPACE, step=0.2)
    assert make_leader(instance, SPACE) is instance
    built = make_leader(Centre, SPACE, seed=4, step=0.3)
    assert (built.seed, built.step) == (4, 0.3)
    with pytest.raises(ValueError, match=r"leader Centre takes no argument 'alpha_L'"):
        make_leader(Centre, SPACE, alpha_L=0.1)
    register("centre-test", Centre)
    try:
        assert make_leader("centre-test", SPACE, step=0.05).step == 0.05
        with pytest.raises(ValueError, match="'centre-test' is already registered"):
            register("centre-test", Centre)
    finally:
        del LEADERS["centre-test"]


def test_finalists_are_the_incumbent_then_the_best_distinct_candidates():
    leader = drive(make_leader("random", SPACE, seed=2), 2, n=4)
    ranked = [t for t, _ in sorted(leader.history, key=lambda tv: -tv[1])]
    # k in all (Timescales.final_top_k), the incumbent among them: it is the best here
    assert leader.finalists(2) == [leader.incumbent, ranked[1]] == ranked[:2]
    assert leader.finalists(1) == [leader.incumbent]
    assert len(make_leader("random", SPACE).finalists(3)) == 1  # before any: the defaults
    for k in (0, 2.0, True):
        with pytest.raises(ValueError, match=rf"finalists\(k={k!r}\): k must be a positive"):
            leader.finalists(k)
