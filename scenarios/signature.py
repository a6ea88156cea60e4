"""The signature of a training scenario: pre→post change of every measure, per subject and summarised.

Motor units are followed across sessions on the true spikes (a simulated unit keeps its index),
so per-unit measures are compared within the same units, as tracking does in the lab
(Martinez-Valdes et al. 2017); with decomposed sessions the ``_dec`` measures pair decomposed
units across sessions by MUAP similarity. Per measure the signature holds the mean change, its
SD, 95 % CI and the standardised effect size (Cohen's d_z), next to the published value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from scenarios.battery import MEASURES, UNIT_MEASURES, Measure

__all__ = ["change", "signature", "summarize_signature", "comparison_rows", "comparison_table", "plot_signature"]


def _paired_change(a: np.ndarray, b: np.ndarray, m: Measure) -> float:
    """Median change over the pairs with finite values in both sessions."""
    ok = np.isfinite(a) & np.isfinite(b) & ((a != 0) | (not m.relative))
    if not ok.any():
        return float("nan")
    d = 100.0 * (b[ok] / a[ok] - 1.0) if m.relative else b[ok] - a[ok]
    return float(np.median(d))


def _tracked_pairs(pre: xr.Dataset, post: xr.Dataset, threshold: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Decomposed units of the two sessions paired by MUAP similarity (Martinez-Valdes et al. 2017)."""
    from scipy.optimize import linear_sum_assignment

    from validation.tracking import template_similarity
    a, b = pre["dec_template"].values, post["dec_template"].values
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros(0, int), np.zeros(0, int)
    sim = template_similarity(a, b)["similarity"]
    rows, cols = linear_sum_assignment(-sim)
    keep = sim[rows, cols] >= threshold
    return rows[keep], cols[keep]


def change(pre: xr.Dataset, post: xr.Dataset) -> dict[str, float]:
    """Pre→post change of every measure both sessions have (% for relative measures).

    Unit measures compare the same units (those with a finite value in both sessions) and take
    the median of the per-unit changes; scalar measures compare the session values. With
    decomposed sessions, the ``_dec`` measures do the same on decomposed units paired across
    sessions by MUAP similarity, and ``tracked_units_dec`` is not a change but the number of
    units so paired: a lab knows it, so the inference uses it like the changes, and it carries
    information about a site only through what the adaptation does to the decomposable units.
    """
    out: dict[str, float] = {}
    if "dec_template" in pre and "dec_template" in post:
        ia, ib = _tracked_pairs(pre, post)
        out["tracked_units_dec"] = float(ia.size)
        for name in UNIT_MEASURES:
            out[f"{name}_dec"] = _paired_change(pre[f"dec_unit_{name}"].values[ia],
                                                post[f"dec_unit_{name}"].values[ib], MEASURES[name])
    for name, m in MEASURES.items():
        if name not in pre or name not in post:
            continue
        key = f"unit_{name}"
        if key in pre and key in post and pre.sizes.get("unit") == post.sizes.get("unit"):
            out[name] = _paired_change(pre[key].values, post[key].values, m)
            continue
        a, b = float(pre[name]), float(post[name])
        if m.relative:
            out[name] = 100.0 * (b / a - 1.0) if a != 0 and np.isfinite(a) else float("nan")
        else:
            out[name] = b - a
    return out


def signature(results: Mapping[tuple[str, int, int], xr.Dataset], *,
              weeks: Sequence[float] | None = None) -> xr.Dataset:
    """Assemble session results into a signature Dataset.

    Parameters
    ----------
    results
        ``{(group, subject id, session index): session Dataset}``.
    weeks
        Week of every session index (coordinate only).

    Returns
    -------
    xarray.Dataset
        ``value(group, subject, session, measure)``; ``change(group, subject, measure)`` from the
        first to the last session (units in ``change_unit``); and per group the summary of
        :func:`summarize_signature`.
    """
    groups = sorted({g for g, _, _ in results})
    subjects = sorted({s for _, s, _ in results})
    n_sessions = max(k for _, _, k in results) + 1
    names = list(MEASURES)
    value = np.full((len(groups), len(subjects), n_sessions, len(names)), np.nan)
    delta = np.full((len(groups), len(subjects), len(names)), np.nan)
    for (g, s, k), ds in results.items():
        gi, si = groups.index(g), subjects.index(s)
        for mi, m in enumerate(names):
            if m in ds:
                value[gi, si, k, mi] = float(ds[m])
    for g in groups:
        for s in subjects:
            pre, post = results.get((g, s, 0)), results.get((g, s, n_sessions - 1))
            if pre is None or post is None:
                continue
            for m, d in change(pre, post).items():
                delta[groups.index(g), subjects.index(s), names.index(m)] = d
    sig = xr.Dataset(
        {"value": (("group", "subject", "session", "measure"), value),
         "change": (("group", "subject", "measure"), delta)},
        coords={"group": groups, "subject": subjects, "session": np.arange(n_sessions),
                "measure": names,
                "unit": ("measure", [MEASURES[m].unit for m in names]),
                "change_unit": ("measure", [MEASURES[m].change_unit for m in names])},
        attrs={"kind": "signature"})
    if weeks is not None:
        sig = sig.assign_coords(week=("session", np.asarray(weeks, dtype=float)[:n_sessions]))
    return summarize_signature(sig)


