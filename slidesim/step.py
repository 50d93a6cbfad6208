"""One MD step of all replicas, with no I/O.

::

    targets = schedule.next(state)                   # T and E of the step about to be taken
    integrator.first_half(...)    for each replica   # thermostat half step, kick, drift
    neighbour lists updated       for each replica   # rebuilt when an atom moved > skin / 2
    model.compute_batch(...)      all replicas       # energy, forces, virial, extras (Z, P)
    coupling.apply(...)           all replicas       # F += Z^T E, U -= E.P, field work
    integrator.second_half(...)   for each replica   # kick, thermostat half step
    schedule.advance(state)                          # (the driver's: after its observers)

Everything that changes is in the :class:`~slidesim.state.State`; an :class:`Engine` holds the
parts that compute (model, neighbour lists, integrator, field coupling), which hold settings
and caches only.
"""

from dataclasses import dataclass

from slidesim.models.model import Model


@dataclass
class Engine:
    """What advances a state: model, per-replica neighbour lists (R dicts from
    ``model.neighbor_lists()``), integrator, and the field coupling (None without a field)."""

    model: Model
    neighbor_lists: list
    integrator: object
    coupling: object = None

    def evaluate(self, state, field, previous=None, old_positions=None):
        """Model results of all replicas at ``state.positions`` in one batched call, with the
        field (3,) [V/A] coupled (see :meth:`FieldCoupling.apply` for ``previous``)."""
        n = state.n_replicas
        for positions, lists in zip(state.positions, self.neighbor_lists):
            for nl in lists.values():
                nl.update(positions, state.cell, state.layer)
        results = self.model.compute_batch([state.positions[r] for r in range(n)], state.cell,
                                           state.species, state.layer, self.neighbor_lists,
                                           update_lists=False)
        if self.coupling is not None:
            self.coupling.apply(results, state, [field] * n, previous, old_positions)
        return results


def step(engine, state, results, targets):
    """Advance every replica of ``state`` by one step at ``targets`` (a schedule's Targets);
    ``results`` are the model results at the current positions. Returns the new results.
    Does not count the step (``Schedule.advance`` does)."""
    integrator, t_target = engine.integrator, targets.temperature
    old_positions = state.positions.copy() if engine.coupling is not None else None
    for r in range(state.n_replicas):
        integrator.first_half(state, r, results[r].forces, t_target)
    new = engine.evaluate(state, targets.field, results, old_positions)
    for r in range(state.n_replicas):
        integrator.second_half(state, r, new[r].forces, t_target)
    return new
