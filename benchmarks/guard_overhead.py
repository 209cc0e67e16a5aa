"""What the numerical guards cost per ``MesaVecEnv`` step, measured side by side in one process.

The models of ``benchmarks/vec_env_step.py`` step with the guards on, then with
``require_finite`` replaced by a no-op, alternating in rounds, so both see the same machine
load. Prints one JSON line: the median milliseconds per step of each, and their ratio.

    python benchmarks/guard_overhead.py --rounds 15
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vec_env_step import CASES

import mesa_adage.inner.model
from mesa_adage import MesaVecEnv


def per_step(env: MesaVecEnv, actions: np.ndarray, steps: int) -> float:
    """Milliseconds per step over ``steps`` steps."""
    start = time.perf_counter()
    for _ in range(steps):
        env.step(actions)
    return (time.perf_counter() - start) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    guarded = mesa_adage.inner.model.require_finite
    out = {}
    for name, (make, agent_type, steps) in CASES.items():
        env = MesaVecEnv(make, agent_type, n_copies=4, seed=0)
        env.reset()
        actions = np.zeros((env.num_envs, *env.action_space.shape), dtype=np.float32)
        for _ in range(3):
            env.step(actions)
        times: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(args.rounds):
            for mode in ("on", "off"):
                mesa_adage.inner.model.require_finite = guarded if mode == "on" else _unguarded
                times[mode].append(per_step(env, actions, max(steps // 4, 5)))
        mesa_adage.inner.model.require_finite = guarded
        on, off = (statistics.median(times[m]) for m in ("on", "off"))
        out[name] = {"on_ms": round(on, 4), "off_ms": round(off, 4), "ratio": round(on / off, 4)}
    print(json.dumps(out))


def _unguarded(*args: object) -> None:
    return None


if __name__ == "__main__":
    main()
