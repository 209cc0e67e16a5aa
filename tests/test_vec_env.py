import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3 import A2C, PPO, SAC
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from mesa_adage import SB3Policy, simulate
from mesa_adage.examples.agents.producer import Producer
from mesa_adage.examples.models.cobweb import CobwebModel
from mesa_adage.inner.joint_env import JointEnv
from mesa_adage.inner.vec_env import MesaVecEnv
from mesa_adage.samplers import Fixed, Uniform
from tests.toy import Guesser, Mayfly, Pond, Toy


@pytest.mark.filterwarnings("ignore:Your observation  has an unconventional shape")
def test_joint_env_passes_gymnasium_and_sb3_checkers():
    env = JointEnv(CobwebModel, Producer)
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(JointEnv(Toy, Guesser), warn=True)


def test_slots_are_agents_of_all_copies():
    env = MesaVecEnv(CobwebModel, Producer, n_copies=3, seed=1)
    obs = env.reset()
    assert env.num_envs == 18 and obs.shape == (18, 5)
    assert env.observation_space.contains(obs[0])


def test_episode_end_autoresets_with_terminal_observation_and_return():
    env = MesaVecEnv(Toy, Guesser, Uniform(), n_copies=2, seed=0)
    env.reset()
    for _t in range(5):
        obs, _rewards, dones, infos = env.step(np.zeros((6, 1), dtype=np.float32))
    assert dones.all()
    assert all(info["TimeLimit.truncated"] for info in infos)
    assert all("terminal_observation" in info for info in infos)
    assert all(info["episode"]["l"] == 5 for info in infos)
    assert len(env.pop_returns()) == 6 and env.pop_returns() == []
    assert np.array_equal(obs[:, 0], np.zeros(6))  # fresh episodes


def test_theta_is_resampled_per_episode():
    env = MesaVecEnv(Toy, Guesser, Uniform(), n_copies=4, seed=0)
    env.reset()
    first = [m.theta["target"] for m in env.models]
    for _ in range(5):
        env.step(np.zeros((12, 1), dtype=np.float32))
    second = [m.theta["target"] for m in env.models]
    assert len(set(first + second)) == 8


def test_vec_env_seed_reproduces_the_stream():
    a = MesaVecEnv(CobwebModel, Producer, n_copies=2, seed=3).reset()
    b = MesaVecEnv(CobwebModel, Producer, n_copies=2, seed=3).reset()
    assert np.array_equal(a, b)


def test_agent_type_without_agents_is_an_error():
    with pytest.raises(ValueError, match="agent_type=Guesser has no agents in CobwebModel"):
        MesaVecEnv(CobwebModel, Guesser)


ALGOS = {
    "PPO": (PPO, {"learning_rate": 3e-3, "n_steps": 16}, 6000),
    "A2C": (A2C, {"learning_rate": 3e-3, "n_steps": 5}, 20000),
    "SAC": (SAC, {"learning_rate": 3e-3, "learning_starts": 200, "batch_size": 64}, 3000),
}
"""Each algorithm, its settings and its training steps on the toy."""
GUESS_REWARD = -0.05
"""What the learning test asserts of :func:`guess_reward`: untrained policies sit near 0, about
-0.25 a step; trained ones guess the target (RESULTS.md section 3, table ``learning-margins``)."""


def guess_reward(algo: str, seed: int) -> dict[str, float]:
    """The reward a step of guessers trained by ``algo`` from ``seed`` at target 0.5.

    The learning test and ``benchmarks/learning_margins.py`` both measure with this.
    """
    cls, kwargs, steps = ALGOS[algo]
    target = {"target": 0.5}
    env = MesaVecEnv(Toy, Guesser, Fixed(target), n_copies=4, seed=seed)
    model = cls("MlpPolicy", env, seed=seed, device="cpu", **kwargs)
    model.learn(steps)
    rollouts = simulate(Toy, [target] * 4, {Guesser: SB3Policy(model)}, range(4))
    return {"reward a step": float(np.mean([r.returns["Guesser"] for r in rollouts]) / 5)}


@pytest.mark.parametrize("algo", list(ALGOS))
def test_on_and_off_policy_sb3_algorithms_train_the_shared_policy(algo):
    measured = guess_reward(algo, 0)
    assert measured["reward a step"] > GUESS_REWARD, measured


def test_a_dead_agent_s_episode_ends_in_its_slot_and_a_newborn_takes_a_free_one():
    env = MesaVecEnv(Pond, Mayfly, n_copies=1, seed=0, slots_per_copy=3)
    obs = env.reset()
    assert obs[:, 0].tolist() == [0, 0, 0]  # two flies of age 0, one free slot (blank)
    obs, rewards, dones, infos = env.step(np.zeros((3, 1), dtype=np.float32))
    assert rewards.tolist() == [1, 1, 0] and dones.tolist() == [False, False, True]
    assert obs[:, 0].tolist() == [1, 1, 0]  # the fly hatched in step 1 sits in slot 2
    obs, rewards, dones, infos = env.step(np.zeros((3, 1), dtype=np.float32))
    assert rewards.tolist() == [2, 2, 1]  # the first two are asked in the step they die
    assert dones.tolist() == [True, True, False]
    assert infos[0]["episode"] == {"r": 3.0, "l": 2, "t": 0.0}
    assert not infos[0]["TimeLimit.truncated"]  # death is a termination: no bootstrap
    assert obs[:, 0].tolist() == [0, 0, 1]  # the newest fly takes slot 0; slot 1 is free
    assert env.pop_returns() == [3.0, 3.0]


def test_more_agents_than_slots_is_a_clear_error():
    env = MesaVecEnv(Pond, Mayfly, n_copies=1, seed=0)  # two slots: the first episode's two
    env.reset()
    with pytest.raises(RuntimeError, match=r"has 3 Mayfly agents at step 1, more than slots_per"):
        env.step(np.zeros((2, 1), dtype=np.float32))


def test_simulate_averages_over_every_agent_that_acted():
    [rollout] = simulate(Pond, [{}], {Mayfly: lambda obs: np.zeros((len(obs), 1))}, [0])
    assert rollout.returns["Mayfly"] == pytest.approx((3 + 3 + 3 + 3 + 1) / 5)


def test_a_random_policy_never_reseeds_the_space_it_was_given():
    from mesa_adage.inner.policies import RandomPolicy

    space = Guesser.action_space
    space.seed(123)
    expected = space.sample()
    space.seed(123)
    RandomPolicy(space, 0)(np.zeros((3, 2)))
    assert space.sample() == pytest.approx(expected)  # the class attribute's stream is untouched
