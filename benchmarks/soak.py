"""Long-run soak: does a long alternating loop leak memory or file handles?

Runs ``mesa_adage.examples.models.cobweb:calibration`` (the GP leader, the run folder and its
checkpoints) for 200 epochs with small per-epoch budgets, and after every epoch records the
process's resident memory and its open file descriptors to a CSV. The growth per epoch is the
least-squares slope over epochs 20..200 (after the allocators warm up), with its standard error.

    python benchmarks/soak.py                 # 200 epochs
    python benchmarks/soak.py --quick         # 20 epochs, slope over epochs 5..20
    python benchmarks/soak.py --leader random --out benchmarks/results/soak-random
                                              # the loop without the GP's growing fit
    python benchmarks/soak.py --trim          # measure after malloc_trim: memory in use only
    python benchmarks/soak.py --trace 50 150  # also tracemalloc's top growth between two epochs
                                              # (Python allocations only; it slows the run)

Run it from a copy of the checkout (see DEVELOPERS.md): the process imports the package once,
but a long run should not race edits. Results go to ``benchmarks/results/soak.csv`` (one row
per epoch) and ``benchmarks/results/soak.json`` (the slopes, the command, machine, versions).
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import json
import os
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

import harness
import numpy as np
import pandas as pd

from mesa_adage import LeaderScheduler
from mesa_adage.examples.models import cobweb
from mesa_adage.run.experiment import Experiment

ROLE = "report"
"""Memory and file handles, measured; chooses nothing."""


def rss_kib() -> float:
    """Resident memory of this process in KiB (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
        raise RuntimeError(
            "neither psutil nor /proc/self/status gives the resident memory"
        ) from None
    return psutil.Process().memory_info().rss / 1024


def release_freed() -> None:
    """Collect garbage and hand freed heap back to the system (glibc ``malloc_trim``).

    What RSS keeps after this is memory in use, not memory the allocator holds on to.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: collecting is all there is
        pass


def open_fds() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of y on x and its standard error."""
    x = x - x.mean()
    b = float((x * (y - y.mean())).sum() / (x * x).sum())
    residual = y - y.mean() - b * x
    se = float(np.sqrt((residual**2).sum() / (len(x) - 2) / (x * x).sum()))
    return b, se


def experiment(epochs: int, leader: str) -> Experiment:
    """The cobweb calibration with budgets small enough for hundreds of epochs.

    The followers keep training every epoch (``follower_steps`` > 0, unlike the shipped
    calibration), so the soak exercises the training path, the checkpoint and the leader.
    """
    base = cobweb.calibration()
    truth = base.target_theta
    return dataclasses.replace(
        base,
        data=partial(cobweb.observed_data, truth, reference_steps=6_144, populations=1),
        epochs=epochs,
        leader=leader,
        timescales=dataclasses.replace(
            base.timescales,
            warmup_steps=6_144,
            follower_steps=12_288,
            candidates=3,
            eval_rollouts=8,
            followers=1,
            final_top_k=2,
        ),
        n_copies=8,
        profile_points=0,
        eval_tasks=1,
    )


class Recorder(LeaderScheduler):
    """The scheduler, measuring the process after every committed epoch."""

    def __init__(
        self, *args, trace: tuple[int, int] | None = None, trim: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.trim = trim
        self.rows: list[dict[str, float]] = []
        self.trace = trace
        self.snapshots: dict[int, tracemalloc.Snapshot] = {}
        self.t0 = time.perf_counter()

    def _checkpoint(self) -> None:
        super()._checkpoint()
        if self.trim:
            release_freed()
        self.rows.append(
            {
                "epoch": self.epoch,
                "rss_kib": rss_kib(),
                "fds": open_fds(),
                "seconds": round(time.perf_counter() - self.t0, 2),
            }
        )
        if self.trace and self.epoch in self.trace:
            self.snapshots[self.epoch] = tracemalloc.take_snapshot()
        row = self.rows[-1]
        print(
            f"epoch {self.epoch:4d}  rss {row['rss_kib'] / 1024:8.1f} MiB  fds {row['fds']:3d}"
            f"  {row['seconds']:8.1f} s",
            flush=True,
        )


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--epochs", type=int, default=200)
    harness.add_quick(parser, "20 epochs, slope from epoch 5")
    parser.add_argument("--start", type=int, default=20, help="first epoch of the slope fit")
    parser.add_argument("--trace", type=int, nargs=2, metavar=("FROM", "TO"), default=None)
    parser.add_argument(
        "--trim", action="store_true", help="release freed heap (malloc_trim) before measuring"
    )
    parser.add_argument("--out", type=Path, default=harness.RESULTS / "soak")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--leader", default="gp", help="the calibration's own leader by default")
    args = parser.parse_args()
    epochs, start = (20, 5) if args.quick else (args.epochs, args.start)
    if args.trace:
        tracemalloc.start(10)
    with tempfile.TemporaryDirectory(prefix="adage-soak-") as run_dir:
        scheduler = Recorder(
            experiment(epochs, args.leader),
            Path(run_dir) / "run",
            seed=args.seed,
            progress=False,
            trace=tuple(args.trace) if args.trace else None,
            trim=args.trim,
        )
        result = scheduler.run()
        print(f"answer {result.theta}  objective {result.objective:.4g}")
    frame = pd.DataFrame(scheduler.rows)
    window = frame[frame["epoch"] >= start]
    rss, rss_se = slope(window["epoch"].to_numpy(float), window["rss_kib"].to_numpy(float))
    fds, fds_se = slope(window["epoch"].to_numpy(float), window["fds"].to_numpy(float))
    report = {
        "command": harness.command(),
        "machine": harness.machine(),
        "versions": harness.versions(),
        "epochs": epochs,
        "leader": args.leader,
        "trim": args.trim,
        "fit_epochs": [start, epochs],
        "rss_kib_start": float(frame["rss_kib"].iloc[0]),
        "rss_kib_end": float(frame["rss_kib"].iloc[-1]),
        "rss_kib_per_epoch": round(rss, 2),
        "rss_kib_per_epoch_se": round(rss_se, 2),
        "fds_start": int(frame["fds"].iloc[0]),
        "fds_end": int(frame["fds"].iloc[-1]),
        "fds_per_epoch": round(fds, 4),
        "fds_per_epoch_se": round(fds_se, 4),
        "wall_seconds": float(frame["seconds"].iloc[-1]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out.with_suffix(".csv"), index=False)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    if args.trace and len(scheduler.snapshots) == 2:
        first, last = (scheduler.snapshots[e] for e in args.trace)
        print(f"tracemalloc: top growth between epochs {args.trace[0]} and {args.trace[1]}")
        for stat in last.compare_to(first, "traceback")[:15]:
            print(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+7d} blocks")
            for line in stat.traceback.format()[-6:]:
                print("    " + line)


if __name__ == "__main__":
    main()
