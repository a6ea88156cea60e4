"""Epsilon-support-vector regression with a Gaussian kernel on one input variable.

The smooth discharge-rate estimate of Beauchamp, Khurram, Dewald, Heckman & Pearcey 2022
(J Neural Eng 19:036018, doi:10.1088/1741-2552/ac4594), which openhdemg's ``compute_svr`` fits with
scikit-learn's ``SVR`` and ``compute_deltaf`` differentiates. It is written here so that the
delta-F of :mod:`simulator.measures` needs no machine-learning dependency: the dual problem of
Vapnik's epsilon-insensitive regression (Smola & Schölkopf 2004 Stat Comput 14:199) is solved by
sequential minimal optimisation with second-order working-set selection (Fan, Chen & Lin 2005
J Mach Learn Res 6:1889), the algorithm of LIBSVM (Chang & Lin 2011 ACM TIST 2:27), to the same
stopping tolerance (KKT gap ``tol``); so the two fits agree to about ``tol`` times the rate scale.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SVRFit", "fit_svr"]

_TAU = 1e-12  # floor of the curvature of a two-variable sub-problem (a non-positive kernel step)


class SVRFit:
    """A fitted regression ``f(x) = sum_i coef_i exp(-gamma (x - x_i)^2) + intercept``.

    Attributes
    ----------
    support
        Inputs ``x_i`` with non-zero coefficients.
    coef
        Their dual coefficients (``alpha_i - alpha_i*``).
    intercept
        Bias term ``b``.
    gamma
        Kernel coefficient [1/x^2].
    """

    def __init__(self, support: np.ndarray, coef: np.ndarray, intercept: float, gamma: float):
        self.support = support
        self.coef = coef
        self.intercept = intercept
        self.gamma = gamma

    def predict(self, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Values of the fit at ``x`` (evaluated in chunks to bound memory)."""
        x = np.asarray(x, dtype=float).ravel()
        out = np.empty(x.size)
        for a in range(0, x.size, chunk):
            # in place: two temporaries per chunk instead of four (the evaluation on every
            # sample of a triangle costs as much as the fit); same operations in the same order
            d = np.subtract.outer(x[a:a + chunk], self.support)
            e = np.multiply(d, -self.gamma)
            e *= d
            np.exp(e, out=e)
            out[a:a + chunk] = e @ self.coef + self.intercept
        return out

    def predict_regular(self, start: float, step: float, n: int) -> np.ndarray:
        """Values of the fit at ``start + step * k`` for ``k = 0 .. n-1`` (a regular grid).

        The fit is a sum of Gaussians of width ``w = 1/sqrt(2 gamma)``; on a grid much finer
        than that it is evaluated exactly on every ``stride``-th point (and the last) and
        interpolated by a not-a-knot cubic spline in between. The knots are at most ``w / 40``
        apart, where the spline's error bound (``h^4 / 384`` times the largest fourth
        derivative, at most ``3 S / w^4`` with ``S`` the sum of the absolute coefficients) is
        below 1e-8 S, far below the fit's own tolerance (measured: 4e-7 pps on discharge-rate
        fits); on a coarser grid every point is evaluated exactly.
        """
        n = int(n)
        width = 1.0 / math.sqrt(2.0 * self.gamma)
        stride = int(width / 40.0 / step) if step > 0 else 1
        grid = np.arange(n)
        if stride < 2 or n < 4 * stride:
            return self.predict(start + step * grid)
        from scipy.interpolate import CubicSpline
        knots = grid[::stride]
        if knots[-1] != n - 1:
            knots = np.append(knots, n - 1)
        return CubicSpline(knots, self.predict(start + step * knots))(grid)


