"""MesaVecEnv: every learning agent of every model copy is one slot of an SB3 VecEnv.

It passes 300 lines because the slots (how many, sized before SB3 fixes them, and who sits
in which) are the one thing this VecEnv adds to SB3's.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any

import gymnasium as gym
import mesa
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.inner.policies import Policy
from mesa_adage.inner.rollout import ModelFactory, advance, inject_batched
from mesa_adage.samplers import Sampler, Uniform

REDRAWS = 20
"""Other model seeds tried for an episode too big for slots sized from the first episodes."""


class MesaVecEnv(VecEnv):
    """A Stable-Baselines3 ``VecEnv`` over ``n_copies`` copies of an adaptive Mesa model.

    Each copy has ``slots_per_copy`` slots, and each learning agent of ``agent_type`` sits in
    one, so any SB3 algorithm trains one shared policy on all agents at once. Each copy's
    episode draws a fresh theta from ``sampler``; observations carry each agent's
    ``theta_hat``, so the policy learns ``pi(a | o, theta_hat)``. Agents of other classes act
    through ``policies``.

    Episodes end at the model's horizon (reported as truncation, so SB3 bootstraps) or when the
    model stops running (termination). Agents may be born and die: a dead agent's episode ends
    in its slot (termination, after its reward for the step it died in), and a newborn takes a
    free slot at the next decision. A free slot reports a blank observation, reward 0 and
    ``done`` every step, as PettingZoo-to-SB3 wrappers do for dead agents ("black death"), so
    it adds no return to learn from.

    SB3 fixes the number of slots when the algorithm is built. ``slots_per_copy=None`` counts
    the agents of a ``seed=0`` probe and of one episode per copy, drawn as a reset would draw
    them (from a copy of the random stream, which stays put): one count for all is a fixed
    population, and the slots are that count. A count that varies with the seed (agents
    placed at random, as in Mesa's Schelling) gets headroom: the largest count plus
    ``max(largest - smallest, ceil(3 * sqrt(largest)))``, three standard deviations of a count
    of random placements at least. A later episode with more agents than that is replaced,
    with a warning, by one with another model seed at the same theta (theta's distribution
    stays exact); after ``REDRAWS`` such seeds it is an error.

    Args:
        make_model: Factory called as ``make_model(theta=..., seed=...)``.
        agent_type: The learning agent class being trained.
        sampler: Distribution of theta over episodes.
        n_copies: Number of model copies stepped together.
        seed: Seed of the theta and model-seed stream.
        policies: Policies of the other agent classes, if any.
        slots_per_copy: Most agents of ``agent_type`` alive at once in one copy; None sizes
            them from the first episodes (above), which suits a population that is fixed or
            varies with the seed but does not grow during an episode.

    Attributes:
        slots_per_copy: Slots of each copy, given or sized.
        sized: Whether they were sized from the first episodes.
        episode_returns: Per-agent episode returns finished since the last :meth:`pop_returns`.
    """

    sized = False  # a class default, for environments pickled before it existed

    def __init__(
        self,
        make_model: ModelFactory,
        agent_type: type[mesa.Agent],
        sampler: Sampler | None = None,
        *,
        n_copies: int = 8,
        seed: int = 0,
        policies: Mapping[type[mesa.Agent], Policy] | None = None,
        slots_per_copy: int | None = None,
    ) -> None:
        if not (isinstance(n_copies, int) and n_copies > 0):
            raise ValueError(f"n_copies={n_copies!r} must be a positive integer")
        if slots_per_copy is not None and not (
            isinstance(slots_per_copy, int) and slots_per_copy > 0
        ):
            raise ValueError(
                f"slots_per_copy={slots_per_copy!r} must be a positive integer or None"
            )
        self.make_model = make_model
        self.agent_type = agent_type
        self.sampler = sampler or Uniform()
        self.policies = dict(policies or {})
        self.n_copies = n_copies
        self._rng = np.random.default_rng(seed)
        probe = make_model(theta=None, seed=0)
        if agent_type not in probe.policy_agent_types:
            raise ValueError(
                f"agent_type={getattr(agent_type, '__name__', agent_type)} has no agents in "
                f"{type(probe).__name__}; its learning agents are "
                f"{[t.__name__ for t in probe.policy_agent_types]}"
            )
        self.characteristics = probe.characteristics
        self.sized = slots_per_copy is None
        self.slots_per_copy = slots_per_copy or self._size(len(probe.agents_by_type[agent_type]))
        super().__init__(
            n_copies * self.slots_per_copy,
            probe.observation_space(agent_type),
            probe.learner(agent_type).action_space,
        )
        self._blank = np.clip(0.0, self.observation_space.low, self.observation_space.high)
        self.models: list[AdaptiveModel] = []
        self._seats: list[_Seats] = []
        self._actions: np.ndarray | None = None
        self.episode_returns: list[float] = []

    # ------------------------------------------------------------------ episodes

    def _size(self, probed: int) -> int:
        """Slots per copy, from the ``seed=0`` probe's count and one episode's per copy."""
        rng, counts = deepcopy(self._rng), [probed]  # a copy: the stream itself stays put
        for _ in range(self.n_copies):
            theta = self.characteristics.sample(self.sampler, rng)[0]
            model = self.make_model(theta=theta, seed=int(rng.integers(2**31 - 1)))
            counts.append(len(model.agents_by_type.get(self.agent_type, ())))
        most, least = max(counts), min(counts)
        return most if most == least else most + max(most - least, math.ceil(3 * math.sqrt(most)))

    def _new_episode(self, copy: int) -> AdaptiveModel:
        theta = self.characteristics.sample(self.sampler, self._rng)[0]
        model = self.make_model(theta=theta, seed=int(self._rng.integers(2**31 - 1)))
        for _ in range(REDRAWS if self.sized else 0):
            if len(model.agents_by_type.get(self.agent_type, ())) <= self.slots_per_copy:
                break
            warnings.warn(
                f"MesaVecEnv: an episode of {type(model).__name__} had more "
                f"{self.agent_type.__name__} agents than the {self.slots_per_copy} slots per "
                "copy sized from the first episodes; another model seed replaces it at the "
                "same theta. Pass slots_per_copy= the most that can be alive at once to train "
                "on every seed",
                stacklevel=2,
            )
            model = self.make_model(theta=theta, seed=int(self._rng.integers(2**31 - 1)))
        model.recording = False  # training reads observations and rewards, not the collector
        self._seats[copy] = _Seats(self.slots_per_copy)
        self._seat(copy, model)
        return model

    def _seat(self, copy: int, model: AdaptiveModel) -> None:
        agents = list(model.agents_by_type.get(self.agent_type, ()))
        if len(agents) > self.slots_per_copy:
            raise RuntimeError(
                f"model copy {copy} has {len(agents)} {self.agent_type.__name__} agents at step "
                f"{model.steps}, more than slots_per_copy={self.slots_per_copy}"
                f"{' (sized from the first episodes)' if self.sized else ''}; pass "
                "slots_per_copy= the most that can be alive at once (MesaVecEnv, train, "
                "Experiment)"
            )
        self._seats[copy].seat(agents, model.steps)

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Reseed the theta and model-seed stream; takes effect at the next reset."""
        self._rng = np.random.default_rng(seed)
        return [seed] * self.num_envs

    def _observe(self) -> np.ndarray:
        obs = np.empty((self.num_envs, *self.observation_space.shape), dtype=np.float32)
        for c, (model, seats) in enumerate(zip(self.models, self._seats, strict=True)):
            span = obs[c * self.slots_per_copy : (c + 1) * self.slots_per_copy]
            if len(seats.agents) < self.slots_per_copy:
                span[:] = self._blank
            span[seats.order] = model.observations(self.agent_type, seats.agents)
        return obs

    def reset(self) -> np.ndarray:
        self._seats = [_Seats(self.slots_per_copy) for _ in range(self.n_copies)]
        self.models = [self._new_episode(c) for c in range(self.n_copies)]
        return self._observe()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        if self._actions is None:
            raise RuntimeError("step_wait called before step_async")
        slots = self.slots_per_copy
        actions = self._actions.reshape(self.num_envs, *self.action_space.shape)
        for c, (model, seats) in enumerate(zip(self.models, self._seats, strict=True)):
            model.inject_actions(self.agent_type, actions[c * slots + seats.order])
        if self.policies:
            inject_batched(self.models, self.policies)
        advance(self.models)
        self._actions = None

        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.ones(self.num_envs, dtype=bool)  # a free slot is done every step
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for c, (model, seats) in enumerate(zip(self.models, self._seats, strict=True)):
            if model.acted(self.agent_type) != seats.agents:
                raise RuntimeError(
                    f"{type(model).__name__}: {self.agent_type.__name__} agents were born or "
                    "removed between the end of a step and the next decide(); add and remove "
                    "agents inside step()"
                )
            acted = seats.order + c * slots
            rewards[acted] = model.rewards(self.agent_type)
            seats.returns[seats.order] += rewards[acted]
            current = list(model.agents_by_type.get(self.agent_type, ()))
            if current == seats.agents and not model.done:  # nobody born, died or finished
                dones[acted] = False
                continue
            self._finish(model, seats, current, dones, infos, base=c * slots)
            if model.done:
                self.models[c] = self._new_episode(c)
            else:
                self._seat(c, model)
        return self._observe(), rewards, dones, infos

    def _finish(
        self,
        model: AdaptiveModel,
        seats: _Seats,
        current: list[mesa.Agent],
        dones: np.ndarray,
        infos: list[dict[str, Any]],
        base: int,
    ) -> None:
        """End the episodes of one copy's agents that died, and all of them at its end.

        ``base`` is the copy's first slot in ``dones`` and ``infos``, which this fills.
        """
        row = {agent: i for i, agent in enumerate(current)}
        final = model.observations(self.agent_type) if model.done and model.running else None
        for slot, agent in zip(seats.order.tolist(), seats.agents, strict=True):
            alive, j = agent in row, base + slot
            if alive and not model.done:
                dones[j] = False
                continue
            infos[j] = {
                "TimeLimit.truncated": alive and model.running,
                "episode": {
                    "r": float(seats.returns[slot]),
                    "l": int(model.steps - seats.joined[slot]),
                    "t": 0.0,
                },
            }
            if alive and final is not None:
                infos[j]["terminal_observation"] = final[row[agent]]
            self.episode_returns.append(float(seats.returns[slot]))

    def pop_returns(self) -> list[float]:
        """Return and clear the per-agent episode returns finished so far."""
        out, self.episode_returns = self.episode_returns, []
        return out

    # ------------------------------------------------------------------ VecEnv plumbing

    def close(self) -> None:
        self.models = []

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        value = getattr(self, attr_name, None)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any
    ) -> list[Any]:
        result = getattr(self, method_name)(*args, **kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: Any = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


class _Seats:
    """Which learning agent of one model copy sits in which slot, and its return so far.

    Attributes:
        agents: The seated agents, in the model's order (the order of its next decision).
        order: Their slots, aligned with ``agents``.
        returns: Each slot's return since its agent joined.
        joined: The model step at which each slot's agent joined.
    """

    def __init__(self, n_slots: int) -> None:
        self.slot_of: dict[mesa.Agent, int] = {}
        self.agents: list[mesa.Agent] = []
        self.order = np.zeros(0, dtype=np.intp)
        self.returns = np.zeros(n_slots)
        self.joined = np.zeros(n_slots, dtype=np.int64)

    def seat(self, agents: list[mesa.Agent], step: int) -> None:
        """Seat ``agents``: survivors keep their slot, newcomers take the lowest free ones."""
        if agents == self.agents:
            return
        now = set(agents)
        self.slot_of = {a: j for a, j in self.slot_of.items() if a in now}
        taken = set(self.slot_of.values())
        free = (j for j in range(len(self.returns)) if j not in taken)
        for agent in agents:
            if agent not in self.slot_of:
                j = next(free)
                self.slot_of[agent] = j
                self.returns[j], self.joined[j] = 0.0, step
        self.agents = agents
        self.order = np.fromiter(map(self.slot_of.__getitem__, agents), np.intp, len(agents))
