"""Standard figure of an evoked-response experiment."""

from __future__ import annotations

import numpy as np
import xarray as xr


__all__ = ["plot_experiment"]


def plot_experiment(ds: xr.Dataset):  # noqa: ANN201 - matplotlib Figure
    """Standard figure of an evoked-response experiment.

    Recruitment curves (H and M, or MEP) against intensity, the conditioned/test ratio against
    ISI for SICI, the rectified EMG with the silent period marked, and the trial-averaged EMG
    traces with the stimulus-artefact window (0–2 ms) shaded.
    """
    import matplotlib.pyplot as plt
    name = ds.attrs.get("experiment", "")
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
    if name == "h_reflex":
        ax0.plot(ds.intensity, ds.m_wave, "o-", label="M-wave")
        ax0.plot(ds.intensity, ds.h_reflex, "s-", label="H-reflex")
        ax0.set(xlabel="stimulus intensity (mA)", ylabel="peak-to-peak (mV)",
                title=f"Hmax/Mmax {float(ds.hmax_mmax):.2f}, H latency {float(ds.h_latency):.1f} ms")
        ax0.legend(frameon=False)
    elif name == "mep":
        ax0.plot(ds.intensity, ds.mep_mmax, "o-")
        ax0.set(xlabel="TMS intensity (%MSO)", ylabel="MEP / Mmax",
                title=f"motor threshold {float(ds.motor_threshold):.0f} %MSO, latency {float(ds.mep_latency):.1f} ms")
    elif name == "sici":
        ax0.axhline(1.0, color="0.6", lw=0.8)
        ax0.plot(ds.isi, ds.ratio, "o-")
        ax0.set(xlabel="inter-stimulus interval (ms)", ylabel="conditioned / test MEP",
                title=f"SICI {float(ds.sici):.2f}, ICF {float(ds.icf):.2f}")
    elif name == "silent_period":
        ax0.plot(ds.lag, ds.rectified, color="k", lw=0.8)
        onset = float(ds.mep_onset)
        ax0.axvspan(onset, onset + float(ds.silent_period), color="tab:red", alpha=0.15,
                    label=f"silent period {float(ds.silent_period):.0f} ms")
        ax0.set(xlabel="time from TMS (ms)", ylabel="rectified EMG (mV)")
        ax0.legend(frameon=False)
    else:
        scalars = [f"{v}: {float(ds[v]):.3g} {ds[v].attrs.get('units', '')}" for v in ds.data_vars
                   if ds[v].ndim == 0]
        ax0.axis("off")
        ax0.text(0.0, 1.0, "\n".join(scalars), va="top", family="monospace", fontsize=9)
    if "trace" in ds:
        rows = ds["trace"].values
        dim = ds["trace"].dims[0]
        labels = ds[dim].values
        unit = ds[dim].attrs.get("units", "%MVC" if dim == "condition" else "")
        pick = np.unique(np.linspace(0, rows.shape[0] - 1, min(5, rows.shape[0])).astype(int))
        offset = 1.2 * float(np.abs(rows).max() or 1.0)
        for j, k in enumerate(pick):
            ax1.plot(ds.lag, rows[k] - j * offset, lw=0.8, label=f"{labels[k]:g} {unit}".strip())
        if "test_trace" in ds:
            ax1.plot(ds.lag, ds.test_trace + offset, color="k", lw=0.8, label="test")
        ax1.axvspan(0.0, 2.0, color="0.85", label="artefact")
        ax1.set(xlabel="time from stimulus (ms)", ylabel="bipolar EMG (mV, offset)", yticks=[])
        ax1.legend(frameon=False, fontsize=7, loc="upper right")
    else:
        ax1.remove()
        fig.set_size_inches(6, 3.8)
    fig.suptitle(f"mnpool experiment {name}")
    fig.tight_layout()
    return fig
