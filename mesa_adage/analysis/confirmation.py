"""Does the answer hold on fresh episodes? Its objective where the search never looked.

The leader chose its answer on the run's own episode seeds, and every point the shortfall check
(:mod:`~mesa_adage.analysis.shortfall`) compares was scored on those same seeds. An answer
that only looks good on them (an optimum at a cliff, found on the right side on these
episodes and past it on others) passes that check. So at its end a run whose leader maximises
an objective over theta scores the answer once more, with the same final followers, on
:data:`EPISODES_PER_OWN` x as many episodes as its own, from a stream no search uses
(:data:`~mesa_adage.seeds.CONFIRM` of the run seed: the same seed gives the same result).

The answer holds when its fresh objective is no worse than its own objective minus a
tolerance: the larger of the comparison's noise (the uncertainty report's
``comparison_noise``, when the run has one) and :data:`RELATIVE` of the own objective's
magnitude. When it does not hold, the answer is kept, and the run says so: in
``summary.json`` (``answer_on_fresh_episodes``) and in a warning under the printed table.

The rule (10%, twice the run's own episodes) was chosen on the development seeds of the
entrance game (``benchmarks/confirmation_select.py``, ``benchmarks/RESULTS.md`` section 9.1):
over the answers, profiles and a ``tau`` grid of three calm and three stress runs, it gave the
fewest wrong verdicts, and flagged no point that held on 64 further episodes. Most of a fresh
objective's drop there was luck that every theta shares (episodes that happen to be calmer or
wilder): up to 8.3% on 32 episodes, 15.8% on 16. Crossing a cliff such as the entrance game's
volume floor costs far more. :func:`confirm_run_folder` applies the same check to a finished
run's folder.

One draw of fresh episodes cannot tell an answer at a cliff's edge from a safe one: on those
episodes it may land on the good side as it did on its own (RESULTS 9.1, seed 824710887:
-0.214 fresh against -0.212 own, then -0.667 on held-out episodes). So the check also
measures the answer's margin to the edge (:func:`resample_objectives`): it bootstraps the fresh
episodes (:data:`RESAMPLES` resamples with replacement, seeded from the run seed) and recomputes
the run's own objective on each, with no new simulation. The answer holds only if its fresh
objective is within the tolerance *and* at most :data:`MAX_FRAGILE_SHARE` of the resamples
fall more than the tolerance below its own objective (``fragile_share``). The threshold and
the number of resamples were chosen on the entrance game's development seeds
(``benchmarks/fragility_select.py``), after the held-out miss above had been seen. There no
threshold caught a point that did not hold without flagging one that did, so the chosen one
(50%) is loose: it flags an answer only when most resamples of its fresh episodes fall past
the tolerance.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mesa_adage.characteristics import Theta
from mesa_adage.inner.checks import NonFiniteError, format_theta
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.evaluator import Evaluator
from mesa_adage.outer.objectives import Objective
from mesa_adage.run.executors import Executor
from mesa_adage.run.experiment import Experiment
from mesa_adage.run.record import RunRecord
from mesa_adage.seeds import CONFIRM, EVAL, derive_seed, episode_seeds

__all__ = [
    "EPISODES_PER_OWN",
    "LOW_QUANTILE",
    "MAX_FRAGILE_SHARE",
    "RELATIVE",
    "RESAMPLES",
    "answer_held",
    "confirm_answer",
    "confirm_run_folder",
    "confirmation_warning",
    "fragile_share",
    "fresh_seeds",
    "resample_objectives",
    "resample_seed",
]

RELATIVE = 0.10
"""The share of the own objective's magnitude the fresh objective may fall short by."""
EPISODES_PER_OWN = 2
"""Fresh episodes, as a multiple of the run's own episode count."""
RESAMPLES = 1000
"""Bootstrap resamples of the fresh episodes (chosen in ``benchmarks/fragility_select.py``)."""
MAX_FRAGILE_SHARE = 0.5
"""The largest share of resamples whose objective may fall more than the tolerance below the
own objective for the answer to hold (chosen in ``benchmarks/fragility_select.py``: the
largest with no false alarm on the development points, where no smaller one caught more)."""
LOW_QUANTILE = 0.05
"""The level of the resampled objectives' quantile that is reported (``low_quantile``)."""
FOLDER_KEYS = ("model", "agent_type", "characteristics", "algo", "objective")
"""The settings of a run folder that the experiment given to :func:`confirm_run_folder` must
share."""


