"""Every ``adage`` command the README and the docs show works, as written, at a reduced budget.

Collected: each line of a fenced code block (```` ```bash ````, ```` ```console ````,
```` ```sh ```` or a plain ```` ``` ````) of ``README.md`` and ``docs/**/*.md`` that starts
with ``adage `` (after an optional ``$`` prompt), with its ``\\`` continuation lines joined and
its trailing ``# comment`` dropped. A command shown twice runs once. Lines that are not
``adage`` commands are not run here: ``pip install ...`` (the README's two commands are the
ones ``.ci/run`` runs), ``solara run visualization/...`` (one page of the app;
``tests/test_visualization.py`` serves the app's pages in Chromium), ``python
docs/screenshots.py``, ``python visualization/...`` and ``python benchmarks/...`` (minutes to
hours each), ``ray start`` and ``sphinx-build`` (``tests/test_docs.py`` builds the site).

Each command runs through :func:`mesa_adage.cli.main` in this process, in a fresh temporary
folder: the run folder lands where the docs say (``runs/<experiment>-seed<seed>/``, or the
command's ``--out``) and a command that names a run folder of an earlier one finds it there.

- ``adage run``: with :data:`BUDGET` appended, flag by flag, unless the command sets that flag
  or that timescale itself (``--followers`` sets ``followers``): then its value stands
  (``eval_rollouts`` is raised to the followers, who each play an episode). It must exit 0
  and write ``summary.json``.

  - A calibration that reads no synthetic-data option (``--data``, ``--target-theta``,
    ``--set reference=``/``series=``) also gets ``--data my_prices.csv``, a small file of
    Hommes et al.'s adaptive forecasters' prices: synthetic data train three populations of
    reference producers first (about 80 s). The README's main job, which ``.ci/run`` runs in
    full, covers the default synthetic data; ``--target-theta`` and ``--set series=price``
    keep theirs, with the reference producers trained :data:`REFERENCE_STEPS` steps
    (``--set reference_steps=``).
  - A file the command names (``--data b.csv``) is written first, the same way.
  - ``--resume``: first the same command without it, stopped after epoch 1 of 2
    (``--epochs 1``); then the command, with ``--epochs 2``, must go on to epoch 2.
  - ``--restart``: first the same command without it; then the command starts afresh.
  - ``--followers-from RUN``: first ``adage run SPEC --out RUN``, at the same budget.
  - ``--executor ray`` (no ``--address``): a local Ray; skipped when Ray is not installed
    (the ``ray`` extra; the ``test`` extra has it).
  - ``--address HOST:PORT`` and ``--storage postgresql://...`` name a server that is not
    here: the parser must accept the command (:data:`SERVERS` names the test that runs the
    same against a real one: a two-node Ray cluster, a PostgreSQL server).

- ``adage eval RUN_DIR``: first ``adage run SPEC`` with the command's ``--spec``, which must
  write ``RUN_DIR``; then the command, with ``--points 2 --specialist-steps 500`` in place of
  its own (the robust task's command sets 5 and 60000: about a minute) and ``--quiet``.
- ``adage run ... --posterior npe``: with ``--posterior-simulations`` :data:`POSTERIOR_SIMULATIONS`
  in place of its own; ``adage posterior RUN_DIR --data F``: first ``adage run calibration
  --posterior npe --out RUN_DIR`` (reduced, on ``my_prices.csv``); ``F`` holds other markets
  of the same shape; the command must print a credible interval per parameter.
- ``adage app`` serves until Ctrl-C: the parser must accept it
  (``tests/test_wheel.py::test_adage_app_opens_every_model_page`` serves it, installed from
  the wheel, and opens every page in Chromium).

A documented command that stops working (a renamed flag, a task name, a run folder that moved)
fails here.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from mesa_adage.cli import main, parser
from mesa_adage.examples import TASKS

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"

BUDGET = {
    "--epochs": "1",
    "--executor": "serial",
    "--timescale": {
        "warmup_steps": "2000",
        "follower_steps": "0",
        "candidates": "2",
        "eval_rollouts": "2",
        "final_top_k": "1",
        "followers": "1",
    },
}
"""The reduced budget appended to every ``adage run`` (and ``--quiet``): seconds a run."""

REFERENCE_STEPS = 3000
"""Training steps of the reference producers that make a calibration's synthetic data (600k by
default: about 80 s for the three populations)."""

EVAL_BUDGET = {"--points": "2", "--specialist-steps": "500"}
"""The reduced budget appended to every ``adage eval`` (and ``--quiet``)."""

POSTERIOR_SIMULATIONS = "40"
"""Simulated data sets of a reduced run with ``--posterior`` (in place of the command's own)."""

SERVERS = {
    "--address": "tests/test_ray_cluster.py::test_a_run_on_the_cluster_equals_the_serial_run",
    "--storage": "tests/test_shared_study.py::"
    "test_two_runs_started_at_once_on_a_fresh_database_share_its_study",
}
"""Flags that name a server this test cannot reach, and the test that runs one for real."""

APP_TEST = "tests/test_wheel.py::test_adage_app_opens_every_model_page"
"""The test that serves ``adage app`` and opens its pages."""

SYNTHETIC = ("--data", "--target-theta", "--set reference=", "--set series=")
"""A calibration with one of these chooses its data; any other gets ``--data my_prices.csv``."""

FENCE = re.compile(r"^(`{3,})\s*([\w-]*)\s*$")
SHELL = {"", "bash", "console", "sh", "shell"}
COMMENT = re.compile(r"(^|\s)#.*$")


@dataclass
class Command:
    """One documented command and the places that show it."""

    argv: list[str]
    where: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return shlex.join(["adage", *self.argv])


def pages() -> list[Path]:
    docs = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.relative_to(DOCS).parts)
    return [ROOT / "README.md", *docs]


