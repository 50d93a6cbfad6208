"""Energy minimisation: FIRE on the atoms, optionally with the in-plane cell.

The relaxer works on plain arrays through one callable,
``evaluate(positions, cell) -> (energy [eV], forces (N, 3) [eV/A], virial (6,) [eV])``, so any
slidesim model (classical, machine-learned, with a field coupled) can be relaxed the same way;
:func:`relax_state` builds that callable from an :class:`~slidesim.step.Engine` and a state.

FIRE (Bitzek et al., PRL 97, 170201, 2006) is damped dynamics of unit masses on the
generalised coordinates ``X``; its velocity is mixed towards the force while the power F.v
stays positive, and zeroed (with a shorter timestep) as soon as it turns negative.

With the in-plane cell free, the coordinates are those of a deformation of a reference cell
(the "unit-cell filter" of ASE, Tadmor et al. PRB 59, 235, 1999), limited to the periodic
plane: the in-plane part of every position and of the cell rows a, b is ``D`` applied to a
reference vector, ``r_xy = D u_xy``; z and c are left alone. The enthalpy
``H = E + P_target V`` (V = area x c, as LAMMPS's box volume) has the derivatives

    -dH/du_i = D^T F_i (in-plane)          -dH/dD = (W - P_target V 1) D^-T

with W the 2 x 2 in-plane virial (sum r F, LAMMPS sign). ``iso`` keeps D = lambda 1 (a and b
scaled together, LAMMPS ``fix box/relax x P y P couple xy``, the hexagonal shape kept); its
force is tr(W - P V 1) / lambda. ``aniso`` lets D be upper triangular (xx, xy, yy: a keeps
its direction), which reaches W = P V 1 in xx, yy and xy (LAMMPS ``x P y P xy P``). The cell
coordinates are D times ``cell_factor`` (the number of atoms by default, as ASE), so that
cell and atom forces are of one scale.

Convergence: the largest force on an atom below ``ftol`` [eV/A] and, with the cell free, the
in-plane stress within ``stol`` [bar] of the target: for iso the in-plane pressure
(W_xx + W_yy) / 2V, for aniso each of W_xx/V, W_yy/V, W_xy/V (against P, P and 0).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from slidesim import units

#: cell relaxation modes
CELL_MODES = ("iso", "aniso")


@dataclass(frozen=True)
class CellRelax:
    """What of the cell relaxes, and to what.

    mode: "iso" (a, b scaled together) or "aniso" (xx, yy and the xy tilt); pressure: the
    target in-plane pressure [bar] over the cell's volume (area x c, as LAMMPS's box volume);
    tolerance: how close [bar] the in-plane stress must come to it.
    """

    mode: str = "iso"
    pressure: float = 0.0
    tolerance: float = 1.0

    def __post_init__(self):
        if self.mode not in CELL_MODES:
            raise ValueError(f"unknown cell relaxation '{self.mode}'; choose iso or aniso")
        if not self.tolerance > 0:
            raise ValueError(f"the stress tolerance must be positive, got {self.tolerance} bar")


@dataclass(frozen=True)
class Fire:
    """FIRE settings. ftol: largest atomic force [eV/A] at convergence; max_steps: force
    evaluations at most; dt, dt_max: FIRE timestep and its ceiling [unit-mass time,
    A/sqrt(eV/A)]; max_move: largest step of any coordinate per iteration [A]; n_min, f_inc,
    f_dec, alpha0, f_alpha: the FIRE constants of Bitzek et al.; cell_factor: scale of the
    cell coordinates (None: the number of atoms)."""

    ftol: float = 1e-4
    max_steps: int = 2000
    dt: float = 0.1
    dt_max: float = 1.0
    max_move: float = 0.1
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha0: float = 0.1
    f_alpha: float = 0.99
    cell_factor: float = None

    def __post_init__(self):
        if not self.ftol > 0:
            raise ValueError(f"the force tolerance must be positive, got {self.ftol} eV/A")
        if self.max_steps < 1:
            raise ValueError(f"a minimisation needs at least one step, got {self.max_steps}")


@dataclass
class MinimizeResult:
    """converged: whether both tolerances were met; steps: force evaluations; energy [eV] (the
    model's, with -E.P under a field; without P_target V); fmax [eV/A]; stress (3,) [bar]:
    W_xx/V, W_yy/V, W_xy/V (positive: the cell wants to grow); pressure [bar]: the in-plane
    pressure (W_xx + W_yy)/2V; cell (3, 3) [A]; history: rows (step, energy, fmax, pressure,
    |a|, |b|) of every step."""

    converged: bool
    steps: int
    energy: float
    fmax: float
    stress: np.ndarray
    pressure: float
    cell: np.ndarray
    history: list = field(default_factory=list)

    @property
    def reason(self):
        return "converged" if self.converged else "step limit reached"


def in_plane_stress(virial, cell):
    """(W_xx, W_yy, W_xy) / V [bar] of a virial (6,) [eV] in ``cell`` (V = |det cell|)."""
    volume = abs(np.linalg.det(cell))
    return np.array([virial[0], virial[1], virial[3]]) / volume * units.NKTV2P


class _Coordinates:
    """The generalised coordinates X of atoms and (optionally) the in-plane cell, and the
    forces on them: the bookkeeping of the module docstring."""

    def __init__(self, positions, cell, cell_relax, cell_factor):
        self.n = len(positions)
        self.cell0 = cell.copy()
        self.relax = cell_relax
        self.scale = float(cell_factor if cell_factor is not None else self.n)
        self.mode = None if cell_relax is None else cell_relax.mode
        self.n_cell = {None: 0, "iso": 1, "aniso": 3}[self.mode]
        self.x = np.concatenate([positions.ravel(), self.scale * self._params(np.eye(2))])

    def _params(self, d):
        if self.mode == "iso":
            return np.array([d[0, 0]])
        if self.mode == "aniso":
            return np.array([d[0, 0], d[0, 1], d[1, 1]])
        return np.zeros(0)

    def deformation(self):
        p = self.x[3 * self.n:] / self.scale
        if self.mode == "iso":
            return p[0] * np.eye(2)
        if self.mode == "aniso":
            return np.array([[p[0], p[1]], [0.0, p[2]]])
        return np.eye(2)

    def realise(self, positions, cell):
        """Write the positions and cell of X into ``positions``, ``cell`` (in place)."""
        d = self.deformation()
        u = self.x[:3 * self.n].reshape(self.n, 3)
        positions[:, 2] = u[:, 2]
        positions[:, :2] = u[:, :2] @ d.T
        cell[:] = self.cell0
        cell[:, :2] = self.cell0[:, :2] @ d.T
        return d

    def forces(self, forces, virial, cell, d):
        """-dH/dX for the atoms' forces (N, 3) [eV/A] and virial (6,) [eV]."""
        out = np.empty_like(self.x)
        f = out[:3 * self.n].reshape(self.n, 3)
        f[:, 2] = forces[:, 2]
        f[:, :2] = forces[:, :2] @ d
        if self.mode is not None:
            volume = abs(np.linalg.det(cell))
            target = self.relax.pressure / units.NKTV2P * volume
            s = np.array([[virial[0], virial[3]], [virial[3], virial[1]]]) - target * np.eye(2)
            if self.mode == "iso":
                g = np.array([np.trace(s) / d[0, 0]])
            else:
                full = s @ np.linalg.inv(d).T
                g = np.array([full[0, 0], full[0, 1], full[1, 1]])
            out[3 * self.n:] = g / self.scale
        return out

    def stress_converged(self, stress, tolerance):
        if self.mode is None:
            return True
        p = self.relax.pressure
        if self.mode == "iso":
            return abs(0.5 * (stress[0] + stress[1]) - p) < tolerance
        return max(abs(stress[0] - p), abs(stress[1] - p), abs(stress[2])) < tolerance


def minimize(evaluate, positions, cell, fire=Fire(), cell_relax=None, log=None):
    """Relax ``positions`` (N, 3) [A] and, with ``cell_relax``, the in-plane part of ``cell``
    (3, 3) [A], both in place, by FIRE on ``evaluate(positions, cell) -> (energy [eV],
    forces (N, 3) [eV/A], virial (6,) [eV])``. ``log(row)`` is called with each history row.
    Returns a :class:`MinimizeResult`."""
    coords = _Coordinates(positions, cell, cell_relax, fire.cell_factor)
    tolerance = cell_relax.tolerance if cell_relax is not None else None
    v = np.zeros_like(coords.x)
    dt, alpha, n_positive = fire.dt, fire.alpha0, 0
    history = []
    for step in range(fire.max_steps + 1):
        d = coords.realise(positions, cell)
        energy, forces, virial = evaluate(positions, cell)
        stress = in_plane_stress(virial, cell)
        fmax = float(np.sqrt((forces ** 2).sum(axis=1).max())) if len(forces) else 0.0
        if not (math.isfinite(energy) and np.isfinite(forces).all()):
            raise ValueError(f"the model returned a non-finite energy or force at minimisation "
                             f"step {step}; the structure has atoms too close together?")
        row = (step, float(energy), fmax, float(0.5 * (stress[0] + stress[1])),
               float(np.linalg.norm(cell[0])), float(np.linalg.norm(cell[1])))
        history.append(row)
        if log is not None:
            log(row)
        converged = fmax < fire.ftol and coords.stress_converged(stress, tolerance)
        if converged or step == fire.max_steps:
            return MinimizeResult(converged, step, float(energy), fmax, stress, row[3],
                                  cell.copy(), history)
        g = coords.forces(forces, virial, cell, d)
        power = g @ v
        if power > 0.0:
            g_norm = np.sqrt(g @ g)
            v = (1.0 - alpha) * v + alpha * np.sqrt(v @ v) * g / g_norm
            if n_positive > fire.n_min:
                dt = min(dt * fire.f_inc, fire.dt_max)
                alpha *= fire.f_alpha
            n_positive += 1
        else:
            v[:] = 0.0
            dt *= fire.f_dec
            alpha = fire.alpha0
            n_positive = 0
        v += dt * g
        move = dt * v
        largest = max(np.sqrt((move[:3 * coords.n].reshape(-1, 3) ** 2).sum(axis=1)).max(),
                      np.abs(move[3 * coords.n:]).max(initial=0.0))
        if largest > fire.max_move:
            move *= fire.max_move / largest
        coords.x += move


def relax_state(engine, state, field, fire=Fire(), cell_relax=None, log=None):
    """Relax every replica of ``state`` in place with ``engine``'s model (the whole model, also
    under r-RESPA) in the uniform ``field`` (3,) [V/A] (energy -E.P, forces Z^T E through the
    engine's field coupling; None or zeros without). With ``cell_relax`` the in-plane cell
    relaxes too, which needs a single replica (replicas share the cell). ``log(replica, row)``
    sees every step. Returns one :class:`MinimizeResult` per replica."""
    from slidesim.state import State
    from slidesim.step import Engine

    if cell_relax is not None and state.n_replicas > 1:
        raise ValueError(f"the cell can relax for one replica only (the {state.n_replicas} "
                         "replicas share the cell); use 'replicas 1' or drop 'cell'")
    field = np.zeros(3) if field is None else np.asarray(field, dtype=np.float64)
    outcomes = []
    for r in range(state.n_replicas):
        one = State(state.positions[r:r + 1].copy(), state.velocities[r:r + 1].copy(),
                    state.cell.copy(), state.species, state.species_names, state.masses,
                    state.layer, state.initial_positions, field=state.field[r:r + 1].copy(),
                    dipole=state.dipole[r:r + 1].copy(),
                    field_work=state.field_work[r:r + 1].copy())
        single = Engine(engine.model, [engine.neighbor_lists[r]], engine.integrator,
                        engine.coupling)
        memory = {"results": None, "positions": None}

        def evaluate(positions, cell, one=one, single=single, memory=memory):
            # positions, cell are one.positions[0] and one.cell, changed in place by FIRE
            results = single.evaluate(one, field, memory["results"], memory["positions"])
            memory["results"], memory["positions"] = results, one.positions.copy()
            return results[0].energy, results[0].forces, results[0].virial

        outcome = minimize(evaluate, one.positions[0], one.cell, fire, cell_relax,
                           None if log is None else (lambda row, r=r: log(r, row)))
        state.positions[r] = one.positions[0]
        state.dipole[r], state.field[r] = one.dipole[0], one.field[0]
        state.field_work[r] = one.field_work[0]
        if cell_relax is not None:
            state.cell[:] = one.cell
        outcomes.append(outcome)
    return outcomes
