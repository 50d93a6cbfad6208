"""The driver: turns a deck into a running simulation of R replicas.

One step (all replicas)::

    integrator.first_half      (each replica: thermostat half step, kick, drift)
    model.compute_batch        (all replicas in one call: neighbour lists updated when needed;
                                energy, forces, virial; a machine-learned term batches them)
    integrator.second_half     (each replica: kick, thermostat half step)

Observers (thermo rows, trajectory frames, checkpoints) run between steps, where the state is
consistent. Ctrl-C and SIGTERM are noted by a handler and acted on between steps: the trajectory
is flushed and a checkpoint written. Non-finite forces or a run-away temperature stop the run
without overwriting the last good checkpoint.
"""

import hashlib
import os
import signal
import sys
import threading
import time as wallclock

import numpy as np

from slidesim import integrators as integ
from slidesim import units
from slidesim.deck import Deck
from slidesim.io.checkpoint import read_checkpoint, write_checkpoint
from slidesim.io.structures import read_structure
from slidesim.io.thermo import ThermoWriter
from slidesim.io.trajectory import TrajectoryWriter
from slidesim.kernels.integrators import kinetic_energy, remove_momentum
from slidesim.analysis.lattice import HexLattice, infer_lattice
from slidesim.switch_watch import SwitchWatch
from slidesim.models import MODEL_DEFAULTS, build_model
from slidesim.models.model import Model
from slidesim.observables import SlidingVector
from slidesim.state import State
from slidesim.structures import bilayer


class SimulationError(RuntimeError):
    """The run cannot go on (blow-up, bad restart); the message says why and what to do."""


def beside_deck(deck, path):
    """A relative input path resolved against the deck's directory (absolute paths unchanged)."""
    if os.path.isabs(path):
        return path
    return os.path.join(os.path.dirname(os.path.abspath(deck.path)), path)


def build_state(deck):
    """The starting structure of a deck (one replica, zero velocities)."""
    system = deck.system
    if system["kind"] == "file":
        return read_structure(beside_deck(deck, system["path"]))
    defaults = MODEL_DEFAULTS.get(deck.model.get("name"), {})
    lattice = system.get("lattice", defaults.get("lattice"))
    distance = system.get("distance", defaults.get("distance"))
    return bilayer(system.get("material", "BN"), system.get("cells", (1, 1)),
                   system.get("stacking", "BA"), lattice, distance,
                   system.get("sliding"), system.get("vacuum", 40.0))


def build_integrator(deck):
    options = deck.integrator
    name = options["name"]
    if name == "nve":
        return integ.VelocityVerlet(deck.timestep)
    if name == "nose-hoover":
        return integ.NoseHooverChain(deck.timestep, options.get("tdamp", 100 * deck.timestep),
                                     options.get("chain", 3), options.get("loops", 1))
    return integ.Langevin(deck.timestep, options.get("damp", 100 * deck.timestep))


def replica_suffix(replica):
    """'' for replica 0, '.r1', '.r2', ... for the others (traj.nc, traj.r1.nc, ...)."""
    return "" if replica == 0 else f".r{replica}"


def target_temperature(stage, stage_step):
    """Target temperature [K] while taking step ``stage_step + 1`` of ``stage`` (linear ramp,
    as LAMMPS's ``fix nvt temp Tstart Tstop``: the ramp ends exactly at the stage's last step)."""
    return stage.t_start + (stage.t_stop - stage.t_start) * (stage_step + 1) / stage.n_steps


def stage_field(stage, stage_step, timestep):
    """Field [V/A] (3,) after ``stage_step`` steps of ``stage``: start value + rate * time."""
    elapsed = stage_step * timestep
    return np.array(stage.field) + np.array(stage.field_rate) * elapsed


