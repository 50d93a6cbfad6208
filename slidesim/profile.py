"""Sliding energy profiles of rigid, flat bilayers: the stacking energy landscape of a model.

For each sliding vector t the top layer is shifted rigidly over the bottom one, the interlayer
distance d is optimised (layers kept flat), and the energy per primitive cell is reported
relative to the lowest point. This is the standard check of an interlayer model against DFT
(AB = BA, the saddle point SP and AA above them). The scanner is
:class:`slidesim.rigid.RigidBilayer`, at the model's own lattice constant (its catalog entry)
unless one is given.
"""

from dataclasses import dataclass

import numpy as np

from slidesim.geometry import stacking_fraction
from slidesim.rigid import RigidBilayer
from slidesim.structures import monolayer

#: interlayer distances [A] searched by the profile
PROFILE_BRACKET = (2.8, 4.2)


@dataclass
class ProfilePoint:
    """One stacking: name, fraction s of (b - a) from AA, optimal distance d [A],
    energy per primitive cell [eV] (absolute) and relative to the profile's minimum [meV]."""

    name: str
    fraction: float
    distance: float
    energy: float
    relative_meV: float = 0.0


def StackingEnergy(material="BN", model="bn-ilp", lattice=None, supercell=(1, 1),
                   model_options=None):
    """The scanner of the profile: a :class:`~slidesim.rigid.RigidBilayer` of the catalog model
    ``model`` (energy per primitive cell [eV] as ``scanner(s, d)``, ``relax(s)`` -> (d [A],
    energy [eV])), without a dipole source.

    material, model: names (see slidesim.models); lattice [A] (None: the model's own);
    supercell: repetitions used for the evaluation (1 x 1 is exact for a perfect lattice: every
    periodic image counts); model_options: the model's options (e.g. ``{"path": FILE}`` for a
    torchscript model).
    """
    return RigidBilayer.of_model(model, material, lattice, dipole=None,
                                 model_options=model_options, supercell=supercell,
                                 bracket=PROFILE_BRACKET)


def sliding_profile(material="BN", model="bn-ilp", lattice=None, stackings=None,
                    path_points=0, model_options=None):
    """Optimised energies of named stackings, plus ``path_points`` evenly spaced fractions from
    AA (s = 0) to AA (s = 1) along (b - a), at lattice constant ``lattice`` [A] (None: the
    model's own, from the catalog). Returns a list of :class:`ProfilePoint`."""
    scanner = StackingEnergy(material, model, lattice, model_options=model_options)
    if stackings is None:  # the material's own names (BA/AB for h-BN, XM/MX for TMDs)
        stackings = monolayer(material).stackings
    points = [(name, stacking_fraction(name)) for name in stackings]
    points += [(f"s={s:.4f}", s) for s in np.linspace(0.0, 1.0, path_points)] if path_points else []
    out = []
    for name, fraction in points:
        d, e = scanner.relax(fraction)
        out.append(ProfilePoint(name, fraction, d, e))
    e_min = min(p.energy for p in out)
    for p in out:
        p.relative_meV = (p.energy - e_min) * 1e3
    return out


def plot_profile(points, path):
    """Save E(s) and d(s) along the sliding path to an image file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path_points = sorted((p for p in points if p.name.startswith("s=")), key=lambda p: p.fraction)
    named = [p for p in points if not p.name.startswith("s=")]
    fig, (ax_e, ax_d) = plt.subplots(2, 1, sharex=True, figsize=(5, 5))
    if path_points:
        s = [p.fraction for p in path_points]
        ax_e.plot(s, [p.relative_meV for p in path_points], "-", color="C0")
        ax_d.plot(s, [p.distance for p in path_points], "-", color="C1")
    for p in named:
        ax_e.plot(p.fraction, p.relative_meV, "o", color="C0")
        ax_e.annotate(p.name, (p.fraction, p.relative_meV), textcoords="offset points",
                      xytext=(4, 4))
        ax_d.plot(p.fraction, p.distance, "o", color="C1")
    ax_e.set_ylabel("energy per cell [meV]")
    ax_d.set_ylabel("interlayer distance [A]")
    ax_d.set_xlabel("sliding vector t / |b - a|  (AA -> BA -> SP -> AB -> AA)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
