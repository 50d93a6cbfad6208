"""Time `slidesim analyze` on a large trajectory (a script, not a test).

    NUMBA_NUM_THREADS=2 python benchmarks/bench_analyze.py [--frames 10000] [--cells 50]

Writes a slidesim-format trajectory of a cells x cells h-BN bilayer (4 cells^2 atoms: 10,000 for
50 x 50) with float32 coordinates (1.2 GB for 10,000 frames), whose top layer slides BA -> AB ->
... with thermal noise while the whole bilayer drifts, into a temporary directory (or --dir);
then times the analysis (streamed in blocks: only --block-frames frames in memory), separately
for the first call (numba compile or cache load) and a second call, and prints frames/s and
atom-frames/s and the peak memory. The second call reads the file from the page cache where
it fits in memory; a cold read also depends on the disk.
"""

import argparse
import os
import resource
import tempfile
import time

import netCDF4
import numpy as np

from slidesim.analysis.analyze import analyze_trajectory
from slidesim.io.trajectory import TrajectoryWriter
from slidesim.structures import bilayer, primitive_cell


def write_trajectory(path, n_frames, n_cells, block=200, seed=0):
    """A slidesim trajectory of ``n_frames`` frames; returns the seconds it took."""
    started = time.perf_counter()
    structure = bilayer("BN", (n_cells, n_cells), "BA")
    with TrajectoryWriter(path, structure, title="bench_analyze") as writer:
        writer.close()
    base = structure.positions[0].astype(np.float64)
    top = structure.layer == 1
    prim = primitive_cell(structure.cell[0, 0] / n_cells)
    rng = np.random.default_rng(seed)
    turns = np.linspace(0.0, 3.0, n_frames)[:, None] * (prim[1] - prim[0])
    with netCDF4.Dataset(path, "a") as ds:
        ds.set_auto_mask(False)
        v = ds.variables
        for start in range(0, n_frames, block):
            stop = min(start + block, n_frames)
            frames = np.repeat(base[None], stop - start, axis=0)
            frames[:, top] += turns[start:stop, None]
            frames += 0.01 * np.arange(start, stop)[:, None, None] * np.array([0.3, 0.1, 0.0])
            frames += rng.normal(0.0, 0.05, frames.shape)
            v["coordinates"][start:stop] = frames.astype(np.float32)
            v["time"][start:stop] = 0.1 * np.arange(start, stop)
            v["step"][start:stop] = 100 * np.arange(start, stop)
            v["stage"][start:stop] = np.arange(start, stop) * 20 // n_frames
            v["temperature_target"][start:stop] = 50.0 * (1 + np.arange(start, stop) * 20 // n_frames)
            v["temperature"][start:stop] = v["temperature_target"][start:stop]
            v["cell_vectors"][start:stop] = structure.cell
            lengths = np.linalg.norm(structure.cell, axis=1)
            v["cell_lengths"][start:stop] = lengths
            v["cell_angles"][start:stop] = [90.0, 90.0, 120.0]
            v["potential_energy"][start:stop] = np.nan
            v["electric_field"][start:stop] = np.zeros(3)
            v["sliding_vector"][start:stop] = np.nan
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--cells", type=int, default=50, help="bilayer is cells x cells")
    parser.add_argument("--block-frames", type=int, default=256)
    parser.add_argument("--dir", default=None, help="where to write the file (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the trajectory file")
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="bench_analyze.")
    path = os.path.join(directory, "bench.nc")
    n_atoms = 4 * args.cells ** 2
    seconds = write_trajectory(path, args.frames, args.cells)
    size = os.path.getsize(path) / 2 ** 30
    print(f"wrote {args.frames} frames x {n_atoms} atoms ({size:.2f} GiB) in {seconds:.1f} s")
    try:
        for label in ("first call (compile or cache load)", "second call"):
            started = time.perf_counter()
            result = analyze_trajectory(path, ["G=a*-b*", "G=2a*+b*"],
                                        block_frames=args.block_frames)
            elapsed = time.perf_counter() - started
            print(f"{label}: {elapsed:.2f} s = {args.frames / elapsed:,.0f} frames/s = "
                  f"{args.frames * n_atoms / elapsed / 1e6:,.0f} M atom-frames/s; "
                  f"{len(result.stages)} stages, {len(result.crossings)} crossings")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10
        print(f"peak resident memory {peak:.0f} MiB (the file is {size * 1024:.0f} MiB)")
    finally:
        if not args.keep:
            os.remove(path)
            if args.dir is None:
                os.rmdir(directory)


if __name__ == "__main__":
    main()
