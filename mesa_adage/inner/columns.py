"""Agent state kept in numpy arrays on the model, read and written through agent attributes.

For thousands of agents, a model may hold an agent class's state as arrays, one entry per
agent, and update every agent in one numpy operation. The agents keep their Mesa API:
``agent.wealth`` reads and writes the agent's own entry through a :class:`Column`.

The contract: the model has a dict ``columns`` of 1-D arrays, and each agent an integer
``row``, its index in them.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np


class Column:
    """An agent attribute that lives in ``agent.model.columns[name][agent.row]``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: Any, owner: type | None = None) -> Any:
        if agent is None:
            return self
        return float(agent.model.columns[self.name][agent.row])

    def __set__(self, agent: Any, value: float) -> None:
        agent.model.columns[self.name][agent.row] = value


def rows(agents: Sequence[Any]) -> np.ndarray | slice:
    """The agents' rows in their model's columns: a slice when they are every row, in order."""
    found = np.fromiter(map(attrgetter("row"), agents), dtype=np.intp, count=len(agents))
    if not len(found):
        return found
    every = len(next(iter(agents[0].model.columns.values())))
    if len(found) == every and (found == np.arange(every)).all():
        return slice(None)
    return found
