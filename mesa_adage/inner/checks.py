"""Contract checks: what user code hands the framework is checked where it enters, and named.

In the manner of Gymnasium's env checker, each function checks one part of the contract
between the framework and the user's agents, policies and observation models, and its error
names the method, the agent, the value and what is allowed. They take plain values (arrays,
agents, the step, theta), never the model, so any part of the framework can use them.

Observations, ``theta_hat``, actions and rewards are checked every step: one conversion and one
``isfinite`` over the batch, the offender looked up only on failure. A NaN or an infinity
raises :class:`NonFiniteError`, which names the agent, the model step and theta;
``Experiment.on_nonfinite`` chooses what the leader's evaluation does with it: stop the run
(``"raise"``) or score the candidate as failed (``"skip"``).

An exception raised *inside* the user's own code (``observe``, ``act``, ``reward``, their
batched forms, ``apply_theta``) is a bug there, not bad input: it keeps its type and
traceback, and :func:`blame` adds a note naming the code, the agent class, the step and
theta (:func:`from_user_code` tells such an error apart).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

if TYPE_CHECKING:
    from mesa_adage.inner.agent import Learner

ON_NONFINITE = ("raise", "skip")
"""What the leader's evaluation does with a non-finite value: stop, or fail the candidate."""


class NonFiniteError(ValueError):
    """A NaN or an infinity where a finite number is required.

    Attributes:
        theta: The theta of the episode or candidate it arose in.
    """

    def __init__(self, message: str, theta: Mapping[str, float]) -> None:
        super().__init__(message)
        self.theta = dict(theta)

    def __reduce__(self) -> tuple[Any, ...]:  # executors ship errors between processes
        return type(self), (str(self), self.theta)


USER_CODE = "in user code: "
"""How the note :func:`blame` adds begins."""


def format_theta(theta: Mapping[str, float]) -> str:
    """``theta`` as ``name=value, ...`` for error messages."""
    return ", ".join(f"{name}={value:.6g}" for name, value in theta.items())


def require_finite(
    values: np.ndarray,
    source: str,
    what: str,
    agents: Sequence[Any],
    step: int,
    theta: Mapping[str, float],
) -> None:
    """Raise :class:`NonFiniteError` unless every entry of ``values`` is finite.

    Args:
        values: One row (or one number) per agent, aligned with ``agents``.
        source: What produced the values, e.g. ``"Producer.reward()"``.
        what: What the values are, e.g. ``"rewards"``.
        agents: The agents the rows belong to.
        step: The model step they arose at.
        theta: The episode's theta.
    """
    finite = np.isfinite(values)
    if finite.all():
        return
    row = int(np.flatnonzero(~finite.reshape(len(values), -1).all(axis=1))[0])
    agent = agents[row]
    shown = values[row].tolist() if np.ndim(values) > 1 else values[row]
    raise NonFiniteError(
        f"{source} returned {shown}, a non-finite value, {at(agent, step, theta)}; {what} must "
        "be finite",
        theta,
    )


def at(agents: Any, step: int, theta: Mapping[str, float]) -> str:
    """Where a value or an error arose: an agent (or a list of them), the step and theta."""
    if isinstance(agents, Sequence):
        who = f"{len(agents)} {type(agents[0]).__name__ if agents else ''} agents"
    else:
        who = f"{type(agents).__name__} agent {agents.unique_id}"
    return f"for {who} at step {step} (theta: {format_theta(theta)})"


def blame(err: BaseException, source: str, where: str) -> None:
    """Note on ``err``, raised inside ``source`` (the user's code), whose code raised it.

    The caller re-raises ``err``, type and traceback unchanged. An error noted already, by
    user code nested inside, keeps its note.
    """
    if not from_user_code(err):
        err.add_note(
            f"{USER_CODE}{source} raised this, {where}; the error is in that code, and "
            "mesa_adage passed it on unchanged"
        )


def from_user_code(err: BaseException) -> bool:
    """Whether ``err`` was raised inside the user's own code (it carries :func:`blame`'s note)."""
    return any(str(n).startswith(USER_CODE) for n in getattr(err, "__notes__", ()))


def each(
    function: Callable[..., Any],
    agents: Sequence[Any],
    source: str,
    step: int,
    theta: Mapping[str, float],
    actions: Any = None,
) -> list[Any]:
    """``function(agent)``, or ``function(agent, action)``, for every agent in order.

    ``actions`` holds one action per agent, checked already. An exception inside ``function``
    keeps its type and traceback, with :func:`blame`'s note naming the agent.
    """
    out: list[Any] = []
    agent = None
    try:
        if actions is None:
            for agent in agents:
                out.append(function(agent))
        else:
            for agent, action in zip(agents, actions, strict=True):
                out.append(function(agent, action))
    except Exception as err:
        blame(err, source, at(agents if agent is None else agent, step, theta))
        raise
    return out


def batch(
    function: Callable[..., Any],
    agents: Sequence[Any],
    source: str,
    step: int,
    theta: Mapping[str, float],
    *args: Any,
) -> Any:
    """``function(agents, *args)``: the user's batched code, an error in it noted as theirs."""
    try:
        return function(agents, *args)
    except Exception as err:
        blame(err, source, at(agents, step, theta))
        raise


