"""Time the numba cell-list neighbour build on flat h-BN bilayers (a script, not a test).

    NUMBA_NUM_THREADS=2 python benchmarks/bench_neighbors.py [--max-atoms 100000]

For each list the ILP/Coulomb and Tersoff terms use (16 A interlayer, 2 A intralayer, skin 1 A)
it prints N, the median build time [ms], the time per atom [us], the stored pairs per atom, and
the log-log slope of time against N (1.0 = linear scaling). The first call, which compiles the
kernels (or loads them from numba's cache), is timed separately. Set NUMBA_CACHE_DIR to an empty
folder to time a cold compile.
"""

import argparse
import time

import numba
import numpy as np

from slidesim.neighbors import NeighborList

A_BN = 2.5045      # [A]
INTERLAYER = 3.3   # [A]


def bn_bilayer(n_cells):
    """Flat h-BN bilayer on an n x n supercell: positions (4 n^2, 3) [A], cell (3, 3), layer."""
    a = np.array([A_BN, 0.0])
    b = np.array([-A_BN / 2.0, A_BN * np.sqrt(3.0) / 2.0])
    p, q = np.meshgrid(np.arange(n_cells), np.arange(n_cells), indexing="ij")
    origins = p.reshape(-1, 1) * a + q.reshape(-1, 1) * b
    sheet = np.concatenate([origins, origins + (a + 2.0 * b) / 3.0])
    positions = np.concatenate([np.column_stack([sheet, np.zeros(len(sheet))]),
                                np.column_stack([sheet, np.full(len(sheet), INTERLAYER)])])
    layer = np.repeat([0, 1], len(sheet))
    cell = np.array([[n_cells * a[0], n_cells * a[1], 0.0],
                     [n_cells * b[0], n_cells * b[1], 0.0],
                     [0.0, 0.0, 40.0]])
    rng = np.random.default_rng(0)
    return positions + rng.normal(0.0, 0.05, positions.shape), cell, layer


def median_build_seconds(neighbor_list, positions, cell, layer, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        neighbor_list.build(positions, cell, layer)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-atoms", type=int, default=100_000)
    parser.add_argument("--skin", type=float, default=1.0)
    parser.add_argument("--bins-per-cutoff", type=int, default=2)
    args = parser.parse_args()

    sizes = [n for n in (16, 28, 50, 89, 158) if 4 * n * n <= args.max_atoms]
    print(f"numba {numba.__version__}, {numba.get_num_threads()} threads, "
          f"skin {args.skin} A, bins per cutoff {args.bins_per_cutoff}")

    positions, cell, layer = bn_bilayer(4)
    start = time.perf_counter()
    NeighborList(2.0, args.skin, "intralayer", args.bins_per_cutoff).build(positions, cell, layer)
    print(f"first call (compile or cache load): {time.perf_counter() - start:.2f} s\n")

    for cutoff, mode in ((16.0, "interlayer"), (2.0, "intralayer")):
        print(f"cutoff {cutoff} A {mode} (list cutoff {cutoff + args.skin} A)")
        print(f"{'N':>8} {'build ms':>10} {'us/atom':>9} {'pairs/atom':>11}")
        atoms, seconds = [], []
        for n_cells in sizes:
            positions, cell, layer = bn_bilayer(n_cells)
            nl = NeighborList(cutoff, args.skin, mode, args.bins_per_cutoff)
            nl.build(positions, cell, layer)            # warm-up, allocates once
            n = len(positions)
            repeats = 7 if n < 20_000 else 3
            t = median_build_seconds(nl, positions, cell, layer, repeats)
            atoms.append(n)
            seconds.append(t)
            print(f"{n:>8d} {1e3 * t:>10.2f} {1e6 * t / n:>9.3f} {nl.n_pairs / n:>11.1f}")
            del nl
        if len(atoms) > 1:
            slope = np.polyfit(np.log(atoms), np.log(seconds), 1)[0]
            print(f"log-log slope (scaling exponent): {slope:.3f}\n")


if __name__ == "__main__":
    main()
