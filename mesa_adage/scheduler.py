"""LeaderScheduler: the alternating follower/leader loop of ADAGE (a Stackelberg game).

For epoch k = 1..K, after a warm-up of the followers:

1. *follower phase*: train the shared, theta-conditioned policy for ``N_F`` agent-steps (warm
   start), theta drawn partly around the leader's incumbent and partly uniform;
2. *leader phase*: ask the leader for candidates, evaluate each with the frozen policy over
   ``M`` episodes (the same seeds for every candidate), tell it the values;
3. *record*: append the epoch to ``history.csv`` and commit a checkpoint.

With ``Timescales.followers`` > 1 the followers are a population of independently seeded
policies, each trained like the one above; a candidate's episodes are dealt among them.

Every random stream of epoch k is derived from ``(seed, k)``, and the checkpoint holds the
policies (with their optimiser states) and the leader state, so a resumed run reproduces an
uninterrupted one exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import stable_baselines3
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import LinearSchedule
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from mesa_adage.characteristics import Mixture, Normal, Sampler, Theta, Uniform
from mesa_adage.experiment import Experiment
from mesa_adage.leaders import Leader, make_leader
from mesa_adage.objectives import Objective, episodes
from mesa_adage.plots import plot_profile, plot_run
from mesa_adage.policies import SB3Policy
from mesa_adage.record import RunRecord
from mesa_adage.rollout import Rollout, simulate
from mesa_adage.vec_env import MesaVecEnv

FOLLOWER, TRAIN_SEED, EVAL, FINAL = range(4)


def derive_seed(seed: int, epoch: int, purpose: int, member: int = 0) -> int:
    """An independent 31-bit seed for one purpose in one epoch (of one follower policy)."""
    entropy = [seed, epoch, purpose] + ([member] if member else [])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] >> 1)


def algorithm(name: str) -> type[BaseAlgorithm]:
    """Resolve an SB3 algorithm class by name (``"PPO"``, ``"A2C"``, ``"SAC"``, ...)."""
    cls = getattr(stable_baselines3, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseAlgorithm)):
        allowed = [n for n in stable_baselines3.__all__ if n.isupper()]
        raise ValueError(f"unknown SB3 algorithm {name!r}; allowed are {allowed}")
    return cls


@dataclass(frozen=True)
class RunResult:
    """What a finished run returns.

    Attributes:
        theta: The leader's answer, re-ranked with the final policy.
        objective: Its objective value under the final policy.
        history: One row per epoch (also ``history.csv``).
        policies: The final follower policies the leader evaluates (the averaged weights
            when ``Timescales.follower_average`` > 0), one per follower, ready for batched
            inference.
        rollouts: Episodes at ``theta`` with the final policies (the evaluation seeds).
        data: The observed data, if the experiment has any.
    """

    theta: Theta
    objective: float
    history: pd.DataFrame
    policies: tuple[SB3Policy, ...]
    rollouts: list[Rollout]
    data: pd.DataFrame | None

    @property
    def policy(self) -> SB3Policy:
        """The first follower's policy (the only one unless ``Timescales.followers`` > 1)."""
        return self.policies[0]


class _Progress(BaseCallback):
    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True


