"""Observation models: how much of theta each agent sees, its ``theta_hat``.

``theta_hat_i = view(normalised theta) + noise_i``: :class:`Full` shows everything,
:class:`Subset` some parameters, :class:`Noisy` adds each agent's own error, and
:class:`Belief` shows a fixed theta whatever the real one is (the Lucas critique's
non-adapting agents).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mesa_adage.characteristics import Characteristics, is_number


class ObservationModel:
    """How agents see theta: ``theta_hat_i = view(normalised theta) + noise_i``."""

    def dim(self, space: Characteristics) -> int:
        """Length of each agent's ``theta_hat``."""
        raise NotImplementedError

    def bounds(self, space: Characteristics) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of ``theta_hat`` for the observation space."""
        d = self.dim(space)
        return -np.ones(d), np.ones(d)

    def __call__(
        self,
        space: Characteristics,
        unit_theta: np.ndarray,
        n_agents: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Return ``theta_hat`` for ``n_agents`` agents, shape ``(n_agents, dim)``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Full(ObservationModel):
    """Every agent sees all of theta, exactly."""

    def dim(self, space: Characteristics) -> int:
        return len(space)

    def __call__(self, space, unit_theta, n_agents, rng):
        return np.tile(unit_theta, (n_agents, 1))


@dataclass(frozen=True)
class Subset(ObservationModel):
    """Agents see only the named parameters (an empty tuple hides theta completely)."""

    names: tuple[str, ...]

    def dim(self, space: Characteristics) -> int:
        for name in self.names:
            space.index(name)
        return len(self.names)

    def __call__(self, space, unit_theta, n_agents, rng):
        idx = [space.index(n) for n in self.names]
        return np.tile(unit_theta[idx], (n_agents, 1))


@dataclass(frozen=True)
class Noisy(ObservationModel):
    """Each agent sees theta (or ``names`` of it) plus its own Gaussian error.

    Attributes:
        sigma: Noise std in normalised units (1.0 is half the range).
        names: Parameters seen; all if empty.
    """

    sigma: float = 0.1
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (is_number(self.sigma) and 0 <= self.sigma < np.inf):
            raise ValueError(
                f"Noisy: sigma={self.sigma!r} must be a finite number >= 0 (normalised units: 1.0 "
                "is half the range)"
            )

    def _idx(self, space: Characteristics) -> list[int]:
        return [space.index(n) for n in self.names] if self.names else list(range(len(space)))

    def dim(self, space: Characteristics) -> int:
        return len(self._idx(space))

    def bounds(self, space: Characteristics) -> tuple[np.ndarray, np.ndarray]:
        d = self.dim(space)
        return np.full(d, -np.inf), np.full(d, np.inf)

    def __call__(self, space, unit_theta, n_agents, rng):
        view = unit_theta[self._idx(space)]
        return view + self.sigma * rng.standard_normal((n_agents, len(view)))


@dataclass(frozen=True)
class Belief(ObservationModel):
    """Agents see a fixed ``theta`` whatever the real one is: behaviour frozen at that theta.

    This is the non-adapting population of the Lucas critique: agents keep acting as they did
    under the old policy while the leader changes the real characteristics.
    """

    theta: Mapping[str, float]

    def dim(self, space: Characteristics) -> int:
        return len(space)

    def __call__(self, space, unit_theta, n_agents, rng):
        return np.tile(space.to_unit(self.theta), (n_agents, 1))
