"""Iso-strength doses: how much must each site change to explain a given strength gain?

Comparing sites at "+30 % of a parameter" is not a physiological dose: +30 % intrinsic
excitability raises MVC by ~15 % while +30 % Ia monosynaptic weight barely moves it. The question a
physiologist asks is "if this site alone explained a 15 % strength gain, what else would change?".
:func:`find_dose` answers its first half for one site: the relative change of the site's
parameters (:func:`simulator.sites.apply_adaptation`) that raises the subject's MVC by the target
percentage, found by a bracketed root search (regula falsi) on the MVC of the subject's calibration (the force at maximal
command after the slow monoaminergic component has built up; :func:`simulator.calibration.calibrate`,
cached on disk by the subject's force-producing parameters). A site that cannot reach the target
within the supported changes is reported with the largest gain it can give.

The search assumes that MVC changes monotonically with the dose of one site on each side of 0,
which holds for every site of :data:`simulator.sites.SITES` in the default subject; the bracket
is checked first, so a non-monotonic site gives an unreachable (never a wrong) answer.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping

from simulator.calibration import calibrate
from simulator.config import ConfigError
from simulator.simulation import SimulationConfig
from simulator.sites import MAX_CHANGE, MIN_CHANGE, SITES, apply_adaptation

__all__ = ["IsoDose", "mvc_change_pct", "find_dose", "fit_scale", "TOLERANCE_PCT", "MAX_SCALE"]

#: Default tolerance of the search on the MVC change (percentage points).
TOLERANCE_PCT = 0.5


@dataclasses.dataclass(frozen=True)
class IsoDose:
    """The dose of one site that gives a target MVC change.

    Attributes
    ----------
    site
        Site name (:data:`simulator.sites.SITES`), or sites joined by ``+`` (:func:`fit_scale`).
    target_pct
        Requested MVC change [%].
    dose
        Relative change of the site's parameters, or the common scale of :func:`fit_scale` (NaN
        when unreachable).
    achieved_pct
        MVC change at ``dose`` [%] (the largest reachable change when unreachable).
    reachable
        Whether ``target_pct`` lies within the changes the site can give.
    evaluations
        Number of MVC calibrations run (cached ones included).
    """

    site: str
    target_pct: float
    dose: float
    achieved_pct: float
    reachable: bool
    evaluations: int

    def describe(self) -> str:
        """One line for reports, e.g. ``'ia_monosynaptic: max +2.1 % MVC (target +10 %)'``."""
        if self.reachable:
            return (f"{self.site}: dose {self.dose:+.3f} gives MVC {self.achieved_pct:+.1f} % "
                    f"(target {self.target_pct:+g} %)")
        return f"{self.site}: max {self.achieved_pct:+.1f} % MVC (target {self.target_pct:+g} %): unreachable"


def mvc_change_pct(base: SimulationConfig, site: str, dose: float, *, reference_mvc_n: float | None = None) -> float:
    """MVC change [%] of ``base`` when ``site`` changes by the relative ``dose``.

    Parameters
    ----------
    base
        Reference subject.
    site
        Site name.
    dose
        Relative change of the site's parameters, in [``MIN_CHANGE``, ``MAX_CHANGE``].
    reference_mvc_n
        MVC of ``base`` [N] if already known (else calibrated).
    """
    ref = calibrate(base).mvc_n if reference_mvc_n is None else reference_mvc_n
    return 100.0 * (calibrate(apply_adaptation(base, {site: float(dose)})).mvc_n / ref - 1.0)


def find_dose(base: SimulationConfig, site: str, target_pct: float, *, tolerance_pct: float = TOLERANCE_PCT,
              max_evaluations: int = 16, mvc_change: Callable[[float], float] | None = None) -> IsoDose:
    """Find the dose of ``site`` that changes ``base``'s MVC by ``target_pct``.

    Parameters
    ----------
    base, site
        Reference subject and site name, as for :func:`mvc_change_pct`.
    target_pct
        MVC change to reach [%], non-zero (negative for detraining or an antagonist).
    tolerance_pct
        Stop when the MVC change is within this many percentage points of the target.
    max_evaluations
        Most MVC calibrations to run; the closest dose found is returned if the tolerance is not met.
    mvc_change
        ``dose -> MVC change [%]`` (default :func:`mvc_change_pct` of ``base`` and ``site``;
        tests pass a cheap function).

    Returns
    -------
    IsoDose

    Notes
    -----
    Both ends of the supported range are evaluated first. The side whose end moves MVC towards
    the target is searched by regula falsi (Illinois variant) (the dose of a site whose increase weakens, e.g. more intracortical
    inhibition, is negative for a strength gain); if neither end reaches the target the site is
    unreachable and ``achieved_pct`` is the end's change closest to it.
    """
    if site not in SITES:
        raise ConfigError(f"unknown site {site!r}; known sites: {', '.join(SITES)}")
    if not target_pct or math.isnan(target_pct):
        raise ConfigError(f"iso-strength target = {target_pct!r} %: must be a non-zero MVC change")
    if tolerance_pct <= 0:
        raise ConfigError(f"tolerance_pct = {tolerance_pct!r}: must be > 0")
    if mvc_change is None:
        ref = calibrate(base).mvc_n
        mvc_change = lambda d: mvc_change_pct(base, site, d, reference_mvc_n=ref)  # noqa: E731
    calls = 0

    def change(dose: float) -> float:
        nonlocal calls
        calls += 1
        return float(mvc_change(dose))

    ends = {d: change(d) for d in (_supported_end(base, site, MAX_CHANGE), _supported_end(base, site, MIN_CHANGE))}
    # the end that moves MVC furthest in the target's direction
    end = max(ends, key=lambda d: math.copysign(1.0, target_pct) * ends[d])
    if math.copysign(1.0, target_pct) * ends[end] < abs(target_pct):
        return IsoDose(site, float(target_pct), float("nan"), ends[end], False, calls)
    x, got = _regula_falsi(change, target_pct, end, ends[end], tolerance_pct, lambda: calls < max_evaluations)
    return IsoDose(site, float(target_pct), x, got, True, calls)


def _regula_falsi(change: Callable[[float], float], target_pct: float, end: float, at_end: float,
                  tolerance_pct: float, more: Callable[[], bool]) -> tuple[float, float]:
    """Dose in [0, ``end``] whose MVC change is within ``tolerance_pct`` of the target (the closest
    one found if ``more()`` turns false first); MVC changes by ``at_end`` at ``end``.

    Regula falsi with the Illinois modification (Dowell & Jarratt 1971, BIT 11:168): the bracket
    [no change, end] always holds the target, and MVC is smooth in the dose, so this needs ~3-5
    calibrations where bisection needs ~8.
    """
    a, fa = 0.0, -target_pct
    b, fb = end, at_end - target_pct
    best, side = (end, at_end), 0
    while more():
        x = b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
        got = change(x)
        if abs(got - target_pct) < abs(best[1] - target_pct):
            best = (x, got)
        if abs(got - target_pct) <= tolerance_pct:
            break
        fx = got - target_pct
        if fx * fb < 0:
            a, fa = b, fb
            side = 0
        elif side == 1:  # the same end was kept twice: halve its value (Illinois)
            fa /= 2
        else:
            side = 1
        b, fb = x, fx
    return float(best[0]), float(best[1])


#: Largest common scale :func:`fit_scale` tries for a scenario's adaptation.
MAX_SCALE = 4.0


def fit_scale(base: SimulationConfig, direction: Mapping[str, float], target_pct: float, *,
              tolerance_pct: float = TOLERANCE_PCT, max_evaluations: int = 16,
              mvc_change: Callable[[float], float] | None = None) -> IsoDose:
    """Common scale ``k`` of a multi-site adaptation ``{site: k * change}`` that changes ``base``'s
    MVC by ``target_pct`` — one fitted number for a published design whose sites and their
    proportions are stated beforehand (:mod:`scenarios.designs`).

    Parameters
    ----------
    base
        Reference subject.
    direction
        ``{site: relative change}`` at scale 1 (the proportions between sites).
    target_pct
        MVC change to reach [%], non-zero.
    tolerance_pct, max_evaluations, mvc_change
        As for :func:`find_dose` (``mvc_change`` maps the scale to the MVC change).

    Returns
    -------
    IsoDose
        ``site`` is the sites joined by ``+``, ``dose`` the scale ``k`` (NaN if no scale in
        (0, :data:`MAX_SCALE`] within the supported changes reaches the target).
    """
    if not direction or any(s not in SITES for s in direction):
        raise ConfigError(f"fit_scale: direction {dict(direction)!r} must map known sites to changes; "
                          f"known sites: {', '.join(SITES)}")
    if not target_pct or math.isnan(target_pct):
        raise ConfigError(f"fit target = {target_pct!r} %: must be a non-zero MVC change")
    if mvc_change is None:
        ref = calibrate(base).mvc_n

        def mvc_change(k: float) -> float:
            scaled = {s: float(k * v) for s, v in direction.items()}
            return 100.0 * (calibrate(apply_adaptation(base, scaled)).mvc_n / ref - 1.0)
    calls = 0

    def change(k: float) -> float:
        nonlocal calls
        calls += 1
        return float(mvc_change(k))

    end = _supported_end(base, direction, MAX_SCALE)
    label = "+".join(direction)
    at_end = change(end)
    if math.copysign(1.0, target_pct) * at_end < abs(target_pct):
        return IsoDose(label, float(target_pct), float("nan"), at_end, False, calls)
    k, got = _regula_falsi(change, target_pct, end, at_end, tolerance_pct, lambda: calls < max_evaluations)
    return IsoDose(label, float(target_pct), k, got, True, calls)


def _supported_end(base: SimulationConfig, site: str | Mapping[str, float], end: float) -> float:
    """The largest change towards ``end`` that the model supports (a parameter such as
    ``motoneuron.leak_scale`` leaves its allowed range before the site's change reaches
    ``MIN_CHANGE``): shrink by 10 % steps until :func:`apply_adaptation` accepts it. ``site`` may
    be a direction ``{site: change}``; ``end`` is then the scale applied to it."""
    direction = {site: 1.0} if isinstance(site, str) else dict(site)
    for _ in range(40):
        try:
            apply_adaptation(base, {s: end * v for s, v in direction.items()})
            return end
        except ConfigError:
            end *= 0.9
    raise ConfigError(f"site {site!r}: no supported change towards {end:+g}")
