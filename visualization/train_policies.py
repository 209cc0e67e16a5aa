"""Train the small theta-conditioned policies the pages ship with.

    python visualization/train_policies.py            # both
    python visualization/train_policies.py cobweb     # cobweb, taxation, taxation_planner,
                                                      # market_maker, entrance

The pages load ``visualization/policies/<model>.zip``; this script rebuilds them (a few
minutes on 2 cores) with fixed seeds.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule

from mesa_adage import train
from mesa_adage.examples.agents.household import Household
from mesa_adage.examples.agents.market_maker import MarketMaker
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.agents.trader import Trader
from mesa_adage.examples.models import cobweb, entrance, market_maker, taxation
from mesa_adage.samplers import Uniform

POLICIES = Path(__file__).parent / "policies"


def train_cobweb() -> None:
    """The producers' policy of the cobweb page."""
    lr = LinearSchedule(*cobweb.LEARNING_RATE, 1.0)
    producers = train(
        cobweb.CobwebModel,
        Producer,
        Uniform(),
        600_000,
        algo=PPO,
        seed=0,
        learning_rate=lr,
        **cobweb.PPO_SETTINGS,
    )
    producers.save(POLICIES / "cobweb.zip")


def train_taxation() -> None:
    """The households' policy of the taxation page."""
    lr = LinearSchedule(1e-3, 1e-4, 1.0)
    make = partial(taxation.TaxationModel, params=taxation.TaxParams(n_households=100))
    households = train(
        make,
        Household,
        Uniform(),
        2_000_000,
        algo=PPO,
        seed=0,
        n_copies=4,
        learning_rate=lr,
        **taxation.PPO_SETTINGS,
    )
    households.save(POLICIES / "taxation.zip")


def train_taxation_planner() -> None:
    """The taxation page's dynamic tax: a planner trained on the page's own households."""
    from mesa_adage.examples.visualization.components import trained_policy
    from mesa_adage.outer.planner import train_planner

    env = taxation.planner_env(trained_policy("taxation"))
    planner = train_planner(env, 30_000, seed=0, **taxation.PLANNER_SETTINGS)
    planner.save(POLICIES / "taxation_planner.zip")


def train_market_maker() -> None:
    """The market maker's policy of the market-making page, across the whole range of omega."""
    maker = train(
        market_maker.MarketMakerModel,
        MarketMaker,
        Uniform(),
        200_000,
        algo=PPO,
        seed=0,
        **market_maker.PPO_SETTINGS,
    )
    maker.save(POLICIES / "market_maker.zip")


def train_entrance() -> None:
    """The traders' policy of the market-entrance page, across the whole range of tau."""
    traders = train(
        entrance.EntranceModel,
        Trader,
        Uniform(),
        1_000_000,
        algo=PPO,
        seed=0,
        n_copies=4,
        **entrance.PPO_SETTINGS,
    )
    traders.save(POLICIES / "entrance.zip")


TRAINERS = {
    "cobweb": train_cobweb,
    "taxation": train_taxation,
    "taxation_planner": train_taxation_planner,
    "market_maker": train_market_maker,
    "entrance": train_entrance,
}


def main(names: list[str]) -> None:
    """Train and save the named page policies (all when none are named)."""
    unknown = sorted(set(names) - set(TRAINERS))
    if unknown:
        raise SystemExit(f"unknown page policy {unknown[0]!r}; allowed are {list(TRAINERS)}")
    POLICIES.mkdir(exist_ok=True)
    for name in names or TRAINERS:
        TRAINERS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
