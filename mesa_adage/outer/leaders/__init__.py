"""Leaders: outer-layer optimisers behind one ask/tell interface, and a registry by name."""

from __future__ import annotations

from mesa_adage.outer.leaders.base import Leader
from mesa_adage.outer.leaders.distribution import DistributionLeader
from mesa_adage.outer.leaders.game import Game, Player
from mesa_adage.outer.leaders.gradient import SPSALeader
from mesa_adage.outer.leaders.optuna_leader import OptunaLeader
from mesa_adage.outer.leaders.registry import LEADERS, LeaderFactory, make_leader, register
from mesa_adage.outer.leaders.rl import RLLeader
from mesa_adage.outer.leaders.search import GridLeader, RandomLeader

__all__ = [
    "LEADERS",
    "DistributionLeader",
    "Game",
    "GridLeader",
    "Leader",
    "LeaderFactory",
    "OptunaLeader",
    "Player",
    "RLLeader",
    "RandomLeader",
    "SPSALeader",
    "make_leader",
    "register",
]
