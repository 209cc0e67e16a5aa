"""Side by side for a model page: its model under the page's two thetas, from one seed.

The view is :func:`mesa_adage.viz.SideBySide`; a page supplies how to build its model, the
two thetas it starts from and its charts.
"""

from __future__ import annotations

from collections.abc import Mapping

import solara

from mesa_adage.examples.visualization.page import WINDOW, ModelPage
from mesa_adage.inner.model import AdaptiveModel
from mesa_adage.viz import SideBySide


@solara.component
def CompareView(page: ModelPage) -> None:
    """The page's model under two thetas at once; the thetas apply on Reset."""

    def build(theta: Mapping[str, float], seed: int) -> AdaptiveModel:
        return page.build(**{**page.defaults(), **theta}, seed=seed)

    SideBySide(build, page.compare, page.charts, window=WINDOW)
