"""What crash safety costs: one snapshot of a follower phase and one checkpoint commit.

Measured on the default cobweb calibration's followers (8 model copies of 6 producers, PPO
with its settings): the time to write a snapshot of a phase in progress and its size, and the
time to commit a checkpoint of ``--followers`` policies. Numbers go to
``benchmarks/RESULTS.md``, section 10.

    python benchmarks/crash_safety.py --followers 6 --repeats 5
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage import Uniform
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.run import snapshot as snapshots
from mesa_adage.run.checkpoint import read_checkpoint, write_checkpoint
from models import cobweb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    experiment = cobweb.calibration()
    env = MesaVecEnv(
        experiment.make_model, experiment.agent_type, Uniform(), n_copies=experiment.n_copies
    )
    algo = PPO("MlpPolicy", env, seed=0, device="cpu", **experiment.algo_kwargs)
    algo.learn(1)  # one rollout and update: the models are mid-episode, Adam has state
    schedule = LinearSchedule(1e-3, 1e-4, 1.0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "phase.snapshot"
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            snapshots.save(path, "key", algo, env, 0)
            seconds.append(time.perf_counter() - start)
        size = path.stat().st_size
        start = time.perf_counter()
        snapshots.load(path, "key", PPO, schedule)
        restore = time.perf_counter() - start
        print(
            f"snapshot: {size / 1e6:.2f} MB, write {min(seconds) * 1e3:.0f} ms (best of "
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
        seconds = []
        for epoch in range(args.repeats):
            start = time.perf_counter()
            write_checkpoint(Path(folder) / "checkpoint", epoch, files)
            seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        read_checkpoint(Path(folder) / "checkpoint")
        verify = time.perf_counter() - start
        total = sum(map(len, files.values()))
        print(
            f"checkpoint of {args.followers} followers: {total / 1e6:.2f} MB, commit "
            f"{min(seconds) * 1e3:.0f} ms (best of {args.repeats}), read and verify "
            f"{verify * 1e3:.0f} ms"
        )


if __name__ == "__main__":
    main()
