"""Energy conservation and canonical sampling of slidesim's integrators with the bn-ilp model.

    python validation/energy_conservation.py [--cells 15] [--ps 10] [--threads 2]

Runs a 15 x 15 h-BN bilayer (900 atoms, BA, bn-ilp, dt = 1 fs):
1. NVE for 10 ps starting at 600 K on the perfect lattice (equipartition brings it to ~300 K);
2. Nose-Hoover NVT at 300 K (tdamp 100 fs) for 10 ps;
and prints the drift of the conserved quantity (linear fit over the run, in eV/atom per run
length), its largest excursion, and for NVT the temperature's mean and relative fluctuation after
the first picosecond against the canonical sqrt(2 / N_f). The issue's bar: drift < 1e-4 eV/atom
over 10 ps at 300 K.
"""

import argparse
import os
import tempfile

import numba
import numpy as np

from slidesim.deck import parse_deck
from slidesim.io.thermo import read_thermo
from slidesim.simulation import Simulation

DECK = """system bilayer material BN cells {cells} {cells} stacking BA
model bn-ilp
timestep 1 fs
integrator {integrator}
velocities {velocities} K
seed 3
output {output}
thermo every 10
trajectory every 0
checkpoint every 0
stage run temperature 300 K duration {ps} ps
"""


def run(integrator, velocities, cells, ps):
    folder = tempfile.mkdtemp(prefix="slidesim-energy-")
    text = DECK.format(cells=cells, integrator=integrator, velocities=velocities, ps=ps,
                       output=folder)
    sim = Simulation(parse_deck(text, os.path.join(folder, "deck.in")), progress=True)
    summary = sim.run()
    thermo = read_thermo(os.path.join(folder, "thermo.csv"))
    return sim.state.n_atoms, thermo, summary


def report(name, n_atoms, thermo, ps):
    t = np.asarray(thermo["time_ps"])
    conserved = np.asarray(thermo["conserved_eV"]) / n_atoms
    slope = np.polyfit(t, conserved, 1)[0]
    print(f"{name}: drift {slope * ps:+.2e} eV/atom over {ps:g} ps (linear fit), "
          f"largest excursion {np.abs(conserved - conserved[0]).max():.2e} eV/atom, "
          f"fluctuation (std) {conserved.std():.2e} eV/atom")
    after = t >= 1.0
    temps = np.asarray(thermo["temperature_K"])[after]
    dof = 3 * n_atoms - 3
    print(f"{name}: T = {temps.mean():.1f} K, std/mean = {temps.std() / temps.mean():.4f} "
          f"(canonical sqrt(2/N_f) = {np.sqrt(2.0 / dof):.4f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=15)
    parser.add_argument("--ps", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    for name, integrator, velocities in [("NVE", "nve", 600.0),
                                         ("Nose-Hoover", "nose-hoover tdamp 100 fs", 300.0)]:
        n_atoms, thermo, summary = run(integrator, velocities, args.cells, args.ps)
        print(f"{name}: {n_atoms} atoms, {summary['steps']} steps, "
              f"{summary['ms_per_step']:.1f} ms/step")
        report(name, n_atoms, thermo, args.ps)


if __name__ == "__main__":
    main()
