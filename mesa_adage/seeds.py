"""Seeds: every random stream of a run derives from ``(seed, epoch, purpose[, member])``.

Deriving instead of drawing means a stream never depends on what ran before it, so a resumed
run, or a task run on another machine, sees exactly the numbers of an uninterrupted one. Every
seed the package and its example models use is made here; the few that are arithmetic rather
than derived (:func:`init_seed`, :func:`sampler_seed`, :func:`data_seeds`,
:func:`population_seed`) say so, and are kept because recorded results depend on them.
"""

from __future__ import annotations

import numpy as np

FOLLOWER, TRAIN_SEED, EVAL, FINAL, FIT, BOOTSTRAP = range(6)
"""Purposes: a follower's episodes, a follower's training, evaluation episodes, data, fresh
episodes at the answer (the goodness of fit), and the uncertainty report's resampling."""
POSTERIOR = 6
"""Purpose: the amortised posterior (:mod:`~mesa_adage.analysis.posterior`); its streams are
told apart by ``member``: the prior draws, the simulations' episodes, training, sampling."""
CONFIRM = 7
"""Purpose: fresh episodes that confirm an answer's objective, none of them seen by the search
(:mod:`~mesa_adage.analysis.confirmation`)."""


def derive_seed(seed: int, epoch: int, purpose: int, member: int = 0) -> int:
    """An independent 31-bit seed for one purpose in one epoch (of one follower policy)."""
    entropy = [seed, epoch, purpose] + ([member] if member else [])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] >> 1)


def episode_seeds(seed: int, purpose: int, n: int) -> list[int]:
    """``n`` consecutive episode seeds for one purpose of epoch 0 (shared by every candidate)."""
    first = derive_seed(seed, 0, purpose)
    return [first + i for i in range(n)]


def init_seed(seed: int, member: int) -> int:
    """The seed of follower ``member``'s initial weights.

    Member 0 takes the run seed itself; member k > 0 the seed of its warm-up's training
    (:data:`TRAIN_SEED` of epoch 0), so for k > 0 the two streams start alike. It is kept so:
    every recorded result depends on it, and a stream of its own would change them all.
    """
    return seed if member == 0 else derive_seed(seed, 0, TRAIN_SEED, member)


def sampler_seed(seed: int, told: int) -> int:
    """The seed of an Optuna sampler rebuilt after ``told`` trials (a resumed run's too)."""
    return seed + 7919 * told


def data_seeds(seed: int, n: int) -> list[int]:
    """Seeds of ``n`` episodes of synthetic observed data made at data seed ``seed``."""
    return [seed * 7_919 + 10_000 + i for i in range(n)]


def population_seed(seed: int, index: int) -> int:
    """The seed of the ``index``-th population of agents that make synthetic data.

    Consecutive seeds, as the recorded calibrations used: data seed s's population 1 is data
    seed s + 1's population 0. A derived stream would make them independent, and change every
    recorded data set.
    """
    return seed + index
