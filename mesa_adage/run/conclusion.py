"""The end of a run: the answer re-scored with the final followers, and the run's report.

After the answer come the profile, the uncertainty report, the summary and the plots. The
leader is still driven by ask/tell here: it names its finalists, the evaluator scores
them, and the leader concludes from their values. Every point scored with the final
followers is then held against the answer (:mod:`~mesa_adage.analysis.shortfall`): one that
beats it by more than the noise is named, never silently swapped in. Last, the answer is
scored on fresh episodes (:mod:`~mesa_adage.analysis.confirmation`): an objective that does not
hold there is named too, and the answer kept.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from mesa_adage.analysis.confirmation import confirm_answer
from mesa_adage.analysis.posterior import FOLDER, posterior_for_run
from mesa_adage.analysis.reporting import RunResult, write_report
from mesa_adage.analysis.shortfall import Evaluated, better_point
from mesa_adage.analysis.uncertainty import assess
from mesa_adage.characteristics import Theta
from mesa_adage.inner.policies import SB3Policy
from mesa_adage.inner.rollout import Rollout
from mesa_adage.outer.statistics import EPISODE_COLUMNS, episodes
from mesa_adage.run.assembly import Parts
from mesa_adage.seeds import BOOTSTRAP, FIT, derive_seed, episode_seeds

UNCERTAINTY_CANDIDATES = 16
"""The leader's best candidates the uncertainty report chooses among (besides the profile)."""

Scored = list[tuple[Theta, float, list[Rollout]]]
"""Candidates with their objective values and episodes."""


def conclude(parts: Parts, epochs: int, seconds: float) -> RunResult:
    """Pick the answer, and write the run's report when it has a folder.

    Args:
        parts: The run.
        epochs: The epochs the run recorded.
        seconds: The wall time of this session so far.
    """
    leader, evaluator, record = parts.leader, parts.evaluator, parts.record
    experiment = parts.experiment
    policies = parts.followers.policies()
    finalists = leader.finalists(experiment.timescales.final_top_k)
    values, groups = evaluator.score(finalists, policies)
    answer, value, shown = leader.conclude(finalists, values)
    scored: Scored = list(zip(finalists, values, groups, strict=True))
    rollouts = [r for theta, _, group in scored if theta in shown for r in group]
    history = record.table("history.csv") if record else pd.DataFrame()
    game = leader.summary().get("game")
    result = RunResult(answer, value, history, tuple(policies), rollouts, parts.data, game=game)
    # A distribution leader's answer is weights, not a theta: no point is comparable to it.
    in_space = set(answer) == set(experiment.space.names)
    # Nor to a game's, an equilibrium: a point better for the objective is no better answer.
    compared = in_space and leader.maximises
    evaluated: list[Evaluated] = [(t, v, "re-rank") for t, v, _ in scored] if in_space else []
    if record is None:
        fresh = confirm_answer(evaluator, answer, policies, value, parts.seed) if compared else None
        fell_short = better_point(value, evaluated if compared else [])
        return replace(result, search_fell_short=fell_short, answer_on_fresh_episodes=fresh)
    parts.followers.save_answer(record.path)
    profile, profiled = None, []
    if experiment.profile_points and in_space:
        profile, profiled = evaluator.profile(
            experiment.space, answer, policies, experiment.profile_points
        )
        rows = profile.itertuples(index=False)
        evaluated += [({**answer, name: v}, score, "profile") for name, v, score in rows]
    if experiment.bootstrap and parts.data is not None and in_space:
        if profile is not None:
            rows = profile[["parameter", "value"]].itertuples(index=False)
            scored += [
                ({**answer, name: v}, math.nan, group)
                for (name, v), group in zip(rows, profiled, strict=True)
            ]
        report, rescored = _uncertainty(parts, answer, policies, scored, profile)
        evaluated += [(t, v, "uncertainty report") for t, v in rescored]
        result = replace(result, uncertainty=report)
    noise = (result.uncertainty or {}).get("comparison_noise", 0.0)
    evaluated = evaluated if compared else []
    result = replace(result, search_fell_short=better_point(value, evaluated, noise))
    if compared:
        fresh = confirm_answer(evaluator, answer, policies, value, parts.seed, noise)
        result = replace(result, answer_on_fresh_episodes=fresh)
    if parts.posterior is not None and parts.data is not None:
        result = replace(result, posterior=_posterior(parts, policies))
    summary = {
        "theta": result.theta,
        "objective": result.objective,
        "leader": leader.name,
        **leader.summary(),
        "seed": parts.seed,
        "epochs": epochs,
        "env_steps": parts.followers.env_steps,
        "candidates_evaluated": len(leader.history),
        **({"search_fell_short": result.search_fell_short} if compared else {}),
        **({"answer_on_fresh_episodes": result.answer_on_fresh_episodes} if compared else {}),
        **_skipped(parts),
        **({"posterior": result.posterior} if result.posterior is not None else {}),
        "wall_seconds_this_session": round(seconds, 1),
    }
    write_report(record, experiment, result, summary, profile)
    return result


