"""Cost per atom of the bn-ilp MD step from 900 to ~10^5 atoms (slidesim alone).

    python benchmarks/bench_scaling.py [--cells 15 60 120 224] [--steps 20] [--threads 1]

For each n x n h-BN bilayer (BA, 0.02 A noise, 300 K velocities, Nose-Hoover 300 K, dt = 1 fs,
skin 1 A: the system of bench_bn_ilp.py) it prints ms per step, microseconds per atom and step
(flat when the cost is linear in N), the neighbour lists' memory and their bytes per atom.
LAMMPS is left out here (bench_bn_ilp.py holds the ratios against it): at 10^5 atoms it needs
about 2 s a step. Not a test: run it on a quiet machine.
"""

import argparse

import numba

from bench_bn_ilp import STEPS_WARMUP, run_slidesim, system
from slidesim.models import build_model


def time_steps(n_cells, n_steps, threads):
    """Atoms, ms per step (bench_bn_ilp's fused path: what bn-ilp is) and the bytes of the
    neighbour lists bn-ilp holds for this system."""
    numba.set_num_threads(threads)
    state = system(n_cells)
    ms, _ = run_slidesim(state, n_steps, threads, "fused")
    model = build_model("bn-ilp", state.species_names, state)
    lists = model.neighbor_lists(skin=1.0)
    model.compute(state.positions[0], state.cell, state.species, state.layer, lists)
    return state.n_atoms, ms, sum(nl.nbytes for nl in set(lists.values()))


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
