"""Draw the held-out and development sets of the benchmarks (issue 22), reproducibly.

    python benchmarks/draw_heldout.py            # write benchmarks/heldout.json, development.json
    python benchmarks/draw_heldout.py --check    # exit 1 if they differ from a fresh draw

The sets were drawn once, on 2026-12-03, before any method of issue 22 changed; this script
records how, so anyone can check that the files are what the generator gives. Do not draw
again to get other numbers: a new draw needs a new :data:`SEED`, a reason, and a line in
``benchmarks/RESULTS.md``. ``benchmarks/protocol.py`` says who may read which set.

The generator is the standard library's ``random.Random``, seeded with a string per split and
benchmark, and only its ``random()`` is called: Python guarantees that method's sequence for a
given seed across versions, which numpy does not for its distributions. The held-out set is
drawn first, then the development set, each skipping every seed already taken (those the
recorded benchmarks used, :data:`SPENT_SEEDS`, included), so no seed serves two purposes.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FILES = {
    "heldout": ROOT / "benchmarks" / "heldout.json",
    "development": ROOT / "benchmarks" / "development.json",
}
SEED = 20261203
"""The generator's seed: the date of the draw."""
GENERATOR = {
    "script": "benchmarks/draw_heldout.py",
    "seed": SEED,
    "method": "random.Random(f'{seed}:{split}:{benchmark}').random() only; held-out drawn "
    "first, then development; seeds uniform over [1e8, 1e9) skipping any taken, targets "
    "uniform over the box rounded to 3 decimals",
    "drawn": "2026-12-03",
}
"""What the files record of how they were drawn."""
SEED_RANGE = (100_000_000, 1_000_000_000)
"""Nine-digit seeds, below 2**31: beyond the small seeds and blocks the recorded benchmarks
used (the few derived ones in range are skipped like any taken seed)."""
BOX = {"lam": (0.1, 1.0), "inertia": (0.0, 0.9)}
"""``models.cobweb.COBWEB_THETA``'s bounds (tests/test_protocol.py checks they still are)."""
POPULATIONS = 3
"""Producer populations in synthetic data (``models.cobweb.observed_data``'s default): a
reference seed ``r`` trains populations with seeds ``r``, ``r + 1`` and ``r + 2``."""
EPISODES = 16
"""Evaluation episodes of the entrance and taxation benchmarks, as they score today."""
SIZES = {
    "heldout": {"cobweb": 120, "entrance": 3, "taxation": 3},
    "development": {"cobweb": 60, "entrance": 3, "taxation": 3},
}
"""Drawn runs (cobweb) and run seeds (entrance, taxation) per split."""

SPENT_TARGETS = [
    {"lam": 0.3, "inertia": 0.2},
    {"lam": 0.6, "inertia": 0.6},
    {"lam": 0.85, "inertia": 0.4},
    {"lam": 0.3, "inertia": 0.8},
    {"lam": 0.432, "inertia": 0.844},
    {"lam": 0.244, "inertia": 0.183},
    {"lam": 0.537, "inertia": 0.581},
    {"lam": 0.389, "inertia": 0.679},
]
"""Every cobweb target recorded in ``benchmarks/results/``: the acceptance targets, the
high-inertia check of ``calibration.py`` and ``trust.py``'s four fresh targets."""
SPENT_REFERENCE = {0: 99_239_235, 1: 551_901_262, 2: 242_244_169}
"""``trust.py``'s reference learners per run seed: ``derive_seed(seed, 0, FINAL)``."""
SPENT_BLOCKS = {
    "run seeds (calibration, trust, taxation, follower_response, teaching, soak)": range(0, 5),
    "taxation.py naive-tax episodes": range(0, 8),
    "black_it_baseline.py episodes, seed 0": range(0, 128),
    "black_it_baseline.py episodes, seed 1": range(1_000, 1_128),
    "black_it_baseline.py episodes, seed 2": range(2_000, 2_128),
    "calibration.py classical training, seed 0": range(0, 30),
    "calibration.py classical training, seed 1": range(1_000, 1_030),
    "calibration.py classical training, seed 2": range(2_000, 2_030),
    "adapt_margin.py, boltzmann": range(11, 14),
    "adapt_margin.py, wolf_sheep": range(21, 24),
    "robust_market_maker.py": range(31, 34),
    "robust_market_maker.py margin": range(41, 44),
    "RESULTS section 7: episodes of an adapted example": range(50, 58),
    "RESULTS section 9: entrance learning-test margin": range(51, 54),
    "entrance.py": range(61, 64),
    "generalization.py": range(71, 74),
    "RESULTS section 7: boltzmann margin episodes": range(100, 108),
    "RESULTS section 7: wolf-sheep margin episodes": range(200, 208),
    "robust_market_maker.py episodes": range(500, 516),
    "entrance.py episodes": range(900, 916),
    "harness.cobweb_scoring episodes": range(10_000, 10_132),
    "taxation.py episodes": range(90_000, 90_016),
    **{
        f"trust.py reference learners, seed {s}": range(r, r + POPULATIONS)
        for s, r in SPENT_REFERENCE.items()
    },
}
"""Seeds the recorded benchmarks used (``benchmarks/*.py`` and RESULTS.md): development only.
Root seeds and literal episode blocks; the streams derived from them are not listed."""
SPENT_SEEDS = sorted({s for block in SPENT_BLOCKS.values() for s in block})