def shell_lines(page: Path) -> list[tuple[int, str]]:
    """The lines of the page's shell blocks, continuations joined, with their line numbers."""
    lines, found = page.read_text().splitlines(), []
    fence, shell, pending, start = None, False, "", 0
    for number, line in enumerate(lines, 1):
        opening = FENCE.match(line) if fence is None else None
        if opening:
            fence, shell = opening[1], opening[2] in SHELL
            continue
        if fence is not None and line.strip() == fence:
            fence = None
            continue
        if fence is None or not shell:
            continue
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        found.append((start, pending + line))
        pending = ""
    return found


def documented_commands() -> list[Command]:
    commands: dict[str, Command] = {}
    for page in pages():
        for number, line in shell_lines(page):
            line = line.strip().removeprefix("$ ")
            if not line.startswith("adage "):
                continue
            words = shlex.split(COMMENT.sub("", line))
            command = Command(words[1:])
            command = commands.setdefault(command.text, command)
            command.where.append(f"{page.relative_to(ROOT)}:{number}")
    return list(commands.values())


COMMANDS = documented_commands()


# ------------------------------------------------------------------------ what runs them


def value(argv: list[str], flag: str) -> str | None:
    """The value ``argv`` gives ``flag`` (``--flag V`` or ``--flag=V``), else None."""
    for i, word in enumerate(argv):
        if word == flag and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def sets(argv: list[str], flag: str) -> bool:
    return flag in argv or any(w.startswith(flag + "=") for w in argv)


def options(argv: list[str], flag: str) -> list[str]:
    """Every value of a repeatable ``flag``."""
    return [argv[i + 1] for i, w in enumerate(argv[:-1]) if w == flag]


def drop(argv: list[str], flag: str) -> list[str]:
    """``argv`` without ``flag`` and its value."""
    i = argv.index(flag) if flag in argv else -1
    return argv if i < 0 else argv[:i] + argv[i + 2 :]


def without(argv: list[str], *flags: str) -> list[str]:
    return [w for w in argv if w not in flags]


def reduced_run(argv: list[str]) -> list[str]:
    """``adage run`` ARGV with :data:`BUDGET` (and ``--data my_prices.csv``) where it sets none."""
    extra = [] if "--quiet" in argv else ["--quiet"]
    for flag in ("--epochs", "--executor"):
        if not sets(argv, flag):
            extra += [flag, BUDGET[flag]]
    given = dict(o.split("=", 1) for o in options(argv, "--timescale"))
    if sets(argv, "--followers"):
        given["followers"] = value(argv, "--followers")
    for name, number in BUDGET["--timescale"].items():
        if name == "eval_rollouts":  # every follower plays one of a candidate's episodes
            number = str(max(int(number), int(given.get("followers", 1))))
        if name not in given:
            extra += ["--timescale", f"{name}={number}"]
    if sets(argv, "--posterior"):
        argv = drop(argv, "--posterior-simulations")
        extra += ["--posterior-simulations", POSTERIOR_SIMULATIONS]
    line = shlex.join(argv)
    if TASKS.get(argv[1], argv[1]).endswith(":calibration"):
        if not any(s in line for s in SYNTHETIC):
            extra += ["--data", "my_prices.csv"]
        elif "--data" not in argv and "reference_steps=" not in line:
            extra += ["--set", f"reference_steps={REFERENCE_STEPS}"]
    return argv + extra


def write_prices(path: Path, lam: float = 0.6, inertia: float = 0.5) -> None:
    """Eight 20-period cobweb markets of adaptive forecasters: ``episode,price``."""
    from mesa_adage.examples.models.cobweb_market import heuristic_market

    frame = heuristic_market(lam, inertia, "adaptive", list(range(8)), horizon=20)
    frame[["episode", "price"]].to_csv(path, index=False)


def run(argv: list[str]) -> None:
    code = main(argv)
    assert code == 0, f"adage {shlex.join(argv)} exited with {code}"


def run_folder(argv: list[str], before: set[Path]) -> Path:
    """The run folder ``adage run ARGV`` wrote: its ``--out``, else the one new in runs/."""
    out = value(argv, "--out")
    if out is not None:
        return Path(out)
    new = sorted({p.parent for p in Path("runs").glob("*/summary.json")} - before)
    assert len(new) == 1, f"expected one new run folder under runs/, found {new}"
    return new[0]


