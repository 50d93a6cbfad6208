"""The Born-charge field term: a uniform electric field acting on a bilayer through Z_i(R).

``FieldTerm`` is an additive :class:`~slidesim.models.base.ForceTerm`: put it in a
:class:`~slidesim.models.model.Model` next to the potential, e.g.::

    dipole = RegistryDipole(species_names)
    field = FieldTerm(dipole, field=(0.0, 0.0, -1.0))        # E [V/A]
    model = Model("bn-ilp+field", potential.terms + [field], species_names)

Its energy is -E.P, so that potential + kinetic energy (with this term in the potential) is
conserved under a static field; when the driver changes ``field`` between steps, the work done
on the system is -P.dE. The dipole source is anything with ``requests`` and
``compute(positions, cell, species, layer, neighbor_lists) -> DipoleResult`` (the registry
dipole model, or a machine-learned model that predicts Z).
"""

import numpy as np

from slidesim.fields.dipole import polarization_pC_per_m
from slidesim.kernels import field as field_kernels
from slidesim.models.base import ForceTerm, TermResult


def as_field(field):
    """A validated (3,) float64 field vector [V/A]."""
    vector = np.array(field, dtype=np.float64).reshape(-1)
    if vector.shape != (3,):
        raise ValueError(f"the electric field must have 3 components (Ex, Ey, Ez) [V/A], got "
                         f"{np.shape(field)}")
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"the electric field must be finite, got {vector}")
    return vector


class FieldTerm(ForceTerm):
    """Energy -E.P [eV], forces F_i,beta = sum_alpha E_alpha Z[i, alpha, beta] [eV/A].

    source: a dipole source (e.g. :class:`~slidesim.fields.dipole.RegistryDipole`); field: E
    (3,) [V/A], settable between calls (``term.field = ...``) for ramps and per-replica fields.
    After each :meth:`compute`, ``last`` holds the source's
    :class:`~slidesim.fields.dipole.DipoleResult` (dipole [e A], Born charges [e]) so that the
    driver can log P without a second evaluation.
    """

    name = "field"

    def __init__(self, source, field=(0.0, 0.0, 0.0)):
        self.source = source
        self.requests = dict(source.requests)
        self._field = as_field(field)
        self.last = None
        self.lasts = []

    @property
    def field(self):
        """E (3,) [V/A]."""
        return self._field

    @field.setter
    def field(self, value):
        self._field = as_field(value)

    def compute(self, positions, cell, species, layer, neighbor_lists):
        return self._apply(self.source.compute(positions, cell, species, layer, neighbor_lists))

    def _apply(self, result):
        """TermResult of the field acting on a source's DipoleResult."""
        self.last = result
        forces = np.empty((len(result.born_charges), 3))
        field_kernels.born_charge_forces(result.born_charges, self._field, forces)
        energy = field_kernels.field_energy(result.dipole, self._field)
        # the dipole is a sum over pairs, so the field energy has a proper pair virial
        virial = field_kernels.field_virial(result.dipole_virial, self._field)
        return TermResult(energy, forces, virial)

    def compute_batch(self, positions_list, cell, species, layer, neighbor_lists_list,
                      fields=None):
        """R replicas, replica r in field ``fields[r]`` (this term's own field when None).

        Leaves ``field`` and ``last`` at the last replica's, and ``lasts`` holds the
        DipoleResult of every replica.
        """
        if fields is None:
            fields = [self._field] * len(positions_list)
        if hasattr(self.source, "compute_batch"):  # e.g. a machine-learned model's charges
            self.lasts = self.source.compute_batch(positions_list, cell, species, layer,
                                                   neighbor_lists_list, fields)
        else:
            self.lasts = [self.source.compute(positions, cell, species, layer, lists)
                          for positions, lists in zip(positions_list, neighbor_lists_list)]
        results = []
        for field, source in zip(fields, self.lasts):
            self.field = field
            results.append(self._apply(source))
        return results

    def polarization_pC_per_m(self, cell):
        """P (3,) [pC/m] of the last computed configuration in a cell (3, 3) [A]."""
        if self.last is None:
            raise RuntimeError("no configuration computed yet; call compute() first")
        return polarization_pC_per_m(self.last.dipole, cell)
