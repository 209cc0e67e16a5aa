"""Training writes no logger folders: SB3's default leaves one in the temp directory per learn."""

import tempfile
from functools import partial

from stable_baselines3 import PPO

from mesa_adage import train
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.inner.training import quiet
from mesa_adage.samplers import Fixed


def test_training_leaves_no_sb3_folder_in_the_temp_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = train(
        partial(CobwebModel, horizon=10),
        Producer,
        Fixed({"lam": 0.5, "inertia": 0.5}),
        256,
        algo=PPO,
        n_copies=2,
        n_steps=64,
        batch_size=64,
    )
    model.learn(128)  # a further phase, as the scheduler's, keeps the quiet logger
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("SB3-")]


def test_a_verbose_algorithm_still_prints(capsys):
    env_free = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, verbose=1)
    quiet(env_free).learn(64)
    assert "total_timesteps" in capsys.readouterr().out
