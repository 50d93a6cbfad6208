"""The driver: turns a deck into a running simulation of R replicas.

The run is a loop over :func:`slidesim.step.step` (one MD step of all replicas, no I/O, see
there and docs/engine.md), with, after every step::

    schedule.advance(state)         count the step
    guards.check_replica(...)       non-finite or huge forces, a jump of an atom or of the
                                    conserved energy, a run-away temperature stop the run
    switching.observe(...)          switching events (when fields or 'stop switched' are used)
    thermo / trajectory observe     rows and frames when due (and on a stage's last step)
    schedule.next_stage(state)      at the end of a stage (or when its stop condition holds)
    checkpointer / progress         checkpoint when due; the progress bar

Everything that changes is in ``Simulation.state`` (:class:`slidesim.state.State`); a checkpoint
is that state, so a restart continues bit for bit. Ctrl-C, SIGTERM and SIGHUP are noted by a
handler and acted on between steps (:mod:`slidesim.guards`): the trajectory is flushed and a
checkpoint written.
"""

import hashlib
import os
import sys
import time as wallclock
import warnings

import numpy as np

from slidesim import integrators as integ
from slidesim import units
from slidesim.analysis.lattice import HexLattice, infer_lattice
from slidesim.deck import Deck
from slidesim.fields.coupling import DipoleTerm, FieldCoupling
from slidesim.guards import (Limits, SimulationError, StopSignals, check_replica,
                             last_good_checkpoint)
from slidesim.io.checkpoint import read_checkpoint, write_checkpoint
from slidesim.io.structures import read_structure
from slidesim.kernels.integrators import kinetic_energy, remove_momentum
from slidesim.models import build_model
from slidesim.catalog import model_entry
from slidesim.models.model import Model
from slidesim.analysis.sliding import SlidingVector
from slidesim.observers import (Checkpointer, ProgressBar, RunLog, SwitchingLog, ThermoLog,
                                TrajectoryLog, replica_suffix)
from slidesim.outputs import OutputError, OutputFolder
from slidesim.relax_stage import run_minimize_stage
from slidesim.schedule import Schedule
from slidesim.state import State
from slidesim.step import Engine, advance
from slidesim.structures import bilayer

__all__ = ["Simulation", "SimulationError", "build_state", "build_integrator", "replica_suffix"]


def beside_deck(deck, path):
    """A relative input path resolved against the deck's directory (absolute paths unchanged)."""
    if os.path.isabs(path):
        return path
    return os.path.join(os.path.dirname(os.path.abspath(deck.path)), path)


def build_state(deck):
    """The starting structure of a deck (one replica, zero velocities)."""
    system = deck.system
    if system["kind"] == "file":
        return read_structure(beside_deck(deck, system["path"]), format=system.get("format"),
                              types=system.get("types"), layers=system.get("layers"),
                              velocities=system.get("velocities") == "from-file",
                              atom_style=system.get("atom_style"))
    entry = model_entry(deck.model["name"])
    lattice = system.get("lattice", entry.lattice)
    distance = system.get("distance", entry.distance)
    return bilayer(system.get("material", "BN"), system.get("cells", (1, 1)),
                   system.get("stacking", "BA"), lattice, distance,
                   system.get("sliding"), system.get("vacuum", 40.0))


def build_integrator(deck):
    options = deck.integrator
    name = options["name"]
    if name == "nve":
        return integ.VelocityVerlet(deck.timestep)
    if name == "nose-hoover" and "pressure" in options:  # in-plane NPT
        from slidesim.barostat import NoseHooverBarostat

        if deck.replicas > 1:
            raise ValueError(f"{deck.path}:{options['line']}: the barostat changes the cell, "
                             f"which the {deck.replicas} replicas share; use 'replicas 1'")
        return NoseHooverBarostat(deck.timestep, options.get("tdamp", 100 * deck.timestep),
                                  options.get("chain", 3), options.get("loops", 1),
                                  options["pressure"], options.get("pdamp", 1000 * deck.timestep),
                                  options.get("pchain", 3))
    if name == "nose-hoover":
        return integ.NoseHooverChain(deck.timestep, options.get("tdamp", 100 * deck.timestep),
                                     options.get("chain", 3), options.get("loops", 1))
    return integ.Langevin(deck.timestep, options.get("damp", 100 * deck.timestep))


