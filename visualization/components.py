"""The trained policies the mesa-adage pages ship with.

The page pieces themselves (the theta panel, the charts, the replay, side by side) are in the
installed package, :mod:`mesa_adage.viz`; these pages are built on them.
"""

from __future__ import annotations

import functools
from pathlib import Path

from stable_baselines3 import PPO

from mesa_adage import SB3Policy

POLICIES = Path(__file__).parent / "policies"


@functools.cache
def trained_planner(name: str) -> PPO:
    """The shipped planner ``visualization/policies/<name>.zip`` (an SB3 model; ``predict``).

    Raises:
        FileNotFoundError: If it is missing, saying how to rebuild it.
    """
    return PPO.load(_shipped(name), device="cpu")


def _shipped(name: str) -> Path:
    path = POLICIES / f"{name}.zip"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; rebuild the page policies with "
            "`python visualization/train_policies.py`"
        )
    return path


@functools.cache
def trained_policy(name: str) -> SB3Policy:
    """The shipped policy ``visualization/policies/<name>.zip``.

    Raises:
        FileNotFoundError: If it is missing, saying how to rebuild it.
    """
    return SB3Policy(PPO.load(_shipped(name), device="cpu"))
