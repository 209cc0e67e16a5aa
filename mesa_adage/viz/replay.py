"""Replay a leader run: its epochs, the candidates it tried over the profile, its answer.

:func:`load_run` reads a run folder written by ``adage run`` and says clearly why a folder
cannot be replayed; :func:`Replay` is the page piece that steps through the epochs, and
:func:`make_replay_component` puts it in Mesa's SolaraViz.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure

from mesa_adage.viz.prose import Prose


def runs_root() -> Path:
    """Where the replay lists run folders: ``$ADAGE_RUNS``, else ``runs/`` here.

    ``adage run`` writes there by default; it is read when a page renders, not at import.
    """
    return Path(os.environ.get("ADAGE_RUNS", "runs"))


class NotARun(ValueError):
    """A folder that cannot be replayed, with the reason in words."""


@dataclass(frozen=True)
class Run:
    """A run folder, read.

    Attributes:
        path: The folder.
        config: ``config.json``: the experiment, its model and settings.
        names: Theta's parameter names, in order.
        history: ``history.csv``: one row per finished epoch.
        candidates: ``candidates.csv``: every theta the leader scored (may be empty).
        profile: ``profile.csv``: the objective along each parameter through the answer.
        summary: ``summary.json`` once the run has finished, else None.
    """

    path: Path
    config: dict[str, Any]
    names: list[str]
    history: pd.DataFrame
    candidates: pd.DataFrame
    profile: pd.DataFrame | None
    summary: dict[str, Any] | None

    @property
    def epochs(self) -> int:
        return len(self.history)


def find_runs(root: str | Path | None = None) -> list[Path]:
    """The run folders directly under ``root`` (those holding a ``history.csv``), newest first.

    ``root`` defaults to :func:`runs_root`.
    """
    root = runs_root() if root is None else Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if (p / "history.csv").is_file()]
    return sorted(found, key=lambda p: (p / "history.csv").stat().st_mtime, reverse=True)


def _csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise NotARun(f"`{path}` is not a readable table ({type(err).__name__}: {err})") from err


def model_of(config: dict[str, Any]) -> str:
    """The import path of a run's model class (unwrapping a ``functools.partial``)."""
    model = config.get("model")
    if isinstance(model, dict):
        model = model.get("partial")
    return str(model)


def load_run(path: str | Path, models: Sequence[str] | None = None) -> Run:
    """Read the run folder at ``path``.

    Args:
        path: A folder written by ``adage run``.
        models: If given, the run must be of one of these models (import paths of classes).

    Raises:
        NotARun: If ``path`` is missing, not a folder, not a run, a run of another model, or
            has not finished an epoch yet; the message says which and what to do.
    """
    path = Path(str(path).strip()).expanduser()
    if not str(path).strip() or not path.exists():
        raise NotARun(
            f"There is no folder at `{path}`. Type the path of a folder `adage run` wrote."
        )
    if not path.is_dir():
        raise NotARun(f"`{path}` is a file, not a run folder.")
    config_path, history_path = path / "config.json", path / "history.csv"
    if not config_path.is_file() or not history_path.is_file():
        raise NotARun(
            f"`{path}` is not a run folder: it has no `config.json` and `history.csv`. "
            "`adage run SPEC --out FOLDER` writes one."
        )
    try:
        config = json.loads(config_path.read_text())
        names = [p["name"] for p in config["characteristics"]]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise NotARun(
            f"`{config_path}` is not a run's config ({type(err).__name__}: {err})"
        ) from err
    if models is not None and model_of(config) not in models:
        raise NotARun(
            f"`{path}` is a run of `{model_of(config)}` ({config.get('experiment')}), not of "
            f"{' or '.join(f'`{m}`' for m in models)}. Open it in the Leader replay page, "
            "which shows any run."
        )
    history = _csv(history_path)
    missing = [c for c in ("epoch", *names, "objective") if c not in history.columns]
    if missing:
        raise NotARun(f"`{history_path}` lacks the columns {missing}: it is not a leader history.")
    if history.empty:
        raise NotARun(f"`{path}` has not finished an epoch yet; come back when it has.")
    candidates_path, profile_path = path / "candidates.csv", path / "profile.csv"
    candidates = _csv(candidates_path) if candidates_path.is_file() else pd.DataFrame()
    profile = _csv(profile_path) if profile_path.is_file() else None
    if len(candidates) and not {"epoch", *names, "objective"} <= set(candidates.columns):
        raise NotARun(f"`{candidates_path}` lacks theta's columns {names}: it is not this run's.")
    summary_path = path / "summary.json"
    try:
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    except json.JSONDecodeError as err:
        raise NotARun(f"`{summary_path}` is not valid JSON ({err}); rerun to rewrite it.") from err
    if summary is not None and not isinstance(summary.get("theta"), dict):
        raise NotARun(f"`{summary_path}` has no `theta`: it is not a run's summary.")
    return Run(path, config, names, history, candidates, profile, summary)


