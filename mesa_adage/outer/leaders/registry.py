"""The leader registry: names for the command line, and how a leader spec becomes a leader.

The built-in leaders are listed here, by name, in :data:`LEADERS`: importing the package
registers nothing by side effect. A user's leader joins with :func:`register`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from mesa_adage.characteristics import Characteristics
from mesa_adage.outer.leaders.base import Leader
from mesa_adage.outer.leaders.distribution import DistributionLeader
from mesa_adage.outer.leaders.gradient import SPSALeader
from mesa_adage.outer.leaders.optuna_leader import OptunaLeader
from mesa_adage.outer.leaders.rl import RLLeader
from mesa_adage.outer.leaders.search import GridLeader, RandomLeader

LeaderFactory = Callable[..., Leader]
"""Builds a leader, called as ``factory(space, seed, **kwargs)``."""

LEADERS: dict[str, LeaderFactory] = {
    "cmaes": partial(OptunaLeader, sampler="cmaes"),
    "distribution": DistributionLeader,
    "gp": partial(OptunaLeader, sampler="gp"),
    "grid": GridLeader,
    "random": RandomLeader,
    "rl": RLLeader,
    "spsa": SPSALeader,
    "tpe": partial(OptunaLeader, sampler="tpe"),
}
"""Leader factories by name: the built-in ones, and those added by :func:`register`."""

F = TypeVar("F", bound=LeaderFactory)


def register(name: str, factory: F | None = None) -> Any:
    """Register ``factory`` under ``name``; a class decorator when ``factory`` is omitted."""

    def add(f: F) -> F:
        if name in LEADERS:
            raise ValueError(f"a leader named {name!r} is already registered")
        LEADERS[name] = f
        return f

    return add if factory is None else add(factory)


def make_leader(
    leader: str | Leader | LeaderFactory, space: Characteristics, seed: int = 0, **kwargs: Any
) -> Leader:
    """Build a leader from a registered name, a factory, or take a ready instance.

    Args:
        leader: A name (see :data:`LEADERS`), a :class:`Leader` instance (used as it is, with
            its own seed), or a factory called as ``factory(space, seed, **kwargs)``.
        space: The characteristics searched.
        seed: Leader seed.
        **kwargs: The leader's hyper-parameters (e.g. ``alpha_L`` for ``spsa``).

    Raises:
        ValueError: On an unknown name, an argument the leader does not take, or an instance
            over another space.
    """
    if isinstance(leader, Leader):
        if kwargs:
            raise ValueError(
                f"leader arguments {sorted(kwargs)} apply to a leader given by name or factory; "
                f"configure the {type(leader).__name__} instance itself"
            )
        if leader.space.names != space.names:
            raise ValueError(
                f"the leader searches {list(leader.space.names)} but the experiment's theta is "
                f"{list(space.names)}"
            )
        return leader
    if isinstance(leader, str):
        if leader not in LEADERS:
            raise ValueError(f"unknown leader {leader!r}; allowed are {sorted(LEADERS)}")
        factory, label = LEADERS[leader], repr(leader)
    elif callable(leader):
        factory, label = leader, getattr(leader, "__name__", repr(leader))
    else:
        raise ValueError(
            f"leader={leader!r} must be a name in {sorted(LEADERS)}, a Leader or a factory"
        )
    params = inspect.signature(factory).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    allowed = [n for n in params if n not in ("space", "seed")]
    unknown = [k for k in kwargs if k not in allowed and not takes_any]
    if unknown:
        raise ValueError(
            f"leader {label} takes no argument {unknown[0]!r}; its arguments are {allowed}"
        )
    return factory(space, seed, **kwargs)
