"""The ``adage`` command line: ``adage run models.cobweb:calibration``, ``adage eval RUN``."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mesa_adage.analysis.reporting import RunResult
from mesa_adage.analysis.uncertainty import uncertainty_lines
from mesa_adage.characteristics import Characteristics, Theta, parse_theta
from mesa_adage.inner.policies import SB3Policy
from mesa_adage.outer.leaders import LEADERS
from mesa_adage.run.checkpoint import CheckpointError, read_checkpoint
from mesa_adage.run.executors import EXECUTORS, make_executor
from mesa_adage.run.experiment import Experiment
from mesa_adage.run.record import CHECKPOINT, RunRecord
from mesa_adage.run.scheduler import LeaderScheduler


def resolve_spec(spec: str) -> Any:
    """Import ``"package.module:name"`` with the working directory on the path.

    Raises:
        ValueError: If the spec is malformed or does not resolve, saying what was tried.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"SPEC {spec!r} must look like 'package.module:name', e.g. models.cobweb:calibration"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ValueError(
            f"SPEC {spec!r}: cannot import {module_name!r} from {os.getcwd()} ({err}); run adage "
            "from the folder that holds it"
        ) from None
    if not hasattr(module, attr):
        raise ValueError(f"SPEC {spec!r}: module {module_name!r} has no attribute {attr!r}")
    return getattr(module, attr)


def build_experiment(
    spec: str, target_theta: str | None, data: str | None, options: Sequence[str] = ()
) -> Experiment:
    """Resolve ``spec`` to an :class:`Experiment`, passing its options on.

    ``--target-theta``, ``--data`` and each ``--set NAME=VALUE`` (whose value reaches the
    factory as a string) become keyword arguments of the spec's function.
    """
    factory = resolve_spec(spec)
    if isinstance(factory, Experiment):
        if target_theta or data or options:
            raise ValueError(
                f"SPEC {spec!r} is a fixed Experiment; it takes no --target-theta, --data or --set"
            )
        return factory
    if not callable(factory):
        raise ValueError(f"SPEC {spec!r} is neither an Experiment nor a function returning one")
    params = inspect.signature(factory).parameters
    kwargs: dict[str, Any] = {}
    for flag, name, value in (
        ("--target-theta", "target_theta", target_theta),
        ("--data", "data", data),
    ):
        if value is None:
            continue
        if name not in params:
            raise ValueError(f"SPEC {spec!r} does not accept {flag}")
        kwargs[name] = value
    kwargs.update(spec_options(spec, options, params))
    if target_theta is not None:
        try:
            kwargs["target_theta"] = parse_theta(target_theta, factory().space)
        except ValueError as err:
            raise ValueError(f"--target-theta: {err}") from None
    experiment = factory(**kwargs)
    if not isinstance(experiment, Experiment):
        raise ValueError(f"SPEC {spec!r} returned {type(experiment).__name__}, not an Experiment")
    return experiment


def spec_options(
    spec: str, options: Sequence[str], params: Mapping[str, inspect.Parameter]
) -> dict[str, str]:
    """``--set NAME=VALUE`` options as keyword arguments of the spec's factory.

    Raises:
        ValueError: If an option is not ``NAME=VALUE``, is given twice, or names no keyword
            of the factory (naming the ones it has).
    """
    own = {"target_theta": "--target-theta", "data": "--data"}
    allowed = [n for n, p in params.items() if n not in own and p.kind is not p.VAR_KEYWORD]
    out: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--set {option!r} must look like NAME=VALUE, e.g. reference=naive")
        if name in own:
            raise ValueError(f"--set {option!r}: pass {name} as {own[name]}")
        if name not in allowed:
            raise ValueError(
                f"--set {option!r}: SPEC {spec!r} has no option {name!r}; its options are {allowed}"
            )
        if name in out:
            raise ValueError(f"--set {name} is given twice ({out[name]!r} and {value!r})")
        out[name] = value
    return out


