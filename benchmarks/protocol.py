"""Development and held-out sets (issue 22): who may read which, and what a held-out row records.

Settings (statistics, budgets, interval methods, test thresholds) are chosen on the development
set, ``benchmarks/development.json``. Numbers are reported on the held-out set,
``benchmarks/heldout.json``, drawn once by ``benchmarks/draw_heldout.py`` before any method of
issue 22 changed. Every benchmark script declares at module level what its output is for:

- ``ROLE = "select"``: it chooses a setting. It reads :func:`development` only.
- ``ROLE = "report"``: it measures a number RESULTS.md reports, and nothing is tuned on its
  output. It may read :func:`heldout`, and writes each row with :func:`record`, which adds the
  commit the row was made on.

:func:`heldout` refuses a caller that selects, and one that does not say it reports;
``tests/test_protocol.py`` checks the scripts' source as well. Like ``harness``, this module
uses the standard library only.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import harness

ROLES = ("select", "report")
PURPOSES = ("cobweb", "entrance", "taxation")
"""The benchmarks the sets serve: cobweb calibration (``trust.py``, ``calibration.py``,
``black_it_baseline.py``), calm and stress (``entrance.py``), and taxation (``taxation.py``)."""
HELDOUT = harness.ROOT / "benchmarks" / "heldout.json"
DEVELOPMENT = harness.ROOT / "benchmarks" / "development.json"
HELDOUT_RUNS = harness.RUNS / "heldout"
"""Run folders and pickled reference learners of held-out runs, apart from the development
runs' (``benchmarks/runs/trust/`` and the like), so no selecting script finds them there."""
OUTPUTS = ("benchmarks/results", "benchmarks/RESULTS.md")
"""What benchmarks write as they run: changes there do not make the tree dirty."""

_read: set[str] = set()


class HeldOutError(PermissionError):
    """The held-out set was asked for by code that selects settings, or that does not report."""


def development(purpose: str) -> dict[str, Any]:
    """The development set of one benchmark: for choosing settings (and any other use).

    Args:
        purpose: One of :data:`PURPOSES`.

    Returns:
        Its section of ``development.json``: ``cobweb`` has ``runs`` (drawn like the held-out
        ones) and ``spent_runs`` (those ``trust.py`` recorded), each a ``target``, a run
        ``seed`` and a ``reference_seed``; ``entrance`` and ``taxation`` have run ``seeds``
        and ``episode_seeds``.
    """
    section = _section(DEVELOPMENT, purpose)
    _read.add(f"development:{purpose}")
    return section


def heldout(purpose: str) -> dict[str, Any]:
    """The held-out set of one benchmark: for reporting only.

    Reading it also reads the checkout's commit (:func:`provenance`), so the rows of this
    process record the code as it was when the set was read.

    Args:
        purpose: One of :data:`PURPOSES`.

    Returns:
        Its section of ``heldout.json``: ``cobweb`` has ``runs``, each a ``target``, a run
        ``seed`` and the ``reference_seed`` of the data's producers (they train from
        ``reference_seed + i``, ``i < populations``); ``entrance`` and ``taxation`` have run
        ``seeds`` and ``episode_seeds``.

    Raises:
        HeldOutError: If a module on the call stack, or the script being run, declares
            ``ROLE = "select"``, or if none declares ``ROLE = "report"``.
        RuntimeError: If git cannot name the commit.
    """
    _check_caller(inspect.currentframe())
    _tree()
    section = _section(HELDOUT, purpose)
    _read.add(f"heldout:{purpose}")
    return section


def require_development(
    seeds: Iterable[int] = (), targets: Iterable[Mapping[str, float]] = ()
) -> None:
    """Refuse held-out seeds or targets given to a selecting script from outside.

    A script that selects and takes seeds, targets or a run folder on its command line calls
    this with them before it uses them.

    Raises:
        HeldOutError: Naming the held-out seeds and targets among those given.
    """
    taken = values(json.loads(HELDOUT.read_text()))
    found = [s for s in seeds if s in taken.seeds]
    found += [dict(t) for t in targets if _key(t) in taken.targets]
    if found:
        raise HeldOutError(
            f"{found} belong to the held-out set ({HELDOUT.name}), which only reports; choose "
            f"settings on the development set: protocol.development(purpose)"
        )


