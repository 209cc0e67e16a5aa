"""Leader throughput: candidate evaluations per second for the cobweb calibration, and where
an evaluation's time goes.

Each candidate theta is scored as the scheduler scores it: ``Evaluator.score`` with the
calibration's objective over its episodes (``Timescales.eval_rollouts``, the same seeds for
every candidate), with a trained follower population. First, unprofiled, candidates per
second serially; then one profiled pass splits the time into model construction, stepping the
models, gathering observations plus the batched forward pass, and the objective (the profile's
overhead inflates Python-heavy parts; read the shares, not the seconds). The executors'
throughput is ``benchmarks/executors.py candidates``.

    python benchmarks/leader_throughput.py            # 16 candidates x 132 episodes
    python benchmarks/leader_throughput.py --quick    # 4 candidates x 12 episodes
"""

from __future__ import annotations

import cProfile
import pstats

import harness
import torch

from mesa_adage.examples.models import cobweb

ROLE = "report"
"""Speed, measured; chooses nothing."""

PARTS = {  # the part of an evaluation: (file suffix, function name) whose cumulative time it is
    "model construction": ("models/cobweb.py", "__init__"),
    "stepping the models": ("mesa_adage/inner/rollout.py", "advance"),
    "observations + forward pass": ("mesa_adage/inner/rollout.py", "inject_batched"),
    "  of which the forward pass": ("mesa_adage/inner/policies.py", "__call__"),
    "simulate (all of the above)": ("mesa_adage/inner/rollout.py", "simulate"),
}


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Cumulative seconds of the function ``name`` defined in a file ending with ``suffix``."""
    return sum(
        row[3]
        for (file, _, func), row in stats.stats.items()  # type: ignore[attr-defined]
        if file.endswith(suffix) and func == name
    )


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--candidates", type=int, default=16)
    harness.add_quick(parser, "4 candidates, 12 episodes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    candidates = 4 if args.quick else args.candidates
    harness.header("torch single-threaded")
    scoring = harness.cobweb_scoring(candidates, args.quick)
    thetas, policies, episodes = scoring.thetas, scoring.policies, len(scoring.seeds)
    evaluator = scoring.evaluator()
    evaluator.score(thetas[:1], policies)  # warm up
    seconds = harness.seconds(evaluator.score, thetas, policies)
    print(
        f"\n{candidates} candidates x {episodes} episodes x {cobweb.HORIZON} steps x "
        f"{cobweb.CobwebParams().n_producers} producers: {seconds:.2f} s, "
        f"{candidates / seconds:.2f} candidates/s, {candidates * episodes / seconds:.0f} "
        "episodes/s (serial)"
    )
    profile = cProfile.Profile()
    profile.enable()
    evaluator.score(thetas, policies)
    profile.disable()
    stats = pstats.Stats(profile)
    total = cumulative(stats, "mesa_adage/outer/evaluator.py", "score")
    print("\n| part of an evaluation | share of the profiled time |")
    print("|---|---|")
    for part, (suffix, name) in PARTS.items():
        print(f"| {part} | {cumulative(stats, suffix, name) / total:.0%} |")
    rest = total - cumulative(stats, "mesa_adage/inner/rollout.py", "simulate")
    print(f"| the objective and the rest | {rest / total:.0%} |")
    row = {"command": harness.command(), "candidates": candidates, "episodes": episodes}
    row |= {"seconds": seconds, "profiled_s": total, "rest_s": rest}
    row["parts_s"] = {part: cumulative(stats, *where) for part, where in PARTS.items()}
    harness.append(harness.RESULTS / "leader_throughput.jsonl", row)


if __name__ == "__main__":
    main()
