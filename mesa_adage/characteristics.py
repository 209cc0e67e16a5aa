"""Characteristics (theta): the named, bounded parameters a leader sets.

A :class:`Characteristics` is an ordered set of :class:`Param`. It validates a theta given as a
mapping and converts between the mapping, a raw vector and a vector normalised to ``[-1, 1]``
(:meth:`Characteristics.to_unit` / :meth:`Characteristics.from_unit`). Distributions over theta
live in :mod:`mesa_adage.samplers`; how agents see theta, in :mod:`mesa_adage.inner.observation`.

Theta is validated once, where it enters (the command line, a spec function, a model built by
hand): :meth:`Characteristics.validate` returns a :class:`Theta`, an immutable ``dict`` that
remembers its space, and validating it again against an equal space returns it at once, so
every later step may call ``validate`` on whatever mapping it is given. The space, its
validated value and its text form (:func:`parse_theta`) share this module, past 300 lines,
because a Theta's guarantee holds only while ``validate`` is the one place that makes it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

if TYPE_CHECKING:
    from mesa_adage.samplers import Sampler


def is_number(value: object) -> bool:
    """True for a real number (Python or NumPy); False for bool, str and everything else.

    A bool is refused although Python counts it as an int: ``True`` for a rate is a mistake.
    """
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def is_count(value: object) -> bool:
    """True for a Python or NumPy integer; False for a bool (``True`` is no count)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


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
        if not (isinstance(self.name, str) and self.name.isidentifier()):
            raise ValueError(f"Param name {self.name!r} must be a Python identifier")
        for field in ("low", "high", "default"):
            value = getattr(self, field)
            if not (is_number(value) or (field == "default" and value is None)):
                raise ValueError(
                    f"Param {self.name!r}: {field}={value!r} must be a number (int or float, "
                    "not bool or str)"
                )
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


