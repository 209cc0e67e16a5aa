"""What crash safety costs: one snapshot of a follower phase and one checkpoint commit.

Measured on the default cobweb calibration's followers (8 model copies of 6 producers, PPO
with its settings): the time to write a snapshot of a phase in progress and its size, and the
time to commit a checkpoint of ``--followers`` policies. Numbers go to
``benchmarks/RESULTS.md``, section 10.

    python benchmarks/crash_safety.py --followers 6 --repeats 5
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import harness
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage.examples.models import cobweb
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.run import snapshot as snapshots
from mesa_adage.run.checkpoint import read_checkpoint, write_checkpoint
from mesa_adage.samplers import Uniform

ROLE = "report"
"""Costs, measured; chooses nothing."""


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--followers", type=int, default=6)
    harness.add_repeats(parser, 5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    harness.header("torch single-threaded")
    experiment = cobweb.calibration()
    env = MesaVecEnv(
        experiment.make_model, experiment.agent_type, Uniform(), n_copies=experiment.n_copies
    )
    algo = PPO("MlpPolicy", env, seed=0, device="cpu", **experiment.algo_kwargs)
    algo.learn(1)  # one rollout and update: the models are mid-episode, Adam has state
    schedule = LinearSchedule(1e-3, 1e-4, 1.0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "phase.snapshot"
        write = min(
            harness.seconds(snapshots.save, path, "key", algo, env, 0) for _ in range(args.repeats)
        )
        size = path.stat().st_size
        restore = harness.seconds(snapshots.load, path, "key", PPO, schedule)
        print(
            f"snapshot: {size / 1e6:.2f} MB, write {write * 1e3:.0f} ms (best of "
            f"{args.repeats}), restore {restore * 1e3:.0f} ms"
        )
        buffer = io.BytesIO()
        algo.save(buffer)
        weights = io.BytesIO()
        torch.save(algo.policy.state_dict(), weights)
        files = {}
        for member in range(args.followers):
            files[f"policy-{member}.zip"] = buffer.getvalue()
            files[f"policy-{member}_average.pt"] = weights.getvalue()
        files["state.json"] = b"{}"
        checkpoint = Path(folder) / "checkpoint"
        commit = min(
            harness.seconds(write_checkpoint, checkpoint, epoch, files)
            for epoch in range(args.repeats)
        )
        verify = harness.seconds(read_checkpoint, checkpoint)
        total = sum(map(len, files.values()))
        print(
            f"checkpoint of {args.followers} followers: {total / 1e6:.2f} MB, commit "
            f"{commit * 1e3:.0f} ms (best of {args.repeats}), read and verify "
            f"{verify * 1e3:.0f} ms"
        )
    row = {"command": harness.command(), "followers": args.followers, "repeats": args.repeats}
    row |= {"snapshot_bytes": size, "snapshot_write_s": write, "snapshot_restore_s": restore}
    row |= {"checkpoint_bytes": total, "checkpoint_commit_s": commit, "checkpoint_read_s": verify}
    harness.append(harness.RESULTS / "crash_safety.jsonl", row)


if __name__ == "__main__":
    main()
