"""mesa-adage: adaptive agent-based models with Mesa (the ADAGE framework)."""

from mesa_adage.analysis.generalization import Generalization, generalization
from mesa_adage.analysis.reporting import RunResult
from mesa_adage.characteristics import Characteristics, Param, Theta, parse_theta
from mesa_adage.inner.adapt import adapt
from mesa_adage.inner.agent import Learner, PolicyAgent
from mesa_adage.inner.followers import Followers
from mesa_adage.inner.model import AdaptiveModel, theta_reporters
from mesa_adage.inner.observation import Belief, Full, Noisy, ObservationModel, Subset
from mesa_adage.inner.policies import Policy, RandomPolicy, SB3Policy
from mesa_adage.inner.rollout import Rollout, simulate
from mesa_adage.inner.training import train
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.outer.evaluator import Evaluator
from mesa_adage.outer.leaders import Leader, make_leader, register
from mesa_adage.outer.objectives import Calibration, calibration
from mesa_adage.run.data import read_observed
from mesa_adage.run.executors import Executor, ProcessExecutor, SerialExecutor, make_executor
from mesa_adage.run.experiment import Experiment, Timescales
from mesa_adage.run.ray_executor import RayExecutor
from mesa_adage.run.scheduler import LeaderScheduler
from mesa_adage.samplers import (
    Categorical,
    Fixed,
    Grid,
    Mixture,
    Normal,
    Sampler,
    Uniform,
    Weighted,
)

__version__ = "0.1.0"

__all__ = [
    "AdaptiveModel",
    "Belief",
    "Calibration",
    "Categorical",
    "Characteristics",
    "Evaluator",
    "Executor",
    "Experiment",
    "Fixed",
    "Followers",
    "Generalization",
    "Full",
    "Grid",
    "Leader",
    "Learner",
    "LeaderScheduler",
    "MesaVecEnv",
    "Mixture",
    "Noisy",
    "Normal",
    "ObservationModel",
    "ProcessExecutor",
    "Param",
    "Policy",
    "PolicyAgent",
    "RandomPolicy",
    "RayExecutor",
    "Rollout",
    "RunResult",
    "SB3Policy",
    "Sampler",
    "SerialExecutor",
    "Subset",
    "Theta",
    "Timescales",
    "Uniform",
    "Weighted",
    "adapt",
    "generalization",
    "calibration",
    "make_executor",
    "make_leader",
    "parse_theta",
    "read_observed",
    "register",
    "simulate",
    "theta_reporters",
    "train",
]
