"""Several leaders: a game among leaders who each own part of theta and have their own objective.

A :class:`Game` is one ask/tell leader to the scheduler. Inside, each :class:`Player` owns a
disjoint part of theta (the parameters no player owns stay at their defaults) and maximises
its own objective, computed from the same episodes as every other player's. Each player's
moves are a fixed grid over its part (:attr:`Game.points` values per parameter), so the game
is a finite game whose equilibrium and cycles are exact statements about the grid.

- **simultaneous** (a Nash equilibrium, by best-response dynamics): each epoch scores the
  current profile and, for every player, each of its own moves with the others held where
  they are. A player whose best move gains more than ``tol`` over the profile moves there,
  all such players in the same epoch. When no player can gain more than ``tol`` by its own
  move, the profile is an equilibrium. When the dynamics return to a profile they left,
  there is no equilibrium they reach: the cycle is reported.
- **sequential** (a Stackelberg hierarchy among the leaders, the first player on top): each
  epoch scores every combination of the players' moves and solves the hierarchy by backward
  induction: the last player best-responds to the ones above it, each player above chooses
  knowing how the ones below will respond. The solution is an equilibrium once two epochs in
  a row give the same one (the followers trained in between), and a cycle when it returns to
  an earlier one.

The players' payoffs are read from the candidates' episodes through :meth:`Game.observe`,
which the scheduler calls before :meth:`Game.tell`. The experiment's own objective is only
recorded (``history.csv``), not optimised: the answer is the equilibrium, not a maximum.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mesa_adage.characteristics import Characteristics, Theta, is_count
from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.leaders.base import Leader
from mesa_adage.outer.objectives import Objective

_Table = dict[tuple, tuple[Theta, list[float], float]]
"""Candidates by key: the theta, each player's payoff, the experiment's objective."""
_STATE = ("status", "cycle", "payoffs", "gains", "rounds", "log", "path", "value")

STRUCTURES = ("simultaneous", "sequential")
"""How the players move: together towards a Nash equilibrium, or in a Stackelberg hierarchy."""


@dataclass(frozen=True)
class Player:
    """One leader of a game.

    Attributes:
        name: The player's name, used in reports and errors.
        owns: The names of the parameters of theta it sets.
        objective: What it maximises, computed from a candidate's episodes like any objective.
    """

    name: str
    owns: tuple[str, ...]
    objective: Objective


class Game(Leader):
    """Leaders who each own part of theta, looking for an equilibrium between them.

    Args:
        space: The characteristics.
        seed: Unused (the game is deterministic given its payoffs); kept for the factory call.
        players: Two or more players whose parts of theta do not overlap.
        structure: ``"simultaneous"`` or ``"sequential"`` (the first player leads).
        points: Values per parameter in a player's grid of moves (its range, evenly spaced).
        tol: A gain a player ignores: below it, a move is no improvement.

    Raises:
        ValueError: On fewer than two players, a player with an empty part or a name not in
            theta, parts that overlap, an unknown structure, or bad ``points`` or ``tol``.
    """

    name = "game"
    maximises = False

    def __init__(
        self,
        space: Characteristics,
        seed: int = 0,
        *,
        players: Sequence[Player],
        structure: str = "simultaneous",
        points: int = 5,
        tol: float = 1e-3,
    ) -> None:
        super().__init__(space, seed)
        self.players = tuple(players)
        _check(space, self.players)
        if structure not in STRUCTURES:
            raise ValueError(f"Game structure={structure!r}; allowed are {list(STRUCTURES)}")
        if not (is_count(points) and points >= 2):
            raise ValueError(f"Game points={points!r} must be an integer >= 2 (per parameter)")
        if not (isinstance(tol, int | float) and 0 <= tol < math.inf):
            raise ValueError(f"Game tol={tol!r} must be a finite number >= 0")
        self.structure, self.points, self.tol = structure, points, float(tol)
        self.moves = [self._grid(p) for p in self.players]
        self.profile: Theta = space.defaults
        self.value = -math.inf
        self.path: list[dict[str, float]] = [dict(self.profile)]
        self.status = "searching"
        self.cycle: list[dict[str, float]] = []
        self.payoffs: dict[str, float] = {}
        self.gains: dict[str, float] = {}
        self.rounds = 0
        self.log: list[dict[str, Any]] = []
        self._next: dict[str, float] | None = None
        self._observed: list[list[float]] | None = None

    def _grid(self, player: Player) -> list[dict[str, float]]:
        """The player's moves (its part of theta): ``points`` values of each of its parameters."""
        axes = [
            np.linspace(p.low, p.high, self.points).tolist()
            for p in self.space.params
            if p.name in player.owns
        ]
        names = [p.name for p in self.space.params if p.name in player.owns]
        moves = [dict(zip(names, values, strict=True)) for values in itertools.product(*axes)]
        valid = [self.space.validate({**self.space.defaults, **m}) for m in moves]
        return [self._part(theta, player) for theta in valid]

    def _part(self, theta: Theta | dict[str, float], player: Player) -> dict[str, float]:
        return {name: theta[name] for name in player.owns}

    # ------------------------------------------------------------------ ask / observe / tell

    def ask(self, n: int) -> list[Theta]:
        """This epoch's candidates; none once an equilibrium or a cycle is found.

        Simultaneous: the profile and each player's own moves; sequential: every combination
        of the players' moves. A game asks for its whole grid whatever ``n`` is
        (``Timescales.candidates`` does not apply): its equilibrium is a statement about it.
        """
        if self.status != "searching":
            return []
        if self._next is not None:
            self.profile, self._next = self.space.validate(self._next), None
        if self.structure == "sequential":
            combos = itertools.product(*self.moves)
            return [self.space.validate(_merge(self.profile, *parts)) for parts in combos]
        out = [self.profile]
        for moves in self.moves:
            for move in moves:
                theta = self.space.validate({**self.profile, **move})
                if theta not in out:
                    out.append(theta)
        return out

    def observe(self, thetas: list[Theta], rollouts: list[list[Rollout]]) -> None:
        """Each player's payoff of each candidate, from its episodes (``-inf`` if it failed)."""
        self._observed = [
            [float(p.objective(group)) if group else -math.inf for p in self.players]
            for group in rollouts
        ]

    def tell(self, thetas: list[Theta], values: list[float]) -> None:
        """Record the experiment's objective, then take one step of the game.

        Raises:
            ValueError: If :meth:`observe` was not called with these candidates first.
        """
        super().tell(thetas, values)
        payoffs = self._observed
        if payoffs is None or len(payoffs) != len(thetas):
            raise ValueError(
                "Game.tell needs each player's payoffs: call observe(thetas, rollouts) with the "
                "same candidates first (LeaderScheduler does)"
            )
        self._observed = None
        self.rounds += 1
        table = {_key(t): (t, u, v) for t, u, v in zip(thetas, payoffs, values, strict=True)}
        if self.structure == "sequential":
            self._sequential(table)
        else:
            self._simultaneous(table)
        scored = {"profile": dict(self.profile), "payoffs": dict(self.payoffs)}
        self.log.append({"round": self.rounds, **scored, "gains": dict(self.gains)})

    def _simultaneous(self, table: _Table) -> None:
        _, here, self.value = table[_key(self.profile)]
        target = dict(self.profile)
        for i, (player, moves) in enumerate(zip(self.players, self.moves, strict=True)):
            options = [{**self.profile, **move} for move in moves]
            best = max(options, key=lambda t: table[_key(t)][1][i])
            gain = table[_key(best)][1][i] - here[i]
            self.gains[player.name] = gain
            if gain > self.tol:
                target.update(self._part(best, player))
        self.payoffs = {p.name: here[i] for i, p in enumerate(self.players)}
        if target == dict(self.profile):
            self.status = "equilibrium"
        elif target in self.path:
            self.status, self.cycle = "cycle", [*self.path[self.path.index(target) :], target]
        else:
            self.path.append(target)
            self._next = target

    def _sequential(self, table: _Table) -> None:
        solution = self._solve(0, dict(self.profile), table)
        theta, here, self.value = table[_key(solution)]
        previous = dict(self.profile)
        self.profile = theta
        self.payoffs = {p.name: here[i] for i, p in enumerate(self.players)}
        for i, (player, moves) in enumerate(zip(self.players, self.moves, strict=True)):
            alone = [{**solution, **move} for move in moves]  # the others stay put
            self.gains[player.name] = max(table[_key(t)][1][i] for t in alone) - here[i]
        if self.rounds > 1 and solution == previous:
            self.status = "equilibrium"
        elif self.rounds > 1 and solution in self.path:
            self.status, self.cycle = "cycle", [*self.path[self.path.index(solution) :], solution]
        else:
            self.path.append(solution)

    def _solve(self, level: int, fixed: dict[str, float], table: _Table) -> dict[str, float]:
        """Backward induction: the outcome when player ``level`` and those below choose."""
        outcomes = []
        for move in self.moves[level]:
            here = {**fixed, **move}
            last = level == len(self.players) - 1
            outcomes.append(here if last else self._solve(level + 1, here, table))
        return max(outcomes, key=lambda t: table[_key(t)][1][level])

    # ------------------------------------------------------------------ the answer

    @property
    def incumbent(self) -> Theta:
        """The profile last scored: the equilibrium once one is found."""
        return self.profile

    @property
    def best(self) -> tuple[Theta, float]:
        """The profile last scored and the experiment's objective there."""
        if not self.history:
            raise RuntimeError("the game has no evaluated candidates yet")
        return self.profile, self.value

    def finalists(self, k: int) -> list[Theta]:
        """The profile alone: a game's answer is its equilibrium, not its best candidate."""
        return [self.profile]

    def summary(self) -> dict[str, Any]:
        """The game's outcome for ``summary.json``: its status, profile, payoffs and check."""
        return {
            "game": {
                "structure": self.structure,
                "status": self.status,
                "profile": dict(self.profile),
                "players": {p.name: list(p.owns) for p in self.players},
                "payoffs": self.payoffs,
                "gains": self.gains,
                "tol": self.tol,
                "rounds": self.rounds,
                "path": self.path,
                **({"cycle": self.cycle} if self.cycle else {}),
                "log": self.log,
            }
        }

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; :meth:`load_state_dict` restores it exactly."""
        return {
            **super().state_dict(),
            **{k: getattr(self, k) for k in _STATE},
            "profile": dict(self.profile),
            "next": self._next,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        super().load_state_dict(state)
        for name in _STATE:
            setattr(self, name, state[name])
        self.profile = self.space.validate(state["profile"])
        self._next = state["next"]


def _merge(profile: Theta, *parts: dict[str, float]) -> dict[str, float]:
    """``profile`` with each player's move (its part of theta) set."""
    out = dict(profile)
    for part in parts:
        out.update(part)
    return out


