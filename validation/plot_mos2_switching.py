"""Plot and tabulate MoS2 switching runs (inputs/mos2_switch_*.in) for docs/fields.md.

    python validation/plot_mos2_switching.py RUN_DIR [RUN_DIR ...] \
        [--labels ...] [--output docs/images/mos2_switching.png]

Each RUN_DIR is a run's output folder (thermo.csv, events.json). Left: the sliding vector t over
the hexagon of the MX -> XM paths (each run's track from MX); right: P_perp against E_perp. The
table printed (markdown) gives, per run, the in-plane field, the coercive field E_perp,c at the
crossing of the saddle point and the direction of the slide.
"""

import argparse
import csv
import json
import os
import sys

import numpy as np

from slidesim.geometry import primitive_cell, sliding_vector

LATTICE_A = 3.1152


def read_run(folder):
    with open(os.path.join(folder, "thermo.csv")) as handle:
        rows = list(csv.DictReader(row for row in handle if not row.startswith("#")))
    data = {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}
    events_path = os.path.join(folder, "events.json")
    events = []
    if os.path.exists(events_path):
        with open(events_path) as handle:
            events = json.load(handle)["events"]
    return data, events


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--labels", nargs="*")
    parser.add_argument("--output", default=os.path.join("docs", "images", "mos2_switching.png"))
    args = parser.parse_args(argv)
    labels = args.labels or [os.path.basename(os.path.normpath(r)) for r in args.runs]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_p) = plt.subplots(1, 2, figsize=(11, 4.8))
    prim = primitive_cell(LATTICE_A)
    t_mx = sliding_vector("MX", LATTICE_A)[:2]
    # the three XM sites next to MX and the saddle points between
    for shift in (np.zeros(2), prim[1, :2], -prim[0, :2]):
        xm = sliding_vector("XM", LATTICE_A)[:2] + shift
        ax_t.plot(*xm, "o", color="tab:red", ms=9, mfc="none", mew=2)
        ax_t.annotate("XM", xm, textcoords="offset points", xytext=(6, 4), color="tab:red")
        ax_t.plot(*(0.5 * (xm + t_mx)), "x", color="tab:green", ms=8, mew=2)
    ax_t.plot(*t_mx, "o", color="tab:blue", ms=9, mfc="none", mew=2)
    ax_t.annotate("MX", t_mx, textcoords="offset points", xytext=(6, 4), color="tab:blue")
    print("| run | E_par [V/A] at theta | E_perp,c [V/A] | time [ps] | slide theta [deg] |")
    print("|---|---|---|---|---|")
    for k, (folder, label) in enumerate(zip(args.runs, labels)):
        data, events = read_run(folder)
        colour = f"C{k}"
        t = np.column_stack([data["sliding_x_A"], data["sliding_y_A"]])
        # fold the track so that it starts at the MX site drawn
        start = t[0] - t_mx
        frac = np.linalg.solve(prim[:, :2].T, start)
        t = t - np.round(frac) @ prim[:, :2]
        ax_t.plot(t[:, 0], t[:, 1], "-", color=colour, lw=0.8, label=label)
        ramp = np.flatnonzero(np.abs(data["field_z_VA"]) > 0)  # the in-plane field of the ramp
        last = ramp[-1] if len(ramp) else -1
        e_par = np.hypot(data["field_x_VA"], data["field_y_VA"])[last]
        theta = np.degrees(np.arctan2(-data["field_x_VA"][last], data["field_y_VA"][last])) % 360
        ax_p.plot(data["field_z_VA"][ramp], data["P_z_pCm"][ramp], "-", color=colour, lw=0.8,
                  label=label)
        field_text = f"{e_par:.2f} at {theta:.0f} deg" if e_par > 1e-9 else "0"
        switched = [e for e in events if e.get("end") == "XM"]
        if switched:
            event = switched[0]
            print(f"| {label} | {field_text} | {event['field'][2]:.3f} | {event['time']:.2f} | "
                  f"{event['theta']:.0f} |")
            ax_p.axvline(event["field"][2], color=colour, ls=":", lw=1)
        else:
            print(f"| {label} | {field_text} | no switch up to {data['field_z_VA'].max():.2f} | "
                  f"{data['time_ps'][-1]:.2f} | |")
    ax_t.set_aspect("equal")
    ax_t.set_xlabel("t_x [A]")
    ax_t.set_ylabel("t_y [A]")
    ax_t.set_title("sliding vector (MX -> XM)", fontsize=9)
    ax_t.legend(fontsize=8)
    ax_p.set_xlabel("E_perp (+z) [V/A]")
    ax_p.set_ylabel("P_perp [pC/m]")
    ax_p.set_title("P_perp during the ramp (dotted: E_perp,c)", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
