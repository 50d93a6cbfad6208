"""Fig. S5 and Fig. 4(b,c) from a coercive search (`slidesim sweep --coercive E_perp`) of
inputs/sweep_fig_s5.in: the minimum total coercive field per temperature, next to Landau theory.

    python validation/fig_s5_summary.py fig_s5_bn_dft [--out validation/results/fig_s5/bn_dft]

Reads the search's ``coercive.csv`` (per condition E_par, T [, model, seed]: the least E_perp
on the grid that starts sliding within the field stage; written at the end of a search, also an
interrupted one) and writes

- ``fig_s5.csv``: per model, temperature (and seed, if swept): the vertical coercive field
  (E_perp,c at E_par = 0), the minimum total field E_t,c = sqrt(E_par^2 + E_perp,c^2) over the
  E_par grid with its components, its reduction against the vertical field [%] and its dip
  angle above the plane, atan(E_perp,c / E_par) [deg], the sliding direction of that switch,
  and how many conditions were found, had no switch up to the grid's end, or are unfinished;
  and the near-minimal band: the dip angles of every condition whose total field lies within
  ``--band`` (default one 0.05 V/A grid step) of the minimum. E_perp,c is known only to a grid
  step, so these conditions are not told apart, and where the curve is flat near its minimum
  the band says how well the dip angle is determined;
- ``fig_s5_landau.csv``: the same minimum from the Landau model of the paper's Eq. 3 fitted to
  the model's own rigid landscape (`slidesim coercive --model MODEL`), both criteria;
- ``fig_s5.json``: both tables, every condition's E_perp,c, the Landau curves, the paper's values;
- ``fig_s5_<model>.png``: like Fig. 4(b,c): E_perp,c against E_par per temperature with the
  Landau curves, minima starred; the minimum E_t,c and its dip angle against temperature.

The paper (reference/paper_values.toml, [md] and [coercive_analytic]): the minimum E_t,c is
more than 70 % below the vertical coercive field at low temperature, its dip angle about 24 deg
at every temperature; Landau theory with the paper's coefficients: > 64 % (analytic criterion),
> 70 % (numeric criterion).
"""

import argparse
import csv
import json
import math
import os
import sys
from collections import defaultdict

import numpy as np

PAPER = {"min_Etc_reduction_md_pct_gt": 70, "dip_angle_deg": 24,
         "min_Etc_reduction_analytic_pct_gt": 64, "min_Etc_reduction_numeric_pct_gt": 70,
         "field_grid_step_V_per_A": 0.05, "E_par_angle_deg": 60}
CRITERIA = ("analytic", "numeric")


def read_conditions(sweep):
    path = os.path.join(sweep, "coercive.csv")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        sys.exit(f"{path} not found or empty: run the search (slidesim sweep --coercive E_perp; "
                 "it writes coercive.csv at its end, also when interrupted)")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def deck_model(sweep):
    """The model: the swept `model` axis if it has one value, else the deck's `model` line
    (from the search's sweep.json), or '' (then give --model)."""
    try:
        with open(os.path.join(sweep, "sweep.json")) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return ""
    swept = manifest.get("parameters", {}).get("model", [])
    if len(swept) == 1:
        return swept[0]
    text = manifest.get("deck_text") or ""
    for line in str(text).splitlines():
        words = line.split("#")[0].split()
        if len(words) >= 2 and words[0] == "model" and not words[1].startswith("$"):
            return words[1]
    return ""


def conditions(rows, model):
    """Each condition as a dict of floats: model, T [K], seed, E_par, E_perp,c [V/A] (NaN if
    not found), theta [deg], status."""
    out = []
    for row in rows:
        out.append({"model": row.get("MODEL") or row.get("model") or model, "T_K": float(row["T"]),
                    "seed": row.get("seed", ""), "E_par_VA": float(row["E_par"]),
                    "E_perp_c_VA": float(row["e_perp_c_VA"]),
                    "theta_deg": float(row.get("theta_deg") or "nan"),
                    "status": row["status"]})
    return out


