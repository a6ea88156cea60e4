"""``infer``: extreme observations are rejected, far ones warned about (issue 16, reproduction 6)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scenarios import inference as I
from scenarios.training import LIBRARY
from simulator.config import ConfigError
from simulator.io import load_netcdf


@pytest.fixture(scope="module")
def atlas():
    return load_netcdf(LIBRARY / "reference_library.nc")


@pytest.mark.parametrize("change, sd, message", [
    (1e308, 1e-308, "sd = 1e-308 is out of range"),
    (1e308, 1.0, "change = 1e\\+308 is out of range"),
    (1.0, 1e300, "sd = 1e\\+300 is out of range"),
])
def test_unrepresentable_observations_are_rejected(change, sd, message):
    with pytest.raises(ConfigError, match=message):
        I.Observation({"mvc": (change, sd)})


def test_far_observation_warns_and_says_so_in_the_summary(atlas):
    with pytest.warns(I.PosteriorPredictiveWarning, match="far from every library entry"):
        res = I.infer(atlas, I.Observation({"mvc": (1e6, 1.0)}))
    assert np.all(np.isfinite(res.site_posterior.values))
    assert res.settings["predictive_p"] < I.PREDICTIVE_ALPHA
    assert "WARNING: no library entry explains the observation" in res.summary()


def test_plausible_observation_does_not_warn(atlas):
    with warnings.catch_warnings():
        warnings.simplefilter("error", I.PosteriorPredictiveWarning)
        cell = atlas.change.sel(site="reticulospinal_motoneuron", magnitude=0.3).mean("replicate")
        res = I.infer(atlas, I.Observation({m: (float(cell.sel(measure=m)), None) for m in ("mvc", "startle")},
                                           n_subjects=10))
    assert res.settings["predictive_p"] > 0.05
    assert "WARNING" not in res.summary()


def test_binary_observation_file_is_one_line(tmp_path):
    p = tmp_path / "obs.toml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        I.load_observation(p)


def test_decomposed_measures_against_a_library_without_them_point_to_the_decomposed_library(atlas):
    """The shipped library has the true-unit measures only; a lab's decomposed-unit measures are
    answered by the decomposed library, and the error says so."""
    with pytest.raises(ConfigError, match="reference_library_dec.nc"):
        I.infer(atlas, I.Observation({"mvc": (10.0, 3.0), "discharge_rate_dec": (1.0, 0.5)}))
