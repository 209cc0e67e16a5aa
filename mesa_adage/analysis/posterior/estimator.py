"""The estimator: ``sbi``'s neural posterior estimation, trained, sampled, saved and loaded."""

from __future__ import annotations

import contextlib
import importlib
import io
import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mesa_adage.analysis.posterior._streams import SAMPLE, TRAIN
from mesa_adage.analysis.posterior.fit import FitTest, fit_test
from mesa_adage.analysis.posterior.simulations import box_bounds
from mesa_adage.analysis.posterior.summary import Summary, informative
from mesa_adage.analysis.posterior.widening import (
    CALIBRATION_DRAWS,
    INTERVALS,
    answer_bounds,
    credible_bounds,
    widening_factors,
)
from mesa_adage.characteristics import Characteristics, is_count
from mesa_adage.seeds import POSTERIOR, derive_seed

FOLDER = "posterior"
"""The run folder's sub-folder of the posterior."""
ESTIMATOR = "estimator.pt"
"""The estimator's file in :data:`FOLDER`."""
LEVEL = 0.9
"""Probability of the credible intervals."""
INTERVAL = "shortest"
"""The default of :func:`train`'s ``interval`` (:data:`~.widening.INTERVALS`): on the cobweb
run's simulations the shortest interval covered as often on average, was narrower, and held
truths near the box's edges more often (benchmarks/posterior_select.py)."""
DRAWS = 4000
"""Posterior samples drawn for a data set."""
FORMAT = 3
"""Version of the estimator file's layout (1: no widening, read as widening 1; 1 and 2:
central intervals, no cross-fitted answers, no fit test)."""
RESTARTS = 4
"""Trainings from different seeds. One training in four to eight failed (intervals over half
the range where the others gave a tenth) and its validation loss showed it."""
COMBINES = ("best", "ensemble")
"""How the restarts make one posterior: the one with the best validation loss, or all of
them as an equal mixture (an ensemble, wider where they disagree)."""
COMBINE = "best"
"""The default of :func:`train`'s ``combine``: an ensemble's intervals were 3-4 times wider,
one restart in four being the wide failure above (benchmarks/posterior_select.py)."""
FOLDS = 5
"""The default of :func:`train`'s ``folds``, cross-fitting folds that measure the widening
(fewer when there are under ten simulations a fold; none under twenty). Without it the 90%
intervals of the cobweb calibration covered 80% (benchmarks/posterior_select.py)."""
MAX_BATCHES = 200
"""Batches of draws :meth:`Estimator.sample` takes at most to keep enough inside the box."""
MIN_IN_BOX = 0.01
"""Below this share of the estimator's posterior inside the prior box, data are refused."""
LOW_IN_BOX = 0.5
"""Below this share, the answer warns that the data may lie outside what the model makes."""


class MissingExtraError(ImportError):
    """The ``sbi`` extra is not installed."""


def require_sbi() -> Any:
    """The ``sbi`` package, imported now.

    Raises:
        MissingExtraError: If it is not installed, naming the extra that installs it.
    """
    try:
        return importlib.import_module("sbi")
    except ImportError as err:
        raise MissingExtraError(
            f"the posterior needs the sbi package ({err}); install it with: "
            'pip install "mesa-adage[sbi]"'
        ) from None


