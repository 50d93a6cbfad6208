"""Shielded Coulomb interaction between layers (LAMMPS ``coul/shield``) as a force term.

Fixed charges per species interact across layers only (layer id in the role of LAMMPS's
molecule id), screened at short range by lambda per species pair and tapered to zero at Rcut.
The physics is in :mod:`slidesim.kernels.coulomb`.
"""

import numba
import numpy as np

from slidesim import units
from slidesim.kernels import coulomb as coulomb_kernels
from slidesim.models.base import ForceTerm, NeighborRequest, TermResult

#: charges [e] of the standard h-BN setup
DEFAULT_CHARGES = {"B": 0.42, "N": -0.42}
#: shielding lambda [1/A] of the standard h-BN setup (LAMMPS pair_coeff ... coul/shield lambda)
DEFAULT_SHIELDING = {("B", "B"): 0.70, ("B", "N"): 0.69498201415576216335, ("N", "N"): 0.69}


class ShieldedCoulombTerm(ForceTerm):
    """E = qqr2e q_i q_j Tap(r/Rcut) / (r^3 + 1/lambda_ij^3)^(1/3) for i, j in different layers.

    species_names: element symbol of each species index; charges: {symbol: q [e]};
    shielding: {(symbol, symbol): lambda [1/A]} (either order of the pair may be given);
    cutoff [A]: Rcut; taper: taper the energy (LAMMPS flag 1) or, without it, shift it to zero
    at Rcut. Needs one neighbour list, "inter" (different layers, Rcut); it may hold pairs
    beyond the cutoff.
    """

    name = "coul_shield"

    def __init__(self, species_names, charges=DEFAULT_CHARGES, shielding=DEFAULT_SHIELDING,
                 cutoff=16.0, taper=True):
        self.species_names = tuple(species_names)
        self.cutoff = float(cutoff)
        self.taper = bool(taper)
        missing = [s for s in self.species_names if s not in charges]
        if missing:
            raise ValueError(f"coul/shield: no charge given for species {missing}")
        #: (S,) [e]
        self.charges = np.array([float(charges[s]) for s in self.species_names])
        n_species = len(self.species_names)
        #: (S, S) [1/A]
        self.shielding = np.zeros((n_species, n_species))
        for si, name_i in enumerate(self.species_names):
            for sj, name_j in enumerate(self.species_names):
                if (name_i, name_j) in shielding:
                    value = shielding[(name_i, name_j)]
                elif (name_j, name_i) in shielding:
                    value = shielding[(name_j, name_i)]
                else:
                    raise ValueError(f"coul/shield: no shielding lambda for {name_i}-{name_j}")
                self.shielding[si, sj] = float(value)
        self.requests = {"inter": NeighborRequest(cutoff=self.cutoff, mode="interlayer")}

    def compute(self, positions, cell, species, layer, neighbor_lists):
        inter = neighbor_lists["inter"]
        energy, forces, virial = coulomb_kernels.shielded_coulomb(
            np.ascontiguousarray(positions, dtype=np.float64), np.asarray(species, np.int64),
            inter.offsets, inter.neighbors, inter.shifts, self.charges, 1.0 / self.shielding,
            self.cutoff, self.taper, units.QQR2E, numba.get_num_threads())
        return TermResult(energy, forces, virial)
