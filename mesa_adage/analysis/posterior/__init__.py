"""An amortised posterior for a calibration: neural posterior estimation on the followers.

A calibration's leader returns one theta. Simulation-based inference returns a distribution:
draw theta from the prior (the characteristics' box, uniform), simulate a data set at each
draw, summarise it, and train a neural density estimator of theta given the summary (``sbi``'s
neural posterior estimation, NPE). The theta-conditioned followers make the simulator cheap:
one trained population plays any theta without retraining. Once trained, the estimator answers
any data set of the same shape without simulating again.

- **Simulations** (:func:`simulate_pairs`): each is a data set the size of the observed one
  (as many episodes, as many steps), all played by *one* member of the follower population
  chosen at random, so the learners' disagreement is part of the posterior.
- **Summary** (:class:`Summary`): the calibration's own statistics of its matched columns,
  the vector its objective compares (each statistic's mean over episodes, and for
  ``path_mae`` the mean path).
- **Estimator** (:class:`Estimator`): ``sbi``'s NPE, trained from a seed (same seed, same
  posterior), saved in the run folder's ``posterior/`` with what re-summarises new data.
- **Check** (:func:`predictive_check`): a posterior predictive check. Data sets simulated at
  posterior draws are compared with the data; data farther from them than every one of them
  are flagged: the followers do not make data like these, at any theta the posterior believes.

Modules: :mod:`.summary`, :mod:`.prior`, :mod:`.simulations`, :mod:`.estimator`,
:mod:`.widening`, :mod:`.check` and :mod:`.run_folder` (what `adage run --posterior` and
`adage posterior` call).

``sbi`` is an optional extra (``pip install "mesa-adage[sbi]"``), imported only by the
functions that need it.
"""

from mesa_adage.analysis.posterior.check import PREDICTIVE_SIMULATIONS, predictive_check
from mesa_adage.analysis.posterior.estimator import (
    DRAWS,
    FOLDER,
    INTERVAL,
    LEVEL,
    LOW_IN_BOX,
    MIN_IN_BOX,
    Estimator,
    MissingExtraError,
    load_estimator,
    require_sbi,
    train,
)
from mesa_adage.analysis.posterior.prior import KINDS, Prior
from mesa_adage.analysis.posterior.run_folder import (
    DEFAULT_SIMULATIONS,
    METHODS,
    PosteriorRequest,
    answer_run_folder,
    load_simulations,
    posterior_for_run,
    posterior_lines,
    posterior_warnings,
)
from mesa_adage.analysis.posterior.simulations import simulate_pairs
from mesa_adage.analysis.posterior.summary import Summary, informative
from mesa_adage.analysis.posterior.widening import INTERVALS, credible_bounds

__all__ = [
    "DEFAULT_SIMULATIONS",
    "DRAWS",
    "FOLDER",
    "INTERVAL",
    "INTERVALS",
    "LEVEL",
    "LOW_IN_BOX",
    "METHODS",
    "MIN_IN_BOX",
    "PREDICTIVE_SIMULATIONS",
    "KINDS",
    "Estimator",
    "MissingExtraError",
    "PosteriorRequest",
    "Prior",
    "Summary",
    "answer_run_folder",
    "credible_bounds",
    "informative",
    "load_estimator",
    "load_simulations",
    "posterior_for_run",
    "posterior_lines",
    "posterior_warnings",
    "predictive_check",
    "require_sbi",
    "simulate_pairs",
    "train",
]
