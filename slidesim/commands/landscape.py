"""``slidesim landscape``: energy and polarization over sliding vectors (docs/fields.md)."""

import click

from slidesim.commands import POSITIVE, fail, user_errors, writable_or_fail
from slidesim.landscape import (Landscape, plot_hexagon, plot_path, set_relative_energies,
                                write_hexagon_csv, write_path_csv)


@click.command("landscape")
@click.option("--model", default="bn-ilp", show_default=True, help="Model name.")
@click.option("--material", default=None,
              help="Monolayer material (default: the model's, e.g. MoS2 for mos2-ilp).")
@click.option("--lattice", type=POSITIVE, default=None,
              help="Lattice constant a [A] (default: the model's own, e.g. 2.511 A for bn-dft).")
@click.option("--divisions", type=click.IntRange(1), default=3, show_default=True,
              help="Hexagon grid: a / (3 divisions) between sliding vectors.")
@click.option("--path-points", type=click.IntRange(2), default=13, show_default=True,
              help="Sliding vectors from BA to AB through SP.")
@click.option("--output", default="landscape", show_default=True,
              help="Prefix of the files written: PREFIX_hexagon.csv, PREFIX_path.csv (+ .png).")
@click.option("--plot/--no-plot", default=True, show_default=True, help="Also save PNG plots.")
def landscape_command(model, material, lattice, divisions, path_points, output, plot):
    """Energy and polarization over sliding vectors: hexagon around BA and BA -> SP -> AB
    (XM and XM -> SP -> MX for TMDs)."""
    writable_or_fail(f"{output}_path.csv", "--output")
    with user_errors():
        scan = Landscape(material, model, lattice)
    hexagon = scan.hexagon(divisions)
    path = scan.path(path_points)
    set_relative_energies(hexagon, path)
    try:
        write_hexagon_csv(hexagon, f"{output}_hexagon.csv")
        write_path_csv(scan, path, f"{output}_path.csv")
    except OSError as err:
        fail(f"cannot write {err.filename or output}: {err.strerror or err}; choose another "
             "--output prefix")
    t_sp, p_par, p_perp = scan.path_coordinates(path)
    click.echo(f"# {scan.material} with {model}: {scan.names[1]} -> SP -> {scan.names[3]}, "
               "P_par along b - a (60 deg from +y)")
    click.echo(f"{'t from SP [A]':>14} {'d [A]':>7} {'E [meV/cell]':>13} {'P_par':>8} "
               f"{'P_perp':>8}  [pC/m]")
    for k, p in enumerate(path):
        click.echo(f"{t_sp[k]:>14.4f} {p.distance:>7.4f} {p.relative_meV:>13.3f} "
                   f"{p_par[k]:>8.4f} {p_perp[k]:>8.4f}")
    written = [f"{output}_hexagon.csv", f"{output}_path.csv"]
    if plot:
        plot_hexagon(hexagon, f"{output}_hexagon.png", scan.names, scan.lattice)
        plot_path(scan, path, f"{output}_path.png")
        written += [f"{output}_hexagon.png", f"{output}_path.png"]
    click.echo("wrote " + ", ".join(written))
