"""The docs site builds with no warning, and the Python blocks in its pages run.

A block may be preceded by one line that tells this test how to run it:

- ``<!-- docs-test: skip: REASON -->``: not run here. The reason must name the test that runs
  the block instead (``tests/test_tutorial.py``), and that test must read the page.
- ``<!-- docs-test: in PATH -->``: the block is an excerpt of the module at ``PATH``; it runs
  in that module's namespace, after the module itself.

Any other block runs as it stands, after the blocks above it on the same page.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
NEED_DOCS = os.environ.get("ADAGE_REQUIRE_DOCS") == "1"
"""Fail, rather than skip, the site's build when Sphinx is missing (CI sets it)."""

BLOCK = re.compile(r"(?:<!-- docs-test: (?P<mark>[^\n]*?) -->\n)?```python\n(?P<code>.*?)```", re.S)
MAX_SKIPPED = 3
"""Blocks that may run elsewhere instead of here; each says where."""


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    code: str
    mark: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.relative_to(DOCS).parts)


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    return [
        Block(page, text.count("\n", 0, m.start("code")) + 1, m["code"], m["mark"])
        for m in BLOCK.finditer(text)
    ]


ALL = [block for page in pages() for block in blocks(page)]
SKIPPED = [b for b in ALL if b.mark and b.mark.startswith("skip:")]
PAGES = sorted({b.page for b in ALL if b not in SKIPPED})


def module_scope(path: str) -> dict:
    """The namespace of the module at ``path`` (relative to the repository), after it ran."""
    file = ROOT / path
    assert file.is_file(), f"docs-test: in {path}: there is no such file"
    spec = importlib.util.spec_from_file_location(f"docs_test_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(vars(module))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_the_page_s_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a block that writes (a run folder) writes here
    scope: dict = {"__name__": "docs_test"}
    for block in blocks(page):
        if block in SKIPPED:
            continue
        if block.mark and block.mark.startswith("in "):
            scope = {**module_scope(block.mark.removeprefix("in ").strip()), **scope}
        elif block.mark:
            pytest.fail(f"{block.where}: unknown docs-test mark {block.mark!r}")
        code = "\n" * (block.line - 1) + block.code  # tracebacks give the page's line numbers
        exec(compile(code, str(block.page), "exec"), scope)


def test_skipped_blocks_are_few_and_each_names_the_test_that_runs_it():
    assert len(SKIPPED) <= MAX_SKIPPED, [b.where for b in SKIPPED]
    for block in SKIPPED:
        named = re.findall(r"tests/test_\w+\.py", block.mark)
        assert named, f"{block.where}: the skip reason names no test: {block.mark!r}"
        for test in named:
            assert (ROOT / test).is_file(), f"{block.where}: {test} does not exist"
            assert block.page.name in (ROOT / test).read_text(), f"{test} never reads the page"


def test_the_api_reference_lists_every_top_level_name():
    import mesa_adage

    reference = (DOCS / "api" / "index.md").read_text()
    listed = set(re.findall(r"^\s+~[\w.]+\.(\w+)$", reference, re.M))
    assert listed == set(mesa_adage.__all__), listed ^ set(mesa_adage.__all__)


def test_every_page_is_reachable_from_the_front_page():
    """Sphinx warns about a page in no toctree only when it builds: say so sooner."""
    index = (DOCS / "index.md").read_text() + (DOCS / "api" / "index.md").read_text()
    for page in pages():
        name = page.relative_to(DOCS).with_suffix("").as_posix()
        if name not in ("index", "api/index"):
            entry = name.removeprefix("api/")
            assert re.search(rf"^{re.escape(entry)}$", index, re.M), f"{name} is in no toctree"


@pytest.mark.slow
def test_the_site_builds_with_no_warning(tmp_path):
    missing = [
        name
        for name in ("sphinx", "myst_parser", "pydata_sphinx_theme")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        problem = f"the docs need {', '.join(missing)} (pip install sphinx myst-parser "
        problem += "pydata-sphinx-theme)"
        if NEED_DOCS:
            pytest.fail(f"{problem}; ADAGE_REQUIRE_DOCS=1 requires them")
        pytest.skip(problem)
    before = sorted(DOCS.rglob("*"))
    out, cache = tmp_path / "html", tmp_path / "doctrees"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html"]
    done = subprocess.run(
        [*command, "-d", str(cache), str(DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert done.returncode == 0 and not warnings, "\n".join(warnings) or done.stderr[-3000:]
    for page in ("index", "api/index", "api/inner", "readme", "tasks", "solaraviz"):
        assert (out / f"{page}.html").is_file(), page
    assert 'id="mesa_adage.inner.model.AdaptiveModel"' in (out / "api" / "inner.html").read_text()
    assert 'id="mesa_adage.viz.ThetaPanel"' in (out / "api" / "viz.html").read_text()
    assert sorted(DOCS.rglob("*")) == before, "the build wrote into docs/"
