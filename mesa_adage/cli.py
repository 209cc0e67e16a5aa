"""The ``adage`` command line: ``adage run``, ``adage eval``, ``adage posterior``, ``adage app``."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from mesa_adage.analysis.evaluation import evaluate_run_folder, parse_range
from mesa_adage.analysis.posterior import (
    DEFAULT_SIMULATIONS,
    DRAWS,
    KINDS,
    METHODS,
    MissingExtraError,
    PosteriorRequest,
    answer_run_folder,
    posterior_lines,
)
from mesa_adage.analysis.reporting import RunResult
from mesa_adage.analysis.table import game_lines, result_table
from mesa_adage.examples import TASKS
from mesa_adage.inner.checks import from_user_code
from mesa_adage.outer.leaders import LEADERS
from mesa_adage.run.executors import EXECUTORS, make_executor
from mesa_adage.run.record import RunRecord
from mesa_adage.run.scheduler import LeaderScheduler
from mesa_adage.specs import build_experiment, resolve_spec, timescale_options

__all__ = ["build_experiment", "main", "parse_range", "parser", "resolve_spec", "result_table"]

APP = "mesa_adage.examples.visualization.app"
"""The module ``adage app`` serves: the four models' pages, the replay, side by side."""


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
    run.add_argument(
        "spec",
        help=f"a task ({', '.join(TASKS)}) or an experiment's import path, e.g. mymodel:calib",
    )
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
        "for the calibration (repeatable)",
    )
    run.add_argument(
        "--timescale",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one of the experiment's timescales (its budget), e.g. --timescale "
        "warmup_steps=20000 --timescale candidates=4 (repeatable; see Timescales)",
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
        default=os.environ.get("ADAGE_EXECUTOR", "auto"),
        help=f"where followers train and candidates are evaluated: auto, {', '.join(EXECUTORS)} "
        "(default $ADAGE_EXECUTOR, else auto: a process pool on more than one CPU; every "
        "executor gives the same results)",
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
    run.add_argument(
        "--posterior",
        metavar="METHOD",
        help=f"calibration: also build an amortised posterior at the end, one of "
        f"{', '.join(METHODS)} (neural posterior estimation on the followers; needs pip install "
        '"mesa-adage[sbi]"); writes posterior/ and credible intervals',
    )
    run.add_argument(
        "--posterior-simulations",
        type=integer(20),
        metavar="N",
        help=f"simulated data sets the posterior trains on (default {DEFAULT_SIMULATIONS})",
    )
    run.add_argument(
        "--prior",
        action="append",
        default=[],
        metavar="NAME=KIND(A,B)",
        help=f"the posterior's prior of one characteristic, KIND one of {', '.join(KINDS)} "
        "(truncated to its range), e.g. lam=normal(0.6,0.1); repeat per characteristic; the "
        "rest stay uniform over their range",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    post = sub.add_parser(
        "posterior",
        help="answer a new data set from a finished run's posterior, without simulating",
        description="Load the posterior estimator of a run made with --posterior, summarise "
        "the data as the run did, and print each parameter's posterior mean and credible "
        "interval.",
    )
    post.add_argument("run_dir", type=Path, help="a run folder written by adage run --posterior")
    post.add_argument(
        "--data", required=True, type=Path, help="CSV of observed series, shaped as the run's"
    )
    post.add_argument(
        "--draws", type=integer(100), default=DRAWS, help=f"posterior samples (default {DRAWS})"
    )
    post.add_argument(
        "--seed", type=integer(0), help="seed of the samples (default: the run's estimator's)"
    )
    post.add_argument("--samples", type=Path, metavar="CSV", help="also write the samples here")
    ev = sub.add_parser(
        "eval",
        help="generalisation report of a run folder: interpolation against extrapolation",
        description="Score a run's final policy on a grid across the full range of theta "
        "against specialists trained at each grid point; write generalization.csv, .json and "
        ".png into the run folder.",
    )
    ev.add_argument("run_dir", type=Path, help="a run folder written by adage run")
    ev.add_argument("--spec", required=True, help="the experiment the run used, e.g. calibration")
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
    app = sub.add_parser(
        "app",
        help="serve the app: the four models' pages, the leader replay, side by side",
        description="Serve the examples' Solara app (solara run) until Ctrl-C.",
    )
    app.add_argument("--host", default="localhost", help="address to bind (default localhost)")
    app.add_argument("--port", type=integer(1), default=8765, help="port (default 8765)")
    return top


def evaluate_run(args: argparse.Namespace) -> int:
    """``adage eval``: the generalisation report of a run folder, written into it."""
    table = evaluate_run_folder(
        args.run_dir,
        args.spec,
        parse_range(args.train_range),
        points=args.points,
        specialist_steps=args.specialist_steps,
        episodes=args.episodes,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(table)
    print(f"wrote generalization.csv, generalization.json, generalization.png to {args.run_dir}")
    return 0


def answer_posterior(args: argparse.Namespace) -> int:
    """``adage posterior``: a finished run's estimator answers a new data set."""
    start = time.perf_counter()
    report, samples = answer_run_folder(args.run_dir, args.data, draws=args.draws, seed=args.seed)
    if args.samples is not None:
        samples.to_csv(args.samples, index=False)
    print("\n".join(posterior_lines(report)))
    seconds = time.perf_counter() - start
    print(f"posterior of {args.data} from {args.run_dir} in {seconds:.1f} s (no simulation)")
    return 0


def interrupted(argv: Sequence[str] | None, out: Path | None) -> str:
    """The one line ``adage run`` prints on Ctrl-C: what is kept, and the command to go on."""
    words = [w for w in (sys.argv[1:] if argv is None else argv) if w != "--restart"]
    kept = None if out is None else RunRecord(out).kept()
    if kept is None:
        return f"adage: interrupted before the run began; run again: adage {shlex.join(words)}"
    words += [] if "--out" in words else ["--out", str(out)]
    words += [] if "--resume" in words else ["--resume"]
    return f"adage: interrupted; {out} keeps {kept}; resume with: adage {shlex.join(words)}"


def serve_app(host: str, port: int) -> None:
    """Become ``solara run`` serving the examples' app, until interrupted.

    The process is replaced, not forked, so a signal that stops ``adage app`` stops the server
    (a child would outlive a terminated parent). Production mode: no file watching, which an
    installed app does not need and which costs an inotify instance per watched folder.
    """
    command = [sys.executable, "-m", "solara", "run", APP, "--production"]
    command += ["--host", host, "--port", str(port)]
    print(f"adage: serving the app at http://{host}:{port} (Ctrl-C stops it)", file=sys.stderr)
    sys.stderr.flush()
    os.execv(sys.executable, command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``adage``; returns the exit status (2 for bad input, as argparse's)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a flag argparse refused (it printed why)
        return 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 2
    if args.command == "app":
        serve_app(args.host, args.port)
    out: Path | None = None
    if args.command == "eval":
        try:
            return evaluate_run(args)
        except (ValueError, FileNotFoundError) as err:
            print(f"adage: error: {err}", file=sys.stderr)
            return 2
    if args.command == "posterior":
        try:
            return answer_posterior(args)
        except (ValueError, FileNotFoundError, MissingExtraError) as err:
            print(f"adage: error: {err}", file=sys.stderr)
            return 2
    try:
        if args.leader is not None and args.leader not in LEADERS:
            raise ValueError(f"--leader {args.leader!r} is unknown; allowed are {sorted(LEADERS)}")
        posterior = None
        if args.posterior is not None:
            simulations = args.posterior_simulations or DEFAULT_SIMULATIONS
            posterior = PosteriorRequest(args.posterior, simulations, tuple(args.prior))
        elif args.posterior_simulations is not None or args.prior:
            given = (
                f"--posterior-simulations {args.posterior_simulations}"
                if args.posterior_simulations is not None
                else f"--prior {args.prior[0]}"
            )
            raise ValueError(f"{given} needs --posterior (one of {list(METHODS)})")
        experiment = build_experiment(args.spec, args.target_theta, args.data, args.set)
        followers = [f"followers={args.followers}"] if args.followers is not None else []
        timescales = timescale_options(experiment.timescales, args.timescale + followers)
        experiment = replace(experiment, timescales=timescales)
        out = args.out or Path("runs") / f"{experiment.name}-seed{args.seed}"
        RunRecord(out).check_writable()
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
                posterior=posterior,
            ).run()
    except (ValueError, FileNotFoundError, FileExistsError, MissingExtraError) as err:
        if from_user_code(err):  # a bug in the user's own callable, not bad input
            raise
        print(f"adage: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted(argv, out), file=sys.stderr)
        return 130
    print(
        result_table(
            experiment.space,
            result.theta,
            experiment.target_theta,
            result.uncertainty,
            result.search_fell_short,
            result.posterior,
            result.answer_on_fresh_episodes,
        )
    )
    if result.game is not None:
        print("\n".join(game_lines(result.game)))
    print(f"objective {result.objective:.4g}; run folder {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
