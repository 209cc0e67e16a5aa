"""AdaptiveModel: a Mesa model whose agents see, and adapt to, its characteristics theta.

It holds theta for an episode, shows it to the learning agents and dispatches their actions;
what agents and policies return is checked by :mod:`mesa_adage.inner.checks`, and an error
inside the user's own code is noted as theirs there. It passes 300 lines because all of that
is the one class users subclass.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, ClassVar

import gymnasium as gym
import mesa
import numpy as np

from mesa_adage.characteristics import Characteristics, Theta
from mesa_adage.inner import agent_ids, checks
from mesa_adage.inner.agent import Learner, PolicyAgent, learner_of
from mesa_adage.inner.observation import Full, ObservationModel
from mesa_adage.inner.policies import Policy


class AdaptiveModel(mesa.Model):
    """A Mesa model that holds theta and drives its :class:`PolicyAgent` s through policies.

    One instance is one episode of ``horizon`` steps: to start a new episode, build a new
    model (the trainer and the simulator do this through a factory called as
    ``make_model(theta=..., seed=...)``). Subclasses set the class attribute
    ``characteristics``, create their agents in ``__init__`` after ``super().__init__``, and
    call :meth:`decide` inside ``step()`` where the policy agents choose their actions.

    Args:
        theta: Characteristics for this episode; missing names take their defaults.
        horizon: Episode length in steps.
        observation: How each agent sees theta (its ``theta_hat``).
        policies: Policy per :class:`PolicyAgent` subclass, used by :meth:`decide`.
        seed: Seed of the model's random generators (Mesa semantics).
        rng: Alternative to ``seed`` (Mesa semantics).

    Attributes:
        characteristics: The space theta lives in (class attribute).
        horizon: Episode length in steps.
        policies: Policy per agent class; the trainer and simulator inject actions instead.
        recording: False while :class:`~mesa_adage.inner.vec_env.MesaVecEnv` trains on the
            model, which reads only observations and rewards: a model may then skip its
            ``DataCollector`` (``if self.recording: self.datacollector.collect(self)``).
    """

    characteristics: ClassVar[Characteristics]
    learners: ClassVar[Mapping[type[mesa.Agent], Learner]] = MappingProxyType({})
    recording: bool = True

    def __init__(
        self,
        theta: Mapping[str, float] | None = None,
        *,
        horizon: int = 100,
        observation: ObservationModel | None = None,
        policies: Mapping[type[mesa.Agent], Policy] | None = None,
        seed: int | None = None,
        rng: Any = None,
        **kwargs: Any,
    ) -> None:
        agent_ids.install()  # before Mesa numbers the first agent
        super().__init__(seed=seed, rng=rng, **kwargs)
        self._init_adaptive(theta, horizon, observation, policies)

    def _init_adaptive(
        self,
        theta: Mapping[str, float] | None,
        horizon: int,
        observation: ObservationModel | None,
        policies: Mapping[type[mesa.Agent], Policy] | None,
    ) -> None:
        """Set up theta, the horizon and the policies, once the Mesa model exists."""
        if not isinstance(getattr(type(self), "characteristics", None), Characteristics):
            raise TypeError(
                f"{type(self).__name__} must set the class attribute "
                "`characteristics = Characteristics(Param(...), ...)`"
            )
        if not (isinstance(horizon, int) and horizon > 0):
            raise ValueError(f"horizon={horizon!r} must be a positive integer")
        self.horizon = horizon
        self.observation_model = observation or Full()
        self.policies: dict[type[mesa.Agent], Policy] = dict(policies or {})
        self._theta = self.characteristics.validate(theta or {})
        self._theta_hat: dict[type[mesa.Agent], tuple[list[mesa.Agent], np.ndarray]] = {}
        self._pending: dict[type[mesa.Agent], np.ndarray] = {}
        self._decisions: dict[mesa.Agent, Any] = {}
        self._acted: dict[type[mesa.Agent], list[mesa.Agent]] = {}

    # ------------------------------------------------------------------ theta

    @property
    def theta(self) -> Theta:
        """Current characteristics, validated and immutable (use :meth:`set_characteristics`)."""
        return self._theta

    def set_characteristics(self, theta: Mapping[str, float], *, mid_episode: bool = False) -> None:
        """Change theta, validated, and refresh every agent's ``theta_hat``.

        Args:
            theta: New values; names left out keep their current value.
            mid_episode: Must be True to change theta after the episode started (a dynamic
                policy); it guards against changing the world under running agents by mistake.

        Raises:
            ValueError: On an unknown name or a value outside the bounds.
            RuntimeError: When called mid-episode without ``mid_episode=True``.
        """
        new = self.characteristics.validate({**self._theta, **theta})
        if self.steps > 0 and not mid_episode:
            raise RuntimeError(
                f"set_characteristics called at step {self.steps} of an episode; start a new "
                "episode (a new model) or pass mid_episode=True for a dynamic policy"
            )
        self._theta = new
        self._theta_hat.clear()
        self.on_characteristics_changed()

    def on_characteristics_changed(self) -> None:
        """Hook: recompute anything derived from theta. Called by :meth:`set_characteristics`."""

    @property
    def done(self) -> bool:
        """True once the episode reached its horizon or the model stopped running."""
        return self.steps >= self.horizon or not self.running

    def tick(self) -> None:
        """Advance one time step the way the model needs.

        A model driven by a Mesa ``ABMSimulator`` (``self.simulator``, as WolfSheep is) runs
        one tick of it, so the events scheduled for that tick run with ``step()``; any other
        model calls ``step()``.
        """
        simulator = getattr(self, "simulator", None)
        if getattr(simulator, "model", None) is self and hasattr(simulator, "run_for"):
            simulator.run_for(1)
        else:
            self.step()

    def run_episode(self) -> None:
        """Advance the model until the episode is done."""
        while not self.done:
            self.tick()

    # ------------------------------------------------------------------ agents and policies

    @property
    def policy_agent_types(self) -> list[type[mesa.Agent]]:
        """The learning agent classes present in the model, in creation order."""
        return [t for t in self.agent_types if t in self.learners or issubclass(t, PolicyAgent)]

    def learner(self, agent_type: type[mesa.Agent]) -> Learner:
        """How the agents of ``agent_type`` learn (a :class:`PolicyAgent`'s own methods)."""
        if agent_type in self.learners:
            return self.learners[agent_type]
        if isinstance(agent_type, type) and issubclass(agent_type, PolicyAgent):
            return learner_of(agent_type)
        raise ValueError(
            f"{getattr(agent_type, '__name__', agent_type)} is not a learning agent class of "
            f"{type(self).__name__}; its learning agents are "
            f"{[t.__name__ for t in self.policy_agent_types]}"
        )

    def observation_space(self, agent_type: type[mesa.Agent]) -> gym.spaces.Box:
        """Observation space of ``agent_type`` with ``theta_hat`` appended."""
        own = self.learner(agent_type).observation_space
        low, high = self.observation_model.bounds(self.characteristics)
        return gym.spaces.Box(
            np.concatenate([own.low, low]).astype(np.float32),
            np.concatenate([own.high, high]).astype(np.float32),
            dtype=np.float32,
        )

    def theta_hat(
        self, agent_type: type[mesa.Agent], agents: list[mesa.Agent] | None = None
    ) -> np.ndarray:
        """Each agent's view of theta, shape ``(n_agents, d)``; drawn once per theta and agent.

        An agent keeps its view while others are born and die; a newcomer draws its own.

        Args:
            agent_type: The learning agent class.
            agents: Its agents alive now, if the caller has listed them already.

        Raises:
            NonFiniteError: If the observation model draws a NaN or an infinity.
        """
        if agents is None:
            agents = list(self.agents_by_type.get(agent_type, ()))
        known, views = self._theta_hat.get(agent_type, ([], None))
        if views is not None and agents == known:  # the same agents: the common case
            return views
        row = dict(zip(known, views if views is not None else (), strict=True))
        new = [a for a in agents if a not in row]
        unit = self.characteristics.to_unit(self._theta)
        drawn = self.observation_model(self.characteristics, unit, len(new), self.rng)
        row.update(zip(new, drawn, strict=True))
        dim = self.observation_model.dim(self.characteristics)
        views = np.array([row[a] for a in agents], dtype=np.float32).reshape(len(agents), dim)
        source = f"the observation model {type(self.observation_model).__name__}"
        checks.require_finite(views, source, "theta_hat", agents, self.steps, self._theta)
        self._theta_hat[agent_type] = (agents, views)
        return views

    def observations(
        self, agent_type: type[mesa.Agent], agents: list[mesa.Agent] | None = None
    ) -> np.ndarray:
        """Stacked observations of all agents of ``agent_type`` with ``theta_hat`` appended.

        Args:
            agent_type: The learning agent class.
            agents: Its agents alive now, if the caller has listed them already.

        Raises:
            ValueError: If an agent's observation has the wrong shape or lies outside its
                space (:class:`~mesa_adage.inner.checks.NonFiniteError` if it is not finite).
        """
        if agents is None:
            agents = list(self.agents_by_type.get(agent_type, ()))
        learner = self.learner(agent_type)
        space = learner.observation_space
        if learner.observe_all is not None:
            source = learner.label("observe_all", agent_type)
            values = checks.batch(learner.observe_all, agents, source, self.steps, self._theta)
            own = checks.observation_batch(values, agents, space.shape[0], source)
        else:
            source = learner.label("observe", agent_type)
            rows = checks.each(learner.observe, agents, source, self.steps, self._theta)
            own = checks.observation_rows(rows, agents, space.shape[0], source)
        checks.check_observations(own, agents, space, source, self.steps, self._theta)
        views = self.theta_hat(agent_type, agents)
        return np.concatenate([own, views], axis=1, dtype=np.float32)

    def inject_actions(self, agent_type: type[mesa.Agent], actions: np.ndarray) -> None:
        """Give the next :meth:`decide` precomputed actions (used by trainers and simulators)."""
        self._pending[agent_type] = actions

    @property
    def has_pending_actions(self) -> bool:
        """True if injected actions were not consumed by :meth:`decide`."""
        return bool(self._pending)

    def decide(self) -> None:
        """Let every :class:`PolicyAgent` act: one batched policy call per agent class.

        Call it inside ``step()`` at the point where agents choose.

        An adapted class (``adapt()``) with no policy and no injected actions keeps the
        model's own rule: its ``decision`` method runs as the class wrote it.

        Raises:
            RuntimeError: If a :class:`PolicyAgent` class has no policy and no injected actions.
            ValueError: If a policy returns the wrong number of actions
                (:class:`~mesa_adage.inner.checks.NonFiniteError` if a float action is not finite).
        """
        self._decisions.clear()
        for agent_type in self.policy_agent_types:
            agents = list(self.agents_by_type[agent_type])
            self._acted[agent_type] = agents
            actions = self._pending.pop(agent_type, None)
            if actions is None and not agents:
                continue
            learner = self.learner(agent_type)
            if actions is None and self.policies.get(agent_type) is None:
                if learner.decision is None:
                    raise RuntimeError(_no_policy(agent_type, type(self)))
                for agent in agents:  # the model's own rule: the class's method, not ours
                    vars(agent).pop(learner.decision, None)
                continue
            if actions is None:
                actions = self.policies[agent_type](self.observations(agent_type, agents))
            checks.check_actions(actions, agents, agent_type.__name__, self.steps, self._theta)
            if learner.decision is None and learner.act_all is not None:
                source = learner.label("act_all", agent_type)
                step, theta = self.steps, self._theta
                checks.batch(learner.act_all, agents, source, step, theta, np.asarray(actions))
                continue
            if learner.decision is None:
                source = learner.label("act", agent_type)
                checks.each(learner.act, agents, source, self.steps, self._theta, actions)
                continue
            for agent, action in zip(agents, actions, strict=True):
                self._decisions[agent] = action
                if learner.decision not in vars(agent):  # also an agent born since the last step
                    setattr(agent, learner.decision, partial(_decided, agent, learner))

    def acted(self, agent_type: type[mesa.Agent]) -> list[mesa.Agent]:
        """The agents of ``agent_type`` that decided in the last step, in decision order.

        They include agents that died during the step and exclude those born in it; before
        the first step, they are the agents alive.
        """
        if agent_type in self._acted:
            return self._acted[agent_type]
        return list(self.agents_by_type.get(agent_type, ()))

    def rewards(self, agent_type: type[mesa.Agent]) -> np.ndarray:
        """Rewards for the last step of the agents that :meth:`acted` in it.

        An agent that died during the step is asked too, so its reward can price the death.

        Raises:
            NonFiniteError: If a reward is NaN or infinite.
        """
        agents = self.acted(agent_type)
        learner = self.learner(agent_type)
        if learner.reward_all is not None:
            source = learner.label("reward_all", agent_type)
            batch = checks.batch(learner.reward_all, agents, source, self.steps, self._theta)
            values = checks.reward_batch(batch, agents, source)
        else:
            source = learner.label("reward", agent_type)
            rows = checks.each(learner.reward, agents, source, self.steps, self._theta)
            values = checks.reward_rows(rows, agents, source)
        checks.require_finite(values, source, "rewards", agents, self.steps, self._theta)
        return values


def theta_reporters(space: Characteristics) -> dict[str, Any]:
    """DataCollector model reporters for every parameter of theta (it can change mid-episode)."""
    return {p.name: (lambda m, name=p.name: m.theta[name]) for p in space.params}


def _no_policy(agent_type: type[mesa.Agent], model: type[mesa.Model]) -> str:
    name = agent_type.__name__
    return (
        f"no policy for {name}: set model.policies[{name}] (or pass policies={{{name}: ...}} "
        f"to {model.__name__}) to an SB3Policy, RandomPolicy or any callable obs -> actions; "
        f"{name} is a PolicyAgent, with no rule of its own to run instead (an adapt()ed class "
        "runs its own method when it has no policy)"
    )


def _decided(agent: mesa.Agent, learner: Learner) -> None:
    """Runs in place of an adapted agent's decision method: the policy's action, applied."""
    decisions = agent.model._decisions
    if agent not in decisions:  # no decision yet: born during this step
        return
    checks.checked_act(learner, agent, decisions.pop(agent))
