"""Fig. 4(a) from a `slidesim sweep` of inputs/sweep_fig4a.in: E_perp,c against temperature.

    python validation/fig4a_summary.py fig4a_bn_dft [--out validation/results/fig4a/bn_dft]

Reads the ``done.json`` of every finished task of the sweep (so it can be run while the sweep is
still going), and writes ``fig4a.csv`` (per in-plane field and
temperature: the number of runs, mean, min and max of E_perp,c [V/A], the sliding directions)
and ``fig4a.png`` (mean with the min-max range as error bars, as the paper's bars are the range
of its parallel runs), next to the paper's values (reference/paper_values.toml). E_perp,c is
the field when the sliding vector crosses the saddle point (the switch event), as the paper
defines it: the first switch to AB during the stage named ``ramp``. A run that did not switch
within the ramp counts as "no switch"; one that switched to AB by thermal motion before the ramp
began has no E_perp,c and is counted apart ("before ramp"), not as a zero field.
"""

import argparse
import csv
import json
import os
import sys
from collections import defaultdict

import numpy as np

PAPER = {"E_perp_c_100K": 1.99, "E_perp_c_saturated": 1.39}
#: the stage of inputs/sweep_fig4a.in in which E_perp is ramped
RAMP_STAGE = "ramp"


def read_rows(sweep):
    """One row per finished task and replica, whether or not the sweep has finished."""
    from slidesim.sweep.tasks import finished_rows

    rows = finished_rows(sweep)
    if not rows:
        sys.exit(f"{sweep}: no finished task yet")
    print(f"({len(rows)} finished run(s))")
    return rows


def deck_model(sweep):
    """The model the sweep's deck names (when no --set model=... axis was swept)."""
    try:
        with open(os.path.join(sweep, "sweep.json")) as handle:
            text = json.load(handle).get("deck_text", "")
    except (OSError, ValueError):
        return ""
    for line in text.splitlines():
        words = line.split("#")[0].split()
        if len(words) >= 2 and words[0] == "model":
            return words[1]
    return ""


def table(rows, default_model=""):
    from slidesim.sweep.tasks import task_seconds

    groups, rows_of = defaultdict(list), defaultdict(list)
    for row in rows:
        if row.get("status") != "done":
            continue
        model = row.get("model") or default_model
        key = (model, float(row["E_par"]), float(row["T"]))
        switched = row.get("switched") in ("True", "true", "1")
        before_ramp = switched and row.get("switch_stage", RAMP_STAGE) != RAMP_STAGE
        field = -float(row["switch_field_z_VA"]) if switched and not before_ramp else np.nan
        theta = float(row["switch_theta_deg"]) if switched and not before_ramp else np.nan
        groups[key].append((field, theta, before_ramp))
        rows_of[key].append(row)
    out = []
    for (model, e_par, temperature), runs in sorted(groups.items()):
        fields = np.array([f for f, _, _ in runs])
        ok = fields[np.isfinite(fields)]
        out.append({"model": model, "E_par_VA": e_par, "T_K": temperature, "runs": len(runs),
                    "switched": int(len(ok)),
                    "before_ramp": int(sum(b for _, _, b in runs)),
                    "E_perp_c_mean_VA": float(ok.mean()) if len(ok) else np.nan,
                    "E_perp_c_min_VA": float(ok.min()) if len(ok) else np.nan,
                    "E_perp_c_max_VA": float(ok.max()) if len(ok) else np.nan,
                    "theta_deg": " ".join(f"{t:.0f}" for _, t, _ in runs if np.isfinite(t)),
                    "wall_min": task_seconds(rows_of[(model, e_par, temperature)]) / 60.0})
    return out


def plot(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for e_par, marker in ((0.0, "o"), (0.2, "s")):
        rows = [r for r in summary if r["E_par_VA"] == e_par and r["switched"]]
        if not rows:
            continue
        t = np.array([r["T_K"] for r in rows])
        mean = np.array([r["E_perp_c_mean_VA"] for r in rows])
        low = mean - np.array([r["E_perp_c_min_VA"] for r in rows])
        high = np.array([r["E_perp_c_max_VA"] for r in rows]) - mean
        ax.errorbar(t, mean, yerr=[low, high], marker=marker, capsize=3,
                    label=f"slidesim, E_par = {e_par:g} V/A")
    ax.plot([100], [PAPER["E_perp_c_100K"]], "k*", ms=10, label="paper, 100 K")
    ax.axhline(PAPER["E_perp_c_saturated"], color="k", ls=":", label="paper, above 200 K")
    ax.set_xlabel("T [K]")
    ax.set_ylabel("E_perp,c [V/A]")
    ax.legend(fontsize=7)
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
    summary = table(read_rows(args.sweep), deck_model(args.sweep))
    with open(os.path.join(out, "fig4a.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summary[0]) if summary else ["model"])
        writer.writeheader()
        writer.writerows(summary)
    with open(os.path.join(out, "fig4a.json"), "w") as handle:
        json.dump({"rows": summary, "paper": PAPER}, handle, indent=1, default=float)
    plot(summary, os.path.join(out, "fig4a.png"))
    print(f"{'model':<8} {'E_par':>6} {'T':>5} {'runs':>5} {'switched':>8} {'before ramp':>11} "
          f"{'E_perp,c mean [min, max] V/A':>30}  theta [deg]")
    for r in summary:
        print(f"{r['model']:<8} {r['E_par_VA']:>6g} {r['T_K']:>5g} {r['runs']:>5} "
              f"{r['switched']:>8} {r['before_ramp']:>11} {r['E_perp_c_mean_VA']:>10.3f} [{r['E_perp_c_min_VA']:.3f}, "
              f"{r['E_perp_c_max_VA']:.3f}]  {r['theta_deg']}")
    print(f"wall time of the tasks: {sum(r['wall_min'] for r in summary):.0f} min")
    print(f"paper: {PAPER['E_perp_c_100K']} V/A at 100 K, about {PAPER['E_perp_c_saturated']} "
          "V/A above 200 K (E_par = 0); lower with E_par = 0.2 V/A at 60 deg")


if __name__ == "__main__":
    main()
