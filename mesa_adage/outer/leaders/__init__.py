"""Leaders: outer-layer optimisers behind one ask/tell interface, and a registry by name."""

from __future__ import annotations

import importlib
import pkgutil

from mesa_adage.outer.leaders.base import Leader
from mesa_adage.outer.leaders.registry import LEADERS, LeaderFactory, make_leader, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from mesa_adage.outer.leaders.gradient import SPSALeader  # noqa: E402
from mesa_adage.outer.leaders.optuna_leader import OptunaLeader  # noqa: E402
from mesa_adage.outer.leaders.rl import RLLeader  # noqa: E402
from mesa_adage.outer.leaders.search import GridLeader, RandomLeader  # noqa: E402

__all__ = [
    "LEADERS",
    "GridLeader",
    "Leader",
    "LeaderFactory",
    "OptunaLeader",
    "RLLeader",
    "RandomLeader",
    "SPSALeader",
    "make_leader",
    "register",
]