def _key(theta: Theta | dict[str, float]) -> tuple:
    return tuple(sorted(theta.items()))


def _check(space: Characteristics, players: Sequence[Player]) -> None:
    """Refuse players that do not make a game over ``space``, naming the players involved."""
    if len(players) < 2 or not all(isinstance(p, Player) for p in players):
        raise ValueError(
            f"Game players={list(players)!r} must be two or more Player(name, owns, objective)"
        )
    names = [p.name for p in players]
    if len(set(names)) != len(names):
        raise ValueError(f"Game players have repeated names {names}; give each its own")
    claimed: dict[str, str] = {}
    for player in players:
        if isinstance(player.owns, str) or not player.owns:
            raise ValueError(
                f"leader {player.name!r} owns={player.owns!r}: give it a non-empty tuple of "
                f"parameter names of theta {list(space.names)}"
            )
        unknown = [n for n in player.owns if n not in space.names]
        if unknown:
            raise ValueError(
                f"leader {player.name!r} owns {unknown}, not in theta {list(space.names)}"
            )
        for name in player.owns:
            if name in claimed:
                raise ValueError(
                    f"leaders {claimed[name]!r} and {player.name!r} both own {name!r}: the parts "
                    "of theta that leaders set must not overlap"
                )
            claimed[name] = player.name
        if not callable(player.objective):
            raise ValueError(
                f"leader {player.name!r}: objective {player.objective!r} is not callable"
            )
