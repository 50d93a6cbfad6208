"""Rigid flat bilayers of a model object: energies, relaxed distances, lattice, polarization.

The same construction as :class:`slidesim.profile.StackingEnergy` (a 1 x 1 cell is exact for a
perfect lattice: every periodic image within the cutoffs counts), but on a model *object*, so
that validation and fitting can evaluate models built from any parameter file.
"""

import numpy as np
from scipy.optimize import minimize_scalar

from slidesim.neighbors import built_neighbor_lists
from slidesim.structures import bilayer, primitive_cell
from slidesim.units import dipole_per_area_to_pC_per_m

#: interlayer distances [A] searched when the distance is relaxed
DISTANCE_BRACKET = (2.6, 4.4)


class RigidBilayer:
    """Energy per primitive cell [eV] of rigid flat bilayers of ``model`` (a Model object).

    material: key of slidesim.structures.MONOLAYERS; lattice: a [A]; dipole: a dipole source
    (``requests``, ``compute``, e.g. RegistryDipole) or None.
    """

    def __init__(self, model, lattice, material="BN", dipole=None):
        self.model, self.material, self.dipole = model, material, dipole
        self.lattice = float(lattice)

    def state(self, fraction, distance, lattice=None):
        """The 1 x 1 bilayer State at sliding fraction s of (b - a) and distance d [A]."""
        return bilayer(self.material, (1, 1), float(fraction),
                       self.lattice if lattice is None else lattice, float(distance))

    def energy(self, fraction, distance, lattice=None):
        """Energy per primitive cell [eV] at sliding fraction s and distance d [A]."""
        state = self.state(fraction, distance, lattice)
        result = self.model.compute(state.positions[0], state.cell, state.species, state.layer,
                                    self.model.neighbor_lists(skin=0.0))
        return result.energy

    def relax(self, fraction, lattice=None, tolerance=1e-6):
        """(d [A], energy per cell [eV]) with the distance optimised at sliding fraction s."""
        found = minimize_scalar(lambda d: self.energy(fraction, d, lattice),
                                bounds=DISTANCE_BRACKET, method="bounded",
                                options={"xatol": tolerance})
        return float(found.x), float(found.fun)

    def equilibrium_lattice(self, fraction=2.0 / 3.0, bracket=(2.40, 2.62)):
        """Lattice constant a [A] minimising the energy of the stacking (AB by default), with
        the distance relaxed at each a (the zero in-plane stress lattice of the flat bilayer)."""
        found = minimize_scalar(lambda a: self.relax(fraction, a, 1e-5)[1], bounds=bracket,
                                method="bounded", options={"xatol": 1e-6})
        return float(found.x)

    def polarization(self, fraction, distance):
        """P (3,) [pC/m] of the rigid bilayer, NaN without a dipole source."""
        if self.dipole is None:
            return np.full(3, np.nan)
        return self.dipole_result(fraction, distance)[0]

    def dipole_result(self, fraction, distance):
        """(P (3,) [pC/m], Born charges (4, 3, 3) [e]) of the rigid 1 x 1 bilayer."""
        state = self.state(fraction, distance)
        x = state.positions[0]
        lists = built_neighbor_lists(self.dipole.requests, x, state.cell, state.layer)
        result = self.dipole.compute(x, state.cell, state.species, state.layer, lists)
        area = abs(np.linalg.det(state.cell[:2, :2]))
        return dipole_per_area_to_pC_per_m(result.dipole, area), result.born_charges

    def sliding_direction(self):
        """Unit vector (3,) along b - a."""
        prim = primitive_cell(self.lattice)
        return (prim[1] - prim[0]) / np.linalg.norm(prim[1] - prim[0])

    def t_ba(self):
        """Sliding coordinate of BA measured from SP [A]: -|b - a| / 6 (negative)."""
        return -np.sqrt(3.0) * self.lattice / 6.0
