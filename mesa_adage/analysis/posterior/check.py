"""A posterior predictive check: could the followers have made the data?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from mesa_adage.analysis.posterior._streams import CHECK
from mesa_adage.analysis.posterior.estimator import Estimator
from mesa_adage.analysis.posterior.simulations import play
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import ModelFactory
from mesa_adage.run.executors import Executor
from mesa_adage.seeds import POSTERIOR, derive_seed

PREDICTIVE_SIMULATIONS = 20
"""Data sets a posterior predictive check simulates; data farther than all of them are
flagged, which data the followers make are with probability at most 1 in 21."""


def predictive_check(
    estimator: Estimator,
    samples: pd.DataFrame,
    data: pd.DataFrame,
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Sequence[Policy],
    *,
    simulations: int = PREDICTIVE_SIMULATIONS,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """A posterior predictive check: could the followers have made ``data``?

    ``simulations`` data sets are played at posterior draws (from ``samples``), each by one
    member of ``policies`` chosen at random. The data and the simulated sets, summarised as
    the estimator reads them, are standardised together entry by entry, and each one's
    distance from their common mean is taken. Had the followers made the data, the data's
    distance would rank anywhere among the ``simulations + 1``; data farther than every
    simulation are ``flagged``, a false alarm at most once in ``simulations + 1`` (the
    posterior was fitted to the data, which only pulls the simulations towards them). NPE
    can sit confidently inside the prior box on data no theta makes: this checks the data.

    Args:
        estimator: The estimator that drew ``samples``.
        samples: Posterior samples for ``data`` (:meth:`Estimator.sample`).
        data: The data, of the estimator's shape.
        make_model: The experiment's episode factory.
        agent_type: The class the followers act for.
        policies: The follower population.
        simulations: Data sets to simulate.
        executor: Where they are played.

    Returns:
        ``predictive_p`` (the share of the ``simulations + 1`` sets at least as far as the
        data), ``distance_ratio`` (the data's distance over the simulations' median),
        ``flagged`` and ``predictive_simulations``; JSON-ready.
    """
    summary, keep = estimator.summary, list(estimator.keep)
    x = summary.vector(summary.check(data, "the data"))[keep]
    rng = np.random.default_rng(derive_seed(estimator.seed, 0, POSTERIOR, CHECK))
    draws = samples.iloc[rng.integers(0, len(samples), simulations)]
    thetas = [{n: float(row[n]) for n in estimator.names} for _, row in draws.iterrows()]
    members = rng.integers(0, len(policies), simulations)
    first = derive_seed(estimator.seed, 1, POSTERIOR, CHECK)
    xs = play(make_model, agent_type, policies, summary, thetas, members, first, executor=executor)
    every = np.vstack([x[None, :], xs[:, keep]])
    scale = every.std(axis=0)
    scale[scale == 0] = 1.0  # an entry that no set moves tells none apart
    distance = np.linalg.norm((every - every.mean(axis=0)) / scale, axis=1)
    return {
        "predictive_p": float(np.mean(distance >= distance[0])),
        "distance_ratio": round(float(distance[0] / np.median(distance[1:])), 3),
        "flagged": bool(distance[0] > distance[1:].max()),
        "predictive_simulations": simulations,
    }
