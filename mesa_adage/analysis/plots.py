"""PNG plots of a run: theta and the objective over epochs, fitted versus observed, profiles.

Figures are drawn with matplotlib's object API (``Figure``), never ``pyplot``: a library must
not choose or switch the user's plotting backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mesa_adage.characteristics import Characteristics
from mesa_adage.outer.statistics import episodes

if TYPE_CHECKING:
    from mesa_adage.analysis.reporting import RunResult
    from mesa_adage.run.experiment import Experiment


def plot_theta(
    history: pd.DataFrame,
    space: Characteristics,
    target: dict | None,
    final: dict | None,
    path: Path,
) -> None:
    """One panel per parameter: the leader's incumbent over epochs and its final answer."""
    fig = Figure(figsize=(4 * len(space), 3))
    axes = fig.subplots(1, len(space), squeeze=False)
    for ax, p in zip(axes[0], space.params, strict=True):
        ax.plot(history["epoch"], history[p.name], "o-", label="leader")
        if target is not None:
            ax.axhline(target[p.name], color="k", ls="--", label="target")
        if final is not None:
            ax.plot(
                history["epoch"].iloc[-1] + 0.5,
                final[p.name],
                "*",
                ms=12,
                color="tab:red",
                label="answer (re-ranked)",
            )
        ax.set_ylim(p.low, p.high)
        ax.set_xlabel("epoch")
        ax.set_title(p.doc or p.name, fontsize=9)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_weights(history: pd.DataFrame, path: Path) -> None:
    """A distribution leader's training weights over epochs, one band per support point."""
    columns = [c for c in history.columns if c.startswith("w[")]
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    ax.stackplot(history["epoch"], history[columns].to_numpy().T, labels=columns)
    ax.set_xlabel("epoch")
    ax.set_ylabel("share of follower training")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_objective(history: pd.DataFrame, path: Path) -> None:
    """The best objective so far, each epoch's best candidate, and the follower return."""
    fig = Figure(figsize=(8, 3))
    left, right = fig.subplots(1, 2)
    left.plot(history["epoch"], history["objective"], "o-", label="best so far")
    left.plot(history["epoch"], history["epoch_best"], "x:", label="best this epoch")
    left.set_xlabel("epoch")
    left.set_title("leader objective J_L")
    left.legend(fontsize=8)
    right.set_title("follower episode return")
    if history["follower_return"].notna().any():
        right.plot(history["epoch"], history["follower_return"], "o-", color="tab:green")
        right.set_xlabel("epoch")
    else:
        right.text(0.5, 0.5, "followers fixed after the warm-up\n(follower_steps=0)", ha="center")
        right.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_fit(observed: dict[str, np.ndarray], fitted: dict[str, np.ndarray], path: Path) -> None:
    """Per column: mean path and 10-90% band of the observed versus the fitted episodes."""
    fig = Figure(figsize=(5 * len(observed), 3.2))
    axes = fig.subplots(1, len(observed), squeeze=False)
    for ax, column in zip(axes[0], observed, strict=True):
        for arr, label, color in (
            (observed[column], "observed", "k"),
            (fitted[column], "fitted", "tab:orange"),
        ):
            steps = np.arange(1, arr.shape[1] + 1)
            lo, hi = np.percentile(arr, [10, 90], axis=0)
            ax.fill_between(steps, lo, hi, color=color, alpha=0.15)
            ax.plot(steps, arr.mean(0), color=color, label=f"{label} (mean, 10-90%)")
        ax.set_xlabel("step")
        ax.set_title(column, fontsize=9)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_profile(
    profile: pd.DataFrame,
    answer: dict,
    target: dict | None,
    run_dir: Path,
    intervals: dict[str, list[float]] | None = None,
) -> None:
    """``profile.png``: per parameter, the objective along its range through the answer.

    With ``intervals``, each parameter's interval is shaded.
    """
    names = list(dict.fromkeys(profile["parameter"]))
    fig = Figure(figsize=(4 * len(names), 3))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        line = profile[profile["parameter"] == name]
        ax.plot(line["value"], line["objective"], "o-", ms=3)
        at = line[line["value"] == answer[name]]["objective"]
        ax.plot([answer[name]] * len(at), at, "*", ms=12, color="tab:red", label="answer")
        if target is not None:
            ax.axvline(target[name], color="k", ls="--", label="target")
        if intervals is not None and name in intervals:
            low, high = intervals[name]
            ax.axvspan(low, high, color="tab:red", alpha=0.15, lw=0, label="interval")
        ax.set_xlabel(name)
        ax.set_title(f"objective along {name}", fontsize=9)
    axes[0][0].set_ylabel("objective J_L (higher is better)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(run_dir / "profile.png", dpi=110)


def plot_pairs(
    samples: pd.DataFrame,
    box: dict[str, tuple[float, float]],
    target: dict | None,
    path: Path,
    intervals: dict[str, list[float]] | None = None,
) -> None:
    """A posterior's pair plot: each parameter's histogram, and each pair's 2-D histogram.

    Axes span the prior's ``box``; the truth, when known, is marked (a dashed line, a star);
    ``intervals`` (credible intervals) are shaded on the diagonal.
    """
    names = list(samples.columns)
    k = len(names)
    fig = Figure(figsize=(2.6 * k + 0.6, 2.6 * k))
    axes = fig.subplots(k, k, squeeze=False)
    for i, row in enumerate(names):
        for j, col in enumerate(names):
            ax = axes[i][j]
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                ax.hist(samples[col], bins=40, range=box[col], color="tab:blue", alpha=0.8)
                if intervals is not None and col in intervals:
                    ax.axvspan(*intervals[col], color="tab:blue", alpha=0.15, lw=0)
                if target is not None:
                    ax.axvline(target[col], color="k", ls="--", label="truth")
                ax.set_yticks([])
            else:
                ax.hist2d(samples[col], samples[row], bins=40, range=[box[col], box[row]],
                          cmap="Blues")  # fmt: skip
                if target is not None:
                    ax.plot(target[col], target[row], "*", ms=12, color="tab:red", mec="k")
                ax.set_ylabel(row if j == 0 else "")
            ax.set_xlim(*box[col])
            ax.set_xlabel(col if i == k - 1 else "")
    axes[0][0].set_title("posterior (shaded: credible interval)", fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_game(game: dict, path: Path) -> None:
    """A game's rounds: the profile each round (left) and each player's payoff there (right).

    ``game`` is the ``game`` entry of ``summary.json``
    (:meth:`~mesa_adage.outer.leaders.game.Game.summary`); the title says how it ended.
    """
    log = game["log"]
    rounds = [row["round"] for row in log]
    fig = Figure(figsize=(10, 3.8))
    left, right = fig.subplots(1, 2)
    for player, names in game["players"].items():
        for name in names:
            values = [row["profile"][name] for row in log]
            left.plot(rounds, values, "o-", label=f"{name} ({player})")
        right.plot(rounds, [row["payoffs"][player] for row in log], "o-", label=player)
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("round (epoch)")
    left.set_ylabel("theta at the profile scored")
    left.legend(fontsize=8)
    right.set_xlabel("round (epoch)")
    right.set_ylabel("payoff at the profile")
    right.legend(fontsize=8)
    ending = {"equilibrium": "equilibrium reached", "cycle": "a cycle, no equilibrium"}
    how = ending.get(game["status"], "still searching at the last epoch")
    fig.suptitle(f"{game['structure']} game: {how}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_run(
    run_dir: Path, space: Characteristics, result: RunResult, experiment: Experiment
) -> None:
    """Write ``theta.png``, ``objective.png`` and, with observed data, ``fit.png``."""
    if len(result.history):
        if set(space.names) <= set(result.history.columns):
            plot_theta(
                result.history, space, experiment.target_theta, result.theta, run_dir / "theta.png"
            )
        else:  # a leader whose decision is not theta: a distribution leader's weights
            plot_weights(result.history, run_dir / "weights.png")
        plot_objective(result.history, run_dir / "objective.png")
    columns = [c for c in experiment.fit_columns if result.data is not None and c in result.data]
    if columns:
        plot_fit(
            {c: episodes(result.data, c) for c in columns},
            {c: episodes(result.rollouts, c) for c in columns},
            run_dir / "fit.png",
        )


def plot_generalization(
    table: pd.DataFrame, train_range: dict[str, tuple[float, float]], path: Path
) -> None:
    """``generalization.png``: return along each varied parameter, its training range shaded.

    The conditional policy and the specialists with two standard errors, and the baseline
    when the table has one. With several parameters, one panel each: the slice of the grid
    through the values nearest the middle of the other parameters' training ranges.
    """
    names = list(train_range)
    fig = Figure(figsize=(5 * len(names), 3.4))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        line, at = _grid_slice(table, train_range, name)
        x = line[name].to_numpy()
        ax.axvspan(*train_range[name], color="tab:green", alpha=0.12, label="trained on")
        for column, fmt, label in (
            ("conditional", "o-", "conditional (2 se)"),
            ("specialist", "s--", "specialist at each point (2 se)"),
        ):
            se = line[f"{column}_se"].fillna(0) if f"{column}_se" in line else None
            yerr = None if se is None else 2 * se.to_numpy()
            ax.errorbar(x, line[column], yerr=yerr, fmt=fmt, ms=4, capsize=2, label=label)
        if "baseline" in line:
            ax.plot(x, line["baseline"], ":", color="0.5", label="baseline")
        ax.set_xlabel(name)
        where = ", ".join(f"{k}={v:g}" for k, v in at.items())
        ax.set_title(f"along {name}" + (f" at {where}" if where else ""), fontsize=9)
    axes[0].set_ylabel("mean episode return per agent")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _grid_slice(
    table: pd.DataFrame, train_range: dict[str, tuple[float, float]], name: str
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The rows along ``name`` with every other parameter nearest its training range's middle."""
    rows, at = table, {}
    for other, (low, high) in train_range.items():
        if other != name:
            values = np.unique(table[other].to_numpy())
            at[other] = float(values[np.argmin(np.abs(values - 0.5 * (low + high)))])
            rows = rows[np.isclose(rows[other], at[other])]
    return rows.sort_values(name), at
