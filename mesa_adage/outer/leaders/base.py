"""The ask/tell interface every leader implements."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from mesa_adage.characteristics import Characteristics, Theta, is_count
from mesa_adage.inner.checks import format_theta
from mesa_adage.inner.rollout import Rollout
from mesa_adage.samplers import Sampler


class Leader(ABC):
    """An outer-layer optimiser over theta, driven by ask/tell; it maximises the objective.

    The leader never owns the loop: the scheduler asks for candidates, evaluates them with
    frozen follower policies, and tells the values back. All state needed to continue lives
    in :meth:`state_dict`, which is JSON-serialisable. A leader's hyper-parameters (step
    sizes, learning rates) are its constructor's arguments.

    The scheduler drives every leader the same way: ``ask(n)``, evaluate, ``tell(thetas,
    values)`` each epoch; at the end ``finalists(k)``, evaluate, ``conclude(thetas, values)``.
    A leader is never handed a function to call back.

    Optional hooks: :meth:`observe` hands it the candidates' episodes before :meth:`tell` (a
    :class:`~mesa_adage.outer.leaders.game.Game` reads each player's payoff from them),
    :meth:`bind` tells the leader where the run lives (for state kept outside
    the checkpoint, such as an Optuna study), :meth:`training_sampler` lets it choose the theta
    distribution the followers train under next, and :meth:`finalists`, :meth:`conclude` and
    :meth:`summary` let a leader whose answer is not one theta (a distribution leader) give its
    own.

    Args:
        space: The characteristics searched.
        seed: Seed of the leader's own random generator.
    """

    name: str = "leader"
    maximises: bool = True
    """Whether the answer is the best value of the objective found. A game's is an equilibrium
    instead, so no evaluated point is held against it as a better one."""

    def __init__(self, space: Characteristics, seed: int = 0) -> None:
        self.space = space
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.history: list[tuple[Theta, float]] = []

    def bind(self, run_dir: Path | None, name: str) -> None:
        """Called once by the scheduler before the loop.

        Args:
            run_dir: The run folder, or None for a run kept in memory.
            name: The experiment's name.
        """
        return None  # most leaders keep all their state in state_dict()

    def training_sampler(self) -> Sampler | None:
        """The theta distribution of the next follower phase; None keeps the scheduler's own.

        A leader that shapes the followers' training (robust learning: the distribution of
        preferences the followers meet) returns it here.
        """
        return None

    @abstractmethod
    def ask(self, n: int) -> list[Theta]:
        """Return up to ``n`` candidate thetas.

        An empty list says the search is exhausted: the scheduler asks before the epoch's
        follower phase, so the run ends at once, without training the followers again.
        """

    def observe(self, thetas: list[Theta], rollouts: list[list[Rollout]]) -> None:
        """The episodes of each candidate from the last :meth:`ask`, before :meth:`tell`.

        Empty for a failed candidate. Most leaders need only the values: this does nothing.
        """
        return None

    def tell(self, thetas: list[Theta], values: list[float]) -> None:
        """Report the objective value of each candidate from the last :meth:`ask`.

        ``-inf`` marks a failed candidate (skipped for a NaN or an infinity): it is never
        better than a scored one.
        """
        if len(thetas) != len(values):
            raise ValueError(f"tell got {len(thetas)} thetas but {len(values)} values")
        bad = next(((t, v) for t, v in zip(thetas, values, strict=True) if not v < math.inf), None)
        if bad is not None:
            raise ValueError(
                f"tell got a non-finite objective value {bad[1]} for theta "
                f"{format_theta(bad[0])}; values must be finite, or -inf for a failed candidate"
            )
        self.history.extend(zip((dict(t) for t in thetas), map(float, values), strict=True))

    @property
    def best(self) -> tuple[Theta, float]:
        """The best (theta, value) told so far."""
        if not self.history:
            raise RuntimeError("the leader has no evaluated candidates yet")
        return max(self.history, key=lambda tv: tv[1])

    @property
    def incumbent(self) -> Theta:
        """The leader's current answer: its best candidate, or the defaults before any."""
        return self.best[0] if self.history else self.space.defaults

    def finalists(self, k: int) -> list[Theta]:
        """The incumbent, then the best distinct candidates told: ``k`` thetas in all.

        Fewer when fewer distinct ones were told. The scheduler re-scores them with the
        final followers to pick the answer (``Timescales.final_top_k`` of them).

        Raises:
            ValueError: If ``k`` is not a positive integer.
        """
        if not (is_count(k) and k >= 1):
            raise ValueError(f"finalists(k={k!r}): k must be a positive integer")
        finalists = [self.incumbent]
        for theta, _ in sorted(self.history, key=lambda tv: -tv[1]):
            if len(finalists) == k:
                break
            if theta not in finalists:
                finalists.append(theta)
        return finalists

    def conclude(
        self, thetas: list[Theta], values: list[float]
    ) -> tuple[Theta, float, list[Theta]]:
        """The leader's answer, given its :meth:`finalists` scored with the final followers.

        By default the best finalist wins.

        Returns:
            The answer, its objective value, and the evaluated thetas whose episodes stand
            for it (the answer itself here; every support point for a distribution leader).
        """
        best = int(np.argmax(values))
        return thetas[best], float(values[best]), [thetas[best]]

    def summary(self) -> dict[str, Any]:
        """What the leader adds to ``summary.json`` (nothing by default)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; :meth:`load_state_dict` restores it exactly."""
        return {"history": self.history, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.history = [(dict(t), float(v)) for t, v in state["history"]]
        self.rng.bit_generator.state = state["rng"]
