"""mesa-adage: adaptive agent-based models with Mesa (the ADAGE framework)."""

from mesa_adage.agent import PolicyAgent
from mesa_adage.characteristics import (
    Belief,
    Categorical,
    Characteristics,
    Fixed,
    Full,
    Grid,
    Mixture,
    Noisy,
    Normal,
    ObservationModel,
    Param,
    Sampler,
    Subset,
    Theta,
    Uniform,
    parse_theta,
)
from mesa_adage.data import read_observed
from mesa_adage.experiment import Experiment, Timescales
from mesa_adage.leaders import Leader, make_leader
from mesa_adage.model import AdaptiveModel, theta_reporters
from mesa_adage.objectives import Calibration, calibration
from mesa_adage.policies import Policy, RandomPolicy, SB3Policy
from mesa_adage.rollout import Rollout, simulate
from mesa_adage.scheduler import LeaderScheduler, RunResult
from mesa_adage.training import train
from mesa_adage.vec_env import MesaVecEnv

__version__ = "0.1.0"

__all__ = [
    "AdaptiveModel",
    "Belief",
    "Calibration",
    "Categorical",
    "Characteristics",
    "Experiment",
    "Fixed",
    "Full",
    "Grid",
    "Leader",
    "LeaderScheduler",
    "MesaVecEnv",
    "Mixture",
    "Noisy",
    "Normal",
    "ObservationModel",
    "Param",
    "Policy",
    "PolicyAgent",
    "RandomPolicy",
    "Rollout",
    "RunResult",
    "SB3Policy",
    "Sampler",
    "Subset",
    "Theta",
    "Timescales",
    "Uniform",
    "calibration",
    "make_leader",
    "parse_theta",
    "read_observed",
    "simulate",
    "theta_reporters",
    "train",
]
