"""``slidesim coercive``: coercive fields of the Landau model (Eq. 3), like the paper's Fig. 4(b).

The Landau model itself is :mod:`slidesim.fields.landau`; this module tabulates and plots it.
"""

import csv
import dataclasses
import json
import sys

import click

from slidesim.commands import fail, writable_or_fail
import numpy as np

from slidesim.fields.landau import CRITERIA, LandauPath, minimum_total_field

_COLOURS = {"analytic": "tab:purple", "numeric": "tab:green"}


def coercive_table(path, criteria, e_par_max, points):
    """Scan e_par over [0, e_par_max] [V/A] at ``points`` values.

    Returns a dict: "e_par" [points] and, per criterion, "e_perp_c" and "e_total" [points]
    (V/A, e_perp along -z) and "minimum" (a MinimumTotalField).
    """
    e_par = np.linspace(0.0, e_par_max, points)
    table = {"e_par": e_par}
    for criterion in criteria:
        e_perp = path.coercive_curve(e_par, criterion)
        table[criterion] = {"e_perp_c": e_perp, "e_total": np.hypot(e_par, e_perp),
                            "minimum": minimum_total_field(path, criterion, e_par_max, points)}
    return table


def _write_csv(out, table, criteria):
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        header = ["e_par_V_per_A"]
        for criterion in criteria:
            header += [f"e_perp_c_{criterion}_V_per_A", f"e_total_{criterion}_V_per_A"]
        writer.writerow(header)
        for i, e_par in enumerate(table["e_par"]):
            row = [repr(float(e_par))]
            for criterion in criteria:
                row += [repr(float(table[criterion]["e_perp_c"][i])),
                        repr(float(table[criterion]["e_total"][i]))]
            writer.writerow(row)


def _plot(out, path, table, criteria, angle=60.0):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.0, 4.5))
    for criterion in criteria:
        entry, colour = table[criterion], _COLOURS[criterion]
        minimum = entry["minimum"]
        axes.plot(table["e_par"], entry["e_perp_c"], color=colour, label=criterion)
        axes.plot([0, minimum.e_par], [0, minimum.e_perp], ":", color=colour, lw=0.8)
        axes.plot(minimum.e_par, minimum.e_perp, "*", ms=14, color=colour,
                  label=f"min $E_{{t,c}}$ = {minimum.e_total:.2f} V/Å "
                        f"(-{minimum.reduction_pct:.0f} %, {minimum.dip_angle_deg:.0f}°)")
    axes.set_xlabel(rf"$E_\parallel$ at {angle:g}° (V/Å)")
    axes.set_ylabel(r"$E_{\perp,c}$ along $-z$ (V/Å)")
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper right", fontsize=8)
    inset = axes.inset_axes([0.58, 0.33, 0.38, 0.3])
    t = np.linspace(path.t_ba_A, path.t_ab_A, 201)
    for criterion in criteria:
        minimum = table[criterion]["minimum"]
        inset.plot(t, path.energy_meV(t, minimum.e_par, minimum.e_perp),
                   color=_COLOURS[criterion], lw=1)
    inset.set_xlabel("t from SP (Å)", fontsize=7)
    inset.set_ylabel("ε at min $E_{t,c}$ (meV)", fontsize=7)
    inset.tick_params(labelsize=6)
    figure.tight_layout()
    figure.savefig(out, dpi=150)
    plt.close(figure)


@click.command("coercive")
@click.option("--criterion", type=click.Choice(("analytic", "numeric", "both")), default="both",
              show_default=True, help="analytic: the BA local minimum disappears (Eq. S6); "
              "numeric: the energy never rises above the BA state.")
@click.option("--e-par-max", type=float, default=2.0, show_default=True,
              help="Largest in-plane field of the scan [V/A].")
@click.option("--points", type=int, default=41, show_default=True,
              help="Number of in-plane fields in the scan.")
@click.option("--from-csv", "from_csv", type=click.Path(dir_okay=False),
              help="Fit Eq. 3 to this landscape CSV (columns t_A, energy_meV, p_par_eA, "
              "p_perp_eA) instead of using the paper's coefficients.")
@click.option("--model", "model_name", default=None,
              help="Fit Eq. 3 to this catalog model's own rigid landscape (e.g. mos2-ilp, "
              "bn-dft) instead of using the paper's coefficients.")
@click.option("--material", default=None,
              help="With --model: the material (default: the model's, e.g. MoS2 for mos2-ilp).")
@click.option("--t-ba", type=float, default=None,
              help="With --from-csv: position of BA on the path [A] (default: fitted).")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False), help="Write the table here.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a Fig. 4(b)-like plot (PNG).")
