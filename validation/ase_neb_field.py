"""BA -> AB sliding of an h-BN bilayer under an electric field: ASE's NEB with slidesim's
calculator against the Landau path of ``slidesim coercive``.

For each field (E_par along the sliding direction b - a, theta = 60 deg; E_perp along -z):

1. rigid path: the top layer translated rigidly from BA through SP to AB at the model's lattice
   constant, at each point the interlayer distance relaxed at zero field, energies from :class:`slidesim.ase.SlidesimCalculator`
   in the field; the Landau model of ``slidesim coercive --model MODEL`` (Eq. 3 fitted to the
   same model's zero-field rigid landscape) predicts this curve, so the two must agree;
2. NEB: both ends relaxed in the field (BFGS, fixed cell), then ASE's NEB with a climbing image
   (FIRE) between them, all atoms free: the relaxed minimum-energy path and its barrier.

Energies are per primitive cell [meV], relative to the BA end. Writes a plot and a JSON file.

    python validation/ase_neb_field.py                     # bn-dft, 4x4 cells, three fields
    python validation/ase_neb_field.py --model bn-ilp --cells 3 --plot neb.png --json neb.json
"""

import argparse
import dataclasses
import json
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
#: (E_par, E_perp) [V/A]: no field, a vertical field, an inclined field
FIELDS = ((0.0, 0.0), (0.0, 1.5), (0.5, 0.5))


def field_vector(e_par, e_perp, angle_deg=60.0):
    """(3,) [V/A]: e_par along the in-plane direction at angle_deg counterclockwise from +y,
    e_perp along -z (the Landau model's convention, slidesim.fields.landau)."""
    theta = np.radians(angle_deg)
    return np.array([-e_par * np.sin(theta), e_par * np.cos(theta), -e_perp])


def bilayer_atoms(model, cells, stacking):
    from ase import Atoms

    from slidesim.catalog import model_entry
    from slidesim.structures import bilayer

    entry = model_entry(model)
    state = bilayer("BN", (cells, cells), stacking, entry.lattice, entry.distance)
    atoms = Atoms(symbols=state.symbols(), positions=state.positions[0], cell=state.cell,
                  pbc=(True, True, False), masses=state.masses)
    atoms.set_array("layer", state.layer.copy())
    return atoms


def calculator(model, field):
    from slidesim.ase import SlidesimCalculator

    return SlidesimCalculator(model, field=field)


def rigid_path(model, cells, field, scan, points=13):
    """(t [A], energy [meV/cell]) along BA -> SP -> AB, relative to BA: the top layer shifted
    rigidly, at each t the interlayer distance the zero-field landscape relaxed (the points the
    Landau model was fitted to), energies in the field from the calculator."""
    from ase import Atoms

    from slidesim.structures import bilayer

    path = scan.path(points)
    t, _, _ = scan.path_coordinates(path)
    calc = calculator(model, field)
    energies = []
    for point in path:
        state = bilayer("BN", (cells, cells), lattice=scan.lattice, interlayer=point.distance,
                        sliding=point.sliding)
        atoms = Atoms(symbols=state.symbols(), positions=state.positions[0], cell=state.cell,
                      pbc=(True, True, False), masses=state.masses)
        atoms.set_array("layer", state.layer.copy())
        energies.append(calc.get_potential_energy(atoms))
    energies = (np.array(energies) - energies[0]) / (cells * cells) * 1000.0
    return t, energies


def relaxed_neb(model, cells, field, images=7, fmax=0.002, steps=3000):
    """Relaxed ends and a climbing-image NEB; returns a dict of results."""
    from ase.mep import NEB
    from ase.optimize import BFGS, FIRE

    ends = []
    for stacking in ("BA", "AB"):
        atoms = bilayer_atoms(model, cells, stacking)
        atoms.calc = calculator(model, field)
        BFGS(atoms, logfile=None).run(fmax=fmax / 2, steps=steps)
        ends.append(atoms)
    band = [ends[0]]
    for _ in range(images):
        image = ends[0].copy()
        image.calc = calculator(model, field)
        band.append(image)
    band.append(ends[1])
    neb = NEB(band, climb=True, k=0.1, method="improvedtangent")
    neb.interpolate()
    optimizer = FIRE(neb, logfile=None)
    converged = optimizer.run(fmax=fmax, steps=steps)
    n_cells = cells * cells
    energies = np.array([image.get_potential_energy() for image in band])
    relative = (energies - energies[0]) / n_cells * 1000.0
    top = band[0].arrays["layer"] == 1
    bottom = ~top
    masses = band[0].get_masses()

    def sliding(atoms):  # top minus bottom mass centre, in the plane, from the BA end
        r = atoms.positions
        return (np.average(r[top], axis=0, weights=masses[top])
                - np.average(r[bottom], axis=0, weights=masses[bottom]))[:2]

    start, end = sliding(band[0]), sliding(band[-1])
    direction = (end - start) / np.linalg.norm(end - start)
    progress = np.array([(sliding(image) - start) @ direction for image in band])
    climbing = int(np.argmax(relative))
    dipole = band[climbing].calc.get_property("dipole")
    return {"energies_meV_per_cell": relative.tolist(),
            "progress_A": progress.tolist(),
            "barrier_meV_per_cell": float(relative.max()),
            "reverse_barrier_meV_per_cell": float(relative.max() - relative[-1]),
            "ab_minus_ba_meV_per_cell": float(relative[-1]),
            "saddle_dipole_eA": np.asarray(dipole).tolist(),
            "converged": bool(converged), "steps": int(optimizer.nsteps)}


