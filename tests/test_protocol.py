"""The held-out protocol (benchmarks/protocol.py, issue 22): the guard, the sets, their draw.

Two layers keep a selecting benchmark away from the held-out set. The source check reads every
script that declares ``ROLE = "select"`` and fails on any way in it can see: a name or a path
that says ``heldout``, or a held-out seed or target copied in as a literal. At run time,
``protocol.heldout`` refuses when a selecting module is on the call stack, which also covers
what a source check cannot see (a name built at run time, a reporting module called from a
selecting one). Each layer is tested against the ways in it must catch, built from the real
held-out set, so a check that could not fail would fail here.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the scripts import their siblings, as `python X.py` does

import draw_heldout  # noqa: E402
import harness  # noqa: E402
import protocol  # noqa: E402

NOT_SCRIPTS = {"harness.py", "protocol.py", "draw_heldout.py"}
"""Shared code and the draw: not benchmarks, so they declare no role."""
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if p.name not in NOT_SCRIPTS)
FOLDERS = ("benchmarks", "tests", "models", "agents", "examples", "mesa_adage", "visualization")
SOURCES = sorted(
    p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if p.name != "draw_heldout.py"
)
"""Where a copied held-out value would be a way around the guard."""
HELDOUT = json.loads(protocol.HELDOUT.read_text())
DEVELOPMENT = json.loads(protocol.DEVELOPMENT.read_text())
HELD = protocol.values(HELDOUT)


def declared_role(tree: ast.Module) -> object:
    """The value of a module-level ``ROLE = "..."``, or None."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["ROLE"]
            and isinstance(node.value, ast.Constant)
        ):
            return node.value.value
    return None


