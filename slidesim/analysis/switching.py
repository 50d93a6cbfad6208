"""Switching events: every crossing of the sliding vector between the BA and AB basins.

The basins are named as the lattice names them (``HexLattice.names``): BA and AB for h-BN, XM
and MX for TMDs (the same sliding vectors, (b - a)/3 and 2(b - a)/3).

A frame is *in* a basin when t lies within ``capture_radius`` of a BA (or AB) site, modulo the
lattice; frames in between keep the last basin (hysteresis, so thermal jitter around the
saddle point is not counted). A crossing is recorded when the trajectory, having left one
basin, enters the other. Its moment is where t crossed the dividing line between the two sites
(the last sign change of d_AB - d_BA between two frames, located on the straight segment
joining them by bisection); its direction theta
is that of the displacement from the last frame in the old basin to the first in the new,
counterclockwise from +y as in the paper (BA -> AB through the nearest saddle: 60, 180 or 300
degrees; AB -> BA: 240, 0 or 120); the field is interpolated to the crossing moment.

:func:`detect_crossings` works on whole arrays; :class:`SwitchingDetector` takes one frame at a
time (for use inside a run) and finds the same crossings.
"""

from dataclasses import dataclass

import numpy as np

from slidesim.state import DetectorMemory

#: basin codes (NONE: not in a basin yet)
BA, AB, NONE = 1, -1, 0


def basin_name(lattice, code):
    """The name of basin ``code`` (BA or AB) for this lattice: BA/AB, or XM/MX for TMDs."""
    names = getattr(lattice, "names", ("BA", "AB"))
    return names[0] if code == BA else names[1]


@dataclass(frozen=True)
class Crossing:
    """One switching event.

    Attributes:
        frame: index of the first frame in the new basin.
        time: [ps] moment t crossed the BA/AB dividing line.
        origin, destination: 'BA' or 'AB' ('XM' or 'MX' for TMDs).
        theta_deg: direction of the slide [deg], counterclockwise from +y, in [0, 360).
        displacement: (2,) [A], t(first frame in new basin) - t(last frame in old basin).
        field: (3,) [V/A] field at ``time``, or None where the trajectory records no field.
    """

    frame: int
    time: float
    origin: str
    destination: str
    theta_deg: float
    displacement: tuple
    field: tuple = None

    def as_dict(self):
        return {"frame": self.frame, "time_ps": self.time, "from": self.origin,
                "to": self.destination, "theta_deg": self.theta_deg,
                "displacement_x_A": self.displacement[0], "displacement_y_A": self.displacement[1],
                "field_x_V_per_A": None if self.field is None else self.field[0],
                "field_y_V_per_A": None if self.field is None else self.field[1],
                "field_z_V_per_A": None if self.field is None else self.field[2]}


def default_capture_radius(lattice):
    """Half the BA-SP distance: a / (4 sqrt 3) [A] (0.36 A for h-BN)."""
    return lattice.constant / (4.0 * np.sqrt(3.0))


def basin_distances(sliding_vectors, lattice):
    """Distances [A] (F,), (F,) from sliding vectors (F, 2 or 3) to the nearest BA and AB site."""
    return (lattice.distance_to_site(sliding_vectors, "BA"),
            lattice.distance_to_site(sliding_vectors, "AB"))


def theta_of(displacement):
    """Direction [deg] in [0, 360) of in-plane vectors (..., 2), counterclockwise from +y."""
    displacement = np.asarray(displacement, dtype=np.float64)
    return np.degrees(np.arctan2(-displacement[..., 0], displacement[..., 1])) % 360.0


def _dividing_point(lattice, start, end, sign):
    """Fraction w in [0, 1] of the straight segment start -> end (2,) [A] where it crosses the
    BA/AB dividing line (sign * (d_AB - d_BA) changes from > 0 to <= 0), by bisection."""
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        point = start + middle * (end - start)
        to_ba, to_ab = basin_distances(point[None], lattice)
        if sign * (to_ab[0] - to_ba[0]) > 0.0:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def _crossing(lattice, times, sliding, margin, fields, last_in_old, first_in_new, origin, frame):
    """Build the Crossing of an excursion whose frames are indexed last_in_old..first_in_new
    of the arrays (``frame`` is the global index of first_in_new)."""
    sign = 1.0 if origin == BA else -1.0
    k = first_in_new - 1
    while k > last_in_old and not (sign * margin[k] > 0.0 >= sign * margin[k + 1]):
        k -= 1
    weight = _dividing_point(lattice, sliding[k][:2], sliding[k + 1][:2], sign)
    time = times[k] + weight * (times[k + 1] - times[k])
    field = None
    if fields is not None and np.isfinite(fields[k]).all() and np.isfinite(fields[k + 1]).all():
        field = tuple(float(x) for x in fields[k] + weight * (fields[k + 1] - fields[k]))
    displacement = np.asarray(sliding[first_in_new][:2]) - np.asarray(sliding[last_in_old][:2])
    return Crossing(int(frame), float(time), basin_name(lattice, origin),
                    basin_name(lattice, -origin),
                    float(theta_of(displacement)), tuple(float(x) for x in displacement), field)


