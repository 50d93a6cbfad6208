"""The sliding path's minimum-energy path: BA -> AB (XM -> MX for TMDs) by climbing-image NEB.

:func:`sliding_neb` relaxes the two stackings (BFGS), interpolates the images between them
and relaxes the band with ASE's nudged elastic band (improved tangents, climbing image, ASE's
adaptive ODE solver), every structure with slidesim's ASE calculator
(:class:`slidesim.ase.SlidesimCalculator`) of any catalog model and with its centre of mass
held (a whole-bilayer translation costs nothing, and the images would otherwise space
themselves along the band by translating instead of sliding). In a uniform field E the
calculator adds -E.P and the forces Z^T E. What comes back (a :class:`NebPath`) holds, per
image, the sliding coordinate, the energy per primitive cell and the polarisation, and beside
them:

- the *rigid* profile along the same sliding vectors: the flat layers shifted rigidly, the
  distance optimised (:class:`slidesim.rigid.RigidBilayer`, as ``slidesim profile``), with -E.P
  of the rigid structure in a field;
- the *Landau* path of ``slidesim coercive --model``: Eq. 3 of the seed paper fitted to the
  model's rigid landscape (:func:`slidesim.landscape.fit_landau_to_model`), evaluated
  in the field's in-plane component along its direction and its z component.

The NEB relaxes what the rigid scan freezes (the buckling of each layer, in-plane relaxation),
at the ends as well as at the saddle, so its barrier may lie a little above or below the
rigid one (bn-dft: the buckling lowers BA by 1.39 meV/cell and SP by 1.30). In a 1 x 1 cell
the path is uniform sliding, the mechanism of the paper's DFT barrier (7.44 meV/cell for
h-BN); larger cells allow non-uniform paths.
"""

import inspect
from dataclasses import dataclass, field

import numpy as np

from slidesim.geometry import in_plane_area, sliding_direction
from slidesim.structures import bilayer, monolayer
from slidesim.units import dipole_per_area_to_pC_per_m


def material_of(model, material=None):
    """The material of a catalog model (:func:`slidesim.structures.material_of_model`), or
    ``material`` when given (checked against the model's species)."""
    from slidesim.catalog import model_entry
    from slidesim.structures import material_of_model

    if material is not None:
        model_entry(model).check_species(monolayer(material).species)
        return material
    return material_of_model(model)


def calculator_factory(model, field_vector, model_options):
    """A function returning a fresh slidesim ASE calculator for one image: the model, and the
    uniform field [V/A] when it is not zero (needs the calculator's ``field`` option)."""
    from slidesim.ase import SlidesimCalculator

    options = dict(model_options or {})
    if np.any(field_vector != 0.0):
        if "field" not in inspect.signature(SlidesimCalculator.__init__).parameters:
            raise ValueError("a NEB in a field needs slidesim's ASE calculator with a 'field' "
                             "option (slidesim.ase), which this slidesim does not have yet; run "
                             "without a field")
        options["field"] = tuple(float(x) for x in field_vector)
    return lambda: SlidesimCalculator(model, **options)


@dataclass
class NebPath:
    """The minimum-energy path and its comparisons.

    stackings: (start, end) names; field (3,) [V/A]; t (n,) [A]: each image's sliding vector
    along b - a, measured from SP (negative on the start side, as the Landau model's);
    energy (n,) [meV per primitive cell] from the start image (the model's energy, with -E.P
    in a field); polarization (n, 3) [pC/m] (NaN without a dipole source); barrier [meV per
    cell]: highest image above the start (the relaxed start: a minimum, also in a field);
    rigid_energy (n,) [meV per cell] at the same sliding vectors, from the rigid profile's
    lowest point before its highest; rigid_barrier: the profile's highest point above that
    point (:func:`barrier_of`, on a grid of 41 sliding vectors: in a field the rigid minimum
    moves away from the NEB's start); landau_energy (n,) and landau_barrier [meV per cell]
    likewise (None where the model has no dipole to fit Eq. 3 to); converged, steps: the NEB
    optimiser's; images: the ASE Atoms of the path.
    """

    model: str
    material: str
    stackings: tuple
    field: np.ndarray
    t: np.ndarray
    energy: np.ndarray
    polarization: np.ndarray
    barrier: float
    rigid_energy: np.ndarray
    rigid_barrier: float
    landau_energy: np.ndarray = None
    landau_barrier: float = None
    converged: bool = False
    steps: int = 0
    images: list = field(default_factory=list, repr=False)

    @property
    def climbing_index(self):
        return int(np.argmax(self.energy))

    def table(self):
        """Rows (image, t [A], E [meV], P_x, P_y, P_z [pC/m], E_rigid [meV], E_Landau [meV])."""
        landau = self.landau_energy if self.landau_energy is not None else \
            np.full(len(self.t), np.nan)
        return [(k, self.t[k], self.energy[k], *self.polarization[k], self.rigid_energy[k],
                 landau[k]) for k in range(len(self.t))]


