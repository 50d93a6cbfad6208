"""Online detection of polarization switching by sliding (BA <-> AB) during a run.

The order parameter of the paper is psi = exp(i G.t) with G = a* - b* of the monolayer lattice:
Im psi = +sqrt(3)/2 in BA, -sqrt(3)/2 in AB, 0 at the saddle point SP (and at AA). A switch is a
passage from one polar basin to the other; its *crossing* is where Im psi changes sign on the way
(the sliding vector reaches SP), and the field at that moment is the coercive field as the paper
defines it. The direction of sliding theta is measured counterclockwise from +y, as in the paper
(the BA -> AB slide along b - a has theta = 60 deg).
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

#: |Im psi| above this (half the polar value) counts as being in a polar basin
BASIN_THRESHOLD = math.sqrt(3.0) / 4.0


def primitive_lattice(state, lattice=None):
    """In-plane primitive vectors (2, 3) [A] of the monolayer, in slidesim's orientation.

    With ``lattice`` (a [A]) the builder's a = (a, 0, 0), b = (-a/2, a sqrt3/2, 0) is returned.
    Otherwise they are read off the structure: the shortest same-species vectors within the
    bottom layer (periodic images included), a the one closest to the supercell's a direction and
    b the one 120 degrees counterclockwise from it.
    """
    if lattice is not None:
        return np.array([[lattice, 0.0, 0.0], [-lattice / 2, lattice * math.sqrt(3) / 2, 0.0]])
    x, cell = state.positions[0], state.cell
    bottom = np.flatnonzero(state.layer == 0)
    first = bottom[0]
    same = bottom[(state.species[bottom] == state.species[first]) & (bottom != first)]
    inv = np.linalg.inv(cell[:2, :2])
    delta = x[same, :2] - x[first, :2]
    frac = delta @ inv
    images = np.array([(p, q) for p in (-1, 0, 1) for q in (-1, 0, 1)], float)
    frac = (frac - np.round(frac))[:, None, :] + images[None]
    vectors = (frac @ cell[:2, :2]).reshape(-1, 2)
    # the lattice also repeats through the supercell itself: the atom's own images count
    vectors = np.concatenate([vectors, images[np.any(images != 0, axis=1)] @ cell[:2, :2]])
    lengths = np.hypot(vectors[:, 0], vectors[:, 1])
    a_len = lengths[lengths > 1e-6].min()
    shortest = vectors[np.abs(lengths - a_len) < 0.05 * a_len]
    a_dir = cell[0, :2] / np.linalg.norm(cell[0, :2])
    a_vec = shortest[np.argmax(shortest @ a_dir)]
    rot = np.array([[-0.5, -math.sqrt(3) / 2], [math.sqrt(3) / 2, -0.5]])  # +120 degrees
    b_vec = rot @ a_vec
    out = np.zeros((2, 3))
    out[0, :2], out[1, :2] = a_vec, b_vec
    return out


def reciprocal_vector(primitive, ha=1, hb=-1):
    """G = ha a* + hb b* [1/A] (3,), with a_i . b*_j = 2 pi delta_ij in the plane."""
    recip = 2 * math.pi * np.linalg.inv(primitive[:, :2]).T
    g = np.zeros(3)
    g[:2] = ha * recip[0] + hb * recip[1]
    return g


def order_parameter(sliding_vector, g):
    """psi = exp(i G.t) (complex) for a sliding vector t [A] (3,) or (n, 3)."""
    return np.exp(1j * (np.asarray(sliding_vector) @ g))


def sliding_angle(displacement):
    """Direction [deg, 0..360) of an in-plane displacement, counterclockwise from +y."""
    return math.degrees(math.atan2(-displacement[0], displacement[1])) % 360.0


@dataclass
class SwitchingEvent:
    """A completed switch. ``start``/``end``: "BA" or "AB"; ``time``/``step``: the crossing
    (Im psi changing sign) [ps]; ``field`` (3,) [V/A] at the crossing; ``theta`` [deg] the
    sliding direction from the last point in the old basin to the crossing; ``stage`` name."""

    start: str
    end: str
    time: float
    step: int
    field: tuple
    theta: float
    stage: str

    def to_dict(self):
        return asdict(self)


class SwitchingMonitor:
    """Follows t(time) of one replica and reports switches BA <-> AB as they complete.

    primitive: (2, 3) monolayer vectors [A]. Call :meth:`update` every step (or every few).
    """

    def __init__(self, primitive):
        self.g = reciprocal_vector(primitive)
        self.basin = None          # "BA" or "AB" once in one
        self.exit_point = None     # last sliding vector inside the current basin
        self.crossing = None       # (time, step, field, t) of the latest sign change of Im psi
        self.last_im = None
        self.events = []

    def classify(self, sliding_vector):
        im = order_parameter(sliding_vector, self.g).imag
        if im > BASIN_THRESHOLD:
            return "BA", im
        if im < -BASIN_THRESHOLD:
            return "AB", im
        return None, im

    def update(self, time, step, sliding_vector, field, stage=""):
        """Feed one sample; returns a :class:`SwitchingEvent` when a switch completes."""
        basin, im = self.classify(sliding_vector)
        event = None
        if self.last_im is not None and (im > 0) != (self.last_im > 0) and self.basin is not None:
            self.crossing = (time, step, tuple(float(f) for f in field), np.array(sliding_vector))
        if basin is not None:
            if self.basin is not None and basin != self.basin and self.crossing is not None:
                c_time, c_step, c_field, c_t = self.crossing
                theta = sliding_angle(c_t - self.exit_point)
                event = SwitchingEvent(self.basin, basin, c_time, c_step, c_field, theta, stage)
                self.events.append(event)
            if basin != self.basin:
                self.crossing = None
            self.basin = basin
            self.exit_point = np.array(sliding_vector)
        self.last_im = im
        return event

    def snapshot(self):
        """The monitor's memory as JSON-friendly data (for checkpoints)."""
        crossing = None
        if self.crossing is not None:
            c_time, c_step, c_field, c_t = self.crossing
            crossing = [c_time, c_step, list(c_field), c_t.tolist()]
        return {"basin": self.basin, "last_im": self.last_im, "crossing": crossing,
                "exit_point": None if self.exit_point is None else self.exit_point.tolist()}

    def restore(self, saved):
        """Continue from :meth:`snapshot` data."""
        self.basin = saved["basin"]
        self.last_im = saved["last_im"]
        self.exit_point = None if saved["exit_point"] is None else np.array(saved["exit_point"])
        c = saved["crossing"]
        self.crossing = None if c is None else (c[0], c[1], tuple(c[2]), np.array(c[3]))
