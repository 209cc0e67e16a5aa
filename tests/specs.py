"""Tiny experiment specs for end-to-end tests (seconds, not minutes)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from mesa_adage import Timescales
from mesa_adage.examples.models import cobweb

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
    from mesa_adage.examples.models import taxation

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


def _shrunk(experiment, **algo_kwargs):
    """A shipped task at a test budget: 2 epochs, two model copies, short rollouts."""
    algo = {**experiment.algo_kwargs, **algo_kwargs}
    timescales = replace(TINY, candidates=experiment.timescales.candidates)
    return replace(
        experiment, epochs=2, timescales=timescales, n_copies=2, algo_kwargs=algo, profile_points=0
    )


def tiny_calm():
    """The entrance game's calm scenario (a Tobin tax) at a test budget."""
    from mesa_adage.examples.models import entrance

    return _shrunk(entrance.calm(), n_steps=8, batch_size=400)


def tiny_stress():
    """The entrance game's stress scenario at a test budget."""
    from mesa_adage.examples.models import entrance

    return _shrunk(entrance.stress(), n_steps=8, batch_size=400)


def tiny_robust():
    """The market maker's robust learning (a distribution leader) at a test budget."""
    from mesa_adage.examples.models import market_maker

    experiment = _shrunk(market_maker.robust(), n_steps=64, batch_size=128)
    cheap = partial(market_maker.best_constant_return, market_maker.OMEGA_GRID, range(2), 3)
    return replace(experiment, leader_kwargs={**experiment.leader_kwargs, "reference": cheap})
