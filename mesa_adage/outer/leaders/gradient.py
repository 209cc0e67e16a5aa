"""A zeroth-order gradient leader: simultaneous-perturbation gradient ascent (SPSA)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.outer.leaders.base import Leader


class SPSALeader(Leader):
    """SPSA (Spall 1992) in normalised coordinates, with an explicit step size ``alpha_L``.

    Each :meth:`ask` returns the current iterate followed by ``(n - 1) // 2`` antithetic pairs
    ``u +/- c_k * delta`` with Rademacher ``delta``. :meth:`tell` averages the pairs' gradient
    estimates and takes a normalised ascent step of length ``alpha_L / (k + 1) ** 0.602``,
    projected onto the box ``[-1, 1]``. A pair with a failed (``-inf``) member is left out;
    with none left, the iterate stays.

    Args:
        space: The characteristics searched.
        seed: Seed of the perturbations.
        alpha_L: Step size in normalised units (2.0 spans a parameter's whole range).
        c: Perturbation size in normalised units.
        start: Initial theta; the defaults if None.
    """

    name = "spsa"

    def __init__(
        self,
        space: Characteristics,
        seed: int = 0,
        alpha_L: float = 0.3,
        c: float = 0.1,
        start: Theta | None = None,
    ) -> None:
        super().__init__(space, seed)
        if not alpha_L > 0 or not c > 0:
            raise ValueError(f"SPSALeader: alpha_L={alpha_L} and c={c} must both be positive")
        self.alpha_L = alpha_L
        self.c = c
        self.u = space.to_unit(start or space.defaults)
        self.k = 0
        self._deltas: np.ndarray | None = None

    @property
    def iterate(self) -> Theta:
        """The current point of the ascent."""
        return self.space.from_unit(self.u)

    @property
    def incumbent(self) -> Theta:
        return self.iterate

    def ask(self, n: int) -> list[Theta]:
        pairs = max(1, (n - 1) // 2)
        self._deltas = self.rng.choice([-1.0, 1.0], size=(pairs, len(self.space)))
        c_k = self.c / (self.k + 1) ** 0.101
        points = [self.u]
        for d in self._deltas:
            points += [np.clip(self.u + c_k * d, -1, 1), np.clip(self.u - c_k * d, -1, 1)]
        return [self.space.from_unit(p) for p in points]

    def tell(self, thetas: list[Theta], values: list[float]) -> None:
        super().tell(thetas, values)
        if self._deltas is None or len(values) != 1 + 2 * len(self._deltas):
            raise RuntimeError("SPSALeader.tell must follow its own ask, with every value")
        units = [self.space.to_unit(t) for t in thetas]
        grads = []
        for i, _ in enumerate(self._deltas):
            if not np.isfinite([values[1 + 2 * i], values[2 + 2 * i]]).all():
                continue  # a skipped candidate (-inf): its pair tells nothing about the slope
            up, down = units[1 + 2 * i], units[2 + 2 * i]
            step = up - down
            safe = np.where(np.abs(step) > 1e-12, step, np.inf)
            grads.append((values[1 + 2 * i] - values[2 + 2 * i]) / safe)
        g = np.mean(grads, axis=0) if grads else np.zeros(len(self.space))
        norm = np.linalg.norm(g)
        if norm > 0:
            self.u = np.clip(self.u + self.alpha_L / (self.k + 1) ** 0.602 * g / norm, -1, 1)
        self.k += 1
        self._deltas = None

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "u": self.u.tolist(), "k": self.k}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.u = np.asarray(state["u"], dtype=float)
        self.k = int(state["k"])
