"""Energy and polarization landscape of a bilayer over its sliding vectors (``slidesim landscape``).

For each sliding vector t the top layer is shifted rigidly over the bottom one and the
interlayer distance relaxed (:class:`slidesim.rigid.RigidBilayer`); the energy per primitive
cell and the polarization P(t) [pC/m] of the dipole source are recorded, over the hexagon of
sliding vectors centred on BA (the paper's Fig. 3a) and along BA -> SP -> AB (Fig. 1b, c).
The lattice constant and the registry-dipole parameters are the model's (its catalog entry,
:mod:`slidesim.catalog`) unless given.
"""

import csv
from dataclasses import dataclass

import numpy as np

from slidesim.geometry import in_plane_area, primitive_cell, sliding_direction, sliding_vector
from slidesim.rigid import RigidBilayer
from slidesim.structures import material_of_model, monolayer

#: Eq. 3 of the paper (t from SP [A], p [e A] per DFT cell of a = 2.511 A), for the path plot
PAPER_PATH_FIT = {"t_BA": -0.725, "p4_par": 5.82e-3, "p2_par": -1.66e-2, "p3_perp": 9.13e-3,
                  "lattice": 2.511}


@dataclass
class LandscapePoint:
    """One sliding vector t (3,) [A]: relaxed distance [A], energy per primitive cell [eV],
    energy relative to the landscape's minimum [meV] and polarization P (3,) [pC/m]."""

    sliding: np.ndarray
    distance: float
    energy: float
    polarization: np.ndarray
    relative_meV: float = 0.0


def hexagon_sliding_vectors(lattice, divisions):
    """Sliding vectors (M, 3) [A] on a triangular grid of step a / (3 divisions) filling the
    Wigner-Seitz hexagon of the lattice centred on t_BA (its corners are AA and AB)."""
    if int(divisions) < 1:
        raise ValueError(f"divisions must be a positive integer, got {divisions}")
    n = 3 * int(divisions)
    prim = primitive_cell(lattice)
    neighbours = [prim[0], prim[1], prim[0] + prim[1]]
    points = []
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            u = (i * prim[0] + j * prim[1]) / n
            # inside (or on) the hexagon: no nearer lattice point than the origin
            if all(abs(2 * u @ g) <= g @ g * (1 + 1e-9) for g in neighbours):
                points.append(u)
    return sliding_vector("BA", lattice) + np.array(points)


class Landscape:
    """Evaluates energies and polarizations of rigid bilayers at sliding vectors.

    material, model: names (slidesim.models; material None: the model's own, e.g. MoS2 for
    mos2-ilp); lattice [A] (default: the model's own, from its catalog entry, else the
    material's); dipole: a dipole source (``requests``, ``compute``),
    "default" for the model's registry dipole (its catalog entry's parameters; none for species
    they do not cover), None for no polarization (NaN); distance_tolerance [A] of the relaxation.
    """

    #: interlayer distances [A] searched when the distance is relaxed
    bracket = (2.8, 4.2)

    def __init__(self, material="BN", model="bn-ilp", lattice=None, dipole="default",
                 distance_tolerance=1e-4):
        material = material_of_model(model) if material is None else material
        #: names of AA, the stacking at (b - a)/3, SP and at 2(b - a)/3 (XM, MX for TMDs)
        self.names = monolayer(material).stackings
        self.scanner = RigidBilayer.of_model(model, material, lattice, dipole,
                                             bracket=self.bracket)
        self.material, self.lattice = material, self.scanner.lattice
        self.dipole = self.scanner.dipole
        self.distance_tolerance = float(distance_tolerance)

    def polarization(self, state):
        """P (3,) [pC/m] of a state (replica 0), NaN without a dipole source."""
        if self.dipole is None:
            return np.full(3, np.nan)
        return self.scanner.dipole_of(state)[0]

    def point(self, sliding):
        """:class:`LandscapePoint` at sliding vector (3,) [A], distance relaxed."""
        distance, energy = self.scanner.relax(sliding, tolerance=self.distance_tolerance)
        return LandscapePoint(np.asarray(sliding, float), distance, energy,
                              self.scanner.polarization(sliding, distance))

    def hexagon(self, divisions=3):
        """Points over the hexagon of sliding vectors centred on BA."""
        return [self.point(t) for t in hexagon_sliding_vectors(self.lattice, divisions)]

    def path(self, n_points=13):
        """Points from BA to AB through SP, evenly spaced along (b - a)."""
        return [self.point(sliding_vector(s, self.lattice))
                for s in np.linspace(1.0 / 3.0, 2.0 / 3.0, int(n_points))]

    def path_coordinates(self, points):
        """(t from SP [A], P along b - a, P_perp) of path points, as three (n,) arrays."""
        length = np.sqrt(3.0) * self.lattice  # |b - a|
        u = sliding_direction(self.lattice)
        t_sp = np.array([p.sliding @ u for p in points]) - 0.5 * length
        p_par = np.array([p.polarization @ u for p in points])
        return t_sp, p_par, np.array([p.polarization[2] for p in points])


