"""Time per NVT step of the mos2-ilp model: slidesim against LAMMPS on the identical system.

    python benchmarks/bench_tmd.py [--cells 12] [--steps 50] [--threads 1] [--repeats 3]

A 3R MoS2 bilayer (n x n cells, XM, 0.02 A noise, 300 K Maxwell-Boltzmann velocities,
Nose-Hoover 300 K, dt = 1 fs, skin 1 A in both programs): LAMMPS runs
``hybrid/overlay sw/mod sw/mod ilp/tmd/opt 16`` (its fastest serial variant of the model) and
``ilp/tmd``, slidesim runs mos2-ilp, in this process, interleaved ``--repeats`` times; the minimum
of each is reported with the ratio LAMMPS / slidesim (> 1: slidesim is faster) and the energy
after the run (the same trajectory to round-off for a few steps). Not a test: run it on a quiet
machine, one timing job at a time.
"""

import argparse
import os
import tempfile
import time

import numba
import numpy as np

from slidesim import integrators as integ
from slidesim.lammps_bridge import load_lammps
from slidesim.lammps_tmd import tmd_pair_commands, layer_elements, write_tmd_data
from slidesim.models import build_model
from slidesim.state import State
from slidesim.structures import bilayer
from slidesim.tmd import lammps_potential, sublayers

STEPS_WARMUP = 10


def system(n_cells, seed=1):
    state = bilayer("MoS2", (n_cells, n_cells), "XM")
    rng = np.random.default_rng(seed)
    state.positions[0] += rng.normal(0.0, 0.02, state.positions[0].shape)
    state.velocities[0] = integ.initial_velocities(state.masses, 300.0, rng)
    return state


def run_slidesim(state, n_steps, threads):
    numba.set_num_threads(threads)
    state = State(state.positions.copy(), state.velocities.copy(), state.cell, state.species,
                  state.species_names, state.masses, state.layer,
                  nose_hoover=np.zeros((1, 3, 3)))
    model = build_model("mos2-ilp", state.species_names, state)
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
    return (time.perf_counter() - start) / n_steps * 1e3, result.energy


def run_lammps(state, n_steps, style):
    lammps = load_lammps()
    folder = tempfile.mkdtemp()
    data = os.path.join(folder, "mos2.data")
    positions, cell = state.positions[0], state.cell
    sheets = sublayers(positions, cell, state.species_names, state.species, state.layer)
    write_tmd_data(data, positions, cell, state.species_names, state.species, state.layer, sheets)
    elements = layer_elements(state.species_names, state.species, state.layer)
    sw_file, ilp_file = lammps_potential("tmd.sw.mod"), lammps_potential("MoS2.ILP")
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    lmp.commands_string(f"""units metal
atom_style full
boundary p p f
read_data {data}
{tmd_pair_commands(elements, sw_file, ilp_file, ilp_style=style)}
neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
""")
    ids = np.array(lmp.numpy.extract_atom("id")[: len(positions)])
    velocities = lmp.numpy.extract_atom("v")
    velocities[: len(positions)] = state.velocities[0][ids - 1]
    lmp.commands_string(f"""fix thermostat all nvt temp 300 300 0.1
timestep 0.001
thermo 0
run {STEPS_WARMUP}
""")
    start = time.perf_counter()
    lmp.command(f"run {n_steps}")
    elapsed = time.perf_counter() - start
    energy = lmp.get_thermo("pe")
    lmp.close()
    return elapsed / n_steps * 1e3, energy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[12])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for n in args.cells:
        state = system(n)
        best = {"slidesim": np.inf, "ilp/tmd/opt": np.inf, "ilp/tmd": np.inf}
        energies = {}
        for _ in range(args.repeats):
            ms, energies["slidesim"] = run_slidesim(state, args.steps, args.threads)
            best["slidesim"] = min(best["slidesim"], ms)
            for style in ("ilp/tmd/opt", "ilp/tmd"):
                ms, energies[style] = run_lammps(state, args.steps, style)
                best[style] = min(best[style], ms)
        print(f"{state.n_atoms} atoms, {args.threads} thread(s), {args.steps} steps, min of "
              f"{args.repeats}:")
        for name, ms in best.items():
            ratio = "" if name == "slidesim" else f"  LAMMPS/slidesim = {ms / best['slidesim']:.2f}"
            print(f"  {name:<12} {ms:8.2f} ms/step  E = {energies[name]:.6f} eV{ratio}")


if __name__ == "__main__":
    main()