def summarize_signature(sig: xr.Dataset) -> xr.Dataset:
    """Add per group and measure: mean change, SD, 95 % CI (t) and Cohen's d_z = mean/SD."""
    from scipy import stats
    ch = sig["change"]
    n = ch.notnull().sum("subject")
    mean = ch.mean("subject")
    sd = ch.std("subject", ddof=1)
    t = xr.apply_ufunc(lambda k: stats.t.ppf(0.975, np.maximum(k - 1, 1)), n)
    half = t * sd / np.sqrt(n.where(n > 0))
    sig["mean_change"] = mean
    sig["sd_change"] = sd
    sig["ci_low"] = mean - half
    sig["ci_high"] = mean + half
    sig["effect_size"] = mean / sd.where(sd > 1e-9 * (1 + abs(mean)))  # identical changes: undefined
    sig["n"] = n
    return sig


def comparison_rows(sig: xr.Dataset, published: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Simulated change of every measure of the trained group next to its published change.

    Parameters
    ----------
    sig
        Signature (:func:`signature`); the ``train`` group is used (else the first group).
    published
        ``{measure: {"change": x, "sd": s, "note": ...}}`` in the measure's change unit.

    Returns
    -------
    list of dict
        One dict per measure, in the signature's order: ``measure``, ``change_unit``, ``mean``,
        ``ci_low``, ``ci_high`` (95 % CI of the mean change), ``effect_size`` (Cohen's d_z),
        ``n`` (subjects), and for published measures ``published_change``,
        ``published_sd`` (NaN when not given), ``note`` and ``within``: whether the simulated
        mean lies within published change ± SD (``None`` without an SD or a simulated mean).
    """
    g = "train" if "train" in sig.group.values else str(sig.group.values[0])
    s = sig.sel(group=g)
    rows = []
    for m in sig.measure.values:
        row: dict[str, Any] = {
            "measure": str(m), "change_unit": str(sig.change_unit.sel(measure=m).item()),
            **{k: float(s[k].sel(measure=m)) for k in ("ci_low", "ci_high", "effect_size")},
            "mean": float(s.mean_change.sel(measure=m)), "n": int(s.n.sel(measure=m))}
        pub = published.get(str(m))
        if pub is not None:
            change, sd = float(pub["change"]), float(pub["sd"]) if "sd" in pub else float("nan")
            row.update(published_change=change, published_sd=sd, note=str(pub.get("note", "")),
                       within=None if not (np.isfinite(sd) and np.isfinite(row["mean"]))
                       else bool(abs(row["mean"] - change) <= sd))
        rows.append(row)
    return rows


def comparison_table(sig: xr.Dataset, published: Mapping[str, Mapping[str, Any]]) -> str:
    """Simulated (mean [95 % CI], d_z) next to published changes, one measure per line
    (the numbers of :func:`comparison_rows`; measures without a simulated change are left out)."""
    lines = [f"{'measure':<24} {'unit':>8} {'simulated':>26} {'d_z':>6}   published",
             "-" * 86]
    for r in comparison_rows(sig, published):
        if not np.isfinite(r["mean"]):
            continue
        ci = f"{r['mean']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
        ptext = "" if "published_change" not in r else f"{r['published_change']:+.2f}" + (
            f" ± {r['published_sd']:.2f}" if np.isfinite(r["published_sd"]) else "") + (
            f"  ({r['note']})" if r["note"] else "")
        lines.append(f"{r['measure']:<24} {r['change_unit']:>8} {ci:>26} {r['effect_size']:>6.2f}   {ptext}")
    return "\n".join(lines)


def plot_signature(sig: xr.Dataset, published: Mapping[str, Mapping[str, Any]] | None = None):  # noqa: ANN201
    """Bar chart of the simulated mean change (95 % CI) of every measure, published values as
    diamonds, one panel per change unit."""
    import matplotlib.pyplot as plt
    published = published or {}
    g = "train" if "train" in sig.group.values else str(sig.group.values[0])
    s = sig.sel(group=g)
    finite = [m for m in sig.measure.values if np.isfinite(float(s.mean_change.sel(measure=m)))]
    units = sorted({str(sig.change_unit.sel(measure=m).item()) for m in finite})
    fig, axes = plt.subplots(1, max(1, len(units)), figsize=(3.2 * max(1, len(units)) + 1, 4.2), squeeze=False)
    for ax, unit in zip(axes[0], units):
        ms = [m for m in finite if str(sig.change_unit.sel(measure=m).item()) == unit]
        y = np.arange(len(ms))
        mean = np.array([float(s.mean_change.sel(measure=m)) for m in ms])
        lo = np.array([float(s.ci_low.sel(measure=m)) for m in ms])
        hi = np.array([float(s.ci_high.sel(measure=m)) for m in ms])
        err = np.vstack([mean - np.nan_to_num(lo, nan=0.0), np.nan_to_num(hi, nan=0.0) - mean]).clip(0)
        ax.barh(y, mean, xerr=err, color="tab:blue", alpha=0.7, label="simulated (95% CI)")
        pub = [(i, float(published[m]["change"])) for i, m in enumerate(ms) if m in published]
        if pub:
            ax.plot([p for _, p in pub], [i for i, _ in pub], "D", color="tab:red", label="published")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_yticks(y, ms, fontsize=8)
        ax.set_xlabel(f"change ({unit})")
    axes[0][0].legend(fontsize=7, frameon=False, loc="lower right")
    fig.suptitle(f"{sig.attrs.get('scenario', 'training signature')}", fontsize=10)
    fig.tight_layout()
    return fig