class Simulation:
    """A deck made runnable. ``Simulation(deck).run()``; ``restart=PATH`` continues a checkpoint."""

    def __init__(self, deck: Deck, restart=None, progress=None):
        self.deck = deck
        self.deck_hash = hashlib.sha256(deck.text.encode()).hexdigest()
        self.integrator = build_integrator(deck)
        # like LAMMPS, output goes where the run is started (input files are found beside the deck)
        self.output = os.path.abspath(deck.output)
        self.checkpoint_path = os.path.join(self.output, "checkpoint.npz")
        self.restarted = restart is not None
        if restart is not None:
            self.state, extra = read_checkpoint(restart)
            if extra.get("deck_hash") not in (None, self.deck_hash):
                print(f"slidesim: note: {deck.path} differs from the deck that wrote {restart}",
                      file=sys.stderr)
            if self.state.stage > len(deck.stages):
                raise SimulationError(f"checkpoint {restart} is at stage {self.state.stage}, "
                                      f"but {deck.path} has only {len(deck.stages)} stages")
            initial = self.state
            start = State(extra["initial_positions"], None, initial.cell, initial.species,
                          initial.species_names, initial.masses, initial.layer)
        else:
            start = build_state(deck)
            self.state = self._fresh_state(start)
        options = {k: v for k, v in deck.model.items() if k not in ("name", "line")}
        for key in ("path", "tersoff", "ilp"):  # model files, like structures, live beside the deck
            if key in options:
                options[key] = beside_deck(deck, options[key])
        self.model = build_model(deck.model["name"], self.state.species_names, start, **options)
        self.field_term = None
        if deck.born_charges == "registry":
            from slidesim.fields.dipole import RegistryDipole
            from slidesim.fields.field import FieldTerm

            dipole = MODEL_DEFAULTS.get(deck.model["name"], {}).get("dipole")
            self.field_term = FieldTerm(RegistryDipole(self.state.species_names, dipole))
        elif deck.born_charges == "model":
            from slidesim.fields.field import FieldTerm

            sources = [t for t in self.model.terms if hasattr(t, "born_charge_source")]
            if not sources:
                raise ValueError(f"'born_charges model': model '{self.model.name}' predicts no "
                                 "Born charges; use 'born_charges registry'")
            self.field_term = FieldTerm(sources[0].born_charge_source())
        if self.field_term is not None:
            self.model = Model(self.model.name, self.model.terms + [self.field_term],
                               self.state.species_names)
        self.initial_positions = start.positions[0]
        self.neighbor_lists = [self.model.neighbor_lists(deck.skin)
                               for _ in range(self.state.n_replicas)]
        # from the starting structure, also on restarts: the unwrapped positions continue from
        # it, so t stays continuous (a fresh registry pairing could differ by a lattice vector)
        self.sliding = SlidingVector(start.positions[0], start.cell, start.species, start.layer,
                                     start.masses)
        if deck.system["kind"] == "bilayer":
            n1, n2 = deck.system.get("cells", (1, 1))
            self.lattice = HexLattice.from_constant(np.linalg.norm(start.cell[0]) / n1, (n1, n2),
                                                    "deck")
        else:
            self.lattice = infer_lattice(start.positions[0], start.cell, start.species,
                                         np.flatnonzero(start.layer == 0))
        self.primitive = np.zeros((2, 3))
        self.primitive[:, :2] = self.lattice.vectors
        self.watch_switching = self.field_term is not None or any(s.stop for s in deck.stages)
        self.switches = SwitchWatch(self.lattice, self.state.n_replicas, deck.timestep,
                                    os.path.join(self.output, "events.json"), deck.path)
        self.fields = [np.zeros(3) for _ in range(self.state.n_replicas)]
        self.dipoles = [None] * self.state.n_replicas
        self.field_work = np.zeros(self.state.n_replicas)
        if restart is not None:
            self.switches.restore(extra)
            self.field_work[:] = extra.get("field_work", [0.0] * self.state.n_replicas)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self._stop_requested = None

    # ---- set-up --------------------------------------------------------------------------
    def _fresh_state(self, start):
        deck, n_rep = self.deck, self.deck.replicas
        state = start.replicate(n_rep)
        state.thermostat = np.zeros((n_rep, 3, self.integrator.chain_length))
        t_init = deck.velocities if deck.velocities is not None else deck.stages[0].t_start
        state.rng_states = []
        for r in range(n_rep):
            generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence([deck.seed, r])))
            state.velocities[r] = integ.initial_velocities(state.masses, t_init, generator)
            state.rng_states.append(generator.bit_generator.state)
        return state

    def _open_outputs(self):
        os.makedirs(self.output, exist_ok=True)
        step = self.state.step if self.restarted else None
        extra = [f"e_{name}" for name in self.model.term_names]
        if self.field_term is not None:
            extra += ["field_x_VA", "field_y_VA", "field_z_VA", "P_x_pCm", "P_y_pCm", "P_z_pCm"]
        self.thermo, self.trajectories = [], []
        for r in range(self.state.n_replicas):
            suffix = replica_suffix(r)
            self.thermo.append(ThermoWriter(os.path.join(self.output, f"thermo{suffix}.csv"),
                                            extra, append=self.restarted, restart_step=step))
            if self.deck.trajectory_every > 0:
                self.trajectories.append(TrajectoryWriter(
                    os.path.join(self.output, f"traj{suffix}.nc"), self.state, replica=r,
                    velocities=self.deck.trajectory_velocities, forces=self.deck.trajectory_forces,
                    title=f"slidesim {os.path.basename(self.deck.path)}",
                    replica_info={"replica": r, "seed": self.deck.seed},
                    primitive_cell=self.primitive,
                    append=self.restarted, restart_step=step))

    def _close_outputs(self):
        for writer in self.thermo + self.trajectories:
            writer.close()

    # ---- observers ------------------------------------------------------------------------
    def _field_columns(self, replica):
        if self.field_term is None:
            return {}
        from slidesim.units import dipole_per_area_to_pC_per_m

        area = abs(np.linalg.det(self.state.cell[:2, :2]))
        field = self.fields[replica]
        dipole = self.dipoles[replica]
        p = [dipole_per_area_to_pC_per_m(d, area) for d in dipole]
        return {"field_x_VA": field[0], "field_y_VA": field[1], "field_z_VA": field[2],
                "P_x_pCm": p[0], "P_y_pCm": p[1], "P_z_pCm": p[2]}

    def _observe(self, replica, result, t_target, force_all=False):
        state, deck = self.state, self.deck
        step = state.step
        v = state.velocities[replica]
        if deck.thermo_every and (step % deck.thermo_every == 0 or force_all):
            ke = kinetic_energy(v, state.masses, units.MVV2E)
            t_now = integ.temperature(v, state.masses)
            t_sl = self.sliding(state.positions[replica])
            self.last_thermo = (t_now, result.energy + ke)
            self.thermo[replica].write_row(
                step=step, time_ps=state.time, temperature_K=t_now, temperature_target_K=t_target,
                potential_eV=result.energy, kinetic_eV=ke,
                conserved_eV=(result.energy + ke + self.field_work[replica]
                              + self.integrator.reservoir_energy(state, replica, t_target)),
                sliding_x_A=t_sl[0], sliding_y_A=t_sl[1],
                **{f"e_{k}": e for k, e in result.energies.items()},
                **self._field_columns(replica))
        if self.trajectories and (step % deck.trajectory_every == 0 or force_all):
            self.trajectories[replica].write_frame(
                state, forces=result.forces, temperature=integ.temperature(v, state.masses),
                temperature_target=t_target, potential_energy=result.energy,
                electric_field=self.fields[replica] if self.field_term is not None else None,
                sliding_vector=self.sliding(state.positions[replica]))

    def write_checkpoint(self):
        write_checkpoint(self.checkpoint_path, self.state,
                         {"deck_hash": self.deck_hash, "deck_path": os.path.abspath(self.deck.path),
                          "initial_positions": self.initial_positions.tolist(),
                          "field_work": self.field_work.tolist(),
                          **self.switches.snapshot()})

    # ---- the run --------------------------------------------------------------------------
    def _compute(self, field=None):
        """Model results of all replicas in one batched call (all in the same field)."""
        s = self.state
        n_rep = s.n_replicas
        previous = list(self.fields)
        if self.field_term is not None:
            field = np.zeros(3) if field is None else np.asarray(field, dtype=np.float64)
            self.fields = [field.copy() for _ in range(n_rep)]
        try:
            results = self.model.compute_batch(
                [s.positions[r] for r in range(n_rep)], s.cell, s.species, s.layer,
                self.neighbor_lists, self.fields if self.field_term is not None else None)
        except ValueError as err:
            raise SimulationError(
                f"the model failed at step {s.step}: {err}. The last good checkpoint is "
                f"{self.checkpoint_path}.") from None
        if self.field_term is not None:
            for r, source in enumerate(self.field_term.lasts):
                # H(t) = K + U - E(t).P is not conserved when E changes; H + sum P.dE is
                # (trapezoid rule over the step, second order like the integrator)
                if self.dipoles[r] is not None:  # the first evaluation sets E(0): no work
                    change = self.fields[r] - previous[r]
                    self.field_work[r] += 0.5 * (source.dipole + self.dipoles[r]) @ change
                self.dipoles[r] = source.dipole
        return results

    def _watch(self, replica, stage):
        """Feed replica's switching detector (records, announces and writes events)."""
        state = self.state
        self.switches.update(replica, state.time, self.sliding(state.positions[replica]),
                             self.fields[replica], stage.name)

    def _check(self, replica, result):
        state = self.state
        if not (np.isfinite(result.energy) and np.isfinite(result.forces).all()):
            raise SimulationError(
                f"non-finite energy or forces at step {state.step} (replica {replica}): the system "
                f"blew up. The last good checkpoint is {self.checkpoint_path}; try a smaller "
                f"timestep or check the starting structure.")
        limit = self.deck.temperature_limit
        if limit is None:
            limit = 10.0 * max(max(s.t_start, s.t_stop) for s in self.deck.stages) + 1000.0
        t_now = integ.temperature(state.velocities[replica], state.masses)
        if not t_now < limit:
            raise SimulationError(
                f"temperature {t_now:.1f} K exceeds the limit {limit:.1f} K at step {state.step} "
                f"(replica {replica}): the run is exploding. The last good checkpoint is "
                f"{self.checkpoint_path}; try a smaller timestep, or raise 'limit temperature'.")

    def _request_stop(self, signum, frame):
        if self._stop_requested is not None:
            raise KeyboardInterrupt
        self._stop_requested = signal.Signals(signum).name

    def run(self, max_steps=None):
        """Run the schedule to its end (or ``max_steps`` more steps). Returns a summary dict."""
        deck, state = self.deck, self.state
        stages = deck.stages
        if state.stage >= len(stages):
            raise SimulationError("the checkpoint is at the end of the schedule: nothing to run")
        if not self.restarted:
            for r in range(state.n_replicas):
                remove_momentum(state.velocities[r], state.masses)
        stage = stages[state.stage]
        t0 = target_temperature(stage, state.stage_step - 1)
        field0 = stage_field(stage, state.stage_step, deck.timestep)
        results = self._compute(field0)
        if not self.restarted:
            for r in range(state.n_replicas):
                self.integrator.setup(state, r, t0)
        self._open_outputs()
        if not self.restarted:
            for r in range(state.n_replicas):
                self._observe(r, results[r], t0)
                if self.watch_switching:
                    self._watch(r, stage)
        # Python lets only the main thread install handlers; a run in a worker thread (a Dask
        # task) relies on its periodic checkpoints instead
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            handlers = {sig: signal.signal(sig, self._request_stop)
                        for sig in (signal.SIGINT, signal.SIGTERM)}
        remaining = deck.total_steps - sum(s.n_steps for s in stages[:state.stage]) - state.stage_step
        todo = remaining if max_steps is None else min(remaining, max_steps)
        bar = None
        if self.progress and todo > 0:
            from tqdm import tqdm
            bar = tqdm(total=todo, unit="step", dynamic_ncols=True, file=sys.stderr)
        started = wallclock.perf_counter()
        done, reason = 0, "paused"
        try:
            while state.stage < len(stages) and done < todo:
                if self._stop_requested:
                    reason = f"stopped by {self._stop_requested}"
                    break
                stage = stages[state.stage]
                t_target = target_temperature(stage, state.stage_step)
                field = stage_field(stage, state.stage_step + 1, deck.timestep)
                for r in range(state.n_replicas):
                    self.integrator.first_half(state, r, results[r].forces, t_target)
                results = self._compute(field)
                for r in range(state.n_replicas):
                    self.integrator.second_half(state, r, results[r].forces, t_target)
                    self._check(r, results[r])
                state.step += 1
                state.time = state.step * deck.timestep
                state.stage_step += 1
                if self.watch_switching:
                    for r in range(state.n_replicas):
                        self._watch(r, stage)
                switched = stage.stop == "switched" and self.switches.all_switched()
                last = state.stage_step == stage.n_steps or switched
                for r in range(state.n_replicas):
                    self._observe(r, results[r], t_target, force_all=last)
                if last:
                    if switched and bar is not None:
                        bar.total -= stage.n_steps - state.stage_step
                    state.stage += 1
                    state.stage_step = 0
                    self.switches.next_stage()
                if deck.checkpoint_every and state.step % deck.checkpoint_every == 0:
                    self.write_checkpoint()
                done += 1
                if bar is not None:
                    bar.update(1)
                    if state.step % 20 == 0:
                        t_now, e_tot = self.last_thermo
                        bar.set_postfix_str(f"{stage.name} T={t_now:.0f}K E={e_tot:.4f}eV",
                                            refresh=False)
            if state.stage >= len(stages):
                reason = "finished"
            self.write_checkpoint()
            if self.watch_switching:
                self.switches.write()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            if bar is not None:
                bar.close()
            self._close_outputs()
        elapsed = wallclock.perf_counter() - started
        return {"steps": done, "step": state.step, "reason": reason, "seconds": elapsed,
                "ms_per_step": 1e3 * elapsed / max(done, 1), "output": self.output,
                "checkpoint": self.checkpoint_path, "events": list(self.switches.events)}
