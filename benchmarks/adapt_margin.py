"""Learned against random actions on Mesa's own examples, adapted with ``adapt()``.

Trains PPO on an adapted example from several training seeds, then plays the same fresh
episodes with the trained policy, with uniformly random actions, and with a fixed action
(the model's own rule, where one action is it), and prints the mean per-agent return.

    python benchmarks/adapt_margin.py wolf_sheep --seeds 21 22 23
    python benchmarks/adapt_margin.py boltzmann --seeds 11 12 13 --steps 5000

The adapted models are the ones ``tests/test_adapt.py`` defines.
"""

from __future__ import annotations

from functools import partial

import gymnasium as gym
import harness
import numpy as np
from stable_baselines3 import PPO

from mesa_adage import SB3Policy, simulate
from mesa_adage.inner.policies import RandomPolicy
from mesa_adage.inner.vec_env import MesaVecEnv

test_adapt = harness.load_file(harness.ROOT / "tests" / "test_adapt.py")

ROLE = "select"
"""Measures the margins the learning tests' thresholds are set from."""

CASES = {  # make, agent class, slots, theta of the test episodes, fixed action to compare
    "wolf_sheep": (
        test_adapt.wolf_sheep,
        test_adapt.Sheep,
        80,
        {"energy_from_food": 4.0},
        ("always move (the model's own rule)", 1),
    ),
    "boltzmann": (
        partial(test_adapt.boltzmann(), n=20),
        test_adapt.MoneyAgent,
        None,
        {"tax": 0.1},
        ("never give", 0),
    ),
}


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("case", choices=sorted(CASES))
    harness.add_seeds(parser, [21, 22, 23], help="training seeds")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--episodes", type=int, default=8)
    args = parser.parse_args()
    make, agent_type, slots, theta, (fixed_name, fixed_action) = CASES[args.case]
    harness.header()
    seeds = range(200, 200 + args.episodes)

    def mean_return(policy):
        rollouts = simulate(make, [theta] * len(seeds), {agent_type: policy}, seeds)
        return float(np.mean([r.returns[agent_type.__name__] for r in rollouts]))

    space = gym.spaces.Discrete(2)
    random = mean_return(RandomPolicy(space, 0))
    fixed = mean_return(lambda obs: np.full(len(obs), fixed_action))
    print(f"random {random:.3f}; {fixed_name} {fixed:.3f}; episodes seeds {seeds}")
    print("| training seed | trained | random | margin |")
    print("|---|---|---|---|")
    for seed in args.seeds:
        env = MesaVecEnv(make, agent_type, n_copies=4, seed=seed, slots_per_copy=slots)
        ppo = PPO("MlpPolicy", env, n_steps=32, seed=seed, device="cpu").learn(args.steps)
        trained = mean_return(SB3Policy(ppo))
        print(f"| {seed} | {trained:.3f} | {random:.3f} | {trained - random:.3f} |")
        row = {"command": harness.command(), "case": args.case, "seed": seed}
        row |= {"steps": args.steps, "episode_seeds": list(seeds)}
        row |= {"trained": trained, "random": random, fixed_name: fixed}
        harness.append(harness.RESULTS / "adapt_margin.jsonl", row)


if __name__ == "__main__":
    main()
