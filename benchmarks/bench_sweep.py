"""Sweep throughput on Dask: tasks per minute with 1 and with 2 local workers.

    python benchmarks/bench_sweep.py [--tasks 8] [--cells 3] [--ps 1.0] [--workers 1 2]

Each task is a small NVT run (a CELLSxCELLS BA h-BN bilayer, bn-ilp, 1 fs steps, PS ps at a swept
temperature). Every worker count gets a fresh local cluster and a fresh sweep directory; the
cluster's start-up is timed apart from the sweep, and each worker first runs one warm-up task
(numba compilation is cached on disk, but each process still loads it).
"""

import argparse
import os
import tempfile
import time

from slidesim.sweep import Sweep, parse_set_option, sweep_client

DECK = """system bilayer material BN cells {cells} {cells} stacking BA
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 100 fs
seed 1
velocities $T K
thermo every 100
trajectory every 500
checkpoint every 1000
stage hold temperature $T K duration {ps} ps
"""


def measure(workers, tasks, deck, directory):
    started = time.perf_counter()
    with sweep_client(workers=workers) as client:
        startup = time.perf_counter() - started
        warm = Sweep(deck, [parse_set_option(f"T=1:{workers}:1")], os.path.join(directory, "warm"))
        warm.run(client, progress=False)
        temperatures = ",".join(str(100 + k) for k in range(tasks))
        sweep = Sweep(deck, [parse_set_option(f"T={temperatures}")],
                      os.path.join(directory, f"w{workers}"))
        started = time.perf_counter()
        summaries = sweep.run(client, progress=False)
        elapsed = time.perf_counter() - started
    assert all(s["status"] == "done" for s in summaries)
    per_task = sum(s["seconds"] for s in summaries) / len(summaries)
    return startup, elapsed, per_task


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--cells", type=int, default=3)
    parser.add_argument("--ps", type=float, default=1.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        deck = os.path.join(directory, "deck.in")
        with open(deck, "w") as handle:
            handle.write(DECK.format(cells=args.cells, ps=args.ps))
        print(f"{args.tasks} tasks of {4 * args.cells ** 2} atoms x {args.ps:g} ps "
              f"({int(args.ps * 1000)} steps), {os.cpu_count()} cores")
        print(f"{'workers':>7} {'start-up s':>10} {'sweep s':>8} {'s/task':>7} {'tasks/min':>10}")
        rates = {}
        for workers in args.workers:
            startup, elapsed, per_task = measure(workers, args.tasks, deck, directory)
            rates[workers] = 60.0 * args.tasks / elapsed
            print(f"{workers:>7} {startup:>10.1f} {elapsed:>8.1f} {per_task:>7.2f} "
                  f"{rates[workers]:>10.1f}")
        if len(rates) > 1:
            low, high = min(rates), max(rates)
            print(f"speed-up {high} vs {low} workers: {rates[high] / rates[low]:.2f}x")


if __name__ == "__main__":
    main()
