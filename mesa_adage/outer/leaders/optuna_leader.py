"""A Bayesian-optimisation leader backed by Optuna (TPE, GP or CMA-ES samplers)."""

from __future__ import annotations

import math
import re
import time
import uuid
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.outer.leaders.base import Leader
from mesa_adage.seeds import sampler_seed

_TOLD = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
"""States of trials the leader has told: scored, or failed (a skipped candidate)."""
_RUNNING = optuna.trial.TrialState.RUNNING
RUN = "adage.run"
"""User attribute of every trial: the id of the run that asked it."""
ABANDONED = "adage.abandoned"
"""User attribute of a trial a killed attempt of its run asked and never told (it failed)."""
SAMPLERS = {
    "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed, n_startup_trials=10),
    "gp": lambda seed: optuna.samplers.GPSampler(seed=seed, n_startup_trials=10),
    "cmaes": lambda seed: optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=5),
}
CONNECT_ATTEMPTS = 6
"""Tries at opening a database that other runs may be setting up at the same moment."""


class OptunaLeader(Leader):
    """Drives an Optuna study through ask/tell.

    The study lives in ``storage``. By default it is an SQLite file in the run folder, private
    to the run (in memory for a run without one). A database URL holds a shared study instead:
    several runs, on several machines, add their trials to it and every leader samples from
    all of them; they may open an empty database at the same moment.

    Every trial carries the id of the run that asked it (its user attribute ``adage.run``),
    and so does the leader's state, so a resumed run knows its own trials among the others.
    A value reaches the study at the leader's next :meth:`ask` (or :meth:`finalists`), once the
    scheduler has committed the checkpoint holding it, so the study never holds a score that
    the run's checkpoint lost. On resume the leader tells the study the values its checkpoint
    holds, and fails the trials a killed attempt asked but never told (marking them
    ``adage.abandoned``).

    The sampler is reseeded from the number of told candidates at every :meth:`ask`, so in
    the private study a resumed run proposes exactly what an uninterrupted one would (a
    private study holding trials its checkpoint does not know is forked at the checkpoint,
    since CMA-ES seeds from trial numbers). A shared study is never forked; its proposals
    depend on what the other runs told it and when, so they cannot be reproduced to the bit.

    Args:
        space: The characteristics searched.
        seed: Base seed of the sampler.
        sampler: ``"tpe"``, ``"gp"`` or ``"cmaes"``.
        storage: Optuna storage URL of a shared study (``postgresql://...``,
            ``sqlite:///...``); None for the run folder's private ``checkpoint/leader.db``.
        study_name: Name of the study in ``storage``; the experiment's name if None.

    Attributes:
        run_id: The identity of this run's trials in the study (kept in :meth:`state_dict`).
        private: Whether the study is the run's own (``storage`` None).
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
        self.private = storage is None
        self._storage = _connect(storage)  # a bad URL fails here, before any run starts
        self.study_name = study_name
        # An identity, not a random stream: runs with the same seed still need different ids.
        self.run_id = uuid.uuid4().hex
        self._study: optuna.Study | None = None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.distributions = {
            p.name: optuna.distributions.FloatDistribution(p.low, p.high) for p in space.params
        }
        self._asked: list[optuna.Trial] = []
        self._untold: list[tuple[int, float]] = []  # (trial number, value) not yet in the study

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
        self._publish()
        self.study.sampler = SAMPLERS[self.sampler](sampler_seed(self.seed, len(self.history)))
        self._asked = []
        for _ in range(n):
            trial = self.study.ask(self.distributions)
            trial.set_user_attr(RUN, self.run_id)
            self._asked.append(trial)
        return [self.space.validate(t.params) for t in self._asked]

    def tell(self, thetas: list[Theta], values: list[float]) -> None:
        super().tell(thetas, values)
        if len(values) != len(self._asked):
            raise RuntimeError("OptunaLeader.tell must follow its own ask, with every value")
        self._untold += [(t.number, float(v)) for t, v in zip(self._asked, values, strict=True)]
        self._asked = []

    def finalists(self, k: int) -> list[Theta]:
        self._publish()  # the run's last checkpoint is committed: the study gets its values
        return super().finalists(k)

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "study_name": self.study.study_name,
            "run_id": self.run_id,
            "untold": list(self._untold),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore, and take back this run's trials in the study by the run's id.

        The values the checkpoint holds are told, the trials an interrupted attempt asked and
        never told fail, and the study is kept: a shared one always, the private one unless
        it ran past the checkpoint (then a copy cut at the checkpoint replaces it).
        """
        super().load_state_dict(state)
        # A checkpoint written before runs had ids: its run told the study at once.
        self.run_id = state.get("run_id", self.run_id)
        self._untold = [(int(number), float(value)) for number, value in state.get("untold", [])]
        self._asked = []
        self._study = self._open(state["study_name"])
        self._publish()
        self._abandon()
        if self.private:
            self._fork_at_checkpoint(state["study_name"])

    def _publish(self) -> None:
        """Tell the study the values told to the leader and held back until a checkpoint."""
        running = {t.number for t in self.study.get_trials(deepcopy=False, states=(_RUNNING,))}
        for number, value in self._untold:
            if number not in running:  # told by an attempt killed later, or lost in memory
                continue
            if value == -math.inf:  # a skipped candidate: failed, so samplers leave it out
                self.study.tell(number, state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(number, value)
        self._untold = []

    def _abandon(self) -> None:
        """Fail the trials of this run that an interrupted attempt asked and never told."""
        running = self.study.get_trials(deepcopy=False, states=(_RUNNING,))
        study_id = self._storage.get_study_id_from_name(self.study.study_name)
        for trial in running:
            if trial.user_attrs.get(RUN) != self.run_id:
                continue  # another run's, in progress
            trial_id = self._storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            self._storage.set_trial_user_attr(trial_id, ABANDONED, True)
            self.study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)

    def _fork_at_checkpoint(self, name: str) -> None:
        """Replace a private study that ran past the checkpoint by a copy cut at it."""
        trials = self.study.get_trials(deepcopy=False)
        told = [t for t in trials if t.state in _TOLD and ABANDONED not in t.user_attrs]
        if len(trials) == len(told) == len(self.history):
            return
        # Abandoned trials would shift the numbers of the next ones, which seed CMA-ES.
        fork = f"{name}-r{len(self.history)}"
        # A fork of this name was made by an earlier resume from the same checkpoint, which
        # was interrupted too: it holds that attempt's trials, so it starts over.
        if fork in optuna.get_all_study_names(self._storage):
            optuna.delete_study(study_name=fork, storage=self._storage)
        self._study = self._open(fork)
        self.study.add_trials(told[: len(self.history)])