@dataclass
class Estimator:
    """A trained posterior: ``sbi``'s NPE and what it needs to answer new data.

    Attributes:
        posterior: The ``sbi`` posterior (a ``DirectPosterior``).
        names: Parameter names, in the order of the posterior's dimensions.
        box: Each parameter's ``(low, high)``: the uniform prior.
        summary: How data are summarised, and which data fit.
        keep: The summary's entries the estimator reads (:data:`NEGLIGIBLE` ones are not).
        simulations: Simulated data sets it was trained on.
        seed: Seed of the training (and of the samples it draws by default).
        train_seconds: Wall time of the training.
        widen: Per parameter, the factor that scales each draw's distance from the draws'
            median (:func:`train`'s ``folds``); empty for none.
        interval: The kind of credible interval (:data:`~.widening.INTERVALS`).
        cross_fitted: Each simulation's answer by the fold's estimator that never saw it,
            ``(simulations, 3, parameters)``: median, interval's low and high bounds, before
            widening; None without folds.
        fit: The goodness-of-fit test (:mod:`~.fit`); None in files of formats 1 and 2.
    """

    posterior: Any
    names: tuple[str, ...]
    box: tuple[tuple[float, float], ...]
    summary: Summary
    keep: tuple[int, ...]
    simulations: int
    seed: int
    train_seconds: float
    widen: tuple[float, ...] = ()
    interval: str = INTERVAL
    cross_fitted: np.ndarray | None = None
    fit: FitTest | None = None

    def sample(
        self,
        data: pd.DataFrame,
        where: str = "data",
        *,
        draws: int = DRAWS,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """Posterior samples of theta given observed ``data``, one column per parameter.

        Args:
            data: Observed data of the estimator's shape (:meth:`Summary.check`).
            where: What names the data in an error.
            draws: Samples to draw.
            seed: Seed of the samples (default the estimator's): same seed, same samples.

        Raises:
            ValueError: If the data do not fit (:meth:`Summary.check`), or less than
                :data:`MIN_IN_BOX` of the estimator's posterior lies inside the prior box.
        """
        x = self.summary.vector(self.summary.check(data, where))[list(self.keep)]
        drawn, share = self.draw(x, draws, self.seed if seed is None else seed, where)
        frame = pd.DataFrame(drawn, columns=list(self.names))
        frame.attrs["in_prior"] = share
        return frame

    def draw(self, x: np.ndarray, draws: int, seed: int, where: str) -> tuple[np.ndarray, float]:
        """``draws`` samples inside the box given a summary ``x`` (of the kept entries).

        Returns:
            The samples ``(draws, parameters)`` and the share of the estimator's own posterior
            (before widening) inside the box.

        Raises:
            ValueError: If less than :data:`MIN_IN_BOX` of it lies inside the box.
        """
        low, high = (torch.tensor(b, dtype=torch.float32) for b in zip(*self.box, strict=True))
        widen = torch.tensor(self.widen or [1.0] * len(self.names), dtype=torch.float32)
        kept: list[torch.Tensor] = []
        share, center = 1.0, None
        with torch.random.fork_rng(), torch.no_grad():  # sbi draws from torch's generator
            torch.manual_seed(derive_seed(seed, 0, POSTERIOR, SAMPLE))
            observed = torch.as_tensor(x, dtype=torch.float32)
            # Rejection outside the box, done here: sbi's own loops without end when the
            # estimator puts almost no mass in the box (data the model cannot make).
            for _ in range(MAX_BATCHES):
                if sum(len(k) for k in kept) >= draws:
                    break
                with warnings.catch_warnings():  # sbi warns of the leak counted here
                    warnings.filterwarnings("ignore", message=".*lie outside the prior support")
                    drawn = self.posterior.sample(
                        (draws,), x=observed, reject_outside_prior=False, show_progress_bars=False
                    ).reshape(draws, -1)
                if center is None:
                    share = float(((drawn >= low) & (drawn <= high)).all(dim=1).float().mean())
                    if share < MIN_IN_BOX:
                        raise ValueError(
                            f"{where}: only {share:.2%} of the estimator's posterior lies inside "
                            f"the prior box {dict(zip(self.names, self.box, strict=True))}: the "
                            "data lie outside what the model's followers make (another kind "
                            "of producer, or other data), and the posterior would be an "
                            "extrapolation"
                        )
                    center = drawn.median(dim=0).values
                drawn = center + widen * (drawn - center)
                kept.append(drawn[((drawn >= low) & (drawn <= high)).all(dim=1)])
            else:
                raise ValueError(
                    f"{where}: fewer than {draws} of {MAX_BATCHES * draws} widened draws fell "
                    "inside the prior box"
                )
            pooled = torch.cat(kept)  # an ensemble's draws come grouped by member: shuffle
            pooled = pooled[torch.randperm(len(pooled))][:draws]
        return pooled.numpy().astype(float), share

    def fit_of(self, data: pd.DataFrame, where: str = "data") -> dict[str, Any] | None:
        """The goodness-of-fit test of ``data`` (:meth:`FitTest.test`); None without one.

        The data are refit as the simulations were: at the median of
        :data:`~.widening.CALIBRATION_DRAWS` unwidened draws. A refit with its mass outside
        the box counts as farther than every simulation. Estimators saved before the test
        existed have none.
        """
        if self.fit is None:
            return None
        x = self.summary.vector(self.summary.check(data, where))[list(self.keep)]
        plain = replace(self, widen=())
        try:
            drawn, _ = plain.draw(x, CALIBRATION_DRAWS, self.seed, where)
        except ValueError:  # the refit puts its mass outside the box, as refused simulations
            return self.fit.test(x, None)
        return self.fit.test(x, np.median(drawn, axis=0))

    def report(
        self, samples: pd.DataFrame, target: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """Per parameter the posterior mean, median, std and :data:`LEVEL` credible interval.

        With a known ``target``, whether each interval covers it. JSON-ready.
        """
        out: dict[str, Any] = {"method": "npe", "level": LEVEL, "draws": len(samples)}
        out["interval"] = self.interval
        out["mean"] = {n: float(samples[n].mean()) for n in self.names}
        out["median"] = {n: float(samples[n].median()) for n in self.names}
        out["std"] = {n: float(samples[n].std()) for n in self.names}
        low, high = credible_bounds(samples[list(self.names)].to_numpy(), LEVEL, self.interval)
        out["credible_intervals"] = {
            n: [float(low[i]), float(high[i])] for i, n in enumerate(self.names)
        }
        out["interval_share"] = {
            n: round((high - low) / (self.box[i][1] - self.box[i][0]), 4)
            for i, (n, (low, high)) in enumerate(out["credible_intervals"].items())
        }
        if target is not None:
            out["covers_target"] = {
                n: bool(low <= target[n] <= high)
                for n, (low, high) in out["credible_intervals"].items()
            }
        out["summary_entries"] = len(self.keep)
        out["in_prior"] = round(float(samples.attrs.get("in_prior", 1.0)), 4)
        out.update(simulations=self.simulations, seed=self.seed)
        out["train_seconds"] = round(self.train_seconds, 2)
        out["widen"] = dict(zip(self.names, self.widen or [1.0] * len(self.names), strict=True))
        return out

    def save(self, folder: Path) -> Path:
        """Write the estimator to ``folder/estimator.pt`` (made if missing); its path."""
        folder.mkdir(parents=True, exist_ok=True)
        sbi = require_sbi()
        path = folder / ESTIMATOR
        tmp = path.with_name(path.name + ".tmp")
        state = {
            "format": FORMAT,
            "sbi": sbi.__version__,
            "posterior": self.posterior,
            "names": list(self.names),
            "box": [list(b) for b in self.box],
            "summary": {**asdict(self.summary)},
            "keep": list(self.keep),
            "simulations": self.simulations,
            "seed": self.seed,
            "train_seconds": self.train_seconds,
            "widen": list(self.widen),
            "interval": self.interval,
            "cross_fitted": self.cross_fitted,
            "fit": None if self.fit is None else self.fit.state(),
        }
        torch.save(state, tmp)
        tmp.replace(path)
        return path


class _Untracked:
    """An ``sbi`` tracker that keeps nothing.

    By default ``sbi`` writes TensorBoard logs to ``./sbi-logs`` of whatever folder the user
    is in.
    """

    log_dir = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Drop a metric."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Drop metrics."""

    def log_params(self, params: dict[str, Any]) -> None:
        """Drop parameters."""

    def add_figure(self, name: str, figure: Any, step: int | None = None) -> None:
        """Drop a figure."""

    def flush(self) -> None:
        """Nothing to flush."""


def train(
    space: Characteristics,
    summary: Summary,
    thetas: np.ndarray,
    xs: np.ndarray,
    seed: int,
    *,
    restarts: int = RESTARTS,
    combine: str = COMBINE,
    folds: int | None = None,
    interval: str = INTERVAL,
) -> Estimator:
    """Train ``sbi``'s NPE on ``(theta, summary)`` pairs.

    The density estimator is a masked autoregressive flow (a mixture of Gaussians for a
    single parameter), trained ``restarts`` times from derived seeds and combined as
    ``combine`` says (:data:`COMBINES`). Summary entries that do not vary are left out
    (:func:`informative`).

    With ``folds`` >= 2 (default: :data:`FOLDS`) the intervals are widened to cover what they
    claim, measured by cross-fitting: the pairs are split into ``folds`` parts, and an
    estimator trained on the other parts answers each part's summaries, so every simulation
    is answered once by an estimator that never saw it. Per parameter, the smallest
    :data:`~.widening.WIDENINGS` factor whose widened :data:`LEVEL` intervals (of the kind
    ``interval``) cover a :data:`LEVEL` share of those thetas is kept (a coverage measured on
    data the followers make, the data the estimator is calibrated for). The estimator returned
    is trained on every pair, and keeps the cross-fitted answers (``cross_fitted``) and a
    goodness-of-fit test (``fit``, :func:`~.fit.fit_test`), for which it answers each
    simulation as it will answer data.

    Training runs on torch's generator seeded from ``seed`` (the caller's generator is left
    as it was), so the same pairs and seed give the same estimator.

    Raises:
        MissingExtraError: If ``sbi`` is missing (naming the extra).
        ValueError: If a summary is not finite, or ``combine``, ``folds`` or ``interval`` is
            not allowed.
    """
    require_sbi()
    if combine not in COMBINES:
        raise ValueError(f"combine {combine!r} is unknown; allowed are {list(COMBINES)}")
    if interval not in INTERVALS:
        raise ValueError(f"interval {interval!r} is unknown; allowed are {list(INTERVALS)}")
    if folds is None:
        folds = min(FOLDS, len(thetas) // 10) if len(thetas) >= 20 else 0
    if not (is_count(folds) and (folds == 0 or 2 <= folds <= len(thetas) // 10)):
        raise ValueError(
            f"folds {folds!r} must be 0 (no widening) or an integer from 2 to a tenth of the "
            f"{len(thetas)} simulations"
        )
    bad = ~np.isfinite(xs).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} of {len(xs)} simulated summaries are not finite (first at theta "
            f"{space.to_dict(thetas[np.flatnonzero(bad)[0]])}); the followers' episodes "
            "must give finite statistics"
        )
    keep = informative(summary, xs)
    if not len(keep):
        raise ValueError(
            f"none of the {xs.shape[1]} summary entries varies across the {len(xs)} "
            "simulations: the followers' data do not depend on theta"
        )
    lows, highs = box_bounds(space)
    start = time.perf_counter()

    def estimator(posterior: Any, pairs: int) -> Estimator:
        box = tuple(zip(lows.tolist(), highs.tolist(), strict=True))
        kept = tuple(int(i) for i in keep)
        elapsed = time.perf_counter() - start
        names = tuple(space.names)
        return Estimator(posterior, names, box, summary, kept, pairs, seed, elapsed, (), interval)

    widen: tuple[float, ...] = ()
    answers = None
    if folds:
        rng = np.random.default_rng(derive_seed(seed, 1, POSTERIOR, TRAIN))
        parts = np.array_split(rng.permutation(len(thetas)), folds)
        answers = np.empty((len(thetas), 3, thetas.shape[1]))
        for out in parts:
            fit = np.setdiff1d(np.arange(len(thetas)), out)
            first = _fit(space, thetas[fit], xs[fit][:, keep], seed, restarts, combine)
            bounds = answer_bounds(estimator(first, len(fit)), xs[out][:, keep], LEVEL)
            answers[out] = np.stack(bounds, axis=1)
        widen = widening_factors(*answers.transpose(1, 0, 2), thetas, LEVEL)
    posterior = _fit(space, thetas, xs[:, keep], seed, restarts, combine)
    trained = estimator(posterior, len(thetas))
    refits, _, _ = answer_bounds(trained, xs[:, keep], LEVEL)  # as fit_of refits the data
    regression_seed = derive_seed(seed, 2, POSTERIOR, TRAIN)
    fit = fit_test(thetas, xs[:, keep], refits, lows, highs, regression_seed)
    return replace(trained, widen=widen, cross_fitted=answers, fit=fit)


def _fit(
    space: Characteristics,
    thetas: np.ndarray,
    xs: np.ndarray,
    seed: int,
    restarts: int,
    combine: str,
) -> Any:
    """``restarts`` NPE trainings on the pairs, combined as ``combine`` says: an sbi posterior."""
    from sbi.inference import NPE
    from sbi.inference.posteriors.ensemble_posterior import EnsemblePosterior
    from sbi.utils import BoxUniform

    lows, highs = box_bounds(space)
    fitted: list[tuple[float, Any]] = []
    for restart in range(restarts):
        with torch.random.fork_rng():
            torch.manual_seed(derive_seed(seed, restart, POSTERIOR, TRAIN))
            prior = BoxUniform(
                low=torch.as_tensor(lows, dtype=torch.float32),
                high=torch.as_tensor(highs, dtype=torch.float32),
            )
            # A flow over one dimension is a Gaussian; a mixture can be skewed or bimodal.
            family = "maf" if len(space) > 1 else "mdn"
            inference = NPE(
                prior=prior,
                density_estimator=family,
                tracker=_Untracked(),
                show_progress_bars=False,
            )
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                # sbi prints that training converged, and warns of summaries that do not vary
                # (a series that settles to a constant): z-scoring maps them to zero.
                warnings.filterwarnings("ignore", message="Data has constant values")
                inference.append_simulations(
                    torch.as_tensor(thetas, dtype=torch.float32),
                    torch.as_tensor(xs, dtype=torch.float32),
                )
                density = inference.train(show_train_summary=False)
        loss = float(inference.summary["best_validation_loss"][-1])
        fitted.append((loss, inference.build_posterior(density)))
    if combine == "best" or restarts == 1:
        return min(fitted, key=lambda pair: pair[0])[1]
    return EnsemblePosterior([posterior for _, posterior in fitted])


def load_estimator(run_dir: Path) -> Estimator:
    """The estimator of a finished run's folder (``posterior/estimator.pt``), and only there.

    Raises:
        FileNotFoundError: If the folder holds none (naming how to make one).
        ValueError: If the file is damaged or of another layout.
        MissingExtraError: If ``sbi`` is missing (naming the extra).
    """
    path = Path(run_dir) / FOLDER / ESTIMATOR
    if not path.is_file():
        what = "is not a folder" if not Path(run_dir).is_dir() else f"holds no {FOLDER}/{ESTIMATOR}"
        raise FileNotFoundError(
            f"RUN_DIR {str(run_dir)!r} {what}: it has no posterior; make one with adage run "
            "SPEC --posterior npe (pass that run's folder)"
        )
    require_sbi()
    try:
        # The estimator is a pickled sbi object: it is read only from the run folder named.
        state = torch.load(path, weights_only=False)
        if not isinstance(state, dict) or state.get("format") not in range(1, FORMAT + 1):
            raise ValueError(f"its layout is not format 1 to {FORMAT}")
        return Estimator(
            state["posterior"],
            tuple(state["names"]),
            tuple((float(a), float(b)) for a, b in state["box"]),
            Summary(**{**state["summary"], "columns": tuple(state["summary"]["columns"])}),
            tuple(int(i) for i in state["keep"]),
            int(state["simulations"]),
            int(state["seed"]),
            float(state["train_seconds"]),
            tuple(float(w) for w in state.get("widen", ())),
            state.get("interval", "central"),
            state.get("cross_fitted"),
            FitTest.from_state(state["fit"]) if state.get("fit") else None,
        )
    except Exception as err:  # unpickling raises many kinds for a damaged file
        raise ValueError(
            f"{path} cannot be loaded as a posterior estimator ({type(err).__name__}: {err}); "
            "it is damaged or was not written by adage run --posterior: make it again"
        ) from None