def set_relative_energies(*groups):
    """Fill relative_meV of every point, relative to the lowest energy of all groups."""
    e_min = min(p.energy for group in groups for p in group)
    for group in groups:
        for p in group:
            p.relative_meV = (p.energy - e_min) * 1e3


def write_hexagon_csv(points, path):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t_x_A", "t_y_A", "distance_A", "energy_meV_per_cell",
                         "P_x_pC_per_m", "P_y_pC_per_m", "P_z_pC_per_m"])
        for p in points:
            writer.writerow([f"{p.sliding[0]:.6f}", f"{p.sliding[1]:.6f}", f"{p.distance:.6f}",
                             f"{p.relative_meV:.6f}", *(f"{v:.6f}" for v in p.polarization)])


def write_path_csv(landscape, points, path):
    t_sp, p_par, p_perp = landscape.path_coordinates(points)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t_from_SP_A", "distance_A", "energy_meV_per_cell",
                         "P_par_pC_per_m", "P_perp_pC_per_m"])
        for k, p in enumerate(points):
            writer.writerow([f"{t_sp[k]:.6f}", f"{p.distance:.6f}", f"{p.relative_meV:.6f}",
                             f"{p_par[k]:.6f}", f"{p_perp[k]:.6f}"])


def draw_hexagon(fig, ax, points, names=None, lattice=None, title=None):
    """Draw the hexagon on matplotlib axes: energy shading, in-plane P arrows coloured by
    P_perp (the paper's Fig. 3a); with ``names`` (AA, BA or XM, SP, AB or MX) and ``lattice``
    [A], the stackings at the centre and on the edge are labelled."""
    t = np.array([p.sliding for p in points])
    energy = np.array([p.relative_meV for p in points])
    pol = np.array([p.polarization for p in points])
    shading = ax.tricontourf(t[:, 0], t[:, 1], energy, levels=12, cmap="Greys")
    fig.colorbar(shading, ax=ax, label="energy [meV/cell]", shrink=0.8)
    if np.all(np.isfinite(pol)):
        limit = max(np.abs(pol[:, 2]).max(), 1e-12)
        arrows = ax.quiver(t[:, 0], t[:, 1], pol[:, 0], pol[:, 1], pol[:, 2], cmap="coolwarm",
                           clim=(-limit, limit), pivot="middle")
        fig.colorbar(arrows, ax=ax, label="P_perp [pC/m]", shrink=0.8)
    if names is not None and lattice is not None:
        for name, fraction in zip(names, (0.0, 1 / 3, 0.5, 2 / 3)):
            site = sliding_vector(fraction, lattice)
            ax.annotate(name, site[:2], textcoords="offset points", xytext=(4, 4),
                        color="tab:green", fontsize=9, weight="bold")
            ax.plot(*site[:2], "o", color="tab:green", ms=3)
    ax.set_aspect("equal")
    ax.set_xlabel("t_x [A]")
    ax.set_ylabel("t_y [A]")
    ax.set_title(title or "energy (grey), P_par (arrows), P_perp (colour)", fontsize=9)


