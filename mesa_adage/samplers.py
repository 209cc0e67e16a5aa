"""Samplers: distributions over theta, used to draw the followers' training episodes.

A :class:`Sampler` returns raw theta vectors of shape ``(n, k)`` for a
:class:`~mesa_adage.characteristics.Characteristics`; ``Characteristics.sample`` turns them
into validated mappings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mesa_adage.characteristics import Characteristics, is_count, is_number


class Sampler:
    """A distribution over theta. Subclasses return raw vectors of shape ``(n, k)``."""

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class Uniform(Sampler):
    """Uniform over the whole box, or over ``[low, high]`` per named parameter."""

    low: Mapping[str, float] = field(default_factory=dict)
    high: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            if not isinstance(getattr(self, name), Mapping):
                raise ValueError(
                    f"Uniform: {name}={getattr(self, name)!r} must be a mapping of parameter "
                    "names to numbers, e.g. {'lam': 0.3}"
                )

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        lo = space.to_vector(
            {**space.defaults, **{p.name: p.low for p in space.params}, **self.low}
        )
        hi = space.to_vector(
            {**space.defaults, **{p.name: p.high for p in space.params}, **self.high}
        )
        if (lo > hi).any():
            i = int(np.flatnonzero(lo > hi)[0])
            name = space.names[i]
            raise ValueError(
                f"Uniform: low[{name!r}]={lo[i]:g} is above high[{name!r}]={hi[i]:g}; "
                "allowed is low <= high"
            )
        return rng.uniform(lo, hi, size=(n, len(space)))


@dataclass(frozen=True)
class Grid(Sampler):
    """A regular grid with ``points`` values per parameter, in row-major order.

    ``sample`` cycles through the grid from a random start so that ``n`` draws cover it evenly.
    """

    points: int = 5

    def __post_init__(self) -> None:
        check_points(self.points, "Grid")

    def grid(self, space: Characteristics) -> np.ndarray:
        """All grid points, shape ``(points ** k, k)``."""
        axes = [np.linspace(p.low, p.high, self.points) for p in space.params]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(space))

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        grid = self.grid(space)
        start = int(rng.integers(len(grid)))
        return grid[(start + np.arange(n)) % len(grid)]


@dataclass(frozen=True)
class Normal(Sampler):
    """Gaussian around ``mean`` with ``std`` given as a fraction of each range.

    Draws outside the bounds are redrawn (a truncated normal), never clipped.
    """

    mean: Mapping[str, float]
    std: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.mean, Mapping):
            raise ValueError(
                f"Normal: mean={self.mean!r} must be a mapping of parameter names to numbers"
            )
        if not (is_number(self.std) and 0 < self.std < np.inf):
            raise ValueError(
                f"Normal: std={self.std!r} must be a finite positive number (a fraction of the "
                "range)"
            )

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        mean = space.to_vector(self.mean)
        scale = self.std * (space.high - space.low)
        out = rng.normal(mean, scale, size=(n, len(space)))
        for _ in range(1000):
            bad = (out < space.low) | (out > space.high)
            if not bad.any():
                return out
            out[bad] = rng.normal(
                np.broadcast_to(mean, out.shape), np.broadcast_to(scale, out.shape)
            )[bad]
        raise RuntimeError("Normal: could not draw inside the bounds; is the mean inside them?")


def check_points(points: object, where: str) -> None:
    """Grid values per parameter: an integer, at least 2.

    Raises:
        ValueError: Otherwise, naming ``where`` and the value.
    """
    if not (is_count(points) and points >= 2):
        raise ValueError(f"{where}: points={points!r} must be an integer >= 2")


def check_weights(weights: Sequence[float], where: str) -> np.ndarray:
    """Probabilities as an array: finite, non-negative and summing to one.

    Raises:
        ValueError: Otherwise, naming ``where`` and the weights.
    """
    try:
        if isinstance(weights, str | bytes) or not all(map(is_number, weights)):
            raise TypeError
        w = np.asarray(weights, dtype=float)
    except TypeError:
        raise ValueError(
            f"{where}: weights={weights!r} must be a sequence of numbers (probabilities)"
        ) from None
    if w.ndim != 1 or not len(w) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{where}: weights {list(weights)} must be finite and non-negative")
    if abs(w.sum() - 1.0) > 1e-6:
        raise ValueError(f"{where}: weights {list(weights)} sum to {w.sum():.6g}, not 1")
    return w / w.sum()


@dataclass(frozen=True)
class Categorical(Sampler):
    """A categorical distribution over the points of a :class:`Grid`.

    Attributes:
        points: Grid points per parameter.
        probs: One probability per grid point, summing to one; uniform if None.
    """

    points: int = 5
    probs: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        check_points(self.points, "Categorical")
        if self.probs is not None:
            check_weights(self.probs, "Categorical")

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        grid = Grid(self.points).grid(space)
        if self.probs is None:
            p = np.full(len(grid), 1.0 / len(grid))
        else:
            p = check_weights(self.probs, "Categorical")
            if p.shape != (len(grid),):
                raise ValueError(
                    f"Categorical: probs needs {len(grid)} weights (one per grid point), got "
                    f"{len(p)}"
                )
        return grid[rng.choice(len(grid), size=n, p=p)]


@dataclass(frozen=True)
class Weighted(Sampler):
    """Given thetas, drawn with given probabilities (a distribution leader's support).

    Attributes:
        thetas: The support: full or partial thetas (missing names take their defaults).
        weights: One probability per theta, summing to one.
    """

    thetas: tuple[Mapping[str, float], ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        check_weights(self.weights, "Weighted")
        wrong = [t for t in self.thetas if not isinstance(t, Mapping)]
        if wrong:
            raise ValueError(
                f"Weighted: theta {wrong[0]!r} must be a mapping of parameter names to numbers"
            )
        if len(self.thetas) != len(self.weights):
            raise ValueError(
                f"Weighted: {len(self.thetas)} thetas but {len(self.weights)} weights; give one "
                "weight per theta"
            )

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        support = np.array([space.to_vector({**space.defaults, **t}) for t in self.thetas])
        return support[rng.choice(len(support), size=n, p=check_weights(self.weights, "Weighted"))]


@dataclass(frozen=True)
class Fixed(Sampler):
    """Always the same theta (for specialist, unconditioned training)."""

    theta: Mapping[str, float]

    def __post_init__(self) -> None:
        if not isinstance(self.theta, Mapping):
            raise ValueError(
                f"Fixed: theta={self.theta!r} must be a mapping of parameter names to numbers"
            )

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.tile(space.to_vector(self.theta), (n, 1))


@dataclass(frozen=True)
class Mixture(Sampler):
    """Draw from ``first`` with probability ``weight``, else from ``second``."""

    first: Sampler
    second: Sampler
    weight: float = 0.5

    def __post_init__(self) -> None:
        for name in ("first", "second"):
            if not isinstance(getattr(self, name), Sampler):
                raise ValueError(
                    f"Mixture: {name}={getattr(self, name)!r} must be a Sampler, e.g. Uniform()"
                )
        if not (is_number(self.weight) and 0.0 <= self.weight <= 1.0):
            raise ValueError(
                f"Mixture: weight={self.weight!r} must be a number in [0, 1] (the probability "
                "of drawing from first)"
            )

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        pick = rng.random(n) < self.weight
        return np.where(
            pick[:, None], self.first.sample(space, rng, n), self.second.sample(space, rng, n)
        )
