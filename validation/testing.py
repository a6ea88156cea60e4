"""Test fixtures and hypothesis strategies for the decomposition and scoring code.

**This module is a test fixture, not a model of the body.** :func:`toy_recording` builds a
recording Dataset with exactly the schema of :mod:`simulator.emg` (DESIGN.md, "Dataset
conventions"; :mod:`simulator._schema`) from a deliberately simple generator, so that the
decomposition, the metrics and the tracking can be tested without the Brian2 pool or the
volume-conductor model:

* MUAPs are spatially smooth, unit-specific, multi-phasic waveforms (a sum of the first three
  Hermite–Gauss functions with unit-specific weights, ~10–20 ms long) that propagate from an
  innervation zone along the fibre direction (grid rows) at the unit's fibre conduction velocity
  and decay with the transverse distance to the unit (a point source at ``depth_mm``), in the
  spirit of the analytical models reviewed by Farina & Merletti 2001 (J Electromyogr Kinesiol
  11:175) but with none of their physics;
* discharges are independent renewal processes at 8–25 pps with an ISI coefficient of variation
  of 0.1–0.2 (typical of steady contractions: Moritz et al. 2005 J Neurophysiol 93:2449);
* noise is white Gaussian at the requested SNR (signal power over all channels / noise power).

The anatomy (MUAP shapes, unit positions) is drawn from ``anatomy_seed`` and the discharges and
noise from ``seed``, so two "sessions" of the same subject share unit identities and can differ in
their discharges and in an electrode-grid shift (``grid_shift_mm``), which is what the tracking
tests need. The hypothesis strategies (:func:`spike_trains`) generate valid spike trains for the
metric property tests and are shipped for users' own tests (xarray's ``xarray.testing`` idea).
"""

from __future__ import annotations


import numpy as np
import xarray as xr

from simulator._schema import SPIKE_SAMPLE, SPIKE_TIME, SPIKE_UNIT

__all__ = ["toy_recording", "toy_anatomy", "toy_muaps", "spike_trains", "renewal_spike_train"]

#: Inter-electrode distance of the toy grid [mm] (13x5 grids with 8 mm spacing are the most used).
TOY_IED_MM = 8.0


def toy_anatomy(n_units: int, grid: tuple[int, int], *, rng: np.random.Generator,
                ied_mm: float = TOY_IED_MM) -> dict[str, np.ndarray]:
    """Draw the units of a toy muscle under an (unshifted) electrode grid.

    Parameters
    ----------
    n_units
        Number of motor units.
    grid
        Electrode rows (along the fibres) x columns.
    rng
        Generator for the anatomy.
    ied_mm
        Inter-electrode distance [mm].

    Returns
    -------
    dict of str to ndarray
        Per-unit truth: ``size_index``, ``recruitment_excitation`` [1], ``depth_mm``,
        ``fibre_cv_m_s``, ``iz_x_mm``, ``centre_y_mm`` and the private shape parameters
        ``_amp_uv``, ``_sigma_s`` and ``_weights``.
    """
    x_len, y_len = (grid[0] - 1) * ied_mm, (grid[1] - 1) * ied_mm
    size = np.sort(rng.uniform(0.0, 1.0, n_units))
    weights = rng.normal(0.0, 1.0, (n_units, 3))
    weights[:, 1] += np.sign(weights[:, 1])               # keep every unit clearly multi-phasic
    return {
        "size_index": size,
        "recruitment_excitation": 0.02 + 0.6 * size,
        "depth_mm": rng.uniform(3.0, 8.0, n_units),
        "fibre_cv_m_s": 3.0 + 2.5 * size + rng.normal(0.0, 0.2, n_units),
        "iz_x_mm": rng.uniform(0.3 * x_len, 0.6 * x_len, n_units),
        "centre_y_mm": rng.uniform(-4.0, y_len + 4.0, n_units),
        # Larger units have larger MUAPs. The range (with depth) is narrower than a whole pool's:
        # a toy recording stands for the decomposable, largest units of a contraction.
        "_amp_uv": 150.0 * (0.6 + 1.4 * size),
        "_sigma_s": rng.uniform(0.9e-3, 1.8e-3, n_units),  # phase width
        "_weights": weights,
    }


