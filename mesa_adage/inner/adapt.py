"""adapt(): make an existing, unmodified Mesa model adaptive.

``adapt(Model, AgentClass, characteristics=..., observe=..., act=..., reward=..., ...)``
returns a subclass of both :class:`~mesa_adage.AdaptiveModel` and ``Model``. It is built by
keyword like the original, with the original's own keyword arguments passed through, and
every part of the framework takes it, and the user's own agent class, as it takes a
hand-written adaptive model.

Each step the learning agents decide in one batched policy call, then the model's own
``step()`` runs as written; when it calls an agent's ``decision`` method (``"step"`` by
default), ``act(agent, action)`` runs in its place. Nothing of the user's classes or module
changes: the replacement lives on each agent *instance* of the adapted model. A class with no
policy (and no injected actions) keeps the model's own rule: its ``decision`` method runs as
written, the baseline "my model, unchanged".

An exception raised inside ``observe``, ``act``, ``reward`` or ``apply_theta`` is a bug in
that code: it keeps its type and traceback, with a note naming the callable
(:func:`~mesa_adage.inner.checks.blame`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from weakref import WeakSet

import gymnasium as gym
import mesa

from mesa_adage.characteristics import Characteristics
from mesa_adage.inner import agent_ids, checks
from mesa_adage.inner.agent import Learner
from mesa_adage.inner.model import AdaptiveModel

ApplyTheta = Callable[[mesa.Model, dict[str, float]], None]
"""Places theta in a built model: called as ``apply_theta(model, theta)`` with a plain dict."""


def adapt(
    model: type[mesa.Model],
    agents: type[mesa.Agent] | Sequence[type[mesa.Agent]],
    *,
    characteristics: Characteristics,
    observation_space: gym.spaces.Box,
    action_space: gym.spaces.Space,
    observe: Callable[[Any], Any],
    act: Callable[[Any, Any], None],
    reward: Callable[[Any], float],
    apply_theta: ApplyTheta | None = None,
    decision: str = "step",
    horizon: int = 100,
) -> type[AdaptiveModel]:
    """Make ``model`` adaptive: ``agents`` act through a shared, theta-conditioned policy.

    Args:
        model: The user's ``mesa.Model`` subclass, unmodified.
        agents: The agent class that learns, or a list of them (they share the callables).
        characteristics: The space of theta.
        observation_space: Space of ``observe(agent)`` (theta_hat is appended to it).
        action_space: Space of the policy's actions.
        observe: The agent's own observation, called once per agent per step.
        act: ``act(agent, action)``, run in place of the agent's ``decision`` method.
        reward: The agent's reward, read after the model's step.
        apply_theta: How theta reaches the model, called as ``apply_theta(model, theta)`` once
            the model's own ``__init__`` has built it and whenever theta changes. By default
            each parameter sets the model attribute of its name, or else that attribute of
            every learning agent.
        decision: The agent method ``act`` replaces.
        horizon: Episode length in steps (the model's default; a keyword overrides it).

    Returns:
        The adaptive model class, called as ``Adapted(theta=..., seed=..., **model_kwargs)``.

    Raises:
        ValueError: If an argument is of the wrong kind, naming it and what is allowed.
    """
    classes = list(agents) if isinstance(agents, Sequence) else [agents]
    _check(model, classes, characteristics, observation_space, action_space, decision, horizon)
    for name, function in (("observe", observe), ("act", act), ("reward", reward)):
        if not callable(function):
            raise ValueError(f"adapt: {name}={function!r} must be callable")
    if apply_theta is not None and not callable(apply_theta):
        raise ValueError(f"adapt: apply_theta={apply_theta!r} must be callable or None")
    learner = Learner(observation_space, action_space, observe, act, reward, decision)
    place = apply_theta or _ByName(classes)
    default_horizon = horizon

    def __init__(
        self: AdaptiveModel,
        theta: Mapping[str, float] | None = None,
        *,
        horizon: int = default_horizon,
        observation: Any = None,
        policies: Mapping[type[mesa.Agent], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        agent_ids.install()  # before the model's own __init__ numbers its agents
        model.__init__(self, **kwargs)
        _no_clash(model, set(vars(self)) & _INSTANCE_NAMES)
        self._init_adaptive(theta, horizon, observation, policies)
        self._placed = WeakSet()
        missing = [c.__name__ for c in classes if c not in self.agent_types]
        if missing:
            raise ValueError(
                f"adapt: {model.__name__} created no {missing} agents; it creates "
                f"{[t.__name__ for t in self.agent_types]}"
            )
        self.on_characteristics_changed()

    def step(self: AdaptiveModel) -> None:
        self.decide()
        decided = len(self._decisions)
        model.step(self)
        if isinstance(place, _ByName):  # agents born in the step: their theta, as their elders'
            place.newcomers(self, self._placed)
        if decided and len(self._decisions) == decided:
            raise RuntimeError(
                f"adapt: {model.__name__}.step() never called {decision}() on a learning agent; "
                f"pass decision= the agent method its step() calls"
            )

    def on_characteristics_changed(self: AdaptiveModel) -> None:
        theta = dict(self.theta)
        if isinstance(place, _ByName):  # its own errors say what to do
            place(self, theta)
        else:
            given = _Theta(theta)
            try:
                place(self, given)
            except Exception as err:
                label = f"adapt(apply_theta={getattr(place, '__qualname__', repr(place))})"
                if isinstance(err, KeyError) and err.args == (given.unknown,):
                    raise ValueError(
                        f"{label} failed for theta {theta} ({type(err).__name__}: {err}); it "
                        f"must place every parameter of {list(characteristics.names)} in the "
                        "model"
                    ) from err
                checks.blame(err, label, f"for {model.__name__} with theta {theta}")
                raise
        if isinstance(place, _ByName):
            self._placed.update(place.learners(self))

    namespace = {
        "__init__": __init__,
        "step": step,
        "on_characteristics_changed": on_characteristics_changed,
        "characteristics": characteristics,
        "learners": MappingProxyType(dict.fromkeys(classes, learner)),
        "__module__": model.__module__,
        "__qualname__": f"Adaptive{model.__qualname__}",
        "__doc__": f"{model.__name__}, adapted: {', '.join(c.__name__ for c in classes)} learn.",
    }
    return type(f"Adaptive{model.__name__}", (AdaptiveModel, model), namespace)


def _check(
    model: Any,
    classes: list[Any],
    characteristics: Any,
    observation_space: Any,
    action_space: Any,
    decision: Any,
    horizon: Any,
) -> None:
    if not (isinstance(model, type) and issubclass(model, mesa.Model)):
        raise ValueError(f"adapt: model={model!r} must be a mesa.Model subclass")
    if issubclass(model, AdaptiveModel):
        raise ValueError(f"adapt: {model.__name__} is already adaptive")
    own = {n for k in model.__mro__ if k not in mesa.Model.__mro__ for n in vars(k)}
    ours = {n for n in vars(AdaptiveModel) if not n.startswith("__")} | _INSTANCE_NAMES
    _no_clash(model, own & ours)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, mesa.Agent)):
            raise ValueError(f"adapt: agents={cls!r} must be a mesa.Agent subclass (or a list)")
        if not callable(getattr(cls, str(decision), None)):
            raise ValueError(
                f"adapt: {cls.__name__} has no method {decision!r} for act to replace; pass "
                "decision= the agent method the model's step() calls"
            )
    if not isinstance(characteristics, Characteristics):
        raise ValueError("adapt: characteristics must be Characteristics(Param(...), ...)")
    if not (isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 1):
        raise ValueError(
            f"adapt: observation_space={observation_space!r} must be a 1-D gymnasium Box"
        )
    if not isinstance(action_space, gym.spaces.Box | gym.spaces.Discrete):
        raise ValueError(
            f"adapt: action_space={action_space!r} must be a gymnasium Box or Discrete"
        )
    if not (isinstance(horizon, int) and horizon > 0):
        raise ValueError(f"adapt: horizon={horizon!r} must be a positive integer")


class _Theta(dict):
    """theta as ``apply_theta`` gets it: a plain dict that remembers an unknown name it was asked.

    Asking for a name theta does not have is a mismatch with ``characteristics`` (bad input),
    not a bug in the user's code.
    """

    unknown: object = None

    def __missing__(self, key: object) -> None:
        self.unknown = key
        raise KeyError(key)


class _ByName:
    """The default ``apply_theta``: model attributes, else learning-agent attributes, by name.

    Agents born later get the agent attributes too, before their first decision.
    """

    def __init__(self, classes: list[type[mesa.Agent]]) -> None:
        self.classes = classes
        self.on_agents: list[str] = []

    def learners(self, model: mesa.Model) -> list[mesa.Agent]:
        """The learning agents alive in ``model``."""
        return [a for c in self.classes for a in model.agents_by_type.get(c, ())]

    def __call__(self, model: mesa.Model, theta: Mapping[str, float]) -> None:
        learners = self.learners(model)
        self.on_agents = []
        for name, value in theta.items():
            if hasattr(model, name):
                setattr(model, name, value)
            elif learners and all(hasattr(a, name) for a in learners):
                self.on_agents.append(name)
                for agent in learners:
                    setattr(agent, name, value)
            else:
                raise ValueError(
                    f"adapt: theta parameter {name!r} is neither an attribute of "
                    f"{type(model).__name__} nor of every "
                    f"{'/'.join(c.__name__ for c in self.classes)} agent; pass apply_theta=... "
                    "to say where it goes"
                )

    def newcomers(self, model: AdaptiveModel, placed: WeakSet) -> None:
        """Give the agent attributes of theta to learning agents not yet in ``placed``."""
        if not self.on_agents:
            return
        new = [a for a in self.learners(model) if a not in placed]
        for agent in new:
            for name in self.on_agents:
                setattr(agent, name, model.theta[name])
        placed.update(new)


_INSTANCE_NAMES = frozenset(
    {"horizon", "observation_model", "policies", "_theta", "_theta_hat", "_pending"}
    | {"_decisions", "_acted", "_placed"}
)
"""Instance attributes an adapted model sets; the user's model must not use them."""


def _no_clash(model: type[mesa.Model], names: set[str]) -> None:
    if names:
        raise ValueError(
            f"adapt: {model.__name__} uses the names {sorted(names)}, which the adaptive model "
            "needs for itself; rename them in a subclass of your model, or adapt a wrapper"
        )
