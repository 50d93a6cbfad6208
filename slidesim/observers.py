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
from slidesim.io.thermo import ThermoWriter
from slidesim.io.topology import model_charges
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
#: in-plane box [A] (a = (lx, 0, 0), b = (xy, ly, 0)), in NPT runs
CELL_COLUMNS = ["lx_A", "ly_A", "xy_A"]


class ThermoLog(Observer):
    """``thermo.csv`` (``thermo.r<k>.csv`` for replica k): one row every ``every`` steps."""

    def __init__(self, run, every):
        self.every = every
        state = run.state
        columns = [f"e_{name}" for name in run.energy_names]
        self.field = run.engine.coupling is not None
        if self.field:
            columns += FIELD_COLUMNS
        # the in-plane box where it moves (NPT): lx, ly, xy as LAMMPS's thermo keywords
        self.cell = "pressure" in run.deck.integrator
        if self.cell:
            columns += CELL_COLUMNS
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
            if self.cell:
                columns.update(zip(CELL_COLUMNS, [state.cell[0, 0], state.cell[1, 1],
                                                  state.cell[1, 0]]))
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
            append=run.restarted, restart_step=state.step if run.restarted else None,
            charges=model_charges(run.model, state.species))
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
    tells whether every replica switched in the running stage (for ``stop switched``; with
    ``stop switched to AB``, only switches that end in AB count)."""

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
                              targets.stage.name, targets.stage.stop_to)

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
        run.write_checkpoint()


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


class RunLog:
    """``log.txt`` in the output folder, for batch jobs and for the record.

    It gets (appended on restarts): a header (slidesim and library versions, host, pid,
    threads, command line, start time, restart point) and the deck as run; a progress line
    (step, percentage, stage, temperature, conserved energy, ms/step, ETA) at most every
    ``interval`` seconds of wall time and at the end of every stage; errors that stop the run;
    and the end-of-run summary (:meth:`summary`). ``echo``: the progress lines also go to
    stderr (the default when stderr is not a terminal, where no progress bar is drawn).

    :meth:`step` is called by the driver after every step with the conserved energy and the
    temperature of every replica, and keeps the statistics of the summary: mean temperature per
    stage, the drift of the conserved quantity within each stage, neighbour-list builds.
    """

    def __init__(self, run, todo, echo=False, interval=60.0):
        import time

        self.clock = time.perf_counter
        self.path = os.path.join(run.output, "log.txt")
        self.echo = echo
        self.interval = interval
        self.todo = todo
        self.done = 0
        self.started = self.clock()
        self.last_line = self.started
        self.stages = {}  # stage index -> StageStats
        self.builds_before = self._builds(run)
        self.handle = open(self.path, "a", encoding="utf-8")
        self._header(run)

    # ---- writing ----------------------------------------------------------------------------
    def write(self, text, echo=False):
        self.handle.write(text.rstrip("\n") + "\n")
        self.handle.flush()
        if echo:
            print(text.rstrip("\n"), file=sys.stderr, flush=True)

    def _header(self, run):
        import datetime
        import platform
        import socket

        import numba
        import numpy

        from slidesim import __version__

        state, deck = run.state, run.deck
        now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        start = (f"restarted from {run.restart_path} at step {state.step} ({state.time:g} ps)"
                 if run.restarted else "new run from step 0")
        lines = [
            "=" * 78,
            f"slidesim {__version__} (python {platform.python_version()}, numpy "
            f"{numpy.__version__}, numba {numba.__version__}) on {socket.gethostname()}, "
            f"pid {os.getpid()}, {numba.get_num_threads()} thread(s)",
            f"started {now}: {start}",
            f"command: {' '.join(sys.argv)}",
            f"deck {os.path.abspath(deck.path)}: {state.n_atoms} atoms x {state.n_replicas} "
            f"replica(s), model {run.model.name}, {run.integrator.name}, dt = "
            f"{deck.timestep * 1e3:g} fs, {len(deck.stages)} stages, {deck.total_steps} steps; "
            f"this invocation runs {self.todo} steps",
            "deck as run:",
        ]
        lines += ["  | " + line for line in deck.text.splitlines()]
        self.write("\n".join(lines))

    @staticmethod
    def _builds(run):
        # the lists of a replica rebuild together (one skin, one displacement check): count
        # the rebuilds of each replica once, however many lists its model needs
        return sum(max((nl.n_builds for nl in lists.values()), default=0)
                   for lists in run.engine.neighbor_lists)

    # ---- per step ---------------------------------------------------------------------------
    def step(self, run, targets, conserved, temperatures, stage_ended):
        """After every step (with each replica's conserved energy [eV] and temperature [K], as
        the guards computed them): statistics, and a progress line when due."""
        state = run.state
        self.done += 1
        stats = self.stages.get(state.stage)
        if stats is None:
            stats = self.stages[state.stage] = StageStats(targets.stage.name,
                                                          targets.stage.n_steps)
        stats.add(state, sum(temperatures) / len(temperatures), targets.temperature, conserved)
        now = self.clock()
        if stage_ended:
            self.write(f"stage {targets.stage.name} ended at step {state.step} "
                       f"({state.time:g} ps): {stats.line(state.n_atoms)}; "
                       f"{self._rate(run, now)}", echo=self.echo)
            self.last_line = now
        elif now - self.last_line >= self.interval:
            self.write(self._progress(run, targets, conserved, now), echo=self.echo)
            self.last_line = now

    def _rate(self, run, now):
        per_step = (now - self.started) / max(self.done, 1)
        schedule, state = run.schedule, run.state
        left = 0 if schedule.finished(state) else schedule.remaining_steps(state)
        left = min(left, self.todo - self.done)
        return f"{1e3 * per_step:.2f} ms/step, ETA {format_duration(left * per_step)}"

    def _progress(self, run, targets, conserved, now):
        from slidesim.integrators import temperature

        state = run.state
        total = run.deck.total_steps
        return (f"step {state.step}/{total} ({100.0 * state.step / max(total, 1):.1f} %), "
                f"stage {targets.stage.name} ({state.stage + 1}/{len(run.deck.stages)}), "
                f"T {temperature(state.velocities[0], state.masses):.1f} K (target "
                f"{targets.temperature:g} K), conserved {conserved[0]:.6f} eV, "
                f"{self._rate(run, now)}")

    # ---- the end ----------------------------------------------------------------------------
    def error(self, message):
        self.write(f"stopped by an error: {message}")

    def summary(self, run, result):
        """The end-of-run summary (also returned, for the terminal)."""
        import datetime

        state = run.state
        builds = self._builds(run) - self.builds_before
        lines = [f"ended {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}: "
                 f"{result['reason']} at step {state.step} ({state.time:g} ps)",
                 f"this invocation: {result['steps']} steps in {result['seconds']:.1f} s "
                 f"({result['ms_per_step']:.2f} ms/step"
                 + (f", {result['steps'] * run.deck.timestep / max(result['seconds'], 1e-9) * 86.4:.3g} "
                    "ns/day" if result['steps'] else "") + f"); {builds} neighbour-list builds"
                 + (f" (one per {result['steps'] * state.n_replicas / builds:.3g} steps and replica)"
                    if builds and result['steps'] else "")]
        if self.stages:
            lines.append(f"  {'stage':<16} {'steps':>8} {'T target [K]':>13} {'T mean [K]':>11} "
                         f"{'drift [meV/atom/ps]':>20}")
            for stats in self.stages.values():
                lines.append("  " + stats.row(state.n_atoms))
            drifts = [abs(d) for s in self.stages.values()
                      for d in [s.drift(state.n_atoms)] if d is not None and not s.ramp]
            if drifts:
                lines.append(f"largest drift of the conserved quantity within a stage at constant "
                             f"target temperature: {max(drifts):.3g} meV/atom/ps")
            if any(s.ramp for s in self.stages.values()):
                lines.append("  * a ramped target temperature: a thermostat's conserved quantity "
                             "is not conserved there")
        events = result.get("events", [])
        lines.append(f"switching events: {len(events)}")
        for event in events[-10:]:
            field = ", ".join(f"{f:.3f}" for f in event["field"])
            lines.append(f"  replica {event['replica']}: {event['start']} -> {event['end']} at "
                         f"{event['time']:.3f} ps in stage {event['stage']}, field ({field}) V/A")
        text = "\n".join(lines)
        self.write(text)
        return text

    def close(self):
        if not self.handle.closed:
            self.handle.close()


class StageStats:
    """What the run log keeps of one stage: steps, temperatures, conserved-energy drift."""

    def __init__(self, name, n_steps):
        self.name, self.n_steps = name, n_steps
        self.steps = 0
        self.t_sum = 0.0
        self.t_target = None
        self.t_first = None
        self.first = None  # (time, conserved energies) at the stage's first step
        self.last = None

    def add(self, state, t_mean, t_target, conserved):
        self.steps += 1
        self.t_sum += t_mean
        self.t_target = t_target
        if self.t_first is None:
            self.t_first = t_target
        # a stage's first step may change the thermostat's target, and with it the conserved
        # quantity; the drift is measured from there on (as the energy guard does)
        if self.first is None:
            self.first = (state.time, list(conserved))
        self.last = (state.time, list(conserved))

    @property
    def ramp(self):
        return self.t_first is not None and self.t_first != self.t_target

    def drift(self, n_atoms):
        """The largest drift over replicas [meV/atom/ps], None under 2 steps."""
        if self.first is None or self.last[0] <= self.first[0]:
            return None
        span = self.last[0] - self.first[0]
        return max((b - a for a, b in zip(self.first[1], self.last[1])), key=abs) \
            * 1e3 / n_atoms / span

    def line(self, n_atoms):
        drift = self.drift(n_atoms)
        return (f"{self.steps} steps, mean T {self.t_sum / max(self.steps, 1):.2f} K "
                f"(target {self.t_target:g} K), conserved-energy drift "
                + ("n/a" if drift is None else f"{drift:+.3g} meV/atom/ps"))

    def row(self, n_atoms):
        drift = self.drift(n_atoms)
        return (f"{self.name:<16} {self.steps:>8} {self.t_target:>13g} "
                f"{self.t_sum / max(self.steps, 1):>11.2f} "
                + (f"{'n/a':>20}" if drift is None else f"{drift:>+20.3g}")
                + (" *" if self.ramp else ""))


def format_duration(seconds):
    """'42 s', '12 min', '3 h 05 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