def toy_muaps(anatomy: dict[str, np.ndarray], x_mm: np.ndarray, y_mm: np.ndarray,
              lag_s: np.ndarray) -> np.ndarray:
    """Spatially smooth multi-phasic MUAP templates of the units of ``anatomy`` over electrodes.

    Parameters
    ----------
    anatomy
        Output of :func:`toy_anatomy`.
    x_mm, y_mm
        Electrode positions [mm]; ``x`` runs along the muscle fibres.
    lag_s
        Template time axis [s] relative to the discharge.

    Returns
    -------
    ndarray, shape (n_units, n_channels, n_lags)
        Templates [µV].
    """
    a = anatomy
    # Distances (unit, channel): transverse (through the depth) and along the fibres.
    rho = np.hypot(y_mm[None, :] - a["centre_y_mm"][:, None], a["depth_mm"][:, None])
    along = np.abs(x_mm[None, :] - a["iz_x_mm"][:, None])
    delay = along / a["fibre_cv_m_s"][:, None] * 1e-3     # mm / (m/s) = ms -> s
    # Farther electrodes see wider (low-pass filtered, Lindstrom & Magnusson 1977) and
    # smaller potentials.
    width = a["_sigma_s"][:, None] * (1.0 + 0.06 * rho + 0.01 * along)
    gain = a["_amp_uv"][:, None] * (1.0 + (rho / 4.0) ** 2) ** -1.0 * np.exp(-along / 60.0)
    u = (lag_s[None, None, :] - 2e-3 - delay[:, :, None]) / width[:, :, None]
    g = np.exp(-0.5 * u**2)
    basis = np.stack([g, u * g, (u**2 - 1.0) * g], axis=-1)  # Hermite-Gauss, (unit, ch, lag, 3)
    return gain[:, :, None] * np.einsum("ucli,ui->ucl", basis, a["_weights"])


def renewal_spike_train(rate_pps: float, cov_isi: float, duration_s: float, *,
                        rng: np.random.Generator, refractory_s: float = 0.02) -> np.ndarray:
    """Discharge times [s] of a Gaussian renewal process (mean rate, ISI CoV), sorted.

    Parameters
    ----------
    rate_pps
        Mean discharge rate [pulses/s].
    cov_isi
        Coefficient of variation of the inter-spike intervals [1].
    duration_s
        Length of the train [s].
    rng
        Random generator.
    refractory_s
        Shortest allowed interval [s].
    """
    mean_isi = 1.0 / rate_pps
    n = int(np.ceil(duration_s * rate_pps * 1.5)) + 4
    isi = np.maximum(rng.normal(mean_isi, cov_isi * mean_isi, n), refractory_s)
    t = rng.uniform(0.0, mean_isi) + np.concatenate([[0.0], np.cumsum(isi[:-1])])
    return t[t < duration_s]


