"""The answers of the teaching lab (docs/teaching.md), measured on the app's own pages.

    python benchmarks/teaching.py            # about a minute on 2 cores

For each model page: its readout over steps 11-20 at the starting theta, then theta moved as
the lab says and the readout over steps 31-40; and, side by side, each page's two thetas from
one seed, the first chart's series averaged over 40 steps. Seeds 0-4 for every page.
"""

from __future__ import annotations

import warnings

import harness
import numpy as np

warnings.filterwarnings("ignore", module="solara.validate_hooks")  # Mesa's own, at import

from mesa_adage.examples.visualization.app import PAGES  # noqa: E402
from mesa_adage.examples.visualization.page import frame  # noqa: E402

ROLE = "report"
"""The teaching lab's answers, measured on the app's pages; chooses nothing."""

MOVES = {
    "taxation": ("tau", 0.9),
    "cobweb": ("inertia", 0.9),
    "entrance": ("tau", 0.45),
    "market-maker": ("omega", 1.0),
}
SEEDS = range(5)
RESULTS = harness.RESULTS / "teaching.jsonl"
"""One row per page and readout, the values of every seed (RESULTS.md section 13)."""


def steps(model, n: int) -> None:
    for _ in range(n):
        model.step()


def main() -> None:
    harness.parser(__doc__).parse_args()
    harness.header()
    print("\n| page | theta moved | readout | before | after | seeds lower |")
    print("|---|---|---|---|---|---|")
    for page in PAGES:
        name, value = MOVES[page.slug]
        before, after = [], []
        for seed in SEEDS:
            model = page.build(**page.defaults(), seed=seed)
            steps(model, 20)
            before.append(page.readout.measure(frame(model)))
            model.set_characteristics({name: value}, mid_episode=True)
            steps(model, 20)
            after.append(page.readout.measure(frame(model)))
        b, a = np.array(before), np.array(after)
        print(
            f"| {page.slug} | {name} {page.defaults().get(name)} -> {value} | {page.readout.label} "
            f"| {b.mean():.3f} ± {b.std():.3f} | {a.mean():.3f} ± {a.std():.3f} "
            f"| {(a < b).sum()}/{len(b)} |"
        )
        row = {"command": harness.command(), "table": "moved", "page": page.slug, "theta": name}
        row |= {"from": page.defaults().get(name), "to": value, "readout": page.readout.label}
        row |= {"seeds": list(SEEDS), "before": b.tolist(), "after": a.tolist()}
        harness.append(RESULTS, row)
    print("\n| page | after 40 steps | theta A | theta B | seeds B lower |")
    print("|---|---|---|---|---|")
    for page in PAGES:
        column, label = next(iter(page.charts[0].columns.items()))
        for what, measure in (
            (f"{label}, mean of 40 steps", lambda f, c=column: f[c].mean()),
            (page.readout.label, page.readout.measure),
        ):
            cells, values = [], []
            for theta_name, theta in page.compare.items():
                runs = []
                for seed in SEEDS:
                    model = page.build(**{**page.defaults(), **theta}, seed=seed)
                    steps(model, 40)
                    runs.append(measure(frame(model)))
                values.append(np.array(runs))
                cells.append(f"{theta_name}: {np.mean(runs):.4g} ± {np.std(runs):.2g}")
            lower = (values[1] < values[0]).sum()
            row = {"command": harness.command(), "table": "compare", "page": page.slug}
            row |= {"readout": what, "seeds": list(SEEDS)}
            row["values"] = {n: v.tolist() for n, v in zip(page.compare, values, strict=True)}
            harness.append(RESULTS, row)
            print(f"| {page.slug} | {what} | {' | '.join(cells)} | {lower}/{len(SEEDS)} |")


if __name__ == "__main__":
    main()