def plot_hexagon(points, path, names=None, lattice=None):
    """Energy shading with in-plane P arrows coloured by P_perp (the paper's Fig. 3a), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    draw_hexagon(fig, ax, points, names, lattice)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_path(landscape, points, path):
    """Energy and P_par, P_perp along BA -> SP -> AB (XM -> SP -> MX), with the paper's Eq. 3
    fits of h-BN dashed (for h-BN only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from slidesim import units

    t_sp, p_par, p_perp = landscape.path_coordinates(points)
    fit = PAPER_PATH_FIT
    t = np.linspace(t_sp.min(), t_sp.max(), 200)
    to_pc = units.dipole_per_area_to_pC_per_m(1.0, in_plane_area(primitive_cell(fit["lattice"])))
    t_ba = fit["t_BA"]
    eq3_par = (fit["p4_par"] * (t**4 - t_ba**4) + fit["p2_par"] * (t**2 - t_ba**2)) * to_pc
    eq3_perp = (fit["p3_perp"] * (t**3 - 3 * t_ba**2 * t)) * to_pc
    fig, (ax_e, ax_p) = plt.subplots(2, 1, sharex=True, figsize=(5, 5.5))
    ax_e.plot(t_sp, [p.relative_meV for p in points], "o-", color="k")
    ax_e.set_ylabel("energy [meV/cell]")
    ax_p.plot(t_sp, p_par, "o-", color="C0", label="P_par (along b - a)")
    ax_p.plot(t_sp, p_perp, "s-", color="C3", label="P_perp")
    if landscape.material == "BN":
        ax_p.plot(t, eq3_par, "--", color="C0", lw=1, label="paper Eq. 3")
        ax_p.plot(t, eq3_perp, "--", color="C3", lw=1)
    first, second = landscape.names[1], landscape.names[3]
    ax_p.set_ylabel("P [pC/m]")
    ax_p.set_xlabel(f"t from SP [A]  ({first} < 0 < {second})")
    ax_p.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


#: in-plane direction [deg, counterclockwise from +y] of b - a, h-BN's favourable E_par
ALONG_SLIDING_DEG = 60.0


def fit_landau_to_model(model, material=None, points=25):
    """Fit Eq. 3 to a catalog model's own rigid landscape along the path from the stacking at
    (b - a)/3 (BA; XM for TMDs, P_perp > 0) through SP to 2(b - a)/3, with t_BA = -|b - a|/6.

    The in-plane field of the Landau model acts along the direction in which P_par points at
    SP: b - a (60 deg) for h-BN, the reverse (240 deg) for MoS2. The fit is made in that
    direction, so its e_par >= 0 always lowers the barrier.

    Returns (LandauPath, r_squared, in_plane_angle_deg, scan) with ``scan`` the
    :class:`Landscape` (its ``material`` and stacking ``names``).
    """
    from slidesim import units
    from slidesim.fields.landau_fit import fit_landau_path

    if int(points) < 6:
        raise ValueError(f"only {points} landscape points: sample at least 6 along the path")
    scan = Landscape(material, model)
    if scan.dipole is None:
        raise ValueError(f"model '{model}' has no registry dipole for {scan.material}: the "
                         "Landau model needs P along the path")
    path = scan.path(int(points))
    set_relative_energies(path)
    t, p_par, p_perp = scan.path_coordinates(path)
    to_eA = 1.0 / units.dipole_per_area_to_pC_per_m(1.0,
                                                     in_plane_area(primitive_cell(scan.lattice)))
    middle = len(path) // 2
    sign = 1.0 if p_par[middle] >= 0 else -1.0
    angle = ALONG_SLIDING_DEG if sign > 0 else (ALONG_SLIDING_DEG + 180.0) % 360.0
    t_ba = -np.sqrt(3.0) * scan.lattice / 6.0
    fitted, r_squared = fit_landau_path(t, [p.relative_meV for p in path], sign * p_par * to_eA,
                                        p_perp * to_eA, t_ba_A=t_ba)
    return fitted, r_squared, angle, scan
