"""Rigid flat bilayers of a model: energies, relaxed interlayer distances, lattice, polarization.

The one scanner behind ``slidesim profile`` (:mod:`slidesim.profile`), ``slidesim landscape``
(:mod:`slidesim.landscape`) and ``slidesim validate`` / ``fit``
(:mod:`slidesim.validation`): the top layer is shifted rigidly over the bottom one by a sliding
vector t, the layers are kept flat at distance d, and the energy per primitive cell and the
polarization of a dipole source are evaluated; d is relaxed by scipy's bounded
``minimize_scalar``. A 1 x 1 cell is exact for a perfect lattice (every periodic image within
the cutoffs counts). :meth:`RigidBilayer.of_model` takes the lattice constant and the dipole
parameters a model implies from the catalog (:mod:`slidesim.catalog`).
"""

import numpy as np
from scipy.optimize import minimize_scalar

from slidesim.geometry import in_plane_area, sliding_direction, sliding_vector
from slidesim.models import build_model, model_entry
from slidesim.neighbors import built_neighbor_lists
from slidesim.structures import bilayer, monolayer
from slidesim.units import dipole_per_area_to_pC_per_m

#: interlayer distances [A] searched when the distance is relaxed (for h-BN; other materials
#: scale brackets by their interlayer distance over h-BN's, see :func:`material_bracket`)
DISTANCE_BRACKET = (2.6, 4.4)
#: lattice constants [A] searched for the zero-stress lattice (h-BN; scaled for other materials)
LATTICE_BRACKET = (2.40, 2.62)


def material_bracket(bracket, material):
    """A distance bracket [A] given for h-BN, scaled to ``material`` by the ratio of the
    materials' default interlayer distances (unchanged for BN)."""
    if material == "BN":
        return tuple(float(d) for d in bracket)
    scale = monolayer(material).interlayer / monolayer("BN").interlayer
    return tuple(float(d) * scale for d in bracket)


def default_dipole(model_name, species_names, parameters=None):
    """The dipole source of a model: RegistryDipole with ``parameters`` (dict or JSON path),
    else the parameters of the model's catalog entry (bn-dft: its own fit; others: the shipped
    h-BN fit); None for species the parameters do not cover."""
    from slidesim.fields.dipole import RegistryDipole

    if parameters is None:
        parameters = model_entry(model_name).dipole
    try:
        return RegistryDipole(species_names, parameters)
    except ValueError:
        return None


