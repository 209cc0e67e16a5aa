"""Leaders: outer-layer optimisers behind one ask/tell interface, and a registry by name."""

from __future__ import annotations

from typing import Any

from mesa_adage.characteristics import Characteristics
from mesa_adage.leaders.base import Leader
from mesa_adage.leaders.gradient import SPSALeader
from mesa_adage.leaders.optuna_leader import SAMPLERS, OptunaLeader
from mesa_adage.leaders.rl import RLLeader
from mesa_adage.leaders.search import GridLeader, RandomLeader

LEADERS = ("grid", "random", *SAMPLERS, "spsa", "rl")


def make_leader(
    name: str, space: Characteristics, seed: int = 0, storage: str | None = None, **kwargs: Any
) -> Leader:
    """Build a leader by name: ``grid``, ``random``, ``tpe``, ``gp``, ``cmaes``, ``spsa``, ``rl``.

    Args:
        name: Leader name.
        space: The characteristics searched.
        seed: Leader seed.
        storage: Optuna storage URL (Optuna leaders only).
        **kwargs: Passed to the leader's constructor (e.g. ``alpha_L`` for ``spsa``).

    Raises:
        ValueError: On an unknown name.
    """
    if name == "grid":
        return GridLeader(space, seed, **kwargs)
    if name == "random":
        return RandomLeader(space, seed)
    if name in SAMPLERS:
        return OptunaLeader(space, seed, sampler=name, storage=storage, **kwargs)
    if name == "spsa":
        return SPSALeader(space, seed, **kwargs)
    if name == "rl":
        return RLLeader(space, seed, **kwargs)
    raise ValueError(f"unknown leader {name!r}; allowed are {list(LEADERS)}")


__all__ = [
    "LEADERS",
    "GridLeader",
    "Leader",
    "OptunaLeader",
    "RandomLeader",
    "SPSALeader",
    "make_leader",
]
