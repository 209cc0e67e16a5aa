"""Train the small theta-conditioned policies the pages ship with.

    python visualization/train_policies.py

The pages load ``visualization/policies/<model>.zip``; this script rebuilds them (about a
minute on 2 cores) with fixed seeds.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

from stable_baselines3 import PPO
from stable_baselines3.common.utils import LinearSchedule

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.household import Household
from agents.producer import Producer
from mesa_adage import Uniform, train
from models import cobweb, taxation

POLICIES = Path(__file__).parent / "policies"


def main() -> None:
    """Train and save the cobweb and taxation page policies."""
    POLICIES.mkdir(exist_ok=True)
    lr = LinearSchedule(1e-3, 1e-4, 1.0)
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


if __name__ == "__main__":
    main()