def toy_recording(n_units: int = 10, n_channels: int = 64, duration_s: float = 20.0,
                  snr_db: float = 20.0, seed: int = 0, *, fs_hz: float = 2048.0,
                  grid: tuple[int, int] = (13, 5), anatomy_seed: int | None = None,
                  grid_shift_mm: tuple[float, float] = (0.0, 0.0),
                  rate_pps: tuple[float, float] = (8.0, 25.0),
                  cov_isi: tuple[float, float] = (0.1, 0.2)) -> xr.Dataset:
    """A synthetic HD-sEMG recording with ground truth (test fixture; see the module docstring).

    Parameters
    ----------
    n_units
        Number of active motor units.
    n_channels
        Number of electrodes used, taken row-major from the grid (64 of a 13x5 grid drops the
        last corner, as on the commercial 64-electrode grids).
    duration_s
        Length [s].
    snr_db
        Signal-to-noise ratio [dB]: mean signal power over all channels / noise power.
    seed
        Seed of the discharges and of the noise.
    fs_hz
        Sampling rate [Hz].
    grid
        Electrode rows (along the fibres) x columns, 8 mm apart.
    anatomy_seed
        Seed of the MUAPs and unit positions (defaults to ``seed``). Two recordings with the same
        ``anatomy_seed`` are two sessions of the same subject.
    grid_shift_mm
        Displacement of the whole grid (along, across the fibres) [mm].
    rate_pps, cov_isi
        Ranges of the units' mean discharge rates [pps] and ISI coefficients of variation.

    Returns
    -------
    xarray.Dataset
        A recording Dataset (``attrs["kind"] == "recording"``).
    """
    rows, cols = grid
    if not 1 <= n_channels <= rows * cols:
        raise ValueError(f"n_channels = {n_channels} is out of range; allowed [1, {rows * cols}]")
    anatomy_rng = np.random.default_rng(seed if anatomy_seed is None else anatomy_seed)
    rng = np.random.default_rng([seed, 1])
    rr, cc = np.divmod(np.arange(n_channels), cols)
    x_mm = rr * TOY_IED_MM + grid_shift_mm[0]
    y_mm = cc * TOY_IED_MM + grid_shift_mm[1]
    lag_s = np.arange(int(round(-0.005 * fs_hz)), int(round(0.025 * fs_hz))) / fs_hz
    # Anatomy is drawn for the unshifted grid so that a shifted session sees the same units.
    anatomy = toy_anatomy(n_units, grid, rng=anatomy_rng)
    muap = toy_muaps(anatomy, x_mm, y_mm, lag_s)
    props = {k: v for k, v in anatomy.items() if not k.startswith("_")}
    props["muap_ptp_uv"] = np.ptp(muap, axis=2).max(axis=1)
    n_samples = int(round(duration_s * fs_hz))
    rates = rng.uniform(*rate_pps, n_units)
    covs = rng.uniform(*cov_isi, n_units)
    trains = [renewal_spike_train(r, c, duration_s, rng=rng) for r, c in zip(rates, covs)]
    spike_unit = np.concatenate([np.full(len(t), u) for u, t in enumerate(trains)]).astype(np.int64)
    spike_sample = np.round(np.concatenate(trains) * fs_hz).astype(np.int64)
    inside = spike_sample < n_samples          # a time just below duration_s may round up
    spike_unit, spike_sample = spike_unit[inside], spike_sample[inside]
    order = np.lexsort((spike_unit, spike_sample))
    spike_unit, spike_sample = spike_unit[order], spike_sample[order]

    # emg = sum over units of (binary spike train) * (MUAP), done per unit with an FFT convolution.
    from scipy.signal import fftconvolve
    lag0 = -int(round(lag_s[0] * fs_hz))
    emg = np.zeros((n_channels, n_samples + muap.shape[2]))
    for u in range(n_units):
        train = np.zeros(n_samples)
        np.add.at(train, spike_sample[spike_unit == u], 1.0)
        emg[:, :n_samples + muap.shape[2] - 1] += fftconvolve(train[None, :], muap[u], axes=1)
    emg = emg[:, lag0:lag0 + n_samples]
    signal_power = np.mean(emg**2)
    noise_sd = np.sqrt(signal_power / 10 ** (snr_db / 10.0))
    emg += rng.normal(0.0, noise_sd, emg.shape)

    config = {"generator": "validation.testing.toy_recording", "n_units": n_units,
              "n_channels": n_channels, "duration_s": duration_s, "snr_db": snr_db,
              "fs_hz": fs_hz, "grid": list(grid), "anatomy_seed": anatomy_seed,
              "grid_shift_mm": list(grid_shift_mm)}
    unit_vars = {k: ("unit", v) for k, v in props.items()}
    ds = xr.Dataset(
        {
            "emg": (("time", "channel"), emg.T.astype(np.float64),
                    {"units": "uV", "long_name": "monopolar surface EMG"}),
            "muap": (("unit", "channel", "lag"), muap,
                     {"units": "uV", "long_name": "motor-unit action potential templates"}),
            SPIKE_TIME: ("spike", spike_sample / fs_hz, {"units": "s"}),
            SPIKE_UNIT: ("spike", spike_unit),
            SPIKE_SAMPLE: ("spike", spike_sample, {"long_name": "0-based sample of discharge"}),
            "discharge_rate_pps": ("unit", rates, {"units": "pps"}),
            **unit_vars,
        },
        coords={
            "time": ("time", np.arange(n_samples) / fs_hz, {"units": "s"}),
            "channel": np.arange(n_channels),
            "row": ("channel", rr), "col": ("channel", cc),
            "x_mm": ("channel", x_mm, {"units": "mm"}),
            "y_mm": ("channel", y_mm, {"units": "mm"}),
            "unit": np.arange(n_units),
            "lag": ("lag", lag_s, {"units": "s"}),
        },
        attrs={"kind": "recording", "fs_hz": float(fs_hz), "snr_db": float(snr_db),
               "grid": f"{rows}x{cols} toy ({TOY_IED_MM:g} mm)", "ied_mm": TOY_IED_MM,
               "config": config, "seed": int(seed), "fixture": "toy_recording"},
    )
    return ds


def spike_trains(min_spikes: int = 2, max_spikes: int = 60, *, fs_hz: float = 2048.0,
                 min_isi_s: float = 0.02, max_isi_s: float = 0.2):
    """Hypothesis strategy for sorted spike trains as 0-based sample indices.

    Intervals are drawn in ``[min_isi_s, max_isi_s]`` (physiological discharge rates, 5–50 pps).

    Parameters
    ----------
    min_spikes, max_spikes
        Range of the number of spikes.
    fs_hz
        Sampling rate [Hz] used to turn intervals into samples.
    min_isi_s, max_isi_s
        Range of the inter-spike intervals [s].
    """
    from hypothesis import strategies as st

    lo, hi = int(np.ceil(min_isi_s * fs_hz)), int(np.floor(max_isi_s * fs_hz))

    @st.composite
    def _trains(draw):
        start = draw(st.integers(0, hi))
        isi = draw(st.lists(st.integers(lo, hi), min_size=min_spikes - 1, max_size=max_spikes - 1))
        return start + np.concatenate([[0], np.cumsum(np.asarray(isi, dtype=np.int64))]).astype(np.int64)

    return _trains()