class RigidBilayer:
    """Energy per primitive cell [eV] and polarization [pC/m] of rigid flat bilayers of a model.

    model: a Model object (``compute``, ``neighbor_lists``); lattice: a [A] (None: the
    material's default); material: key of slidesim.structures.MONOLAYERS; dipole: a dipole
    source (``requests``, ``compute``, e.g. RegistryDipole) or None; supercell: (n1, n2)
    repetitions evaluated (energies are per primitive cell); bracket: (d_min, d_max) [A] searched
    by :meth:`relax`, given for h-BN and scaled to the material (:func:`material_bracket`).

    A sliding argument is a stacking name (AA, BA, SP, AB), a fraction s of (b - a) (t =
    s (b - a) at the lattice constant used) or an in-plane vector (2 or 3 components) [A].
    """

    def __init__(self, model, lattice=None, material="BN", dipole=None, supercell=(1, 1),
                 bracket=DISTANCE_BRACKET):
        mono = monolayer(material)
        self.model, self.material, self.dipole = model, material, dipole
        self.lattice = mono.lattice if lattice is None else float(lattice)
        self.supercell = tuple(int(n) for n in supercell)
        self.n_cells = self.supercell[0] * self.supercell[1]
        self.bracket = material_bracket(bracket, material)

    @classmethod
    def of_model(cls, name, material="BN", lattice=None, dipole="default", model_options=None,
                 supercell=(1, 1), bracket=DISTANCE_BRACKET):
        """The scanner of the catalog model called ``name`` (slidesim.catalog).

        lattice: a [A], or None for the model's own (its catalog entry), else the material's;
        dipole: a dipole source, None, or "default" (:func:`default_dipole`: the model's
        registry-dipole parameters); model_options: options of build_model (e.g.
        ``{"path": FILE}`` for a torchscript model).
        """
        entry = model_entry(name)
        mono = monolayer(material)
        entry.check_species(mono.species)
        if lattice is None:
            lattice = entry.lattice if entry.lattice is not None else mono.lattice
        probe = bilayer(material, supercell, "AA", lattice)
        model = build_model(name, mono.species, probe, **(model_options or {}))
        if isinstance(dipole, str) and dipole == "default":
            dipole = default_dipole(name, mono.species)
        return cls(model, lattice, material, dipole, supercell, bracket)

    def state(self, sliding, distance, lattice=None):
        """The bilayer State at a sliding vector (see the class) and distance d [A]."""
        a = self.lattice if lattice is None else float(lattice)
        return bilayer(self.material, self.supercell, lattice=a, interlayer=float(distance),
                       sliding=sliding_vector(sliding, a))

    def energy(self, sliding, distance, lattice=None):
        """Energy per primitive cell [eV] at a sliding vector and distance d [A]."""
        state = self.state(sliding, distance, lattice)
        result = self.model.compute(state.positions[0], state.cell, state.species, state.layer,
                                    self.model.neighbor_lists(skin=0.0))
        return result.energy / self.n_cells

    __call__ = energy

    def relax(self, sliding, lattice=None, tolerance=1e-6, bracket=None):
        """(d [A], energy per cell [eV]) with the distance optimised at a sliding vector, to
        ``tolerance`` [A] within ``bracket`` [A] (default: the scanner's)."""
        found = minimize_scalar(lambda d: self.energy(sliding, d, lattice),
                                bounds=self.bracket if bracket is None else bracket,
                                method="bounded", options={"xatol": tolerance})
        return float(found.x), float(found.fun)

    def equilibrium_lattice(self, fraction=2.0 / 3.0, bracket=None):
        """Lattice constant a [A] minimising the energy of the stacking (AB by default), with
        the distance relaxed at each a (the zero in-plane stress lattice of the flat bilayer).
        bracket: (a_min, a_max) [A] searched; default h-BN's (2.40, 2.62) scaled by the
        material's default lattice over h-BN's (unchanged for BN)."""
        if bracket is None:
            scale = monolayer(self.material).lattice / monolayer("BN").lattice
            bracket = tuple(a * scale for a in LATTICE_BRACKET)
        found = minimize_scalar(lambda a: self.relax(fraction, a, 1e-5)[1], bounds=bracket,
                                method="bounded", options={"xatol": 1e-6})
        return float(found.x)

    def polarization(self, sliding, distance):
        """P (3,) [pC/m] of the rigid bilayer, NaN without a dipole source."""
        if self.dipole is None:
            return np.full(3, np.nan)
        return self.dipole_result(sliding, distance)[0]

    def dipole_result(self, sliding, distance):
        """(P (3,) [pC/m], Born charges (N, 3, 3) [e]) of the rigid bilayer."""
        return self.dipole_of(self.state(sliding, distance))

    def dipole_of(self, state):
        """(P (3,) [pC/m], Born charges (N, 3, 3) [e]) of replica 0 of any State."""
        x = state.positions[0]
        lists = built_neighbor_lists(self.dipole.requests, x, state.cell, state.layer)
        result = self.dipole.compute(x, state.cell, state.species, state.layer, lists)
        return (dipole_per_area_to_pC_per_m(result.dipole, in_plane_area(state.cell)),
                result.born_charges)

    def sliding_direction(self):
        """Unit vector (3,) along b - a."""
        return sliding_direction(self.lattice)

    def t_ba(self):
        """Sliding coordinate of BA measured from SP [A]: -|b - a| / 6 (negative)."""
        return -np.sqrt(3.0) * self.lattice / 6.0
