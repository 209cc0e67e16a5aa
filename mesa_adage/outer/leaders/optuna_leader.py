"""A Bayesian-optimisation leader backed by Optuna (TPE, GP or CMA-ES samplers)."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import optuna

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.outer.leaders.base import Leader
from mesa_adage.outer.leaders.registry import register
from mesa_adage.seeds import sampler_seed

_TOLD = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
"""States of trials the leader has told: scored, or failed (a skipped candidate)."""
SAMPLERS = {
    "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed, n_startup_trials=10),
    "gp": lambda seed: optuna.samplers.GPSampler(seed=seed, n_startup_trials=10),
    "cmaes": lambda seed: optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=5),
}


class OptunaLeader(Leader):
    """Drives an Optuna study through ask/tell.

    The study lives in ``storage``: an SQLite file in the run folder by default (in memory
    for a run without one), or any database URL, which several machines can share (each run
    adds its trials to the study, and every leader samples from all of them). The sampler is
    reseeded from the number of finished trials at every :meth:`ask`, so a resumed run
    proposes exactly what an uninterrupted one would.

    Args:
        space: The characteristics searched.
        seed: Base seed of the sampler.
        sampler: ``"tpe"``, ``"gp"`` or ``"cmaes"``.
        storage: Optuna storage URL (``sqlite:///...``, ``postgresql://...``); None for the
            run folder's ``checkpoint/leader.db``.
        study_name: Name of the study in ``storage``; the experiment's name if None.
    """

    def __init__(
        self,
        space: Characteristics,
        seed: int = 0,
        sampler: str = "tpe",
        storage: str | None = None,
        study_name: str | None = None,
    ) -> None:
        super().__init__(space, seed)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler={sampler!r}; allowed are {sorted(SAMPLERS)}")
        self.name = sampler
        self.sampler = sampler
        self.storage = storage
        self._storage = _connect(storage)  # a bad URL fails here, before any run starts
        self.study_name = study_name
        self._study: optuna.Study | None = None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.distributions = {
            p.name: optuna.distributions.FloatDistribution(p.low, p.high) for p in space.params
        }
        self._pending: list[optuna.Trial] = []

    def bind(self, run_dir: Path | None, name: str) -> None:
        """Keep the study in the run folder (or the given storage), named after the experiment."""
        if self.storage is None and run_dir is not None:
            self.storage = f"sqlite:///{(run_dir / 'checkpoint' / 'leader.db').resolve()}"
            self._storage = _connect(self.storage)
        self.study_name = self.study_name or name

    @property
    def study(self) -> optuna.Study:
        """The Optuna study, opened at first use (after :meth:`bind`, if the scheduler binds)."""
        if self._study is None:
            self._study = self._open(self.study_name or "adage")
        return self._study

    def _open(self, name: str) -> optuna.Study:
        return optuna.create_study(
            storage=self._storage, study_name=name, direction="maximize", load_if_exists=True
        )

    def ask(self, n: int) -> list[Theta]:
        self.study.sampler = SAMPLERS[self.sampler](sampler_seed(self.seed, len(self.history)))
        self._pending = [self.study.ask(self.distributions) for _ in range(n)]
        return [self.space.validate(t.params) for t in self._pending]

    def tell(self, thetas: list[Theta], values: list[float]) -> None:
        super().tell(thetas, values)
        if len(values) != len(self._pending):
            raise RuntimeError("OptunaLeader.tell must follow its own ask, with every value")
        for trial, value in zip(self._pending, values, strict=True):
            if value == -math.inf:  # a skipped candidate: failed, so samplers leave it out
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, value)
        self._pending = []

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "study_name": self.study.study_name}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore; if the stored study ran past the checkpoint, fork it at the checkpoint."""
        super().load_state_dict(state)
        self._study = self._open(state["study_name"])
        done = self.study.get_trials(deepcopy=False)
        if len(done) == len(self.history) and all(t.state in _TOLD for t in done):
            return
        keep = [t for t in done if t.state in _TOLD][: len(self.history)]
        fork = f"{state['study_name']}-r{len(self.history)}"
        # A fork of this name was made by an earlier resume from the same checkpoint, which
        # was interrupted too: it holds that attempt's trials, so it starts over.
        if self._storage is not None:
            names = self._storage.get_all_studies()
            if fork in (study.study_name for study in names):
                optuna.delete_study(study_name=fork, storage=self._storage)
        self._study = self._open(fork)
        self.study.add_trials(keep)


def _connect(url: str | None) -> optuna.storages.BaseStorage | None:
    """Optuna storage at ``url`` (None: in memory), or a clear error naming the URL."""
    if url is None:
        return None
    try:
        return optuna.storages.get_storage(url)
    except Exception as err:  # SQLAlchemy and driver errors have no common base
        raise ValueError(
            f"--storage {url!r}: Optuna cannot open it ({type(err).__name__}: {err}); give "
            "sqlite:///path/to/file.db or a reachable database URL such as "
            "postgresql://user:password@host/dbname"
        ) from None


for _name in SAMPLERS:
    register(_name, partial(OptunaLeader, sampler=_name))