def layer_offset(positions, layer, masses):
    """In-plane offset (2,) [A] of the top layer's centre of mass from the bottom one's."""
    def centre(which):
        w = masses[layer == which]
        return (positions[layer == which, :2] * w[:, None]).sum(axis=0) / w.sum()

    return centre(1) - centre(0)


def _dipole_source(model, species_names):
    from slidesim.rigid import default_dipole

    return default_dipole(model, species_names)


def _polarization(dipole, atoms, species, layer):
    from slidesim.neighbors import built_neighbor_lists

    if dipole is None:
        return np.full(3, np.nan)
    x = np.ascontiguousarray(atoms.positions, dtype=np.float64)
    cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64)
    lists = built_neighbor_lists(dipole.requests, x, cell, layer)
    result = dipole.compute(x, cell, species, layer, lists)
    return dipole_per_area_to_pC_per_m(result.dipole, in_plane_area(cell))


def sliding_neb(model="bn-dft", material=None, cells=(1, 1), n_images=11, field_vector=None,
                fmax=1e-4, steps=3000, lattice=None, spring=0.1, climb=True, model_options=None,
                log=None):
    """Climbing-image NEB of the sliding path (see the module docstring).

    model: catalog name; material: BN or MoS2 (None: the model's); cells: (n1, n2)
    repetitions; n_images: images including both ends; field_vector (3,) [V/A] or None;
    fmax: force tolerance [eV/A] of the band (and of the end points); steps: optimiser steps
    at most; lattice [A] (None: the model's own); spring [eV/A^2]; model_options: the model's
    options (e.g. ``{"path": FILE}``); log: a file for ASE's optimiser log, or None.
    Returns a :class:`NebPath`.
    """
    from ase.constraints import FixCom
    from ase.mep import NEB
    from ase.mep.neb import NEBOptimizer
    from ase.optimize import BFGS

    from slidesim.catalog import model_entry
    from slidesim.io.structures import state_to_atoms
    from slidesim.rigid import RigidBilayer

    material = material_of(model, material)
    if n_images < 5:
        raise ValueError(f"a climbing-image path needs at least 5 images (both ends and three "
                         f"between), got {n_images}")
    mono = monolayer(material)
    start_name, end_name = mono.stackings[1], mono.stackings[3]
    entry = model_entry(model)
    a = lattice if lattice is not None else (entry.lattice or mono.lattice)
    field_vector = np.zeros(3) if field_vector is None else np.asarray(field_vector, float)
    make = calculator_factory(model, field_vector, model_options)
    ends = []
    for name in (start_name, end_name):
        atoms = state_to_atoms(bilayer(material, cells, name, lattice=a,
                                       interlayer=entry.distance))
        atoms.set_constraint(FixCom())
        atoms.calc = make()
        BFGS(atoms, logfile=log).run(fmax=fmax / 10, steps=steps)
        ends.append(atoms)
    state = bilayer(material, cells, start_name, lattice=a)
    species, layer, masses = state.species, state.layer, state.masses
    images = [ends[0]]
    for _ in range(n_images - 2):
        image = ends[0].copy()
        image.calc = make()
        images.append(image)
    images.append(ends[1])
    band = NEB(images, k=spring, climb=climb, method="improvedtangent")
    band.interpolate(apply_constraint=False)
    # ASE's ODE solver for bands: here ~10x fewer force calls than FIRE to fmax 1e-4 eV/A
    optimizer = NEBOptimizer(band, method="ode", logfile=log)
    converged = bool(optimizer.run(fmax=fmax, steps=steps))
    n_cells = cells[0] * cells[1]
    energies = np.array([image.get_potential_energy() for image in images])
    energy = (energies - energies[0]) / n_cells * 1e3
    # t from SP along b - a: the start's -|b - a|/6 plus how far the top layer slid from it
    t_start, direction = -np.sqrt(3.0) * a / 6.0, sliding_direction()[:2]
    offset0 = layer_offset(images[0].positions, layer, masses)
    t = np.array([t_start + (layer_offset(image.positions, layer, masses) - offset0) @ direction
                  for image in images])
    dipole = _dipole_source(model, state.species_names)
    polarization = np.array([_polarization(dipole, image, species, layer) for image in images])

    rigid = RigidBilayer.of_model(model, material, a, model_options=model_options)
    to_eA = 1.0 / dipole_per_area_to_pC_per_m(1.0, in_plane_area(rigid.state("AA", 3.0).cell))

    def rigid_energy_at(coordinate):  # per cell [eV], with -E.P of the rigid structure
        fraction = 0.5 + coordinate / (np.sqrt(3.0) * a)  # of b - a, from AA
        d, e = rigid.relax(fraction)
        if np.any(field_vector != 0.0) and rigid.dipole is not None:
            e -= field_vector @ (rigid.polarization(fraction, d) * to_eA)
        return e

    grid = np.linspace(min(t[0], t_start), max(t[-1], -t_start), 41)
    on_grid = np.array([rigid_energy_at(x) for x in grid])
    rigid_energy = np.array([rigid_energy_at(x) for x in t]) - start_side_minimum(on_grid)
    rigid_energy *= 1e3
    landau_energy, landau_barrier = _landau(model, material, field_vector, t)
    return NebPath(model, material, (start_name, end_name), field_vector, t, energy,
                   polarization, float(energy.max()), rigid_energy,
                   barrier_of(on_grid) * 1e3, landau_energy, landau_barrier, converged,
                   optimizer.nsteps, images)