def _uncertainty(
    parts: Parts,
    answer: Theta,
    policies: list[SB3Policy],
    scored: Scored,
    profile: pd.DataFrame | None,
) -> tuple[dict, list[tuple[Theta, float]]]:
    """The uncertainty report over the best candidates and the profile's points.

    The leader's best :data:`UNCERTAINTY_CANDIDATES` candidates are scored again (those the
    final re-ranking scored are reused), and fresh episodes at the answer are played for the
    goodness of fit.

    Returns:
        The report, and the candidates scored here for it with their objective values.
    """
    data, evaluator, seed = parts.data, parts.evaluator, parts.seed
    assert data is not None
    names = parts.experiment.space.names
    key = lambda theta: tuple(theta[n] for n in names)  # noqa: E731
    known = {key(t): group for t, _, group in scored if group}
    fresh = [t for t in parts.leader.finalists(UNCERTAINTY_CANDIDATES) if key(t) not in known]
    values, groups = evaluator.score(fresh, policies)
    known.update((key(t), g) for t, g in zip(fresh, groups, strict=True) if g)
    observed = episodes(data, next(c for c in data if c not in EPISODE_COLUMNS))
    fit_seeds = episode_seeds(seed, FIT, max(len(observed), len(policies)))
    played = evaluator.rollouts([answer], policies, seeds=fit_seeds)[0]
    pool = [r for r in played if not isinstance(r, str)]  # when skipping: the finite ones
    report = assess(
        parts.experiment.space,
        parts.experiment.objective,
        data,
        [dict(zip(names, k, strict=True)) for k in known],
        list(known.values()),
        answer,
        profile,
        pool,
        len(policies),
        replicates=parts.experiment.bootstrap,
        seed=derive_seed(seed, 0, BOOTSTRAP),
    )
    return report, list(zip(fresh, values, strict=True))


def _posterior(parts: Parts, policies: list[SB3Policy]) -> dict:
    """The run's amortised posterior, written to its ``posterior/`` folder; its report."""
    assert parts.posterior is not None and parts.data is not None and parts.record is not None
    experiment = parts.experiment
    return posterior_for_run(
        parts.posterior,
        experiment.space,
        experiment.make_model,
        experiment.agent_type,
        policies,
        parts.evaluator.objective,
        parts.data,
        parts.record.path / FOLDER,
        parts.seed,
        target=experiment.target_theta,
        executor=parts.executor,
        progress=parts.progress,
    )


def _skipped(parts: Parts) -> dict[str, int]:
    """How many candidates were skipped, for the summary (when skipping is on)."""
    if parts.experiment.on_nonfinite != "skip" or parts.record is None:
        return {}
    skipped = parts.record.table("candidates.csv").get("skipped", pd.Series(dtype=str))
    return {"candidates_skipped": int(skipped.fillna("").astype(bool).sum())}
