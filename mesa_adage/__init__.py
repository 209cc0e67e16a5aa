"""mesa-adage: adaptive agent-based models with Mesa (the ADAGE framework).

The top level holds the names a user starts from: an adaptive model (:class:`AdaptiveModel`,
:class:`PolicyAgent`, or :func:`adapt` for a model that exists), its characteristics
(:class:`Characteristics`, :class:`Param`), followers (:func:`train`, :class:`SB3Policy`,
:func:`simulate`) and a leader run (:class:`Experiment`, :class:`Timescales`,
:class:`LeaderScheduler`, :class:`Leader`, :func:`register`). Everything else is imported from
its module: samplers from :mod:`mesa_adage.samplers`, executors from
:mod:`mesa_adage.run.executors`, and so on (the API reference lists them).

Importing the package does no work: it patches nothing and registers nothing by side effect.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from mesa_adage.characteristics import Characteristics, Param
from mesa_adage.inner.adapt import adapt
from mesa_adage.inner.agent import PolicyAgent
from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.inner.policies import SB3Policy
from mesa_adage.inner.rollout import simulate
from mesa_adage.inner.training import train
from mesa_adage.outer.leaders import Leader, register
from mesa_adage.run.experiment import Experiment, Timescales
from mesa_adage.run.scheduler import LeaderScheduler

__version__ = "0.2.0"

__all__ = [
    "AdaptiveModel",
    "Characteristics",
    "Experiment",
    "Leader",
    "LeaderScheduler",
    "Param",
    "PolicyAgent",
    "SB3Policy",
    "Timescales",
    "adapt",
    "register",
    "simulate",
    "train",
]

MOVED = {
    "Belief": "mesa_adage.inner.observation",
    "Calibration": "mesa_adage.outer.objectives",
    "calibration": "mesa_adage.outer.objectives",
    "Categorical": "mesa_adage.samplers",
    "Evaluator": "mesa_adage.outer.evaluator",
    "Executor": "mesa_adage.run.executors",
    "Fixed": "mesa_adage.samplers",
    "Followers": "mesa_adage.inner.followers",
    "Full": "mesa_adage.inner.observation",
    "Generalization": "mesa_adage.analysis.generalization",
    "generalization": "mesa_adage.analysis.generalization",
    "Grid": "mesa_adage.samplers",
    "Learner": "mesa_adage.inner.agent",
    "make_executor": "mesa_adage.run.executors",
    "make_leader": "mesa_adage.outer.leaders",
    "MesaVecEnv": "mesa_adage.inner.vec_env",
    "Mixture": "mesa_adage.samplers",
    "Noisy": "mesa_adage.inner.observation",
    "Normal": "mesa_adage.samplers",
    "ObservationModel": "mesa_adage.inner.observation",
    "parse_theta": "mesa_adage.characteristics",
    "Policy": "mesa_adage.inner.policies",
    "ProcessExecutor": "mesa_adage.run.executors",
    "RandomPolicy": "mesa_adage.inner.policies",
    "RayExecutor": "mesa_adage.run.ray_executor",
    "read_observed": "mesa_adage.run.data",
    "Rollout": "mesa_adage.inner.rollout",
    "RunResult": "mesa_adage.analysis.reporting",
    "Sampler": "mesa_adage.samplers",
    "SerialExecutor": "mesa_adage.run.executors",
    "Subset": "mesa_adage.inner.observation",
    "Theta": "mesa_adage.characteristics",
    "theta_reporters": "mesa_adage.inner.model",
    "Uniform": "mesa_adage.samplers",
    "Weighted": "mesa_adage.samplers",
}
"""Names the top level exported before 0.2.0, and the module each now lives in."""


def __getattr__(name: str) -> Any:
    """An older top-level name still works, warning once that it moved (then it is cached)."""
    if name not in MOVED:
        raise AttributeError(f"module 'mesa_adage' has no attribute {name!r}")
    module = MOVED[name]
    warnings.warn(
        f"mesa_adage.{name} moved: import it from {module}",
        DeprecationWarning,
        stacklevel=2,
    )
    value = globals()[name] = getattr(importlib.import_module(module), name)
    return value
