"""Importing mesa_adage does no work: it patches nothing in Mesa and changes nothing in the
user's process (issue 21).

The dependencies are imported first: Stable-Baselines3's own import draws from ``random`` and
adds warning filters (gymnasium's too), which a user importing SB3 gets with or without us.
"""

import subprocess
import sys

PROBE = """
import logging, random, sys, warnings
import mesa, numpy as np, torch
import gymnasium, matplotlib, optuna, pandas, stable_baselines3  # their own import-time work

def state():
    return {
        "mesa": {c.__name__: dict(vars(c)) for c in (mesa.Agent, mesa.Model, mesa.DataCollector)},
        "mesa.agent": dict(vars(mesa.agent)),
        "path": list(sys.path),
        "warnings": list(warnings.filters),
        "random": random.getstate(),
        "numpy": np.random.get_state()[1].tolist(),
        "torch": (torch.get_num_threads(), torch.random.get_rng_state().tolist()),
        "logging": (logging.root.level, list(logging.root.handlers)),
    }

before = state()
import mesa_adage
after = state()
changed = sorted(k for k in before if before[k] != after[k])
print("changed:", changed)
"""


def test_importing_mesa_adage_changes_nothing_in_mesa_or_the_process():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "changed: []", out.stdout + out.stderr