def result_table(
    space: Characteristics,
    theta: Theta,
    target: Theta | None,
    uncertainty: dict[str, Any] | None = None,
) -> str:
    """A plain-text table of recovered (and true) theta with the error in % of range.

    With an uncertainty report, each parameter's interval and identification are added,
    followed by the goodness of fit and a warning for every doubt.
    """
    report = uncertainty or {}
    intervals, verdicts = report.get("intervals", {}), report.get("identification", {})
    head = f"{'parameter':<12}{'true':>10}{'recovered':>12}{'error':>10}"
    if intervals:
        level = f"{report['level']:.0%} interval"
        head += f"  {level:<20}{'identification'}"
    lines = [head]
    for p in space.params:
        true, error = "-", "-"
        if target is not None:
            true = f"{target[p.name]:.4g}"
            error = f"{abs(theta[p.name] - target[p.name]) / p.span:.1%}"
        line = f"{p.name:<12}{true:>10}{theta[p.name]:>12.4g}{error:>10}"
        if p.name in intervals:
            low, high = intervals[p.name]
            status = verdicts.get(p.name, {}).get("status", "-")
            line += f"  {f'[{low:.4g}, {high:.4g}]':<20}{status}"
        lines.append(line)
    return "\n".join(lines + (uncertainty_lines(report) if report else []))


