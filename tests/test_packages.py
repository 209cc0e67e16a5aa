"""setup.cfg lists every package of mesa_adage: a subpackage left out is missing from the wheel.

The wheel test (tests/test_wheel.py, slow) finds it too, by building and installing; this
finds it in a second.
"""

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_cfg_lists_every_package_under_mesa_adage():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "mesa_adage").rglob("__init__.py")
    }
    assert found - listed == set(), f"add to setup.cfg's packages: {sorted(found - listed)}"
