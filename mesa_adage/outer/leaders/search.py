"""Baseline leaders: exhaustive grid search and uniform random search."""

from __future__ import annotations

from typing import Any

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.outer.leaders.base import Leader
from mesa_adage.samplers import Grid, Uniform


class GridLeader(Leader):
    """Visits a regular grid in a fixed random order; stops when it has seen every point.

    Args:
        space: The characteristics searched.
        seed: Seed of the visiting order.
        points: Grid points per parameter.
    """

    name = "grid"

    def __init__(self, space: Characteristics, seed: int = 0, points: int = 7) -> None:
        super().__init__(space, seed)
        self.grid = Grid(points).grid(space)[self.rng.permutation(points ** len(space))]
        self.cursor = 0

    def ask(self, n: int) -> list[Theta]:
        rows = self.grid[self.cursor : self.cursor + n]
        self.cursor += len(rows)
        return [self.space.to_dict(r) for r in rows]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "cursor": self.cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.cursor = int(state["cursor"])


class RandomLeader(Leader):
    """Uniform random search over the whole box."""

    name = "random"

    def ask(self, n: int) -> list[Theta]:
        return self.space.sample(Uniform(), self.rng, n)
