"""A distribution leader: its decision is the followers' training distribution (robust learning).

The leader of robust learning does not pick one theta. It picks *how often* the followers
meet each theta while they train, so that one conditional policy does well across the whole
range. Its decision is a vector of weights ``w`` over a support of thetas (a grid); each leader
phase scores the frozen followers at every support point and takes one exponentiated-gradient
step, ``w <- softmax(log w + alpha_L g)``, on one of two objectives:

- ``"coverage"``: the entropy of ``w``, ``H(w) = -sum_k w_k log w_k``, as in the ADAGE paper
  (arXiv 2501.09429); its gradient in ``log w`` is ``g_k = -w_k (log w_k + H)``. Reported as
  ``H / log K`` (1 is uniform).
- ``"worst_case"``: the margin over a reference, ``m_k = v_k - ref_k`` (``v_k``: the followers'
  score at point ``k``; ``ref_k``: what a specialist or a good heuristic achieves there). The
  step moves weight toward the points that lag most: ``g = -(m - mean m) / max |m - mean m|``.
  Reported as ``min_k m_k``, the worst point's margin.

A share ``floor`` of the mass is always spread evenly, so no part of the range is abandoned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.outer.leaders.base import Leader
from mesa_adage.samplers import Weighted, check_weights

OBJECTIVES = ("coverage", "worst_case")


class DistributionLeader(Leader):
    """Shapes the distribution of theta the followers train under: weights over a grid.

    It scores every support point each phase (``Timescales.candidates`` does not apply), its
    answer is the final weights, and :meth:`training_sampler` hands the scheduler the
    distribution of the next follower phase.

    Args:
        space: The model's characteristics.
        seed: Seed of the leader's random generator.
        grid: The support: values per parameter (their product; parameters left out stay at
            their defaults), or an integer: that many evenly spaced values of every parameter.
        objective: ``"coverage"`` or ``"worst_case"``.
        reference: ``"worst_case"`` only: the reference score at each support point, in
            order, or a function of no arguments returning them (called once, at the first
            phase), e.g. specialists' returns or a heuristic's.
        alpha_L: Step size of the update.
        floor: Share of the mass spread evenly over the support, in [0, 1).
        weights: Initial weights, summing to one (uniform by default).

    Raises:
        ValueError: On an unknown objective, a missing or mis-sized reference, a grid value
            outside the bounds, or weights that are not a distribution.
    """

    name = "distribution"

    def __init__(
        self,
        space: Characteristics,
        seed: int = 0,
        *,
        grid: Mapping[str, Sequence[float]] | int = 5,
        objective: str = "coverage",
        reference: Sequence[float] | Callable[[], Sequence[float]] | None = None,
        alpha_L: float = 1.0,
        floor: float = 0.1,
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(space, seed)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective={objective!r} is unknown; allowed are {OBJECTIVES}")
        if objective == "worst_case" and reference is None:
            raise ValueError(
                "objective='worst_case' needs reference=: the score to beat at each grid point "
                "(a list, or a function returning one)"
            )
        if not (isinstance(alpha_L, int | float) and np.isfinite(alpha_L) and alpha_L > 0):
            raise ValueError(f"alpha_L={alpha_L!r} must be a positive number")
        if not 0.0 <= floor < 1.0:
            raise ValueError(f"floor={floor!r} must be in [0, 1)")
        self.points = support(space, grid)
        self.labels = [_label(space, p) for p in self.points]
        k = len(self.points)
        start = np.full(k, 1.0 / k) if weights is None else check_weights(weights, "weights")
        if len(start) != k:
            raise ValueError(f"weights has {len(start)} entries for {k} grid points")
        self.objective = objective
        self.alpha_L = float(alpha_L)
        self.floor = float(floor)
        self._reference_spec = reference
        self.reference: list[float] | None = None
        self.logits = np.log(np.maximum(start, 1e-12))
        self.values: list[float] | None = None

    # ------------------------------------------------------------------ the distribution

    @property
    def weights(self) -> np.ndarray:
        """The current training distribution over :attr:`points` (with the floor)."""
        z = np.exp(self.logits - self.logits.max())
        return (1.0 - self.floor) * z / z.sum() + self.floor / len(z)

    @property
    def incumbent(self) -> Theta:
        """The current weights, one entry ``w[<point>]`` per support point."""
        return {f"w[{label}]": float(w) for label, w in zip(self.labels, self.weights, strict=True)}

    def training_sampler(self) -> Weighted:
        return Weighted(tuple(self.points), tuple(self.weights.tolist()))

    def coverage(self) -> float:
        """Entropy of the weights over its maximum, ``H(w) / log K`` (1: uniform)."""
        w = self.weights
        return float(-(w * np.log(w, where=w > 0, out=np.zeros_like(w))).sum() / np.log(len(w)))

    def score(self, values: Sequence[float]) -> float:
        """The leader's objective given the followers' score at each support point."""
        if self.objective == "coverage":
            return self.coverage()
        return float(np.min(self._margins(values)))

    def update(self, values: Sequence[float]) -> None:
        """One exponentiated-gradient step on the objective."""
        if self.objective == "coverage":
            w = np.exp(self.logits - self.logits.max())
            w /= w.sum()
            entropy = -(w * np.log(w)).sum()
            gradient = -w * (np.log(w) + entropy)
        else:
            margins = self._margins(values)
            centred = margins - margins.mean()
            gradient = -centred / max(float(np.abs(centred).max()), 1e-12)
        self.logits = self.logits + self.alpha_L * gradient

    def _margins(self, values: Sequence[float]) -> np.ndarray:
        assert self.reference is not None  # set at the first phase
        return np.asarray(values, dtype=float) - np.asarray(self.reference)

    def _ensure_reference(self) -> None:
        if self.objective != "worst_case" or self.reference is not None:
            return
        spec = self._reference_spec
        values = list(spec() if callable(spec) else spec)  # type: ignore[arg-type]
        if len(values) != len(self.points) or not np.isfinite(values).all():
            raise ValueError(
                f"reference gave {values}; it needs {len(self.points)} finite values, one per "
                f"grid point {self.labels}"
            )
        self.reference = [float(v) for v in values]

    # ------------------------------------------------------------------ the leader protocol

    def ask(self, n: int) -> list[Theta]:
        """Every support point (``n`` does not apply)."""
        self._ensure_reference()
        return [dict(p) for p in self.points]

    def tell(self, thetas: list[Theta], values: list[float]) -> None:
        """Record the objective at the support's scores, then update the weights."""
        self._check_support(thetas)
        self.values = self._scores(values)
        self.history.append((self.incumbent, self.score(self.values)))
        self.update(self.values)

    def finalists(self, k: int) -> list[Theta]:
        """Every support point: the answer is scored across the whole support."""
        return self.ask(k)

    def conclude(
        self, thetas: list[Theta], values: list[float]
    ) -> tuple[Theta, float, list[Theta]]:
        """The final weights, scored with the final followers at every support point."""
        self._check_support(thetas)
        self.values = self._scores(values)
        return self.incumbent, self.score(self.values), thetas

    def _check_support(self, thetas: list[Theta]) -> None:
        if [dict(t) for t in thetas] != self.points:
            raise ValueError(
                f"the distribution leader is told {len(thetas)} thetas; it needs the scores at "
                f"its {len(self.points)} support points {self.labels}, in the order ask gave them"
            )

    def _scores(self, values: Sequence[float]) -> list[float]:
        """The support points' scores; each one counts, so none may be skipped."""
        failed = [label for label, v in zip(self.labels, values, strict=True) if v == -np.inf]
        if failed:
            raise ValueError(
                f"the distribution leader needs a score at every support point, but the "
                f"candidates at {failed} were skipped for a non-finite value; run with "
                "Experiment(on_nonfinite='raise') to see where it arose"
            )
        return [float(v) for v in values]

    def summary(self) -> dict[str, Any]:
        """The support, the weights, the final scores, the reference and the coverage."""
        out: dict[str, Any] = {
            "support": self.points,
            "weights": self.weights.tolist(),
            "scores": self.values,
            "coverage": self.coverage(),
        }
        if self.reference is not None:
            out["reference"] = self.reference
            if self.values is not None:
                out["worst_point"] = self.points[int(np.argmin(self._margins(self.values)))]
        return out

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "logits": self.logits.tolist(),
            "reference": self.reference,
            "values": self.values,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.logits = np.asarray(state["logits"], dtype=float)
        self.reference = state["reference"]
        self.values = state["values"]


def support(space: Characteristics, grid: Mapping[str, Sequence[float]] | int) -> list[Theta]:
    """The support points of ``grid`` in ``space``: a product of values per parameter.

    Raises:
        ValueError: On an unknown name, a value outside its bounds, or fewer than two points.
    """
    if isinstance(grid, int) and not isinstance(grid, bool):
        if grid < 2:
            raise ValueError(f"grid={grid} must give at least 2 values per parameter")
        grid = {p.name: np.linspace(p.low, p.high, grid).tolist() for p in space.params}
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid={grid!r} must be values per parameter or an integer >= 2")
    points = space.combinations(grid)
    if len(points) < 2:
        raise ValueError(f"grid={grid!r} has {len(points)} point; a distribution needs two")
    return points


def _label(space: Characteristics, point: Theta) -> str:
    return ",".join(f"{p.name}={point[p.name]:.4g}" for p in space.params)