def coercive(criterion, e_par_max, points, from_csv, model_name, material, t_ba, csv_out,
             as_json, plot):
    """Coercive field E_perp,c (along -z) versus the in-plane field E_par (along P_par at the
    saddle point: theta = 60 deg for h-BN, 240 deg for MoS2) from the Landau model of the
    paper's Eq. 3."""
    if points < 3:
        raise click.BadParameter("use at least 3 points", param_hint="--points")
    if not e_par_max > 0:
        raise click.BadParameter("must be > 0 V/A", param_hint="--e-par-max")
    if t_ba is not None and from_csv is None:
        raise click.UsageError("--t-ba only applies with --from-csv")
    if model_name is not None and from_csv is not None:
        raise click.UsageError("give --model or --from-csv, not both")
    if material is not None and model_name is None:
        raise click.UsageError("--material only applies with --model")
    criteria = CRITERIA if criterion == "both" else (criterion,)
    for option, target in (("--csv", csv_out), ("--plot", plot)):
        if target:
            writable_or_fail(target, option)
    r_squared, angle, names = None, 60.0, ("BA", "AB")
    try:
        if model_name is not None:
            from slidesim.landscape import fit_landau_to_model
            path, r_squared, angle, scan = fit_landau_to_model(model_name, material)
            names = (scan.names[1], scan.names[3])
        elif from_csv is None:
            path = LandauPath()
        else:
            from slidesim.fields.landau_fit import fit_landscape_csv
            path, r_squared = fit_landscape_csv(from_csv, t_ba_A=t_ba)
        table = coercive_table(path, criteria, e_par_max, points)
    except UnicodeDecodeError as err:
        fail(f"{from_csv} is not a text CSV file (byte 0x{err.object[err.start]:02x} at "
             f"position {err.start}); give the CSV 'slidesim landscape' writes")
    except (ValueError, RuntimeError) as err:
        message = str(err)
        fail(message if not from_csv or from_csv in message else f"{from_csv}: {message}")

    try:
        if csv_out:
            _write_csv(csv_out, table, criteria)
        if plot:
            _plot(plot, path, table, criteria, angle)
    except OSError as err:
        fail(f"cannot write {err.filename or csv_out or plot}: {err.strerror or err}")
    source = (f"model {model_name}" if model_name else from_csv) or "paper"
    if as_json:
        result = {"source": source, "model": dataclasses.asdict(path),
                  "in_plane_angle_deg": angle, "path": list(names),
                  "fit_r_squared": r_squared,
                  "vertical_coercive_field_V_per_A": path.vertical_coercive_field(),
                  "e_par_V_per_A": table["e_par"].tolist()}
        for name in criteria:
            result[name] = {"e_perp_c_V_per_A": table[name]["e_perp_c"].tolist(),
                            "e_total_V_per_A": table[name]["e_total"].tolist(),
                            "minimum": dataclasses.asdict(table[name]["minimum"])}
        json.dump(result, sys.stdout, indent=2)
        click.echo()
        return
    source = (f"fit to model {model_name}'s rigid landscape" if model_name else
              f"fit to {from_csv}" if from_csv else "the paper's coefficients")
    click.echo(f"# Landau model (Eq. 3), {source}: E0_perp,c = "
               f"{path.vertical_coercive_field():.4f} V/A")
    click.echo(f"# path {names[0]} -> SP -> {names[1]} under E_perp along -z; E_par along "
               f"theta = {angle:g} deg (where P_par points at SP)")
    if r_squared:
        click.echo("# fit R^2: " + ", ".join(f"{k} {v:.5f}" for k, v in r_squared.items()))
    header = f"{'E_par':>8}" + "".join(f"{'Eperp_c ' + c[:3]:>13}{'E_t ' + c[:3]:>11}"
                                        for c in criteria)
    click.echo(header + "    [V/A]")
    for i, e_par in enumerate(table["e_par"]):
        click.echo(f"{e_par:8.4f}" + "".join(f"{table[c]['e_perp_c'][i]:13.4f}"
                                             f"{table[c]['e_total'][i]:11.4f}" for c in criteria))
    for c in criteria:
        m = table[c]["minimum"]
        click.echo(f"# {c}: min E_t,c = {m.e_total:.4f} V/A at E_par = {m.e_par:.4f}, "
                   f"E_perp,c = {m.e_perp:.4f} V/A; dip angle {m.dip_angle_deg:.2f} deg; "
                   f"{m.reduction_pct:.2f} % below E0_perp,c = {m.vertical_field:.4f} V/A")
