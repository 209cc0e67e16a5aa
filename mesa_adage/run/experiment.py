"""Experiment specs: everything ``adage run`` needs to know about one task."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mesa
import pandas as pd
from stable_baselines3.common.base_class import BaseAlgorithm

from mesa_adage.characteristics import Characteristics, Theta, is_count, is_number
from mesa_adage.inner.checks import ON_NONFINITE
from mesa_adage.inner.rollout import ModelFactory
from mesa_adage.inner.training import algorithm
from mesa_adage.outer.leaders import Leader, LeaderFactory
from mesa_adage.outer.objectives import Objective
from mesa_adage.run.fingerprint import describe


@dataclass(frozen=True)
class Timescales:
    """The two timescales of the alternating loop, and the leader's evaluation budget.

    The followers' side is set here; the leader's own rate (``alpha_L``: a step size, a
    learning rate) is a hyper-parameter of the leader (``Experiment.leader_kwargs``).

    Attributes:
        warmup_steps: Follower environment steps (agent-steps) before the first leader phase,
            with theta uniform over the whole box so the policy covers it.
        follower_steps: Follower steps per epoch (``N_F``), warm-started from the last epoch.
            0 keeps the followers as the warm-up left them, so every candidate of every
            epoch is scored by the same model (a stationary objective, as in calibration).
        follower_lr: Follower learning rate ``alpha_F`` at the start of the warm-up; it decays
            linearly to ``follower_lr_final`` by the warm-up's end.
        follower_lr_final: Follower learning rate in the epochs (small, so the followers track
            the leader's moves without forgetting).
        candidates: Candidates the leader proposes per epoch.
        eval_rollouts: Episodes per candidate (``M``); every candidate sees the same seeds.
        focus: Share of follower episodes drawn near the leader's incumbent after epoch 1
            (the rest stay uniform, so zero-shot coverage is kept).
        focus_std: Std of those draws, as a fraction of each parameter's range.
        final_top_k: Candidates re-evaluated with the final policy to pick the answer: the
            leader's incumbent and its next best distinct candidates, this many in all
            (:meth:`~mesa_adage.outer.leaders.Leader.finalists`).
        follower_average: Weight ``beta`` of the running average of the follower's weights
            (Polyak averaging after each follower phase,
            ``avg = beta * avg + (1 - beta) * current``). The leader evaluates candidates with
            the averaged policy, which moves slowly: the leader sees a quasi-stationary
            follower. 0 evaluates the latest weights.
        followers: Independently seeded follower policies, each trained with the steps above
            (so the step budget grows with them). A candidate's episodes are dealt among them,
            so the model's population is a mixture of learners, not one training run's
            quirks; observed data are never one policy either.
    """

    warmup_steps: int = 400_000
    follower_steps: int = 40_000
    follower_lr: float = 1e-3
    follower_lr_final: float = 1e-4
    candidates: int = 8
    eval_rollouts: int = 16
    focus: float = 0.5
    focus_std: float = 0.1
    final_top_k: int = 5
    follower_average: float = 0.0
    followers: int = 1

    def __post_init__(self) -> None:
        for name in (
            "warmup_steps",
            "follower_steps",
            "candidates",
            "eval_rollouts",
            "final_top_k",
            "followers",
        ):
            value = getattr(self, name)
            low = 0 if name in ("warmup_steps", "follower_steps") else 1
            if not (is_count(value) and value >= low):
                raise ValueError(f"Timescales.{name}={value!r} must be an integer >= {low}")
        if self.warmup_steps == 0 and self.follower_steps == 0:
            raise ValueError(
                "Timescales.warmup_steps=0 and follower_steps=0 would leave the followers "
                "untrained; give at least one of them a positive number of agent-steps"
            )
        if self.eval_rollouts < self.followers:
            raise ValueError(
                f"Timescales.eval_rollouts={self.eval_rollouts} must be at least "
                f"followers={self.followers}, so every follower plays an episode"
            )
        for name in ("focus", "follower_average"):
            value = getattr(self, name)
            if not (is_number(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"Timescales.{name}={value!r} must be a number in [0, 1]")
        for name in ("follower_lr", "follower_lr_final", "focus_std"):
            value = getattr(self, name)
            if not (is_number(value) and 0 < value < math.inf):
                raise ValueError(f"Timescales.{name}={value!r} must be a finite positive number")


@dataclass(frozen=True)
class Experiment:
    """One task: the inner model, the followers, and what the leader optimises.

    Attributes:
        name: Short name, used in the run folder's config.
        make_model: Episode factory, called as ``make_model(theta=..., seed=...)``.
        agent_type: The :class:`PolicyAgent` class whose shared policy is trained.
        objective: The leader's objective (maximised); if ``data`` is set, a function that
            builds the objective from the observed data frame.
        characteristics: The space theta lives in; None takes the model class's own (a space
            given here must equal it: theta is declared once, on the model).
        data: Observed data, or a function of the run seed that generates it (then saved to
            the run folder as ``observed.csv`` and reused on resume); if the function takes an
            ``executor`` keyword, it receives the run's executor to train in parallel.
        epochs: Leader epochs (K).
        leader: A leader name (``adage run --help`` lists them), a :class:`Leader` instance,
            or a factory called as ``factory(space, seed, **leader_kwargs)``.
        leader_kwargs: The leader's hyper-parameters, e.g. ``{"alpha_L": 0.1}``.
        timescales: Follower and leader timescales.
        algo: Stable-Baselines3 algorithm class or name (``"PPO"``, ``"A2C"``, ``"SAC"``, ...).
        algo_kwargs: Arguments of the algorithm.
        n_copies: Model copies in the training VecEnv.
        slots_per_copy: Most learning agents alive at once in one training copy, for models
            whose agents are born during an episode; None sizes the slots from the first
            episodes: a fixed population's count, or headroom for one that varies with the
            seed (:class:`~mesa_adage.inner.vec_env.MesaVecEnv` says how).
        target_theta: The true theta, when known (synthetic calibration).
        fit_columns: DataCollector columns plotted against the observed data.
        track: DataCollector columns whose episode means at each epoch's best candidate go
            into ``history.csv`` (and at the answer into ``summary.json``).
        report: Called as ``report(run_dir, result)`` at the end, for task-specific plots.
        profile_points: If not 0, the run ends with an identification check: the objective
            along each parameter's whole range through the answer (the others fixed), at
            this many evenly spaced values, written to ``profile.csv`` and ``profile.png``.
            A profile point that beats the answer by more than the noise is named in
            ``summary.json`` (``search_fell_short``) and under the printed table; the answer
            stays the leader's.
        bootstrap: If not 0, a calibration (an experiment with ``data``) ends with an
            uncertainty report (:mod:`~mesa_adage.analysis.uncertainty`) from this many bootstrap
            replicates: an interval for each parameter, whether the data identify it, and
            whether the model fits the data as well as its own episodes. It goes into
            ``summary.json`` and the printed table.
        eval_tasks: Candidate evaluations are split into at least this many tasks, so an
            executor can run them side by side. The split, not the executor, fixes how
            episodes are batched, so every executor gives the same numbers.
        on_nonfinite: What a NaN or an infinity in a candidate's episodes or objective does:
            ``"raise"`` stops the run with an error naming the agent, the step and theta;
            ``"skip"`` scores the candidate ``-inf`` (failed) and records the reason in
            ``candidates.csv``. Follower training always stops.
    """

    name: str
    make_model: ModelFactory
    agent_type: type[mesa.Agent]
    objective: Objective | Callable[[pd.DataFrame], Objective]
    characteristics: Characteristics | None = None
    data: pd.DataFrame | Callable[..., pd.DataFrame] | None = None
    epochs: int = 6
    leader: str | Leader | LeaderFactory = "tpe"
    leader_kwargs: dict[str, Any] = field(default_factory=dict)
    timescales: Timescales = Timescales()
    algo: str | type[BaseAlgorithm] = "PPO"
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    n_copies: int = 8
    slots_per_copy: int | None = None
    target_theta: Theta | None = None
    fit_columns: tuple[str, ...] = ()
    track: tuple[str, ...] = ()
    report: Callable[[Path, Any], None] | None = None
    profile_points: int = 0
    bootstrap: int = 0
    eval_tasks: int = 4
    on_nonfinite: str = "raise"

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name):
            raise ValueError(f"Experiment name={self.name!r} must be a non-empty string")
        for name in ("make_model", "objective"):
            if not callable(getattr(self, name)):
                raise ValueError(
                    f"Experiment {self.name!r}: {name}={getattr(self, name)!r} must be callable"
                )
        if not (isinstance(self.agent_type, type) and issubclass(self.agent_type, mesa.Agent)):
            raise ValueError(
                f"Experiment {self.name!r}: agent_type={self.agent_type!r} must be a mesa.Agent "
                "subclass (the learning agents' class)"
            )
        if not isinstance(self.timescales, Timescales):
            raise ValueError(
                f"Experiment {self.name!r}: timescales={self.timescales!r} must be Timescales(...)"
            )
        for name in ("leader_kwargs", "algo_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(
                    f"Experiment {self.name!r}: {name}={getattr(self, name)!r} must be a dict of "
                    "keyword arguments"
                )
        for name in ("fit_columns", "track"):
            columns = getattr(self, name)
            if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
                raise ValueError(
                    f"Experiment {self.name!r}: {name}={columns!r} must be a tuple of column "
                    "names (one name is written ('price',))"
                )
        if "learning_rate" in self.algo_kwargs:
            raise ValueError(
                "algo_kwargs sets learning_rate; set the follower learning rates through "
                "Timescales(follower_lr=..., follower_lr_final=...) instead"
            )
        algorithm(self.algo)
        if not (is_count(self.bootstrap) and self.bootstrap >= 0):
            raise ValueError(
                f"bootstrap={self.bootstrap!r} must be 0 (no uncertainty report) or a positive "
                "integer (replicates)"
            )
        for name, low in (("epochs", 1), ("eval_tasks", 1), ("n_copies", 1)):
            value = getattr(self, name)
            if not (is_count(value) and value >= low):
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.on_nonfinite not in ON_NONFINITE:
            raise ValueError(
                f"on_nonfinite={self.on_nonfinite!r}; allowed are {list(ON_NONFINITE)}"
            )
        slots = self.slots_per_copy
        if slots is not None and not (is_count(slots) and slots > 0):
            raise ValueError(f"slots_per_copy={slots!r} must be a positive integer or None")
        points = self.profile_points
        if not (is_count(points) and (points == 0 or points >= 2)):
            raise ValueError(f"profile_points={points!r} must be 0 (no profile) or an integer >= 2")
        declared = model_characteristics(self.make_model)
        if self.characteristics is None:
            object.__setattr__(self, "characteristics", declared)
        elif self.characteristics.params != declared.params:
            raise ValueError(
                f"Experiment {self.name!r}: characteristics={self.characteristics} differ from "
                f"the model's own {declared}; leave characteristics out to use the model's"
            )

    @property
    def space(self) -> Characteristics:
        """The characteristics theta lives in (the model's own)."""
        assert self.characteristics is not None  # set in __post_init__
        return self.characteristics

    def config(self) -> dict[str, Any]:
        """The JSON-serialisable settings that define a run (checked on resume).

        Besides the settings, it fingerprints the model factory (and its parameters), the
        objective and the data, so a run folder never mixes two different experiments.
        """
        return {
            "experiment": self.name,
            "characteristics": [asdict(p) for p in self.space.params],
            "model": describe(self.make_model),
            "agent_type": describe(self.agent_type),
            "objective": describe(self.objective),
            "data": describe(self.data),
            "leader": describe(self.leader),
            "leader_kwargs": describe(self.leader_kwargs),
            "timescales": asdict(self.timescales),
            "algo": describe(self.algo),
            "algo_kwargs": describe(self.algo_kwargs),
            "n_copies": self.n_copies,
            "slots_per_copy": self.slots_per_copy,
            "target_theta": self.target_theta,
            "eval_tasks": self.eval_tasks,
            **({"bootstrap": self.bootstrap} if self.bootstrap else {}),
            "on_nonfinite": self.on_nonfinite,
        }


def model_characteristics(make_model: ModelFactory) -> Characteristics:
    """The characteristics a model factory declares: its class's, or a probe episode's."""
    factory: Any = make_model
    while isinstance(factory, functools.partial):
        factory = factory.func
    declared = getattr(factory, "characteristics", None) if isinstance(factory, type) else None
    if declared is None:
        declared = getattr(make_model(theta=None, seed=0), "characteristics", None)
    if not isinstance(declared, Characteristics):
        raise ValueError(
            f"make_model={make_model!r} does not build an AdaptiveModel with class attribute "
            "`characteristics = Characteristics(...)`"
        )
    return declared