def _check_share(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name}={value!r} must be a number in [0, 1]")


def resample_seed(seed: int) -> int:
    """The bootstrap's seed in a run with seed ``seed``: member 1 of its ``CONFIRM`` stream."""
    return derive_seed(seed, 0, CONFIRM, 1)


def resample_objectives(
    objective: Objective, rollouts: Sequence[Rollout], seed: int, resamples: int = RESAMPLES
) -> np.ndarray:
    """The objective on ``resamples`` bootstrap resamples of the episodes, with replacement.

    Each resample draws ``len(rollouts)`` episodes from ``rollouts``; ``objective`` is the
    run's own, so any objective over episodes is resampled alike, without new simulation.

    Args:
        objective: Maps a candidate's rollouts to a float (the evaluator's).
        rollouts: The answer's fresh episodes.
        seed: The bootstrap's seed (:func:`resample_seed` of the run seed in a run).
        resamples: How many resamples.

    Returns:
        The ``resamples`` objectives, in draw order (the first ``k`` are those of ``k``
        resamples with the same seed).

    Raises:
        ValueError: If ``resamples`` is not a positive integer or ``rollouts`` is empty.
    """
    if not (isinstance(resamples, int) and not isinstance(resamples, bool) and resamples >= 1):
        raise ValueError(f"resamples={resamples!r} must be a positive integer")
    if not rollouts:
        raise ValueError("rollouts is empty; pass the answer's fresh episodes (at least one)")
    rng = np.random.default_rng(seed)
    n = len(rollouts)
    return np.array(
        [float(objective([rollouts[i] for i in rng.integers(0, n, n)])) for _ in range(resamples)]
    )


def fragile_share(resampled: Sequence[float], own_objective: float, tolerance: float) -> float:
    """The share of resampled objectives more than ``tolerance`` below ``own_objective``.

    Raises:
        ValueError: If ``resampled`` is empty or holds a NaN.
    """
    values = np.asarray(resampled, dtype=float)
    if values.size == 0 or np.isnan(values).any():
        raise ValueError(
            f"resampled holds {values.size} values, {int(np.isnan(values).sum())} of them NaN; "
            "it must hold at least one objective and no NaN"
        )
    return float(np.mean(values < own_objective - tolerance))


