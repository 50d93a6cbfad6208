"""A harmonic tether to fixed anchor points: an analytic stand-in model for engine tests.

Every atom feels E = k/2 |r - r0|^2 towards its own anchor r0 (an Einstein crystal): the
canonical averages are known exactly (<E_pot> = 3/2 N kB T), which makes it a sharp test of
thermostats and integrators. Not a physical model of a bilayer.
"""

import numpy as np

from slidesim.kernels.tether import tether_forces
from slidesim.models.base import ForceTerm, TermResult, voigt


class TetherTerm(ForceTerm):
    """Harmonic tether. anchors (N, 3) [A]; spring [eV/A^2]."""

    name = "tether"
    requests = {}

    def __init__(self, anchors, spring=5.0):
        self.anchors = np.array(anchors, dtype=np.float64)  # a copy: anchors stay put
        self.spring = float(spring)

    def compute(self, positions, cell, species, layer, neighbor_lists):
        forces = np.empty_like(positions)
        energy = tether_forces(positions, self.anchors, self.spring, forces)
        return TermResult(energy, forces, voigt(positions.T @ forces))