def epochs_figure(run: Run, epoch: int) -> Figure:
    """theta_k, the objective J_L and the followers' return by epoch, up to ``epoch``."""
    shown = run.history[run.history["epoch"] <= epoch]
    has_return = "follower_return" in shown.columns and shown["follower_return"].notna().any()
    fig = Figure(figsize=(10, 2.8))
    axes = fig.subplots(1, 3 if has_return else 2)
    for name in run.names:
        axes[0].plot(shown["epoch"], shown[name], "o-", label=name)
    axes[0].set_title("the leader's theta_k (its incumbent)", fontsize=10)
    axes[0].set_ylabel("theta")
    axes[0].legend(fontsize=8)
    axes[1].plot(shown["epoch"], shown["objective"], "o-", color="tab:red", label="best so far")
    if "epoch_best" in shown.columns:
        axes[1].plot(
            shown["epoch"], shown["epoch_best"], "x", color="grey", label="this epoch's best"
        )
    axes[1].set_title("leader objective J_L", fontsize=10)
    axes[1].set_ylabel("J_L")
    axes[1].legend(fontsize=8)
    if has_return:
        axes[2].plot(shown["epoch"], shown["follower_return"], "o-", color="tab:green")
        axes[2].set_title("followers' mean return in training", fontsize=10)
        axes[2].set_ylabel("return")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, max(run.epochs, 1) + 0.5)
    fig.tight_layout()
    return fig


def candidates_figure(run: Run, epoch: int) -> Figure:
    """Each parameter's candidates up to ``epoch``, over the objective's profile."""
    fig = Figure(figsize=(10, 2.8))
    axes = np.atleast_1d(fig.subplots(1, len(run.names)))
    tried = run.candidates
    if len(tried):
        tried = tried[tried["epoch"] <= epoch]
    answer = run.summary["theta"] if run.summary else None
    for ax, name in zip(axes, run.names, strict=True):
        if run.profile is not None:
            line = run.profile[run.profile["parameter"] == name]
            ax.plot(line["value"], line["objective"], "-", color="black", lw=1, label="profile")
        if len(tried):
            older = tried[tried["epoch"] < epoch]
            latest = tried[tried["epoch"] == epoch]
            ax.scatter(
                older[name], older["objective"], s=12, color="tab:blue", alpha=0.4, label="earlier"
            )
            ax.scatter(
                latest[name], latest["objective"], s=30, color="tab:orange", label=f"epoch {epoch}"
            )
        if answer and name in answer:
            ax.axvline(answer[name], color="tab:red", ls="--", lw=1, label="answer")
        ax.set_xlabel(name)
        ax.set_ylabel("objective")
        ax.legend(fontsize=7)
    fig.suptitle("candidates the leader tried, over the objective's profile", fontsize=10)
    fig.tight_layout()
    return fig


