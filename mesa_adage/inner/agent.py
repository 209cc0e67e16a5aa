"""PolicyAgent: a Mesa agent whose behaviour comes from a shared, theta-conditioned policy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from operator import methodcaller
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import mesa
import numpy as np

if TYPE_CHECKING:
    from mesa_adage.inner.model import AdaptiveModel


class PolicyAgent(mesa.Agent):
    """A Mesa agent that acts through the policy its model holds for its class.

    Subclasses declare ``observation_space`` and ``action_space`` (for the agent's *own*
    observation; the framework appends ``theta_hat``) and implement :meth:`observe`,
    :meth:`act` and :meth:`reward`. All agents of one class share one policy: the model stacks
    their observations, runs one forward pass, and calls each agent's :meth:`act`.

    For thousands of agents, a class may also define the *batched* classmethods
    ``observe_all(agents) -> (n, d) array``, ``act_all(agents, actions)`` and
    ``reward_all(agents) -> (n,) array``; the model then calls them once per step instead of
    the per-agent methods, which stay the readable reference. Each may be defined alone. They
    must give the same numbers as the per-agent methods (test it with
    :meth:`Learner.of` ``(cls, batched=False)``).

    Attributes:
        observation_space: Space of :meth:`observe`'s return value, without theta.
        action_space: Space of the action passed to :meth:`act`.
    """

    observation_space: ClassVar[gym.spaces.Box]
    action_space: ClassVar[gym.spaces.Space]
    model: AdaptiveModel

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        space = getattr(cls, "observation_space", None)
        if space is not None and not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
            raise TypeError(
                f"{cls.__name__}.observation_space must be a 1-D gymnasium Box, got {space!r}"
            )

    def observe(self) -> np.ndarray:
        """Return the agent's own observation (theta_hat is appended by the framework)."""
        raise NotImplementedError(f"{type(self).__name__} must implement observe()")

    def act(self, action: np.ndarray) -> None:
        """Apply the policy's action, before the model's dynamics run."""
        raise NotImplementedError(f"{type(self).__name__} must implement act(action)")

    def reward(self) -> float:
        """Return the reward earned in the step that just ran."""
        raise NotImplementedError(f"{type(self).__name__} must implement reward()")


@dataclass(frozen=True)
class Learner:
    """How the agents of one class learn: their spaces, and how they observe, act and earn.

    A :class:`PolicyAgent` subclass is its own learner (:meth:`of`); :func:`mesa_adage.inner.adapt`
    builds one from callables for an agent class it must not change.

    Attributes:
        observation_space: Space of ``observe(agent)``, without theta.
        action_space: Space of the action given to ``act``.
        observe: ``observe(agent)``: the agent's own observation.
        act: ``act(agent, action)``: applies the policy's action.
        reward: ``reward(agent)``: the reward of the step that just ran.
        decision: The agent method ``act`` runs in place of, when the model's own ``step()``
            calls it (with no policy, the method runs as written: the model's own rule); None
            to act as soon as the policy has decided.
        observe_all: ``observe_all(agents)``: all their observations at once, or None.
        act_all: ``act_all(agents, actions)``: all their actions applied at once, or None.
        reward_all: ``reward_all(agents)``: all their rewards at once, or None.
    """

    observation_space: gym.spaces.Box
    action_space: gym.spaces.Space
    observe: Callable[[Any], Any]
    act: Callable[[Any, Any], None]
    reward: Callable[[Any], float]
    decision: str | None = None
    observe_all: Callable[[Sequence[Any]], Any] | None = None
    act_all: Callable[[Sequence[Any], np.ndarray], None] | None = None
    reward_all: Callable[[Sequence[Any]], Any] | None = None

    @classmethod
    def of(cls, agent_type: type[PolicyAgent], *, batched: bool = True) -> Learner:
        """The learner a :class:`PolicyAgent` subclass declares through its methods.

        Args:
            agent_type: The agent class.
            batched: Use its batched classmethods where it defines them; False keeps to the
                per-agent methods (the reference the batched ones must match).
        """
        return cls(
            agent_type.observation_space,
            agent_type.action_space,
            methodcaller("observe"),
            _act,
            methodcaller("reward"),
            observe_all=getattr(agent_type, "observe_all", None) if batched else None,
            act_all=getattr(agent_type, "act_all", None) if batched else None,
            reward_all=getattr(agent_type, "reward_all", None) if batched else None,
        )

    def label(self, part: str, agent_type: type) -> str:
        """How errors name ``observe``, ``act`` or ``reward`` for ``agent_type``."""
        if self.decision is None:
            return f"{agent_type.__name__}.{part}()"
        name = getattr(getattr(self, part), "__qualname__", repr(getattr(self, part)))
        return f"adapt({part}={name}) for {agent_type.__name__}"


def _act(agent: PolicyAgent, action: Any) -> None:
    agent.act(action)


@cache
def learner_of(agent_type: type[PolicyAgent]) -> Learner:
    """:meth:`Learner.of` ``(agent_type)``, built once per class (models ask every step)."""
    return Learner.of(agent_type)
