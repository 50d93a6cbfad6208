"""Switching detection during a run: one detector per replica, the events, events.json.

The driver feeds :meth:`SwitchWatch.update` the sliding vector and field of each replica after
every step; a completed BA <-> AB crossing (:class:`~slidesim.analysis.switching.SwitchingDetector`,
the same detector ``slidesim analyze`` uses) becomes an event, is announced on stderr and written
to ``events.json`` at once. The detectors' memory travels in checkpoints, so a restarted run
finds a crossing that straddles the restart.
"""

import json
import os
import sys

import numpy as np

from slidesim.analysis.switching import SwitchingDetector


def snapshot_detector(detector):
    """A switching detector's memory as JSON-friendly data (for checkpoints)."""
    return {"basin": detector.basin, "frame": detector.frame,
            "excursion": [[t, list(map(float, v)), m, None if f is None else list(map(float, f))]
                          for t, v, m, f in detector._excursion]}


def restore_detector(detector, saved):
    """Continue a detector from :func:`snapshot_detector` data."""
    detector.basin, detector.frame = saved["basin"], saved["frame"]
    detector._excursion = [(t, np.array(v), m, None if f is None else np.array(f))
                           for t, v, m, f in saved["excursion"]]


class SwitchWatch:
    """Switching events of R replicas.

    lattice: the bilayer's HexLattice; timestep [ps]; events_path: where events.json goes;
    deck_path: recorded in events.json. ``events`` is the list of event dicts (start, end,
    time [ps], step, field [V/A], theta [deg], stage, replica); ``switched_in_stage`` the
    replicas that switched in the current stage (for ``stop switched``).
    """

    def __init__(self, lattice, n_replicas, timestep, events_path, deck_path):
        self.detectors = [SwitchingDetector(lattice) for _ in range(n_replicas)]
        self.timestep = timestep
        self.events_path = events_path
        self.deck_path = os.path.abspath(deck_path)
        self.events = []
        self.switched_in_stage = set()

    def snapshot(self):
        """Checkpoint data: events, replicas switched in this stage, detector memories."""
        return {"events": self.events, "switched_in_stage": sorted(self.switched_in_stage),
                "detectors": [snapshot_detector(d) for d in self.detectors]}

    def restore(self, saved):
        """Continue from :meth:`snapshot` data (a checkpoint's extra dict)."""
        self.events = saved.get("events", [])
        self.switched_in_stage = set(saved.get("switched_in_stage", []))
        for detector, data in zip(self.detectors, saved.get("detectors", [])):
            restore_detector(detector, data)

    def all_switched(self):
        return len(self.switched_in_stage) == len(self.detectors)

    def next_stage(self):
        self.switched_in_stage = set()

    def update(self, replica, time, sliding, field, stage_name):
        """Feed one replica's state after a step; record and announce a completed switch."""
        crossing = self.detectors[replica].update(time, sliding, field)
        if crossing is None:
            return
        # the crossing lies between two steps; the step is the one just before it
        step = int(np.floor(crossing.time / self.timestep + 1e-9))
        field = [float(f) for f in crossing.field]
        self.events.append({"start": crossing.origin, "end": crossing.destination,
                            "time": crossing.time, "step": step, "field": field,
                            "theta": crossing.theta_deg, "stage": stage_name,
                            "replica": replica})
        self.switched_in_stage.add(replica)
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
