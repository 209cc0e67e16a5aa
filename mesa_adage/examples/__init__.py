"""The worked examples: four adaptive Mesa models, their agents, their pages, and the tasks.

In the repository they live in the top-level folders ``models/``, ``agents/`` and
``visualization/``; the package installs them here (``setup.cfg``'s ``package_dir``), so a
wheel carries them without putting generic names such as ``models`` into site-packages.
Import them by their installed names::

    from mesa_adage.examples.models.cobweb import CobwebModel, calibration

:data:`TASKS` gives each of the paper's four tasks a short name that ``adage run`` accepts.
"""

from __future__ import annotations

__all__ = ["TASKS", "task_spec"]

TASKS: dict[str, str] = {
    "calibration": "mesa_adage.examples.models.cobweb:calibration",
    "policy-design": "mesa_adage.examples.models.taxation:policy_design",
    "calm": "mesa_adage.examples.models.entrance:calm",
    "stress": "mesa_adage.examples.models.entrance:stress",
    "robust": "mesa_adage.examples.models.market_maker:robust",
    "fiscal-game": "mesa_adage.examples.models.taxation:fiscal_game",
}
"""Short task names and the specs they stand for: calibration (the cobweb market), policy
design (the taxation economy), scenario generation (the Tobin tax that calms, or stresses, a
market) and robust learning (a market maker across a distribution of preferences); and beyond
the paper, a game between two leaders (a treasury sets the tax's level, a legislature its
progressivity)."""


def task_spec(name: str) -> str:
    """The ``module:function`` spec of the short task ``name``.

    Raises:
        ValueError: If ``name`` is no task, listing the ones there are.
    """
    if name not in TASKS:
        raise ValueError(
            f"SPEC {name!r} is not a task name ({', '.join(TASKS)}) and not a "
            "'package.module:function' spec such as mymodel:calibration"
        )
    return TASKS[name]
