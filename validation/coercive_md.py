"""Coercive fields from MD: E_perp,c against temperature, with and without an in-plane field.

    python validation/coercive_md.py [--cells 15] [--rate 0.02] [--temperatures 100 300 500]
                                     [--e-par 0 0.2] [--replicas 4] [--out coercive_md]

The analogue of the paper's Fig. 4(a). For each in-plane field E_par (at 60 deg, the BA -> AB
direction) and temperature, R replicas of a BA bilayer (bn-ilp + registry dipole model) are
equilibrated for ``--warm-ps`` and E_perp is ramped along -z at ``--rate`` V/A/ps until every
replica has switched; E_perp,c is the field when a replica's sliding vector crosses the saddle
point, and theta its sliding direction (counterclockwise from +y). Writes OUT/coercive_md.csv and
OUT/coercive_md.png and prints a table. The paper's protocol (900 atoms, 0.02 V/A/ps) takes hours
on a workstation; smaller cells and faster ramps give a quick, coarser picture (faster ramps raise
E_perp,c: the system has less time to cross the barrier thermally).
"""

import argparse
import csv
import os

import numpy as np

from slidesim.deck import parse_deck
from slidesim.simulation import Simulation

DECK = """system bilayer material BN cells {cells} {cells} stacking BA
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 100 fs
seed {seed}
replicas {replicas}
output {output}
thermo every 100
trajectory every 0
checkpoint every 0
stage equilibrate temperature {T} K duration {warm} ps{par}
stage ramp temperature {T} K duration {ramp} ps{par} field_perp 0 V/A field_perp_rate -{rate} V/A/ps stop switched to AB
"""


def run_condition(args, temperature, e_par):
    par = f" field_par {e_par} V/A field_angle 60 deg" if e_par else ""
    output = os.path.join(args.out, f"T{temperature:g}_Epar{e_par:g}")
    ramp_ps = args.max_field / args.rate
    text = DECK.format(cells=args.cells, seed=args.seed, replicas=args.replicas, output=output,
                       T=temperature, warm=args.warm_ps, par=par, ramp=f"{ramp_ps:g}",
                       rate=args.rate)
    sim = Simulation(parse_deck(text, os.path.join(args.out, "deck.in")), progress=True)
    summary = sim.run()
    fields = {}
    for event in summary["events"]:
        if event["stage"] == "ramp" and event["replica"] not in fields:
            fields[event["replica"]] = (-event["field"][2], event["theta"])
    return [fields.get(r, (np.nan, np.nan)) for r in range(args.replicas)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=15)
    parser.add_argument("--rate", type=float, default=0.02, help="ramp rate [V/A/ps]")
    parser.add_argument("--max-field", type=float, default=4.0, help="ramp end [V/A]")
    parser.add_argument("--warm-ps", type=float, default=10.0)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[100, 200, 300, 400, 500])
    parser.add_argument("--e-par", type=float, nargs="+", default=[0.0, 0.2])
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", default="coercive_md")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for e_par in args.e_par:
        for temperature in args.temperatures:
            for replica, (field, theta) in enumerate(run_condition(args, temperature, e_par)):
                rows.append({"e_par_VA": e_par, "temperature_K": temperature, "replica": replica,
                             "e_perp_c_VA": field, "theta_deg": theta})
                print(f"E_par {e_par:4.2f} V/A  T {temperature:6.1f} K  replica {replica}: "
                      f"E_perp,c = {field:.3f} V/A, theta = {theta:.0f} deg", flush=True)
    path = os.path.join(args.out, "coercive_md.csv")
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n{'E_par':>6} {'T [K]':>7} {'E_perp,c mean':>14} {'std':>6} {'thetas [deg]'}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for e_par in args.e_par:
        means, stds = [], []
        for temperature in args.temperatures:
            sel = [r for r in rows if r["e_par_VA"] == e_par and r["temperature_K"] == temperature]
            values = np.array([r["e_perp_c_VA"] for r in sel])
            thetas = " ".join(f"{r['theta_deg']:.0f}" for r in sel)
            means.append(np.nanmean(values))
            stds.append(np.nanstd(values))
            print(f"{e_par:>6.2f} {temperature:>7.0f} {means[-1]:>14.3f} {stds[-1]:>6.3f} {thetas}")
        ax.errorbar(args.temperatures, means, yerr=stds, marker="o", capsize=3,
                    label=f"E_par = {e_par:g} V/A at 60 deg")
    ax.set_xlabel("temperature [K]")
    ax.set_ylabel("E_perp,c [V/A]")
    ax.set_title(f"{args.cells}x{args.cells} cells, ramp {args.rate:g} V/A/ps")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "coercive_md.png"), dpi=120)
    print(f"wrote {path} and coercive_md.png")


if __name__ == "__main__":
    main()