class Stream:
    """One split's draws for one benchmark, skipping the seeds and targets already taken."""

    def __init__(self, split: str, purpose: str, taken: set[int], targets: set[tuple]) -> None:
        self.rng = random.Random(f"{SEED}:{split}:{purpose}")
        self.taken = taken
        self.targets = targets

    def seeds(self, n: int) -> list[int]:
        """``n`` consecutive seeds of which none is taken yet (one, or a block)."""
        low, high = SEED_RANGE
        while True:
            first = low + int(self.rng.random() * (high - low - n))
            block = range(first, first + n)
            if self.taken.isdisjoint(block):
                self.taken.update(block)
                return list(block)

    def target(self) -> dict[str, float]:
        """A cobweb theta drawn uniformly from the box, to 3 decimals, not taken yet."""
        while True:
            theta = {k: round(lo + (hi - lo) * self.rng.random(), 3) for k, (lo, hi) in BOX.items()}
            key = tuple(theta.values())
            if key not in self.targets:
                self.targets.add(key)
                return theta


def cobweb_runs(stream: Stream, n: int) -> list[dict[str, Any]]:
    """``n`` calibration runs: a target, a run seed and the data's reference learners each."""
    runs = []
    for _ in range(n):
        target = stream.target()
        seed = stream.seeds(1)[0]
        reference = stream.seeds(POPULATIONS)[0]
        runs.append({"target": target, "seed": seed, "reference_seed": reference})
    return runs


def draw() -> dict[str, dict[str, Any]]:
    """Both sets, as ``{"heldout": ..., "development": ...}``."""
    taken = set(SPENT_SEEDS)
    targets = {tuple(t.values()) for t in SPENT_TARGETS}
    drawn: dict[str, dict[str, Any]] = {}
    for split, sizes in SIZES.items():
        cobweb, entrance, taxation = (
            Stream(split, purpose, taken, targets) for purpose in ("cobweb", "entrance", "taxation")
        )
        drawn[split] = {
            "cobweb": cobweb_runs(cobweb, sizes["cobweb"]),
            "entrance": {
                "seeds": [entrance.seeds(1)[0] for _ in range(sizes["entrance"])],
                "episode_seeds": entrance.seeds(EPISODES),
            },
            "taxation": {
                "seeds": [taxation.seeds(1)[0] for _ in range(sizes["taxation"])],
                "episode_seeds": taxation.seeds(EPISODES),
            },
        }
    return drawn


