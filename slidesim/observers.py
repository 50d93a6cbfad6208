"""Observers of a run: thermo rows, trajectory frames, switching events, checkpoints, progress.

An observer has an interval ``every`` [steps] (0: never, except where it says otherwise) and is
called by the driver after a step, where the state is consistent::

    observer.observe(run, results, targets)     # when observer.due(state, stage_ended)

``run`` is the :class:`~slidesim.simulation.Simulation` (its state, schedule, engine and
sliding vector), ``results`` the model results of every replica at the current positions and
``targets`` the schedule's :class:`~slidesim.schedule.Targets` of the step just taken.
Observers keep files open and settings; what they must remember across a restart lives in the
state (the switching record) or in their files.
"""

import os
import sys

from slidesim import units
from slidesim.fields.dipole import polarization_pC_per_m
from slidesim.integrators import temperature
from slidesim.io.checkpoint import write_checkpoint
from slidesim.io.thermo import ThermoWriter
from slidesim.io.trajectory import TrajectoryWriter
from slidesim.kernels.integrators import kinetic_energy
from slidesim.switch_watch import SwitchWatch


def replica_suffix(replica):
    """'' for replica 0, '.r1', '.r2', ... for the others (traj.nc, traj.r1.nc, ...)."""
    return "" if replica == 0 else f".r{replica}"


class Observer:
    """Base class: due every ``every`` steps and on the last step of a stage."""

    every = 0

    def due(self, state, stage_ended):
        return self.every > 0 and (stage_ended or state.step % self.every == 0)

    def observe(self, run, results, targets):
        raise NotImplementedError

    def close(self):
        """Flush and close files (also after an error)."""


FIELD_COLUMNS = ["field_x_VA", "field_y_VA", "field_z_VA", "P_x_pCm", "P_y_pCm", "P_z_pCm"]


class ThermoLog(Observer):
    """``thermo.csv`` (``thermo.r<k>.csv`` for replica k): one row every ``every`` steps."""

    def __init__(self, run, every):
        self.every = every
        state = run.state
        columns = [f"e_{name}" for name in run.energy_names]
        self.field = run.engine.coupling is not None
        if self.field:
            columns += FIELD_COLUMNS
        step = state.step if run.restarted else None
        self.writers = [ThermoWriter(os.path.join(run.output, f"thermo{replica_suffix(r)}.csv"),
                                     columns, append=run.restarted, restart_step=step)
                        for r in range(state.n_replicas)] if every else []

    def observe(self, run, results, targets):
        state = run.state
        for r, (writer, result) in enumerate(zip(self.writers, results)):
            v = state.velocities[r]
            ke = kinetic_energy(v, state.masses, units.MVV2E)
            t_sl = run.sliding(state.positions[r])
            columns = {f"e_{k}": e for k, e in result.energies.items()}
            if self.field:
                p = polarization_pC_per_m(state.dipole[r], state.cell)
                columns.update(zip(FIELD_COLUMNS, [*state.field[r], *p]))
            writer.write_row(
                step=state.step, time_ps=state.time, temperature_K=temperature(v, state.masses),
                temperature_target_K=targets.temperature, potential_eV=result.energy,
                kinetic_eV=ke, conserved_eV=run.conserved_energy(r, result, targets),
                sliding_x_A=t_sl[0], sliding_y_A=t_sl[1], **columns)

    def close(self):
        for writer in self.writers:
            writer.close()


class TrajectoryLog(Observer):
    """``traj.nc`` (``traj.r<k>.nc``): AMBER netCDF frames every ``every`` steps."""

    def __init__(self, run, every, velocities, forces):
        self.every = every
        self.field = run.engine.coupling is not None
        deck, state = run.deck, run.state
        self.writers = [TrajectoryWriter(
            os.path.join(run.output, f"traj{replica_suffix(r)}.nc"), state, replica=r,
            velocities=velocities, forces=forces,
            title=f"slidesim {os.path.basename(deck.path)}",
            replica_info={"replica": r, "seed": deck.seed}, primitive_cell=run.primitive,
            append=run.restarted, restart_step=state.step if run.restarted else None)
            for r in range(state.n_replicas)] if every > 0 else []

    def observe(self, run, results, targets):
        state = run.state
        for r, (writer, result) in enumerate(zip(self.writers, results)):
            writer.write_frame(
                state, forces=result.forces,
                temperature=temperature(state.velocities[r], state.masses),
                temperature_target=targets.temperature, potential_energy=result.energy,
                electric_field=state.field[r] if self.field else None,
                sliding_vector=run.sliding(state.positions[r]))

    def close(self):
        for writer in self.writers:
            writer.close()


class SwitchingLog(Observer):
    """Switching events of every replica after every step (``events.json``); ``all_switched``
    tells whether every replica switched in the running stage (for ``stop switched``)."""

    every = 1

    def __init__(self, run):
        self.watch = SwitchWatch(run.lattice, run.state.switching, run.deck.timestep,
                                 os.path.join(run.output, "events.json"), run.deck.path)

    def due(self, state, stage_ended):
        return True

    def observe(self, run, results, targets):
        state = run.state
        for r in range(state.n_replicas):
            self.watch.update(r, state.time, run.sliding(state.positions[r]), state.field[r],
                              targets.stage.name)

    def all_switched(self):
        return self.watch.all_switched()

    def next_stage(self):
        self.watch.next_stage()

    def close(self):
        self.watch.write()


class Checkpointer(Observer):
    """``checkpoint.npz`` (the previous one kept as ``.prev``) every ``every`` steps."""

    def __init__(self, run, every):
        self.every = every
        self.path = run.checkpoint_path

    def due(self, state, stage_ended):
        return self.every > 0 and state.step % self.every == 0

    def observe(self, run, results=None, targets=None):
        write_checkpoint(self.path, run.state, run.checkpoint_meta())


class ProgressBar(Observer):
    """A tqdm bar on stderr over the steps of this invocation, with stage, T and E of
    replica 0 every 20 steps."""

    every = 1

    def __init__(self, total):
        from tqdm import tqdm

        # some pseudo-terminals (script, CI runners) report 0 rows or 0 columns; tqdm then
        # hides the bar (0 rows: "more hidden") or draws it empty, so give it a size there
        try:
            size = os.get_terminal_size(sys.stderr.fileno())
            columns, rows = size.columns, size.lines
        except (OSError, ValueError):
            columns, rows = 0, 0
        dynamic = columns > 0 and rows > 0  # tqdm's dynamic sizing reads the rows too
        self.bar = tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=dynamic,
                        ncols=None if dynamic else (columns or 100),
                        nrows=None if dynamic else 24)

    def due(self, state, stage_ended):
        return True

    def observe(self, run, results, targets):
        state = run.state
        self.bar.update(1)
        if state.step % 20 == 0:
            v = state.velocities[0]
            e_total = results[0].energy + kinetic_energy(v, state.masses, units.MVV2E)
            self.bar.set_postfix_str(f"{targets.stage.name} T={temperature(v, state.masses):.0f}K "
                                     f"E={e_total:.4f}eV", refresh=False)

    def skip(self, steps):
        """A stage stopped early: its remaining ``steps`` will not be run."""
        self.bar.total -= steps

    def close(self):
        self.bar.close()