def fresh_state(deck, start, integrator):
    """R replicas of the structure ``start`` with Maxwell-Boltzmann velocities (seed, replica)."""
    n_rep = deck.replicas
    state = start.replicate(n_rep)
    state.nose_hoover = np.zeros((n_rep, 3, integrator.chain_length))
    t_init = deck.velocities if deck.velocities is not None else next(
        (s.t_start for s in deck.stages if s.minimize is None), 0.0)  # not a minimisation's
    state.rng_states = []
    from_file = deck.system.get("velocities") == "from-file"  # every replica starts with them
    for r in range(n_rep):
        generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence([deck.seed, r])))
        if not from_file:
            state.velocities[r] = integ.initial_velocities(state.masses, t_init, generator)
        state.rng_states.append(generator.bit_generator.state)
    return state


def build_model_of(deck, state):
    """The deck's model for ``state``'s atoms, with its Born-charge source as a term when the
    deck couples a field (``born_charges registry`` or ``model``)."""
    options = {k: v for k, v in deck.model.items() if k not in ("name", "line")}
    for key in ("path", "tersoff", "ilp"):  # model files, like structures, live beside the deck
        if key in options:
            options[key] = beside_deck(deck, options[key])
    start = State(state.initial_positions, None, state.cell, state.species, state.species_names,
                  state.masses, state.layer)
    model = build_model(deck.model["name"], state.species_names, start, **options)
    if deck.born_charges == "registry":
        from slidesim.fields.dipole import RegistryDipole

        dipole = RegistryDipole(state.species_names, model_entry(deck.model["name"]).dipole)
        model = Model(model.name, model.terms + [DipoleTerm(dipole)], state.species_names)
    elif deck.born_charges == "model":
        if not any(getattr(t, "has_born_charges", False) for t in model.terms):
            raise ValueError(f"'born_charges model': model '{model.name}' predicts no "
                             "Born charges; use 'born_charges registry'")
    return model


def check_restart(deck, state, meta, integrator, path, new_integrator=False):
    """SimulationError unless the checkpoint at ``path`` holds the system the deck describes:
    the same atoms (count, species, layers), cell, number of replicas and integrator.

    new_integrator: accept another integrator (or chain length) than the checkpoint's; the
    thermostat's variables then start afresh (:func:`renew_thermostat`). Returns whether the
    integrator differs."""
    start = build_state(deck)
    problems = []
    if state.n_atoms != start.n_atoms:
        problems.append(f"{state.n_atoms} atoms, the deck builds {start.n_atoms}")
    elif (state.species_names != start.species_names
          or [state.species_names[s] for s in state.species]
          != [start.species_names[s] for s in start.species]):
        problems.append("other species (or in another order)")
    elif not np.array_equal(state.layer, start.layer):
        problems.append("other layers")
    cell_moves = any(s.minimize and s.minimize.get("cell") for s in deck.stages) or \
        "pressure" in deck.integrator  # minimisation with the cell, or NPT
    if not cell_moves and not np.allclose(state.cell, start.cell, rtol=1e-9, atol=1e-9):
        problems.append(f"another cell ({np.round(np.diag(state.cell), 4).tolist()} A, the deck "
                        f"{np.round(np.diag(start.cell), 4).tolist()} A)")
    if state.n_replicas != deck.replicas:
        problems.append(f"{state.n_replicas} replicas, the deck asks for {deck.replicas}")
    written_by = meta.get("integrator")
    changed = None
    if written_by is not None and written_by != integrator.name:
        changed = f"integrator {written_by}, the deck's is {integrator.name}"
    elif state.nose_hoover.shape[2] != getattr(integrator, "chain_length", 0) and \
            integrator.name == "nose-hoover":
        changed = (f"a Nose-Hoover chain of {state.nose_hoover.shape[2]}, the deck's has "
                   f"{integrator.chain_length}")
    barostat = state.barostat_chain.shape[2] > 0 or "pressure" in deck.integrator
    if changed and new_integrator and barostat:
        problems.append(f"{changed} (a barostat cannot be added or removed on a restart)")
    elif changed and not new_integrator:
        problems.append(changed)
    if problems:
        only_integrator = changed and not new_integrator and len(problems) == 1
        raise SimulationError(
            f"checkpoint {path} is not a state of the run {deck.path} describes: it has "
            f"{'; '.join(problems)}. Restart with the deck that wrote it,"
            + (" add --new-integrator to continue this state with the deck's integrator (its "
               "thermostat starts afresh)," if only_integrator else "")
            + " or start a new run (a checkpoint's structure can start one: write it out with "
            "slidesim.io.structures and use 'system file').")
    return changed is not None