class LeaderScheduler:
    """Wraps an adaptive Mesa model and runs ADAGE's alternating optimisation.

    Args:
        experiment: The task: model factory, followers, objective, leader, timescales.
        run_dir: Run folder for config, history, checkpoints, plots; nothing is written if None.
        seed: Seed of every random stream in the run.
        epochs: Leader epochs; the experiment's default if None.
        leader: Leader name overriding the experiment's.
        resume: Continue the run in ``run_dir`` from its last checkpoint.
        progress: Show progress bars.
    """

    def __init__(
        self,
        experiment: Experiment,
        run_dir: str | Path | None = None,
        *,
        seed: int = 0,
        epochs: int | None = None,
        leader: str | None = None,
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.experiment = experiment
        self.seed = seed
        self.epochs = experiment.epochs if epochs is None else epochs
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ValueError(f"epochs={self.epochs!r} must be a positive integer")
        self.leader_name = leader or experiment.leader
        self.ts = experiment.timescales
        self.progress = progress
        self.record = RunRecord(run_dir) if run_dir is not None else None
        self.space = experiment.characteristics
        self.algo_cls = algorithm(experiment.algo)
        storage = None
        if self.record is not None and self.leader_name in ("tpe", "gp", "cmaes"):
            storage = f"sqlite:///{(self.record.path / 'checkpoint' / 'leader.db').resolve()}"
        kwargs = dict(experiment.leader_kwargs)
        if self.leader_name in ("spsa", "rl"):
            kwargs.setdefault("alpha_L", self.ts.leader_lr)
        if self.leader_name == "rl":
            kwargs.setdefault("candidates", self.ts.candidates)
        self.leader: Leader = make_leader(self.leader_name, self.space, seed, storage, **kwargs)
        self.eval_seeds = [derive_seed(seed, 0, EVAL) + i for i in range(self.ts.eval_rollouts)]
        self.config = {**experiment.config(), "leader": self.leader_name, "seed": seed}
        if self.record is not None:
            self.record.check_config(self.config, resume=resume)
        self.data = self._load_data()
        objective = experiment.objective
        self.objective: Objective = objective(self.data) if self.data is not None else objective
        self.algos: list[BaseAlgorithm] = []
        self.averages: list[dict[str, torch.Tensor]] = []
        self._scored: list[tuple[float, list[Rollout]]] = []
        self.epoch = 0
        self.env_steps = 0

    # ------------------------------------------------------------------ setup

    def _load_data(self) -> pd.DataFrame | None:
        data = self.experiment.data
        if data is None:
            return None
        path = self.record.path / "observed.csv" if self.record else None
        if path is not None and path.exists():
            return pd.read_csv(path)
        if callable(data):
            if self.progress:
                tqdm.write(f"{self.experiment.name}: generating the observed data ...")
            with threadpool_limits(limits=1):
                data = data(derive_seed(self.seed, 0, FINAL))
        if path is not None:
            data.to_csv(path, index=False)
        return data

    def _env(self, sampler: Sampler, member: int) -> MesaVecEnv:
        return MesaVecEnv(
            self.experiment.make_model,
            self.experiment.agent_type,
            sampler,
            n_copies=self.experiment.n_copies,
            seed=derive_seed(self.seed, self.epoch, FOLLOWER, member),
        )

    def _restore(self) -> None:
        state = self.record.load_state() if self.record else None
        if state is None:
            return
        self.epoch = int(state["epoch"])
        self.env_steps = int(state["env_steps"])
        self.leader.load_state_dict(state["leader"])
        members = range(self.ts.followers)
        self.algos = [self.algo_cls.load(self.record.policy_path(k), device="cpu") for k in members]
        self.averages = [torch.load(self.record.average_path(k)) for k in members]
        for name in ("history.csv", "candidates.csv"):
            self.record.truncate(name, self.epoch)

    def _checkpoint(self) -> None:
        if self.record is None:
            return
        for k, (algo, average) in enumerate(zip(self.algos, self.averages, strict=True)):
            algo.save(self.record.policy_path(k))
            torch.save(average, self.record.average_path(k))
        self.record.commit(
            {"epoch": self.epoch, "env_steps": self.env_steps, "leader": self.leader.state_dict()}
        )

    # ------------------------------------------------------------------ phases

    def train_followers(self, steps: int, sampler: Sampler) -> float:
        """Follower phase: warm-start training of every follower policy for ``steps`` agent-steps.

        The warm-up (epoch 0) anneals the learning rate from ``follower_lr`` to
        ``follower_lr_final``; epochs train at ``follower_lr_final``.

        Returns:
            The mean per-agent episode return over the episodes finished in the phase (NaN
            when ``steps`` is 0: the followers stay as they are).
        """
        if steps == 0:
            return float("nan")
        returns = []
        for member in range(self.ts.followers):
            returns += self._train_member(member, steps, sampler)
        return float(np.mean(returns)) if returns else float("nan")

    def _train_member(self, member: int, steps: int, sampler: Sampler) -> list[float]:
        env = self._env(sampler, member)
        if member == len(self.algos):
            seed = self.seed if member == 0 else derive_seed(self.seed, 0, TRAIN_SEED, member)
            algo = self.algo_cls(
                "MlpPolicy", env, seed=seed, device="cpu", **self.experiment.algo_kwargs
            )
            self.algos.append(algo)
        else:
            algo = self.algos[member]
            algo.set_env(env)
        lr, final = self.ts.follower_lr, self.ts.follower_lr_final
        algo.learning_rate = LinearSchedule(lr, final, 1.0) if self.epoch == 0 else final
        algo._setup_lr_schedule()
        algo.set_random_seed(derive_seed(self.seed, self.epoch, TRAIN_SEED, member))
        population = f" {member + 1}/{self.ts.followers}" if self.ts.followers > 1 else ""
        with tqdm(
            total=steps,
            desc=f"  followers{population} (epoch {self.epoch})",
            unit="step",
            disable=not self.progress,
            leave=False,
        ) as bar:
            algo.learn(steps, reset_num_timesteps=False, callback=_Progress(bar))
        self.env_steps += steps
        self._update_average(member)
        return env.pop_returns()

    def _update_average(self, member: int) -> None:
        beta = self.ts.follower_average
        weights = self.algos[member].policy.state_dict()
        current = {k: v.detach().clone() for k, v in weights.items()}
        if member == len(self.averages):
            self.averages.append(current)
            return
        average = self.averages[member]
        for key, value in current.items():
            if value.is_floating_point() and beta > 0.0:
                average[key].mul_(beta).add_(value, alpha=1.0 - beta)
            else:
                average[key] = value

    def follower_policies(self) -> list[SB3Policy]:
        """The policies the leader evaluates: each follower's averaged weights."""
        policies = []
        for algo, average in zip(self.algos, self.averages, strict=True):
            net = algo.policy_class(
                algo.observation_space, algo.action_space, algo.lr_schedule, **algo.policy_kwargs
            )
            net.load_state_dict(average)
            net.set_training_mode(False)
            policies.append(SB3Policy(net))
        return policies

    def evaluate(self, thetas: list[Theta]) -> tuple[list[float], list[list[Rollout]]]:
        """Leader phase evaluation: every theta, ``M`` episodes each, frozen policies.

        Episode ``j`` of every candidate is played by follower ``j mod followers``, so all
        candidates meet the same population on the same seeds; one batch per follower.
        """
        m, n = len(self.eval_seeds), self.ts.followers
        groups: list[list[Rollout]] = [[None] * m for _ in thetas]  # type: ignore[list-item]
        for member, policy in enumerate(self.follower_policies()):
            episodes = range(member, m, n)
            rollouts = iter(
                simulate(
                    self.experiment.make_model,
                    [t for t in thetas for _ in episodes],
                    {self.experiment.agent_type: policy},
                    [self.eval_seeds[j] for _ in thetas for j in episodes],
                )
            )
            for group in groups:
                for j in episodes:
                    group[j] = next(rollouts)
        return [float(self.objective(g)) for g in groups], groups

    def score(self, thetas: list[Theta]) -> list[float]:
        """Objective values of ``thetas`` under the frozen followers (the leader's feedback)."""
        values, groups = self.evaluate(thetas)
        self._scored.extend(zip(values, groups, strict=True))
        return values

    def profile(self, theta: Theta, points: int) -> pd.DataFrame:
        """The objective along each parameter's range through ``theta``, the others fixed.

        An identification check: a well identified parameter shows one clear optimum. Each
        line holds ``points`` evenly spaced values and ``theta``'s own, scored like any
        candidate (same followers, same evaluation seeds).

        Returns:
            A frame with columns ``parameter``, ``value`` and ``objective``.
        """
        rows = [
            (p.name, float(v))
            for p in self.space.params
            for v in np.union1d(np.linspace(p.low, p.high, points), [theta[p.name]])
        ]
        values, _ = self.evaluate([{**theta, name: v} for name, v in rows])
        return pd.DataFrame(rows, columns=["parameter", "value"]).assign(objective=values)

    def tracked(self, rollouts: list[Rollout]) -> dict[str, float]:
        """Episode means of the experiment's tracked columns."""
        return {c: float(episodes(rollouts, c).mean()) for c in self.experiment.track}

    def _sampler(self) -> Sampler:
        if self.epoch <= 1 or self.ts.focus == 0 or not self.leader.history:
            return Uniform()
        near = Normal(self.leader.incumbent, self.ts.focus_std)
        return Mixture(near, Uniform(), self.ts.focus)

    # ------------------------------------------------------------------ the loop

    def run(self) -> RunResult:
        """Run (or resume) the alternating loop, then re-rank and write the summary.

        BLAS and torch run single-threaded during the run: small matrices gain nothing from
        threads, and a fixed thread count keeps floating-point sums, hence results, identical.
        """
        with threadpool_limits(limits=1):
            torch.set_num_threads(1)
            return self._run()

    def _run(self) -> RunResult:
        start = time.perf_counter()
        self._restore()
        if not self.algos:
            self.train_followers(self.ts.warmup_steps, Uniform())
            self._checkpoint()
        epochs = tqdm(
            range(self.epoch + 1, self.epochs + 1),
            desc=self.experiment.name,
            unit="epoch",
            disable=not self.progress,
        )
        for epoch in epochs:
            self.epoch = epoch
            t0 = time.perf_counter()
            follower_return = self.train_followers(self.ts.follower_steps, self._sampler())
            self._scored = []
            thetas, values = self.leader.phase(self.score, self.ts.candidates)
            if not thetas:
                break
            self._record_epoch(thetas, values, follower_return, time.perf_counter() - t0)
            self._checkpoint()
            epochs.set_postfix(objective=f"{self.leader.best[1]:.4g}")
        return self._finish(time.perf_counter() - start)

    def _record_epoch(
        self, thetas: list[Theta], values: list[float], follower_return: float, seconds: float
    ) -> None:
        if self.record is None:
            return
        self.record.append(
            "candidates.csv",
            [
                {"epoch": self.epoch, **t, "objective": v}
                for t, v in zip(thetas, values, strict=True)
            ],
        )
        self.record.append(
            "history.csv",
            [
                {
                    "epoch": self.epoch,
                    **self.leader.incumbent,
                    "objective": self.leader.best[1],
                    "epoch_best": max(values),
                    "follower_return": follower_return,
                    **self.tracked(max(self._scored, key=lambda vg: vg[0])[1]),
                    "env_steps": self.env_steps,
                    "seconds": round(seconds, 2),
                }
            ],
        )

    def _finish(self, seconds: float) -> RunResult:
        ranked = sorted(self.leader.history, key=lambda tv: -tv[1])
        finalists: list[Theta] = [self.leader.incumbent]
        for theta, _ in ranked:
            if len(finalists) > self.ts.final_top_k:
                break
            if theta not in finalists:
                finalists.append(theta)
        values, groups = self.evaluate(finalists)
        best = int(np.argmax(values))
        theta, objective = finalists[best], values[best]
        history = self.record.table("history.csv") if self.record else pd.DataFrame()
        policies = tuple(self.follower_policies())
        result = RunResult(theta, objective, history, policies, groups[best], self.data)
        if self.record is not None:
            for k, (algo, average) in enumerate(zip(self.algos, self.averages, strict=True)):
                latest = {name: v.clone() for name, v in algo.policy.state_dict().items()}
                algo.policy.load_state_dict(average)
                algo.save(self.record.path / self.record.policy_name(k))  # the answer's policy
                algo.policy.load_state_dict(latest)
            summary = self._summary(result, seconds)
            if self.experiment.profile_points:
                profile = self.profile(theta, self.experiment.profile_points)
                profile.to_csv(self.record.path / "profile.csv", index=False)
                tops = profile.loc[profile.groupby("parameter", sort=False)["objective"].idxmax()]
                summary["profile_best"] = dict(zip(tops["parameter"], tops["value"], strict=True))
                plot_profile(profile, result.theta, self.experiment.target_theta, self.record.path)
            self.record.write_json("summary.json", summary)
            plot_run(self.record.path, self.space, result, self.experiment)
            if self.experiment.report is not None:
                self.experiment.report(self.record.path, result)
        return result

    def _summary(self, result: RunResult, seconds: float) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "theta": result.theta,
            "objective": result.objective,
            "leader": self.leader_name,
            "seed": self.seed,
            "epochs": self.epoch,
            "env_steps": self.env_steps,
            "candidates_evaluated": len(self.leader.history),
            "tracked": self.tracked(result.rollouts),
            "wall_seconds_this_session": round(seconds, 1),
        }
        target = self.experiment.target_theta
        if target is not None:
            summary["target_theta"] = target
            summary["error_fraction_of_range"] = self.space.range_error(result.theta, target)
        return summary
