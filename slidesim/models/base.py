"""The contract every force term and model of slidesim fulfils.

A *force term* is one additive piece of a potential (Tersoff, ILP, shielded Coulomb, a field
term...). It states which neighbour list it needs and computes, for one configuration,

- ``energy`` float [eV]
- ``forces`` (N, 3) float64 [eV/A]
- ``virial`` (6,) float64 [eV], Voigt order xx yy zz xy xz yz, LAMMPS sign convention
  ``W_ab = sum_i r_i,a F_i,b`` (summed over pairs/triplets as ``r_ij,a F_ij,b``), so that the
  pressure is ``P V = W + kinetic``. (The LAMMPS reference file stores ``-W``.)

A *model* is a list of terms; its result is their sum plus the per-term energies.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class NeighborRequest:
    """A neighbour list a term needs.

    cutoff: pair cutoff [A]; mode: "all", "intralayer" or "interlayer" (layer ids decide).
    Terms asking for identical (cutoff, mode) share one list.
    """

    cutoff: float
    mode: str = "all"


@dataclass
class TermResult:
    """Energy [eV], forces (N, 3) [eV/A] and virial (6,) [eV] of one term on one configuration.

    parts: energy parts [eV] by name when one term computes several (a fused interlayer term
        reports {"ilp": ..., "coulomb": ...}); they sum to ``energy``. Empty: the term's energy
        is one part named after the term.
    extras: results that are not forces, by name: "born_charges" (N, 3, 3) [e],
        Z[i, alpha, beta] = dP_alpha / dr_i,beta; "dipole" (3,) [e A]; "dipole_virial"
        (3, 3, 3) [e A^2]. The field coupling reads them (slidesim.fields.coupling).
    """

    energy: float
    forces: np.ndarray
    virial: np.ndarray
    parts: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)


@dataclass
class ModelResult:
    """Sum over terms, the energy of each term (or part) by name [eV], and the terms' extras
    (see :class:`TermResult`; where two terms give the same extra, the later term's is kept)."""

    energy: float
    forces: np.ndarray
    virial: np.ndarray
    energies: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)


class ForceTerm:
    """Base class of additive force terms.

    Subclasses set ``name`` and ``requests`` (a dict mapping a local key to a
    :class:`NeighborRequest`) and implement :meth:`compute`.
    """

    name = "term"
    requests: dict = {}
    #: False for terms that only carry extras (a dipole source): no e_<name> energy column
    reports_energy = True
    #: names of the energy parts of a term that reports several (``TermResult.parts``, e.g. a
    #: fused interlayer term: ("ilp", "coul_shield")); empty: one part named after the term
    part_names = ()

    def compute(self, positions, cell, species, layer, neighbor_lists):
        """Energy, forces and virial of this term.

        positions (N, 3) float64 [A], possibly unwrapped; cell (3, 3) float64 [A], rows a, b, c
        (periodic along a and b, open along c); species (N,) int64, index into the model's
        species names; layer (N,) int64 (0 bottom, 1 top); neighbor_lists: dict mapping each key
        of ``requests`` to an object with ``offsets``, ``neighbors`` and ``shifts`` arrays
        (full CSR list, see :mod:`slidesim.neighbors_reference`).
        Returns a :class:`TermResult`.
        """
        raise NotImplementedError

    def compute_batch(self, positions_list, cell, species, layer, neighbor_lists_list,
                      fields=None):
        """:meth:`compute` for R replicas: a list of R results.

        positions_list: R arrays (N, 3) [A]; neighbor_lists_list: R dicts as for :meth:`compute`;
        fields: (R, 3) [V/A], the electric field of each replica, or None. Classical terms
        ignore the field and loop; terms that can evaluate all replicas in one call (a
        machine-learned model) or that depend on the field override this.
        """
        return [self.compute(positions, cell, species, layer, lists)
                for positions, lists in zip(positions_list, neighbor_lists_list)]


def voigt(virial_3x3):
    """(3, 3) tensor -> (6,) Voigt vector xx yy zz xy xz yz."""
    w = np.asarray(virial_3x3)
    return np.array([w[0, 0], w[1, 1], w[2, 2], w[0, 1], w[0, 2], w[1, 2]])
