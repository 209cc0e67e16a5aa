"""What a component says, instead of a traceback, when the model it is given will not do.

Each function returns sentences for the page (empty when all is well); the components show
them with ``solara.Error`` or ``solara.Warning``.
"""

from __future__ import annotations

from typing import Any

import mesa

from mesa_adage.inner.agent import PolicyAgent
from mesa_adage.inner.model import AdaptiveModel


def not_adaptive(model: Any, component: str) -> str | None:
    """Why ``model`` cannot drive ``component``, or None if it is an adaptive model."""
    if isinstance(model, AdaptiveModel):
        return None
    if isinstance(model, mesa.Model):
        return (
            f"{component} needs an adaptive model, and {type(model).__name__} is a plain "
            "mesa.Model with no theta. Make it adaptive with mesa_adage.adapt(...) (or "
            "subclass AdaptiveModel) and pass that model to SolaraViz."
        )
    return (
        f"{component} needs an adaptive Mesa model; it was given {type(model).__name__} "
        f"({model!r:.80})."
    )


def missing_policies(model: AdaptiveModel) -> tuple[list[str], list[str]]:
    """The learning classes of ``model`` with no policy, as (errors, warnings).

    A :class:`~mesa_adage.PolicyAgent` class with no policy cannot step: an error. An
    ``adapt()``-ed class with none runs the model's own rule, so it does not respond to
    theta: a warning.
    """
    errors, warnings = [], []
    for agent_type in model.policy_agent_types:
        if model.policies.get(agent_type) is not None:
            continue
        name, model_name = agent_type.__name__, type(model).__name__
        if issubclass(agent_type, PolicyAgent) and agent_type not in model.learners:
            errors.append(
                f"{model_name} has no policy for its learning class {name}, so it cannot "
                f"step: pass policies={{{name}: SB3Policy(...)}} when you build the model "
                "(in SolaraViz, in model_params or in the model's defaults)."
            )
        else:
            warnings.append(
                f"{model_name} has no policy for {name}: its agents run the model's own rule "
                f"and do not respond to theta. Pass policies={{{name}: SB3Policy(...)}} to "
                "see them adapt."
            )
    return errors, warnings