def answer_held(
    own_objective: float,
    fresh_objective: float,
    episodes: int,
    noise: float = 0.0,
    relative: float = RELATIVE,
    resampled: Sequence[float] | None = None,
    max_fragile_share: float = MAX_FRAGILE_SHARE,
) -> dict[str, Any]:
    """Whether the answer's objective on fresh episodes holds up to its own.

    It holds when the fresh objective is within the tolerance of the own objective and, with
    ``resampled``, at most ``max_fragile_share`` of the resampled objectives fall more than
    the tolerance below the own objective.

    Args:
        own_objective: The answer's objective on the run's own episodes (maximised; ``-inf``
            when every episode failed: then nothing is left to confirm and it holds).
        fresh_objective: Its objective on the fresh episodes (``-inf`` when they failed).
        episodes: How many fresh episodes were played.
        noise: The standard deviation of a comparison of two scores (the uncertainty report's
            ``comparison_noise``); 0 when the run has none.
        relative: The share of ``|own_objective|`` the fresh objective may fall short by.
        resampled: The objective on bootstrap resamples of the fresh episodes
            (:func:`resample_objectives`), or None (not measured: the fresh episodes failed).
        max_fragile_share: The largest ``fragile_share`` with which the answer holds.

    Returns:
        ``own_objective``, ``fresh_objective``, ``episodes``, ``tolerance`` (the larger of
        ``noise`` and ``relative * |own_objective|``), ``noise``, ``within_tolerance``,
        ``resamples``, ``fragile_share`` (:func:`fragile_share`; None without ``resampled``),
        ``low_quantile`` (the resampled objectives' :data:`LOW_QUANTILE` quantile, or None),
        ``max_fragile_share`` and ``held``, ready for JSON.

    Raises:
        ValueError: If an objective is NaN, ``episodes`` is not a positive integer,
            ``noise`` or ``relative`` is not a finite number >= 0, ``max_fragile_share`` is
            not in [0, 1], or ``resampled`` is empty or holds a NaN.
    """
    for name, value in (("own_objective", own_objective), ("fresh_objective", fresh_objective)):
        if math.isnan(value):
            raise ValueError(f"{name} is NaN; it must be a score (or -inf when episodes failed)")
    if not (isinstance(episodes, int) and not isinstance(episodes, bool) and episodes >= 1):
        raise ValueError(f"episodes={episodes!r} must be a positive integer")
    for name, value in (("noise", noise), ("relative", relative)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name}={value!r} must be a finite number >= 0")
    _check_share("max_fragile_share", max_fragile_share)
    finite = math.isfinite(own_objective)
    tolerance = max(noise, relative * abs(own_objective)) if finite else noise
    within = not finite or fresh_objective >= own_objective - tolerance
    share = low = None
    if resampled is not None:
        share = fragile_share(resampled, own_objective, tolerance) if finite else 0.0
        low = float(np.quantile(np.asarray(resampled, dtype=float), LOW_QUANTILE))
    steady = share is None or share <= max_fragile_share
    return {
        "own_objective": float(own_objective),
        "fresh_objective": float(fresh_objective),
        "episodes": episodes,
        "tolerance": float(tolerance),
        "noise": float(noise),
        "within_tolerance": bool(within),
        "resamples": None if resampled is None else len(resampled),
        "fragile_share": share,
        "low_quantile": low,
        "max_fragile_share": float(max_fragile_share),
        "held": bool(within and steady),
    }


def fresh_seeds(seed: int, episodes: int) -> list[int]:
    """The fresh episode seeds of a run with seed ``seed``: :data:`~mesa_adage.seeds.CONFIRM`."""
    return episode_seeds(seed, CONFIRM, episodes)


def confirm_answer(
    evaluator: Evaluator,
    answer: Theta,
    policies: Sequence[Policy],
    own_objective: float,
    seed: int,
    noise: float = 0.0,
    episodes: int | None = None,
    resamples: int = RESAMPLES,
    max_fragile_share: float = MAX_FRAGILE_SHARE,
) -> dict[str, Any]:
    """Score the answer on fresh episodes and say whether it held (:func:`answer_held`).

    The fresh episodes are resampled (:func:`resample_objectives`, seeded by
    :func:`resample_seed` of ``seed``) with the evaluator's objective.

    Args:
        evaluator: The run's evaluator (its objective, model, executor and episode count).
        answer: The run's answer.
        policies: The final followers.
        own_objective: The answer's objective on the evaluator's own episodes.
        seed: The run seed (the fresh episodes derive from it).
        noise: The comparison's noise, 0 when the run has none.
        episodes: Fresh episodes; None plays :data:`EPISODES_PER_OWN` x the evaluator's own count.
        resamples: Bootstrap resamples of the fresh episodes.
        max_fragile_share: The largest share of resamples that may fall past the tolerance.

    Returns:
        :func:`answer_held`'s finding; with ``error`` (and a fresh objective of ``-inf``)
        when a fresh episode was not finite and the run stops at such values.
    """
    n = EPISODES_PER_OWN * len(evaluator.seeds) if episodes is None else episodes
    if not (isinstance(n, int) and n >= len(policies)):
        raise ValueError(
            f"episodes={n!r} must be an integer >= the {len(policies)} followers (each plays)"
        )
    _check_share("max_fragile_share", max_fragile_share)
    try:
        values, groups = evaluator.score([answer], policies, seeds=fresh_seeds(seed, n))
    except NonFiniteError as err:  # the run is over: its answer did not hold, it is not lost
        found = answer_held(own_objective, -math.inf, n, noise, max_fragile_share=max_fragile_share)
        return {**found, "error": str(err)}
    resampled = (
        resample_objectives(evaluator.objective, groups[0], resample_seed(seed), resamples)
        if groups[0]
        else None  # skipped: scored -inf, nothing to resample
    )
    return answer_held(
        own_objective,
        values[0],
        n,
        noise,
        resampled=resampled,
        max_fragile_share=max_fragile_share,
    )


