"""Did the search fall short? The answer against every point the run scored beside it.

A run's answer is the leader's choice, re-ranked with the final followers. At its end the run
scores more points with those same followers on the same episode seeds: the re-rank's other
finalists, the identification profile and the uncertainty report's candidates. When one of
them beats the answer by more than the comparison's noise, the leader's search stopped short
of it. The answer is kept (it is what the leader chose, and what the run records), and the run
says so: in ``summary.json`` and in a warning under the printed table.

The candidates of the epochs are not compared: earlier followers scored them, and their best
are re-scored in the re-rank anyway.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from mesa_adage.characteristics import Theta
from mesa_adage.inner.checks import format_theta

__all__ = ["ROUNDING", "Evaluated", "better_point", "shortfall_warning"]

ROUNDING = 1e-9
"""Without noise, a point must beat the answer by more than this share of its magnitude."""

Evaluated = tuple[Theta, float, str]
"""A point scored with the final followers: its theta, its objective, and where it came from
(``"re-rank"``, ``"profile"``, ``"uncertainty report"``)."""


def better_point(
    answer_objective: float, evaluated: Iterable[Evaluated], noise: float = 0.0
) -> dict[str, Any] | None:
    """The best evaluated point, if it beats the answer by more than ``noise``.

    Args:
        answer_objective: The answer's objective under the final followers (maximised;
            ``-inf`` when every episode failed).
        evaluated: Points scored with the same followers and seeds as the answer. Failed
            (``-inf``) and other non-finite scores never count.
        noise: The standard deviation of a comparison of two candidates' scores (the
            uncertainty report's ``comparison_noise``); 0 when the run has none, so any
            strictly better score counts (beyond rounding, :data:`ROUNDING`).

    Returns:
        None when no point is better, else ``source``, ``better_theta``,
        ``better_objective``, ``answer_objective`` and ``noise``, ready for JSON.

    Raises:
        ValueError: If ``answer_objective`` is NaN or ``noise`` is not a finite number >= 0.
    """
    if math.isnan(answer_objective):
        raise ValueError("answer_objective is NaN; the answer must have a score (or -inf)")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise!r} must be a finite number >= 0")
    exact = noise == 0 and math.isfinite(answer_objective)
    rounding = ROUNDING * max(1.0, abs(answer_objective)) if exact else 0.0
    bar = answer_objective + max(noise, rounding)
    best: Evaluated | None = None
    for theta, value, source in evaluated:
        if math.isfinite(value) and value > bar and (best is None or value > best[1]):
            best = (theta, value, source)
    if best is None:
        return None
    theta, value, source = best
    return {
        "source": source,
        "better_theta": {name: float(v) for name, v in theta.items()},
        "better_objective": float(value),
        "answer_objective": float(answer_objective),
        "noise": float(noise),
    }


def shortfall_warning(finding: Mapping[str, Any]) -> str:
    """The warning line under the printed table for a :func:`better_point` finding."""
    noise = finding["noise"]
    beyond = f"by more than its noise ({noise:.3g})" if noise > 0 else "(no noise estimate)"
    return (
        f"warning: the search fell short: the {finding['source']} scored "
        f"{format_theta(finding['better_theta'])} at {finding['better_objective']:.4g}, better "
        f"than the answer's {finding['answer_objective']:.4g} {beyond}; the leader's answer is "
        "kept: give the leader more candidates or epochs, or look at that point"
    )