def renew_thermostat(state, integrator):
    """Thermostat variables of ``integrator``, zeroed, in ``state`` (a restart that changes the
    integrator; :meth:`integrator.setup` then initialises them as at a start)."""
    n_rep = state.n_replicas
    state.nose_hoover = np.zeros((n_rep, 3, integrator.chain_length))
    state.bath_energy = np.zeros(n_rep)


class Simulation:
    """A deck made runnable. ``Simulation(deck).run()``; ``restart=PATH`` continues a checkpoint.

    progress: draw a progress bar (default: when stderr is a terminal); overwrite: replace a
    run the output folder already holds (else :meth:`run` refuses, see slidesim.outputs);
    log_lines: echo log.txt's progress lines on stderr (default: when stderr is not a
    terminal and no bar is drawn); ``log_interval`` [s]: wall time between progress lines.
    shared_start: ``restart`` is a first stage another deck of the same sweep ran (identical
    up to there, :func:`slidesim.sweep.tasks.first_stage_key`): no note that the decks differ.
    """

    log_interval = 60.0

    def __init__(self, deck: Deck, restart=None, progress=None, overwrite=False, log_lines=None,
                 new_integrator=False, shared_start=False):
        self.deck = deck
        self.deck_hash = hashlib.sha256(deck.text.encode()).hexdigest()
        self.schedule = Schedule(deck.stages, deck.timestep)
        integrator = build_integrator(deck)
        # like LAMMPS, output goes where the run is started (input files are found beside the deck)
        self.output = os.path.abspath(deck.output)
        self.checkpoint_path = os.path.join(self.output, "checkpoint.npz")
        self.restarted = restart is not None
        self.restart_path = restart
        self.integrator_changed = False
        self.overwrite = overwrite
        self.folder = OutputFolder(self.output)
        self.log_lines = (not sys.stderr.isatty()) if log_lines is None else log_lines
        if restart is not None:
            self.state, meta = read_checkpoint(restart, integrator.name)
            if meta.get("deck_hash") not in (None, self.deck_hash) and not shared_start:
                print(f"slidesim: note: {deck.path} differs from the deck that wrote {restart}",
                      file=sys.stderr)
            if self.state.stage > len(deck.stages):
                raise SimulationError(f"checkpoint {restart} is at stage {self.state.stage}, "
                                      f"but {deck.path} has only {len(deck.stages)} stages")
            self.integrator_changed = check_restart(deck, self.state, meta, integrator, restart,
                                                    new_integrator)
            if self.integrator_changed:
                renew_thermostat(self.state, integrator)
                print(f"slidesim: note: {restart} continues with {deck.path}'s integrator "
                      f"({integrator.name}); its thermostat starts afresh, and with it the "
                      "conserved quantity", file=sys.stderr)
        else:
            self.state = fresh_state(deck, build_state(deck), integrator)
        state = self.state
        model = build_model_of(deck, state)
        self.engine = Engine(model, [model.neighbor_lists(deck.skin)
                                     for _ in range(state.n_replicas)],
                             integrator, FieldCoupling() if deck.born_charges else None,
                             respa=deck.integrator.get("respa", 1))
        if self.restarted:  # the lists the run had, so the restart continues bit for bit
            if not self.engine.build_lists_at(state) and state.neighbor_anchors is not None:
                warnings.warn("the checkpoint's neighbour-list anchors do not fit the lists "
                              "this version of slidesim builds (a checkpoint of an older "
                              "version?); the lists are built from the current positions, so "
                              "the run continues correctly but not bit for bit", stacklevel=2)
        # the registry is found from the starting structure, also on restarts: the unwrapped
        # positions continue from it, so t stays continuous
        start = state.initial_positions
        self.sliding = SlidingVector(start, state.cell, state.species, state.layer, state.masses)
        if deck.system["kind"] == "bilayer":
            n1, n2 = deck.system.get("cells", (1, 1))
            self.lattice = HexLattice.from_constant(np.linalg.norm(state.cell[0]) / n1, (n1, n2),
                                                    "deck")
        else:
            self.lattice = infer_lattice(start, state.cell, state.species,
                                         np.flatnonzero(state.layer == 0))
        self.lattice = self.lattice.named_for(state.species_names)  # XM/MX for TMDs
        self.primitive = np.zeros((2, 3))
        self.primitive[:, :2] = self.lattice.vectors
        self.watch_switching = self.engine.coupling is not None or any(s.stop for s in deck.stages)
        self.progress = sys.stderr.isatty() if progress is None else progress

    # ---- what the observers ask -----------------------------------------------------------
    @property
    def model(self):
        return self.engine.model

    @property
    def integrator(self):
        return self.engine.integrator

    @property
    def energy_names(self):
        """Per-term energies of a result, in thermo-column order."""
        return self.model.energy_names + (["field"] if self.engine.coupling else [])

    def conserved_energy(self, replica, result, targets):
        """Potential + kinetic + field work + the thermostat's energy [eV] of one replica."""
        state = self.state
        ke = kinetic_energy(state.velocities[replica], state.masses, units.MVV2E)
        return (result.energy + ke + state.field_work[replica]
                + self.integrator.reservoir_energy(state, replica, targets.temperature))

    def checkpoint_meta(self):
        """What a checkpoint says about the run that wrote it (not state)."""
        return {"deck_hash": self.deck_hash, "deck_path": os.path.abspath(self.deck.path),
                "integrator": self.integrator.name, "model": self.model.name}

    def write_checkpoint(self):
        self.state.neighbor_anchors = self.engine.list_anchors()
        write_checkpoint(self.checkpoint_path, self.state, self.checkpoint_meta())

    def evaluate(self):
        """Model results of every replica at the current positions, in the field they were
        last computed in: the schedule's, except on a restart at a stage boundary, where the
        run that wrote the checkpoint computed them in the ending stage's field (the state's
        last coupled one, ``state.field``), not the next stage's: so the first half kick is
        the one the run without a restart makes."""
        state = self.state
        field = self.schedule.now(state).field
        if (self.restarted and self.engine.coupling is not None and state.stage > 0
                and state.stage_step == 0):
            field = state.field[0]
        try:
            return self.engine.evaluate(self.state, field)
        except ValueError as err:
            raise SimulationError(
                f"the model failed at step {self.state.step}: {err}. "
                f"{last_good_checkpoint(self.checkpoint_path)}.") from None

    # ---- the run --------------------------------------------------------------------------
    def run(self, max_steps=None):
        """Run the schedule to its end (or ``max_steps`` more steps). Returns a summary dict."""
        deck, state, schedule = self.deck, self.state, self.schedule
        if schedule.finished(state):
            raise SimulationError("the checkpoint is at the end of the schedule: nothing to run")
        if not self.restarted:
            for r in range(state.n_replicas):
                remove_momentum(state.velocities[r], state.masses)
        results = self.evaluate()
        for r in range(state.n_replicas):  # a start with overlapping atoms stops here
            check_replica(state, r, results[r], Limits.of_deck(deck), self.checkpoint_path)
        if not self.restarted or self.integrator_changed:
            t0 = schedule.now(state).temperature
            for r in range(state.n_replicas):
                self.integrator.setup(state, r, t0)
        remaining = schedule.remaining_steps(state)
        todo = remaining if max_steps is None else min(remaining, max_steps)
        try:
            self.folder.claim(restart=self.restarted, overwrite=self.overwrite)
        except OutputError as err:
            raise SimulationError(str(err)) from None
        self.folder.remove_leftovers()
        observers, switching, bar, log = [], None, None, None
        try:
            if self.watch_switching:
                switching = SwitchingLog(self)
            observers = [ThermoLog(self, deck.thermo_every),
                         TrajectoryLog(self, deck.trajectory_every, deck.trajectory_velocities,
                                       deck.trajectory_forces)]
            checkpointer = Checkpointer(self, deck.checkpoint_every)
            if self.progress and todo > 0:
                bar = ProgressBar(todo)
            log = RunLog(self, todo, echo=self.log_lines and bar is None,
                         interval=self.log_interval)
            if not self.restarted:  # the starting point: a row, a frame, the first detection
                for observer in [switching] * self.watch_switching + observers:
                    observer.observe(self, results, schedule.now(state))
            try:
                summary = self._loop(results, todo, observers, switching, checkpointer, bar, log)
                self.write_checkpoint()
            except SimulationError as err:
                log.error(str(err))
                raise
            except (OSError, RuntimeError) as err:  # a full disk, a file system gone read-only
                error = SimulationError(self._write_failed(err, log))
                # the netCDF library cannot close a file whose write failed, and crashes when
                # the interpreter shuts down: the command line ends such a run with os._exit
                error.exit_now = True
                raise error from None
            summary["summary"] = log.summary(self, summary)
        finally:
            failed = sys.exc_info()[0] is not None
            for observer in observers + [switching, bar, log]:
                if observer is None:
                    continue
                try:
                    observer.close()
                except (OSError, RuntimeError):  # a full disk: the first error is the one to tell
                    if not failed:
                        raise
            self.folder.release()
        return summary

    def _write_failed(self, err, log):
        """The message for outputs that could not be written (and a try to log it)."""
        from slidesim.io.checkpoint import run_progress

        reason = getattr(err, "strerror", None) or str(err)
        where = getattr(err, "filename", None)
        try:
            kept = run_progress(self.checkpoint_path)
            last = (f"The last good checkpoint, {self.checkpoint_path}, is at step {kept.step}: "
                    f"free space (or fix the folder) and continue with --restart "
                    f"{self.checkpoint_path}")
        except Exception:
            last = "No checkpoint was written yet: free space and start the run again"
        message = (f"writing the outputs failed at step {self.state.step}: {reason}"
                   + (f" ({where})" if where else "") + f". {last}.")
        try:
            log.error(message)
        except Exception:
            pass
        return message

    def _loop(self, results, todo, observers, switching, checkpointer, bar, log):
        state, schedule = self.state, self.schedule
        limits = Limits.of_deck(self.deck)
        targets = schedule.now(state)
        conserved = [self.conserved_energy(r, results[r], targets)
                     for r in range(state.n_replicas)]
        started = wallclock.perf_counter()
        done, reason = 0, "paused"
        with StopSignals() as signals:
            while not schedule.finished(state) and (done < todo
                                                    or schedule.remaining_steps(state) == 0):
                if signals.requested:
                    reason = f"stopped by {signals.requested}"
                    break
                if schedule.stages[state.stage].minimize is not None:  # slidesim.relax_stage
                    results = run_minimize_stage(self, observers, log)
                    continue
                targets = schedule.next(state)
                old_positions = state.positions.copy()
                try:
                    results = advance(self.engine, state, results, targets)
                except ValueError as err:
                    raise SimulationError(
                        f"the model failed at step {state.step}: {err}. "
                        f"{last_good_checkpoint(self.checkpoint_path)}.") from None
                schedule.advance(state)
                # a stage's first step may change the target temperature, and with it the
                # thermostat's energy: the conserved energy is compared within stages only
                within_stage = state.stage_step > 1
                temperatures = []
                for r in range(state.n_replicas):
                    now = self.conserved_energy(r, results[r], targets)
                    temperatures.append(check_replica(
                        state, r, results[r], limits, self.checkpoint_path, old_positions[r], now,
                        conserved[r] if within_stage else None))
                    conserved[r] = now
                stage = targets.stage
                stopped = False
                if switching is not None:
                    switching.observe(self, results, targets)
                    stopped = stage.stop == "switched" and switching.all_switched()
                stage_ended = schedule.stage_complete(state) or stopped
                for observer in observers:
                    if observer.due(state, stage_ended):
                        observer.observe(self, results, targets)
                log.step(self, targets, conserved, temperatures, stage_ended)
                if stage_ended:
                    if stopped and bar is not None:
                        bar.skip(stage.n_steps - state.stage_step)
                    schedule.next_stage(state)
                    if switching is not None:
                        switching.next_stage()
                if checkpointer.due(state, stage_ended):
                    checkpointer.observe(self)
                done += 1
                if bar is not None:
                    bar.observe(self, results, targets)
        if schedule.finished(state):
            reason = "finished"
        elapsed = wallclock.perf_counter() - started
        return {"steps": done, "step": state.step, "reason": reason, "seconds": elapsed,
                "ms_per_step": 1e3 * elapsed / max(done, 1), "output": self.output,
                "checkpoint": self.checkpoint_path, "events": list(state.switching.events)}