def minima(conds, band=PAPER["field_grid_step_V_per_A"]):
    """Per (model, T, seed): the minimum total field over the E_par grid and the dip angles of
    the conditions within ``band`` [V/A] of it (see the module doc)."""
    groups = defaultdict(list)
    for c in conds:
        groups[(c["model"], c["T_K"], c["seed"])].append(c)
    out = []
    for (model, temperature, seed), members in sorted(groups.items()):
        found = [c for c in members if c["status"] == "found"]
        vertical = next((c["E_perp_c_VA"] for c in found if c["E_par_VA"] == 0.0), math.nan)
        row = {"model": model, "T_K": temperature, "seed": seed, "conditions": len(members),
               "found": len(found),
               "no_switch": sum(c["status"] == "no switch" for c in members),
               "unfinished": sum(c["status"] in ("unfinished", "failed") for c in members),
               "vertical_E_perp_c_VA": vertical, "E_par_VA": math.nan, "E_perp_c_VA": math.nan,
               "E_t_c_VA": math.nan, "reduction_pct": math.nan, "dip_angle_deg": math.nan,
               "theta_deg": math.nan, "at_grid_edge": False, "near_minimum": 0,
               "near_dip_low_deg": math.nan, "near_dip_high_deg": math.nan}
        if found:
            best = min(found, key=lambda c: (math.hypot(c["E_par_VA"], c["E_perp_c_VA"]),
                                             c["E_par_VA"]))
            total = math.hypot(best["E_par_VA"], best["E_perp_c_VA"])
            row.update(E_par_VA=best["E_par_VA"], E_perp_c_VA=best["E_perp_c_VA"], E_t_c_VA=total,
                       reduction_pct=(100.0 * (1.0 - total / vertical) if vertical > 0
                                      else math.nan),
                       dip_angle_deg=math.degrees(math.atan2(best["E_perp_c_VA"],
                                                             best["E_par_VA"])),
                       theta_deg=best["theta_deg"],
                       # the minimum may lie beyond the largest E_par swept
                       at_grid_edge=best["E_par_VA"] == max(c["E_par_VA"] for c in members))
            # 1e-9: a total field one grid step above the minimum is in the band
            near = [math.degrees(math.atan2(c["E_perp_c_VA"], c["E_par_VA"])) for c in found
                    if math.hypot(c["E_par_VA"], c["E_perp_c_VA"]) <= total + band + 1e-9]
            row.update(near_minimum=len(near), near_dip_low_deg=min(near),
                       near_dip_high_deg=max(near))
        out.append(row)
    return out


def landau(model, e_par_max, points=81):
    """Minimum total field of the Landau model fitted to ``model``'s own landscape, per criterion,
    and its E_perp,c curve on [0, e_par_max] [V/A]. Returns (rows, curves) or raises ValueError."""
    from slidesim.fields.landau import minimum_total_field
    from slidesim.landscape import fit_landau_to_model

    path, r_squared, angle, _ = fit_landau_to_model(model)
    e_par = np.linspace(0.0, max(e_par_max, 1.0), points)
    rows, curves = [], {"e_par_VA": e_par.tolist(), "in_plane_angle_deg": angle,
                        "fit_r_squared": r_squared}
    for criterion in CRITERIA:
        best = minimum_total_field(path, criterion)
        rows.append({"model": model, "criterion": criterion,
                     "vertical_E_perp_c_VA": best.vertical_field, "E_par_VA": best.e_par,
                     "E_perp_c_VA": best.e_perp, "E_t_c_VA": best.e_total,
                     "reduction_pct": best.reduction_pct, "dip_angle_deg": best.dip_angle_deg})
        curves[criterion] = path.coercive_curve(e_par, criterion).tolist()
    return rows, curves


def _aggregate(values):
    values = np.array([v for v in values if np.isfinite(v)])
    if not len(values):
        return math.nan, 0.0, 0.0
    return float(values.mean()), float(values.mean() - values.min()), \
        float(values.max() - values.mean())


