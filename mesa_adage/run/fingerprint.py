"""Fingerprints: stable, JSON-ready descriptions of what defines a run (checked on resume).

A run folder must never mix two different runs, so its config records the model factory,
the objective and the data, not only the settings. Objects are described by what they are,
never by their memory address: a class or function by its import path, a function also by
a digest of its code and of the values it closes over, a ``functools.partial`` by its
function and arguments, a callable object by its class and attributes, a data frame by a
digest of its contents. :func:`parameters` lists what a model factory runs with, defaults
included, so a changed default is a changed run. :func:`difference` says where two such
descriptions differ, the one diff format of every config comparison.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import types
from collections.abc import Callable
from typing import Any

import pandas as pd


def digest(text: str | bytes) -> str:
    """A short hex digest of ``text``."""
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:16]


def frame_digest(frame: pd.DataFrame) -> str:
    """A digest of a data frame's columns and values (not its memory layout)."""
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    return digest(repr(list(frame.columns)).encode() + rows)


def _code_digest(code: types.CodeType) -> str:
    # Bytecode, constants and names, but not line numbers: editing another part of the file
    # must not make a saved run look different.
    consts = [_code_digest(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return digest(code.co_code + repr((consts, code.co_names)).encode())


def describe(obj: Any) -> Any:
    """A stable description of ``obj`` (a class, function, partial, frame or value)."""
    if isinstance(obj, functools.partial):
        return {
            "partial": describe(obj.func),
            "args": [describe(a) for a in obj.args],
            "kwargs": {k: describe(v) for k, v in sorted(obj.keywords.items())},
        }
    if isinstance(obj, type):
        return f"{obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, types.MethodType):
        return {"method": describe(obj.__func__), "self": describe(obj.__self__)}
    if isinstance(obj, types.FunctionType):
        cells = [c.cell_contents for c in obj.__closure__ or ()]
        return {
            "function": f"{obj.__module__}.{obj.__qualname__}",
            "code": _code_digest(obj.__code__),
            "closure": [describe(c) for c in cells],
            "defaults": [describe(d) for d in obj.__defaults__ or ()],
        }
    if isinstance(obj, pd.DataFrame):
        return {"frame": frame_digest(obj), "rows": len(obj)}
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, list | tuple):
        return [describe(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): describe(v) for k, v in obj.items()}
    text = repr(obj)
    if " at 0x" in text:  # a default repr names the address, which changes every run
        name = f"{type(obj).__module__}.{type(obj).__qualname__}"
        if callable(obj) and hasattr(obj, "__dict__"):  # a factory object: its settings count
            return {"object": name, "attributes": describe(dict(sorted(vars(obj).items())))}
        return name
    return text


def parameters(factory: Callable[..., Any]) -> dict[str, Any]:
    """The parameters ``factory`` runs with when called as ``factory(theta=..., seed=...)``.

    Every parameter with a default, described: a class's constructor defaults (a parameter
    dataclass, a horizon), and the values a ``functools.partial`` binds.
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without a signature
        return {}
    return {
        name: describe(p.default)
        for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty and name not in ("theta", "seed")
    }


def difference(old: Any, new: Any, where: str) -> str:
    """The first place two JSON values differ: ``where.key[i]: old -> new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return difference(old.get(key), new.get(key), f"{where}.{key}")
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                return difference(a, b, f"{where}[{i}]")
    return f"{where}: {json.dumps(old)[:60]} -> {json.dumps(new)[:60]}"


def lookup(config: dict[str, Any], key: str) -> Any:
    """A setting, ``timescales.followers`` looked up inside ``timescales``; None if missing."""
    value: Any = config
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
