"""Guards of a run: checks that stop a blow-up, and Ctrl-C / SIGTERM turned into a clean stop.

A check raises :class:`SimulationError` with what happened, where, and what to change; the
driver checks every replica after every step, before any observer writes, so a checkpoint is
only ever written from a state that passed. The checks do not depend on the thermostat: a
Nose-Hoover chain can cool a blown-up system back to its target temperature, but not undo an
atom that jumped, a force that diverged or a conserved energy that leapt.
"""

import os
import signal
import threading
from dataclasses import dataclass

import numpy as np

from slidesim.integrators import temperature


@dataclass(frozen=True)
class Limits:
    """What the guards allow (deck: ``limit temperature T displacement D force F energy E``).

    temperature [K]: the hottest a replica may get; displacement [A]: the farthest an atom may
    move in one step (thermal motion is ~0.05 A per fs at 2000 K); force [eV/A]: the largest
    force on an atom (bonded forces stay below ~30 eV/A even at 2000 K); energy [eV]: the
    largest change of the conserved energy per atom in one step (integration errors are
    ~1e-5 eV).
    """

    temperature: float
    displacement: float = 1.0
    force: float = 200.0
    energy: float = 0.5

    @classmethod
    def of_deck(cls, deck):
        return cls(temperature_limit(deck), **deck.limits)


class SimulationError(RuntimeError):
    """The run cannot go on (blow-up, bad restart); the message says why and what to do."""


def temperature_limit(deck):
    """The deck's ``limit temperature`` [K], else 10 x its highest temperature (stage targets
    and the starting ``velocities``) + 1000 K."""
    if deck.temperature_limit is not None:
        return deck.temperature_limit
    hottest = max(max(s.t_start, s.t_stop) for s in deck.stages)
    if deck.velocities is not None:
        hottest = max(hottest, deck.velocities)
    return 10.0 * hottest + 1000.0


def last_good_checkpoint(checkpoint_path):
    """'The last good checkpoint is PATH' where one exists, else 'No checkpoint was written
    yet' (messages never name a checkpoint that is not there)."""
    import os

    if checkpoint_path and os.path.exists(checkpoint_path):
        return f"The last good checkpoint is {checkpoint_path}"
    return "No checkpoint was written yet"


def check_replica(state, replica, result, limits, checkpoint_path, old_positions=None,
                  conserved=None, previous_conserved=None):
    """Stop the run if ``replica`` has non-finite energy or forces, is hotter than the limit, or
    (with ``old_positions`` (N, 3) [A] and the conserved energies [eV] of this and the previous
    step) moved, was pushed or jumped in energy more than :class:`Limits` allow.
    ``limits``: a Limits (or a temperature limit [K], the other checks at their defaults).
    Returns the replica's temperature [K] (the run log averages it)."""
    if not isinstance(limits, Limits):
        limits = Limits(float(limits))
    where = f"at step {state.step} (replica {replica})"
    if not (np.isfinite(result.energy) and np.isfinite(result.forces).all()):
        raise SimulationError(
            f"non-finite energy or forces {where}: the system blew up. {last_good_checkpoint(checkpoint_path)}; try a smaller "
            f"timestep or check the starting structure.")
    force = np.sqrt(np.einsum("ij,ij->i", result.forces, result.forces))
    atom = int(np.argmax(force))
    if not force[atom] <= limits.force:
        raise SimulationError(
            f"force {force[atom]:.3g} eV/A on atom {atom} {where} exceeds the limit "
            f"{limits.force:g} eV/A: atoms overlap or the system blew up. {last_good_checkpoint(checkpoint_path)}; check the "
            f"starting structure (layer distance, lattice) or the timestep, or raise "
            f"'limit force'.")
    if old_positions is not None:
        step = state.positions[replica] - old_positions
        moved = np.sqrt(np.einsum("ij,ij->i", step, step))
        atom = int(np.argmax(moved))
        if not moved[atom] <= limits.displacement:
            raise SimulationError(
                f"atom {atom} moved {moved[atom]:.3g} A in one step {where}, more than the limit "
                f"{limits.displacement:g} A: the system blew up. {last_good_checkpoint(checkpoint_path)}; try a smaller "
                f"timestep, or raise 'limit displacement'.")
    if conserved is not None and previous_conserved is not None:
        jump = abs(conserved - previous_conserved) / state.n_atoms
        if not jump <= limits.energy:
            raise SimulationError(
                f"the conserved energy changed by {jump:.3g} eV per atom in one step {where}, "
                f"more than the limit {limits.energy:g} eV: the integration broke down. "
                f"{last_good_checkpoint(checkpoint_path)}; try a smaller timestep, or raise 'limit energy'.")
    t_now = temperature(state.velocities[replica], state.masses)
    if not t_now < limits.temperature:
        raise SimulationError(
            f"temperature {t_now:.1f} K exceeds the limit {limits.temperature:.1f} K {where}: "
            f"the run is exploding. {last_good_checkpoint(checkpoint_path)}; try a smaller timestep, or raise "
            f"'limit temperature'.")
    return t_now


class StopSignals:
    """Context manager: SIGINT, SIGTERM and SIGHUP set ``requested`` (the signal's name) instead
    of killing the run, which stops cleanly between steps; a second signal interrupts at once.

    SIGHUP (the terminal closed, an ssh session dropped) also points the standard streams that
    were a terminal at /dev/null, so that the progress bar and the closing summary do not fail
    on a terminal that is gone. A SIGHUP that is ignored (``nohup slidesim run ...``) stays
    ignored, and the run goes on.

    Python lets only the main thread install handlers; a run in a worker thread (a Dask task)
    relies on its periodic checkpoints instead.
    """

    def __init__(self):
        self.requested = None
        self._previous = {}
        self._terminal_fds = []

    def _handle(self, signum, frame):
        if self.requested is not None:
            raise KeyboardInterrupt
        if signum == getattr(signal, "SIGHUP", None):
            _detach(self._terminal_fds)
        self.requested = signal.Signals(signum).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            signals = [signal.SIGINT, signal.SIGTERM]
            hangup = getattr(signal, "SIGHUP", None)  # not on Windows
            if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:
                signals.append(hangup)
                # after a hangup the terminal may no longer answer isatty: ask now
                self._terminal_fds = [fd for fd in (1, 2) if os.isatty(fd)]
            self._previous = {sig: signal.signal(sig, self._handle) for sig in signals}
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        return False


def _detach(fds):
    """Point the file descriptors ``fds`` (a terminal that hung up) at /dev/null."""
    if not fds:
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in fds:
        try:
            os.dup2(null, fd)
        except OSError:
            pass
    os.close(null)