def observation_batch(values: Any, agents: Sequence[Any], dim: int, source: str) -> np.ndarray:
    """``observe_all``'s return value as a float32 array, which must be ``(len(agents), dim)``."""
    array = np.asarray(values, dtype=np.float32)
    if array.shape != (len(agents), dim):
        raise ValueError(
            f"{source} returned shape {array.shape} for {len(agents)} agents; expected "
            f"({len(agents)}, {dim})"
        )
    return array


def observation_rows(
    values: Sequence[Any], agents: Sequence[Any], dim: int, source: str
) -> np.ndarray:
    """Per-agent observations stacked into a float32 ``(len(agents), dim)`` array.

    Raises:
        ValueError: Naming the first agent whose observation has another shape or is not
            numbers.
    """
    try:  # one conversion for all agents; per-agent checks only to name a failure
        array = np.asarray(values, dtype=np.float32).reshape(len(values), dim)
        uniform = not values or np.shape(values[0]) == (dim,)
    except (TypeError, ValueError):  # ragged, another length, or not numbers
        uniform = False
    if uniform:
        return array
    shaped = [np.shape(v) == (dim,) for v in values]
    if all(shaped):
        row = next((i for i, v in enumerate(values) if not _numbers(v)), 0)
        raise ValueError(
            f"{source} returned {values[row]!r} for agent {agents[row].unique_id}, not numbers; "
            f"its observation_space expects ({dim},) floats"
        )
    row = shaped.index(False)
    raise ValueError(
        f"{source} returned shape {np.shape(values[row])} for agent {agents[row].unique_id}; "
        f"its observation_space expects ({dim},)"
    )


def check_observations(
    observations: np.ndarray,
    agents: Sequence[Any],
    space: gym.spaces.Box,
    source: str,
    step: int,
    theta: Mapping[str, float],
) -> None:
    """Require the agents' own observations to be finite and inside ``space``."""
    require_finite(observations, source, "observations", agents, step, theta)
    outside = (observations < space.low) | (observations > space.high)
    if outside.any():
        row, col = (int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{source} returned {observations[row].tolist()} for agent {agents[row].unique_id}: "
            f"entry {col} is outside its observation_space [{space.low[col]}, {space.high[col]}]"
        )


def check_actions(
    actions: Any, agents: Sequence[Any], owner: str, step: int, theta: Mapping[str, float]
) -> None:
    """Require one action per agent from the policy for ``owner``, finite if they are floats."""
    if len(actions) != len(agents):
        raise ValueError(
            f"policy for {owner} returned {len(actions)} actions for {len(agents)} agents"
        )
    if isinstance(actions, np.ndarray) and actions.dtype.kind in "fc":
        require_finite(actions, f"the policy for {owner}", "actions", agents, step, theta)


def checked_act(learner: Learner, agent: Any, action: Any) -> None:
    """``learner.act(agent, action)`` in place of an adapted agent's decision method.

    Raises:
        ValueError: If ``act`` failed on an action outside the action space (the policy's
            fault), naming the agent, the action and the space; on an action inside it, what
            ``act`` raised goes on unchanged, with :func:`blame`'s note.
    """
    try:
        learner.act(agent, action)
    except Exception as err:
        source = learner.label("act", type(agent))
        if not _contains(learner.action_space, action):
            raise ValueError(
                f"{source} could not take action {action!r} for agent {agent.unique_id} "
                f"({type(err).__name__}: {err}): it is outside the action space "
                f"{learner.action_space}"
            ) from err
        model = agent.model
        blame(err, source, at(agent, model.steps, model.theta))
        raise


def reward_batch(values: Any, agents: Sequence[Any], source: str) -> np.ndarray:
    """``reward_all(agents)``'s return value as a float64 array: one number per agent."""
    label = f"{source} must return one number per agent"
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{label} ({err})") from None
    if values.shape != (len(agents),):
        raise ValueError(f"{label} (shape {values.shape} for {len(agents)} agents)")
    return values


def reward_rows(values: Sequence[Any], agents: Sequence[Any], source: str) -> np.ndarray:
    """Per-agent rewards as a float64 array; each must be one number."""
    try:
        return np.fromiter(values, dtype=np.float64, count=len(agents))
    except (TypeError, ValueError) as err:
        row = next((i for i, v in enumerate(values) if not _numbers(v, scalar=True)), 0)
        raise ValueError(
            f"{source} returned {values[row]!r} for agent {agents[row].unique_id}; it must "
            f"return one number ({err})"
        ) from None


def _contains(space: gym.spaces.Space, action: Any) -> bool:
    """Whether ``action`` lies in ``space`` (Discrete or Box), however its numbers are typed."""
    try:
        value = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if isinstance(space, gym.spaces.Discrete):
        number = value.item() if value.size == 1 else math.nan
        return bool(float(number).is_integer() and space.start <= number < space.start + space.n)
    if isinstance(space, gym.spaces.Box) and value.shape == space.shape:
        return bool(((space.low <= value) & (value <= space.high)).all())
    return not isinstance(space, gym.spaces.Box)


def _numbers(value: Any, *, scalar: bool = False) -> bool:
    """True if ``value`` converts to floats (to one float if ``scalar``)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return array.ndim == 0 if scalar else True
