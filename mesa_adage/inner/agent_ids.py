"""Agent ids that die with their model: a workaround for a memory leak in Mesa 3.1 to 3.3.

Mesa up to 3.3 (3.3.1 included; this package supports 3.1 and later) counts each model's agent
ids in ``mesa.Agent._ids``, a class-level ``defaultdict`` keyed by the model, which keeps every
model, its agents and its data alive for the life of the process (mesa/mesa#3179, fixed
upstream in mesa/mesa#3180, which drops ``Agent._ids``). Training and evaluation build a model
per episode, so a long run's memory grew with every episode (``benchmarks/soak.py``).

:func:`install` swaps in a weak-keyed counter. :class:`~mesa_adage.AdaptiveModel` calls it
before it builds a model; importing mesa_adage leaves Mesa untouched.
"""

from __future__ import annotations

import itertools
import weakref
from collections import defaultdict

import mesa


class AgentIds(weakref.WeakKeyDictionary):
    """Each model's next agent id, forgotten with the model."""

    def __getitem__(self, model: mesa.Model) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = self[model] = itertools.count(1)
            return counter


def install() -> None:
    """Make ``mesa.Agent`` count ids per model without keeping the models alive.

    Ids already counted carry over. On a Mesa with the fix (no ``defaultdict`` there), or once
    installed, it does nothing.
    """
    if type(getattr(mesa.Agent, "_ids", None)) is defaultdict:
        mesa.Agent._ids = AgentIds(mesa.Agent._ids)