class Theta(dict[str, float]):
    """A theta that a :class:`Characteristics` validated: every parameter, in order, as floats.

    To everything that reads a ``dict`` it is one (``json.dumps``, ``{**theta}``, pandas, ``==``
    with a plain dict, its ``repr``), but it cannot change: ``{**theta, name: value}`` is a
    plain dict to change and validate again. Only :meth:`Characteristics.validate` makes one;
    :attr:`space` is the characteristics that validated it.
    """

    __slots__ = ("_space",)
    _space: Characteristics

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a Theta is made by Characteristics.validate(theta), not by Theta(...)")

    @classmethod
    def _validated(cls, values: Mapping[str, float], space: Characteristics) -> Theta:
        theta = dict.__new__(cls)
        dict.update(theta, values)
        theta._space = space
        return theta

    @property
    def space(self) -> Characteristics:
        """The characteristics that validated this theta."""
        return self._space

    def _immutable(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            f"a validated theta cannot change ({dict(self)}); validate a changed copy instead: "
            "space.validate({**theta, name: value})"
        )

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _immutable

    def __reduce__(self) -> tuple[Any, ...]:  # dict's pickling would refill it item by item
        return self._space.validate, (dict(self),)

    def __copy__(self) -> Theta:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Theta:
        return self


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
        wrong = [(i, p) for i, p in enumerate(params) if not isinstance(p, Param)]
        if wrong:
            i, p = wrong[0]
            raise ValueError(
                f"Characteristics: argument {i} is {p!r} ({type(p).__name__}), not a Param; "
                "pass Characteristics(Param(name, low, high), ...)"
            )
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

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Characteristics):
            return NotImplemented
        return self.params == other.params

    def __hash__(self) -> int:
        return hash(self.params)

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
    def defaults(self) -> dict[str, float]:
        """Each parameter's default (its midpoint when no default was given)."""
        return {p.name: p.midpoint if p.default is None else p.default for p in self.params}

    def validate(self, theta: Mapping[str, float], *, complete: bool = False) -> Theta:
        """Check a theta mapping and fill missing parameters with their defaults.

        Args:
            theta: Parameter values by name.
            complete: If True, every parameter must be given.

        Returns:
            A :class:`Theta` holding every parameter, in the declared order, as floats:
            ``theta`` itself if this space, or an equal one, validated it already.

        Raises:
            ValueError: On an unknown name, a missing name (if ``complete``), a value that is
                not a finite number (a bool or a string is not a number here), or a value
                outside its bounds.
        """
        if isinstance(theta, Theta) and (theta.space is self or theta.space == self):
            return theta  # complete, in order and in bounds: nothing to check again
        if not isinstance(theta, Mapping):
            raise ValueError(
                f"theta={theta!r} ({type(theta).__name__}) must be a mapping of parameter names "
                f"to numbers, names in {list(self.names)}"
            )
        unknown = [k for k in theta if k not in self.names]
        if unknown:
            raise ValueError(
                f"unknown parameter {unknown[0]!r}; allowed names are {list(self.names)}"
            )
        if complete:
            missing = [n for n in self.names if n not in theta]
            if missing:
                raise ValueError(
                    f"theta is missing parameters {missing}; give every one of {list(self.names)}"
                )
        out = {name: float(value) for name, value in self.defaults.items()}
        for p in self.params:
            if p.name not in theta:
                continue
            given = theta[p.name]
            try:
                if isinstance(given, str | bytes | bool | np.bool_):
                    raise TypeError
                value = float(given)
            except (TypeError, ValueError):
                raise ValueError(
                    f"parameter {p.name!r}: value {given!r} ({type(given).__name__}) is not a "
                    f"number; allowed are numbers in [{p.low:g}, {p.high:g}]"
                ) from None
            if not math.isfinite(value):
                raise ValueError(
                    f"parameter {p.name!r}={value!r} is not a finite number; allowed are numbers "
                    f"in [{p.low:g}, {p.high:g}]"
                )
            if not p.low <= value <= p.high:
                raise ValueError(
                    f"parameter {p.name!r}={value!r} is outside its bounds [{p.low:g}, {p.high:g}]"
                )
            out[p.name] = value
        return Theta._validated(out, self)

    def combinations(self, values: Mapping[str, Sequence[float]]) -> list[Theta]:
        """Every combination of the given values per parameter, validated; others at defaults.

        The first parameter named varies slowest (row-major order).
        """
        names = list(values)
        combos = itertools.product(*values.values())
        return [self.validate(dict(zip(names, map(float, c), strict=True))) for c in combos]

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

    def to_unit(self, theta: Mapping[str, float]) -> np.ndarray:
        """Validated theta as a vector normalised to ``[-1, 1]``, in declared order."""
        return self.normalize(self.to_vector(theta))

    def from_unit(self, unit: Sequence[float] | np.ndarray) -> Theta:
        """A normalised vector back to a validated theta (inverse of :meth:`to_unit`)."""
        return self.to_dict(self.denormalize(unit))

    def sample(self, sampler: Sampler, rng: np.random.Generator, n: int = 1) -> list[Theta]:
        """Draw ``n`` thetas from ``sampler``."""
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 0):
            raise ValueError(f"sample: n={n!r} must be an integer >= 0")
        rows = sampler.sample(self, rng, n)
        return [self.to_dict(row) for row in rows]

    def range_error(
        self, theta: Mapping[str, float], truth: Mapping[str, float]
    ) -> dict[str, float]:
        """Absolute error of ``theta`` against ``truth``, as a fraction of each range."""
        a, b = self.validate(theta), self.validate(truth)
        return {p.name: abs(a[p.name] - b[p.name]) / p.span for p in self.params}


def parse_theta(text: str, characteristics: Characteristics) -> Theta:
    """Parse ``"name=value,name=value"`` into a validated theta; every parameter once.

    Raises:
        ValueError: Naming the bad fragment and the expected form, a name given twice, or
            the parameter whose value is not allowed.
    """
    if not isinstance(text, str):
        raise ValueError(f"theta text {text!r} must be a string like 'name=value,name=value'")
    form = f"expected name=value pairs separated by commas, names in {list(characteristics.names)}"
    theta: dict[str, float] = {}
    for fragment in filter(None, (f.strip() for f in text.split(","))):
        name, sep, value = (part.strip() for part in fragment.partition("="))
        if not sep or not name or not value:
            raise ValueError(f"bad theta fragment {fragment!r} in {text!r}; {form}")
        if name in theta:
            raise ValueError(
                f"parameter {name!r} is given twice in {text!r}; give each parameter once"
            )
        try:
            theta[name] = float(value)
        except ValueError:
            raise ValueError(
                f"bad theta fragment {fragment!r}: {value!r} is not a number; {form}"
            ) from None
    if not theta:
        raise ValueError(f"empty theta {text!r}; {form}")
    return characteristics.validate(theta, complete=True)
