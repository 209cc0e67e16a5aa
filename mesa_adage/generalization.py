"""The generalisation report: how a theta-conditioned policy does outside what it trained on.

Train on a sub-range of theta, then score the policy on a grid across the *full* range
against specialists, each trained at one grid point. Inside the sub-range the policy
interpolates; outside it extrapolates. For every grid point the report gives the
conditional policy's mean per-agent episode return (with its standard error over episodes),
the specialist's, and the *gap*, ``specialist - conditional`` (positive: the conditional
policy earns less). The *relative gap* divides it by ``|specialist|``.

    report = generalization(make_model, Producer, policy, train_range={"lam": (0.3, 0.7)},
                            specialist_steps=50_000)
    report.table; report.summary(); report.write("runs/my-run")
"""

from __future__ import annotations

import itertools
import json
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
from mesa_adage.policies import Policy, SB3Policy
from mesa_adage.rollout import ModelFactory, simulate
from mesa_adage.samplers import Fixed
from mesa_adage.training import algorithm, train

Range = Mapping[str, tuple[float, float]]


@dataclass(frozen=True)
class Generalization:
    """A generalisation report.

    Attributes:
        table: One row per grid point: the varied parameters, ``region``
            (``"interpolation"`` or ``"extrapolation"``), ``conditional`` and
            ``conditional_se``, ``specialist``, ``gap`` and ``relative_gap``.
        train_range: The sub-range the conditional policy trained on.
        specialist_steps: Steps each trained specialist used (0 when they were given).
    """

    table: pd.DataFrame
    train_range: dict[str, tuple[float, float]]
    specialist_steps: int

    def summary(self) -> dict[str, Any]:
        """Mean gap inside and outside the training range, and the worst point."""
        out: dict[str, Any] = {
            "train_range": {k: list(v) for k, v in self.train_range.items()},
            "specialist_steps_each": self.specialist_steps,
        }
        for region in ("interpolation", "extrapolation"):
            rows = self.table[self.table["region"] == region]
            out[f"{region}_mean_gap"] = float(rows["gap"].mean()) if len(rows) else None
            rel = rows["relative_gap"].mean() if len(rows) else None
            out[f"{region}_mean_relative_gap"] = None if rel is None else float(rel)
        worst = self.table.loc[self.table["gap"].idxmax()]
        names = list(self.train_range)
        out["worst_point"] = {n: float(worst[n]) for n in names} | {"gap": float(worst["gap"])}
        return out

    def write(self, folder: str | Path) -> None:
        """Write ``generalization.csv``, ``generalization.json`` and ``generalization.png``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(folder / "generalization.csv", index=False)
        (folder / "generalization.json").write_text(json.dumps(self.summary(), indent=2))
        from mesa_adage import plots

        plots.plot_generalization(self.table, self.train_range, folder / "generalization.png")


def generalization(
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    policies: Policy | Sequence[Policy],
    *,
    train_range: Range,
    points: int = 9,
    specialists: Mapping[tuple[float, ...], Policy] | None = None,
    specialist_steps: int = 0,
    algo: str | type[BaseAlgorithm] = "PPO",
    algo_kwargs: Mapping[str, Any] | None = None,
    n_copies: int = 8,
    episodes: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> Generalization:
    """Score a conditional policy across the full range of theta against specialists.

    Args:
        make_model: Episode factory, called as ``make_model(theta=..., seed=...)``.
        agent_type: The learning agent class; its mean episode return is the score.
        policies: The conditional policy, or several (followers): episode ``j`` is played by
            policy ``j mod len(policies)``.
        train_range: ``{name: (low, high)}``, the sub-range the policy trained on. The grid
            varies these parameters over their full range; the others stay at defaults.
        points: Grid values per varied parameter (at least 2).
        specialists: A policy per grid point, keyed by the point's values in the order of
            ``train_range``; if None, one is trained per point with ``specialist_steps``.
        specialist_steps: Agent-steps per trained specialist.
        algo: SB3 algorithm of the trained specialists.
        algo_kwargs: Its settings (e.g. the experiment's ``algo_kwargs``).
        n_copies: Model copies while a specialist trains.
        episodes: Episodes per grid point (the same seeds at every point).
        seed: Seed of the episodes and of the specialists' training.
        progress: Show progress bars.

    Raises:
        ValueError: On an unknown parameter, a sub-range outside the full range or empty,
            fewer than 2 points, no specialists and no steps, or a missing specialist.
    """
    space = _space(make_model)
    ranges = _check_range(space, train_range)
    if not (isinstance(points, int) and points >= 2):
        raise ValueError(f"points={points!r} must be an integer >= 2")
    if not (isinstance(episodes, int) and episodes >= 1):
        raise ValueError(f"episodes={episodes!r} must be a positive integer")
    grid = _grid(space, list(ranges), points)
    keys = [tuple(point[n] for n in ranges) for point in grid]
    if specialists is None:
        if not (isinstance(specialist_steps, int) and specialist_steps > 0):
            raise ValueError(
                f"specialist_steps={specialist_steps!r} must be a positive integer when no "
                "specialists are given"
            )
        cls = algorithm(algo)
        kwargs = dict(algo_kwargs or {})
        specialists = {}
        for key, point in tqdm(
            list(zip(keys, grid, strict=True)), desc="specialists", disable=not progress
        ):
            model = train(
                make_model, agent_type, Fixed(point), specialist_steps,
                algo=cls, seed=seed, n_copies=n_copies, **kwargs,
            )  # fmt: skip
            specialists[key] = SB3Policy(model)
    else:
        specialist_steps = 0
        missing = [k for k in keys if k not in specialists]
        if missing:
            raise ValueError(
                f"specialists has no policy for grid points {missing[:3]} (keys are the values "
                f"of {list(ranges)} in order)"
            )
    members = [policies] if callable(policies) else list(policies)
    seeds = [seed * 1_000 + 10_000 + i for i in range(episodes)]
    rows = []
    for key, point in tqdm(
        list(zip(keys, grid, strict=True)), desc="grid points", disable=not progress
    ):
        mine = _returns(make_model, agent_type, point, members, seeds)
        theirs = _returns(make_model, agent_type, point, [specialists[key]], seeds)
        inside = all(lo <= point[n] <= hi for n, (lo, hi) in ranges.items())
        gap = float(theirs.mean() - mine.mean())
        rows.append(
            {
                **{n: point[n] for n in ranges},
                "region": "interpolation" if inside else "extrapolation",
                "conditional": float(mine.mean()),
                "conditional_se": float(mine.std(ddof=1) / np.sqrt(len(mine)))
                if len(mine) > 1
                else 0.0,
                "specialist": float(theirs.mean()),
                "gap": gap,
                "relative_gap": gap / max(abs(float(theirs.mean())), 1e-12),
            }
        )
    return Generalization(pd.DataFrame(rows), ranges, specialist_steps)


def _returns(
    make_model: ModelFactory,
    agent_type: type[mesa.Agent],
    theta: Theta,
    members: list[Policy],
    seeds: list[int],
) -> np.ndarray:
    """Each episode's mean per-agent return, episode ``j`` played by ``members[j % k]``."""
    out = np.empty(len(seeds))
    for m, policy in enumerate(members):
        mine = list(range(m, len(seeds), len(members)))
        if not mine:
            continue
        rollouts = simulate(
            make_model, [theta] * len(mine), {agent_type: policy}, [seeds[j] for j in mine]
        )
        out[mine] = [r.returns[agent_type.__name__] for r in rollouts]
    return out


def _space(make_model: ModelFactory) -> Characteristics:
    from mesa_adage.experiment import model_characteristics

    return model_characteristics(make_model)


def _check_range(space: Characteristics, train_range: Range) -> dict[str, tuple[float, float]]:
    if not train_range:
        raise ValueError(f"train_range is empty; name at least one of {list(space.names)}")
    out = {}
    for name, bounds in train_range.items():
        if name not in space.names:
            raise ValueError(
                f"train_range names {name!r}, which is not a parameter; allowed are "
                f"{list(space.names)}"
            )
        param = space.params[space.index(name)]
        low, high = (float(b) for b in bounds)
        if not (param.low <= low < high <= param.high):
            raise ValueError(
                f"train_range {name}=({low}, {high}) must satisfy {param.low} <= low < high <= "
                f"{param.high}, the full range of {name}"
            )
        out[name] = (low, high)
    return out


def _grid(space: Characteristics, names: list[str], points: int) -> list[Theta]:
    params = [space.params[space.index(n)] for n in names]
    axes = [np.linspace(p.low, p.high, points).round(12) for p in params]
    combos = itertools.product(*axes)
    rows = [dict(zip(names, map(float, combo), strict=True)) for combo in combos]
    return [dict(space.validate({**space.defaults, **row})) for row in rows]