def plot(model, conds, mins, landau_rows, curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    temperatures = sorted({c["T_K"] for c in conds if c["model"] == model})
    for index, temperature in enumerate(temperatures):
        colour = f"C{index % 10}"
        found = [c for c in conds if c["model"] == model and c["T_K"] == temperature
                 and c["status"] == "found"]
        for number, seed in enumerate(sorted({c["seed"] for c in found})):
            members = sorted((c for c in found if c["seed"] == seed), key=lambda c: c["E_par_VA"])
            left.plot([c["E_par_VA"] for c in members], [c["E_perp_c_VA"] for c in members],
                      "o-", ms=3, color=colour,
                      label=f"MD {temperature:g} K" if number == 0 else None)
        for m in mins:
            if m["model"] == model and m["T_K"] == temperature and np.isfinite(m["E_t_c_VA"]):
                left.plot(m["E_par_VA"], m["E_perp_c_VA"], "*", ms=13, color=colour)
    colours = {"analytic": "tab:purple", "numeric": "tab:green"}
    for row in landau_rows:
        criterion = row["criterion"]
        left.plot(curves["e_par_VA"], curves[criterion], "--", color=colours[criterion],
                  label=f"Landau ({criterion})")
        left.plot(row["E_par_VA"], row["E_perp_c_VA"], "*", ms=13, mfc="none",
                  color=colours[criterion])
    left.set_xlabel("E_par at 60 deg [V/A]")
    left.set_ylabel("E_perp,c along -z [V/A]")
    left.set_xlim(left=0)
    left.set_ylim(bottom=0)
    left.legend(fontsize=7)
    left.set_title(f"{model}: (b) coercive fields, minima starred", fontsize=9)
    per_t = [m for m in mins if m["model"] == model]
    xs, totals, dips = [], [], []
    for temperature in temperatures:
        members = [m for m in per_t if m["T_K"] == temperature]
        xs.append(temperature)
        totals.append(_aggregate([m["E_t_c_VA"] for m in members]))
        dips.append(_aggregate([m["dip_angle_deg"] for m in members]))
    right.errorbar(xs, [t[0] for t in totals], yerr=[[t[1] for t in totals],
                                                     [t[2] for t in totals]],
                   fmt="o-", color="tab:blue", capsize=3, label="min E_t,c (MD)")
    right.set_xlabel("T [K]")
    right.set_ylabel("minimum E_t,c [V/A]", color="tab:blue")
    twin = right.twinx()
    twin.errorbar(xs, [d[0] for d in dips], yerr=[[d[1] for d in dips], [d[2] for d in dips]],
                  fmt="s-", color="tab:red", capsize=3, label="dip angle (MD)")
    low = [min((m["near_dip_low_deg"] for m in per_t if m["T_K"] == t), default=math.nan)
           for t in xs]
    high = [max((m["near_dip_high_deg"] for m in per_t if m["T_K"] == t), default=math.nan)
            for t in xs]
    twin.fill_between(xs, low, high, color="tab:red", alpha=0.15, lw=0,
                      label="dip angles within a grid step of the minimum")
    twin.axhline(PAPER["dip_angle_deg"], color="tab:red", ls=":", label="paper: ~24 deg")
    twin.set_ylabel("dip angle [deg]", color="tab:red")
    twin.set_ylim(0, 90)
    handles, labels = right.get_legend_handles_labels()
    twin_handles, twin_labels = twin.get_legend_handles_labels()
    twin.legend(handles + twin_handles, labels + twin_labels, fontsize=7, loc="best")
    right.set_title("(c) minimum total field and its dip angle", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def _write_csv(path, rows, fallback):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else fallback)
        writer.writeheader()
        writer.writerows(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep")
    parser.add_argument("--out", default=None)
    parser.add_argument("--model", default=None,
                        help="the model, where neither the search's axes nor its deck name one")
    parser.add_argument("--band", type=float, default=PAPER["field_grid_step_V_per_A"],
                        help="near-minimal band [V/A]: the dip angles of the conditions whose "
                             "total field is within this of the minimum (default: one grid step)")
    parser.add_argument("--no-landau", action="store_true",
                        help="skip the Landau fit (e.g. for a model without registry dipole)")
    args = parser.parse_args(argv)
    out = args.out or args.sweep
    os.makedirs(out, exist_ok=True)
    conds = conditions(read_conditions(args.sweep), args.model or deck_model(args.sweep))
    mins = minima(conds, args.band)
    models = sorted({c["model"] for c in conds})
    e_par_max = max(c["E_par_VA"] for c in conds)
    landau_rows, curves, landau_errors = [], {}, {}
    for model in models if not args.no_landau else ():
        try:
            rows, curves[model] = landau(model, e_par_max)
            landau_rows += rows
        except (ValueError, RuntimeError, KeyError) as error:
            landau_errors[model] = str(error)
    _write_csv(os.path.join(out, "fig_s5.csv"), mins, ["model"])
    _write_csv(os.path.join(out, "fig_s5_landau.csv"), landau_rows, ["model", "criterion"])
    from slidesim.sweep.tasks import finished_rows, task_seconds

    # the probes of the conditions in coercive.csv (a later search may have started others)
    # (each probe once: a search run with its axes in another order has its own copies)
    searched = {(c["E_par_VA"], c["T_K"]) for c in conds}
    probes = {}
    for r in finished_rows(args.sweep):
        if (float(r["E_par"]), float(r["T"])) in searched:
            key = tuple(sorted((k, r[k]) for k in ("E_par", "T", "E_perp", "model", "seed")
                               if k in r))
            probes.setdefault(key, r)
    probes = list(probes.values())
    wall_min = task_seconds(probes) / 60.0
    with open(os.path.join(out, "fig_s5.json"), "w") as handle:
        json.dump({"minima": mins, "band_VA": args.band, "landau": landau_rows, "landau_curves": curves,
                   "landau_errors": landau_errors, "conditions": conds, "paper": PAPER,
                   "probes_run": len({r["run_dir"] for r in probes}),
                   "probe_wall_min": wall_min}, handle, indent=1, default=float)
    for model in models:
        plot(model, conds, mins, [r for r in landau_rows if r["model"] == model],
             curves.get(model, {}), os.path.join(out, f"fig_s5_{model or 'md'}.png"))
    print(f"{'model':<8} {'T [K]':>6} {'seed':>5} {'found':>7} {'vertical':>9} {'E_par':>6} "
          f"{'E_perp,c':>8} {'min E_t,c':>9} {'reduction':>9} {'dip':>6} {'band':>11}  [V/A, %, deg]")
    for m in mins:
        edge = "  (at the largest E_par swept)" if m["at_grid_edge"] else ""
        print(f"{m['model']:<8} {m['T_K']:>6g} {m['seed']:>5} {m['found']:>3}/{m['conditions']:<3} "
              f"{m['vertical_E_perp_c_VA']:>9.2f} {m['E_par_VA']:>6.2f} {m['E_perp_c_VA']:>8.2f} "
              f"{m['E_t_c_VA']:>9.3f} {m['reduction_pct']:>8.1f}% {m['dip_angle_deg']:>6.1f} "
              f"{m['near_dip_low_deg']:>5.0f}-{m['near_dip_high_deg']:<5.0f}{edge}")
    for r in landau_rows:
        print(f"{r['model']:<8} Landau {r['criterion']:<8} {r['vertical_E_perp_c_VA']:>7.2f} "
              f"{r['E_par_VA']:>6.2f} {r['E_perp_c_VA']:>8.2f} {r['E_t_c_VA']:>9.3f} "
              f"{r['reduction_pct']:>8.1f}% {r['dip_angle_deg']:>6.1f}")
    for model, error in landau_errors.items():
        print(f"{model}: no Landau fit: {error}")
    print(f"{len({r['run_dir'] for r in probes})} probes run, {wall_min:.0f} min of wall time")
    print(f"paper: minimum E_t,c more than {PAPER['min_Etc_reduction_md_pct_gt']} % below the "
          f"vertical field at low temperature, dip angle about {PAPER['dip_angle_deg']} deg at "
          f"every temperature (Landau with its coefficients: > "
          f"{PAPER['min_Etc_reduction_analytic_pct_gt']} % analytic, > "
          f"{PAPER['min_Etc_reduction_numeric_pct_gt']} % numeric)")


if __name__ == "__main__":
    main()
