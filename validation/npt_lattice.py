"""In-plane NPT of an h-BN bilayer: mean lattice and its fluctuation, slidesim against LAMMPS.

slidesim: ``integrator nose-hoover tdamp 100 fs pressure 0 bar pdamp 1 ps`` (slidesim.barostat).
LAMMPS: ``fix npt temp T T 0.1 x 0 0 1.0 y 0 0 1.0 couple xy`` on the same data file and pair
styles (slidesim.lammps_bridge), ``boundary p p f``. Both start from the built bilayer at the
model's catalog lattice, equilibrate, then sample the lattice constant a = sqrt(area / (n1 n2
sqrt(3)/2)) every 10 steps. Prints and optionally writes JSON: mean a, its standard deviation
and the standard error of the mean (blocks of 5 ps).

    python validation/npt_lattice.py --temperatures 300 2000 --json npt.json
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

from slidesim.barostat import lattice_constant

CELLS = (4, 4)


def block_error(series, n_blocks):
    blocks = np.array_split(np.asarray(series), n_blocks)
    means = np.array([b.mean() for b in blocks])
    return float(means.std(ddof=1) / np.sqrt(n_blocks))


def slidesim_run(temperature, equilibrate, production, seed, model, work):
    import netCDF4

    from slidesim.deck import parse_deck
    from slidesim.simulation import Simulation

    out = os.path.join(work, f"slidesim_{temperature:g}")
    text = f"""system bilayer material BN cells {CELLS[0]} {CELLS[1]} stacking BA
model {model}
timestep 1 fs
integrator nose-hoover tdamp 100 fs pressure 0 bar pdamp 1 ps
velocities {temperature} K
seed {seed}
output {out}
thermo every 100
trajectory every 10
checkpoint every 0
stage equilibrate temperature {temperature} K duration {equilibrate} ps
stage sample temperature {temperature} K duration {production} ps
"""
    start = time.time()
    sim = Simulation(parse_deck(text, os.path.join(work, "npt.in")), progress=False,
                     overwrite=True)
    sim.run()
    with netCDF4.Dataset(os.path.join(out, "traj.nc")) as data:
        cells = np.array(data["cell_vectors"][:])
        times = np.array(data["time"][:])
    keep = times > equilibrate + 1e-9
    a = np.array([lattice_constant(c, CELLS) for c in cells[keep]])
    return a, time.time() - start


def lammps_run(temperature, equilibrate, production, seed, model, work):
    from slidesim.lammps_minimize import _setup
    from slidesim.lammps_bridge import load_lammps
    from slidesim.structures import bilayer

    lammps = load_lammps()
    state = bilayer("BN", CELLS, "BA", lattice=2.5045)
    commands, data = _setup(work, state, model)
    record = os.path.join(work, f"lammps_{temperature:g}.txt")
    n_eq, n_prod = int(round(equilibrate * 1000)), int(round(production * 1000))
    start = time.time()
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    try:
        lmp.commands_string(
            f"units metal\natom_style full\nboundary p p f\nread_data {data}\n{commands}\n"
            f"neighbor 2.0 bin\nneigh_modify every 1 delay 0 check yes\ntimestep 0.001\n"
            f"velocity all create {temperature} {seed} dist gaussian mom yes\n"
            f"fix 1 all npt temp {temperature} {temperature} 0.1 x 0 0 1.0 y 0 0 1.0 couple xy\n"
            f"run {n_eq}\nvariable lx equal lx\nvariable ly equal ly\n"
            f"fix p all print 10 \"${{lx}} ${{ly}}\" file {record} screen no\n"
            f"run {n_prod}\n")
    finally:
        lmp.close()
    lx, ly = np.loadtxt(record, skiprows=1, unpack=True)
    a = np.sqrt(lx * ly / (CELLS[0] * CELLS[1] * np.sqrt(3) / 2))
    return a, time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[300.0, 2000.0])
    parser.add_argument("--equilibrate", type=float, default=5.0, help="ps")
    parser.add_argument("--production", type=float, default=40.0, help="ps")
    parser.add_argument("--model", default="bn-ilp")
    parser.add_argument("--seed", type=int, default=4928)
    parser.add_argument("--codes", nargs="+", default=["slidesim", "lammps"])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for temperature in args.temperatures:
            for code, runner in (("slidesim", slidesim_run), ("lammps", lammps_run)):
                if code not in args.codes:
                    continue
                a, seconds = runner(temperature, args.equilibrate, args.production, args.seed,
                                    args.model, work)
                row = {"code": code, "model": args.model, "temperature_K": temperature,
                       "cells": list(CELLS), "samples": len(a), "mean_A": float(a.mean()),
                       "std_A": float(a.std()),
                       "sem_A": block_error(a, max(2, int(args.production // 5))),
                       "seconds": seconds}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
