"""Tasks for tests/test_executors.py, importable by workers only through the repository root."""

from __future__ import annotations

import numpy as np
import torch


def mlp_forward(seed: int) -> dict[str, np.ndarray]:
    """A seeded torch MLP on numpy-drawn inputs: bit-identical wherever it runs single-threaded."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.Tanh(), torch.nn.Linear(64, 3))
    x = torch.as_tensor(rng.normal(size=(256, 16)), dtype=torch.float32)
    with torch.no_grad():
        y = mlp(x).numpy()
    return {"y": y, "draws": rng.normal(size=5), "gram": x.numpy().T @ x.numpy()}


def fail_on(bad: int, x: int) -> int:
    """Returns ``x``, or raises a ValueError for ``x == bad``."""
    if x == bad:
        raise ValueError(f"task {x} is bad")
    return x
