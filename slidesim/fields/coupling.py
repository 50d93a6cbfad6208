"""The field coupling: a uniform electric field acting on a model's results through Born charges.

A model's result may carry Born charges Z (N, 3, 3) [e] and a dipole P (3,) [e A] as extras
(:class:`~slidesim.models.base.TermResult`): a registry dipole (:class:`DipoleTerm`) or a
machine-learned model gives them. After the model, in every step, the coupling adds for each
replica in its field E (3,) [V/A]:

- forces F_i,beta += sum_alpha E_alpha Z[i, alpha, beta] [eV/A];
- energy U += -E.P [eV] (per-term energy ``field``), and the virial of -E.P where the source
  gives the dipole's pair virial;
- the work of a changing field, field_work += (1/2)(P_old + P_new).(E_new - E_old):
  H = K + U - E.P is not constant when E changes, H + sum P.dE is, so potential + kinetic +
  field_work (+ the thermostat's energy) is the conserved quantity (trapezoid rule over the
  step, second order like the integrator).

Where a source gives Z but no P, P is integrated from Z along the trajectory,
P(t + dt) = P(t) + sum_i (1/2)(Z_i(t) + Z_i(t + dt)) (r_i(t + dt) - r_i(t)), second order, so
that -E.P, the conserved quantity and the logged P hold for every model. Such a P starts at
zero: only its changes are meaningful.

Everything that changes lives in the :class:`~slidesim.state.State` (``field``, ``dipole``,
``field_work`` per replica); the coupling holds nothing between calls.
"""

import numpy as np

from slidesim.kernels import field as field_kernels
from slidesim.models.base import ForceTerm, TermResult


def dipole_extras(result):
    """A DipoleResult as TermResult extras (born_charges, dipole, dipole_virial)."""
    return {"born_charges": result.born_charges, "dipole": result.dipole,
            "dipole_virial": result.dipole_virial}


class DipoleTerm(ForceTerm):
    """A dipole source (e.g. :class:`~slidesim.fields.dipole.RegistryDipole`) as a model term:
    no energy and no forces; its Born charges, dipole and dipole virial are the extras of its
    result, so that they travel with the model's result to the field coupling."""

    name = "dipole"
    reports_energy = False

    def __init__(self, source):
        self.source = source
        self.requests = dict(source.requests)

    def compute(self, positions, cell, species, layer, neighbor_lists):
        result = self.source.compute(positions, cell, species, layer, neighbor_lists)
        return TermResult(0.0, np.zeros((len(species), 3)), np.zeros(6),
                          extras=dipole_extras(result))


def field_on(result, field, dipole):
    """Add the field's forces, energy (-E.P, as ``energies["field"]``) and virial to ``result``
    (a ModelResult with ``born_charges`` in its extras), for a field (3,) [V/A] and the dipole
    (3,) [e A] to use for the energy."""
    born = result.extras["born_charges"]
    forces = np.empty((len(born), 3))
    field_kernels.born_charge_forces(born, field, forces)
    energy = field_kernels.field_energy(dipole, field)
    result.forces += forces
    result.energy += energy
    result.energies["field"] = energy
    dipole_virial = result.extras.get("dipole_virial")
    if dipole_virial is not None:  # the dipole is a sum over pairs: a proper pair virial
        result.virial += field_kernels.field_virial(dipole_virial, field)


class FieldCoupling:
    """Applies the field of each replica to the model's results (see the module docstring)."""

    def apply(self, results, state, fields, previous=None, old_positions=None):
        """Couple ``fields`` (R, 3) [V/A] to ``results`` (R ModelResults at state.positions).

        previous, old_positions: the results and positions (R, N, 3) of the step before, for
        the work of a changing field and for integrating P from Z; None at the start or restart
        of a run (the field and dipole of the state are then taken as they are).
        Updates ``state.field``, ``state.dipole`` and ``state.field_work``.
        """
        for r, result in enumerate(results):
            if "born_charges" not in result.extras:
                raise ValueError("the model gives no Born charges for the field to act on; use "
                                 "'born_charges registry' or a model that predicts them")
            field = np.asarray(fields[r], dtype=np.float64)
            dipole = result.extras.get("dipole")
            if dipole is None:  # integrate P from Z along the step (trapezoid)
                dipole = state.dipole[r].copy()
                if previous is not None:
                    z = previous[r].extras["born_charges"] + result.extras["born_charges"]
                    dipole += 0.5 * np.einsum("iab,ib->a", z,
                                              state.positions[r] - old_positions[r])
            if previous is not None:
                state.field_work[r] += 0.5 * (dipole + state.dipole[r]) @ (field - state.field[r])
            state.dipole[r] = dipole
            state.field[r] = field
            field_on(result, field, dipole)
