"""Fig. S4 from a `slidesim sweep` of inputs/sweep_fig_s4.in: sliding direction and E_perp,c
against the direction of the in-plane field.

    python validation/fig_s4_summary.py fig_s4_bn_dft [--out validation/results/fig_s4/bn_dft]

Reads the ``done.json`` of every finished task of the sweep (so it can be run while the sweep
is still going) and writes ``fig_s4.csv`` (per model and in-plane
field angle: the number of runs, how many switched, mean, min and max of E_perp,c [V/A], the
sliding direction of every switch and how many runs slid along each of the three BA -> AB
directions 60, 180 and 300 deg), ``fig_s4.json`` (the same, each run, the paper's statements)
and ``fig_s4.png`` (E_perp,c with its min-max range, and the sliding directions, against the
field angle). Angles are counterclockwise from +y, as in the paper. E_perp,c is the field when
the sliding vector crosses the saddle point (the switch event), as the paper defines it; a run
that did not switch within the ramp counts as "no switch".

The paper (0.1 K, |E_par| = 0.1 V/A): within (0, 60] deg the slide is always along 60 deg, at
0 deg randomly along 60 or 300 deg, and the closer the field is to 60 deg, the smaller E_perp,c.
"""

import argparse
import csv
import json
import os
import sys
from collections import defaultdict

import numpy as np

SLIDING_DIRECTIONS_DEG = (60, 180, 300)  # BA -> AB along b - a and its two rotations
PAPER = {"E_par_V_per_A": 0.1, "T_K": 0.1, "angles_deg": [0, 15, 30, 45, 60],
         "direction": "60 deg for every field angle in (0, 60]; 60 or 300 deg at random at 0",
         "trend": "E_perp,c falls as the field angle approaches 60 deg"}


def read_rows(sweep):
    """One row per finished task and replica, whether or not the sweep has finished."""
    from slidesim.sweep.tasks import finished_rows

    rows = finished_rows(sweep)
    if not rows:
        sys.exit(f"{sweep}: no finished task yet (`slidesim sweep ... --dry-run` lists them)")
    print(f"({len(rows)} finished run(s))")
    return rows


def deck_model(sweep):
    """The model: the swept `model` axis if it has one value, else the deck's `model` line
    (from the sweep's sweep.json), or ''."""
    try:
        with open(os.path.join(sweep, "sweep.json")) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return ""
    swept = manifest.get("parameters", {}).get("model", [])
    if len(swept) == 1:
        return swept[0]
    for line in str(manifest.get("deck_text", "")).splitlines():
        words = line.split("#")[0].split()
        if len(words) >= 2 and words[0] == "model" and not words[1].startswith("$"):
            return words[1]
    return ""


def nearest_direction(theta):
    """The BA -> AB sliding direction [deg] closest to theta [deg] on the circle."""
    return min(SLIDING_DIRECTIONS_DEG, key=lambda d: abs((theta - d + 180.0) % 360.0 - 180.0))


def runs_of(rows, model=""):
    """Each finished run as (model, angle [deg], seed, E_perp,c [V/A] or NaN, theta or NaN);
    ``model`` where the rows have no model column."""
    runs = []
    for row in rows:
        if row.get("status") != "done":
            continue
        switched = row.get("switched") in ("True", "true", "1")
        runs.append({"model": row.get("model") or row.get("MODEL") or model,
                     "angle_deg": float(row["ANGLE"]), "seed": row.get("seed", ""),
                     "replica": row.get("replica", "0"),
                     "E_perp_c_VA": -float(row["switch_field_z_VA"]) if switched else np.nan,
                     "theta_deg": float(row["switch_theta_deg"]) if switched else np.nan,
                     "run_dir": row["run_dir"], "seconds": row["seconds"]})
    return runs


def table(runs):
    from slidesim.sweep.tasks import task_seconds

    groups = defaultdict(list)
    for run in runs:
        groups[(run["model"], run["angle_deg"])].append(run)
    out = []
    for (model, angle), members in sorted(groups.items()):
        fields = np.array([r["E_perp_c_VA"] for r in members])
        ok = fields[np.isfinite(fields)]
        thetas = [r["theta_deg"] for r in members if np.isfinite(r["theta_deg"])]
        counts = {d: sum(nearest_direction(t) == d for t in thetas) for d in SLIDING_DIRECTIONS_DEG}
        out.append({"model": model, "angle_deg": angle, "runs": len(members),
                    "switched": int(len(ok)),
                    "E_perp_c_mean_VA": float(ok.mean()) if len(ok) else np.nan,
                    "E_perp_c_min_VA": float(ok.min()) if len(ok) else np.nan,
                    "E_perp_c_max_VA": float(ok.max()) if len(ok) else np.nan,
                    "theta_deg": " ".join(f"{t:.0f}" for t in thetas),
                    **{f"along_{d}": counts[d] for d in SLIDING_DIRECTIONS_DEG},
                    "wall_min": task_seconds(members) / 60.0})
    return out


