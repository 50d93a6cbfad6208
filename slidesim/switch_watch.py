"""Switching detection during a run: one detector per replica, the events, events.json.

The driver feeds :meth:`SwitchWatch.update` the sliding vector and field of each replica after
every step; a completed BA <-> AB crossing (:class:`~slidesim.analysis.switching.SwitchingDetector`,
the same detector ``slidesim analyze`` uses) becomes an event, is announced on stderr and written
to ``events.json`` at once. Everything it remembers (events, detector memories) is the state's
:class:`~slidesim.state.SwitchingRecord`, so checkpoints carry it and a restarted run finds a
crossing that straddles the restart.
"""

import json
import os
import sys

import numpy as np

from slidesim.analysis.switching import SwitchingDetector


def registry_name(name):
    """A stacking's h-BN name (the TMDs' XM and MX are the registries of BA and AB)."""
    from slidesim.geometry import STACKING_ALIASES

    return STACKING_ALIASES.get(name, name)


class SwitchWatch:
    """Switching events of R replicas, kept in ``record`` (the state's SwitchingRecord).

    lattice: the bilayer's HexLattice; timestep [ps]; events_path: where events.json goes;
    deck_path: recorded in events.json.
    """

    def __init__(self, lattice, record, timestep, events_path, deck_path):
        self.record = record
        self.detectors = [SwitchingDetector(lattice, memory=memory)
                          for memory in record.detectors]
        self.timestep = timestep
        self.events_path = events_path
        self.deck_path = os.path.abspath(deck_path)

    @property
    def events(self):
        return self.record.events

    def all_switched(self):
        return len(set(self.record.switched_in_stage)) == len(self.detectors)

    def next_stage(self):
        self.record.switched_in_stage = []

    def update(self, replica, time, sliding, field, stage_name, stop_to=None):
        """Feed one replica's state after a step; record and announce a completed switch.
        ``stop_to``: the stacking a switch must end in to count for ``stop switched to``
        (None: any switch counts)."""
        crossing = self.detectors[replica].update(time, sliding, field)
        if crossing is None:
            return
        # the crossing lies between two steps; the step is the one just before it
        step = int(np.floor(crossing.time / self.timestep + 1e-9))
        field = [float(f) for f in crossing.field]
        self.record.events.append({"start": crossing.origin, "end": crossing.destination,
                                   "time": crossing.time, "step": step, "field": field,
                                   "theta": crossing.theta_deg, "stage": stage_name,
                                   "replica": replica})
        counts = stop_to is None or registry_name(crossing.destination) == registry_name(stop_to)
        if counts and replica not in self.record.switched_in_stage:
            self.record.switched_in_stage.append(replica)
        print(f"slidesim: replica {replica} switched {crossing.origin} -> "
              f"{crossing.destination} at {crossing.time:.3f} ps, field ({field[0]:.3f}, "
              f"{field[1]:.3f}, {field[2]:.3f}) V/A, sliding along {crossing.theta_deg:.0f} deg",
              file=sys.stderr)
        self.write()

    def write(self):
        """The events so far, as JSON (written atomically)."""
        tmp = self.events_path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump({"deck": self.deck_path, "events": self.events}, handle, indent=1)
        os.replace(tmp, self.events_path)