def heldout(drawn: dict[str, Any]) -> dict[str, Any]:
    n = len(drawn["cobweb"])
    return {
        "what": "The held-out set: the targets, seeds and reference learners that benchmarks "
        "use only to report a number, never to choose a setting, drawn before any method of "
        "issue 22 changed. Read it through "
        "benchmarks/protocol.py's heldout(), from a script that declares ROLE = 'report'.",
        "rule": "Settings are fixed on development.json first. A method is measured on this set "
        "once per version; what is learnt from that measurement is not tuned on it again. "
        "Every row made from it records its commit (protocol.record). RESULTS.md reports "
        "held-out figures as the headline and development figures apart.",
        "generator": GENERATOR,
        "cobweb": {
            "why": f"{n} calibration runs, each with its own target, run seed and reference "
            "learners, so that the runs share nothing and a coverage count is a sum of "
            "independent hits; the learners that make the data were the largest shared error "
            "the audit found (issue 22, item 1). Targets are uniform over the calibration's "
            "box, the prior its leader searches, as simulation-based calibration's rank "
            "statistics require. A report uses the first 60 runs or all 120, decided before "
            "its first held-out run. With 60, perfectly calibrated 90% intervals land in the "
            "85-95% band (51-57 hits) with probability 0.87 and intervals that cover 76% with "
            "probability 0.06; with 120 (102-114 hits), 0.95 and 0.01. The same runs serve "
            "every variant (full data, prices alone, mis-specified producers): variants then "
            "differ only in what the data hold.",
            "box": {k: list(v) for k, v in BOX.items()},
            "populations": POPULATIONS,
            "fields": "target: the hidden theta; seed: the run's seed (LeaderScheduler seed=); "
            "reference_seed: models.cobweb.reference_policies' seed, whose populations train "
            "from reference_seed + 0, 1, 2 and make the observed data",
            "runs": drawn["cobweb"],
        },
        "entrance": {
            "why": "Three seeds, as issue 22 asks, on which the calm and stress runs are compared "
            "with a dense grid's optimum; their budgets are sized on the development seeds. "
            "Sixteen fresh episode seeds score the grid and the answers (entrance.py's 900-915 "
            "are development).",
            **drawn["entrance"],
        },
        "taxation": {
            "why": "Three run seeds for the fair re-run of the four-policy comparison and the "
            "zero-shot test; sixteen fresh evaluation episodes (taxation.py's 90000-90015 are "
            "development).",
            **drawn["taxation"],
        },
    }


def development(drawn: dict[str, Any]) -> dict[str, Any]:
    spent_runs = [
        {"target": t, "seed": s, "reference_seed": SPENT_REFERENCE[s]}
        for t in [*SPENT_TARGETS[:3], *SPENT_TARGETS[4:]]
        for s in SPENT_REFERENCE
    ]
    return {
        "what": "The development set: where settings are chosen (statistics, budgets, interval "
        "methods, test thresholds). Everything the recorded benchmarks used is here: it "
        "shaped the settings, so it can no longer judge them.",
        "generator": GENERATOR,
        "cobweb": {
            "why": "60 fresh runs drawn like the held-out ones, so a method change can be checked "
            "at the held-out set's minimum size before it is measured there; and the spent "
            "runs: trust.py's acceptance and fresh targets at seeds 0-2 with their reference "
            "learners.",
            "box": {k: list(v) for k, v in BOX.items()},
            "populations": POPULATIONS,
            "runs": drawn["cobweb"],
            "spent_runs": spent_runs,
            "spent_targets": SPENT_TARGETS,
        },
        "entrance": {
            "why": "entrance.py's seeds 61-63 and episodes 900-915, and three fresh seeds to size "
            "the calm and stress budgets on more than the seeds that set them.",
            "seeds": [61, 62, 63, *drawn["entrance"]["seeds"]],
            "episode_seeds": list(range(900, 916)),
            "fresh_episode_seeds": drawn["entrance"]["episode_seeds"],
        },
        "taxation": {
            "why": "taxation.py's seeds 0-2 and episodes 90000-90015, and three fresh seeds.",
            "seeds": [0, 1, 2, *drawn["taxation"]["seeds"]],
            "episode_seeds": list(range(90_000, 90_016)),
            "fresh_episode_seeds": drawn["taxation"]["episode_seeds"],
        },
        "spent_seeds": {
            "why": "Seeds the recorded benchmarks used, by where, each a range [first, last]: root "
            "seeds and literal episode blocks (streams derived from them are not listed).",
            **{name: [block[0], block[-1]] for name, block in SPENT_BLOCKS.items()},
        },
    }


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with one list item (a run, a target) per line, so the files read as tables."""
    pad = " " * (indent + 2)
    if isinstance(value, dict) and any(isinstance(v, dict | list) for v in value.values()):
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        items = [f"{pad}{json.dumps(v)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    return json.dumps(value)


def render() -> dict[Path, str]:
    """The two files' text, as this script writes them."""
    drawn = draw()
    return {
        FILES["heldout"]: dumps(heldout(drawn["heldout"])) + "\n",
        FILES["development"]: dumps(development(drawn["development"])) + "\n",
    }


def main() -> None:
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in render().items():
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        sys.exit(f"{', '.join(stale)} differ from a fresh draw (benchmarks/draw_heldout.py)")


if __name__ == "__main__":
    main()
