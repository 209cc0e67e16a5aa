"""Tiny experiment specs for end-to-end tests (seconds, not minutes)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from mesa_adage import Timescales
from models import cobweb

TINY = Timescales(
    warmup_steps=3000, follower_steps=1000, candidates=3, eval_rollouts=2, final_top_k=1
)


def tiny_calibration(target_theta=None, data=None):
    """The cobweb calibration with a budget small enough for a test."""
    experiment = cobweb.calibration(target_theta, data)
    if data is None:
        generate = partial(cobweb.observed_data, experiment.target_theta, reference_steps=3000)
        experiment = replace(experiment, data=generate)
    return replace(experiment, epochs=2, timescales=TINY)


def tiny_policy_design():
    """The taxation policy design with 20 households and a test-sized budget."""
    from models import taxation

    experiment = taxation.policy_design(n_households=20)
    return replace(experiment, epochs=2, timescales=replace(TINY, candidates=3), n_copies=2)


def crash_calibration(target_theta=None, data=None):
    """The tiny calibration with short rollouts, so every phase has rollout boundaries to
    snapshot at, two followers, and no profile (for the kill-and-resume tests)."""
    experiment = tiny_calibration(target_theta, data)
    timescales = replace(experiment.timescales, followers=2)
    algo_kwargs = {**experiment.algo_kwargs, "n_steps": 16, "batch_size": 256}
    return replace(
        experiment, timescales=timescales, algo_kwargs=algo_kwargs, profile_points=0, epochs=3
    )
