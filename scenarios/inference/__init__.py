"""Likelihood-free inference of the site of a training adaptation from its measured signature.

A training *signature* is the pre→post change of a battery of measures (MVC, recruitment
thresholds, discharge rates, V/Mmax, H-reflex, MEP, CMEP, SICI, silent period, delta-F, ...).
Simulations done elsewhere give a *reference library*: an :class:`xarray.Dataset` whose variable
``change`` has dims ``(site, magnitude, replicate, measure)`` — the simulated change of every
measure when one site of :data:`simulator.sites.SITES` (or ``"control"``, no adaptation) is
changed by a relative ``magnitude``, in several virtual subjects (``replicate``). NaN marks a
measure that was not obtained.

The observed signature (:class:`Observation`, read from TOML by :func:`load_observation`) is
compared with every library cell by a **Gaussian synthetic likelihood** (Wood 2010, Nature
466:1102; Price, Drovandi, Lee & Nott 2018, J Comput Graph Stat 27:1): the simulated changes of a
cell are summarised by their mean and covariance over replicates (the covariance shrunk toward its
diagonal, Schäfer & Strimmer 2005, Stat Appl Genet Mol Biol 4:32, because replicates are few), the
observation's own variance is added on the diagonal, and the observed changes are scored by that
multivariate normal density. With a uniform prior over sites and over the magnitude grid this
gives the posterior over sites (:func:`infer`), optionally over pairs of sites; how well a battery
can tell the sites apart at all is measured on the library itself by leave-one-replicate-out
(:func:`confusion_matrix`), and which extra measurement would help most by the expected
information gain (:func:`expected_information_gain`; Lindley 1956, Ann Math Stat 27:986).
:func:`run_inference` is the file-to-file entry point behind ``mnpool infer``.

The stages, one module each: :mod:`~scenarios.inference.observation` (the observed signature and
the library's layout), :mod:`~scenarios.inference.likelihood` (the synthetic likelihood),
:mod:`~scenarios.inference.posterior` (:func:`infer`), :mod:`~scenarios.inference.design`
(confusion matrix, on left-out or held-out subjects; information gain),
:mod:`~scenarios.inference.calibration` (coverage of the dose's credible intervals; cohort size
needed per site; what decomposed instead of true motor units cost),
:mod:`~scenarios.inference.abc` (a cross-check without the Gaussian assumption: ABC-SMC model selection with the optional pyabc on :mod:`~scenarios.inference.emulator`, an
empirical emulator of the library), :mod:`~scenarios.inference.figures` and
:mod:`~scenarios.inference.report` (files in, files out).
"""

from scenarios.inference.abc import abc_confusion_matrix, abc_site_posterior
from scenarios.inference.calibration import cohort_power, decomposition_cost, dose_coverage, pair_recovery
from scenarios.inference.design import confusion_matrix, expected_information_gain
from scenarios.inference.emulator import LibraryEmulator
from scenarios.inference.figures import (plot_confusion, plot_coverage, plot_decomposition_cost,
                                         plot_information_gain, plot_posterior, plot_power)
from scenarios.inference.likelihood import PREDICTIVE_ALPHA, PosteriorPredictiveWarning
from scenarios.inference.observation import (CONTROL, LIBRARY_DIMS, PAIR_SEP, Observation, check_library,
                                             check_library_model, load_observation, replicate_sd)
from scenarios.inference.posterior import InferenceResult, infer, posterior_predictive, site_table
from scenarios.inference.report import calibration_summary, run_calibration, run_inference

__all__ = ["CONTROL", "LIBRARY_DIMS", "PAIR_SEP", "Observation", "InferenceResult", "load_observation",
           "check_library", "check_library_model", "replicate_sd", "infer", "confusion_matrix",
           "expected_information_gain", "plot_posterior", "plot_confusion",
           "plot_information_gain", "run_inference", "PREDICTIVE_ALPHA", "PosteriorPredictiveWarning",
           "posterior_predictive", "site_table", "dose_coverage", "cohort_power", "pair_recovery", "plot_power", "plot_coverage",
           "run_calibration", "calibration_summary", "LibraryEmulator", "abc_site_posterior",
           "abc_confusion_matrix", "decomposition_cost", "plot_decomposition_cost"]