def integer(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``; argparse's error then names the flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def check_out(out: Path) -> None:
    """Refuse an ``--out`` folder that cannot be made or written, before anything is written.

    The nearest existing folder on the way is probed with a temporary sub-folder, removed at
    once, so an unwritable place is found even where permission bits do not tell (root, a
    read-only file system).

    Raises:
        ValueError: Naming ``--out``, the path in the way and what is allowed.
    """
    wanted = "pass a folder you can write to (it is made if missing)"
    try:
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {str(out)!r} is a file, not a folder; {wanted}")
        existing = next(p for p in (out, *out.parents) if p.exists())
        if not existing.is_dir():
            raise ValueError(
                f"--out {str(out)!r}: {str(existing)!r} is a file, so no folder can be made "
                f"under it; {wanted}"
            )
        os.rmdir(tempfile.mkdtemp(prefix=".adage-probe-", dir=existing))
    except OSError as err:
        raise ValueError(
            f"--out {str(out)!r} cannot be written ({err.strerror or err}); {wanted}"
        ) from None


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``adage``."""
    top = argparse.ArgumentParser(
        prog="adage", description="Adaptive agent-based models with Mesa (ADAGE)."
    )
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run an experiment: train theta-conditioned followers and let the leader optimise",
        description="Run the alternating follower/leader loop of an experiment spec and write "
        "a run folder (config, history.csv, checkpoints, summary.json, plots).",
    )
    run.add_argument("spec", help="import path of an experiment, e.g. models.cobweb:calibration")
    run.add_argument("--epochs", type=integer(1), help="leader epochs (default: the experiment's)")
    run.add_argument(
        "--seed", type=integer(0), default=0, help="seed of every random stream (default 0)"
    )
    run.add_argument("--out", type=Path, help="run folder (default runs/<experiment>-seed<seed>)")
    run.add_argument("--leader", help=f"leader, one of {', '.join(sorted(LEADERS))}")
    run.add_argument("--resume", action="store_true", help="continue the run in --out")
    run.add_argument(
        "--restart", action="store_true", help="discard the run in --out and start again"
    )
    run.add_argument(
        "--snapshot-seconds",
        type=float,
        default=300.0,
        help="save a follower phase in progress at most this often, so an interrupted run "
        "loses at most this much training (default 300; 0 saves after every rollout; results "
        "do not depend on it)",
    )
    run.add_argument("--target-theta", help="calibration: generate data at name=value,...")
    run.add_argument("--data", help="calibration: CSV of observed series")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option of the spec's function, e.g. --set reference=naive --set series=price "
        "for models.cobweb:calibration (repeatable)",
    )
    run.add_argument(
        "--followers",
        type=integer(1),
        help="independently seeded follower policies that share the evaluations (default: the "
        "experiment's; more cost more training and reduce one learner's quirks)",
    )
    run.add_argument(
        "--followers-from",
        type=Path,
        metavar="RUN",
        help="start from the trained followers of the run folder RUN instead of a warm-up "
        "(same model, algorithm and follower settings): one trained population calibrates "
        "many data sets",
    )
    run.add_argument(
        "--executor",
        default="serial",
        help=f"where followers train and candidates are evaluated: {', '.join(EXECUTORS)} "
        "(default serial; every executor gives the same results)",
    )
    run.add_argument("--workers", type=integer(1), help="processes for --executor process/ray")
    run.add_argument(
        "--address", help="--executor ray: the address of a running Ray cluster (host:port)"
    )
    run.add_argument(
        "--storage",
        help="Optuna leaders: a storage URL for the study (default: the run folder's SQLite "
        "file), e.g. postgresql://user:password@host/db to share it between machines",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    ev = sub.add_parser(
        "eval",
        help="generalisation report of a run folder: interpolation against extrapolation",
        description="Score a run's final policy on a grid across the full range of theta "
        "against specialists trained at each grid point; write generalization.csv, .json and "
        ".png into the run folder.",
    )
    ev.add_argument("run_dir", type=Path, help="a run folder written by adage run")
    ev.add_argument(
        "--spec", required=True, help="the experiment the run used, e.g. models.cobweb:calibration"
    )
    ev.add_argument(
        "--train-range",
        required=True,
        help="the sub-range the policy trained on, name=low:high[,name=low:high]; the grid "
        "varies these parameters over their full range, the others stay at their defaults",
    )
    ev.add_argument(
        "--points", type=integer(2), default=9, help="grid values per parameter (default 9)"
    )
    ev.add_argument(
        "--specialist-steps",
        type=integer(1),
        help="agent-steps per specialist, trained with the followers' warm-up learning rates "
        "(default: the experiment's warm-up steps)",
    )
    ev.add_argument(
        "--episodes", type=integer(1), default=16, help="episodes per grid point (default 16)"
    )
    ev.add_argument("--seed", type=integer(0), default=0, help="seed of episodes and specialists")
    ev.add_argument("--quiet", action="store_true", help="no progress bars")
    return top


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


def evaluate_run(args: argparse.Namespace) -> int:
    """``adage eval``: the generalisation report of a run folder, written into it."""
    import pandas as pd
    from stable_baselines3.common.utils import LinearSchedule

    from mesa_adage.analysis.generalization import generalization
    from mesa_adage.inner.followers import policy_file
    from mesa_adage.inner.training import algorithm

    run_dir: Path = args.run_dir
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"RUN_DIR {str(run_dir)!r} is not a folder; pass the folder of a finished adage run, "
            "e.g. runs/<experiment>-seed<seed>"
        )
    if not (run_dir / policy_file(0)).is_file():
        raise FileNotFoundError(
            f"{run_dir} holds no {policy_file(0)}: it is not the folder of a finished "
            "adage run (pass the run folder, e.g. runs/<experiment>-seed<seed>)"
        )
    experiment = build_experiment(args.spec, None, None)
    check_run_matches(run_dir, experiment, args.spec)
    algo = algorithm(experiment.algo)
    members = []
    while (path := run_dir / policy_file(len(members))).is_file():
        try:
            members.append(SB3Policy.load(path, algo))
        except Exception as err:  # SB3 raises many kinds for a damaged file
            raise ValueError(
                f"{path} cannot be loaded as a {algo.__name__} policy ({type(err).__name__}: "
                f"{err}); it is damaged, or was not written by adage run"
            ) from None
    ts = experiment.timescales
    steps = ts.warmup_steps if args.specialist_steps is None else args.specialist_steps
    report = generalization(
        experiment.make_model,
        experiment.agent_type,
        members,
        train_range=parse_range(args.train_range),
        points=args.points,
        specialist_steps=steps,
        algo=algo,
        algo_kwargs={  # the followers' warm-up schedule
            **experiment.algo_kwargs,
            "learning_rate": LinearSchedule(ts.follower_lr, ts.follower_lr_final, 1.0),
        },
        n_copies=experiment.n_copies,
        slots_per_copy=experiment.slots_per_copy,
        episodes=args.episodes,
        seed=args.seed,
        progress=not args.quiet,
    )
    report.write(run_dir)
    shown = [*report.train_range, "region", "conditional", "conditional_se", "specialist"]
    shown += ["degradation", "normalized_degradation"]
    print(report.table[shown].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(json.dumps(report.summary(), indent=2))
    history = pd.read_csv(run_dir / "history.csv") if (run_dir / "history.csv").is_file() else None
    if history is not None and len(history) and "env_steps" in history:
        print(
            f"agent-steps: the run's followers {int(history['env_steps'].iloc[-1])} in all, "
            f"the specialists {report.summary()['specialist_steps_total']} in all"
        )
    print(f"wrote generalization.csv, generalization.json, generalization.png to {run_dir}")
    return 0


def check_run_matches(run_dir: Path, experiment: Experiment, spec: str) -> None:
    """Refuse a run folder whose ``config.json`` names another model, agent or algorithm.

    Raises:
        FileNotFoundError: If the folder holds no ``config.json``.
        ValueError: If it is not a JSON object, or naming the settings that differ.
    """
    path = run_dir / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{run_dir} holds no config.json: it is not the folder of a finished adage run, or "
            "it was damaged (adage run writes config.json first)"
        )
    try:
        saved = json.loads(path.read_text())
    except ValueError as err:  # also a UnicodeDecodeError
        raise ValueError(
            f"{path} is not readable JSON ({err}); the run folder is damaged"
        ) from None
    if not isinstance(saved, dict):
        raise ValueError(
            f"{path} holds a {type(saved).__name__}, not the JSON object adage run writes; "
            "the run folder is damaged"
        )
    mine = json.loads(json.dumps(experiment.config()))
    keys = ("model", "agent_type", "characteristics", "algo")
    diff = [k for k in keys if k in saved and saved[k] != mine[k]]
    if diff:
        raise ValueError(
            f"--spec {spec!r} does not describe the run in {run_dir}: {diff} differ from its "
            "config.json; pass the spec the run was made with"
        )


def interrupted(argv: Sequence[str] | None, out: Path | None) -> str:
    """The one line ``adage run`` prints on Ctrl-C: what is kept, and the command to go on."""
    words = [w for w in (sys.argv[1:] if argv is None else argv) if w != "--restart"]
    if out is None or not (out / "config.json").is_file():
        return f"adage: interrupted before the run began; run again: adage {shlex.join(words)}"
    if "--out" not in words:
        words += ["--out", str(out)]
    if "--resume" not in words:
        words.append("--resume")
    try:
        found = read_checkpoint(out / CHECKPOINT)
    except CheckpointError:
        found = None
    if found is None:
        kept = "no finished phase yet (the warm-up goes on from its last snapshot)"
    else:
        kept = "the warm-up" if found.epoch == 0 else f"epoch {found.epoch}"
    return f"adage: interrupted; {out} keeps {kept}; resume with: adage {shlex.join(words)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``adage``; returns the exit status (2 for bad input, as argparse's)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a flag argparse refused (it printed why)
        return 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 2
    out: Path | None = None
    if args.command == "eval":
        try:
            return evaluate_run(args)
        except (ValueError, FileNotFoundError) as err:
            print(f"adage: error: {err}", file=sys.stderr)
            return 2
    try:
        if args.leader is not None and args.leader not in LEADERS:
            raise ValueError(f"--leader {args.leader!r} is unknown; allowed are {sorted(LEADERS)}")
        experiment = build_experiment(args.spec, args.target_theta, args.data, args.set)
        if args.followers is not None:
            timescales = replace(experiment.timescales, followers=args.followers)
            experiment = replace(experiment, timescales=timescales)
        out = args.out or Path("runs") / f"{experiment.name}-seed{args.seed}"
        check_out(out)
        if args.restart:
            if args.resume:
                raise ValueError("--resume and --restart exclude each other; pass one")
            RunRecord.discard(out)
        # Last, after every check: a Ray executor starts a local cluster as it is made.
        executor = make_executor(args.executor, workers=args.workers, address=args.address)
        with executor:
            result: RunResult = LeaderScheduler(
                experiment,
                out,
                seed=args.seed,
                epochs=args.epochs,
                leader=args.leader,
                executor=executor,
                storage=args.storage,
                resume=args.resume,
                progress=not args.quiet,
                snapshot_seconds=args.snapshot_seconds,
                followers_from=args.followers_from,
            ).run()
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"adage: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted(argv, out), file=sys.stderr)
        return 130
    print(result_table(experiment.space, result.theta, experiment.target_theta, result.uncertainty))
    print(f"objective {result.objective:.4g}; run folder {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