def _connect(url: str | None) -> optuna.storages.BaseStorage:
    """Optuna storage at ``url`` (None: in memory), or an error naming the URL and the cause.

    Runs that open a fresh database at the same moment race to create Optuna's tables, and
    the losers fail on a duplicate row or table: they try again and find the tables made.

    Raises:
        ValueError: If the URL is malformed, its driver is missing, or its database cannot be
            reached; the message shows the URL without its password.
    """
    if url is None:
        return optuna.storages.InMemoryStorage()
    attempt = 1
    while True:
        try:
            return optuna.storages.get_storage(url)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as err:
            if attempt == CONNECT_ATTEMPTS:
                raise _unusable(url, err) from None
        except Exception as err:  # SQLAlchemy's, the drivers' and Optuna's have no common base
            raise _unusable(url, err) from None
        time.sleep(0.1 * attempt)  # the winner of the race needs a moment to commit
        attempt += 1


def _unusable(url: str, err: Exception) -> ValueError:
    """The error for a storage URL that failed with ``err``: what went wrong, what to check."""
    shown = f"--storage {_without_password(url)!r}"
    if isinstance(err, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return ValueError(
            f"{shown}: cannot connect to the database ({_cause(err, url)}); {_what_to_check(url)}"
        )
    if isinstance(err, sqlalchemy.exc.IntegrityError | sqlalchemy.exc.ProgrammingError):
        return ValueError(
            f"{shown}: Optuna could not set up its tables in {CONNECT_ATTEMPTS} attempts "
            f"({_cause(err, url)}); check that the database user may create tables there"
        )
    if isinstance(err, ImportError):
        return ValueError(
            f"{shown}: the database driver is not installed ({_cause(err.__cause__ or err, url)});"
            " for postgresql:// install the extra: pip install -e '.[postgres]' (psycopg 3)"
        )
    return ValueError(
        f"{shown}: Optuna cannot open it ({_cause(err, url)}); give sqlite:///path/to/file.db "
        "or a database URL such as postgresql://user:password@host/dbname"
    )


def _without_password(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: hide whatever sits where a password would
        return re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", url)


def _cause(err: BaseException, url: str) -> str:
    """``err`` on one line: the driver's own message, without the URL's password."""
    cause = getattr(err, "orig", None) or err  # SQLAlchemy wraps the driver's error
    text = " ".join(str(cause).split()) or type(cause).__name__
    try:
        password = make_url(url).password
    except Exception:
        password = None
    text = text.replace(url, _without_password(url))  # some errors quote the whole URL
    if password:
        text = text.replace(str(password), "***")
    return f"{type(cause).__name__}: {text}"


def _what_to_check(url: str) -> str:
    """What to check when the database at ``url`` does not answer."""
    try:
        parts = make_url(url)
    except Exception:
        return "check the URL"
    if parts.get_backend_name() == "sqlite":
        return "check that the file's folder exists and is writable"
    where = f"{parts.host or 'localhost'}{f':{parts.port}' if parts.port else ''}"
    return (
        f"check that the database server runs at {where} and accepts connections from here, "
        f"that the database {parts.database!r} exists and that the user name and password "
        "are right"
    )
