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

With r-RESPA (Tuckerman, Berne and Martyna 1992; ``integrator ... respa n``), :func:`respa_step`
replaces :func:`step`: the intralayer terms (Tersoff, sw/mod: the stiff bonds) are integrated
with n inner steps of timestep / n inside one outer step, and the interlayer terms (ILP, the
shielded Coulomb, the field through the Born charges: slowly varying) are evaluated once per
outer step and applied as half kicks at its ends; the thermostat acts on the outer step, as
LAMMPS's ``run_style respa`` with ``fix nvt`` does::

    thermostat half (outer dt / 2)
    kick slow forces (dt / 2)
    n times:  kick fast (dt / 2n), drift (dt / n), fast forces, kick fast (dt / 2n)
    slow forces (+ field coupling); kick slow (dt / 2)
    thermostat half (dt / 2)

With n = 1 this is velocity Verlet (and the Nose-Hoover chain) again.
"""

from dataclasses import dataclass, field

import numpy as np

from slidesim.models.base import ModelResult
from slidesim.models.model import Model


@dataclass
class Engine:
    """What advances a state: model, per-replica neighbour lists (R dicts from
    ``model.neighbor_lists()``), integrator, and the field coupling (None without a field)."""

    model: Model
    neighbor_lists: list
    integrator: object
    coupling: object = None
    #: r-RESPA inner steps per (outer) timestep; 1: the plain single-step integrator
    respa: int = 1
    #: with respa > 1, the model's fast (intralayer) and slow (all other) terms
    fast: Model = field(default=None, repr=False)
    slow: Model = field(default=None, repr=False)

    def __post_init__(self):
        if self.respa < 1:
            raise ValueError(f"respa must be at least 1 (inner steps per timestep), got "
                             f"{self.respa}")
        if self.respa > 1 and self.fast is None:
            self.fast, self.slow = split_fast_slow(self.model)

    def list_anchors(self):
        """(R, L, N, 3): the positions every neighbour list was last built from (None when one
        was never built), for :attr:`State.neighbor_anchors`."""
        anchors = [[nl.reference_positions for nl in lists.values()]
                   for lists in self.neighbor_lists]
        if any(a is None for per_replica in anchors for a in per_replica):
            return None
        return np.array(anchors)

    def build_lists_at(self, state):
        """Build every neighbour list from ``state.neighbor_anchors`` (a restart), so that the
        lists, and with them every sum over pairs, are those of the run that wrote the state.
        Does nothing without anchors or when they do not fit the lists."""
        anchors = state.neighbor_anchors
        shape = (state.n_replicas, len(self.neighbor_lists[0]), state.n_atoms, 3)
        if anchors is None or anchors.shape != shape:
            return False
        for per_replica, lists in zip(anchors, self.neighbor_lists):
            for anchor, nl in zip(per_replica, lists.values()):
                nl.build(anchor, state.cell, state.layer)
        return True

    def update_lists(self, state):
        """Neighbour lists of every replica brought up to date (rebuilt where needed)."""
        for positions, lists in zip(state.positions, self.neighbor_lists):
            for nl in lists.values():
                nl.update(positions, state.cell, state.layer)

    def _compute(self, model, state):
        return model.compute_batch([state.positions[r] for r in range(state.n_replicas)],
                                   state.cell, state.species, state.layer, self.neighbor_lists,
                                   update_lists=False)

    def evaluate(self, state, field, previous=None, old_positions=None):
        """Model results of all replicas at ``state.positions`` in one batched call, with the
        field (3,) [V/A] coupled (see :meth:`FieldCoupling.apply` for ``previous``). With
        r-RESPA the results are :class:`SplitResult` (fast and slow parts kept apart)."""
        self.update_lists(state)
        if self.respa > 1:
            return [SplitResult.of(f, s) for f, s in zip(
                self._compute(self.fast, state),
                self.evaluate_slow(state, field, previous, old_positions))]
        return self.evaluate_slow(state, field, previous, old_positions, self.model)

    def evaluate_slow(self, state, field, previous=None, old_positions=None, model=None):
        """The slow terms (or ``model``) with the field coupled; lists already updated."""
        results = self._compute(model or self.slow, state)
        if self.coupling is not None:
            self.coupling.apply(results, state, [field] * state.n_replicas, previous,
                                old_positions)
        return results


def split_fast_slow(model):
    """(fast, slow): the terms of ``model`` that need only intralayer neighbours (the stiff
    bonds: Tersoff, sw/mod) and all others. ValueError when either is empty (a model that
    cannot be split, such as one machine-learned term)."""
    fast = [t for t in model.terms
            if t.requests and all(r.mode == "intralayer" for r in t.requests.values())]
    slow = [t for t in model.terms if t not in fast]
    if not fast or not slow:
        raise ValueError(f"r-RESPA splits a model into intralayer (fast) and interlayer (slow) "
                         f"terms; model '{model.name}' ({' + '.join(model.term_names)}) has "
                         f"{'no intralayer' if not fast else 'only intralayer'} terms: remove "
                         f"'respa' from the integrator line")
    return (Model(model.name + "/fast", fast, model.species_names),
            Model(model.name + "/slow", slow, model.species_names))


@dataclass
class SplitResult(ModelResult):
    """A model result whose fast (intralayer) and slow (interlayer, field) parts are kept
    apart for r-RESPA: ``fast`` and ``slow`` ModelResults; the fields of the ModelResult are
    their sum (what observers see)."""

    fast: ModelResult = None
    slow: ModelResult = None

    @classmethod
    def of(cls, fast, slow):
        return cls(fast.energy + slow.energy, fast.forces + slow.forces,
                   fast.virial + slow.virial, {**fast.energies, **slow.energies},
                   dict(slow.extras), fast, slow)


def step(engine, state, results, targets):
    """Advance every replica of ``state`` by one step at ``targets`` (a schedule's Targets);
    ``results`` are the model results at the current positions. Returns the new results.
    Does not count the step (``Schedule.advance`` does)."""
    integrator, t_target = engine.integrator, targets.temperature
    old_positions = state.positions.copy() if engine.coupling is not None else None
    see = getattr(integrator, "see", None)  # a barostat (slidesim.barostat) reads the virial
    if see is not None:
        see(results)
    for r in range(state.n_replicas):
        integrator.first_half(state, r, results[r].forces, t_target)
    new = engine.evaluate(state, targets.field, results, old_positions)
    if see is not None:
        see(new)
    for r in range(state.n_replicas):
        integrator.second_half(state, r, new[r].forces, t_target)
    return new


def respa_step(engine, state, results, targets):
    """One outer step of r-RESPA (see the module docstring); ``results`` are SplitResults at
    the current positions. Returns the new SplitResults. Does not count the step."""
    integrator, t_target, n = engine.integrator, targets.temperature, engine.respa
    dt = integrator.timestep
    old_positions = state.positions.copy() if engine.coupling is not None else None
    fast = [result.fast for result in results]
    for r in range(state.n_replicas):
        integrator.thermostat_half(state, r, t_target)
        integrator.kick(state, r, results[r].slow.forces, 0.5 * dt)
    for _ in range(n):
        for r in range(state.n_replicas):
            integrator.kick(state, r, fast[r].forces, 0.5 * dt / n)
            integrator.drift(state, r, dt / n)
        engine.update_lists(state)
        fast = engine._compute(engine.fast, state)
        for r in range(state.n_replicas):
            integrator.kick(state, r, fast[r].forces, 0.5 * dt / n)
    slow = engine.evaluate_slow(state, targets.field, [res.slow for res in results],
                                old_positions)
    for r in range(state.n_replicas):
        integrator.kick(state, r, slow[r].forces, 0.5 * dt)
        integrator.thermostat_half(state, r, t_target)
    return [SplitResult.of(f, s) for f, s in zip(fast, slow)]


def advance(engine, state, results, targets):
    """One step of whichever integration the engine does: :func:`step` or :func:`respa_step`."""
    if engine.respa > 1:
        return respa_step(engine, state, results, targets)
    return step(engine, state, results, targets)
