"""Files and text of an analysis: per-frame, per-stage and crossing CSVs, a JSON summary, and the
terminal table."""

import csv
import json
import os

import numpy as np

from slidesim.analysis.order import PAPER_G


def output_stem(path, out_dir):
    """``out_dir/<trajectory name without .nc>``: the prefix of every file of one analysis."""
    name = os.path.basename(os.fspath(path))
    if name.endswith(".nc"):
        name = name[:-3]
    return os.path.join(out_dir, name)


def frame_columns(analysis):
    """Per-frame columns: dict name -> (F,) array (time, stage, temperatures, t, psi, field)."""
    series = analysis.series
    columns = {"time_ps": series.time}
    if series.stage is not None:
        columns["stage"] = series.stage
    if series.temperature_target is not None:
        columns["temperature_target_K"] = series.temperature_target
    if series.temperature is not None:
        columns["temperature_K"] = series.temperature
    fractional = series.fractional
    columns.update({"t_x_A": series.sliding[:, 0], "t_y_A": series.sliding[:, 1],
                    "t_f1": fractional[:, 0], "t_f2": fractional[:, 1],
                    "interlayer_A": series.interlayer})
    for name, values in analysis.psi.items():
        columns[f"psi[{name}]_re"] = values.real
        columns[f"psi[{name}]_im"] = values.imag
    if series.field is not None:
        for k, axis in enumerate("xyz"):
            columns[f"field_{axis}_V_per_A"] = series.field[:, k]
    return columns


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (int, np.integer, str)):
        return str(value)
    return repr(float(value))


def write_csv(path, rows, fieldnames):
    """Write dict rows to CSV with shortest round-tripping floats; None and NaN as 'nan'/''."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fieldnames)
        for row in rows:
            writer.writerow([_cell(row.get(name)) for name in fieldnames])


def write_outputs(analysis, out_dir):
    """Write ``<stem>.frames.csv``, ``<stem>.stages.csv``, ``<stem>.crossings.csv`` and
    ``<stem>.analysis.json`` into ``out_dir``; returns the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    stem = output_stem(analysis.series.path, out_dir)
    paths = {}
    columns = frame_columns(analysis)
    names = list(columns)
    paths["frames"] = f"{stem}.frames.csv"
    with open(paths["frames"], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for i in range(analysis.series.n_frames):
            writer.writerow([_cell(columns[name][i]) for name in names])
    paths["stages"] = f"{stem}.stages.csv"
    write_csv(paths["stages"], analysis.stages, list(analysis.stages[0]))
    paths["crossings"] = f"{stem}.crossings.csv"
    crossing_names = ["frame", "time_ps", "from", "to", "theta_deg", "displacement_x_A",
                      "displacement_y_A", "field_x_V_per_A", "field_y_V_per_A", "field_z_V_per_A"]
    write_csv(paths["crossings"], [c.as_dict() for c in analysis.crossings], crossing_names)
    paths["json"] = f"{stem}.analysis.json"
    with open(paths["json"], "w") as handle:
        json.dump(analysis.summary(), handle, indent=1)
    return paths


def _number(value, digits=3, width=8):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-".rjust(width)
    return f"{value:{width}.{digits}f}"


def format_table(analysis, max_crossings=20):
    """The terminal report of one analysis (text)."""
    series, g = analysis.series, PAPER_G.name
    lattice = series.lattice
    lines = [f"{series.path}: {series.n_frames} frames, {series.n_atoms} atoms, "
             f"t = {series.time[0]:g}..{series.time[-1]:g} ps",
             f"  primitive lattice a = {lattice.constant:.4f} A ({lattice.source}; supercell "
             f"{lattice.supercell[0]}x{lattice.supercell[1]}), layers from {series.layer_source}, "
             f"t from {series.sliding_source}",
             "",
             f"  stage  branch   T_target   frames   Im psi[{g}]  +- se    |<psi>|   "
             "t_x [A]  t_y [A]  switches"]
    for row in analysis.stages:
        lines.append(
            f"  {row['stage']:5d}  {row['branch']:<8s}{_number(row['temperature_target_K'], 1, 9)}"
            f"  {row['n_frames']:7d}  {_number(row[f'psi[{g}]_im_mean'], 4, 11)}"
            f"  {_number(row[f'psi[{g}]_im_se'], 4, 7)}  {_number(row[f'psi[{g}]_abs_of_mean'], 3, 8)}"
            f"  {_number(row['t_x_A_mean'], 3, 7)}  {_number(row['t_y_A_mean'], 3, 7)}"
            f"  {row['n_crossings']:8d}")
    extra = [name for name in analysis.psi if name != g]
    if extra:
        lines.append(f"  (statistics of psi for {', '.join(extra)} are in the stage CSV and JSON)")
    curie = analysis.curie
    lines.append("")
    if curie["estimate_K"] is not None:
        lines.append(f"  Curie temperature T_C = {curie['estimate_K']:.0f} +- "
                     f"{curie['uncertainty_K']:.0f} K (heating {_k(curie['heating_K'])}, cooling "
                     f"{_k(curie['cooling_K'])}; threshold m < {curie['threshold']})")
    else:
        lines.append(f"  Curie temperature: not found (heating: {curie['notes']['heating']}; "
                     f"cooling: {curie['notes']['cooling']})")
    pair = "<->".join(getattr(lattice, "names", ("BA", "AB")))  # XM<->MX for TMDs
    if curie["first_switch_heating_K"] is not None:
        lines.append(f"  first {pair} switch on heating at {curie['first_switch_heating_K']:g} K")
    lines.append(f"  {len(analysis.crossings)} {pair} crossing(s)")
    for crossing in analysis.crossings[:max_crossings]:
        field = "" if crossing.field is None else \
            "  E = ({:.3g}, {:.3g}, {:.3g}) V/A".format(*crossing.field)
        lines.append(f"    t = {crossing.time:10.3f} ps  {crossing.origin} -> "
                     f"{crossing.destination}  theta = {crossing.theta_deg:6.1f} deg{field}")
    if len(analysis.crossings) > max_crossings:
        lines.append(f"    ... {len(analysis.crossings) - max_crossings} more in the crossings CSV")
    return "\n".join(lines)


def _k(value):
    return "-" if value is None else f"{value:.0f} K"