def start_side_minimum(energies):
    """The lowest point of a profile before its highest point."""
    energies = np.asarray(energies)
    return float(energies[:int(np.argmax(energies)) + 1].min())


def barrier_of(energies):
    """Highest point of a profile above the lowest point before it (its start-side minimum)."""
    return float(np.max(energies) - start_side_minimum(energies))


def _landau(model, material, field_vector, t):
    """Eq. 3 fitted to the model's rigid landscape: energies [meV] at the images' t from the
    profile's lowest point before its highest, and the barrier [meV] (:func:`barrier_of`, on
    a fine grid); (None, None) without a dipole."""
    from slidesim.landscape import fit_landau_to_model

    try:
        path, _, angle, _ = fit_landau_to_model(model, material)
    except ValueError:
        return None, None
    theta = np.radians(angle)
    e_par = field_vector[0] * -np.sin(theta) + field_vector[1] * np.cos(theta)
    e_perp = -field_vector[2]
    grid = np.linspace(min(path.t_ba_A, t[0]), max(path.t_ab_A, t[-1]), 2001)
    on_grid = path.energy_meV(grid, e_par, e_perp)
    return (path.energy_meV(np.asarray(t), e_par, e_perp) - start_side_minimum(on_grid),
            barrier_of(on_grid))


def plot_path(paths, out):
    """Energy and polarisation along one or more :class:`NebPath` (e.g. without and with a
    field), with the rigid and Landau curves, saved to ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (ax_e, ax_p) = plt.subplots(2, 1, sharex=True, figsize=(6.0, 6.5))
    for k, path in enumerate(paths):
        colour = f"C{k}"
        label = "E = 0" if not np.any(path.field) else \
            "E = (" + ", ".join(f"{x:g}" for x in path.field) + ") V/A"
        ax_e.plot(path.t, path.energy, "o-", color=colour,
                  label=f"NEB, {label}: {path.barrier:.2f} meV")
        ax_e.plot(path.t, path.rigid_energy, "--", color=colour,
                  label=f"rigid: {path.rigid_barrier:.2f} meV")
        if path.landau_energy is not None:
            ax_e.plot(path.t, path.landau_energy, ":", color=colour,
                      label=f"Landau (Eq. 3): {path.landau_barrier:.2f} meV")
        if not np.all(np.isnan(path.polarization)):
            ax_p.plot(path.t, path.polarization[:, 2], "o-", color=colour, label=f"$P_z$, {label}")
            par = path.polarization[:, :2] @ sliding_direction()[:2]
            ax_p.plot(path.t, par - par[0], "s--", color=colour, ms=3,
                      label=r"$P_\parallel - P_\parallel$(start), along b - a")
    ax_e.set_ylabel("energy per cell [meV]")
    ax_e.legend(fontsize=7)
    ax_p.set_ylabel("polarisation [pC/m]")
    ax_p.set_xlabel(f"sliding coordinate t from SP [A] ({paths[0].stackings[0]} -> "
                    f"{paths[0].stackings[1]})")
    ax_p.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out, dpi=130)
    plt.close(figure)