def confirm_run_folder(
    run_dir: str | Path,
    experiment: Experiment,
    *,
    episodes: int | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """The check a run makes at its end, applied to a finished run's folder.

    It reads the answer, its objective and the noise from ``summary.json``, the seed from
    ``config.json`` and the final followers from ``policy.zip`` (...), and computes what the
    run with that seed computes at its end.

    Args:
        run_dir: The folder of a finished ``adage run``.
        experiment: The experiment the run was made with (its model, objective, followers).
        episodes: Fresh episodes; None plays :data:`EPISODES_PER_OWN` x the run's own count.
        executor: Where the episodes run (serial by default).

    Raises:
        FileNotFoundError: If ``run_dir`` holds no finished run.
        ValueError: If ``experiment`` describes another run, or the run's answer is not a
            theta its leader maximised (a distribution's weights, a game's profile).
    """
    record = RunRecord(run_dir)
    summary_path = record.path / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(
            f"{record.path} holds no summary.json: pass the folder of a finished adage run"
        )
    advice = "pass the folder of a finished adage run"
    diff = record.compare(experiment.config(), FOLDER_KEYS, "run_dir", advice)
    if diff:
        raise ValueError(
            f"experiment {experiment.name!r} does not describe the run in {record.path}: "
            f"{list(diff)} differ ({'; '.join(diff.values())}); pass the run's own experiment"
        )
    summary: Mapping[str, Any] = json.loads(summary_path.read_text())
    if "game" in summary or set(summary["theta"]) != set(experiment.space.names):
        raise ValueError(
            f"the answer in {summary_path} is not a theta its leader maximised (a game's "
            "profile or a distribution's weights): nothing to confirm on fresh episodes"
        )
    seed = int(record.read_config("run_dir", advice)["seed"])
    data = record.observed()
    objective = experiment.objective
    evaluator = Evaluator(
        experiment.make_model,
        experiment.agent_type,
        objective(data) if data is not None else objective,
        episode_seeds(seed, EVAL, experiment.timescales.eval_rollouts),
        executor=executor,
        min_tasks=experiment.eval_tasks,
        on_nonfinite=experiment.on_nonfinite,
    )
    return confirm_answer(
        evaluator,
        experiment.space.validate(summary["theta"], complete=True),
        record.load_policies(experiment.algo),
        float(summary["objective"]),
        seed,
        noise=float(summary.get("uncertainty", {}).get("comparison_noise", 0.0)),
        episodes=episodes,
    )


def confirmation_warning(finding: Mapping[str, Any], answer: Mapping[str, float]) -> str:
    """The warning line under the printed table when the answer did not hold."""
    if finding.get("within_tolerance", False) and finding.get("fragile_share") is not None:
        return (
            f"warning: the answer {format_theta(answer)} did not hold on "
            f"{finding['episodes']} fresh episodes: in {finding['fragile_share']:.0%} of "
            f"{finding['resamples']} resamples of them its objective fell more than the "
            f"tolerance ({finding['tolerance']:.3g}) below its own {finding['own_objective']:.4g} "
            f"(at most {finding['max_fragile_share']:.0%} allowed; {LOW_QUANTILE:.0%} quantile "
            f"{finding['low_quantile']:.4g}, fresh {finding['fresh_objective']:.4g}): it sits "
            "at an edge; the answer is kept: score it on more episodes before relying on it"
        )
    return (
        f"warning: the answer {format_theta(answer)} did not hold on {finding['episodes']} fresh "
        f"episodes: its objective was {finding['fresh_objective']:.4g} there against "
        f"{finding['own_objective']:.4g} on the run's own, short by more than the tolerance "
        f"({finding['tolerance']:.3g}); the answer is kept: it may sit at an edge the run's "
        "episodes happen to favour, so score it on more episodes before relying on it"
    )
