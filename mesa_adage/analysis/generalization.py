"""The generalisation report: how a theta-conditioned policy does outside what it trained on.

A conditional policy trained on a sub-range of theta is scored on a grid across the *full*
range, against specialists each trained at one grid point (or given). Inside the sub-range
the policy interpolates; outside it extrapolates. Every policy plays the same episode seeds at
every point (common random numbers), and the score is the learning agents' mean per-agent
episode return. One row of the table per grid point:

- the varied parameters, and ``region``: ``"interpolation"`` or ``"extrapolation"``;
- ``conditional``, ``specialist`` and ``baseline`` (random actions unless given): mean returns
  over the episodes, each with its standard error (``*_se``);
- ``degradation = specialist - conditional`` (positive: the conditional policy earns less),
  with ``degradation_se`` from the paired episodes;
- ``normalized_degradation = degradation / (specialist - baseline)``: the share of the
  specialist's advantage over the baseline that the conditional policy gives up (0: as good
  as the specialist, 1: no better than the baseline, negative: better than the specialist).
  Unlike a ratio of returns it keeps its meaning when returns are negative; NaN where the
  specialist does not beat the baseline;
- ``ratio = conditional / specialist``, only where the specialist's return is positive (NaN
  elsewhere, where a ratio of returns reads backwards);
- ``specialist_steps``: agent-steps each specialist trained for (0 when they were given).

Example::

    report = generalization(make_model, Producer, policy, train_range={"lam": (0.3, 0.7)},
                            specialist_steps=50_000)
    report.table; report.summary(); report.write("runs/my-run")

The module is one concept and runs a little past 300 lines: this definition of the table is
a tenth of it, and the checks of ``train_range`` belong with the report they guard.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
from stable_baselines3.common.base_class import BaseAlgorithm
from tqdm.auto import tqdm

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner.policies import Policy, RandomPolicy, SB3Policy
from mesa_adage.inner.rollout import ModelFactory, simulate
from mesa_adage.inner.training import algorithm, train
from mesa_adage.run.experiment import model_characteristics
from mesa_adage.run.record import atomic_write
from mesa_adage.samplers import Fixed
from mesa_adage.seeds import EVAL, derive_seed

Range = Mapping[str, tuple[float, float]]
REGIONS = ("interpolation", "extrapolation")


@dataclass(frozen=True)
class Generalization:
    """A generalisation report.

    Attributes:
        table: One row per grid point (columns in the module docstring).
        train_range: The range each varied parameter trained on, in grid order.
        fixed: The parameters the grid does not vary, at their defaults.
        episodes: Episodes per policy and grid point.
        specialist_steps: Agent-steps each specialist trained for (0 when they were given).
    """

    table: pd.DataFrame
    train_range: dict[str, tuple[float, float]]
    fixed: Theta
    episodes: int
    specialist_steps: int

    def summary(self) -> dict[str, Any]:
        """Mean degradation inside and outside the training range, and the worst point."""
        table = self.table
        out: dict[str, Any] = {
            "train_range": {k: list(v) for k, v in self.train_range.items()},
            "fixed": self.fixed,
            "points": len(table),
            "episodes": self.episodes,
            "specialist_steps_each": self.specialist_steps,
            "specialist_steps_total": self.specialist_steps * len(table),
        }
        for region in REGIONS:
            rows = table[table["region"] == region]
            out[f"{region}_points"] = len(rows)
            for column in ("degradation", "normalized_degradation"):
                out[f"{region}_mean_{column}"] = _number(rows[column].mean())
        if table["degradation"].notna().any():
            worst = table.loc[table["degradation"].idxmax()]
            out["worst_point"] = {n: float(worst[n]) for n in self.train_range} | {
                "region": worst["region"],
                "degradation": _number(worst["degradation"]),
                "normalized_degradation": _number(worst["normalized_degradation"]),
            }
        return out

    def write(self, folder: str | Path) -> None:
        """Write ``generalization.csv``, ``generalization.json`` and ``generalization.png``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "generalization.csv", self.table.to_csv(index=False))
        atomic_write(folder / "generalization.json", json.dumps(self.summary(), indent=2))
        from mesa_adage.analysis import plots  # matplotlib only when a report is drawn

        plots.plot_generalization(self.table, self.train_range, folder / "generalization.png")


