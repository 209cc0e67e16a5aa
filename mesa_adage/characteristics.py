"""Characteristics (theta): the named, bounded parameters a leader sets.

A :class:`Characteristics` is an ordered set of :class:`Param`. It validates a theta given as a
mapping, converts between the mapping, a raw vector and a vector normalised to ``[-1, 1]``, and
samples theta from a :class:`Sampler`. Observation models (:class:`Full`, :class:`Subset`,
:class:`Noisy`) say how much of theta each agent sees: its ``theta_hat``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

Theta = dict[str, float]


@dataclass(frozen=True)
class Param:
    """One bounded dimension of theta.

    Attributes:
        name: Identifier used in mappings, CSV columns and the command line.
        low: Smallest allowed value (inclusive).
        high: Largest allowed value (inclusive).
        default: Value used when a theta leaves this parameter out; the midpoint if None.
        doc: One line saying what the parameter means, with its unit.
    """

    name: str
    low: float
    high: float
    default: float | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"Param name {self.name!r} must be a Python identifier")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(
                f"Param {self.name!r}: bounds must be finite with low < high, "
                f"got low={self.low}, high={self.high}"
            )
        if self.default is not None and not self.low <= self.default <= self.high:
            raise ValueError(
                f"Param {self.name!r}: default={self.default} is outside [{self.low}, {self.high}]"
            )

    @property
    def span(self) -> float:
        """Width of the allowed range."""
        return self.high - self.low

    @property
    def midpoint(self) -> float:
        """Centre of the allowed range."""
        return 0.5 * (self.low + self.high)


class Characteristics:
    """An ordered set of bounded parameters: the space the leader searches.

    Args:
        params: The dimensions of theta, in a fixed order.

    Raises:
        ValueError: If there are no parameters or two share a name.
    """

    def __init__(self, *params: Param) -> None:
        if not params:
            raise ValueError("Characteristics needs at least one Param")
        names = [p.name for p in params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"Characteristics: duplicate parameter names {dupes}")
        self.params: tuple[Param, ...] = params
        self.names: tuple[str, ...] = tuple(names)
        self.low = np.array([p.low for p in params], dtype=float)
        self.high = np.array([p.high for p in params], dtype=float)

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        inner = ", ".join(f"{p.name} in [{p.low:g}, {p.high:g}]" for p in self.params)
        return f"Characteristics({inner})"

    def __getitem__(self, name: str) -> Param:
        return self.params[self.index(name)]

    def index(self, name: str) -> int:
        """Position of parameter ``name`` in the theta vector."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(
                f"unknown parameter {name!r}; allowed names are {list(self.names)}"
            ) from None

    @property
    def defaults(self) -> Theta:
        """Each parameter's default (its midpoint when no default was given)."""
        return {p.name: p.midpoint if p.default is None else p.default for p in self.params}

    def validate(self, theta: Mapping[str, float], *, complete: bool = False) -> Theta:
        """Check a theta mapping and fill missing parameters with their defaults.

        Args:
            theta: Parameter values by name.
            complete: If True, every parameter must be given.

        Returns:
            A new dict holding every parameter, in the declared order, as floats.

        Raises:
            ValueError: On an unknown name, a missing name (if ``complete``), a value that is
                not a finite number, or a value outside its bounds.
        """
        unknown = [k for k in theta if k not in self.names]
        if unknown:
            raise ValueError(
                f"unknown parameter {unknown[0]!r}; allowed names are {list(self.names)}"
            )
        if complete:
            missing = [n for n in self.names if n not in theta]
            if missing:
                raise ValueError(f"theta is missing parameters {missing}")
        out = self.defaults
        for p in self.params:
            if p.name not in theta:
                continue
            value = theta[p.name]
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"parameter {p.name!r}: value {value!r} is not a number") from None
            if not math.isfinite(value) or not p.low <= value <= p.high:
                raise ValueError(
                    f"parameter {p.name!r}={value!r} is outside its bounds [{p.low:g}, {p.high:g}]"
                )
            out[p.name] = value
        return out

    def to_vector(self, theta: Mapping[str, float]) -> np.ndarray:
        """Validated theta as a float vector in declared order."""
        valid = self.validate(theta)
        return np.array([valid[n] for n in self.names], dtype=float)

    def to_dict(self, vector: Sequence[float] | np.ndarray) -> Theta:
        """Vector in declared order back to a validated mapping."""
        vector = np.asarray(vector, dtype=float)
        if vector.shape != (len(self),):
            raise ValueError(
                f"theta vector has shape {vector.shape}; expected ({len(self)},) "
                f"for parameters {list(self.names)}"
            )
        return self.validate(dict(zip(self.names, vector.tolist(), strict=True)))

    def normalize(self, vector: np.ndarray) -> np.ndarray:
        """Map raw values to ``[-1, 1]`` (works on the last axis)."""
        return 2.0 * (np.asarray(vector, dtype=float) - self.low) / (self.high - self.low) - 1.0

    def denormalize(self, unit: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`normalize`."""
        return self.low + (np.asarray(unit, dtype=float) + 1.0) * 0.5 * (self.high - self.low)

    def sample(self, sampler: Sampler, rng: np.random.Generator, n: int = 1) -> list[Theta]:
        """Draw ``n`` thetas from ``sampler``."""
        rows = sampler.sample(self, rng, n)
        return [self.to_dict(row) for row in rows]

    def range_error(self, theta: Mapping[str, float], truth: Mapping[str, float]) -> Theta:
        """Absolute error of ``theta`` against ``truth``, as a fraction of each range."""
        a, b = self.validate(theta), self.validate(truth)
        return {p.name: abs(a[p.name] - b[p.name]) / p.span for p in self.params}


def parse_theta(text: str, characteristics: Characteristics) -> Theta:
    """Parse ``"name=value,name=value"`` into a validated theta.

    Raises:
        ValueError: Naming the bad fragment and the expected form.
    """
    theta: dict[str, float] = {}
    for fragment in filter(None, (f.strip() for f in text.split(","))):
        name, sep, value = fragment.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(
                f"bad theta fragment {fragment!r} in {text!r}; expected name=value pairs "
                f"separated by commas, names in {list(characteristics.names)}"
            )
        try:
            theta[name.strip()] = float(value)
        except ValueError:
            raise ValueError(
                f"bad theta fragment {fragment!r}: {value.strip()!r} is not a number"
            ) from None
    if not theta:
        raise ValueError(f"empty theta {text!r}; expected name=value pairs separated by commas")
    return characteristics.validate(theta, complete=True)


# --------------------------------------------------------------------------- samplers


class Sampler:
    """A distribution over theta. Subclasses return raw vectors of shape ``(n, k)``."""

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class Uniform(Sampler):
    """Uniform over the whole box, or over ``[low, high]`` per named parameter."""

    low: Mapping[str, float] = field(default_factory=dict)
    high: Mapping[str, float] = field(default_factory=dict)

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        lo = space.to_vector(
            {**space.defaults, **{p.name: p.low for p in space.params}, **self.low}
        )
        hi = space.to_vector(
            {**space.defaults, **{p.name: p.high for p in space.params}, **self.high}
        )
        return rng.uniform(lo, hi, size=(n, len(space)))


@dataclass(frozen=True)
class Grid(Sampler):
    """A regular grid with ``points`` values per parameter, in row-major order.

    ``sample`` cycles through the grid from a random start so that ``n`` draws cover it evenly.
    """

    points: int = 5

    def __post_init__(self) -> None:
        if self.points < 2:
            raise ValueError(f"Grid: points={self.points} must be at least 2")

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
        if not self.std > 0:
            raise ValueError(f"Normal: std={self.std} must be positive (a fraction of the range)")

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


@dataclass(frozen=True)
class Categorical(Sampler):
    """A categorical distribution over the points of a :class:`Grid`.

    Attributes:
        points: Grid points per parameter.
        probs: One weight per grid point (normalised here); uniform if None.
    """

    points: int = 5
    probs: tuple[float, ...] | None = None

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        grid = Grid(self.points).grid(space)
        if self.probs is None:
            p = np.full(len(grid), 1.0 / len(grid))
        else:
            p = np.asarray(self.probs, dtype=float)
            if p.shape != (len(grid),) or (p < 0).any() or not p.sum() > 0:
                raise ValueError(
                    f"Categorical: probs needs {len(grid)} non-negative weights "
                    f"(one per grid point), got {self.probs}"
                )
            p = p / p.sum()
        return grid[rng.choice(len(grid), size=n, p=p)]


@dataclass(frozen=True)
class Fixed(Sampler):
    """Always the same theta (for specialist, unconditioned training)."""

    theta: Mapping[str, float]

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.tile(space.to_vector(self.theta), (n, 1))


@dataclass(frozen=True)
class Mixture(Sampler):
    """Draw from ``first`` with probability ``weight``, else from ``second``."""

    first: Sampler
    second: Sampler
    weight: float = 0.5

    def sample(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        pick = rng.random(n) < self.weight
        return np.where(
            pick[:, None], self.first.sample(space, rng, n), self.second.sample(space, rng, n)
        )


# --------------------------------------------------------------------------- observation models


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
        if not self.sigma >= 0:
            raise ValueError(f"Noisy: sigma={self.sigma} must be >= 0")

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
        return np.tile(space.normalize(space.to_vector(self.theta)), (n_agents, 1))