def landau_barrier(landau, e_par, e_perp, samples=2001):
    t = np.linspace(landau.t_ba_A, landau.t_ab_A, samples)
    eps = landau.energy_meV(t, e_par, e_perp)
    eps = eps - eps[0]
    return t, eps, float(eps.max()), float(eps[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="bn-dft")
    parser.add_argument("--cells", type=int, default=4, help="n x n primitive cells")
    parser.add_argument("--images", type=int, default=7, help="NEB images between the ends")
    parser.add_argument("--fmax", type=float, default=0.002, help="NEB convergence [eV/A]")
    parser.add_argument("--plot", default=os.path.join(HERE, "..", "docs", "images",
                                                       "ase_neb_field.png"))
    parser.add_argument("--json", default=None, help="write the numbers here")
    args = parser.parse_args()

    from slidesim.landscape import fit_landau_to_model

    landau, r_squared, angle, scan = fit_landau_to_model(args.model)
    print(f"Landau path fitted to {args.model}'s rigid landscape (R^2 "
          + ", ".join(f"{k} {v:.5f}" for k, v in r_squared.items())
          + f"); E_par along theta = {angle:g} deg")
    results = {"model": args.model, "cells": args.cells, "images": args.images,
               "fmax_eV_per_A": args.fmax, "landau": dataclasses.asdict(landau),
               "landau_fit_r_squared": r_squared, "in_plane_angle_deg": angle, "fields": []}
    for e_par, e_perp in FIELDS:
        field = field_vector(e_par, e_perp, angle)
        started = time.perf_counter()
        t_rigid, rigid = rigid_path(args.model, args.cells, field, scan)
        t_landau, eps, barrier, end = landau_barrier(landau, e_par, e_perp)
        rigid_landau = np.interp(t_rigid, t_landau, eps)
        neb = relaxed_neb(args.model, args.cells, field, args.images, args.fmax)
        seconds = time.perf_counter() - started
        entry = {"e_par_V_per_A": e_par, "e_perp_V_per_A": e_perp, "field_V_per_A":
                 field.tolist(), "landau_barrier_meV_per_cell": barrier,
                 "landau_ab_minus_ba_meV_per_cell": end,
                 "rigid_barrier_meV_per_cell": float(rigid.max()),
                 "rigid_ab_minus_ba_meV_per_cell": float(rigid[-1]),
                 "rigid_vs_landau_max_abs_meV_per_cell": float(np.abs(rigid - rigid_landau).max()),
                 "rigid_t_A": t_rigid.tolist(), "rigid_meV_per_cell": rigid.tolist(),
                 "neb": neb, "seconds": seconds}
        results["fields"].append(entry)
        print(f"E_par {e_par:.2f} E_perp {e_perp:.2f} V/A: barrier [meV/cell] Landau {barrier:.3f},"
              f" rigid {rigid.max():.3f} (max |rigid - Landau| "
              f"{entry['rigid_vs_landau_max_abs_meV_per_cell']:.3f}), NEB {neb['barrier_meV_per_cell']:.3f}"
              f" ({'converged' if neb['converged'] else 'NOT converged'} in {neb['steps']} steps);"
              f" AB - BA: Landau {end:.3f}, rigid {rigid[-1]:.3f}, NEB "
              f"{neb['ab_minus_ba_meV_per_cell']:.3f}; {seconds:.0f} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    if args.plot:
        plot(results, landau, args.plot)
        print(f"plot: {os.path.relpath(args.plot)}")


def plot(results, landau, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    colours = ("tab:blue", "tab:orange", "tab:green")
    span = landau.t_ab_A - landau.t_ba_A
    for entry, colour in zip(results["fields"], colours):
        e_par, e_perp = entry["e_par_V_per_A"], entry["e_perp_V_per_A"]
        t, eps, _, _ = landau_barrier(landau, e_par, e_perp, 401)
        label = f"E$_\\parallel$ {e_par:g}, E$_\\perp$ {e_perp:g} V/Å"
        axes.plot(t, eps, color=colour, lw=1.2, label=f"Landau, {label}")
        axes.plot(entry["rigid_t_A"], entry["rigid_meV_per_cell"], "o", color=colour, ms=4,
                  mfc="none")
        neb = entry["neb"]
        progress = np.asarray(neb["progress_A"])
        t_neb = landau.t_ba_A + progress / progress[-1] * span
        axes.plot(t_neb, neb["energies_meV_per_cell"], "s--", color=colour, ms=4, lw=0.8)
    axes.plot([], [], "ko", mfc="none", ms=4, label="rigid path, SlidesimCalculator")
    axes.plot([], [], "ks--", ms=4, lw=0.8, label="relaxed CI-NEB (ASE)")
    axes.axhline(0.0, color="0.7", lw=0.6)
    axes.set_xlabel("t along BA → SP → AB [Å]")
    axes.set_ylabel("energy − E(BA) [meV per cell]")
    axes.set_title(f"{results['model']}, {results['cells']}x{results['cells']} cells: "
                   "BA → AB under a field")
    axes.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=130)


if __name__ == "__main__":
    main()
