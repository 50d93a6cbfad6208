"""Numbers of docs/relax.md: relaxed lattices (slidesim's FIRE with the in-plane cell, the zero
of the in-plane stress found by ASE's BFGS at fixed cells and a root search, LAMMPS minimize
with fix box/relax x 0 y 0 couple xy) and NEB barriers with and without an inclined field.

    python validation/relax_and_neb.py --json relax.json --plot docs/images/neb_sliding.png
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))


def lattices(models):
    from test_minimize import relaxed_lattice, stress_zero_lattice

    from slidesim.lammps_minimize import lammps_relax
    from test_minimize import MODELS
    from slidesim.structures import bilayer

    rows = []
    for model in models:
        material, stacking = MODELS[model]
        state, outcome = relaxed_lattice(model, (2, 2))
        a_fire = np.linalg.norm(state.cell[0]) / 2
        a_zero = stress_zero_lattice(model)
        try:
            reference = lammps_relax(bilayer(material, (2, 2), stacking), model)
            a_lammps = reference["cell"][0, 0] / 2
        except ImportError:
            a_lammps = None
        built = bilayer(material, (1, 1), stacking).cell[0, 0]
        rows.append({"model": model, "built_A": built, "fire_A": a_fire, "stress_zero_A": a_zero,
                     "lammps_A": a_lammps, "fire_steps": outcome.steps,
                     "pressure_bar": outcome.pressure})
        print(rows[-1], flush=True)
    return rows


def barriers(model, images, inclined):
    from slidesim.neb import sliding_neb

    paths = []
    for field in (None, inclined):
        start = time.time()
        path = sliding_neb(model, n_images=images, fmax=1e-4, field_vector=field)
        print(model, field, path.converged, path.steps, round(path.barrier, 4),
              round(path.rigid_barrier, 4), path.landau_barrier, f"{time.time() - start:.0f} s",
              flush=True)
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--images", type=int, default=13)
    args = parser.parse_args()
    result = {"lattices": lattices(["bn-ilp", "bn-dft", "mos2-ilp"])}
    # E_par = 0.5 V/A along P_par at SP (b - a: 60 deg for h-BN, 240 deg for MoS2), E_perp =
    # 0.5 V/A along -z: the inclined field of the paper's Fig. 4
    direction = {"bn-dft": 60.0, "bn-ilp": 60.0, "mos2-ilp": 240.0}
    result["neb"] = []
    all_paths = {}
    for model in ("bn-dft", "bn-ilp", "mos2-ilp"):
        theta = np.radians(direction[model])
        inclined = np.array([-0.5 * np.sin(theta), 0.5 * np.cos(theta), -0.5])
        paths = barriers(model, args.images, inclined)
        all_paths[model] = paths
        for path in paths:
            result["neb"].append({"model": model, "field_V_per_A": path.field.tolist(),
                                  "converged": path.converged, "barrier_meV": path.barrier,
                                  "rigid_barrier_meV": path.rigid_barrier,
                                  "landau_barrier_meV": path.landau_barrier,
                                  "end_meV": float(path.energy[-1]),
                                  "t_A": path.t.tolist(), "energy_meV": path.energy.tolist(),
                                  "P_z_pCm": path.polarization[:, 2].tolist()})
    if args.plot:
        from slidesim.neb import plot_path

        plot_path(all_paths["bn-dft"], args.plot)
        root, ext = os.path.splitext(args.plot)
        plot_path(all_paths["mos2-ilp"], root.replace("neb_sliding", "neb_sliding_mos2") + ext)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
