"""Simulated data sets: theta drawn from the box, played by the followers, summarised."""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np
from tqdm.auto import tqdm

from mesa_adage.analysis.posterior._streams import EPISODES, PRIOR
from mesa_adage.analysis.posterior.prior import Prior
from mesa_adage.analysis.posterior.summary import Summary
from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import ModelFactory, simulate
from mesa_adage.outer.statistics import episodes
from mesa_adage.run.executors import Executor, SerialExecutor
from mesa_adage.seeds import POSTERIOR, derive_seed

BATCH_EPISODES = 512
"""Episodes played in lockstep in one simulation task; fixed, so every executor agrees."""


def box_bounds(space: Characteristics) -> tuple[np.ndarray, np.ndarray]:
    """The box's lower and upper bounds, as vectors."""
    return (
        np.array([p.low for p in space.params], dtype=float),
        np.array([p.high for p in space.params], dtype=float),
    )


def _simulate_summaries(
    task: tuple[ModelFactory, type[mesa.Agent], Policy, list[Theta], list[list[int]], Summary],
) -> np.ndarray:
    """One task: several simulated data sets, played in lockstep by one policy; summaries."""
    make_model, agent_type, policy, thetas, seeds, summary = task
    flat = [theta for theta, own in zip(thetas, seeds, strict=True) for _ in own]
    played = simulate(make_model, flat, {agent_type: policy}, [s for own in seeds for s in own])
    e = summary.episodes
    out = []
    for i in range(len(thetas)):
        series = {c: episodes(played[i * e : (i + 1) * e], c) for c in summary.columns}
        steps = series[summary.columns[0]].shape[1]
        if steps != summary.steps:
            raise ValueError(
                f"the model's episodes have {steps} steps, the observed data's {summary.steps}; "
                "a posterior simulates data shaped like the observed: make the model's horizon "
                "the data's episode length"
            )
        out.append(summary.vector(series))
    return np.stack(out)


def simulate_pairs(
    space: Characteristics,
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Sequence[Policy],
    summary: Summary,
    simulations: int,
    seed: int,
    *,
    executor: Executor | None = None,
    progress: bool = False,
    prior: Prior | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw theta from the prior, simulate a data set at each, summarise it.

    Every data set has ``summary.episodes`` episodes on seeds of its own, all played by one
    member of ``policies`` chosen at random. The tasks are split by the problem alone (at
    most :data:`BATCH_EPISODES` episodes, of one member), never by the executor.

    Args:
        space: The characteristics, whose box holds every draw.
        make_model: Episode factory (its horizon must be the data's episode length).
        agent_type: The class the policies act for.
        policies: The follower population.
        summary: How a data set is summarised.
        simulations: Data sets to simulate.
        seed: Seed of the draws and the episodes.
        executor: Where the tasks run.
        progress: Show a bar of the simulations.
        prior: The prior (default uniform over the box).

    Returns:
        Thetas ``(simulations, parameters)``, summaries ``(simulations, len(summary.names()))``
        and the member that played each.
    """
    rng = np.random.default_rng(derive_seed(seed, 0, POSTERIOR, PRIOR))
    thetas = (prior or Prior()).draw(space, rng, simulations)
    members = rng.integers(0, len(policies), simulations)
    xs = play(
        make_model,
        agent_type,
        policies,
        summary,
        [space.to_dict(theta) for theta in thetas],
        members,
        derive_seed(seed, 0, POSTERIOR, EPISODES),
        executor=executor,
        progress=progress,
    )
    return thetas, xs, members


def play(
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Sequence[Policy],
    summary: Summary,
    thetas: list[Theta],
    members: np.ndarray,
    first: int,
    *,
    executor: Executor | None = None,
    progress: bool = False,
) -> np.ndarray:
    """The summaries of data sets at ``thetas``, data set ``i`` played by ``members[i]``.

    Data set ``i``'s episodes are seeded ``first + i * episodes + j``. The tasks are split by
    the problem alone (at most :data:`BATCH_EPISODES` episodes, of one member), never by the
    executor.
    """
    e = summary.episodes
    per_task = max(1, BATCH_EPISODES // e)
    tasks, places = [], []
    for member in range(len(policies)):
        mine = np.flatnonzero(members == member)
        for start in range(0, len(mine), per_task):
            chunk = mine[start : start + per_task]
            tasks.append(
                (
                    make_model,
                    agent_type,
                    policies[member],
                    [thetas[i] for i in chunk],
                    [[first + int(i) * e + j for j in range(e)] for i in chunk],
                    summary,
                )
            )
            places.append(chunk)
    xs = np.empty((len(thetas), len(summary.names())))
    runner = executor or SerialExecutor()
    with tqdm(total=len(thetas), desc="  posterior simulations", disable=not progress) as bar:
        done = runner.map(
            _simulate_summaries, tasks, on_result=lambda i, _: bar.update(len(places[i]))
        )
    for chunk, values in zip(places, done, strict=True):
        xs[chunk] = values
    return xs