def fit_svr(x: np.ndarray, y: np.ndarray, *, gamma: float, c: float, epsilon: float,
            sample_weight: np.ndarray | None = None, tol: float = 1e-3,
            max_iter: int = 1_000_000) -> SVRFit:
    """Fit epsilon-SVR with the kernel ``exp(-gamma (x - x')^2)``.

    Parameters
    ----------
    x, y
        Inputs (e.g. discharge times [s]) and targets (e.g. instantaneous rates [pps]), 1-D.
    gamma
        Kernel coefficient [1/x^2] (> 0).
    c
        Regularisation parameter ``C`` (> 0).
    epsilon
        Half-width of the insensitive tube [units of ``y``] (>= 0).
    sample_weight
        Per-sample factors on ``C`` (LIBSVM's weighted ``C``), default 1.
    tol
        Stopping tolerance on the maximal KKT violation (LIBSVM's and scikit-learn's 1e-3).
    max_iter
        Safety bound on the SMO iterations.

    Returns
    -------
    SVRFit
    """
    x = np.asarray(x, dtype=float).ravel()
    z = np.asarray(y, dtype=float).ravel()
    n = x.size
    if n == 0 or z.size != n:
        raise ValueError(f"x has {n} values and y {z.size}; expected the same number, >= 1")
    if not (gamma > 0 and c > 0 and epsilon >= 0):
        raise ValueError(f"gamma = {gamma!r}, c = {c!r}, epsilon = {epsilon!r}; allowed gamma > 0, "
                         "c > 0, epsilon >= 0")
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
    d = x[:, None] - x[None, :]
    k = np.exp(-gamma * d * d)
    # 2n dual variables: beta[:n] = alpha (sign +1), beta[n:] = alpha* (sign -1)
    sign = np.concatenate([np.ones(n), -np.ones(n)])
    cap = np.concatenate([c * w, c * w])
    beta = np.zeros(2 * n)
    idx = np.arange(2 * n) % n
    # Per iteration the kernel rows are used on n values, not on the 2n dual variables (the
    # two halves of a row are equal up to the sign), so the work per step is halved;
    # the arithmetic is the same, hence the same iterates.
    k_diag = np.diag(k).copy()
    positive = sign > 0
    # The solver keeps ``score = -sign * grad`` (grad: the dual's gradient, ``[epsilon - z,
    # epsilon + z]`` at beta = 0; both halves of a gradient step subtract from the score) and the
    # working-set masks, which change only at the two updated variables, up to date instead of
    # recomputing them every step: same values, hence the same iterates.
    score = np.concatenate([z - epsilon, epsilon + z])
    up = np.where(positive, beta < cap, beta > 0)
    low = np.where(positive, beta > 0, beta < cap)
    n_up, n_low = int(up.sum()), int(low.sum())
    for _ in range(max_iter):
        if n_up == 0 or n_low == 0:
            break
        i = int(np.argmax(np.where(up, score, -np.inf)))
        g_max = score[i]
        if g_max - np.min(np.where(low, score, np.inf)) < tol:
            break
        diff = g_max - score  # > 0 for the candidates j that violate with i
        cand = low & (diff > 0)
        row_i = k[idx[i]]
        quad = np.maximum(k_diag[idx[i]] + k_diag - 2.0 * row_i, _TAU)
        quad = np.concatenate((quad, quad))
        obj = np.where(cand, -(diff * diff) / quad, np.inf)
        j = int(np.argmin(obj))
        # two-variable step with clipping to the box, as in LIBSVM's Solver::Solve
        ci, cj = cap[i], cap[j]
        ai, aj = beta[i], beta[j]
        qij = sign[i] * sign[j] * k[idx[i], idx[j]]
        gi, gj = -sign[i] * score[i], -sign[j] * score[j]  # the gradient at i and j
        if sign[i] != sign[j]:
            q = max(k[idx[i], idx[i]] + k[idx[j], idx[j]] + 2.0 * qij, _TAU)
            delta = (-gi - gj) / q
            dd = ai - aj
            ni, nj = ai + delta, aj + delta
            if dd > 0:
                if nj < 0:
                    nj, ni = 0.0, dd
            elif ni < 0:
                ni, nj = 0.0, -dd
            if dd > ci - cj:
                if ni > ci:
                    ni, nj = ci, ci - dd
            elif nj > cj:
                nj, ni = cj, cj + dd
        else:
            q = max(k[idx[i], idx[i]] + k[idx[j], idx[j]] - 2.0 * qij, _TAU)
            delta = (gi - gj) / q
            s = ai + aj
            ni, nj = ai - delta, aj + delta
            if s > ci:
                if ni > ci:
                    ni, nj = ci, s - ci
            elif nj < 0:
                nj, ni = 0.0, s
            if s > cj:
                if nj > cj:
                    nj, ni = cj, s - cj
            elif ni < 0:
                ni, nj = 0.0, s
        beta[i], beta[j] = ni, nj
        for m in (i, j):
            u_m = bool(beta[m] < cap[m]) if positive[m] else bool(beta[m] > 0)
            l_m = bool(beta[m] > 0) if positive[m] else bool(beta[m] < cap[m])
            n_up += int(u_m) - int(up[m])
            n_low += int(l_m) - int(low[m])
            up[m], low[m] = u_m, l_m
        step = (sign[i] * (ni - ai)) * row_i + (sign[j] * (nj - aj)) * k[idx[j]]
        score[:n] -= step
        score[n:] -= step
    # intercept: average of sign*grad (= -score) over free variables, else the middle of the
    # feasible interval
    sg = -score
    free = (beta > 0) & (beta < cap)
    if free.any():
        rho = float(np.mean(sg[free]))
    else:
        at_cap = beta >= cap
        at_zero = beta <= 0
        ub_mask = (at_cap & (sign < 0)) | (at_zero & (sign > 0))
        lb_mask = (at_cap & (sign > 0)) | (at_zero & (sign < 0))
        ub = float(np.min(sg[ub_mask])) if ub_mask.any() else math.inf
        lb = float(np.max(sg[lb_mask])) if lb_mask.any() else -math.inf
        rho = (ub + lb) / 2
    coef = beta[:n] - beta[n:]
    keep = coef != 0
    return SVRFit(x[keep], coef[keep], -rho, float(gamma))
