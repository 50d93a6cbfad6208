"""Cost per atom of the bn-ilp MD step from 900 to ~10^5 atoms (slidesim alone).

    python benchmarks/bench_scaling.py [--cells 15 60 120 224] [--steps 20] [--threads 1]

For each n x n h-BN bilayer (BA, 0.02 A noise, 300 K velocities, Nose-Hoover 300 K, dt = 1 fs,
skin 1 A: the system of bench_bn_ilp.py) it prints ms per step, microseconds per atom and step
(flat when the cost is linear in N), the neighbour lists' memory and their bytes per atom.
LAMMPS is left out here (bench_bn_ilp.py holds the ratios against it): at 10^5 atoms it needs
about 2 s a step. Not a test: run it on a quiet machine.
"""

import argparse
import time

import numba
import numpy as np

from bench_bn_ilp import STEPS_WARMUP, system
from slidesim import integrators as integ
from slidesim.models import build_model
from slidesim.state import State


def time_steps(n_cells, n_steps, threads):
    numba.set_num_threads(threads)
    built = system(n_cells)
    state = State(built.positions, built.velocities, built.cell, built.species,
                  built.species_names, built.masses, built.layer,
                  nose_hoover=np.zeros((1, 3, 3)))
    model = build_model("bn-ilp", state.species_names, state)
    lists = model.neighbor_lists(skin=1.0)
    integrator = integ.NoseHooverChain(1e-3, 0.1)
    result = model.compute(state.positions[0], state.cell, state.species, state.layer, lists)
    integrator.setup(state, 0, 300.0)

    def steps(n):
        nonlocal result
        for _ in range(n):
            integrator.first_half(state, 0, result.forces, 300.0)
            result = model.compute(state.positions[0], state.cell, state.species, state.layer,
                                   lists)
            integrator.second_half(state, 0, result.forces, 300.0)

    steps(STEPS_WARMUP)
    start = time.perf_counter()
    steps(n_steps)
    ms = (time.perf_counter() - start) / n_steps * 1e3
    memory = sum(nl.nbytes for nl in set(lists.values()))
    return state.n_atoms, ms, memory


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[15, 60, 120, 224])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(f"bn-ilp MD step, {args.threads} thread(s), {args.steps} steps after {STEPS_WARMUP}")
    print(f"{'atoms':>8} {'ms/step':>10} {'us/atom/step':>13} {'lists MB':>9} {'B/atom':>7}")
    for n in args.cells:
        atoms, ms, memory = time_steps(n, args.steps, args.threads)
        print(f"{atoms:>8} {ms:>10.2f} {ms * 1e3 / atoms:>13.3f} {memory / 1e6:>9.1f} "
              f"{memory / atoms:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