def write_data(argv: list[str]) -> None:
    """The data files ``argv`` reads, when not there yet (``b.csv``: other markets)."""
    for name in options(argv, "--data"):
        if not Path(name).exists():
            write_prices(Path(name), *((0.6, 0.5) if name == "my_prices.csv" else (0.4, 0.3)))


def check_run(command: list[str]) -> None:
    argv = reduced_run(command)
    lender = value(argv, "--followers-from")
    if lender is not None:  # the run whose followers it borrows
        borrowed = reduced_run(["run", argv[1], "--out", lender])
        write_data(borrowed)
        run(borrowed)
    epochs = None
    if "--resume" in argv or "--restart" in argv:  # the run it resumes, or discards
        if "--resume" in argv and not sets(command, "--epochs"):  # stopped after 1 epoch of 2
            argv = reduced_run([*command, "--epochs", "2"])
            first = reduced_run([*without(command, "--resume"), "--epochs", "1"])
        else:
            first = without(argv, "--resume", "--restart")
        write_data(first)
        run(first)
        epochs = int(value(argv, "--epochs"))
    write_data(argv)
    before = {p.parent for p in Path("runs").glob("*/summary.json")}
    run(argv)
    folder = run_folder(argv, before)
    assert (folder / "summary.json").is_file(), f"no summary.json in {folder}"
    if epochs is not None:
        history = pd.read_csv(folder / "history.csv")
        assert list(history["epoch"]) == list(range(1, epochs + 1)), history["epoch"]


def check_eval(argv: list[str]) -> None:
    folder = Path(argv[1])
    before = {p.parent for p in Path("runs").glob("*/summary.json")}
    made = reduced_run(["run", value(argv, "--spec")])
    run(made)
    assert folder.is_dir(), (
        f"`adage {shlex.join(made[:2])}` wrote {run_folder(made, before)}, not {folder}"
    )
    extra = [] if "--quiet" in argv else ["--quiet"]
    for flag, number in EVAL_BUDGET.items():  # the command's own budget is minutes
        argv = drop(argv, flag)
        extra += [flag, number]
    run(argv + extra)
    assert (folder / "generalization.json").is_file()


_POSTERIOR_RUNS: dict[str, Path] = {}
"""Run folders made for ``adage posterior`` commands, by folder name: one run serves them all."""


def check_posterior(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    folder = Path(argv[1])
    if argv[1] in _POSTERIOR_RUNS:
        shutil.copytree(_POSTERIOR_RUNS[argv[1]], folder)
    else:
        made = reduced_run(["run", "calibration", "--posterior", "npe", "--out", str(folder)])
        write_data(made)
        run(made)
        _POSTERIOR_RUNS[argv[1]] = folder.resolve()
    assert (folder / "posterior" / "estimator.pt").is_file(), f"no estimator in {folder}"
    for name in options(argv, "--data"):
        write_prices(Path(name), 0.4, 0.3)
    capsys.readouterr()
    run(argv)
    printed = capsys.readouterr().out
    for parameter in ("lam", "inertia"):
        assert re.search(rf"^{parameter}\s.*\[.*, .*\]$", printed, re.M), printed


def covered_by(test: str) -> None:
    """The test that runs the command's server for real is still there."""
    path, name = test.split("::")
    assert f"def {name}(" in (ROOT / path).read_text(), f"{test} is gone"


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.text)
def test_the_documented_command_works(command, tmp_path, monkeypatch, capsys):
    argv, where = command.argv, ", ".join(command.where)
    monkeypatch.chdir(tmp_path)
    if "-h" in argv or "--help" in argv:
        assert main(argv) == 0, where
        return
    try:
        parser().parse_args(argv)
    except SystemExit:  # argparse printed why: an unknown flag, a missing argument, ...
        pytest.fail(f"{where}: adage refuses `{command.text}`")
    if argv[0] == "app":
        covered_by(APP_TEST)
        return
    servers = [flag for flag in SERVERS if sets(argv, flag)]
    if servers:
        for flag in servers:
            covered_by(SERVERS[flag])
        return
    if value(argv, "--executor") == "ray" and importlib.util.find_spec("ray") is None:
        pytest.skip("--executor ray needs Ray: pip install -e '.[ray]'")
    if argv[0] == "run":
        check_run(argv)
    elif argv[0] == "eval":
        check_eval(argv)
    elif argv[0] == "posterior":
        check_posterior(argv, capsys)
    else:
        pytest.fail(f"{where}: no way to run `{command.text}`: add one beside check_run")


# ------------------------------------------------------------------ what is collected


def test_the_docs_commands_are_collected():
    texts = [c.text for c in COMMANDS]
    assert len(texts) >= 15, texts
    assert "adage app" in texts
    assert any(t.startswith("adage eval ") for t in texts), texts
    for task in TASKS:  # the README's table names them inline; a docs block shows each
        assert f"adage run {task}" in texts, task


def test_a_continued_and_commented_line_is_one_command():
    evaluation = next(c for c in COMMANDS if c.argv[0] == "eval")
    assert "--specialist-steps" in evaluation.argv and "\\" not in evaluation.argv
    assert all(not w.startswith("#") for c in COMMANDS for w in c.argv)
