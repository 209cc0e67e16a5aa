"""Experiment specs: ``"package.module:name"``, or a short task name, resolved to an Experiment.

A spec names an :class:`~mesa_adage.run.experiment.Experiment`, or a function returning one
whose keyword arguments the command line fills: ``--target-theta``, ``--data`` and each
``--set NAME=VALUE`` (whose value reaches the function as a string).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, replace
from functools import partial
from typing import Any

from mesa_adage.characteristics import Characteristics, Theta, parse_theta
from mesa_adage.examples import task_spec
from mesa_adage.run.experiment import Experiment, Timescales

__all__ = ["build_experiment", "resolve_spec", "spec_options", "timescale_options"]

OWN = {"target_theta": "--target-theta", "data": "--data"}
"""The spec function's keywords that have flags of their own."""


def resolve_spec(spec: str) -> Any:
    """Import ``"package.module:name"`` with the working directory on the path, as uvicorn does.

    A spec with no colon is a short task name (:data:`mesa_adage.examples.TASKS`).

    Raises:
        ValueError: If the spec is malformed or does not resolve, saying what was tried.
    """
    if ":" not in spec:
        spec = task_spec(spec)
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"SPEC {spec!r} must look like 'package.module:name', e.g. mymodel:calib")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:  # the spec's own module missing, or something it imports
        name = err.name if isinstance(err, ModuleNotFoundError) else None
        missing = name is not None and f"{module_name}.".startswith(f"{name}.")
        hint = "; run adage from the folder that holds it" if missing else ""
        raise ValueError(
            f"SPEC {spec!r}: cannot import {module_name!r} from {os.getcwd()} ({err}){hint}"
        ) from None
    if not hasattr(module, attr):
        raise ValueError(f"SPEC {spec!r}: module {module_name!r} has no attribute {attr!r}")
    return getattr(module, attr)


def build_experiment(
    spec: str, target_theta: str | None, data: str | None, options: Sequence[str] = ()
) -> Experiment:
    """Resolve ``spec`` to an :class:`Experiment`, passing its options on.

    The spec's function is called once. It receives ``target_theta`` as numbers by name and
    validates them against its space (the boundary where the space is known); only when it
    refuses is the text parsed against that space, to name ``--target-theta`` in the error.

    Raises:
        ValueError: If the spec does not resolve or takes no such option, or the function
            refuses one; an error in ``target_theta`` names ``--target-theta``.
    """
    factory = resolve_spec(spec)
    if isinstance(factory, Experiment):
        if target_theta or data or options:
            raise ValueError(
                f"SPEC {spec!r} is a fixed Experiment; it takes no --target-theta, --data or --set"
            )
        return factory
    if not callable(factory):
        raise ValueError(f"SPEC {spec!r} is neither an Experiment nor a function returning one")
    params = inspect.signature(factory).parameters
    for name, value in (("target_theta", target_theta), ("data", data)):
        if value is not None and name not in params:
            raise ValueError(f"SPEC {spec!r} does not accept {OWN[name]}")
    kwargs: dict[str, Any] = {"data": data} if data is not None else {}
    call = partial(_call, spec, factory, **kwargs, **spec_options(spec, options, params))
    if target_theta is None:
        return call()
    theta = _pairs(target_theta)
    if theta is None:  # not name=value pairs: the error names the space's parameters
        theta = _target(target_theta, call().space)
    try:
        return call(target_theta=theta)
    except ValueError:  # only now is the space asked for, to say if the target was at fault
        _target(target_theta, call().space)
        raise


def spec_options(
    spec: str, options: Sequence[str], params: Mapping[str, inspect.Parameter]
) -> dict[str, str]:
    """``--set NAME=VALUE`` options as keyword arguments of the spec's function.

    Raises:
        ValueError: If an option is not ``NAME=VALUE``, is given twice, or names no keyword
            of the function (naming the ones it has).
    """
    allowed = [n for n, p in params.items() if n not in OWN and p.kind is not p.VAR_KEYWORD]
    out: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--set {option!r} must look like NAME=VALUE, e.g. reference=naive")
        if name in OWN:
            raise ValueError(f"--set {option!r}: pass {name} as {OWN[name]}")
        if name not in allowed:
            raise ValueError(
                f"--set {option!r}: SPEC {spec!r} has no option {name!r}; its options are {allowed}"
            )
        if name in out:
            raise ValueError(f"--set {name} is given twice ({out[name]!r} and {value!r})")
        out[name] = value
    return out


def timescale_options(timescales: Timescales, options: Sequence[str]) -> Timescales:
    """``--timescale NAME=VALUE`` options applied to ``timescales`` (a run's budget, say).

    Raises:
        ValueError: If an option is not ``NAME=VALUE``, names no field of
            :class:`~mesa_adage.run.experiment.Timescales` (listing them), is given twice, or
            gives a value the field refuses.
    """
    allowed = [f.name for f in fields(Timescales)]
    changes: dict[str, int | float] = {}
    for option in options:
        name, sep, text = option.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--timescale {option!r} must look like NAME=VALUE, e.g. candidates=4")
        if name not in allowed:
            raise ValueError(f"--timescale {option!r}: no timescale {name!r}; they are {allowed}")
        if name in changes:
            raise ValueError(f"--timescale {name} is given twice ({changes[name]} and {text!r})")
        whole = isinstance(getattr(timescales, name), int)
        try:
            changes[name] = int(text) if whole else float(text)
        except ValueError:
            kind = "an integer" if whole else "a number"
            raise ValueError(f"--timescale {option!r}: {text!r} is not {kind}") from None
    try:
        return replace(timescales, **changes)
    except ValueError as err:
        raise ValueError(f"--timescale: {err}") from None


def _call(spec: str, factory: Callable[..., Any], /, **kwargs: Any) -> Experiment:
    """Call the spec's function; it must return an :class:`Experiment`."""
    experiment = factory(**kwargs)
    if not isinstance(experiment, Experiment):
        raise ValueError(f"SPEC {spec!r} returned {type(experiment).__name__}, not an Experiment")
    return experiment


def _pairs(text: str) -> dict[str, float] | None:
    """``"name=value,..."`` as numbers by name, before the space is known.

    None if the text is not of that form: :func:`_target` then says what is wrong with it.
    """
    try:
        pairs = [fragment.split("=") for fragment in text.split(",") if fragment.strip()]
        theta = {name.strip(): float(value) for name, value in pairs}
    except ValueError:  # a fragment without exactly one "=", or a value that is no number
        return None
    return theta if theta and len(theta) == len(pairs) else None


def _target(text: str, space: Characteristics) -> Theta:
    """``--target-theta`` parsed against ``space``.

    Raises:
        ValueError: Naming ``--target-theta`` and what :func:`parse_theta` refused.
    """
    try:
        return parse_theta(text, space)
    except ValueError as err:
        raise ValueError(f"--target-theta: {err}") from None
