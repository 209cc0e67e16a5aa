"""The table ``adage run`` prints at the end: the leader's answer, and the truth if known."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesa_adage.analysis.confirmation import confirmation_warning
from mesa_adage.analysis.posterior import posterior_warnings
from mesa_adage.analysis.shortfall import shortfall_warning
from mesa_adage.analysis.uncertainty import uncertainty_lines
from mesa_adage.characteristics import Characteristics, Theta

__all__ = ["result_table"]


def result_table(
    space: Characteristics,
    theta: Mapping[str, Any],
    target: Theta | None,
    uncertainty: dict[str, Any] | None = None,
    search_fell_short: Mapping[str, Any] | None = None,
    posterior: Mapping[str, Any] | None = None,
    answer_on_fresh_episodes: Mapping[str, Any] | None = None,
) -> str:
    """A plain-text table of recovered (and true) theta with the error in % of range.

    With an uncertainty report, each parameter's interval and identification are added,
    followed by the goodness of fit and a warning for every doubt. When the run evaluated a
    better point than the answer (``RunResult.search_fell_short``), a last warning names it.
    When the answer did not hold on fresh episodes (``RunResult.answer_on_fresh_episodes``),
    a warning says so. With a posterior (``RunResult.posterior``), each parameter's credible
    interval is added.
    An answer that is not a theta of ``space`` (a distribution leader's weights
    ``{"w[omega=0]": 0.2, ...}``) is printed entry by entry.
    """
    report = uncertainty or {}
    notes = uncertainty_lines(report) if report else []
    notes += [shortfall_warning(search_fell_short)] if search_fell_short else []
    fresh = answer_on_fresh_episodes
    notes += [confirmation_warning(fresh, theta)] if fresh and not fresh["held"] else []
    if set(theta) != set(space.names):
        width = max([12, *(len(name) + 2 for name in theta)])
        lines = [f"{'answer':<{width}}{'value':>12}"]
        lines += [f"{name:<{width}}{_value(value):>12}" for name, value in theta.items()]
        return "\n".join(lines + notes)
    intervals, verdicts = report.get("intervals", {}), report.get("identification", {})
    head = f"{'parameter':<12}{'true':>10}{'recovered':>12}{'error':>10}"
    if intervals:
        level = f"{report['level']:.0%} interval"
        head += f"  {level:<20}{'identification':<18}"
    post = posterior or {}
    credible = post.get("credible_intervals", {})
    if credible:
        head += f"  {post['level']:.0%} credible"
        means = ", ".join(f"{name}={value:.4g}" for name, value in post["mean"].items())
        notes.insert(
            0, f"posterior ({post['method']}, {post['simulations']} simulations): mean {means}"
        )
        notes[1:1] = posterior_warnings(post)
    elif "error" in post:
        notes.insert(0, f"warning: no posterior: {post['error']}")
    lines = [head.rstrip()]
    for p in space.params:
        true, error = "-", "-"
        if target is not None:
            true = f"{target[p.name]:.4g}"
            error = f"{abs(theta[p.name] - target[p.name]) / p.span:.1%}"
        line = f"{p.name:<12}{true:>10}{theta[p.name]:>12.4g}{error:>10}"
        if p.name in intervals:
            low, high = intervals[p.name]
            status = verdicts.get(p.name, {}).get("status", "-")
            line += f"  {f'[{low:.4g}, {high:.4g}]':<20}{status:<18}"
        if p.name in credible:
            low, high = credible[p.name]
            line += f"  [{low:.4g}, {high:.4g}]"
        lines.append(line.rstrip())
    return "\n".join(lines + notes)


def game_lines(game: Mapping[str, Any]) -> list[str]:
    """How a game among leaders ended: its status, and each player's payoff and best gain.

    A player's gain is the most its own move (the others held) would add to its payoff at
    the profile; an equilibrium holds when none exceeds ``tol``.
    """
    profile = ", ".join(f"{k}={v:.4g}" for k, v in game["profile"].items())
    status = {
        "equilibrium": f"equilibrium ({game['structure']}) after {game['rounds']} rounds",
        "cycle": f"no equilibrium: a cycle of {len(game.get('cycle', [])) - 1} profiles",
    }.get(game["status"], f"no equilibrium yet after {game['rounds']} rounds (more epochs)")
    lines = [f"game: {status}; profile {profile}"]
    for player, names in game["players"].items():
        payoff, gain = game["payoffs"].get(player, float("nan")), game["gains"].get(player)
        check = "" if gain is None else f"; best own move gains {gain:+.4g} (tol {game['tol']:g})"
        lines.append(f"  {player} (sets {', '.join(names)}): payoff {payoff:.4g}{check}")
    if game["status"] == "cycle":
        lines.append("  cycle: " + " -> ".join(
            "(" + ", ".join(f"{v:.3g}" for v in p.values()) + ")" for p in game["cycle"]
        ))  # fmt: skip
    return lines


def _value(value: Any) -> str:
    """A number to 4 significant digits; anything else as it is."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return f"{value:.4g}" if is_number else str(value)
