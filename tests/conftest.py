"""Shared fixtures: small cobweb factories and a tiny calibration experiment."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def cobweb():
    from models.cobweb import CobwebModel

    return CobwebModel
