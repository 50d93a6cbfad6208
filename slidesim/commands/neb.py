"""``slidesim neb``: the sliding path's minimum-energy path and barrier (climbing-image NEB),
with an optional uniform field, beside the rigid profile and the Landau path (slidesim.neb)."""

import csv
import json
import sys

import click

from slidesim.commands import fail, user_errors, writable_or_fail


@click.command("neb")
@click.option("--model", "model_name", default="bn-dft", show_default=True,
              help="Catalog model (bn-ilp, bn-dft, mos2-ilp, torchscript with --model-path).")
@click.option("--model-path", type=click.Path(dir_okay=False),
              help="Model file of a torchscript model.")
@click.option("--material", default=None,
              help="BN, MoS2, WS2, MoSe2 or WSe2 (default: the model's; needed for tmd-ilp).")
@click.option("--cells", nargs=2, type=int, default=(1, 1), show_default=True,
              help="Repetitions N1 N2 of the primitive cell (1 1: uniform sliding).")
@click.option("--images", type=int, default=9, show_default=True,
              help="Images on the path, both ends included.")
@click.option("--field", "field_vector", nargs=3, type=float, default=(0.0, 0.0, 0.0),
              show_default=True, metavar="EX EY EZ",
              help="Uniform field [V/A]; the in-plane direction b - a (BA -> AB) is "
                   "(-0.866, 0.5) (60 deg from +y).")
@click.option("--fmax", type=float, default=1e-4, show_default=True,
              help="Force tolerance of the band and the end points [eV/A].")
@click.option("--steps", type=click.IntRange(min=1), default=3000, show_default=True,
              help="Optimiser steps at most.")
@click.option("--lattice", type=float, default=None,
              help="Lattice constant [A] (default: the model's own).")
@click.option("--plot", type=click.Path(dir_okay=False), help="Energy and P along the path (PNG).")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False), help="Write the path here.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def neb(model_name, model_path, material, cells, images, field_vector, fmax, steps, lattice,
        plot, csv_out, as_json):
    """Minimum-energy path of BA -> AB sliding (XM -> MX for MoS2) by climbing-image NEB, in an
    optional uniform field: barrier, energy and polarisation along the path, next to the
    rigid profile and the Landau path (Eq. 3) of the same model."""
    import numpy as np

    from slidesim.neb import plot_path, sliding_neb

    if images < 5:
        raise click.BadParameter("use at least 5 images", param_hint="--images")
    if min(cells) < 1:
        raise click.BadParameter("cells must be at least 1 1", param_hint="--cells")
    if not fmax > 0:
        raise click.BadParameter("must be > 0 eV/A", param_hint="--fmax")
    for path_out, option in ((plot, "--plot"), (csv_out, "--csv")):
        if path_out:  # before minutes of optimisation, not after
            writable_or_fail(path_out, option)
    options = {"path": model_path} if model_path else None
    with user_errors(kinds=(ValueError, OSError, RuntimeError)):
        path = sliding_neb(model_name, material, tuple(cells), images, np.array(field_vector),
                           fmax, steps, lattice, model_options=options)
    start, end = path.stackings
    if as_json:
        json.dump({"model": path.model, "material": path.material, "path": [start, end],
                   "field_V_per_A": path.field.tolist(), "converged": path.converged,
                   "steps": path.steps, "barrier_meV_per_cell": path.barrier,
                   "rigid_barrier_meV_per_cell": path.rigid_barrier,
                   "landau_barrier_meV_per_cell": path.landau_barrier,
                   "t_A": path.t.tolist(), "energy_meV_per_cell": path.energy.tolist(),
                   "polarization_pC_per_m": path.polarization.tolist(),
                   "rigid_energy_meV_per_cell": path.rigid_energy.tolist(),
                   "landau_energy_meV_per_cell": None if path.landau_energy is None
                   else path.landau_energy.tolist()}, sys.stdout, indent=2)
        click.echo()
    else:
        field_text = "no field" if not any(field_vector) else \
            "E = (" + ", ".join(f"{x:g}" for x in field_vector) + ") V/A"
        state = "converged" if path.converged else "NOT converged (raise --steps)"
        click.echo(f"{path.model}: {start} -> {end}, {cells[0]}x{cells[1]} cells, "
                   f"{images} images, {field_text}: NEB {state} after {path.steps} steps")
        k = path.climbing_index
        click.echo(f"barrier (climbing image): {path.barrier:.3f} meV/cell at t = "
                   f"{path.t[k]:+.4f} A from SP")
        click.echo(f"rigid profile:            {path.rigid_barrier:.3f} meV/cell")
        if path.landau_barrier is not None:
            click.echo(f"Landau path (Eq. 3):      {path.landau_barrier:.3f} meV/cell")
        click.echo("image    t [A]   E [meV]  Px [pC/m]  Py [pC/m]  Pz [pC/m]  rigid [meV]  "
                   "Landau [meV]")
        for row in path.table():
            click.echo(f"{row[0]:5d} {row[1]:+8.4f} {row[2]:9.4f} {row[3]:10.4f} {row[4]:10.4f} "
                       f"{row[5]:10.4f} {row[6]:12.4f} {row[7]:13.4f}")
    if csv_out:
        with user_errors(csv_out):
            with open(csv_out, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["image", "t_A", "energy_meV", "P_x_pCm", "P_y_pCm", "P_z_pCm",
                                 "rigid_energy_meV", "landau_energy_meV"])
                for row in path.table():
                    writer.writerow([row[0]] + [repr(float(x)) for x in row[1:]])
    if plot:
        with user_errors(plot):
            plot_path([path], plot)
    if not path.converged:
        fail(f"the band did not converge to fmax {fmax:g} eV/A in {steps} steps; raise --steps")
