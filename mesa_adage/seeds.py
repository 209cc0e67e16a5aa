"""Seeds: every random stream of a run derives from ``(seed, epoch, purpose[, member])``.

Deriving instead of drawing means a stream never depends on what ran before it, so a resumed
run, or a task run on another machine, sees exactly the numbers of an uninterrupted one.
"""

from __future__ import annotations

import numpy as np

FOLLOWER, TRAIN_SEED, EVAL, FINAL, FIT, BOOTSTRAP = range(6)
"""Purposes: a follower's episodes, a follower's training, evaluation episodes, data, fresh
episodes at the answer (the goodness of fit), and the uncertainty report's resampling."""


def derive_seed(seed: int, epoch: int, purpose: int, member: int = 0) -> int:
    """An independent 31-bit seed for one purpose in one epoch (of one follower policy)."""
    entropy = [seed, epoch, purpose] + ([member] if member else [])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] >> 1)