def answer_markdown(run: Run) -> str:
    """The final answer as a Markdown table (or a note while the run is unfinished)."""
    if run.summary is None:
        return f"**Final answer:** not yet: the run has finished {run.epochs} epochs so far."
    theta, target = run.summary["theta"], run.summary.get("target_theta") or {}
    report = run.summary.get("uncertainty") or {}
    intervals, verdicts = report.get("intervals", {}), report.get("identification", {})
    rows = ["| parameter | answer | target |", "|---|---|---|"]
    if intervals:
        rows = [
            f"| parameter | answer | target | {report['level']:.0%} interval | identification |"
        ]
        rows.append("|---|---|---|---|---|")
    for name in run.names:
        truth = f"{target[name]:.4g}" if name in target else "n/a"
        row = f"| {name} | {theta[name]:.4g} | {truth} |"
        if name in intervals:
            low, high = intervals[name]
            row += f" [{low:.4g}, {high:.4g}] | {verdicts.get(name, {}).get('status', 'n/a')} |"
        rows.append(row)
    fit = report.get("fit")
    note = (
        f"\n\nFit: **{fit['verdict']}** (p = {fit['p_value']:.2f}: how often the model's own "
        "episodes fit it no better than these data do)"
        if fit
        else ""
    )
    return (
        f"**Final answer** of `{run.config.get('experiment')}` after {run.summary.get('epochs')}"
        f" epochs (objective {run.summary['objective']:.4g}):\n\n" + "\n".join(rows) + note
    )


@solara.component
def Replay(models: Sequence[str] | None = None, root: str | Path | None = None) -> None:
    """Pick a run folder, then step through its epochs.

    A folder that cannot be replayed shows why, on the page.

    Args:
        models: Only runs of these models (import paths of classes) are replayed.
        root: Where to list run folders from (:func:`runs_root` if None).
    """
    root = runs_root() if root is None else Path(root)
    found = [str(p) for p in find_runs(root)]
    folder = solara.use_reactive(found[0] if found else "")
    epoch = solara.use_reactive(0)
    with solara.Card("Leader replay"):
        with solara.Row():
            if found:
                solara.Select("runs found", values=found, value=folder)
            solara.InputText("or type a run folder", value=folder, continuous_update=False)
        if not found:
            solara.Text(f"No run folders under `{root}/` yet: `adage run ...` writes them there.")
        try:
            run = load_run(folder.value, models) if folder.value else None
        except NotARun as err:
            solara.Error(str(err))
            return
        if run is None:
            return
        shown = min(epoch.value, run.epochs) or run.epochs
        solara.SliderInt("epoch", value=shown, min=1, max=run.epochs, on_value=epoch.set)
        solara.Text(f"{run.config.get('experiment')}: epoch {shown} of {run.epochs}")
        try:
            figures = (epochs_figure(run, shown), candidates_figure(run, shown))
            answer = answer_markdown(run)
        except (ValueError, TypeError, KeyError) as err:  # a hand-edited table, say
            solara.Error(f"`{run.path}` cannot be drawn: {type(err).__name__}: {err}")
            return
        for figure in figures:
            solara.FigureMatplotlib(figure, format="png")
        Prose(answer)


def make_replay_component(
    root: str | Path | None = None, models: Sequence[str] | None = None, page: int = 1
) -> tuple[Callable[[object], None], int]:
    """The leader replay on SolaraViz page ``page``; it does not depend on the live model.

    Args:
        root: Where to list run folders from: ``$ADAGE_RUNS``, else ``runs/`` where the app
            starts, if None.
        models: Only runs of these models (import paths of classes) are replayed.
        page: The SolaraViz page (tab) to show it on.

    Returns:
        ``(component, page)``, for ``SolaraViz(..., components=[...])``.
    """

    def MakeReplay(model: object) -> None:
        return Replay(models=models, root=root)

    return MakeReplay, page
