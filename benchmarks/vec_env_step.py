"""Time per ``MesaVecEnv`` step on fixed-population models (cobweb, taxation with 1,000).

Prints one JSON line (and appends it to ``benchmarks/results/vec_env_step.jsonl``),
milliseconds per step, for the mesa_adage the running Python has
installed. Compare two versions side by side by installing each in a virtualenv of its own
(``pip install -e``; DEVELOPERS.md) and alternating them in one loop:

    for i in 1 2 3 4 5; do for v in /tmp/old-venv /tmp/new-venv; do
        $v/bin/python benchmarks/vec_env_step.py; done; done
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial

import harness
import numpy as np

from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.examples.models.taxation import TaxationModel, TaxParams
from mesa_adage.inner.vec_env import MesaVecEnv

ROLE = "report"
"""Speed, measured; chooses nothing."""

CASES = {  # name: factory, agent class, timed steps
    "taxation-1000": (
        partial(TaxationModel, params=TaxParams(n_households=1000), horizon=1000),
        Household,
        40,
    ),
    "cobweb": (partial(CobwebModel, horizon=1000), Producer, 400),
}


def stepper(make: Callable[..., object], agent_type: type) -> Callable[[], object]:
    """One step of 4 copies with zero actions, after a reset and 3 untimed steps."""
    env = MesaVecEnv(make, agent_type, n_copies=4, seed=0)
    env.reset()
    actions = np.zeros((env.num_envs, *env.action_space.shape), dtype=np.float32)
    for _ in range(3):
        env.step(actions)
    return partial(env.step, actions)


def main() -> None:
    harness.parser(__doc__).parse_args()
    out = {
        name: round(harness.per_call(stepper(make, agent_type), steps) * 1e3, 4)
        for name, (make, agent_type, steps) in CASES.items()
    }
    row = {"command": harness.command(), "python": sys.executable, **out}  # which virtualenv
    harness.record(harness.RESULTS / "vec_env_step.jsonl", row)


if __name__ == "__main__":
    main()
