"""The Born-charge field term: a uniform electric field acting on a bilayer through Z_i(R).

``FieldTerm`` is an additive :class:`~slidesim.models.base.ForceTerm`: put it in a
:class:`~slidesim.models.model.Model` next to the potential, e.g.::

    dipole = RegistryDipole(species_names)
    field = FieldTerm(dipole, field=(0.0, 0.0, -1.0))        # E [V/A]
    model = Model("bn-ilp+field", potential.terms + [field], species_names)

Its energy is -E.P, so that potential + kinetic energy (with this term in the potential) is
conserved under a static field. A run does not use this term: it couples its (possibly
changing) field after the model (:mod:`slidesim.fields.coupling`). The dipole source is anything with ``requests`` and
``compute(positions, cell, species, layer, neighbor_lists) -> DipoleResult`` (the registry
dipole model, or a machine-learned model that predicts Z).
"""

import numpy as np

from slidesim.fields.coupling import dipole_extras, field_on
from slidesim.models.base import ForceTerm, ModelResult, TermResult


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
    """A static field as an additive term: energy -E.P [eV], forces
    F_i,beta = sum_alpha E_alpha Z[i, alpha, beta] [eV/A], and the virial of -E.P.

    source: a dipole source (e.g. :class:`~slidesim.fields.dipole.RegistryDipole`); field: E
    (3,) [V/A]. For composing a model by hand (tests, the ASE calculator); a run couples its
    field after the model instead (:mod:`slidesim.fields.coupling`), where the field may change
    and the field's work is counted. The result's extras hold the source's Born charges and
    dipole, so P needs no second evaluation.
    """

    name = "field"

    def __init__(self, source, field=(0.0, 0.0, 0.0)):
        self.source = source
        self.requests = dict(source.requests)
        self._field = as_field(field)

    @property
    def field(self):
        """E (3,) [V/A]."""
        return self._field

    @field.setter
    def field(self, value):
        self._field = as_field(value)

    def compute(self, positions, cell, species, layer, neighbor_lists):
        return self._apply(self.source.compute(positions, cell, species, layer, neighbor_lists),
                           self._field)

    @staticmethod
    def _apply(source_result, field):
        """TermResult of ``field`` acting on a source's DipoleResult."""
        result = ModelResult(0.0, np.zeros((len(source_result.born_charges), 3)), np.zeros(6),
                             {}, dipole_extras(source_result))
        field_on(result, field, source_result.dipole)
        return TermResult(result.energy, result.forces, result.virial, extras=result.extras)

    def compute_batch(self, positions_list, cell, species, layer, neighbor_lists_list,
                      fields=None):
        """R replicas, replica r in field ``fields[r]`` (this term's own field when None)."""
        if fields is None:
            fields = [self._field] * len(positions_list)
        if hasattr(self.source, "compute_batch"):  # e.g. a machine-learned model's charges
            sources = self.source.compute_batch(positions_list, cell, species, layer,
                                                neighbor_lists_list, fields)
        else:
            sources = [self.source.compute(positions, cell, species, layer, lists)
                       for positions, lists in zip(positions_list, neighbor_lists_list)]
        return [self._apply(source, as_field(field)) for field, source in zip(fields, sources)]
