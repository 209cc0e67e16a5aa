"""Regenerate RESULTS.md's tables from the raw rows in ``benchmarks/results/`` (issue 22).

    python benchmarks/report.py            # rewrite every marked table in place
    python benchmarks/report.py --check    # exit 1 naming (and diffing) every table that drifted

RESULTS.md marks each generated table with ``<!-- table: NAME -->`` ... ``<!-- /table -->``;
the text between the markers is :data:`TABLES` ``[NAME]`` applied to the results folder, and
nothing outside the markers is touched. Each table is a small function of the rows alone, so
a table cannot drift from its data: ``tests/test_report.py`` fails when RESULTS.md differs
from what the rows give. Constants that are not measurements (labels, a column's meaning) are
named here; no number in a generated table comes from anywhere but a row.

Not yet generated (hand-written in RESULTS.md, outside markers, each with a sentence saying so):

- Section 4, batched inference: not yet generated: no rows (``inference.py`` writes them from
  now on).
- Section 6, the demo's split and the ``--executor auto`` pair: not yet generated: no rows for
  the split or the pair, only the two commands' times (``executors.py demo`` writes each run's
  own time from now on).
- Section 7, the adapt() margins (two tables) and the slots' cost: not yet generated: no rows
  (``adapt_margin.py`` and ``vec_env_step.py`` write them from now on).
- Section 8, the distribution leader: not yet generated: the rows lack the reference returns
  its margins are taken from (``robust_market_maker.py leader`` writes them from now on).
- Sections 10 and 11, the kill points and the bad inputs: descriptions of tests, not
  measurements (``crash_safety.py`` writes its costs, quoted in prose, from now on).
- Section 12, the guards' cost: not yet generated: no rows (``guard_overhead.py`` writes them
  from now on).
- Section 13, the teaching lab (two tables): not yet generated: no rows (``teaching.py``
  writes them from now on).
- Section 14, a model step against the limit, TaxAI, the profiles and the first
  training-throughput table: not yet generated: no rows (``model_step.py`` and
  ``profile_step.py`` write them from now on; ``training_throughput.py`` has written rows
  since issue 26, the generated table). TaxAI's rates are constants copied from issue 12,
  not measured; ``model_step.py``'s ``TAXAI`` says where they come from.
- Section 15.4, mis-specified data: a summary in words of the ``mis-*`` rows of the generated
  ``trust-runs`` table.

Section 14.5's leader throughput is prose; ``leader_throughput.py`` writes its rows from now on.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import harness
import numpy as np
import pandas as pd

ROLE = "report"
"""It only formats recorded rows; it chooses nothing and reads neither set."""

RESULTS_MD = harness.ROOT / "benchmarks" / "RESULTS.md"
MARKER = re.compile(r"<!-- table: (?P<name>[a-z0-9-]+) -->\n(?P<body>.*?)<!-- /table -->", re.S)

SPANS = {"lam": 0.9, "inertia": 0.9}
"""The widths of the cobweb box (``COBWEB_THETA``: lam in [0.1, 1], inertia in [0, 0.9]);
errors and interval widths are reported in % of them. Not imported, so that this script needs
no model code; ``tests/test_report.py`` checks them against the model."""
DEFAULT_CALIBRATION = (
    "adage (h=50, gamma=0.5, batch=128x1024, followers=6, epoch_steps=0k, stats=default+first)"
)
"""``calibration.py``'s label of the current default settings (section 1's per-target table)."""
ETAS = np.linspace(0.1, 0.9, 5)
"""``follower_response.py``'s probe grid along inertia."""


def _jsonl(results: Path, name: str) -> list[dict]:
    return harness.read_rows(results / name)


def _label(theta: dict) -> str:
    return harness.label(theta)


# --- sections 1 and 2: the cobweb calibration (calibration.jsonl) -------------------------


def _calibration_frame(results: Path, prefix: str) -> pd.DataFrame:
    rows = [r for r in _jsonl(results, "calibration.jsonl") if r["mode"].startswith(prefix)]
    frame = pd.DataFrame(
        [
            {
                "mode": r["mode"],
                "target": _label(r["target"]),
                "seed": r["seed"],
                "lam err %": 100 * r["error"]["lam"],
                "eta err %": 100 * r["error"]["inertia"],
                "max err %": 100 * max(r["error"].values()),
                "seconds": r["seconds"],
                "env steps": r["env_steps"],
            }
            for r in rows
        ]
    )
    return frame.sort_values(["mode", "target", "seed"])


def _calibration_summary(frame: pd.DataFrame, keys: list[str]) -> str:
    table = frame.groupby(keys).agg(
        runs=("seed", "count"),
        lam_err_mean=("lam err %", "mean"),
        lam_err_max=("lam err %", "max"),
        eta_err_mean=("eta err %", "mean"),
        eta_err_max=("eta err %", "max"),
        within_5pct=("max err %", lambda s: f"{int((s <= 5).sum())}/{len(s)}"),
        seconds_mean=("seconds", "mean"),
        env_steps=("env steps", "first"),
    )
    return harness.markdown(table.round(1).reset_index())


def _acceptance(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["target"].isin([_label(t) for t in harness.ACCEPTANCE])]


def calibration_settings(results: Path) -> str:
    """Section 1: each ADAGE setting over the nine acceptance runs."""
    return _calibration_summary(_acceptance(_calibration_frame(results, "adage")), ["mode"])


def calibration_default(results: Path) -> str:
    """Section 1: the current default, per target (the fourth target included)."""
    frame = _calibration_frame(results, "adage")
    return _calibration_summary(frame[frame["mode"] == DEFAULT_CALIBRATION], ["mode", "target"])


def calibration_runs(results: Path) -> str:
    """Section 1: every ADAGE run."""
    return harness.markdown(_calibration_frame(results, "adage").round(1))


def classical_settings(results: Path) -> str:
    """Section 2: retraining per candidate, over the nine acceptance runs."""
    return _calibration_summary(_acceptance(_calibration_frame(results, "classical")), ["mode"])


def classical_targets(results: Path) -> str:
    """Section 2: retraining per candidate, per target."""
    return _calibration_summary(_calibration_frame(results, "classical"), ["mode", "target"])


def classical_runs(results: Path) -> str:
    """Section 2: every run of retraining per candidate."""
    return harness.markdown(_calibration_frame(results, "classical").round(1))


def _eta_error(s: np.ndarray, lo: int, hi: int) -> tuple[float, float]:
    sensitivity = (s[:, :, hi] - s[:, :, lo]).mean() / (ETAS[hi] - ETAS[lo])
    spread = s[:, :, lo : hi + 1].std(axis=0).mean()
    return sensitivity, 100 * spread / sensitivity / 0.9


def follower_response(results: Path) -> str:
    """Section 1.1: how trained producers respond to inertia, per PPO setting."""
    runs = pd.DataFrame(_jsonl(results, "follower_response.jsonl"))
    rows = []
    keys = ["horizon", "gamma", "variant", "steps"]
    for (horizon, gamma, label, steps), group in runs.groupby(keys):
        s = np.array(group["slopes"].tolist())  # seeds x lam x eta
        sensitivity, err = _eta_error(s, 0, len(ETAS) - 1)
        _, err_low = _eta_error(s, 0, 1)
        rows.append(
            {
                "horizon": horizon,
                "gamma": gamma,
                "variant": label,
                "steps": steps,
                "seeds": len(group),
                "slope_at_eta_0.1": round(s[:, :, 0].mean(), 3),
                "slope_at_eta_0.9": round(s[:, :, -1].mean(), 3),
                "sensitivity": round(sensitivity, 3),
                "seed_std": round(s.std(axis=0).mean(), 4),
                "eta_err_pct": round(err, 1),
                "eta_err_low_pct": round(err_low, 1),
            }
        )
    return harness.markdown(pd.DataFrame(rows))


# --- section 3: the learning tests (learning_margins.jsonl) -------------------------------


def _short(value: float) -> str:
    return f"{value:.3g}"


