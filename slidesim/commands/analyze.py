"""``slidesim analyze``: the command-line front of the trajectory analysis.

Registered on the command group by :mod:`slidesim.cli`.
"""

import json
import os

import click
import numpy as np

from slidesim.commands import POSITIVE, fail

from slidesim.analysis.lattice import LatticeError
from slidesim.analysis.order import OrderParameterError, parse_reciprocal
from slidesim.analysis.reader import TrajectoryError


@click.command("analyze")
@click.argument("trajectories", metavar="TRAJ [TRAJ...]", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--order-param", "order_params", multiple=True, default=("G=a*-b*",),
              show_default=True, metavar="G=ma*+nb*",
              help="Reciprocal vector G of psi = exp(iG.t), an integer combination of a* and b*; "
                   "repeat for several (e.g. --order-param G=a*-b* --order-param G=2a*+b*).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory for CSV, JSON and PNG files [default: analysis/ beside each "
                   "trajectory].")
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON summary (a list, one entry per trajectory) instead of the table.")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write PNG plots.")
@click.option("--discard", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0,
              show_default=True, help="Fraction of each stage's first frames left out "
                                      "(equilibration).")
@click.option("--lattice", type=POSITIVE, default=None,
              help="Primitive lattice constant a [A] (default: from the file's cell and structure).")
@click.option("--supercell", type=(click.IntRange(1), click.IntRange(1)), default=None,
              metavar="N1 N2",
              help="The cell is N1 x N2 primitive cells (default: inferred).")
@click.option("--capture-radius", type=POSITIVE, default=None,
              help="Distance [A] from the BA/AB site within which a frame counts as switched "
                   "[default: a/(4 sqrt 3), 0.36 A for h-BN].")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="T_C: order |<Im psi>|/(sqrt3/2) below which a stage counts as disordered.")
@click.option("--sliding-source", type=click.Choice(["coordinates", "stored"]),
              default="coordinates", show_default=True,
              help="Sliding vector from the coordinates, or from slidesim's stored "
                   "sliding_vector (no coordinates read).")
@click.option("--block-frames", type=click.IntRange(1), default=256, show_default=True,
              help="Frames read at a time.")
@click.option("--topology", type=click.Path(dir_okay=False), default=None,
              help="The atoms of a trajectory that does not name them: a LAMMPS data file, a "
                   "structure ASE reads, or a topology MDAnalysis reads (docs/lammps.md).")
@click.option("--types", "type_map", default=None, metavar="1=B,2=N",
              help="Elements of numbered atom types (LAMMPS dumps, MDAnalysis files).")
@click.option("--dt", type=click.FloatRange(0.0, min_open=True), default=None,
              help="For files without times: the time between frames [ps], or the timestep "
                   "[ps] of a LAMMPS dump's step numbers.")
def analyze(trajectories, order_params, out_dir, as_json, plots, discard, lattice, supercell,
            capture_radius, threshold, sliding_source, block_frames, topology, type_map, dt):
    """Order parameter psi = exp(iG.t), stage statistics, Curie temperature and BA<->AB
    switching of bilayer trajectories: AMBER netCDF, LAMMPS text dumps, extended XYZ and what
    MDAnalysis reads (see docs/analysis.md and docs/lammps.md)."""
    from slidesim.analysis.analyze import analyze_trajectory
    from slidesim.analysis.report import format_table, write_outputs

    try:
        reciprocals = [parse_reciprocal(spec) for spec in order_params]
    except OrderParameterError as err:
        fail(str(err))
    summaries = []
    for path in trajectories:
        try:
            analysis = analyze_trajectory(
                path, reciprocals, lattice=lattice, supercell=supercell, discard=discard,
                capture_radius=capture_radius, threshold=threshold, block_frames=block_frames,
                sliding_source=sliding_source, topology=topology, types=type_map, dt=dt)
        except (TrajectoryError, LatticeError) as err:
            fail(str(err))
        except (OSError, RuntimeError, ValueError, IndexError, KeyError,
                np.linalg.LinAlgError) as err:  # the reader met a file it did not expect
            fail(f"{path}: cannot analyse its frames ({type(err).__name__}: {err}); is the file "
                 "complete, and a trajectory of a bilayer (a run cut short or still writing "
                 "can leave it half written)?")
        target = out_dir or os.path.join(os.path.dirname(os.path.abspath(path)), "analysis")
        try:
            written = write_outputs(analysis, target)
            if plots:
                from slidesim.analysis.plots import write_plots
                written.update(write_plots(analysis, target))
        except OSError as err:
            fail(f"cannot write the analysis of {path} to {target}: "
                 f"{err.strerror or err} ({err.filename or target}); choose another --out")
        summary = analysis.summary()
        summary["files"] = written
        summaries.append(summary)
        if not as_json:
            click.echo(format_table(analysis))
            click.echo(f"  files: {', '.join(sorted(written.values()))}\n")
    if as_json:
        click.echo(json.dumps(summaries, indent=1))
