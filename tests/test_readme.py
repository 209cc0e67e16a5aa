"""The README stays the front door: short, CI's two commands, the CLI's tasks, live links.

Its code moved to the docs: ``tests/test_docs.py`` runs the docs' Python blocks, and
``tests/test_commands.py`` every ``adage`` command of the README and the docs.
"""

import re
from pathlib import Path

from mesa_adage.examples import TASKS

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_commands_are_the_ci_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    # .ci/run greps these two lines out of the README and runs them.
    assert re.search(r"^pip install -e \. && adage run calibration$", README, re.M)
    assert re.search(r'^pip install -e "\.\[test\]" && pytest$', README, re.M)
    assert "README.md" in ci and "pytest -m slow" in ci  # the default suite skips the slow tests


def test_the_readme_is_a_front_door_of_at_most_200_lines():
    assert len(README.splitlines()) <= 200, len(README.splitlines())
    # Code examples live in docs/, where tests/test_docs.py runs them.
    assert "```python" not in README


def test_the_readme_s_task_table_names_every_task_by_its_short_name():
    table = README.split("## The four tasks", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`adage run ([\w-]+)`", table)
    assert sorted(named) == sorted(TASKS), named


def test_the_readme_s_links_and_images_exist():
    targets = re.findall(r"\]\((?!https?:)([^)#\s]+)(?:#([^)\s]+))?\)", README)
    assert targets, "the README links nowhere"
    for path, anchor in targets:
        file = ROOT / path
        assert file.exists(), f"the README links to {path}, which does not exist"
        if anchor:  # a heading of that page, as GitHub and MyST slug it
            headings = re.findall(r"^#+ (.+)$", file.read_text(), re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{path} has no heading #{anchor}: {sorted(slugs)}"
    assert "docs/app_home.png" in README
