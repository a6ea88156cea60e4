"""Figures of site inference: posterior, confusion matrix, information gain, power, coverage and
the cost of decomposed motor units."""

from __future__ import annotations

import numpy as np
import xarray as xr


from scenarios.inference.observation import PAIR_SEP
from scenarios.inference.posterior import InferenceResult

__all__ = ["plot_posterior", "plot_confusion", "plot_information_gain", "plot_power", "plot_coverage",
           "plot_decomposition_cost"]


def plot_posterior(result: InferenceResult, *, pairs: bool = True, top_pairs: int = 8):
    """Bar chart of the site posterior (and, if run, the most probable pairs).

    Parameters
    ----------
    result
        From :func:`infer`.
    pairs
        Draw the singles-and-pairs posterior beside the single-site one.
    top_pairs
        Number of pairs shown.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    with_pairs = pairs and result.posterior is not None
    fig, axes = plt.subplots(1, 2 if with_pairs else 1, figsize=(11 if with_pairs else 6, 4.2),
                             squeeze=False)
    post = result.site_posterior
    order = np.argsort(-post.values, kind="stable")
    ax = axes[0, 0]
    labels = [str(post.site.values[i]) for i in order]
    ax.barh(np.arange(len(order)), post.values[order], color="C0")
    ax.set_yticks(np.arange(len(order)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("posterior probability")
    ax.set_title(f"single site ({len(result.measures)} measures)", fontsize=9)
    if with_pairs:
        hyp = result.posterior
        idx = [i for i in np.argsort(-hyp.values, kind="stable")
               if PAIR_SEP in str(hyp.hypothesis.values[i])][:top_pairs]
        singles = [i for i in np.argsort(-hyp.values, kind="stable")
                   if PAIR_SEP not in str(hyp.hypothesis.values[i])][:top_pairs]
        show = sorted(idx + singles, key=lambda i: -hyp.values[i])[:top_pairs + 4]
        ax = axes[0, 1]
        colors = ["C1" if PAIR_SEP in str(hyp.hypothesis.values[i]) else "C0" for i in show]
        ax.barh(np.arange(len(show)), hyp.values[show], color=colors)
        ax.set_yticks(np.arange(len(show)), [str(hyp.hypothesis.values[i]) for i in show], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("posterior probability")
        ax.set_title("singles (blue) and additive pairs (orange)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_confusion(cm: xr.DataArray):
    """Heatmap of a confusion matrix (:func:`confusion_matrix`) with its values written in.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    n = cm.sizes["true_site"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    im = ax.imshow(cm.values, vmin=0, vmax=1, cmap="viridis")
    for i in range(n):
        for j in range(cm.sizes["inferred_site"]):
            v = cm.values[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if v > 0.6 else "white")
    ax.set_xticks(np.arange(cm.sizes["inferred_site"]), [str(s) for s in cm.inferred_site.values],
                  rotation=60, ha="right", fontsize=7)
    ax.set_yticks(np.arange(n), [str(s) for s in cm.true_site.values], fontsize=7)
    ax.set_xlabel("inferred site (MAP)")
    ax.set_ylabel("true site")
    acc = cm.attrs.get("accuracy")
    if acc is not None:
        ax.set_title(f"accuracy {acc:.2f} (chance {cm.attrs.get('chance', float('nan')):.2f})", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of observations")
    fig.tight_layout()
    return fig


def plot_information_gain(eig: xr.DataArray):
    """Bar chart of the expected information gain of each candidate measure (bits), ± 2 SE.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    n = eig.sizes["measure"]
    fig, ax = plt.subplots(figsize=(6, 1.2 + 0.35 * max(n, 1)))
    if n:
        se = eig["se_bits"].values if "se_bits" in eig.coords else None
        ax.barh(np.arange(n), eig.values, xerr=None if se is None else 2 * se, color="C2")
        ax.set_yticks(np.arange(n), [str(m) for m in eig.measure.values], fontsize=8)
        ax.invert_yaxis()
    else:
        ax.text(0.5, 0.5, "no candidate measures", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("expected information gain [bit]")
    h0 = eig.attrs.get("entropy_bits")
    ax.set_title("next measurement" + (f" (current entropy {h0:.2f} bit)" if h0 is not None else ""),
                 fontsize=9)
    fig.tight_layout()
    return fig


def plot_power(power: xr.Dataset):
    """Recall of every site against cohort size (log axis), with the target recall.

    Parameters
    ----------
    power
        Result of :func:`scenarios.inference.cohort_power`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sizes = power["size"].values
    for k, s in enumerate(power.site.values):  # ten colours, then the same with dashes
        ax.plot(sizes, power.recall.sel(site=s).values, marker="o", ms=3, label=str(s),
                color=f"C{k % 10}", ls="-" if k < 10 else "--")
    ax.axhline(power.attrs.get("recall_target", 0.8), color="k", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sizes, [str(int(n)) for n in sizes])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("cohort size (subjects)")
    ax.set_ylabel("posterior probability of the true site")
    ax.set_title("power of the battery per site", fontsize=9)
    ax.legend(fontsize=6, ncol=2, loc="lower right")
    fig.tight_layout()
    return fig


def plot_coverage(coverages: dict[str, xr.Dataset]):
    """Coverage curve of the dose's credible intervals: observed against nominal level.

    For every nominal level ``q`` the fraction of observations whose true dose lies inside the
    central ``q`` interval (``|u - 1/2| <= q/2`` for the randomised PIT ``u`` of
    :func:`scenarios.inference.dose_coverage`). A calibrated posterior follows the diagonal
    within the grey band (the 95 % range of a binomial fraction with that many observations);
    below it the intervals are too narrow (overconfident), above it too wide.

    Parameters
    ----------
    coverages
        ``{label: dose_coverage result}``, e.g. left-out and held-out subjects.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    q = np.linspace(0.0, 1.0, 101)
    n_min = None
    for k, (label, cov) in enumerate(coverages.items()):
        u = cov.pit.values[np.isfinite(cov.pit.values)]
        if u.size == 0:
            continue
        n_min = u.size if n_min is None else min(n_min, u.size)
        observed = (np.abs(u[:, None] - 0.5) <= q[None, :] / 2).mean(axis=0)
        ax.plot(q, observed, color=f"C{k}", label=f"{label} (n = {u.size})")
        marks = cov.level.values
        ax.plot(marks, cov.coverage.values, "o", color=f"C{k}", ms=4)
    if n_min:
        half = 1.96 * np.sqrt(q * (1 - q) / n_min)
        ax.fill_between(q, q - half, q + half, color="0.85", lw=0, label="95 % binomial band")
    ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal level of the central credible interval")
    ax.set_ylabel("fraction of true doses inside")
    ax.set_title("dose credible intervals: coverage", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_decomposition_cost(cost: xr.Dataset):
    """Recall of every site with true, decomposed and no motor-unit measures (grouped bars).

    Parameters
    ----------
    cost
        Result of :func:`scenarios.inference.decomposition_cost`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    sites = [str(s) for s in cost.site.values]
    batteries = [str(b) for b in cost.battery.values]
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.32 * len(sites)))
    height = 0.8 / len(batteries)
    y = np.arange(len(sites))
    for k, b in enumerate(batteries):
        acc = float(cost.accuracy.sel(battery=b))
        ax.barh(y + (k - (len(batteries) - 1) / 2) * height, cost.recall.sel(battery=b).values,
                height=height, color=f"C{k}", label=f"{b} (accuracy {acc:.2f})")
    ax.axvline(cost.attrs.get("chance", 0.0), color="k", ls=":", lw=0.8, label="chance")
    ax.set_yticks(y, sites, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("recall (left-out single subjects)")
    ax.set_title("motor-unit measures: true units vs decomposed HD-sEMG", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
