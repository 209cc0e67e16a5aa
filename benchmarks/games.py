"""Several leaders (issue 24): the fiscal game on the held-out taxation seeds, both structures.

For each held-out taxation seed (``protocol.heldout("taxation")``):

1. ``adage run fiscal-game`` (simultaneous) trains the households (3M agent-steps across the
   box) and plays best-response dynamics to an equilibrium or a cycle;
2. the sequential game (the treasury commits first) starts from the same households
   (``followers_from``);
3. the cost of splitting the tax: with those households, welfare at the game's profile against
   the joint optimum one planner owning both parameters would pick (the best point of an
   11 x 11 grid of ``(tau, xi)``, chosen on 8 other episodes), on the 16 held-out evaluation
   episodes, as a
   consumption-equivalent gain over the free market.

Rows go to ``benchmarks/results/games.jsonl``.

    python benchmarks/games.py
"""

from __future__ import annotations

import json
import time

import harness
import protocol
import torch
from taxation import grid_optimum, outcomes

from mesa_adage import LeaderScheduler
from mesa_adage.examples.models import taxation

ROLE = "report"
"""The fiscal game's equilibria and their welfare cost; chooses nothing."""
RESULTS = harness.RESULTS / "games.jsonl"
RUNS = protocol.HELDOUT_RUNS / "games"


def main() -> None:
    harness.parser(__doc__).parse_args()
    torch.set_num_threads(1)
    held = protocol.heldout("taxation")
    harness.header("torch single-threaded")
    episodes = held["episode_seeds"]
    for seed in held["seeds"]:
        folders = {s: RUNS / f"{s}-seed{seed}" for s in ("simultaneous", "sequential")}
        results = {}
        for structure, folder in folders.items():
            start = time.perf_counter()
            lender = folders["simultaneous"] if structure == "sequential" else None
            experiment = taxation.fiscal_game(structure=structure)
            result = LeaderScheduler(
                experiment,
                folder,
                seed=seed,
                progress=False,
                followers_from=lender,
                resume=folder.exists(),
            ).run()
            results[structure] = (result, time.perf_counter() - start)
        policy = results["simultaneous"][0].policy
        make = taxation.fiscal_game().make_model
        free = outcomes(make, taxation.FREE_MARKET, policy, episodes)
        choosing = [seed * 1000 + i for i in range(8)]  # not the held-out episodes
        joint = grid_optimum(make, policy, choosing)
        points = {"joint optimum": joint, "free market": taxation.FREE_MARKET}
        for structure, (_, seconds) in results.items():
            game = json.loads((folders[structure] / "summary.json").read_text())["game"]
            points[structure] = game["profile"]
            row = {"seed": seed, "structure": structure, "status": game["status"],
                   "rounds": game["rounds"], "profile": game["profile"],
                   "payoffs": game["payoffs"], "gains": game["gains"],
                   "seconds": round(seconds, 1)}  # fmt: skip
            protocol.record(RESULTS, row)
        for name, theta in points.items():
            at = outcomes(make, theta, policy, episodes)
            ce = taxation.consumption_equivalent(at, free)
            protocol.record(
                RESULTS, {"seed": seed, "point": name, "theta": theta, **at, "ce_gain": ce}
            )
            where = f"seed {seed} {name:<14} tau={theta['tau']:.3g}, xi={theta['xi']:.3g}"
            print(f"{where}  welfare {at['welfare']:.2f}  CE {ce:+.2%}")


if __name__ == "__main__":
    main()