def comparison(summary):
    """Per model, what the paper states, checked on this sweep: the slide direction for angles
    in (0, 60], at 0, and whether mean E_perp,c falls (never rises) towards 60 deg."""
    verdicts = {}
    for model in sorted({r["model"] for r in summary}):
        rows = sorted((r for r in summary if r["model"] == model and r["switched"]),
                      key=lambda r: r["angle_deg"])
        inside = [r for r in rows if 0 < r["angle_deg"] <= 60]
        at_zero = [r for r in rows if r["angle_deg"] == 0]
        means = [r["E_perp_c_mean_VA"] for r in rows]
        verdicts[model] = {
            "all_along_60_in_(0,60]": (all(r["along_60"] == r["switched"] for r in inside)
                                       if inside else None),
            "directions_at_0": ({d: sum(r[f"along_{d}"] for r in at_zero)
                                 for d in SLIDING_DIRECTIONS_DEG} if at_zero else None),
            "E_perp_c_never_rises_towards_60": (bool(np.all(np.diff(means) <= 0))
                                                if len(means) > 1 else None)}
    return verdicts


def plot(summary, runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 5.6), sharex=True)
    models = sorted({r["model"] for r in summary})
    for index, model in enumerate(models):
        marker = "osd^v"[index % 5]
        offset = 1.5 * (index - (len(models) - 1) / 2)  # models side by side at each angle
        rows = [r for r in summary if r["model"] == model and r["switched"]]
        if rows:
            angle = np.array([r["angle_deg"] for r in rows])
            mean = np.array([r["E_perp_c_mean_VA"] for r in rows])
            low = mean - np.array([r["E_perp_c_min_VA"] for r in rows])
            high = np.array([r["E_perp_c_max_VA"] for r in rows]) - mean
            top.errorbar(angle + offset, mean, yerr=[low, high], marker=marker, capsize=3,
                         label=f"slidesim, {model}" if model else "slidesim")
        switched = [r for r in runs if r["model"] == model and np.isfinite(r["theta_deg"])]
        bottom.plot([r["angle_deg"] + offset for r in switched],
                    [r["theta_deg"] for r in switched], marker, ls="none", alpha=0.7,
                    label=f"slidesim, {model}" if model else "slidesim")
    for direction in SLIDING_DIRECTIONS_DEG:
        bottom.axhline(direction, color="0.8", lw=0.8, zorder=0)
    bottom.plot([0, 0], [60, 300], "k*", ms=9, label="paper: 60 or 300 at 0 deg")
    bottom.plot([15, 30, 45, 60], [60] * 4, "k*", ms=9, fillstyle="none",
                label="paper: 60 in (0, 60]")
    top.set_ylabel("E_perp,c [V/A]")
    top.set_title("0.1 K, |E_par| = 0.1 V/A", fontsize=9)
    top.legend(fontsize=7)
    bottom.set_ylabel("sliding direction [deg]")
    bottom.set_yticks([0, 60, 120, 180, 240, 300, 360])
    bottom.set_ylim(-10, 370)
    bottom.set_xlabel("in-plane field angle [deg, counterclockwise from +y]")
    bottom.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    out = args.out or args.sweep
    os.makedirs(out, exist_ok=True)
    runs = runs_of(read_rows(args.sweep), deck_model(args.sweep))
    summary = table(runs)
    verdicts = comparison(summary)
    with open(os.path.join(out, "fig_s4.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summary[0]) if summary else ["model"])
        writer.writeheader()
        writer.writerows(summary)
    with open(os.path.join(out, "fig_s4.json"), "w") as handle:
        kept = [{k: v for k, v in r.items() if k not in ("run_dir", "seconds")} for r in runs]
        json.dump({"rows": summary, "runs": kept, "comparison": verdicts, "paper": PAPER},
                  handle, indent=1, default=float)
    plot(summary, runs, os.path.join(out, "fig_s4.png"))
    print(f"{'model':<8} {'angle':>5} {'runs':>5} {'switched':>8} "
          f"{'E_perp,c mean [min, max] V/A':>30}  along 60/180/300  theta [deg]")
    for r in summary:
        print(f"{r['model']:<8} {r['angle_deg']:>5g} {r['runs']:>5} {r['switched']:>8} "
              f"{r['E_perp_c_mean_VA']:>10.3f} [{r['E_perp_c_min_VA']:.3f}, "
              f"{r['E_perp_c_max_VA']:.3f}]  {r['along_60']:>5}/{r['along_180']}/"
              f"{r['along_300']:<6}  {r['theta_deg']}")
    for model, verdict in verdicts.items():
        print(f"{model or 'slidesim'}: " + "; ".join(f"{k} {v}" for k, v in verdict.items()))
    print(f"wall time of the tasks: {sum(r['wall_min'] for r in summary):.0f} min")
    print(f"paper: {PAPER['direction']}; {PAPER['trend']}")


if __name__ == "__main__":
    main()