def learning_margins(results: Path) -> str:
    """Section 3: each learning test's assertions against what its own training measured.

    The latest row of each test and seed made from a clean tree; one line per assertion.
    """
    latest: dict[tuple[str, int], dict] = {}
    for r in _jsonl(results, "learning_margins.jsonl"):
        if not r["provenance"]["dirty"]:  # in the order of the latest run
            latest.pop((r["test"], r["seed"]), None)
            latest[(r["test"], r["seed"])] = r
    out = [
        "| test | seed | asserted | measured | margin | margin / threshold | also measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for (test, seed), r in latest.items():
        name = "`" + test.removeprefix("tests/") + "`" + (" (slow)" if r["slow"] else "")
        asserted = {c["quantity"] for c in r["checks"]}
        also = ", ".join(f"{k} {_short(v)}" for k, v in r["measured"].items() if k not in asserted)
        for c in r["checks"]:
            ratio = "-" if c["ratio"] is None else f"{c['ratio']:.2f}"
            cells = [name, str(seed), f"{c['quantity']} {c['asserted']}", _short(c["value"])]
            cells += [_short(c["margin"]), ratio, also or "-"]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# --- section 5: taxation (taxation_fair.jsonl, taxation_compare.jsonl, taxation_zeroshot) --


def _mean_std(group: pd.DataFrame, col: str, scale: float = 1.0, fmt: str = ".2f") -> str:
    """A column's mean ± std over the group's rows (seeds), scaled and formatted."""
    return f"{group[col].mean() * scale:{fmt}} ± {group[col].std() * scale:{fmt}}"


_POLICY_HEADER = [
    "| policy | theta (tau, xi), per seed | welfare | CE gain over (a) | GDP | Gini income "
    "| Gini wealth | revenue | hours |",
    "|---|---|---|---|---|---|---|---|---|",
]


def _policy_line(name: str, group: pd.DataFrame) -> str:
    """One policy's row: its tax per seed, then each outcome's mean ± std over the seeds."""
    thetas = "; ".join(f"({t['tau']:.2f}, {t['xi']:.2f})" for t in group["theta"])
    cell = partial(_mean_std, group)
    return (
        f"| {name} | {thetas} | {cell('welfare')} | {cell('ce_gain', 100)}% | "
        f"{cell('gdp', fmt='.1f')} | {cell('gini_income', fmt='.3f')} | "
        f"{cell('gini_wealth', fmt='.3f')} | {cell('revenue', fmt='.1f')} | "
        f"{cell('mean_labour', fmt='.3f')} |"
    )


FAIR_HOUSEHOLDS = {
    "uniform": "households trained uniformly over the box, the same for every tax",
    "own": "each tax's own households, trained at that tax alone",
    "adage run": "the ADAGE run's own households (half of their last 3M steps near its tax)",
}
"""``taxation.py fair``'s household sets, in the order the tables show them."""
FAIR_POLICIES = (
    "(b) US HSV",
    "(d) ADAGE",
    "(e) ADAGE, uniform households",
    "(f) best of the grid",
)
"""The taxes of the per-seed table (all but the free market, their base, and the naive tax)."""


def _fair_frame(results: Path) -> pd.DataFrame:
    """``taxation.py fair``'s scores; the specialists (``own``) at their largest budget only.

    A smaller budget tried first stays in the rows, and RESULTS.md says what it gave.
    """
    rows = [r for r in _heldout_rows(results, "taxation_fair.jsonl") if "policy" in r]
    frame = pd.DataFrame(rows)
    if "steps" in frame:
        own = frame["households"] == "own"
        frame = frame[~own | (frame["steps"] == frame.loc[own, "steps"].max())]
    return frame


def _households(frame: pd.DataFrame, households: str) -> str:
    """A household set's label, with the specialists' training steps from their rows."""
    label = FAIR_HOUSEHOLDS[households]
    if households == "own":
        label += f" ({int(frame['steps'].iloc[0]):,} agent-steps from scratch)"
    return label


def taxation_fair(results: Path) -> str:
    """Section 5: every tax under each household set, held-out seeds; mean ± std."""
    frame = _fair_frame(results)
    out = list(_POLICY_HEADER)
    for households in FAIR_HOUSEHOLDS:
        chosen = frame[frame["households"] == households] if not frame.empty else frame
        if chosen.empty:
            continue
        out.append(f"| **{_households(chosen, households)}** | | | | | | | | |")
        for name, group in chosen.groupby("policy", sort=True):
            out.append(_policy_line(name, group))
    return "\n".join(out)


def taxation_fair_seeds(results: Path) -> str:
    """Section 5: per held-out seed and household set, each tax's CE gain over (a)."""
    frame = _fair_frame(results)
    out = [
        "| seed | households | " + " | ".join(FAIR_POLICIES) + " | (d) - (b), points |",
        "|---|---|" + "---|" * len(FAIR_POLICIES) + "---|",
    ]
    if frame.empty:
        return "\n".join(out)
    gains: dict[str, list[dict[str, float]]] = {h: [] for h in FAIR_HOUSEHOLDS}
    for seed in frame["seed"].unique():
        for households in FAIR_HOUSEHOLDS:
            group = frame[(frame["seed"] == seed) & (frame["households"] == households)]
            if group.empty:
                continue
            ce = {r.policy: 100 * r.ce_gain for r in group.itertuples()}
            ce["gap"] = ce["(d) ADAGE"] - ce["(b) US HSV"]
            gains[households].append(ce)
            cells = [f"{ce[p]:+.2f}%" if p in ce else "-" for p in FAIR_POLICIES]
            out.append(f"| {seed} | {households} | {' | '.join(cells)} | {ce['gap']:+.2f} |")
    for households, seeds in gains.items():
        if len(seeds) < 2:
            continue
        cells = []
        for column in (*FAIR_POLICIES, "gap"):
            v = [ce[column] for ce in seeds if column in ce]
            cells.append(f"{np.mean(v):+.2f} ± {np.std(v, ddof=1):.2f}" if v else "-")
        out.append(f"| mean ± std | {households} | {' | '.join(cells)} |")
    return "\n".join(out)


def taxation_policies(results: Path) -> str:
    """Section 5: the four policies, GP leader, each run's own households; mean ± std."""
    everything = pd.DataFrame(_jsonl(results, "taxation_compare.jsonl"))
    frame = everything[everything["leader"] == "gp"]
    out = list(_POLICY_HEADER)
    for name, group in frame.groupby("policy", sort=True):
        out.append(_policy_line(name, group))
    return "\n".join(out)


def _taxation_rl(results: Path, keep: str) -> str:
    everything = pd.DataFrame(_jsonl(results, "taxation_compare.jsonl"))
    rl = everything[everything["leader"] == "rl"].drop_duplicates(["seed", "policy"], keep=keep)
    out = ["| policy | theta (tau, xi) | welfare | CE gain over (a) |", "|---|---|---|---|"]
    for r in rl.itertuples():
        out.append(
            f"| {r.policy} | ({r.theta['tau']:.2f}, {r.theta['xi']:.2f}) | "
            f"{r.welfare:.2f} | {100 * r.ce_gain:+.2f}% |"
        )
    return "\n".join(out)


def taxation_rl(results: Path) -> str:
    """Section 5: the RL leader's latest comparison (its own learning rate)."""
    return _taxation_rl(results, "last")


def taxation_rl_before(results: Path) -> str:
    """Section 5: the RL leader's first comparison (the SPSA step size as its rate)."""
    return _taxation_rl(results, "first")


def taxation_zeroshot(results: Path) -> str:
    """Section 5: one policy trained on a grid of taxes against retrained ones."""
    out = [
        "| unseen theta | zero-shot welfare | retrained welfare | gap (CE) |",
        "|---|---|---|---|",
    ]
    for r in _jsonl(results, "taxation_zeroshot.jsonl"):
        out.append(
            f"| ({r['theta']['tau']}, {r['theta']['xi']}) | {r['zero_shot_welfare']:.2f} | "
            f"{r['retrained_welfare']:.2f} | {100 * r['gap_ce']:+.2f}% |"
        )
    return "\n".join(out)


# --- section 6: executors (executors.jsonl) -------------------------------------------------


def executors_candidates(results: Path) -> str:
    """Section 6: the latest full-size run of 16 candidate evaluations per executor."""
    rows = [
        r
        for r in _jsonl(results, "executors.jsonl")
        if r["bench"] == "candidates" and r["episodes"] == 132
    ]
    r = rows[-1]

    def same(name: str) -> str:
        return "identical to serial" if r[f"{name}_same_values"] else "differ from serial"

    return "\n".join(
        [
            "| executor | first call | median call | speed-up over serial | values |",
            "|---|---|---|---|---|",
            f"| serial | {r['serial_first_s']:.1f} s | {r['serial_s']:.1f} s | 1.00x | |",
            f"| process ({r['cpus']} workers) | {r['process_first_s']:.1f} s | "
            f"{r['process_s']:.1f} s | **{r['process_speedup']:.2f}x** | {same('process')} |",
            f"| Ray (local, `num_cpus={r['cpus']}`) | {r['ray_first_s']:.1f} s | "
            f"{r['ray_s']:.1f} s | **{r['ray_speedup']:.2f}x** | {same('ray')} |",
        ]
    )


# --- section 8: the market maker (robust_market_maker.jsonl, generalization.jsonl) --------


def _mode(results: Path, mode: str) -> list[dict]:
    rows = [r for r in _jsonl(results, "robust_market_maker.jsonl") if r["mode"] == mode]
    return sorted(rows, key=lambda r: r["seed"])


def market_maker_claim(results: Path) -> str:
    """Section 8: one conditional policy against five specialists, per seed and omega."""
    out = ["| seed | omega 0 | 0.25 | 0.5 | 0.75 | 1 |", "|---|---|---|---|---|---|"]
    for r in _mode(results, "claim"):
        cells = [
            f"{c:.1f} / {s:.1f} ({c / s:.3f})"
            for c, s in zip(r["conditional"]["return"], r["specialists"], strict=True)
        ]
        out.append(f"| {r['seed']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def market_maker_behaviour(results: Path) -> str:
    """Section 8: the conditional policies' spread, volume and final PnL along omega."""
    out = [
        "| seed | spread at omega 0 / .25 / .5 / .75 / 1 | volume | final PnL |",
        "|---|---|---|---|",
    ]
    for r in _mode(results, "claim"):
        c = r["conditional"]
        spread = " / ".join(f"{v:.2f}" for v in c["spread"])
        volume = " / ".join(f"{v:.2f}" for v in c["volume"])
        pnl = " / ".join(f"{v:.1f}" for v in c["pnl"])
        out.append(f"| {r['seed']} | {spread} | {volume} | {pnl} |")
    return "\n".join(out)


def market_maker_margin(results: Path) -> str:
    """Section 8: the learning test's margin over random quotes."""
    out = ["| training seed | margin at omega 0 / 0.5 / 1 | mean |", "|---|---|---|"]
    for r in _mode(results, "margin"):
        margins = [r[omega]["margin"] for omega in ("0.0", "0.5", "1.0")]
        cells = " / ".join(f"{m:.1f}" for m in margins)
        out.append(f"| {r['seed']} | {cells} | {sum(margins) / len(margins):.1f} |")
    return "\n".join(out)


def _generalization(results: Path, case: str, name: str) -> str:
    rows = [r for r in _jsonl(results, "generalization.jsonl") if r["case"] == case]
    rows.sort(key=lambda r: r["seed"])
    points = rows[0]["table"]
    head = [
        f"**{p[name]:g}**" if p["region"] == "interpolation" else f"{p[name]:g}" for p in points
    ]
    out = ["| seed | " + " | ".join(head) + " |", "|---" * (len(points) + 1) + "|"]
    for r in rows:
        cells = [f"{p['conditional']:.1f}/{p['specialist']:.1f}" for p in r["table"]]
        out.append(f"| {r['seed']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def generalization_market_maker(results: Path) -> str:
    """Section 8: conditional / specialist return along omega, trained on [0.3, 0.7]."""
    return _generalization(results, "market_maker", "omega")


def generalization_cobweb(results: Path) -> str:
    """Section 8: conditional / specialist return along lam, trained on [0.3, 0.7]."""
    return _generalization(results, "cobweb", "lam")


# --- section 9: the entrance game (entrance.jsonl) ----------------------------------------

ENTRANCE_WITHIN = 5.0
"""Issue 22's bar: an answer within 5% of the dense grid's optimum."""


def _entrance(results: Path, which: str = "heldout") -> list[dict]:
    """The entrance rows of one kind, by seed.

    ``"heldout"``: held-out rows from a clean tree, the headline. ``"development"``: rows of
    ``entrance.py --development``. ``"earlier"``: the rows of seeds 61-63, made before the
    held-out protocol (3 epochs of 3 candidates; retrained traders at SB3's constant 3e-4).
    """
    rows = _jsonl(results, "entrance.jsonl")
    if which == "heldout":
        rows = [r for r in rows if r.get("set") == "heldout"]
        rows = [r for r in rows if not r.get("provenance", {}).get("dirty", True)]
    elif which == "development":
        rows = [r for r in rows if r.get("set") == "development"]
    else:
        rows = [r for r in rows if "set" not in r]
    return sorted(rows, key=lambda r: r["seed"])


def _gap(answer: float, best: float) -> float:
    """How far the answer falls short of the grid's best, in % of the best (both maximised)."""
    return 100.0 * (best - answer) / abs(best)


def _fell_short(finding: dict | None) -> str:
    if finding is None:
        return "no"
    theta = ", ".join(f"{k} {v:.3f}" for k, v in finding["better_theta"].items())
    return f"yes: {finding['source']} {theta} at {finding['better_objective']:.3f}"


def _confirmations(results: Path, which: str) -> dict[tuple[int, str], dict]:
    """The fresh-episode check's rows of one set (held-out ones from a clean tree), by seed and
    task (``entrance_confirmation.py``)."""
    rows = [r for r in _jsonl(results, "entrance_confirmation.jsonl") if r.get("set") == which]
    if which == "heldout":
        rows = [r for r in rows if not r.get("provenance", {}).get("dirty", True)]
    return {(r["seed"], r["task"]): r for r in rows}


def _held(row: dict | None) -> str:
    if row is None:
        return "-"
    verdict = "yes" if row["held"] else "no"
    fresh, own = row["fresh_objective"], row["own_objective"]
    text = f"{verdict}: {fresh:.3f} on {row['episodes']}, own {own:.3f}"
    if row.get("fragile_share") is not None:  # rows made before the fragility check lack it
        text += f"; fragile in {100 * row['fragile_share']:.1f}% of {row['resamples']} resamples"
    return text


def _entrance_gaps(results: Path, which: str) -> str:
    out = [
        "| seed | task | answer | objective | dense grid's best | objective | gap | "
        "within 5% | the run flagged a shortfall | fresh episodes: held? |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    confirmed = _confirmations(results, which)
    for r in _entrance(results, which):
        calm_best = max(r["grid"], key=lambda g: g["calm"])
        stress_best = max(r["stress_grid"], key=lambda g: g["stress"])
        cases = (
            ("calm", f"tau {r['calm_tau']:.3f}", r["at_calm"]["calm"],
             f"tau {calm_best['tau']:.2f} (of {len(r['grid'])})", calm_best["calm"],
             r["calm_fell_short"]),
            ("stress", f"{r['stress_theta']['tau']:.3f}, {r['stress_theta']['demand_shock']:.2f}",
             r["at_stress"]["stress"],
             f"{stress_best['tau']:.1f}, {stress_best['demand_shock']:.1f} "
             f"(of {len(r['stress_grid'])})", stress_best["stress"], r["stress_fell_short"]),
        )  # fmt: skip
        for task, answer, value, best, best_value, finding in cases:
            gap = _gap(value, best_value)
            out.append(
                f"| {r['seed']} | {task} | {answer} | {value:.3f} | {best} | {best_value:.3f} | "
                f"{gap:+.1f}% | {'yes' if gap <= ENTRANCE_WITHIN else 'no'} | "
                f"{_fell_short(finding)} | {_held(confirmed.get((r['seed'], task)))} |"
            )
    return "\n".join(out)


def entrance_heldout(results: Path) -> str:
    """Section 9, the headline: calm and stress answers against dense grids, held-out seeds."""
    return _entrance_gaps(results, "heldout")


def entrance_development(results: Path) -> str:
    """Section 9: the same on the fresh development seeds, where the budget was sized."""
    return _entrance_gaps(results, "development")


def _volatility_cells(o: dict) -> str:
    return (
        f"{o['volatility']:.3f} | {o['mapc']:.3f} | {o['volume']:.1f} | "
        f"{o['crashes_per_100']:.2f} | {o['calm']:.3f}"
    )


def _entrance_volatility(results: Path, which: str) -> str:
    out = [
        "| seed | tau | volatility | MAPC | volume | crashes /100 | calm objective |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in _entrance(results, which):
        best = max(r["grid"], key=lambda g: g["calm"])
        out += [
            f"| {r['seed']} | 0 (no tax) | {_volatility_cells(r['baseline'])} |",
            f"| {r['seed']} | leader {r['calm_tau']:.3f} ({r['calm_evaluations']} evaluations) "
            f"| {_volatility_cells(r['at_calm'])} |",
            f"| {r['seed']} | grid best {best['tau']:.3f} ({len(r['grid'])} evaluations) "
            f"| {_volatility_cells(best)} |",
        ]
    return "\n".join(out)


def entrance_volatility(results: Path) -> str:
    """Section 9: no tax, the calm leader's tax and the grid's best, per held-out seed."""
    return _entrance_volatility(results, "heldout")


def entrance_volatility_earlier(results: Path) -> str:
    """Section 9: the same on the earlier development seeds 61-63."""
    return _entrance_volatility(results, "earlier")


def _entrance_grid(row: dict) -> str:
    out = [
        "| tau | volatility | MAPC | volume | crashes /100 | calm objective |",
        "|---|---|---|---|---|---|",
    ]
    for g in row["grid"]:
        out.append(f"| {g['tau']:.3f} | {_volatility_cells(g)} |")
    return "\n".join(out)


def entrance_grid(results: Path) -> str:
    """Section 9: volume and the calm objective along the dense tau grid, each held-out seed."""
    rows = _entrance(results, "heldout")
    out = [
        "| tau | " + " | ".join(f"{r['seed']} volume | {r['seed']} objective" for r in rows) + " |",
        "|---|" + "---|---|" * len(rows),
    ]
    for i, tau in enumerate(g["tau"] for g in rows[0]["grid"]):
        cells = [f"{r['grid'][i]['volume']:.1f} | {r['grid'][i]['calm']:.3f}" for r in rows]
        out.append(f"| {tau:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def entrance_grid_earlier(results: Path) -> str:
    """Section 9: the whole (16-point) grid along tau for the earlier seed 61."""
    return _entrance_grid(_entrance(results, "earlier")[0])


def entrance_stress_grid(results: Path) -> str:
    """Section 9: the stress objective over the 6 x 6 grid for the lowest held-out seed."""
    row = _entrance(results, "heldout")[0]
    table = pd.DataFrame(row["stress_grid"]).pivot(
        index="tau", columns="demand_shock", values="stress"
    )
    out = [
        f"| seed {row['seed']}: tau \\ demand_shock | "
        + " | ".join(f"{d:g}" for d in table.columns)
        + " |",
        "|---|" + "---|" * len(table.columns),
    ]
    for tau, values in table.iterrows():
        out.append(f"| {tau:g} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    return "\n".join(out)


def _entrance_stress(results: Path, which: str) -> str:
    out = [
        "| seed | stress theta (tau, demand_shock) | stress objective: default / answer "
        "| volatility | crashes /100 |",
        "|---|---|---|---|---|",
    ]
    for r in _entrance(results, which):
        theta, base, at = r["stress_theta"], r["stress_baseline"], r["at_stress"]
        rise = 100 * (at["stress"] / base["stress"] - 1)
        out.append(
            f"| {r['seed']} | {theta['tau']:.3f}, {theta['demand_shock']:.2f} | "
            f"{base['stress']:.3f} / {at['stress']:.3f} ({rise:+.0f}%) | "
            f"{base['volatility']:.3f} / {at['volatility']:.3f} | "
            f"{base['crashes_per_100']:.2f} / {at['crashes_per_100']:.2f} |"
        )
    return "\n".join(out)


def entrance_stress(results: Path) -> str:
    """Section 9: the stress scenario against the default (tau 0, demand shock 1), held out."""
    return _entrance_stress(results, "heldout")


def entrance_stress_earlier(results: Path) -> str:
    """Section 9: the same on the earlier development seeds 61-63."""
    return _entrance_stress(results, "earlier")


def _entrance_zero_shot(results: Path, which: str) -> str:
    out = ["| seed | tau | policy | return | volatility | volume |", "|---|---|---|---|---|---|"]
    names = {"conditional": "conditional (zero-shot)", "retrained": "retrained there"}
    for r in _entrance(results, which):
        for pair in r["zero_shot"]:
            for key, name in names.items():
                o = pair[key]
                out.append(
                    f"| {r['seed']} | {o['tau']:g} | {name} | {o['return']:.1f} | "
                    f"{o['volatility']:.3f} | {o['volume']:.1f} |"
                )
    return "\n".join(out)


def entrance_zero_shot(results: Path) -> str:
    """Section 9: conditional traders against traders retrained at one tau, same schedule."""
    return _entrance_zero_shot(results, "heldout")


def entrance_zero_shot_development(results: Path) -> str:
    """Section 9: the same comparison, same schedule, on the fresh development seeds."""
    return _entrance_zero_shot(results, "development")


def entrance_zero_shot_earlier(results: Path) -> str:
    """Section 9: the earlier comparison (seeds 61-63), retrained at a constant 3e-4."""
    return _entrance_zero_shot(results, "earlier")


# --- section 12: the soak (soak*.json) ----------------------------------------------------

SOAK = {
    "soak-before-fix": "main before the fix (0d64209)",
    "soak": "this branch",
    "soak-trim": "this branch, memory in use",
    "soak-random": "this branch, random leader",
    "soak-random-trim": "this branch, random leader, in use",
}
"""Each soak summary's file stem and the code it ran (the commit is not in the summary)."""


def _rate(value: float) -> str:
    return "0" if value == 0 else f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}"


def _error(value: float) -> str:
    return "0" if value == 0 else f"{value:.2g}" if abs(value) >= 1 else f"{value:.1g}"


def soak(results: Path) -> str:
    """Section 12: memory and file descriptors over 200 epochs, per soak run."""
    out = [
        "| code | command | RSS epoch 0 -> 200 | RSS growth, KiB/epoch | fds | fds/epoch |",
        "|---|---|---|---|---|---|",
    ]
    for stem, code in SOAK.items():
        s = json.loads((results / f"{stem}.json").read_text())
        command = re.sub(r" --out \S+", "", s["command"])
        out.append(
            f"| {code} | `{command}` | {s['rss_kib_start'] / 1024:,.0f} -> "
            f"{s['rss_kib_end'] / 1024:,.0f} MiB | {_rate(s['rss_kib_per_epoch'])} +- "
            f"{_error(s['rss_kib_per_epoch_se'])} | {s['fds_start']} -> {s['fds_end']} | "
            f"{_rate(s['fds_per_epoch'])} +- {_error(s['fds_per_epoch_se'])} |"
        )
    return "\n".join(out)


# --- section 14: training throughput (training_throughput.jsonl) --------------------------


def training_throughput(results: Path) -> str:
    """Section 14.2: MesaVecEnv with and without the DataCollector, against a hand-written env."""
    out = [
        "| producers x copies | MesaVecEnv | collecting too (before) | hand-written | ratio "
        "| ratio before |",
        "|---|---|---|---|---|---|",
    ]
    for r in _jsonl(results, "training_throughput.jsonl"):
        mesa, before, arrays = (
            r["mesa_steps_per_s"],
            r["collecting_steps_per_s"],
            r["arrays_steps_per_s"],
        )
        out.append(
            f"| {r['producers']} x {r['copies']} | {mesa:,} | {before:,} | {arrays:,} | "
            f"{mesa / arrays:.2f}x | {before / arrays:.2f}x |"
        )
    return "\n".join(out)


# --- section 15: calibration on harder data (trust.jsonl, black_it.jsonl, price stats) ----


def _stats(row: dict) -> str | None:
    return None if row["statistics"] == "default" else row["statistics"]


def _job(row: dict) -> str:
    """``trust.py``'s run name: variant, statistics, target and seed."""
    t, stats = row["target"], _stats(row)
    tag = f"-stats={stats}" if stats else ""
    return f"{row['variant']}{tag}-lam{t['lam']}-eta{t['inertia']}-seed{row['seed']}"


def _inside(row: dict, name: str) -> bool:
    low, high = row.get("bootstrap_intervals", {}).get(name, (math.nan, math.nan))
    return bool(low <= row["target"][name] <= high)


def _trust_frame(results: Path) -> pd.DataFrame:
    records = []
    for r in _jsonl(results, "trust.jsonl"):
        err = r["error"] or {}
        width = {k: hi - lo for k, (lo, hi) in r["intervals"].items()}
        records.append(
            {
                "variant": r["variant"] + ("" if r["statistics"] == "default" else " +stats"),
                "set": r["set"],
                "target": _label(r["target"]),
                "seed": r["seed"],
                "lam err %": 100 * err.get("lam", np.nan),
                "eta err %": 100 * err.get("inertia", np.nan),
                "lam width %": 100 * width["lam"] / SPANS["lam"],
                "eta width %": 100 * width["inertia"] / SPANS["inertia"],
                "lam covered": (r["covers"] or {}).get("lam"),
                "eta covered": (r["covers"] or {}).get("inertia"),
                "lam boot covered": _inside(r, "lam"),
                "eta boot covered": _inside(r, "inertia"),
                "eta status": r["identification"]["inertia"],
                "fit p": r["fit"]["p_value"],
                "fit ratio": r["fit"]["ratio"],
                "seconds": r["seconds"],
            }
        )
    return pd.DataFrame(records).sort_values(["variant", "set", "target", "seed"])


def trust_summary(results: Path) -> str:
    """Section 15.1: errors, coverage, identification and fit per variant and target set."""
    frame = _trust_frame(results)

    def count(test: Callable[[pd.Series], pd.Series]) -> Callable[[pd.Series], str]:
        return lambda s: f"{int(test(s).sum())}/{len(s)}"

    summary = frame.groupby(["variant", "set"]).agg(
        runs=("seed", "count"),
        lam_err_mean=("lam err %", "mean"),
        lam_err_max=("lam err %", "max"),
        eta_err_mean=("eta err %", "mean"),
        eta_err_max=("eta err %", "max"),
        within_5pct=(
            "lam err %",
            count(lambda s: (s <= 5) & (frame.loc[s.index, "eta err %"] <= 5)),
        ),
        lam_width=("lam width %", "mean"),
        eta_width=("eta width %", "mean"),
        lam_coverage=("lam covered", count(lambda s: s)),
        eta_coverage=("eta covered", count(lambda s: s)),
        lam_boot_coverage=("lam boot covered", count(lambda s: s)),
        eta_boot_coverage=("eta boot covered", count(lambda s: s)),
        eta_not_identified=("eta status", count(lambda s: s != "identified")),
        poor_fit=("fit p", count(lambda s: s < 0.05)),
        fit_ratio=("fit ratio", "median"),
        seconds=("seconds", "mean"),
    )
    return harness.markdown(summary.round(2).reset_index())


def trust_runs(results: Path) -> str:
    """Section 15.3: every run on harder data."""
    return harness.markdown(_trust_frame(results).round(2))


def black_it_versus(results: Path) -> str:
    """Section 15.5: ADAGE against black-it on the same data, mean absolute error."""
    adage = {_job(r): r for r in _jsonl(results, "trust.jsonl")}
    rows = []
    for b in _jsonl(results, "black_it.jsonl"):
        a = adage.get(b["job"])
        if a is None or a["error"] is None:
            continue
        for method, error in (("ADAGE", a["error"]), (f"black-it ({b['moments']})", b["error"])):
            rows.append(
                {
                    "variant": a["variant"] + ("" if a["statistics"] == "default" else " +stats"),
                    "set": a["set"],
                    "method": method,
                    "job": b["job"],
                    "lam": 100 * error["lam"],
                    "eta": 100 * error["inertia"],
                }
            )
    frame = pd.DataFrame(rows).drop_duplicates(["method", "job"])
    out = frame.groupby(["variant", "set", "method"]).agg(
        runs=("job", "count"),
        lam_mae=("lam", "mean"),
        eta_mae=("eta", "mean"),
        mae=("lam", lambda s: (s.mean() + frame.loc[s.index, "eta"].mean()) / 2),
    )
    return harness.markdown(out.round(1).reset_index())


STATISTICS = {
    "mean": "mean",
    "std": "std",
    "autocorr": "autocorr (lag 1)",
    "autocorr2": "autocorr2",
    "autocorr3": "autocorr3",
    "mean_abs_change": "mean_abs_change",
    "first": "first",
    "second": "second",
    "early_mean": "early_mean (first 5 prices)",
    "early_change": "early_change (their mean drift)",
}
"""The candidate price statistics in the order section 15.2 lists them, with its labels."""


def price_statistics(results: Path) -> str:
    """Section 15.2: each price statistic's sensitivity and learner bias, seeds 0 and 1."""
    seeds = [json.loads((results / f"price_statistics-seed{s}.json").read_text()) for s in (0, 1)]
    out = [
        "| statistic | moves per 0.1 of inertia (se) | per 0.1 of lam (se) "
        "| learner bias, seed 0 (sd) | seed 1 (sd) |",
        "|---|---|---|---|---|",
    ]
    for name, label in STATISTICS.items():
        first = seeds[0]["single"][name]
        bias = [s["single"][name]["learner_bias (episode sd)"] for s in seeds]
        out.append(
            f"| {label} | {first['d_mean/d_eta per 0.1 (se units)']:.1f} | "
            f"{first['d_mean/d_lam per 0.1 (se units)']:.1f} | {bias[0]:.2f} | {bias[1]:.2f} |"
        )
    return "\n".join(out)


SETS = {
    "default+first": "default+first (mean, std, autocorr, mean_abs_change, first)",
    "+autocorr2,3": "+ autocorr2, autocorr3",
    "+early": "+ second, early_mean, early_change",
    "+early+autocorr2,3": "+ both (now `PRICE_STATISTICS`)",
}
"""``price_statistics.py``'s sets of statistics, with section 15.2's labels."""
CHOSEN = ["mean", "std", "autocorr2", "autocorr3", "first", "early_mean"]
"""``price_statistics.py``'s ``"best subset on seed 0"``: seed 1's rows call it ``chosen``;
seed 0's rows hold it among their ``best_subsets``."""


def price_statistic_sets(results: Path) -> str:
    """Section 15.2: each set's expected standard error and learner bias, seeds 0 and 1."""
    seeds = [json.loads((results / f"price_statistics-seed{s}.json").read_text()) for s in (0, 1)]
    ranked = seeds[0]["best_subsets"]
    rank = next(i for i, b in enumerate(ranked) if b["statistics"] == CHOSEN)
    place = ("best", "second-best", "third-best")[rank] if rank < 3 else f"{rank + 1}th best"
    chosen = f"the {place} subset on seed 0 ({', '.join(CHOSEN)})"
    out = [
        "| set | seed | se lam % | bias lam % | se inertia % | bias inertia % |",
        "|---|---|---|---|---|---|",
    ]
    rows = [(label, [s["sets"][name] for s in seeds]) for name, label in SETS.items()]
    rows.append((chosen, [ranked[rank], seeds[1]["sets"]["chosen"]]))
    for label, values in rows:
        for seed, v in enumerate(values):
            first = f"| {label} |" if seed == 0 else "| |"
            out.append(
                f"{first} {seed} | {v['se_lam']:.1f} | {v['bias_lam']:.1f} | "
                f"{v['se_eta']:.1f} | {v['bias_eta']:.1f} |"
            )
    return "\n".join(out)


# --- section 16: the posterior (posterior.jsonl) ------------------------------------------


def _estimator(row: dict) -> str:
    """Which estimator answered: its interval kind widened by its cross-fitted factors, or
    the first, unwidened (central intervals)."""
    widen = row.get("widen") or []
    if not widen:
        return "unwidened (earlier)"
    return f"{row.get('interval_kind', 'central')}, widened " + ", ".join(f"{w:g}" for w in widen)


FIRST_RUNS = 60
"""The held-out runs the first posterior estimators were measured on."""
ESTIMATORS = ("shortest", "central", "unwidened")
"""The table's order of estimators: the current default first, the first measurement last."""


def _posterior_answers(results: Path) -> list[dict]:
    """The last answer row of each (estimator, variant, data, target): a rerun replaces its rows."""
    rows = [r for r in _jsonl(results, "posterior.jsonl") if r["kind"] == "answer"]
    key = lambda r: (_estimator(r), r["variant"], r["data"], r["index"])  # noqa: E731
    return list({key(r): r for r in rows}.values())


def _posterior_line(variant: str, data: str, rows: list[dict], checked: int) -> dict:
    from scipy import stats

    answered = [r for r in rows if r["refused"] is None]
    line: dict = {"estimator": _estimator(rows[0]), "variant": variant, "data": data}
    line["targets"] = len(rows)
    line["refused"] = len(rows) - len(answered)
    line["warned"] = sum(r["warned"] for r in answered)
    checks = [r["predictive_check"] for r in answered if r.get("predictive_check")]
    flags = sum(c["flagged"] for c in checks)
    line["check flagged"] = f"{flags}/{len(checks)}" if checks else "not run"
    mine = [r for r in rows if r["index"] < checked]
    flagged = [
        r
        for r in mine
        if r["refused"] or r["warned"] or (r["predictive_check"] or {}).get("flagged")
    ]
    line["any flag, checked targets"] = f"{len(flagged)}/{len(mine)}" if checks else "-"
    fits = [r["fit"]["p_value"] for r in answered if r.get("fit")]
    line["fit p < 0.05"] = f"{sum(p < 0.05 for p in fits)}/{len(fits)}" if fits else "-"
    line["fit p uniform (KS p)"] = f"{stats.kstest(fits, 'uniform').pvalue:.2g}" if fits else "-"
    for name, short in (("lam", "lam"), ("inertia", "eta")):
        hits = sum(r["covers"][name] for r in answered)
        line[f"{short} covers"] = f"{hits}/{len(rows)} ({100 * hits / len(rows):.0f}%)"
    for name, short in (("lam", "lam"), ("inertia", "eta")):
        widths = [100 * r["width"][name] for r in answered]
        errors = [100 * abs(r["mean"][name] - r["target"][name]) / SPANS[name] for r in answered]
        line[f"{short} width %"] = round(float(np.mean(widths)), 1) if answered else "-"
        line[f"{short} err %"] = round(float(np.mean(errors)), 1) if answered else "-"
    for name, short in (("lam", "lam"), ("inertia", "eta")):
        ranks = [r["rank"][name] for r in answered]
        line[f"{short} rank p"] = f"{stats.kstest(ranks, 'uniform').pvalue:.2g}" if ranks else "-"
    seconds = [r["seconds"] for r in answered]
    line["s per answer"] = round(float(np.median(seconds)), 2) if seconds else "-"
    return line


def posterior_coverage(results: Path) -> str:
    """Section 16: the posterior's coverage, width, error and ranks per estimator, variant, data.

    The widened estimator (the current default) comes first; the unwidened one is the first
    measurement. Coverage counts a refused data set as not covered. "not refused or warned"
    rows keep the answers the estimator gave without a word. "rank p" is a Kolmogorov-Smirnov
    test of the truth's ranks against the uniform (simulation-based calibration). The
    predictive check ran on the targets of the first answers only (its cost): "check flagged"
    counts over the answers it ran on, "any flag" over those targets, a refusal, a warning or
    the check.
    """
    rows = _posterior_answers(results)
    order = {"model": 0, "reference": 1, "specialist": 2, "adaptive": 3}
    lines = []
    groups = {(_estimator(r), r["variant"], r["data"]) for r in rows}
    for estimator, variant, data in sorted(
        groups, key=lambda k: (ESTIMATORS.index(k[0].split(",")[0].split()[0]), k[1], order[k[2]])
    ):
        mine = [
            r
            for r in rows
            if _estimator(r) == estimator and r["variant"] == variant and r["data"] == data
        ]
        # The check ran on the first targets (benchmarks/posterior.py --check-runs).
        checked = 1 + max((r["index"] for r in mine if r.get("predictive_check")), default=-1)
        lines.append(_posterior_line(variant, data, mine, checked))
        if len(mine) > FIRST_RUNS:  # comparable with the estimators measured on the first 60
            first = [r for r in mine if r["index"] < FIRST_RUNS]
            lines.append(_posterior_line(variant, f"{data}, runs 1-{FIRST_RUNS}", first, checked))
        if data != "model":
            quiet = [r for r in mine if r["refused"] is None and not r["warned"]]
            if quiet:
                label = f"{data}, not refused or warned"
                lines.append(_posterior_line(variant, label, quiet, checked))
    return harness.markdown(pd.DataFrame(lines))


def posterior_speed(results: Path) -> str:
    """Section 16: the followers' simulations per second, training and answering times."""
    rows = [r for r in _jsonl(results, "posterior.jsonl") if r["kind"] == "speed"]
    latest = {r["variant"]: r for r in rows}
    answers = _posterior_answers(results)
    lines = []
    for variant, r in sorted(latest.items()):
        seconds = [
            a["seconds"] for a in answers if a["variant"] == variant and a["refused"] is None
        ]
        lines.append(
            {
                "variant": variant,
                "simulations": r["simulations"],
                "episodes each": r["episodes"],
                "simulate s": round(r["simulate_seconds"], 1),
                "simulations/s": round(r["simulations_per_second"], 2),
                "episodes/s": round(r["episodes_per_second"]),
                "train s": round(r["train_seconds"], 1),
                "answer s (median, in process)": round(float(np.median(seconds)), 2),
                "adage posterior s (median)": round(float(np.median(r["cli_seconds"])), 1),
            }
        )
    return harness.markdown(pd.DataFrame(lines))


def posterior_crossfit(results: Path) -> str:
    """Section 16: the cross-fitted answers to a run's own simulations, per interval kind.

    Each of the run's simulations (theta from the prior) is answered by the fold's estimator
    that never saw it, its interval widened by the estimator's factors; "edge" counts the
    truths in the outer tenth of their range (``posterior_select.py``'s ``EDGE``).
    """
    rows = _jsonl(results, "posterior_crossfit.jsonl")
    latest = {(r["variant"], r["interval_kind"]): r for r in rows}
    lines = []
    for (variant, interval), r in sorted(latest.items()):
        line: dict = {"data": variant, "interval": interval, "simulations": r["simulations"]}
        line["factors"] = ", ".join(f"{w:g}" for w in r["widen"])
        for name, short in (("lam", "lam"), ("inertia", "eta")):
            own = r[name]
            line[f"{short} covers"] = f"{own['covers']}/{r['simulations']}"
            line[f"{short} covers near an edge"] = f"{own['edge_covers']}/{own['edge']}"
            line[f"{short} width %"] = round(100 * own["width"], 1)
        lines.append(line)
    return harness.markdown(pd.DataFrame(lines))


def posterior_fit_select(results: Path) -> str:
    """Section 16: the fit test on the development targets (``posterior_fit_select.py``).

    Per run and data maker: data sets refused (outside the box), p-values below 0.05, their
    median, and a Kolmogorov-Smirnov test of their uniformity.
    """
    from scipy import stats

    rows = _jsonl(results, "posterior_fit_select.jsonl")
    latest = {(r["variant"], r["data"], r["index"]): r for r in rows}
    lines = []
    for variant, kind in sorted({k[:2] for k in latest}):
        mine = [r for k, r in latest.items() if k[:2] == (variant, kind)]
        p = np.array([r["fit"]["p_value"] for r in mine if r["fit"]])
        lines.append(
            {
                "data": variant,
                "made by": kind,
                "targets": len(mine),
                "refused": len(mine) - len(p),
                "p < 0.05": f"{int(np.sum(p < 0.05))}/{len(p)}",
                "median p": round(float(np.median(p)), 3),
                "uniform (KS p)": f"{stats.kstest(p, 'uniform').pvalue:.2g}",
            }
        )
    return harness.markdown(pd.DataFrame(lines))


def _widening_setting(row: dict) -> str:
    """How a ``posterior_select.py`` row's estimator was widened."""
    if row.get("calibration"):
        return f"a share of {row['calibration']:g} held out"
    return f"{row['folds']} folds" if row.get("folds") else "none"


def posterior_select(results: Path) -> str:
    """Section 16: the estimator variants on the development targets (``posterior_select.py``).

    Coverage counts a refused data set as not covered; "rank p" is a Kolmogorov-Smirnov test
    of the truth's ranks against the uniform; "train s" is one training's wall time.
    """
    from scipy import stats

    rows = _jsonl(results, "posterior_select.jsonl")
    interval = lambda r: r.get("interval_kind", "central")  # noqa: E731
    key = lambda r: (r["variant"], r["combine"], _widening_setting(r), interval(r), r["index"])  # noqa: E731
    latest = {key(r): r for r in rows}
    groups: dict[tuple, list[dict]] = {}
    for (variant, combine, widening, kind, _), row in latest.items():
        groups.setdefault((variant, combine, widening, kind), []).append(row)
    lines = []
    for (variant, combine, widening, kind), mine in sorted(groups.items()):
        answered = [r for r in mine if r["refused"] is None]
        line: dict = {"data": variant, "restarts": combine, "widening": widening}
        line["interval"] = kind
        line["targets"] = len(mine)
        line["factors"] = ", ".join(f"{w:g}" for w in mine[0]["widen"]) or "-"
        for name, short in (("lam", "lam"), ("inertia", "eta")):
            hits = sum(r["covers"][name] for r in answered)
            line[f"{short} covers"] = f"{hits}/{len(mine)}"
        for name, short in (("lam", "lam"), ("inertia", "eta")):
            width = np.mean([100 * r["width"][name] for r in answered])
            line[f"{short} width %"] = round(float(width), 1)
        for name, short in (("lam", "lam"), ("inertia", "eta")):
            ranks = [r["rank"][name] for r in answered]
            line[f"{short} rank p"] = f"{stats.kstest(ranks, 'uniform').pvalue:.2g}"
        line["train s"] = mine[0]["train_seconds"]
        lines.append(line)
    return harness.markdown(pd.DataFrame(lines))


FOURWAY_ARMS = {
    "gp": "GP + bootstrap (today)",
    "posterior": "NPE on the followers",
    "posterior/shipped": "NPE on the followers, the run's own estimator.pt",
    "heuristic": "NPE on the heuristic cobweb",
    "black-it": "black-it, heuristic cobweb",
    "black-it/matched": "black-it, heuristic cobweb, matched budget",
}
"""``fourway.py``'s arms, in the table's order, and their labels. ``posterior/shipped`` is the
posterior arm answered by the run folder's own estimator (``--estimator shipped``), not one
trained by the row's commit. ``black-it/matched`` is black-it given more than its standard 120
evaluations (``--black-it-evaluations``), as many episodes per answer as the posterior's one-off
simulations."""
BLACK_IT_STANDARD_EVALUATIONS = 120
"""black-it's standard budget in ``fourway.py``: 10 batches of 12."""


def _fourway_arm(row: dict) -> str:
    shipped = row["arm"] == "posterior" and row["one_off"].get("estimator") == "shipped"
    if shipped:
        return "posterior/shipped"
    if row["arm"] == "black-it" and row["evaluations"] > BLACK_IT_STANDARD_EVALUATIONS:
        return "black-it/matched"
    return row["arm"]


def _fourway_line(arm: str, label: str, rows: list[dict]) -> dict:
    answered = [r for r in rows if r["refused"] is None]
    line: dict = {"arm": FOURWAY_ARMS[arm], "data": label, "targets": len(rows)}
    line["refused"] = len(rows) - len(answered)
    warned = [r["warned"] for r in answered if r["warned"] is not None]
    line["warned"] = sum(warned) if warned else "-"
    for name, short in (("lam", "lam"), ("inertia", "eta")):
        errors = [r["error_pct"][name] for r in answered]
        line[f"{short} err %"] = round(float(np.mean(errors)), 1) if errors else "-"
    intervals = [r for r in answered if r["covers"] is not None]
    for name, short in (("lam", "lam"), ("inertia", "eta")):
        if not intervals:
            line[f"{short} covers"] = "no interval"
            continue
        hits = sum(r["covers"][name] for r in intervals)
        line[f"{short} covers"] = f"{hits}/{len(rows)}"
    for name, short in (("lam", "lam"), ("inertia", "eta")):
        widths = [r["width_pct"][name] for r in intervals]
        line[f"{short} width %"] = round(float(np.mean(widths)), 1) if widths else "-"
    line["s per answer"] = round(float(np.median([r["seconds"] for r in rows])), 2)
    line["one-off s"] = round(float(np.median([r["one_off_seconds"] for r in rows])), 1)
    line["episodes per answer"] = int(np.median([r["episodes_per_answer"] for r in rows]))
    line["one-off episodes"] = int(np.median([r["episodes_one_off"] for r in rows]))
    return line


def fourway(results: Path) -> str:
    """Section 16: four calibrations of the same held-out data sets, side by side.

    Rows made on a clean tree only, the last of each (arm, variant, data, target); the
    posterior arm answered by the run's own estimator is an arm of its own. "warned": an NPE
    answer with less than half its posterior inside the prior box. Coverage
    counts a refused data set as not covered; errors and widths are over the answered ones.
    When the GP arm answered fewer targets than the others, each arm is shown on those
    targets too; so are the NPE arms and the standard black-it on the targets of black-it at
    the matched budget. The GP's episodes per answer are an upper bound (``fourway.py``).
    """
    rows = [r for r in _heldout_rows(results, "fourway.jsonl") if r["set"] == "heldout"]
    latest = {(_fourway_arm(r), r["variant"], r["data"], r["index"]): r for r in rows}
    lines = []
    for variant, data in sorted({(r["variant"], r["data"]) for r in latest.values()}):
        mine = [r for r in latest.values() if r["variant"] == variant and r["data"] == data]
        label = f"{variant}, {data} learners" if data == "reference" else f"{variant}, {data}"
        gp = {r["index"] for r in mine if r["arm"] == "gp"}
        for arm in FOURWAY_ARMS:
            own = [r for r in mine if _fourway_arm(r) == arm]
            if own:
                lines.append(_fourway_line(arm, label, sorted(own, key=lambda r: r["index"])))
        if gp and len(mine) > len(gp) * len({_fourway_arm(r) for r in mine}):
            for arm in FOURWAY_ARMS:
                same = [r for r in mine if _fourway_arm(r) == arm and r["index"] in gp]
                if same:
                    lines.append(_fourway_line(arm, f"{label}, the GP's {len(gp)}", same))
        matched = {r["index"] for r in mine if _fourway_arm(r) == "black-it/matched"}
        if matched:
            for arm in ("posterior", "posterior/shipped", "heuristic", "black-it"):
                same = [r for r in mine if _fourway_arm(r) == arm and r["index"] in matched]
                if same and len(same) < len([r for r in mine if _fourway_arm(r) == arm]):
                    where = f"{label}, matched black-it's {len(matched)}"
                    lines.append(_fourway_line(arm, where, sorted(same, key=lambda r: r["index"])))
    return harness.markdown(pd.DataFrame(lines))


# --- section 17: beyond the paper (games.jsonl, dynamic_tax.jsonl, timescales.jsonl) -------


def _heldout_rows(results: Path, name: str) -> list[dict]:
    """A benchmark's held-out rows made on a clean tree (``provenance.dirty`` false)."""
    return [r for r in _jsonl(results, name) if not r.get("provenance", {}).get("dirty", True)]


def games_equilibria(results: Path) -> str:
    """Section 17: the fiscal game's outcome per held-out seed and structure."""
    out = [
        "| seed | structure | status | rounds | profile (tau, xi) | treasury: revenue "
        "| legislature: welfare | best own move gains (treasury, legislature) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in _heldout_rows(results, "games.jsonl"):
        if "structure" not in r:
            continue
        p, u, g = r["profile"], r["payoffs"], r["gains"]
        out.append(
            f"| {r['seed']} | {r['structure']} | {r['status']} | {r['rounds']} | "
            f"({p['tau']:.3g}, {p['xi']:.3g}) | {u['treasury']:.2f} | {u['legislature']:.2f} | "
            f"{g['treasury']:+.3g}, {g['legislature']:+.3g} |"
        )
    return "\n".join(out)


def games_cost(results: Path) -> str:
    """Section 17: welfare at each point, same households, held-out episodes; mean ± std."""
    frame = pd.DataFrame([r for r in _heldout_rows(results, "games.jsonl") if "point" in r])
    out = [
        "| point | (tau, xi), per seed | welfare | CE gain over the free market | revenue | GDP |",
        "|---|---|---|---|---|---|",
    ]
    order = ["free market", "joint optimum", "simultaneous", "sequential"]
    for name in order:
        group = frame[frame["point"] == name]
        if group.empty:
            continue
        thetas = "; ".join(f"({t['tau']:.2f}, {t['xi']:.3g})" for t in group["theta"])

        cell = partial(_mean_std, group)
        out.append(
            f"| {name} | {thetas} | {cell('welfare')} | {cell('ce_gain', 100)}% | "
            f"{cell('revenue', fmt='.1f')} | {cell('gdp', fmt='.1f')} |"
        )
    return "\n".join(out)


def dynamic_tax(results: Path) -> str:
    """Section 17: the dynamic tax against the static optimum and the naive one, per seed."""
    frame = pd.DataFrame(_heldout_rows(results, "dynamic_tax.jsonl"))
    out = [
        "| arm | CE gain over the free market, per seed | mean ± std | welfare | model steps "
        "| the tax (tau, xi): first and last decision, seed mean |",
        "|---|---|---|---|---|---|",
    ]
    for arm in ("free market", "static best", "dynamic", "naive dynamic"):
        group = frame[frame["arm"] == arm]
        if group.empty:
            continue
        gains = ", ".join(f"{100 * g:+.2f}%" for g in group["ce_gain"])
        first = {k: np.mean([p[0][k] for p in group["mean_path"]]) for k in ("tau", "xi")}
        last = {k: np.mean([p[-1][k] for p in group["mean_path"]]) for k in ("tau", "xi")}
        steps = group["model_steps"].iloc[0] if "model_steps" in group else float("nan")
        steps = "-" if pd.isna(steps) else f"{int(steps):,}"
        out.append(
            f"| {arm} | {gains} | {100 * group['ce_gain'].mean():+.2f}% ± "
            f"{100 * group['ce_gain'].std():.2f} | {group['welfare'].mean():.2f} | {steps} | "
            f"({first['tau']:.2f}, {first['xi']:.2f}) → ({last['tau']:.2f}, {last['xi']:.2f}) |"
        )
    return "\n".join(out)


def timescales(results: Path) -> str:
    """Section 17: each split of the budget, mean ± std over the held-out cases run."""
    frame = pd.DataFrame(_heldout_rows(results, "timescales.jsonl"))
    out = [
        "| task | warm-up share | leader epochs | candidates per epoch | cases | quality "
        "(calibration: mean error, % of range; policy design: CE gain) |",
        "|---|---|---|---|---|---|",
    ]
    if frame.empty:
        return "\n".join(out)
    frame["share"] = [s["warmup_share"] for s in frame["setting"]]
    frame["epochs"] = [s["epochs"] for s in frame["setting"]]
    for (task, share, epochs), group in frame.groupby(["task", "share", "epochs"], sort=True):
        if task == "calibration":
            values = [100 * np.mean(list(e.values())) for e in group["error"]]
        else:
            values = [100 * g for g in group["ce_gain"]]
        spread = f"{np.std(values, ddof=1):.2f}" if len(values) > 1 else "-"
        out.append(
            f"| {task} | {share:g} | {epochs} | {36 // epochs} | {len(values)} | "
            f"{np.mean(values):.2f} ± {spread} |"
        )
    return "\n".join(out)


TABLES: dict[str, Callable[[Path], str]] = {
    "calibration-settings": calibration_settings,
    "calibration-default": calibration_default,
    "calibration-runs": calibration_runs,
    "follower-response": follower_response,
    "classical-settings": classical_settings,
    "classical-targets": classical_targets,
    "classical-runs": classical_runs,
    "learning-margins": learning_margins,
    "taxation-fair": taxation_fair,
    "taxation-fair-seeds": taxation_fair_seeds,
    "taxation-policies": taxation_policies,
    "taxation-rl": taxation_rl,
    "taxation-rl-before": taxation_rl_before,
    "taxation-zeroshot": taxation_zeroshot,
    "executors-candidates": executors_candidates,
    "market-maker-claim": market_maker_claim,
    "market-maker-behaviour": market_maker_behaviour,
    "market-maker-margin": market_maker_margin,
    "generalization-market-maker": generalization_market_maker,
    "generalization-cobweb": generalization_cobweb,
    "entrance-heldout": entrance_heldout,
    "entrance-development": entrance_development,
    "entrance-volatility": entrance_volatility,
    "entrance-volatility-earlier": entrance_volatility_earlier,
    "entrance-grid": entrance_grid,
    "entrance-grid-earlier": entrance_grid_earlier,
    "entrance-stress-grid": entrance_stress_grid,
    "entrance-stress": entrance_stress,
    "entrance-stress-earlier": entrance_stress_earlier,
    "entrance-zero-shot": entrance_zero_shot,
    "entrance-zero-shot-development": entrance_zero_shot_development,
    "entrance-zero-shot-earlier": entrance_zero_shot_earlier,
    "soak": soak,
    "training-throughput": training_throughput,
    "trust-summary": trust_summary,
    "trust-runs": trust_runs,
    "price-statistics": price_statistics,
    "price-statistic-sets": price_statistic_sets,
    "black-it-versus": black_it_versus,
    "posterior-coverage": posterior_coverage,
    "posterior-speed": posterior_speed,
    "posterior-select": posterior_select,
    "posterior-crossfit": posterior_crossfit,
    "posterior-fit-select": posterior_fit_select,
    "fourway": fourway,
    "games-equilibria": games_equilibria,
    "games-cost": games_cost,
    "dynamic-tax": dynamic_tax,
    "timescales": timescales,
}
"""Every generated table: its marker name and the function that makes it from the rows."""


# --- RESULTS.md ---------------------------------------------------------------------------


def block(table: str) -> str:
    """What stands between a table's markers: the table, a blank line either side."""
    return f"\n{table.strip()}\n\n"


def generate(results: Path = harness.RESULTS) -> dict[str, str]:
    """Every table of :data:`TABLES`, made from the rows in ``results``."""
    return {name: make(results) for name, make in TABLES.items()}


def render(text: str, tables: dict[str, str]) -> str:
    """``text`` with each marked table's body replaced by ``tables[name]``.

    Raises:
        KeyError: If a marker names a table that :data:`TABLES` does not make.
    """

    def body(match: re.Match[str]) -> str:
        name = match["name"]
        return f"<!-- table: {name} -->\n{block(tables[name])}<!-- /table -->"

    return MARKER.sub(body, text)


def differences(results: Path = harness.RESULTS, results_md: Path = RESULTS_MD) -> dict[str, str]:
    """Each table whose text in ``results_md`` differs from what ``results`` gives, as a diff.

    A table of :data:`TABLES` that ``results_md`` does not mark counts as differing, and so
    does a marker that :data:`TABLES` does not know.
    """
    text = results_md.read_text()
    tables = generate(results)
    found = {m["name"]: m["body"] for m in MARKER.finditer(text)}
    out = {}
    for name in sorted(set(tables) | set(found)):
        if name not in tables:
            out[name] = f"{results_md.name} marks a table {name!r} that report.py does not make"
        elif name not in found:
            out[name] = f"{results_md.name} has no <!-- table: {name} --> marker"
        elif found[name] != block(tables[name]):
            lines = difflib.unified_diff(
                found[name].splitlines(),
                block(tables[name]).splitlines(),
                f"{results_md.name} ({name})",
                f"from {results.name}/ ({name})",
                lineterm="",
            )
            out[name] = "\n".join(lines)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser(__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a table drifted")
    parser.add_argument("--results", type=Path, default=harness.RESULTS, help="the rows")
    parser.add_argument("--results-md", type=Path, default=RESULTS_MD, help="the record")
    args = parser.parse_args(argv)
    if args.check:
        drifted = differences(args.results, args.results_md)
        for name, diff in drifted.items():
            print(f"{name}: differs from its rows\n{diff}\n")
        if drifted:
            print(f"{len(drifted)} table(s) differ: {', '.join(drifted)}", file=sys.stderr)
            return 1
        print(f"all {len(TABLES)} tables match their rows")
        return 0
    text = args.results_md.read_text()
    args.results_md.write_text(render(text, generate(args.results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
