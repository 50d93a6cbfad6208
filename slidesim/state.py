"""The one explicit state of a slidesim run.

Everything needed to continue a run bit for bit lives here, as typed fields: a checkpoint is
this object written to disk (:mod:`slidesim.io.checkpoint`) and a restart is reading it back.
Nothing that changes during a run is kept anywhere else (the driver, the integrators, the field
coupling and the observers hold settings, not state). Arrays carry a leading replica axis R:
the engine advances R independent copies of the same system (different seeds, temperatures,
fields) in one loop. R = 1 is the common case.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class DetectorMemory:
    """What a :class:`~slidesim.analysis.switching.SwitchingDetector` remembers between frames
    (and a checkpoint keeps).

    basin: BA (1), AB (-1) or none (0), the basin last visited; frame: index of the last frame
    seen (-1 before the first); excursion: the frames since the last one in a basin, each
    ``(time [ps], t (2,) [A], d_AB - d_BA [A], field (3,) [V/A] or None)``.
    """

    basin: int = 0
    frame: int = -1
    excursion: list = field(default_factory=list)

    def as_json(self):
        """JSON-friendly data (plain lists and floats), read back by :meth:`from_json`."""
        return {"basin": int(self.basin), "frame": int(self.frame),
                "excursion": [[t, [float(x) for x in v], m,
                               None if f is None else [float(x) for x in f]]
                              for t, v, m, f in self.excursion]}

    @classmethod
    def from_json(cls, data):
        return cls(int(data["basin"]), int(data["frame"]),
                   [(float(t), np.array(v, dtype=np.float64), float(m),
                     None if f is None else np.array(f, dtype=np.float64))
                    for t, v, m, f in data["excursion"]])


@dataclass
class SwitchingRecord:
    """What the run knows about BA <-> AB switching (see :mod:`slidesim.switch_watch`).

    events: list of event dicts, in time order: ``start``/``end`` ('BA' or 'AB'), ``time``
        [ps], ``step``, ``field`` [V/A] (3 floats), ``theta`` [deg], ``stage`` (name),
        ``replica``. Written to ``events.json`` as they happen.
    switched_in_stage: replicas that switched in the running stage (for ``stop switched``).
    detectors: one :class:`DetectorMemory` per replica (the frames
        since each replica last sat in a basin), so a crossing that straddles a restart is found.
    """

    events: list = field(default_factory=list)
    switched_in_stage: list = field(default_factory=list)
    detectors: list = field(default_factory=list)

    @classmethod
    def fresh(cls, n_replicas):
        return cls([], [], [DetectorMemory() for _ in range(n_replicas)])

    def as_json(self):
        return {"events": self.events, "switched_in_stage": sorted(self.switched_in_stage),
                "detectors": [d.as_json() for d in self.detectors]}

    @classmethod
    def from_json(cls, data, n_replicas):
        detectors = [DetectorMemory.from_json(d) for d in data.get("detectors", [])]
        detectors += [DetectorMemory() for _ in range(n_replicas - len(detectors))]
        return cls(list(data.get("events", [])), sorted(data.get("switched_in_stage", [])),
                   detectors)


@dataclass
class State:
    """The whole state of a run of R replicas of one N-atom system.

    System (the same for every replica):
        cell: (3, 3) float64 [A], rows a, b, c; periodic along a and b, open along c.
        species: (N,) int64, index into ``species_names``.
        species_names: tuple of element symbols, e.g. ("B", "N").
        masses: (N,) float64 [amu].
        layer: (N,) int64, 0 bottom, 1 top.
        initial_positions: (N, 3) float64 [A], the starting structure of the run (replica 0);
            the sliding vector's registry is found from it, also after a restart, so that t
            stays continuous.

    Dynamics (per replica):
        positions: (R, N, 3) float64 [A], unwrapped (atoms keep moving continuously across the
            periodic boundaries; wrap with :func:`wrap_positions` for display).
        velocities: (R, N, 3) float64 [A/ps].
        nose_hoover: (R, 3, M) float64, the Nose-Hoover chain of each replica: positions eta
            [1] (row 0), velocities eta_dot [1/ps] (row 1) and accelerations eta_dotdot
            [1/ps^2] (row 2, carried between steps as in LAMMPS ``fix nvt``) for a chain of
            length M (M = 0 for other integrators).
        bath_energy: (R,) float64 [eV], energy the Langevin bath took out of the system (zero
            for other integrators), so that potential + kinetic + bath is conserved.
        rng_states: list of R dicts, numpy ``PCG64`` bit-generator states (Langevin noise,
            initial velocities), so that a restart continues the same random stream.

    Field coupling (per replica):
        field: (R, 3) float64 [V/A], the uniform electric field at the current step.
        dipole: (R, 3) float64 [e A], the dipole P at the current positions: the model's own
            where it predicts one, else integrated from its Born charges along the trajectory.
        field_work: (R,) float64 [eV], -sum of P.dE over the run (the work of a changing field),
            so that potential + kinetic - E.P + field_work (+ bath) is conserved.

    Barostat (per replica; in-plane NPT, slidesim.barostat):
        barostat: (R, 2) float64: eps [1], the log of the in-plane scale of the cell since the
            start, and v_eps [1/ps], its rate (zeros without a barostat).
        barostat_chain: (R, 3, Mp) float64, the barostat's Nose-Hoover chain (rows eta, eta_dot
            [1/ps], eta_dotdot [1/ps^2]; Mp = 0 without a barostat).

    Progress:
        step: int, MD steps done since the start of the run.
        time: float [ps], simulated time since the start of the run.
        stage: int, index of the running stage in the schedule.
        stage_step: int, steps done within that stage.

    Observers' memory:
        switching: :class:`SwitchingRecord`, switching events and detector memories.

    Neighbour lists:
        neighbor_anchors: (R, L, N, 3) float64 [A] or None, the positions each of a replica's L
            neighbour lists was last built from (in the model's request order), so that a
            restart rebuilds the very same lists and continues bit for bit; None: lists are
            built from the current positions.
    """

    positions: np.ndarray
    velocities: np.ndarray
    cell: np.ndarray
    species: np.ndarray
    species_names: tuple
    masses: np.ndarray
    layer: np.ndarray
    initial_positions: np.ndarray = None
    nose_hoover: np.ndarray = None
    bath_energy: np.ndarray = None
    rng_states: list = field(default_factory=list)
    field: np.ndarray = None
    dipole: np.ndarray = None
    field_work: np.ndarray = None
    step: int = 0
    time: float = 0.0
    stage: int = 0
    stage_step: int = 0
    switching: SwitchingRecord = None
    neighbor_anchors: np.ndarray = None
    barostat: np.ndarray = None
    barostat_chain: np.ndarray = None

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
        r = self.n_replicas
        if self.initial_positions is None:
            self.initial_positions = self.positions[0].copy()
        self.initial_positions = np.ascontiguousarray(self.initial_positions, dtype=np.float64)
        self.nose_hoover = _array(self.nose_hoover, (r, 3, 0))
        self.bath_energy = _array(self.bath_energy, (r,))
        self.field = _array(self.field, (r, 3))
        self.dipole = _array(self.dipole, (r, 3))
        self.field_work = _array(self.field_work, (r,))
        self.barostat = _array(self.barostat, (r, 2))
        self.barostat_chain = _array(self.barostat_chain, (r, 3, 0))
        if self.switching is None:
            self.switching = SwitchingRecord.fresh(r)
        if self.positions.shape != self.velocities.shape:
            raise ValueError(f"positions {self.positions.shape} and velocities "
                             f"{self.velocities.shape} differ in shape")
        for name in ("species", "masses", "layer", "initial_positions"):
            if len(getattr(self, name)) != self.n_atoms:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for "
                                 f"{self.n_atoms} atoms")
        for name in ("nose_hoover", "bath_energy", "field", "dipole", "field_work",
                     "barostat", "barostat_chain"):
            if len(getattr(self, name)) != r:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows for {r} replicas")

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
        """A state with ``n_replicas`` identical copies of replica 0 (all per-replica fields)."""
        rep = lambda a: np.repeat(a[:1], n_replicas, axis=0)
        return State(rep(self.positions), rep(self.velocities), self.cell.copy(), self.species,
                     self.species_names, self.masses, self.layer, self.initial_positions.copy(),
                     rep(self.nose_hoover), rep(self.bath_energy),
                     [dict(self.rng_states[0]) for _ in range(n_replicas)] if self.rng_states
                     else [], rep(self.field), rep(self.dipole), rep(self.field_work),
                     self.step, self.time, self.stage, self.stage_step,
                     SwitchingRecord.fresh(n_replicas),
                     barostat=rep(self.barostat), barostat_chain=rep(self.barostat_chain))


def _array(value, shape):
    """``value`` as a contiguous float64 array, or zeros of ``shape`` when None."""
    if value is None:
        return np.zeros(shape)
    return np.ascontiguousarray(value, dtype=np.float64)


def wrap_positions(positions, cell):
    """Positions folded into the cell along a and b (z untouched). Works on (..., 3) arrays."""
    inv = np.linalg.inv(cell[:2, :2])
    frac = positions[..., :2] @ inv
    shift = np.floor(frac) @ cell[:2, :2]
    out = positions.copy()
    out[..., :2] -= shift
    return out
