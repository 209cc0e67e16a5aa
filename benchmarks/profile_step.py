"""The top frames of a model step, by own time (cProfile), for the profiles in RESULTS.md.

    python benchmarks/profile_step.py --model taxation --agents 10000
    python benchmarks/profile_step.py --model cobweb --agents 10000

Runs on any commit of the repository (it needs only the model and its shipped page policy),
so the same command profiles the code before and after a change (copy it, with
``harness.py``, into the other commit's ``benchmarks/``).
"""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path

import harness
import torch
from stable_baselines3 import PPO

from mesa_adage import SB3Policy

ROLE = "report"
"""Profiles; chooses nothing."""


def build(model: str, n: int):
    policies = harness.ROOT / "visualization" / "policies"
    policy = SB3Policy(PPO.load(policies / f"{model}.zip", device="cpu"))
    if model == "taxation":
        from mesa_adage.examples.agents.household import Household
        from mesa_adage.examples.models.taxation import TaxationModel, TaxParams

        params = TaxParams(n_households=n)
        return TaxationModel(params=params, horizon=10**9, policies={Household: policy}, seed=0)
    from mesa_adage.examples.agents.producer import Producer
    from mesa_adage.examples.models.cobweb import CobwebModel, CobwebParams

    params = CobwebParams(n_producers=n)
    return CobwebModel(params=params, horizon=10**9, policies={Producer: policy}, seed=0)


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--model", choices=["taxation", "cobweb"], default="taxation")
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    harness.header("torch single-threaded")
    model = build(args.model, args.agents)
    model.step()
    unprofiled = harness.per_call(model.step, args.steps)
    print(f"{unprofiled * 1e3:.1f} ms/step unprofiled")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.steps):
        model.step()
    profile.disable()
    stats = pstats.Stats(profile).sort_stats("tottime")
    print("| own ms/step | calls/step | function |\n|---|---|---|")
    frames = []
    for (file, line, func), (_, calls, own, _, _) in sorted(
        stats.stats.items(),
        key=lambda kv: -kv[1][2],  # type: ignore[attr-defined]
    )[: args.top]:
        where = f"{Path(file).name}:{line}" if line else file
        print(f"| {own / args.steps * 1e3:.1f} | {calls // args.steps:,} | `{func}` ({where}) |")
        frames.append({"function": func, "where": where, "own_s": own, "calls": calls})
    row = {"command": harness.command(), "model": args.model, "agents": args.agents}
    row |= {"steps": args.steps, "unprofiled_s_per_step": unprofiled, "frames": frames}
    harness.append(harness.RESULTS / "profile_step.jsonl", row)


if __name__ == "__main__":
    main()
