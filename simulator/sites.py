"""The candidate sites of neural adaptation to strength training, one documented knob each.

Each :class:`Site` names a locus of the neuraxis (seed figure 1, letters A–K) or the peripheral
control (L, muscle hypertrophy), the configuration parameter(s) it scales and a reference. An
*adaptation* is a mapping ``site name -> relative change`` (``+0.2`` = 20 % more of what the
site does); :func:`apply_adaptation` returns a new, validated configuration, so scenarios never
reach into model internals. Parameters listed with exponent −1 are divided rather than
multiplied (e.g. more intrinsic excitability = smaller AHP and leak).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .config import ConfigError
from .simulation import SimulationConfig

__all__ = ["Site", "SITES", "apply_adaptation", "site_table", "MIN_CHANGE", "MAX_CHANGE"]

#: Allowed relative changes: a site can at most lose 90 % or triple its effect.
MIN_CHANGE, MAX_CHANGE = -0.9, 2.0


@dataclasses.dataclass(frozen=True)
class Site:
    """One candidate site of adaptation.

    Attributes
    ----------
    letter
        Label in the seed's figure 1 (A–K neural, L peripheral control).
    name
        Identifier used in adaptations and outputs.
    parameters
        ``((section.field, exponent), ...)``: each parameter is multiplied by
        ``(1 + change) ** exponent``.
    description
        One line of physiology.
    reference
        Where the site's role in early strength gains is argued.
    """

    letter: str
    name: str
    parameters: tuple[tuple[str, float], ...]
    description: str
    reference: str


SITES: dict[str, Site] = {s.name: s for s in (
    Site("A", "intracortical_inhibition", (("corticospinal.intracortical_inhibition", 1.0),),
         "GABA-A intracortical inhibition gating corticospinal output (SICI)",
         "Weier et al. 2012 Acta Physiol; Kujirai et al. 1993 J Physiol 471:501"),
    Site("B", "corticomotoneuronal", (("corticospinal.cm_weight", 1.0),),
         "corticomotoneuronal synapses onto the pool",
         "Lemon 2008 Annu Rev Neurosci 31:195; Nuzzo et al. 2017 MSSE 49:2286"),
    Site("C", "corticospinal_interneuron", (("corticospinal.interneuron_weight", 1.0),),
         "corticospinal projections to spinal premotor interneurons",
         "Jankowska 1992 Prog Neurobiol 38:335"),
    Site("D", "corticoreticular", (("reticulospinal.corticoreticular_weight", 1.0),),
         "cortical drive to the pontomedullary reticular formation",
         "Baker 2011 J Physiol 589:5603"),
    Site("E", "reticular_reciprocal", (("reticulospinal.reciprocal_weight", 1.0),),
         "reciprocal (bilateral, commissural) reticular connections amplifying RST output",
         "Glover & Baker 2020 J Neurosci 40:5820"),
    Site("F", "reticulospinal_interneuron", (("reticulospinal.interneuron_weight", 1.0),),
         "reticulospinal projections to spinal interneurons",
         "Glover & Baker 2020 J Neurosci 40:5820"),
    Site("G", "reticulospinal_motoneuron", (("reticulospinal.motoneuron_weight", 1.0),),
         "reticulospinal synapses onto motoneurons, biased to high-threshold units",
         "Glover & Baker 2020; Ziemann et al. 1999"),
    Site("H", "monoaminergic", (("neuromodulation.level", 1.0),),
         "serotonergic/noradrenergic drive facilitating motoneuron PICs",
         "Heckman et al. 2008 Brain Res Rev 57:146; Orssatto et al. 2023 J Neurophysiol 129:635"),
    Site("I", "intrinsic_motoneuron", (("motoneuron.ahp_scale", -1.0), ("motoneuron.leak_scale", -1.0)),
         "intrinsic motoneuron excitability: shorter/smaller AHP, higher input resistance",
         "Christie & Kamen 2010 Muscle Nerve; Gardiner et al. 2006"),
    Site("J", "ia_monosynaptic", (("afferent.monosynaptic_weight", 1.0),),
         "monosynaptic Ia excitation of motoneurons (H-reflex, V-wave)",
         "Aagaard et al. 2002 J Appl Physiol 92:2309"),
    Site("K", "ia_interneuron", (("afferent.oligosynaptic_weight", 1.0),),
         "Ia excitation relayed by spinal interneurons (oligosynaptic)",
         "Jankowska 1992 Prog Neurobiol 38:335"),
    Site("L", "muscle_hypertrophy", (("muscle.twitch_scale", 1.0),),
         "peripheral control: larger twitch forces, no neural change",
         "Casolo et al. 2020 MSSE 52:955"),
)}


def apply_adaptation(cfg: SimulationConfig, adaptation: Mapping[str, float]) -> SimulationConfig:
    """Return ``cfg`` with every site's parameters scaled by its relative change.

    Parameters
    ----------
    cfg
        Subject configuration before adaptation.
    adaptation
        ``{site name: relative change}``, each change in [``MIN_CHANGE``, ``MAX_CHANGE``].

    Returns
    -------
    SimulationConfig
        A validated copy (a change that pushes a parameter outside its allowed range raises
        :class:`ConfigError` naming the site and the parameter).
    """
    changes: dict[str, float] = {}
    for name, change in adaptation.items():
        if name not in SITES:
            raise ConfigError(f"unknown site {name!r}; known sites: {', '.join(SITES)}")
        if isinstance(change, bool) or not isinstance(change, (int, float)) or not (
                MIN_CHANGE <= change <= MAX_CHANGE):
            raise ConfigError(f"adaptation of site {name!r} = {change!r} is outside the supported "
                              f"relative change [{MIN_CHANGE:g}, {MAX_CHANGE:g}]")
        for path, exponent in SITES[name].parameters:
            changes[path] = changes.get(path, cfg.get_path(path)) * (1.0 + change) ** exponent
    # each section is rebuilt on its own so that an error names the sites that touched it
    by_section: dict[str, dict[str, float]] = {}
    for path, value in changes.items():
        section, _, field = path.partition(".")
        by_section.setdefault(section, {})[field] = value
    sections = {}
    for section, fields in by_section.items():
        try:
            sections[section] = cfg.get_path(section).replace_paths(fields)
        except ConfigError as exc:
            sites = [n for n in adaptation if any(p.startswith(section + ".") for p, _ in SITES[n].parameters)]
            raise ConfigError(f"adaptation {dict(adaptation)} of site(s) {sites} is not supported "
                              f"by the model: {exc}") from exc
    return cfg.replace(**sections)


def site_table() -> list[dict[str, str]]:
    """Rows (letter, name, parameters, description, reference) for docs and the CLI."""
    return [{"letter": s.letter, "name": s.name,
             "parameters": ", ".join(p if e > 0 else f"1/{p}" for p, e in s.parameters),
             "description": s.description, "reference": s.reference} for s in SITES.values()]
