"""Time per NVT step of the bn-ilp model: slidesim against LAMMPS on the identical system.

    python benchmarks/bench_bn_ilp.py [--cells 15 60] [--steps 100] [--threads 1 2]
                                      [--repeats 3] [--paths separate fused]

For each bilayer (n x n cells of h-BN, BA stacking, 0.02 A noise, 300 K Maxwell-Boltzmann
velocities, Nose-Hoover 300 K, dt = 1 fs, skin 1 A in both programs), LAMMPS runs
``tersoff + ilp/graphene/hbn/opt + coul/shield`` (its fastest serial variant) and slidesim runs
the same model, in this process, and the script prints ms/step for each and the ratio
LAMMPS / slidesim (> 1: slidesim is faster). slidesim runs it two ways: "separate" (Tersoff +
ILPTerm + ShieldedCoulombTerm, full interlayer list) and "fused" (Tersoff + InterlayerTerm:
one pass over a half list; what the bn-ilp model is), and "ladder": the settings
``inputs/bn_heat.in`` ships (r-RESPA, outer 3 fs, inner 1 fs), reported per ps of simulated time
against LAMMPS at 1 fs, with the projected wall time of the paper's full 4 ns ladder. The programs run interleaved, ``--repeats`` times, and the minimum
of each is reported (robust on a shared machine). It also times numba's compile on first use,
cold (a fresh cache folder, in a subprocess) and cached. Not a test: run it on a quiet machine.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

from slidesim import integrators as integ
from slidesim.lammps_bridge import bilayer_data, bn_ilp_pair_commands, load_lammps
from slidesim.models import PARAMS_DIR, build_model
from slidesim.models.coulomb import ShieldedCoulombTerm
from slidesim.models.ilp import ILPTerm
from slidesim.models.interlayer import InterlayerTerm
from slidesim.models.model import Model
from slidesim.models.tersoff import TersoffTerm
from slidesim.schedule import Targets
from slidesim.step import Engine, respa_step
from slidesim.structures import bilayer
from slidesim.state import State

STEPS_WARMUP = 10


def system(n_cells, seed=1):
    state = bilayer("BN", (n_cells, n_cells), "BA")
    rng = np.random.default_rng(seed)
    state.positions[0] += rng.normal(0.0, 0.02, state.positions[0].shape)
    state.velocities[0] = integ.initial_velocities(state.masses, 300.0, rng)
    return state


def separate_bn_ilp(species_names):
    """bn-ilp with separate ILP and shielded Coulomb terms (each over the full list)."""
    return Model("bn-ilp", [TersoffTerm(os.path.join(PARAMS_DIR, "BNC.tersoff"), species_names),
                            ILPTerm(os.path.join(PARAMS_DIR, "BNCH.ILP"), species_names),
                            ShieldedCoulombTerm(species_names)], species_names)


#: the settings of inputs/bn_heat.in: outer timestep [fs] and r-RESPA inner steps
LADDER_TIMESTEP_FS, LADDER_RESPA = 3.0, 3


def run_ladder_settings(state, n_steps, threads):
    """ms per ps of simulated time with the ladder deck's settings (bn-ilp, Nose-Hoover,
    r-RESPA), and the final potential energy."""
    numba.set_num_threads(threads)
    state = State(state.positions.copy(), state.velocities.copy(), state.cell, state.species,
                  state.species_names, state.masses, state.layer,
                  nose_hoover=np.zeros((1, 3, 3)))
    model = build_model("bn-ilp", state.species_names, state)
    dt = LADDER_TIMESTEP_FS * 1e-3
    engine = Engine(model, [model.neighbor_lists(skin=1.0)],
                    integ.NoseHooverChain(dt, 0.1), respa=LADDER_RESPA)
    targets = Targets(300.0, np.zeros(3), None)
    results = engine.evaluate(state, targets.field)
    engine.integrator.setup(state, 0, 300.0)
    outer = max(1, int(round(n_steps / LADDER_TIMESTEP_FS)))

    def steps(n):
        nonlocal results
        for _ in range(n):
            results = respa_step(engine, state, results, targets)

    steps(STEPS_WARMUP)
    start = time.perf_counter()
    steps(outer)
    return (time.perf_counter() - start) * 1e3 / (outer * dt), results[0].energy


def run_slidesim(state, n_steps, threads, path="separate"):
    if path == "ladder":
        ms_per_ps, energy = run_ladder_settings(state, n_steps, threads)
        return ms_per_ps, energy
    numba.set_num_threads(threads)
    state = State(state.positions.copy(), state.velocities.copy(), state.cell, state.species,
                  state.species_names, state.masses, state.layer,
                  nose_hoover=np.zeros((1, 3, 3)))
    if path == "fused":  # what bn-ilp is (slidesim.models.builders)
        model = build_model("bn-ilp", state.species_names, state)
        assert isinstance(model.terms[1], InterlayerTerm)
    else:
        model = separate_bn_ilp(state.species_names)
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


def run_lammps(state, n_steps, threads=1):
    lammps = load_lammps()
    folder = tempfile.mkdtemp()
    data = os.path.join(folder, "bn.data")
    bilayer_data(data, state.positions[0], state.cell, state.species, state.layer,
                 velocities=state.velocities[0])
    args = ["-log", "none", "-screen", "none"]
    if threads > 1:
        args += ["-sf", "omp", "-pk", "omp", str(threads)]
    lmp = lammps.lammps(cmdargs=args)
    ilp = "ilp/graphene/hbn/opt" if threads == 1 else "ilp/graphene/hbn"
    lmp.commands_string(f"""units metal
