"""What the numerical guards cost per ``MesaVecEnv`` step, measured side by side in one process.

The models of ``benchmarks/vec_env_step.py`` step with the guards on, then with
``mesa_adage.inner.checks.require_finite`` replaced by a no-op, alternating in rounds, so both
see the same machine load. Prints one JSON line: the median milliseconds per step of each, and
their ratio.

    python benchmarks/guard_overhead.py --rounds 15
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import harness
from vec_env_step import CASES, stepper

from mesa_adage.inner import checks

ROLE = "report"
"""A cost, measured; chooses nothing."""


def ms_per_step(guard: Callable[..., None], step: Callable[[], object], steps: int) -> float:
    """Milliseconds per step over ``steps`` steps with ``guard`` as the finite check."""
    checks.require_finite = guard
    return harness.per_call(step, steps) * 1e3


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    guarded = checks.require_finite
    out = {}
    for name, (make, agent_type, steps) in CASES.items():
        step, calls = stepper(make, agent_type), max(steps // 4, 5)
        try:
            ms = harness.medians(
                {
                    "on": partial(ms_per_step, guarded, step, calls),
                    "off": partial(ms_per_step, _unguarded, step, calls),
                },
                args.rounds,
            )
        finally:
            checks.require_finite = guarded
        on, off = ms["on"], ms["off"]
        out[name] = {"on_ms": round(on, 4), "off_ms": round(off, 4), "ratio": round(on / off, 4)}
    row = {"command": harness.command(), "rounds": args.rounds, **out}
    harness.record(harness.RESULTS / "guard_overhead.jsonl", row)


def _unguarded(*args: object) -> None:
    return None


if __name__ == "__main__":
    main()
