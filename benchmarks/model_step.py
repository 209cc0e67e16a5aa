"""A model step against the hardware limit, as the number of agents grows.

For the cobweb market and the taxation economy with N policy agents, the time of one step of:

- ``batched``: the Mesa model as shipped, its agents' batched methods (``observe_all``, ...)
  and one forward pass of the shipped page policy for all agents;
- ``per-agent``: the same model with the per-agent methods only (the reference path);
- ``limit``: the same arithmetic in plain numpy on arrays, plus one forward pass of the same
  network on a pre-stacked tensor: no Mesa, no agents.

All three run side by side in one process; read the ratios. Also each model's memory per agent
(tracemalloc, building the model) and, for taxation, steps per second against TaxAI's
(about 2,000/s at 10 households and 4/s at 10,000, random actions, no policy: quoted, not
measured here; see :data:`TAXAI`). Each model and N appends a row to
``benchmarks/results/model_step.jsonl``.

    python benchmarks/model_step.py            # N = 10, 100, 1,000, 10,000
    python benchmarks/model_step.py --quick    # N = 10 and 1,000, fewer repeats
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from functools import partial

import harness
import numpy as np
import torch
from stable_baselines3 import PPO

from mesa_adage import SB3Policy
from mesa_adage.examples.agents.household import MAX_SAVING_RATE, Household
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import CobwebModel, CobwebParams
from mesa_adage.examples.models.taxation import TaxationModel, TaxParams, hsv_tax
from mesa_adage.inner.agent import Learner

ROLE = "report"
"""Speed, measured; chooses nothing."""

POLICIES = harness.ROOT / "visualization" / "policies"
TAXAI = {10: 2000.0, 10_000: 4.0}
"""TaxAI's own environment, steps per second, random actions and no policy inference: constants
copied from this project's issue 12 ("Performance at scale", item 4), which quotes them
without a source; not measured here. TaxAI is Mi et al., "TaxAI: A Dynamic Economic
Simulator and Benchmark for Multi-Agent Reinforcement Learning", AAMAS 2024,
https://arxiv.org/abs/2309.16307, code https://github.com/jidiai/TaxAI; these two rates could
not yet be traced to that paper, so treat them as approximate until TaxAI is run beside this
model."""


def per_agent(model_class: type, agent_class: type) -> type:
    """``model_class`` with ``agent_class`` on its per-agent methods only."""
    learners = {agent_class: Learner.of(agent_class, batched=False)}
    return type(f"PerAgent{model_class.__name__}", (model_class,), {"learners": learners})


def forward(net) -> Callable[[np.ndarray], np.ndarray]:
    """One forward pass of ``net`` on a stacked float32 array, as the limit does it."""

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net._predict(torch.as_tensor(obs), deterministic=True).numpy()

    return act


def cobweb_limit(n: int, net, rng: np.random.Generator) -> Callable[[], None]:
    """The cobweb's step in numpy: observations, one forward pass, supply, the price."""
    act = forward(net)
    state = {"f": 8.0 + rng.standard_normal(n), "p": [8.0, 8.0], "shock": 0.0}
    theta = np.tile(np.float32([0.0, 0.1]), (n, 1))

    def step() -> None:
        f, (p2, p1) = state["f"], state["p"][-2:]
        own = np.empty((n, 3), dtype=np.float32)
        own[:, 0], own[:, 1], own[:, 2] = (p1 - 6.0) / 4.0, (p2 - 6.0) / 4.0, (f - 6.0) / 4.0
        a = np.clip(act(np.concatenate([own, theta], axis=1)), -1, 1)[:, 0].astype(np.float64)
        new = 6.0 + 4.0 * a
        supply = np.tanh(0.5 * (new - 6.0)) + 1.0
        state["shock"] = 0.8 * state["shock"] + 0.5 * rng.standard_normal()
        price = (13.8 - 6.0 * supply.mean()) / 1.5 + state["shock"]
        error, adjust = price - new, new - f
        _ = -(error * error) - 1.0 * (adjust * adjust)
        state["f"] = new
        state["p"].append(price)

    return step


def taxation_limit(n: int, net, rng: np.random.Generator) -> Callable[[], None]:
    """The taxation economy's step in numpy: observations, one forward pass, the economy."""
    act, p = forward(net), TaxParams(n_households=n)
    e = np.exp(0.3 * rng.standard_normal(n))
    state = {"e": e, "a": 2.0 * np.exp(0.8 * rng.standard_normal(n)), "w": 1.0, "r": 0.04}
    theta = np.tile(np.float32([-0.6, -0.28]), (n, 1))

    def step() -> None:
        e, a = state["e"], state["a"]
        own = np.empty((n, 4), dtype=np.float32)
        own[:, 0] = np.log(e) / 0.5
        own[:, 1] = np.log1p(np.maximum(a, 0.0)) - 1.0
        own[:, 2], own[:, 3] = (state["w"] - 1.0) * 2.0, state["r"] * 10.0
        x = np.clip(act(np.concatenate([own, theta], axis=1)), -1, 1).astype(np.float64)
        h, s = 0.5 * (x[:, 0] + 1.0), MAX_SAVING_RATE * 0.5 * (x[:, 1] + 1.0)
        k, lab = max(a.sum(), 1e-8), max((e * h).sum(), 1e-8)
        gdp = k**p.alpha * lab ** (1.0 - p.alpha)
        state["w"], state["r"] = (1 - p.alpha) * gdp / lab, p.alpha * gdp / k - p.delta
        income = state["w"] * e * h + state["r"] * a
        tax = hsv_tax(income, 0.2, 0.18)
        resources = a + income - tax + tax.sum() / n
        saved = np.where(resources > 0, s * resources, resources)
        c = np.maximum(resources - saved, p.min_consumption)
        _ = c ** (1 - p.crra) / (1 - p.crra) - p.chi * h ** (1 + 1 / p.frisch) / (1 + 1 / p.frisch)
        np.sort(income), np.sort(saved)  # the two Gini coefficients sort, as the model's do
        shocks = p.rho * np.log(e) + p.sigma_e * rng.standard_normal(n)
        state["e"], state["a"] = np.exp(shocks - 0.5 * p.sigma_e**2 / (1 + p.rho)), saved

    return step


