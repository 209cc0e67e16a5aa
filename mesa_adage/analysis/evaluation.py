"""``adage eval``: the generalisation report of a finished run folder, written into it.

The run's final policies are scored on a grid across the full range of theta against
specialists trained at each grid point (see :mod:`mesa_adage.analysis.generalization`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage.analysis.generalization import Generalization, generalization
from mesa_adage.inner.followers import policy_file
from mesa_adage.run.record import RunRecord
from mesa_adage.specs import build_experiment

__all__ = ["RUN_KEYS", "evaluate_run_folder", "generalization_table", "parse_range"]

RUN_KEYS = ("model", "agent_type", "characteristics", "algo")
"""The settings of a run folder that the spec given to ``adage eval`` must describe."""


def evaluate_run_folder(
    run_dir: Path,
    spec: str,
    train_range: Mapping[str, tuple[float, float]],
    *,
    points: int = 9,
    specialist_steps: int | None = None,
    episodes: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> str:
    """Write the generalisation report of the run in ``run_dir``; return its printed table.

    Args:
        run_dir: The folder of a finished ``adage run``.
        spec: The experiment spec the run was made with.
        train_range: The sub-range the policies trained on (see :func:`generalization`).
        points: Grid values per parameter.
        specialist_steps: Agent-steps per specialist, trained with the followers' warm-up
            learning rates; None takes the experiment's warm-up steps.
        episodes: Episodes per grid point.
        seed: Seed of the episodes and the specialists.
        progress: Show progress bars.

    Raises:
        FileNotFoundError: If ``run_dir`` is not a finished run's folder.
        ValueError: If the spec describes another run, or the folder is damaged.
    """
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"RUN_DIR {str(run_dir)!r} is not a folder; pass the folder of a finished adage run, "
            "e.g. runs/<experiment>-seed<seed>"
        )
    if not (run_dir / policy_file(0)).is_file():  # checked first: a run writes it last
        raise FileNotFoundError(
            f"{run_dir} holds no {policy_file(0)}: it is not the folder of a finished adage "
            "run (pass the run folder, e.g. runs/<experiment>-seed<seed>)"
        )
    record = RunRecord(run_dir)
    experiment = build_experiment(spec, None, None)
    advice = "it is not the folder of a finished adage run, or it was damaged (adage run "
    diff = record.compare(experiment.config(), RUN_KEYS, "RUN_DIR", advice + "writes it first)")
    if diff:
        raise ValueError(
            f"--spec {spec!r} does not describe the run in {run_dir}: {list(diff)} differ from "
            f"its config.json ({'; '.join(diff.values())}); pass the spec the run was made with"
        )
    ts = experiment.timescales
    report = generalization(
        experiment.make_model,
        experiment.agent_type,
        record.load_policies(experiment.algo),
        train_range=train_range,
        points=points,
        specialist_steps=ts.warmup_steps if specialist_steps is None else specialist_steps,
        algo=experiment.algo,
        algo_kwargs={  # the followers' warm-up schedule
            **experiment.algo_kwargs,
            "learning_rate": LinearSchedule(ts.follower_lr, ts.follower_lr_final, 1.0),
        },
        n_copies=experiment.n_copies,
        slots_per_copy=experiment.slots_per_copy,
        episodes=episodes,
        seed=seed,
        progress=progress,
    )
    report.write(run_dir)
    return generalization_table(report, record.table("history.csv"))


def generalization_table(report: Generalization, history: pd.DataFrame) -> str:
    """The generalisation grid and summary, then the run's agent-steps against the specialists'.

    Args:
        report: The generalisation report of a run folder.
        history: The run's ``history.csv`` (its last ``env_steps`` are the followers').
    """
    shown = [*report.train_range, "region", "conditional", "conditional_se", "specialist"]
    shown += ["degradation", "normalized_degradation"]
    summary = report.summary()
    lines = [
        report.table[shown].to_string(index=False, float_format=lambda x: f"{x:.4g}"),
        json.dumps(summary, indent=2),
    ]
    if len(history) and "env_steps" in history:
        lines.append(
            f"agent-steps: the run's followers {int(history['env_steps'].iloc[-1])} in all, "
            f"the specialists {summary['specialist_steps_total']} in all"
        )
    return "\n".join(lines)


def parse_range(text: str) -> dict[str, tuple[float, float]]:
    """Parse ``"name=low:high,name=low:high"``.

    Raises:
        ValueError: Naming the bad fragment and the expected form.
    """
    out = {}
    for fragment in filter(None, (f.strip() for f in text.split(","))):
        name, _, bounds = fragment.partition("=")
        low, sep, high = bounds.partition(":")
        try:
            if not (name.strip() and sep):
                raise ValueError
            out[name.strip()] = (float(low), float(high))
        except ValueError:
            raise ValueError(
                f"bad --train-range fragment {fragment!r}; expected name=low:high, e.g. lam=0.3:0.7"
            ) from None
    if not out:
        raise ValueError(f"empty --train-range {text!r}; expected name=low:high")
    return out