def names_heldout(tree: ast.Module) -> list[str]:
    """Names (imports, attributes, variables) and strings that lead to the held-out set."""
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.alias):
            names = [node.name, node.asname or ""]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, ast.keyword):
            names = [node.arg or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [] if id(node) in docstrings else [node.value]
        else:
            names = []
        found += [f"line {node.lineno}: {n!r}" for n in names if "heldout" in n.lower()]
    return found


def copied_values(tree: ast.Module, held: protocol.Values) -> list[str]:
    """Held-out seeds written as literals, and held-out targets whose coordinates both are."""
    found, floats = [], set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
            continue
        if isinstance(node.value, int) and node.value in held.seeds:
            found.append(f"line {node.lineno}: the held-out seed {node.value}")
        elif isinstance(node.value, float):
            floats.add(node.value)
    found += [
        f"the held-out target lam={lam}, inertia={eta}"
        for lam, eta in sorted(held.targets)
        if lam in floats and eta in floats
    ]
    return found


def reaches_heldout(source: str, held: protocol.Values = HELD) -> list[str]:
    """Every way a selecting script's ``source`` reaches the held-out set."""
    tree = ast.parse(source)
    return names_heldout(tree) + copied_values(tree, held)


def roles() -> dict[str, object]:
    return {p.name: declared_role(ast.parse(p.read_text())) for p in SCRIPTS}


# --- the source check ---------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_benchmark_declares_its_role(script):
    role = declared_role(ast.parse(script.read_text()))
    assert role in protocol.ROLES, (
        f"{script.name} declares no module-level ROLE in {protocol.ROLES}: add ROLE = 'select' "
        "if its output chooses a setting, 'report' if it only measures (benchmarks/protocol.py)"
    )


def test_the_benchmarks_that_choose_settings_select():
    selecting = {name for name, role in roles().items() if role == "select"}
    assert {"price_statistics.py", "follower_response.py", "calibration.py"} <= selecting


@pytest.mark.parametrize(
    "script", [p for p in SCRIPTS if roles()[p.name] == "select"], ids=lambda p: p.name
)
def test_a_selecting_benchmark_never_reaches_the_heldout_set(script):
    assert reaches_heldout(script.read_text()) == []


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_source_copies_a_heldout_value(source):
    # held-out values live in heldout.json alone, read through protocol.heldout
    assert copied_values(ast.parse(source.read_text()), HELD) == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmarks_read_the_heldout_file_only_through_the_protocol(script):
    # reading the file directly would skip the runtime guard and the row's commit
    assert "heldout.json" not in script.read_text()


def ways_in() -> dict[str, str]:
    """Selecting scripts that each reach the held-out set one way, made from the real set."""
    run = HELDOUT["cobweb"]["runs"][7]
    lam, eta = run["target"]["lam"], run["target"]["inertia"]
    episode = HELDOUT["entrance"]["episode_seeds"][3]
    return {
        "a call": "import protocol\nRUNS = protocol.heldout('cobweb')['runs']",
        "an import": "from protocol import heldout\n",
        "an alias": "import protocol as p\nread = p.heldout\n",
        "its run folders": "import protocol\nFOLDER = protocol.HELDOUT_RUNS / 'x'\n",
        "the file": "import json\nSETS = json.loads(open('benchmarks/heldout.json').read())\n",
        "a path": "from pathlib import Path\nPICKLES = Path('benchmarks/runs/heldout')\n",
        "a run seed": f"SEEDS = [0, 1, {run['seed']}]\n",
        "a reference learner": f"MAKERS = reference_policies({{}}, {run['reference_seed'] + 2})\n",
        "a target": f"TARGET = {{'lam': {lam}, 'inertia': {eta}}}\n",
        "an episode seed": f"def score(policy, seed={episode}):\n    return seed\n",
        "a taxation seed": f"SEED = {HELDOUT['taxation']['seeds'][0]}\n",
    }


@pytest.mark.parametrize("way", list(ways_in()))
def test_the_source_check_catches_each_way_in(way):
    source = f'"""A selecting script."""\n\nROLE = "select"\n\n{ways_in()[way]}'
    assert reaches_heldout(source) != []


def test_the_source_check_passes_a_clean_selecting_script():
    spent = DEVELOPMENT["cobweb"]["spent_runs"][0]
    source = textwrap.dedent(
        f'''
        """Never reads the heldout set: it chooses on the development set."""

        import protocol

        ROLE = "select"
        """Chooses a setting; the heldout set is not its business."""
        RUNS = protocol.development("cobweb")["runs"]
        SPENT = {spent["target"]!r}
        SEEDS = [0, 1, 2, 61, {spent["reference_seed"]}]
        protocol.require_development(seeds=SEEDS)
        '''
    )
    assert reaches_heldout(source) == []


# --- the runtime check --------------------------------------------------------------------


def module(tmp_path: Path, name: str, source: str):
    """Import ``source`` as module ``name`` from ``tmp_path`` (the benchmarks on sys.path)."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


@pytest.fixture
def report(tmp_path):
    yield module(
        tmp_path,
        "reporting_bench",
        """
        import protocol

        ROLE = "report"

        def read(purpose="cobweb"):
            return protocol.heldout(purpose)
        """,
    )
    sys.modules.pop("reporting_bench")


def test_a_reporting_benchmark_reads_the_set_and_its_rows_record_the_commit(report, tmp_path):
    assert report.read("cobweb")["runs"] == HELDOUT["cobweb"]["runs"]
    assert report.read("entrance")["seeds"] == HELDOUT["entrance"]["seeds"]
    rows = tmp_path / "rows.jsonl"
    protocol.record(rows, {"error": 0.01})
    (row,) = harness.read_rows(rows)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert row["error"] == 0.01
    assert row["provenance"]["commit"] == head.stdout.strip()
    assert isinstance(row["provenance"]["dirty"], bool)
    assert row["provenance"]["dirty"] == bool(row["provenance"]["changed"])
    deleted = subprocess.run(["git", "ls-files", "--deleted"], cwd=ROOT, capture_output=True)
    for changed in row["provenance"]["changed"]:  # paths, as git status names them
        path = changed.split(" -> ")[-1].strip('"')
        assert (ROOT / path).exists() or path.encode() in deleted.stdout.split(), changed
    assert {"heldout:cobweb", "heldout:entrance"} <= set(row["provenance"]["read"])


def test_heldout_refuses_a_selecting_benchmark(tmp_path):
    selecting = module(
        tmp_path,
        "selecting_bench",
        """
        import protocol

        ROLE = "select"

        def read():
            return protocol.heldout("cobweb")
        """,
    )
    with pytest.raises(protocol.HeldOutError, match="ROLE = 'select'"):
        selecting.read()


def test_heldout_refuses_a_reporting_module_called_by_a_selecting_one(report, tmp_path):
    selecting = module(
        tmp_path,
        "selecting_through_report",
        """
        import reporting_bench

        ROLE = "select"

        def read():
            return reporting_bench.read("taxation")
        """,
    )
    with pytest.raises(protocol.HeldOutError, match="selecting_through_report"):
        selecting.read()


def test_heldout_refuses_a_name_the_source_check_cannot_see(tmp_path):
    source = """
        import protocol

        ROLE = "select"

        def read():
            return getattr(protocol, "held" + "out")("cobweb")
        """
    assert reaches_heldout(textwrap.dedent(source)) == []  # hence the runtime check
    with pytest.raises(protocol.HeldOutError):
        module(tmp_path, "selecting_by_getattr", source).read()


def test_heldout_refuses_a_caller_that_declares_no_role():
    with pytest.raises(protocol.HeldOutError, match="no caller declares a ROLE"):
        protocol.heldout("cobweb")


def test_heldout_refuses_an_unknown_role(tmp_path):
    tuning = module(
        tmp_path,
        "tuning_bench",
        """
        import protocol

        ROLE = "tune"

        def read():
            return protocol.heldout("cobweb")
        """,
    )
    with pytest.raises(ValueError, match="ROLE = 'tune'"):
        tuning.read()


def test_heldout_names_the_purposes_it_knows(report):
    with pytest.raises(ValueError, match="purpose='calm'"):
        report.read("calm")


def test_a_selecting_script_run_as_main_is_refused(tmp_path):
    script = tmp_path / "select_main.py"
    script.write_text('import protocol\n\nROLE = "select"\nprotocol.heldout("cobweb")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCHMARKS), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode != 0
    assert "HeldOutError" in done.stderr and "select_main.py" in done.stderr


def test_require_development_refuses_a_heldout_seed_or_target():
    spent = DEVELOPMENT["cobweb"]["spent_runs"][0]
    protocol.require_development(seeds=[0, spent["seed"]], targets=[spent["target"]])
    run = HELDOUT["cobweb"]["runs"][0]
    with pytest.raises(protocol.HeldOutError):
        protocol.require_development(seeds=[0, run["reference_seed"] + 1])
    with pytest.raises(protocol.HeldOutError):
        protocol.require_development(targets=[run["target"]])


# --- the sets -----------------------------------------------------------------------------


def test_the_files_reproduce_from_their_generator():
    for path, text in draw_heldout.render().items():
        assert path.read_text() == text, f"{path.name} differs from draw_heldout.py's draw"


def test_the_draw_uses_the_models_box_and_populations():
    from mesa_adage.examples.models import cobweb

    assert draw_heldout.BOX == {p.name: (p.low, p.high) for p in cobweb.COBWEB_THETA.params}
    populations = inspect.signature(cobweb.observed_data).parameters["populations"].default
    assert draw_heldout.POPULATIONS == populations == HELDOUT["cobweb"]["populations"]


def test_heldout_and_development_share_no_seed_or_target():
    development = protocol.values(DEVELOPMENT)
    assert HELD.seeds.isdisjoint(development.seeds)
    assert HELD.targets.isdisjoint(development.targets)


def heldout_seeds() -> list[int]:
    """Every seed the held-out set uses, each time it uses it."""
    cobweb = HELDOUT["cobweb"]
    seeds = [run["seed"] for run in cobweb["runs"]]
    seeds += [r["reference_seed"] + i for r in cobweb["runs"] for i in range(cobweb["populations"])]
    for purpose in ("entrance", "taxation"):
        seeds += HELDOUT[purpose]["seeds"] + HELDOUT[purpose]["episode_seeds"]
    return seeds


def test_no_heldout_seed_serves_two_purposes():
    seeds = heldout_seeds()
    assert [s for s, n in Counter(seeds).items() if n > 1] == []
    assert set(seeds) == HELD.seeds
    assert all(0 <= s < 2**31 for s in seeds)


def test_the_heldout_set_is_large_enough_and_inside_the_box():
    runs = HELDOUT["cobweb"]["runs"]
    assert len(runs) >= 60  # coverage must tell 76% from 90%: issue 22
    assert len({(r["target"]["lam"], r["target"]["inertia"]) for r in runs}) == len(runs)
    for run in runs:
        for name, (low, high) in draw_heldout.BOX.items():
            assert low <= run["target"][name] <= high
    assert len(HELDOUT["entrance"]["seeds"]) >= 3 and len(HELDOUT["taxation"]["seeds"]) >= 3
    assert len(HELDOUT["entrance"]["episode_seeds"]) == draw_heldout.EPISODES


def test_the_spent_values_are_the_recorded_ones():
    from mesa_adage.seeds import FINAL, derive_seed

    for seed, reference in draw_heldout.SPENT_REFERENCE.items():
        assert reference == derive_seed(seed, 0, FINAL)  # trust.py's reference learners
    spent = {(t["lam"], t["inertia"]) for t in DEVELOPMENT["cobweb"]["spent_targets"]}
    assert {(t["lam"], t["inertia"]) for t in harness.ACCEPTANCE} <= spent


def rows(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return harness.read_rows(path)
    return [json.loads(path.read_text())]


def seeds_in(row: object) -> set[int]:
    """Integers under keys that name a seed, anywhere in a row."""
    found: set[int] = set()
    if isinstance(row, dict):
        for key, value in row.items():
            if "seed" in key and isinstance(value, int):
                found.add(value)
            elif "seed" in key and isinstance(value, list):
                found.update(v for v in value if isinstance(v, int))
            else:
                found |= seeds_in(value)
    elif isinstance(row, list):
        for value in row:
            found |= seeds_in(value)
    return found


@pytest.mark.parametrize(
    "path",
    sorted(p for ext in ("*.jsonl", "*.json") for p in harness.RESULTS.rglob(ext)),
    ids=lambda p: str(p.relative_to(harness.RESULTS)),
)
def test_every_recorded_row_made_from_the_heldout_set_names_its_commit(path):
    for row in rows(path):
        target = row.get("target")
        uses = bool(seeds_in(row) & HELD.seeds) or (
            isinstance(target, dict) and protocol._key(target) in HELD.targets
        )
        if uses:
            assert row.get("provenance", {}).get("commit"), f"{path.name}: use protocol.record"
