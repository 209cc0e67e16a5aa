"""Numerical guards: a NaN or an infinity is stopped where it first appears, and named.

Observations, ``theta_hat``, actions and rewards pass :func:`require_finite` every step (one
``isfinite`` over the batch; the offender is looked up only on failure), and the evaluator
checks each candidate's objective. The error names the agent, the model step and theta.
``Experiment.on_nonfinite`` chooses what the leader's evaluation does with it: stop the run
(``"raise"``) or score the candidate as failed (``"skip"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mesa_adage.inner.model import AdaptiveModel

ON_NONFINITE = ("raise", "skip")
"""What the leader's evaluation does with a non-finite value: stop, or fail the candidate."""


class NonFiniteError(ValueError):
    """A NaN or an infinity where a finite number is required.

    Attributes:
        theta: The theta of the episode or candidate it arose in.
    """

    def __init__(self, message: str, theta: Mapping[str, float]) -> None:
        super().__init__(message)
        self.theta = dict(theta)

    def __reduce__(self) -> tuple[Any, ...]:  # executors ship errors between processes
        return type(self), (str(self), self.theta)


def format_theta(theta: Mapping[str, float]) -> str:
    """``theta`` as ``name=value, ...`` for error messages."""
    return ", ".join(f"{name}={value:.6g}" for name, value in theta.items())


def require_finite(
    values: np.ndarray,
    source: str,
    what: str,
    model: AdaptiveModel,
    agents: Sequence[Any],
) -> None:
    """Raise :class:`NonFiniteError` unless every entry of ``values`` is finite.

    Args:
        values: One row (or one number) per agent, aligned with ``agents``.
        source: What produced the values, e.g. ``"Producer.reward()"``.
        what: What the values are, e.g. ``"rewards"``.
        model: The model they belong to (its step and theta go into the message).
        agents: The agents the rows belong to.
    """
    finite = np.isfinite(values)
    if finite.all():
        return
    row = int(np.flatnonzero(~finite.reshape(len(values), -1).all(axis=1))[0])
    agent = agents[row]
    shown = values[row].tolist() if np.ndim(values) > 1 else values[row]
    raise NonFiniteError(
        f"{source} returned {shown}, a non-finite value, for {type(agent).__name__} agent "
        f"{agent.unique_id} at step {model.steps} (theta: {format_theta(model.theta)}); "
        f"{what} must be finite",
        model.theta,
    )