MODELS = {  # name: (model class, agent class, params for N agents, shipped policy, limit)
    "cobweb": (
        CobwebModel,
        Producer,
        lambda n: {"params": CobwebParams(n_producers=n)},
        "cobweb",
        cobweb_limit,
    ),
    "taxation": (
        TaxationModel,
        Household,
        lambda n: {"params": TaxParams(n_households=n)},
        "taxation",
        taxation_limit,
    ),
}


def per_step(variants: dict[str, Callable[[], None]], steps: int, repeats: int) -> dict[str, float]:
    """Median over ``repeats`` rounds of each variant's mean seconds per step over ``steps``
    steps, the variants in turn in every round."""
    for step in variants.values():
        step()  # warm up
    timings = {name: partial(harness.per_call, step, steps) for name, step in variants.items()}
    return harness.medians(timings, repeats)


def step_peak(model) -> int:
    """Peak bytes allocated during one step (tracemalloc)."""
    tracemalloc.start()
    model.step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def memory_per_agent(build: Callable[[], object], n: int) -> float:
    """Bytes allocated per agent while building the model (tracemalloc)."""
    tracemalloc.start()
    model = build()
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del model
    return size / n


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--agents", type=int, nargs="+", default=[10, 100, 1000, 10_000])
    parser.add_argument("--steps", type=int, default=10)
    harness.add_repeats(parser, 5)
    harness.add_quick(parser, "N = 10 and 1,000, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.agents, args.repeats = [10, 1000], 3
    torch.set_num_threads(1)
    harness.header("torch single-threaded", f"median of {args.repeats} x {args.steps} steps")
    print(
        "\n| model | N | batched ms/step | per-agent ms/step | limit ms/step | batched / limit "
        "| per-agent / batched | steps/s | bytes/agent | step peak bytes/agent |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    scaling: dict[str, list[tuple[int, float]]] = {}
    for name, (model_class, agent_class, params, policy_name, limit) in MODELS.items():
        policy = SB3Policy(PPO.load(POLICIES / f"{policy_name}.zip", device="cpu"))
        for n in args.agents:

            def build(cls=model_class, n=n, agent=agent_class, policy=policy, params=params):
                return cls(horizon=10**9, policies={agent: policy}, seed=0, **params(n))

            batched = build()
            reference = build(per_agent(model_class, agent_class))
            t = per_step(
                {
                    "batched": batched.step,
                    "per-agent": reference.step,
                    "limit": limit(n, policy.policy, np.random.default_rng(0)),
                },
                args.steps,
                args.repeats,
            )
            t_batched, t_agent, t_limit = t["batched"], t["per-agent"], t["limit"]
            memory, peak = memory_per_agent(build, n), step_peak(batched) / n
            print(
                f"| {name} | {n:,} | {1e3 * t_batched:.2f} | {1e3 * t_agent:.2f} | "
                f"{1e3 * t_limit:.2f} | {t_batched / t_limit:.2f}x | {t_agent / t_batched:.1f}x "
                f"| {1 / t_batched:,.0f} | {memory:,.0f} | {peak:,.0f} |",
                flush=True,
            )
            scaling.setdefault(name, []).append((n, t_batched))
            row = {"command": harness.command(), "model": name, "agents": n}
            row |= {"steps": args.steps, "repeats": args.repeats}
            row |= {"batched_s": t_batched, "per_agent_s": t_agent, "limit_s": t_limit}
            row |= {"bytes_per_agent": memory, "step_peak_bytes_per_agent": peak}
            harness.append(harness.RESULTS / "model_step.jsonl", row)
            if name == "taxation" and n in TAXAI:
                print(
                    f"|  | TaxAI at {n:,} | | | | | | {TAXAI[n]:,.0f} (ours "
                    f"{1 / t_batched / TAXAI[n]:,.0f}x) | | |",
                    flush=True,
                )
    print("\n| model | per-agent slope (least squares, us/agent) | intercept (ms) |")
    print("|---|---|---|")
    for name, points in scaling.items():
        n, t = np.array(points, dtype=float).T
        slope, intercept = np.polyfit(n, t, 1)
        print(f"| {name} | {1e6 * slope:.2f} | {1e3 * intercept:.2f} |")


if __name__ == "__main__":
    main()
