"""Reporting: what a finished run returns, and what it writes besides its checkpoint.

The summary (``summary.json``), the identification profile (``profile.csv``), the plots and the
experiment's own report hook. Plotting is imported only when a run folder is written, so the
engine never loads matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from mesa_adage.characteristics import Theta
from mesa_adage.inner.policies import SB3Policy
from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.statistics import episodes
from mesa_adage.run.record import RunRecord

if TYPE_CHECKING:
    from mesa_adage.run.experiment import Experiment


@dataclass(frozen=True)
class RunResult:
    """What a finished run returns.

    Attributes:
        theta: The leader's answer, re-ranked with the final policy.
        objective: Its objective value under the final policy.
        history: One row per epoch (also ``history.csv``).
        policies: The final follower policies the leader evaluates (the averaged weights
            when ``Timescales.follower_average`` > 0), one per follower, ready for batched
            inference.
        rollouts: Episodes at ``theta`` with the final policies (the evaluation seeds).
        data: The observed data, if the experiment has any.
        uncertainty: The uncertainty report of a calibration (intervals, identification,
            goodness of fit; see :func:`mesa_adage.analysis.uncertainty.assess`), if made.
        search_fell_short: The best point the run scored with the final followers that beats
            ``theta`` by more than the noise (:func:`mesa_adage.analysis.shortfall.better_point`:
            its source, theta and objective), or None. ``theta`` stays the leader's answer.
        answer_on_fresh_episodes: ``theta``'s objective on its own and on fresh episodes, and
            whether it held (:func:`mesa_adage.analysis.confirmation.answer_held`); None when
            the leader does not maximise over theta (a distribution, a game).
        posterior: The amortised posterior's report (posterior means, credible intervals;
            see :mod:`mesa_adage.analysis.posterior`), if one was asked for.
        game: How a game among leaders ended (:meth:`mesa_adage.outer.leaders.Game.summary`):
            its status, profile, payoffs and each player's best gain by its own move.
    """

    theta: Theta
    objective: float
    history: pd.DataFrame
    policies: tuple[SB3Policy, ...]
    rollouts: list[Rollout]
    data: pd.DataFrame | None
    uncertainty: dict[str, Any] | None = None
    search_fell_short: dict[str, Any] | None = None
    answer_on_fresh_episodes: dict[str, Any] | None = None
    posterior: dict[str, Any] | None = None
    game: dict[str, Any] | None = None

    @property
    def policy(self) -> SB3Policy:
        """The first follower's policy (the only one unless ``Timescales.followers`` > 1)."""
        return self.policies[0]


def tracked(rollouts: Sequence[Rollout], columns: Sequence[str]) -> dict[str, float]:
    """Episode means of the tracked DataCollector ``columns`` (NaN without rollouts: skipped)."""
    if not rollouts:
        return dict.fromkeys(columns, math.nan)
    return {c: float(episodes(rollouts, c).mean()) for c in columns}


def write_report(
    record: RunRecord,
    experiment: Experiment,
    result: RunResult,
    summary: dict[str, Any],
    profile: pd.DataFrame | None,
) -> None:
    """Write ``summary.json``, ``profile.csv``, the plots, then call the experiment's report.

    Args:
        record: The run folder.
        experiment: The experiment that ran.
        result: Its result.
        summary: The run's facts (answer, objective, budget); the target's error, the
            tracked columns and the profile's best points are added here.
        profile: The objective along each parameter through the answer, if computed.
    """
    from mesa_adage.analysis import plots

    run_dir, space = record.path, experiment.space
    summary = {**summary, "tracked": tracked(result.rollouts, experiment.track)}
    target = experiment.target_theta
    if target is not None:
        summary["target_theta"] = target
        if set(result.theta) == set(space.names):  # not a distribution leader's weights
            summary["error_fraction_of_range"] = space.range_error(result.theta, target)
    if profile is not None:
        profile.to_csv(run_dir / "profile.csv", index=False)
        tops = profile.loc[profile.groupby("parameter", sort=False)["objective"].idxmax()]
        summary["profile_best"] = dict(zip(tops["parameter"], tops["value"], strict=True))
        intervals = (result.uncertainty or {}).get("intervals")
        plots.plot_profile(profile, result.theta, target, run_dir, intervals)
    if result.uncertainty is not None:
        summary["uncertainty"] = result.uncertainty
        if target is not None:
            summary["uncertainty"]["covers_target"] = {
                name: bool(low <= target[name] <= high)
                for name, (low, high) in result.uncertainty["intervals"].items()
            }
    record.write_json("summary.json", summary)
    plots.plot_run(run_dir, space, result, experiment)
    if result.game is not None:
        plots.plot_game(result.game, run_dir / "game.png")
    if experiment.report is not None:
        experiment.report(run_dir, result)