def detect_crossings(times, sliding_vectors, lattice, fields=None, capture_radius=None):
    """Every BA <-> AB crossing of a sliding-vector time series.

    Args:
        times: (F,) [ps], increasing.
        sliding_vectors: (F, 2) or (F, 3) [A], continuous in time (unwrapped).
        lattice: :class:`~slidesim.analysis.lattice.HexLattice`, the primitive lattice.
        fields: (F, 3) [V/A] electric field per frame, or None.
        capture_radius: [A] distance from a site within which a frame is in its basin;
            default :func:`default_capture_radius`.
    Returns a list of :class:`Crossing`, in time order.
    """
    times = np.asarray(times, dtype=np.float64)
    sliding = np.asarray(sliding_vectors, dtype=np.float64)
    if sliding.ndim != 2 or sliding.shape[0] != times.shape[0]:
        raise ValueError(f"sliding_vectors {sliding.shape} must be (F, 2 or 3) with F = "
                         f"{times.shape[0]} frames")
    if fields is not None:
        fields = np.asarray(fields, dtype=np.float64)
    radius = default_capture_radius(lattice) if capture_radius is None else float(capture_radius)
    to_ba, to_ab = basin_distances(sliding, lattice)
    margin = to_ab - to_ba  # > 0 on the BA side of the dividing line
    basin = np.where(to_ba < radius, BA, np.where(to_ab < radius, AB, NONE))
    crossings, current, last_in = [], NONE, -1
    for frame in np.flatnonzero(basin != NONE):
        state = basin[frame]
        if current != NONE and state != current:
            crossings.append(_crossing(lattice, times, sliding, margin, fields, last_in, frame, current,
                                       frame))
        current, last_in = state, frame
    return crossings


class SwitchingDetector:
    """Online version of :func:`detect_crossings`: feed one frame at a time.

    ``detector = SwitchingDetector(lattice)``; then per frame
    ``crossing = detector.update(time, sliding_vector, field)`` returns a :class:`Crossing` on
    the frame that completes one, else None. Its memory (:class:`DetectorMemory`, the frames
    since the last basin visit) is the public attribute ``memory``: pass it back to continue.
    """

    def __init__(self, lattice, capture_radius=None, memory=None):
        self.lattice = lattice
        self.capture_radius = (default_capture_radius(lattice) if capture_radius is None
                               else float(capture_radius))
        self.memory = DetectorMemory() if memory is None else memory

    @property
    def basin(self):
        return self.memory.basin

    def update(self, time, sliding_vector, field=None):
        """Add the next frame: time [ps], sliding_vector (2 or 3,) [A], field (3,) [V/A] or None.
        Returns the :class:`Crossing` this frame completes, or None."""
        memory = self.memory
        memory.frame += 1
        t = np.array(sliding_vector, dtype=np.float64)[:2]  # copies: the caller's arrays change
        to_ba, to_ab = basin_distances(t[None], self.lattice)
        to_ba, to_ab = float(to_ba[0]), float(to_ab[0])
        record = (float(time), t, to_ab - to_ba,
                  None if field is None else np.array(field, dtype=np.float64))
        state = BA if to_ba < self.capture_radius else AB if to_ab < self.capture_radius else NONE
        memory.excursion.append(record)
        crossing = None
        if state != NONE:
            if memory.basin != NONE and state != memory.basin:
                excursion = memory.excursion
                times = np.array([r[0] for r in excursion])
                sliding = np.array([r[1] for r in excursion])
                margin = np.array([r[2] for r in excursion])
                fields = None
                if all(r[3] is not None for r in excursion):
                    fields = np.array([r[3] for r in excursion])
                crossing = _crossing(self.lattice, times, sliding, margin, fields, 0, len(times) - 1,
                                     memory.basin, memory.frame)
            memory.basin = state
            memory.excursion = [record]
        return crossing
