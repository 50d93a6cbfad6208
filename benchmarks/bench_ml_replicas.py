"""Time per MD step with a machine-learned model against the number of replicas R.

    python benchmarks/bench_ml_replicas.py [--model inputs/models/bn_demo_allegro.pt]
        [--cells 6] [--replicas 1 2 4 8 16] [--steps 10] [--device auto] [--threads N]

Each R runs the full driver (Nose-Hoover, neighbour lists, the model for all R replicas in one
call per step, the field term with the model's Born charges in E_perp = -0.5 V/A) on a
CELLSxCELLS BA bilayer. After a few warm-up steps (TorchScript optimises the first calls) it
prints ms per step, ms per replica-step and the throughput per replica relative to R = 1, all
measured in this process.
"""

import argparse
import os
import tempfile
import time

DEFAULT_MODEL = os.path.join(os.path.dirname(__file__), "..", "inputs", "models",
                             "bn_demo_allegro.pt")

DECK = """system bilayer material BN cells {cells} {cells} stacking BA lattice 2.511 A distance 3.074 A
model torchscript path {model} device {device}
timestep 1 fs
integrator nose-hoover tdamp 100 fs
seed 7
replicas {replicas}
velocities 300 K
output {output}
thermo every 1000
trajectory every 0
checkpoint every 0
born_charges model
stage run temperature 300 K steps 100000 field_perp -0.5 V/A
"""


def time_steps(replicas, args, directory):
    from slidesim.deck import parse_deck
    from slidesim.simulation import Simulation

    text = DECK.format(cells=args.cells, model=os.path.abspath(args.model), device=args.device,
                       replicas=replicas, output=os.path.join(directory, f"r{replicas}"))
    simulation = Simulation(parse_deck(text, os.path.join(directory, "bench.in")),
                            progress=False)
    simulation.run(max_steps=args.warmup)
    started = time.perf_counter()
    simulation.run(max_steps=args.steps)
    return (time.perf_counter() - started) / args.steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--cells", type=int, default=6)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    atoms = 4 * args.cells ** 2
    print(f"model {args.model}; {atoms} atoms per replica; device {device}; torch threads "
          f"{torch.get_num_threads()}")
    print(f"{'R':>4} {'ms/step':>10} {'ms/replica-step':>16} {'throughput/R=1':>15}")
    base = None
    with tempfile.TemporaryDirectory() as directory:
        for replicas in args.replicas:
            seconds = time_steps(replicas, args, directory)
            per_replica = seconds / replicas
            base = base or per_replica
            print(f"{replicas:>4} {1e3 * seconds:>10.2f} {1e3 * per_replica:>16.2f} "
                  f"{base / per_replica:>15.2f}", flush=True)


if __name__ == "__main__":
    main()