atom_style full
boundary p p f
read_data {data}
{bn_ilp_pair_commands(PARAMS_DIR, ilp)}
neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
fix thermostat all nvt temp 300 300 0.1
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


def compile_times():
    """Seconds to build the model and evaluate it once, cold (fresh cache) and cached."""
    code = ("import time; t = time.perf_counter(); "
            "from slidesim.structures import bilayer; from slidesim.models import build_model; "
            "s = bilayer('BN', (4, 4), 'BA'); m = build_model('bn-ilp', s.species_names, s); "
            "m.compute(s.positions[0], s.cell, s.species, s.layer, m.neighbor_lists()); "
            "print(time.perf_counter() - t)")
    cache = tempfile.mkdtemp()
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    out = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True)
        out.append(float(result.stdout.split()[-1]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[15, 60])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paths", nargs="+", default=["separate", "fused", "ladder"],
                        choices=["separate", "fused", "ladder"])
    parser.add_argument("--no-compile", action="store_true", help="skip the compile timing")
    args = parser.parse_args()
    if not args.no_compile:
        cold, cached = compile_times()
        print(f"numba compile + first evaluation: cold {cold:.1f} s, cached {cached:.1f} s")
    print("(ms/step; on 'ladder' rows ms per ps of simulated time)")
    print(f"{'atoms':>7} {'threads':>7} {'path':>9} {'LAMMPS ms/step':>15} "
          f"{'slidesim ms/step':>17} {'LAMMPS/slidesim':>16} {'|dE| eV':>9}")
    for n in args.cells:
        state = system(n)
        steps = max(5, args.steps * 900 // state.n_atoms) if state.n_atoms > 900 else args.steps
        for threads in args.threads:
            t_lmp = {path: np.inf for path in args.paths}
            t_sim = dict(t_lmp)
            energies = {}
            for _ in range(args.repeats):
                for path in args.paths:
                    # LAMMPS right before each slidesim run: both see the same machine load
                    t, e_lmp = run_lammps(state, steps, 1)
                    t_lmp[path] = min(t_lmp[path], t)
                    t, e_sim = run_slidesim(state, steps, threads, path)
                    t_sim[path] = min(t_sim[path], t)
                    energies[path] = abs(e_lmp - e_sim)
            for path in args.paths:
                # ms per step; the ladder path: ms per ps of simulated time on both sides
                # (LAMMPS at 1 fs: 1000 steps a ps), and |dE| is not comparable (other dynamics)
                lmp = t_lmp[path] * (1000.0 if path == "ladder" else 1.0)
                gap = "" if path == "ladder" else f"{energies[path]:>9.1e}"
                print(f"{state.n_atoms:>7} {threads:>7} {path:>9} {lmp:>15.2f} "
                      f"{t_sim[path]:>17.2f} {lmp / t_sim[path]:>16.2f} {gap}", flush=True)
                if path == "ladder":
                    hours = t_sim[path] * 4000.0 / 3.6e6
                    print(f"        projected wall time of the full 4 ns ladder with the ladder "
                          f"settings on {threads} thread(s): {hours:.2f} h (LAMMPS/opt at 1 fs: "
                          f"{lmp * 4000.0 / 3.6e6:.1f} h)", flush=True)


if __name__ == "__main__":
    main()
