"""The posterior's prior: uniform over the box, or a distribution per parameter the user gives.

A given distribution is truncated to the parameter's range, so every draw is a theta the
followers were trained on: ``uniform(a, b)`` with ``a < b`` inside the range, ``normal(mean,
sd)`` with its mean inside the range, or ``beta(a, b)`` stretched over the range. Parameters
with none stay uniform over their range.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mesa_adage.characteristics import Characteristics

KINDS = ("uniform", "normal", "beta")
"""The distributions a prior may give a parameter."""
_FORM = re.compile(r"^\s*(\w+)\s*=\s*(\w+)\s*\(\s*([^,()]+)\s*,\s*([^,()]+)\s*\)\s*$")


@dataclass(frozen=True)
class Marginal:
    """One parameter's prior: ``kind(a, b)``."""

    name: str
    kind: str
    a: float
    b: float

    def __str__(self) -> str:
        return f"{self.name}={self.kind}({self.a:g}, {self.b:g})"


@dataclass(frozen=True)
class Prior:
    """The prior over theta: the given marginals, uniform over the range for the rest.

    Attributes:
        marginals: The parameters given a distribution, in the order given.
    """

    marginals: tuple[Marginal, ...] = ()

    @classmethod
    def parse(cls, specs: Sequence[str], space: Characteristics) -> Prior:
        """The prior ``--prior NAME=KIND(A,B)`` options describe, checked against ``space``.

        Raises:
            ValueError: Naming the option and what is allowed: a malformed option, an unknown
                parameter or distribution, a parameter given twice, or a distribution that
                does not fit inside the parameter's range.
        """
        found: list[Marginal] = []
        for spec in specs:
            match = _FORM.match(spec)
            if match is None:
                raise ValueError(
                    f"--prior {spec!r} is not NAME=KIND(A,B), for example lam=normal(0.6,0.1); "
                    f"KIND is one of {list(KINDS)}"
                )
            name, kind, *numbers = match.groups()
            try:
                a, b = (float(n) for n in numbers)
            except ValueError:
                raise ValueError(f"--prior {spec!r}: {numbers} are not two numbers") from None
            if name not in space.names:
                raise ValueError(
                    f"--prior {spec!r}: {name!r} is not a characteristic; allowed are "
                    f"{list(space.names)}"
                )
            if kind not in KINDS:
                allowed = f"allowed are {list(KINDS)}"
                raise ValueError(f"--prior {spec!r}: {kind!r} is unknown; {allowed}")
            if any(m.name == name for m in found):
                raise ValueError(f"--prior {spec!r}: {name} is given a prior twice")
            low, high = space[name].low, space[name].high
            problem = _misfit(kind, a, b, low, high)
            if problem:
                raise ValueError(f"--prior {spec!r}: {problem}")
            found.append(Marginal(name, kind, a, b))
        return cls(tuple(found))

    def draw(self, space: Characteristics, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` thetas ``(n, parameters)``, each parameter drawn independently."""
        given = {m.name: m for m in self.marginals}
        u = rng.random((n, len(space)))
        columns = []
        for j, param in enumerate(space.params):
            low, high = param.low, param.high
            marginal = given.get(param.name)
            if marginal is None:
                columns.append(low + (high - low) * u[:, j])
            else:
                columns.append(_quantile(marginal, u[:, j], low, high))
        return np.column_stack(columns)

    def describe(self, space: Characteristics) -> dict[str, str]:
        """Each parameter's prior, as text (JSON-ready)."""
        given = {m.name: str(m).split("=", 1)[1] for m in self.marginals}
        return {p.name: given.get(p.name, f"uniform({p.low:g}, {p.high:g})") for p in space.params}


def _misfit(kind: str, a: float, b: float, low: float, high: float) -> str:
    """Why ``kind(a, b)`` does not fit the range ``[low, high]``, or ``""``."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return "the numbers must be finite"
    if kind == "uniform" and not low <= a < b <= high:
        return f"uniform(a, b) needs {low:g} <= a < b <= {high:g}, the parameter's range"
    if kind == "normal" and not (low <= a <= high and b > 0):
        return (
            f"normal(mean, sd) needs its mean inside the range [{low:g}, {high:g}] and sd > 0 "
            "(it is truncated to the range)"
        )
    if kind == "beta" and not (a > 0 and b > 0):
        return "beta(a, b) needs a > 0 and b > 0 (it is stretched over the range)"
    return ""


def _quantile(m: Marginal, u: np.ndarray, low: float, high: float) -> np.ndarray:
    """``m``'s quantiles at ``u`` (inverse transform sampling), truncated to the range."""
    from scipy import stats

    if m.kind == "uniform":
        return m.a + (m.b - m.a) * u
    if m.kind == "beta":
        return low + (high - low) * stats.beta.ppf(u, m.a, m.b)
    lo, hi = stats.norm.cdf([(low - m.a) / m.b, (high - m.a) / m.b])
    return np.clip(m.a + m.b * stats.norm.ppf(lo + (hi - lo) * u), low, high)
