"""Several leaders: equilibria and cycles on games with a known answer, end to end in a run."""

import json
import re
from functools import partial

import pandas as pd
import pytest

from mesa_adage import Characteristics, Experiment, LeaderScheduler, Param, Timescales
from mesa_adage.analysis.table import game_lines
from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.leaders import Game, Player
from tests.toy import Guesser, Toy

SPACE = Characteristics(Param("a", 0.0, 1.0, default=0.0), Param("b", 0.0, 1.0, default=0.0))


def of_theta(payoff):
    """An objective reading the candidate's theta from its episodes."""
    return lambda rollouts: payoff(rollouts[0].theta)


def chase(theta):  # a wants to be 0.5 b + 0.3: from the grid {0, .25, .5, .75, 1}, no ties
    return -((theta["a"] - 0.5 * theta["b"] - 0.3) ** 2)


def chase_back(theta):
    return -((theta["b"] - 0.5 * theta["a"] - 0.3) ** 2)


def match(theta):  # matching pennies on {0, 1}: a wants b's value, b wants the other one
    return -abs(theta["a"] - theta["b"])


def mismatch(theta):
    return abs(theta["a"] - theta["b"])


def game(first, second, **kwargs):
    players = [Player("A", ("a",), of_theta(first)), Player("B", ("b",), of_theta(second))]
    return Game(SPACE, players=players, **kwargs)


def play(leader, epochs=20):
    """Drive a game as the scheduler does: ask, observe the episodes, tell."""
    for _ in range(epochs):
        thetas = leader.ask(8)
        if not thetas:
            break
        groups = [[Rollout(t, 0, pd.DataFrame())] for t in thetas]
        leader.observe(thetas, groups)
        leader.tell(thetas, [0.0] * len(thetas))
    return leader


def test_best_responses_reach_the_nash_equilibrium_and_check_it():
    leader = play(game(chase, chase_back))
    assert leader.status == "equilibrium"
    assert dict(leader.incumbent) == {"a": 0.5, "b": 0.5}  # each 0.55 away from... 0.5 best
    assert [tuple(p.values()) for p in leader.path] == [(0, 0), (0.25, 0.25), (0.5, 0.5)]
    assert all(gain <= leader.tol for gain in leader.gains.values()), leader.gains
    assert leader.ask(8) == []  # the run ends


def test_matching_pennies_has_no_equilibrium_and_the_cycle_is_reported():
    leader = play(game(match, mismatch, points=2))
    assert leader.status == "cycle"
    cycle = [(p["a"], p["b"]) for p in leader.cycle]
    assert cycle == [(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)]
    assert "a cycle of 4 profiles" in game_lines(leader.summary()["game"])[0]


def test_a_leader_who_commits_first_ends_the_cycle():
    leader = play(game(match, mismatch, points=2, structure="sequential"))
    # Whatever a commits to, b mismatches it: a is indifferent and keeps its first move.
    assert leader.status == "equilibrium"
    assert dict(leader.incumbent) == {"a": 0.0, "b": 1.0}
    assert leader.payoffs == {"A": -1.0, "B": 1.0}
    assert leader.gains["B"] == 0.0  # b cannot gain by its own move
    assert leader.gains["A"] == 1.0  # a could, if b did not respond: why commitment differs


def test_the_state_round_trip_continues_identically():
    original = game(chase, chase_back)
    play(original, epochs=1)
    restored = game(chase, chase_back)
    restored.load_state_dict(json.loads(json.dumps(original.state_dict())))
    assert play(restored).summary() == play(original).summary()


@pytest.mark.parametrize(
    ("players", "message"),
    [
        ([("A", ("a",)), ("B", ("a", "b"))], "leaders 'A' and 'B' both own 'a'"),
        ([("A", ("a",)), ("B", ())], "leader 'B' owns=()"),
        ([("A", ("a",)), ("B", "b")], "leader 'B' owns='b'"),
        ([("A", ("a",)), ("B", ("c",))], "leader 'B' owns ['c'], not in theta ['a', 'b']"),
        ([("A", ("a",))], "two or more"),
        ([("A", ("a",)), ("A", ("b",))], "repeated names ['A', 'A']"),
    ],
)
def test_players_that_make_no_game_are_refused(players, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Game(SPACE, players=[Player(name, owns, of_theta(match)) for name, owns in players])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"structure": "stackelberg"}, "allowed are \\['simultaneous', 'sequential'\\]"),
        ({"points": 1}, "points=1 must be an integer >= 2"),
        ({"tol": -1}, "tol=-1 must be a finite number >= 0"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        game(match, mismatch, **kwargs)


def test_tell_without_the_payoffs_says_what_to_do():
    leader = game(match, mismatch)
    thetas = leader.ask(8)
    with pytest.raises(ValueError, match="call observe"):
        leader.tell(thetas, [0.0] * len(thetas))


class Duo(Toy):
    """The toy with a second characteristic, which only the second leader sets."""

    characteristics = Characteristics(
        Param("target", -0.8, 0.8, default=0.0), Param("other", -0.8, 0.8, default=0.0)
    )


def guess_near(rollouts):  # the first leader wants the followers' guesses near other / 2
    mean = sum(r.series("mean_action").mean() for r in rollouts) / len(rollouts)
    return -((mean - 0.5 * rollouts[0].theta["other"]) ** 2)


def other_near(rollouts):  # the second wants other near target / 2 + 0.4
    theta = rollouts[0].theta
    return -((theta["other"] - 0.5 * theta["target"] - 0.4) ** 2)


def test_a_game_runs_end_to_end_with_learning_followers(tmp_path, capsys):
    players = (Player("guide", ("target",), guess_near), Player("other", ("other",), other_near))
    experiment = Experiment(
        name="duo-game",
        make_model=partial(Duo, horizon=4),
        agent_type=Guesser,
        objective=guess_near,
        leader=partial(Game, players=players, points=5, tol=1e-3),
        epochs=8,
        timescales=Timescales(
            warmup_steps=3000, follower_steps=0, candidates=1, eval_rollouts=2, final_top_k=1
        ),
        algo_kwargs={"n_steps": 64, "batch_size": 64},
        n_copies=2,
    )
    result = LeaderScheduler(experiment, tmp_path / "run", seed=0, progress=False).run()
    game_report = json.loads((tmp_path / "run" / "summary.json").read_text())["game"]
    assert game_report["status"] in ("equilibrium", "cycle"), game_report
    assert result.game == game_report and dict(result.theta) == game_report["profile"]
    assert (tmp_path / "run" / "game.png").stat().st_size > 10_000
    assert "search_fell_short" not in json.loads((tmp_path / "run" / "summary.json").read_text())
    if game_report["status"] == "equilibrium":
        assert max(game_report["gains"].values()) <= 1e-3
        # The second leader's best response to the first's target, on its grid
        grid = [-0.8, -0.4, 0.0, 0.4, 0.8]
        want = 0.5 * result.theta["target"] + 0.4
        assert result.theta["other"] == pytest.approx(min(grid, key=lambda v: abs(v - want)))
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert len(history) == game_report["rounds"]