def generalization(
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Policy | Sequence[Policy],
    *,
    train_range: Range,
    points: int = 9,
    vary: Sequence[str] = (),
    specialists: Mapping[float | tuple[float, ...], Policy] | None = None,
    specialist_steps: int = 0,
    baseline: Policy | None = None,
    algo: str | type[BaseAlgorithm] = "PPO",
    algo_kwargs: Mapping[str, Any] | None = None,
    n_copies: int = 8,
    slots_per_copy: int | None = None,
    episodes: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> Generalization:
    """Score a conditional policy across the full range of theta against specialists.

    Args:
        make_model: Episode factory, called as ``make_model(theta=..., seed=...)``.
        agent_type: The learning agent class; its mean per-agent episode return is the score.
        policies: The conditional policy, or several (followers): episode ``j`` is played by
            policy ``j mod len(policies)``.
        train_range: ``{name: (low, high)}``, the sub-range the policy trained on. The grid
            varies these parameters over their full range.
        points: Grid values per varied parameter, evenly spaced over its full range.
        vary: Further parameters the grid varies, trained on their full range. The parameters
            neither here nor in ``train_range`` stay at their defaults.
        specialists: A policy per grid point, keyed by the point's values in grid order
            (``train_range``, then ``vary``; a bare number for one parameter). If None, one is
            trained per point with ``train(..., Fixed(point), specialist_steps, ...)``.
        specialist_steps: Agent-steps per trained specialist.
        baseline: Policy that ``normalized_degradation`` measures from; None plays random
            actions (the same at every point).
        algo: SB3 algorithm of the trained specialists.
        algo_kwargs: Its settings (e.g. the experiment's ``algo_kwargs``).
        n_copies: Model copies while a specialist trains.
        slots_per_copy: Most learning agents alive at once in one training copy.
        episodes: Episodes per policy and grid point (the same seeds everywhere).
        seed: Seed of the episodes, the random baseline and the specialists' training.
        progress: Show progress bars.

    Raises:
        ValueError: On an unknown parameter, a training range outside the full range or with
            low >= high, fewer than 2 points or 1 episode, specialist steps <= 0 when
            specialists are trained, or a grid point without a given specialist.
    """
    space = model_characteristics(make_model)
    ranges = _check_range(space, train_range, vary)
    for name, value, low in (("points", points, 2), ("episodes", episodes, 1)):
        if not (isinstance(value, int) and value >= low):
            raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    grid = _grid(space, list(ranges), points)
    keys = [tuple(point[n] for n in ranges) for point in grid]
    if specialists is None:
        if not (isinstance(specialist_steps, int) and specialist_steps > 0):
            raise ValueError(
                f"specialist_steps={specialist_steps!r} must be a positive integer: the "
                "agent-steps each specialist trains for (or pass specialists=)"
            )
        cls, kwargs = algorithm(algo), dict(algo_kwargs or {})
        kwargs.update(n_copies=n_copies, slots_per_copy=slots_per_copy)
        experts: list[Policy] = []
        for point in tqdm(grid, desc="specialists", unit="policy", disable=not progress):
            trained = train(
                make_model,
                agent_type,
                Fixed(point),
                specialist_steps,
                algo=cls,
                seed=seed,
                **kwargs,
            )
            experts.append(SB3Policy(trained))
    else:
        if not (isinstance(specialist_steps, int) and specialist_steps >= 0):
            raise ValueError(f"specialist_steps={specialist_steps!r} must be an integer >= 0")
        experts = _match(specialists, keys, list(ranges))
    members = [policies] if callable(policies) else list(policies)
    if not members:
        raise ValueError("policies is empty; pass the conditional policy or a list of them")
    action_space = make_model(theta=None, seed=seed).learner(agent_type).action_space
    seeds = [derive_seed(seed, 0, EVAL, j + 1) for j in range(episodes)]
    rows = []
    bar = tqdm(grid, desc="grid points", unit="point", disable=not progress)
    for point, expert in zip(bar, experts, strict=True):
        # a fresh random baseline per point: the same random actions everywhere
        base = baseline if baseline is not None else RandomPolicy(action_space, seed)
        mine = _returns(make_model, agent_type, point, members, seeds)
        theirs = _returns(make_model, agent_type, point, [expert], seeds)
        floor = _returns(make_model, agent_type, point, [base], seeds)
        inside = all(_within(point[n], lo, hi) for n, (lo, hi) in ranges.items())
        rows.append(
            {n: point[n] for n in ranges}
            | {"region": REGIONS[0] if inside else REGIONS[1]}
            | _compare(mine, theirs, floor)
            | {"specialist_steps": specialist_steps}
        )
    fixed = {n: v for n, v in space.defaults.items() if n not in ranges}
    return Generalization(pd.DataFrame(rows), ranges, fixed, episodes, specialist_steps)


def _compare(mine: np.ndarray, theirs: np.ndarray, floor: np.ndarray) -> dict[str, float]:
    """One row's numbers from the per-episode returns of the three policies."""
    conditional, specialist, base = mine.mean(), theirs.mean(), floor.mean()
    degradation = specialist - conditional
    advantage = specialist - base
    meaningful = advantage > 1e-9 * max(1.0, abs(specialist), abs(base))
    return {
        "conditional": float(conditional),
        "conditional_se": _se(mine),
        "specialist": float(specialist),
        "specialist_se": _se(theirs),
        "baseline": float(base),
        "baseline_se": _se(floor),
        "degradation": float(degradation),
        "degradation_se": _se(theirs - mine),  # paired: the same episode seeds
        "normalized_degradation": float(degradation / advantage) if meaningful else math.nan,
        "ratio": float(conditional / specialist) if specialist > 0 else math.nan,
    }


def _returns(
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    theta: Theta,
    members: list[Policy],
    seeds: list[int],
) -> np.ndarray:
    """Each episode's mean per-agent return, episode ``j`` played by ``members[j % k]``."""
    out = np.full(len(seeds), np.nan)
    for m, policy in enumerate(members):
        mine = list(range(m, len(seeds), len(members)))
        if mine:
            rollouts = simulate(
                make_model, [theta] * len(mine), {agent_type: policy}, [seeds[j] for j in mine]
            )
            out[mine] = [r.returns[agent_type.__name__] for r in rollouts]
    return out


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else math.nan


def _number(value: Any) -> float | None:
    """A float for JSON: None for NaN."""
    return None if pd.isna(value) else float(value)


def _within(value: float, low: float, high: float) -> bool:
    tol = 1e-9 * (high - low)  # grid values carry rounding from linspace
    return low - tol <= value <= high + tol


def _check_range(
    space: Characteristics, train_range: Range, vary: Sequence[str]
) -> dict[str, tuple[float, float]]:
    """The training range of every varied parameter: given, or the full range for ``vary``."""
    if not train_range:
        raise ValueError(f"train_range is empty; name at least one of {list(space.names)}")
    out: dict[str, tuple[float, float]] = {}
    for name, bounds in train_range.items():
        if name not in space.names:
            raise ValueError(
                f"train_range names {name!r}, which is not a parameter; allowed are "
                f"{list(space.names)}"
            )
        param = space[name]
        low, high = (float(b) for b in bounds)
        if not (param.low <= low < high <= param.high):
            raise ValueError(
                f"train_range {name}=({low:g}, {high:g}) must satisfy {param.low:g} <= low < "
                f"high <= {param.high:g}, the full range of {name}"
            )
        out[name] = (low, high)
    for name in vary:
        if name not in space.names:
            raise ValueError(
                f"vary names {name!r}, which is not a parameter; allowed are {list(space.names)}"
            )
        out.setdefault(name, (space[name].low, space[name].high))
    return out


def _grid(space: Characteristics, names: list[str], points: int) -> list[Theta]:
    """Every combination of ``points`` values per named parameter; the others at defaults."""
    return space.combinations(
        {n: np.linspace(space[n].low, space[n].high, points).round(12) for n in names}
    )


def _match(
    specialists: Mapping[float | tuple[float, ...], Policy],
    keys: list[tuple[float, ...]],
    names: list[str],
) -> list[Policy]:
    """The given specialist of each grid point, keys compared up to rounding."""
    given = [(np.atleast_1d(np.asarray(k, dtype=float)), p) for k, p in specialists.items()]
    found: list[Policy] = []
    missing: list[tuple[float, ...]] = []
    for key in keys:
        match = [p for k, p in given if k.shape == (len(key),) and np.allclose(k, key, atol=1e-9)]
        if match:
            found.append(match[0])
        else:
            missing.append(key)
    if missing:
        shown = ", ".join(str(tuple(round(v, 6) for v in k)) for k in missing[:5])
        raise ValueError(
            f"specialists has no policy for {len(missing)} grid point(s): {shown}"
            f"{', ...' if len(missing) > 5 else ''}; give one per point, keyed by the values "
            f"of {names} in that order"
        )
    return found
