"""The one explicit state of a slidesim simulation.

Everything needed to continue a run bit for bit lives here; a checkpoint is this object written
to disk and a restart is reading it back. Arrays carry a leading replica axis R: the engine
advances R independent copies of the same system (different seeds, temperatures, fields) in one
loop. R = 1 is the common case.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class State:
    """Dynamical state of R replicas of one N-atom system.

    Attributes (shapes, units):
        positions: (R, N, 3) float64 [A], unwrapped (atoms keep moving continuously across the
            periodic boundaries; wrap with :func:`wrap_positions` for display).
        velocities: (R, N, 3) float64 [A/ps].
        cell: (3, 3) float64 [A], rows a, b, c; periodic along a and b, open along c.
        species: (N,) int64, index into ``species_names``.
        species_names: tuple of element symbols, e.g. ("B", "N").
        masses: (N,) float64 [amu].
        layer: (N,) int64, 0 bottom, 1 top.
        thermostat: (R, 3, M) float64: Nose-Hoover chain positions eta [1] (row 0),
            velocities eta_dot [1/ps] (row 1) and accelerations eta_dotdot [1/ps^2] (row 2,
            carried between steps as in LAMMPS ``fix nvt``) for a chain of length M (M = 0
            without one).
        rng_states: list of R dicts, numpy ``PCG64`` bit-generator states (Langevin noise,
            initial velocities), so that a restart continues the same random stream.
        step: int, MD steps done since the start of the run.
        time: float [ps], simulated time since the start of the run.
        stage: int, index of the running stage in the schedule.
        stage_step: int, steps done within that stage.
    """

    positions: np.ndarray
    velocities: np.ndarray
    cell: np.ndarray
    species: np.ndarray
    species_names: tuple
    masses: np.ndarray
    layer: np.ndarray
    thermostat: np.ndarray = None
    rng_states: list = field(default_factory=list)
    step: int = 0
    time: float = 0.0
    stage: int = 0
    stage_step: int = 0

    def __post_init__(self):
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64)
        if self.positions.ndim == 2:
            self.positions = self.positions[None]
        if self.velocities is None:
            self.velocities = np.zeros_like(self.positions)
        self.velocities = np.ascontiguousarray(self.velocities, dtype=np.float64)
        if self.velocities.ndim == 2:
            self.velocities = self.velocities[None]
        self.cell = np.ascontiguousarray(self.cell, dtype=np.float64)
        self.species = np.ascontiguousarray(self.species, dtype=np.int64)
        self.species_names = tuple(self.species_names)
        self.masses = np.ascontiguousarray(self.masses, dtype=np.float64)
        self.layer = np.ascontiguousarray(self.layer, dtype=np.int64)
        if self.thermostat is None:
            self.thermostat = np.zeros((self.n_replicas, 3, 0))
        if self.positions.shape != self.velocities.shape:
            raise ValueError(f"positions {self.positions.shape} and velocities "
                             f"{self.velocities.shape} differ in shape")
        for name in ("species", "masses", "layer"):
            if len(getattr(self, name)) != self.n_atoms:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for "
                                 f"{self.n_atoms} atoms")

    @property
    def n_replicas(self):
        return self.positions.shape[0]

    @property
    def n_atoms(self):
        return self.positions.shape[1]

    def symbols(self):
        """Element symbol of every atom, as a list."""
        return [self.species_names[s] for s in self.species]

    def replicate(self, n_replicas):
        """A state with ``n_replicas`` identical copies of replica 0 (velocities copied too)."""
        rep = lambda a: np.repeat(a[:1], n_replicas, axis=0)
        return State(rep(self.positions), rep(self.velocities), self.cell.copy(), self.species,
                     self.species_names, self.masses, self.layer, rep(self.thermostat),
                     [dict(self.rng_states[0]) for _ in range(n_replicas)] if self.rng_states
                     else [], self.step, self.time, self.stage, self.stage_step)


def wrap_positions(positions, cell):
    """Positions folded into the cell along a and b (z untouched). Works on (..., 3) arrays."""
    inv = np.linalg.inv(cell[:2, :2])
    frac = positions[..., :2] @ inv
    shift = np.floor(frac) @ cell[:2, :2]
    out = positions.copy()
    out[..., :2] -= shift
    return out