def provenance() -> dict[str, Any]:
    """Where a row was made: the commit, whether the code differed from it, and the sets read.

    ``changed`` lists the tracked and untracked files that differed from the commit when this
    process first read the held-out set or made a row (outputs under :data:`OUTPUTS` aside);
    ``dirty`` is whether it is non-empty. A held-out figure is a headline only if ``dirty`` is
    false.
    """
    commit, changed = _tree()
    return {
        "commit": commit,
        "dirty": bool(changed),
        "changed": list(changed),
        "heldout_sha256": hashlib.sha256(HELDOUT.read_bytes()).hexdigest()[:16],
        "read": sorted(_read),
    }


def record(path: Path, row: dict[str, Any]) -> None:
    """:func:`harness.record` with the row's :func:`provenance`: how a held-out row is written."""
    harness.record(path, {**row, "provenance": provenance()})


def _section(path: Path, purpose: str) -> dict[str, Any]:
    if purpose not in PURPOSES:
        raise ValueError(f"purpose={purpose!r}; allowed are {list(PURPOSES)}")
    return json.loads(path.read_text())[purpose]


def _roles(frame: FrameType | None) -> list[tuple[str, str]]:
    """``(module, ROLE)`` of each module on the call stack that declares one, and of the script.

    The script (``__main__``) is checked apart too: a thread or a callback may call in with a
    stack that no longer reaches it.

    Raises:
        ValueError: If a module declares a ROLE other than :data:`ROLES`.
    """
    modules = []
    while frame is not None:
        modules.append(frame.f_globals)
        frame = frame.f_back
    main = sys.modules.get("__main__")
    if main is not None:
        modules.append(vars(main))
    found: list[tuple[str, str]] = []
    for module in modules:
        if "ROLE" not in module:
            continue
        name, role = module.get("__file__") or module["__name__"], module["ROLE"]
        if role not in ROLES:
            raise ValueError(f"{name} declares ROLE = {role!r}; allowed are {list(ROLES)}")
        if (name, role) not in found:
            found.append((name, role))
    return found


def _check_caller(frame: FrameType | None) -> None:
    roles = _roles(frame)
    selecting = [module for module, role in roles if role == "select"]
    if selecting:
        raise HeldOutError(
            f"{selecting[0]} declares ROLE = 'select' and asked for the held-out set: settings "
            "are chosen on protocol.development(purpose) only; the held-out set is read by "
            "scripts that declare ROLE = 'report' and choose nothing"
        )
    if not roles:
        raise HeldOutError(
            "the held-out set is read only by a benchmark script that declares "
            "ROLE = 'report' at module level (benchmarks/protocol.py); no caller declares a ROLE"
        )


@functools.cache
def _tree() -> tuple[str, tuple[str, ...]]:
    """The commit and the files that differ from it, read once per process."""
    commit = _git("rev-parse", "HEAD").strip()
    excluded = [f":(exclude){path}" for path in OUTPUTS]
    status = _git("status", "--porcelain", "--", ".", *excluded)
    return commit, tuple(line[3:] for line in status.splitlines() if line)


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=harness.ROOT, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as err:
        raise RuntimeError(
            "git is not installed: a held-out row must name the commit it was made on"
        ) from err
    if done.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(args)} failed in {harness.ROOT}: {done.stderr.strip()}; a held-out "
            "row must name the commit it was made on: run from a git checkout"
        )
    return done.stdout


@dataclass(frozen=True)
class Values:
    """Every seed of a set (reference learners' populations included) and every target."""

    seeds: frozenset[int]
    targets: frozenset[tuple[float, float]]


def values(sets: Mapping[str, Any]) -> Values:
    """The seeds and targets of a parsed set file, as the guard compares them.

    Not for taking runs from: a benchmark takes them from :func:`heldout` or
    :func:`development`.
    """
    seeds: set[int] = set()
    targets: set[tuple[float, float]] = set()
    cobweb = sets["cobweb"]
    for run in [*cobweb.get("runs", []), *cobweb.get("spent_runs", [])]:
        targets.add(_key(run["target"]))
        seeds.add(run["seed"])
        seeds.update(run["reference_seed"] + i for i in range(cobweb["populations"]))
    targets.update(_key(t) for t in cobweb.get("spent_targets", []))
    for purpose in ("entrance", "taxation"):
        for key in ("seeds", "episode_seeds", "fresh_episode_seeds"):
            seeds.update(sets[purpose].get(key, []))
    for name, span in sets.get("spent_seeds", {}).items():
        if name != "why":
            seeds.update(range(span[0], span[1] + 1))
    return Values(frozenset(seeds), frozenset(targets))


def _key(theta: Mapping[str, float]) -> tuple[float, float]:
    return (float(theta["lam"]), float(theta["inertia"]))
