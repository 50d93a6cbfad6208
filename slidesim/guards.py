"""Guards of a run: checks that stop a blow-up, and Ctrl-C / SIGTERM turned into a clean stop.

A check raises :class:`SimulationError` with what happened, where, and what to change; the
driver checks every replica after every step, before any observer writes, so a checkpoint is
only ever written from a state that passed.
"""

import signal
import threading

import numpy as np

from slidesim.integrators import temperature


class SimulationError(RuntimeError):
    """The run cannot go on (blow-up, bad restart); the message says why and what to do."""


def temperature_limit(deck):
    """The deck's ``limit temperature`` [K], else 10 x its highest target + 1000 K."""
    if deck.temperature_limit is not None:
        return deck.temperature_limit
    return 10.0 * max(max(s.t_start, s.t_stop) for s in deck.stages) + 1000.0


def check_replica(state, replica, result, limit, checkpoint_path):
    """Stop the run if ``replica`` has non-finite energy or forces or is hotter than ``limit`` [K]."""
    if not (np.isfinite(result.energy) and np.isfinite(result.forces).all()):
        raise SimulationError(
            f"non-finite energy or forces at step {state.step} (replica {replica}): the system "
            f"blew up. The last good checkpoint is {checkpoint_path}; try a smaller "
            f"timestep or check the starting structure.")
    t_now = temperature(state.velocities[replica], state.masses)
    if not t_now < limit:
        raise SimulationError(
            f"temperature {t_now:.1f} K exceeds the limit {limit:.1f} K at step {state.step} "
            f"(replica {replica}): the run is exploding. The last good checkpoint is "
            f"{checkpoint_path}; try a smaller timestep, or raise 'limit temperature'.")


class StopSignals:
    """Context manager: SIGINT and SIGTERM set ``requested`` (the signal's name) instead of
    killing the run, which stops cleanly between steps; a second signal interrupts at once.

    Python lets only the main thread install handlers; a run in a worker thread (a Dask task)
    relies on its periodic checkpoints instead.
    """

    def __init__(self):
        self.requested = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested is not None:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle)
                              for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        return False
