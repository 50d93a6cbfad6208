"""NVE energy conservation of the TMD model (sw/mod + ilp/tmd) at 300 K, and what sw/mod's
switching window does to it.

    NUMBA_NUM_THREADS=1 python validation/tmd_nve.py [--cells 6] [--ps 5] [--hot 1200] [--threads 1]

A 3R MoS2 bilayer (mos2-ilp, 6 x 6 cells, 216 atoms, XM at the model's own lattice) is brought
to 300 K by a Nose-Hoover chain (1 ps, dt = 1 fs); from that one state, velocity Verlet (slidesim's
NVE integrator) runs --ps picoseconds at dt = 1 and 0.5 fs:

1. with LAMMPS's window (delta1, delta2) = (0.25, 0.35): the total energy's drift (linear fit)
   and fluctuation (standard deviation); velocity Verlet's error scales as dt^2;
2. with the window moved onto the thermal angles, (0.05, 0.15): triplets now sit inside it, where
   sw/mod's forces (LAMMPS's, and slidesim's) are not the gradient of its energy. The energy then
   drifts, and the drift does not shrink with dt: it is not an integration error;
3. with LAMMPS's window on a hot layer (--hot K, 1200 K by default, --ps / 2 picoseconds): how
   often the thermal angles reach the window and what that costs.

Per step and per term, the work residual r = dU + (F_old + F_new)/2 . dx (trapezoid rule) is
zero to O(dt^3) for a force that is minus the gradient of its energy; summed over a run it is
the energy the term's forces created or destroyed. It is accumulated separately for the sw/mod
term and the ilp/tmd term, and for sw/mod on steps with and without a triplet inside the window
(|cos theta - cos theta0| in [delta1, delta2), counted at every step).

Writes validation/results/tmd_nve/summary.json, one CSV per run (every 20 fs) and
docs/images/tmd_nve.png.
"""

import argparse
import json
import os
import time

import numba
import numpy as np

from slidesim import integrators as integ
from slidesim import units
from slidesim.kernels import sw_mod as sw_kernel
from slidesim.models.ilp_tmd import ILPTMDTerm
from slidesim.models.model import Model
from slidesim.models.sw_mod import SWModTerm
from slidesim.structures import bilayer
from slidesim.tmd import lammps_potential, sublayers

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "tmd_nve")
FIGURE = os.path.join(os.path.dirname(HERE), "docs", "images", "tmd_nve.png")
LAMMPS_WINDOW = (0.25, 0.35)
THERMAL_WINDOW = (0.05, 0.15)


@numba.njit(cache=True)
def window_count(positions, species, offsets, neighbors, shifts, params, delta1, delta2):
    """(triplets with delta1 <= |c| < delta2, largest |c| below delta2 of any triplet) of
    sw/mod's three-body terms, c = cos theta_jik - cos theta0, the kernel's triplets
    (j, k within the [i, j, j] and [i, k, k] cutoffs, lambda epsilon of [i, j, k] non-zero)."""
    count = 0
    largest = 0.0
    vec = np.empty((64, 3))
    idx = np.empty(64, np.int64)
    for i in range(len(positions)):
        n = 0
        for slot in range(offsets[i], offsets[i + 1]):
            j = neighbors[slot]
            rsq = 0.0
            for a in range(3):
                vec[n, a] = positions[j, a] + shifts[slot, a] - positions[i, a]
                rsq += vec[n, a] ** 2
            if rsq < params[species[i], species[j], species[j], sw_kernel.COL_CUTSQ]:
                idx[n] = j
                n += 1
        for x in range(n - 1):
            for y in range(x + 1, n):
                row = params[species[i], species[idx[x]], species[idx[y]]]
                if row[sw_kernel.COL_LAMBDA_EPSILON] == 0.0:
                    continue
                dot = 0.0
                for a in range(3):
                    dot += vec[x, a] * vec[y, a]
                cos = dot / np.sqrt((vec[x] ** 2).sum() * (vec[y] ** 2).sum())
                c = abs(cos - row[sw_kernel.COL_COS_THETA0])
                if delta1 <= c < delta2:
                    count += 1
                if c < delta2 and c > largest:
                    largest = c
    return count, largest


class Run:
    """Velocity Verlet on one replica with the two terms evaluated separately."""

    def __init__(self, state, window):
        names = state.species_names
        sheets = sublayers(state.positions[0], state.cell, names, state.species, state.layer)
        self.sw = SWModTerm(lammps_potential("tmd.sw.mod"), names, maxdelcs=window)
        self.ilp = ILPTMDTerm(lammps_potential("MoS2.ILP"), names, cutoff=16.0, sheets=sheets)
        self.model = Model("mos2-ilp", [self.sw, self.ilp], names)
        self.lists = self.model.neighbor_lists(skin=1.0)
        self.state = state
        self.window = window

    def forces(self):
        """(U_sw, F_sw, U_ilp, F_ilp) at the state's positions."""
        x = self.state.positions[0]
        for nl in self.lists.values():
            nl.update(x, self.state.cell, self.state.layer)
        sw = self.sw.compute(x, self.state.cell, self.state.species, self.state.layer,
                             {"intra": self.lists["intralayer"]})
        ilp = self.ilp.compute(x, self.state.cell, self.state.species, self.state.layer,
                               {"intra": self.lists["intralayer"],
                                "inter": self.lists["interlayer"]})
        return sw.energy, sw.forces, ilp.energy, ilp.forces

    def in_window(self):
        nl = self.lists["intralayer"]
        return window_count(self.state.positions[0], self.state.species, nl.offsets,
                            nl.neighbors, nl.shifts, self.sw.params, *self.window)


def kinetic(state):
    return integ.kern.kinetic_energy(state.velocities[0], state.masses, units.MVV2E)


def equilibrate(cells, temperature=300.0, seed=3, ps=1.0, timestep=1e-3):
    """A state at ``temperature`` [K]: MoS2 bilayer, Maxwell-Boltzmann velocities, Nose-Hoover
    chain (tdamp 100 fs) for ``ps``."""
    state = bilayer("MoS2", (cells, cells), "XM")
    state = state.replicate(1)
    generator = np.random.Generator(np.random.PCG64(seed))
    state.velocities[0] = integ.initial_velocities(state.masses, temperature, generator)
    thermostat = integ.NoseHooverChain(timestep, 0.1, 3, 1)
    state.nose_hoover = np.zeros((1, 3, thermostat.chain_length))
    thermostat.setup(state, 0, temperature)
    run = Run(state, LAMMPS_WINDOW)
    _, f_sw, _, f_ilp = run.forces()
    for _ in range(int(round(ps / timestep))):
        thermostat.first_half(state, 0, f_sw + f_ilp, temperature)
        _, f_sw, _, f_ilp = run.forces()
        thermostat.second_half(state, 0, f_sw + f_ilp, temperature)
    return state


def nve(start, window, timestep, ps, every_ps=0.02):
    """Runs NVE from a copy of ``start``; returns (rows every ``every_ps``, totals)."""
    every = max(1, int(round(every_ps / timestep)))
    state = start.replicate(1)
    run = Run(state, window)
    integrator = integ.VelocityVerlet(timestep)
    u_sw, f_sw, u_ilp, f_ilp = run.forces()
    n_steps = int(round(ps / timestep))
    residual = {"sw_window": 0.0, "sw_outside": 0.0, "ilp": 0.0}
    steps_in_window = 0
    triplet_steps = 0
    largest = 0.0
    rows = []
    started = time.perf_counter()
    for step in range(n_steps + 1):
        count, big = run.in_window()
        largest = max(largest, big)
        if step % every == 0:
            e_total = u_sw + u_ilp + kinetic(state)
            rows.append((step * timestep, e_total, u_sw, u_ilp, integ.temperature(
                state.velocities[0], state.masses), count, residual["sw_window"],
                residual["sw_outside"], residual["ilp"]))
        if step == n_steps:
            break
        x_old = state.positions[0].copy()
        integrator.first_half(state, 0, f_sw + f_ilp, 0.0)
        dx = state.positions[0] - x_old
        u_sw_new, f_sw_new, u_ilp_new, f_ilp_new = run.forces()
        integrator.second_half(state, 0, f_sw_new + f_ilp_new, 0.0)
        r_sw = u_sw_new - u_sw + 0.5 * np.sum((f_sw + f_sw_new) * dx)
        r_ilp = u_ilp_new - u_ilp + 0.5 * np.sum((f_ilp + f_ilp_new) * dx)
        # a step counts as "in the window" when a triplet is inside at either end
        count_new, _ = run.in_window()
        inside = count > 0 or count_new > 0
        residual["sw_window" if inside else "sw_outside"] += r_sw
        residual["ilp"] += r_ilp
        steps_in_window += inside
        triplet_steps += count
        u_sw, f_sw, u_ilp, f_ilp = u_sw_new, f_sw_new, u_ilp_new, f_ilp_new
    seconds = time.perf_counter() - started
    rows = np.array(rows)
    n = state.n_atoms
    t, e = rows[:, 0], rows[:, 1] / n
    slope = np.polyfit(t, e, 1)[0]
    totals = {
        "window": list(window), "timestep_fs": timestep * 1e3, "ps": ps, "atoms": n,
        "steps": n_steps, "mean_temperature_K": float(rows[:, 4].mean()),
        "drift_eV_per_atom_per_ps": float(slope),
        "drift_eV_per_atom_over_run": float(slope * ps),
        "fluctuation_std_eV_per_atom": float(np.std(e - slope * t)),
        "largest_excursion_eV_per_atom": float(np.abs(e - e[0]).max()),
        "energy_change_eV_per_atom": float(e[-1] - e[0]),
        "steps_with_triplets_in_window": int(steps_in_window),
        "mean_triplets_in_window": float(triplet_steps / n_steps),
        "largest_deviation_below_delta2": float(largest),
        "work_residual_eV_per_atom": {k: v / n for k, v in residual.items()},
        "seconds": seconds,
    }
    return rows, totals


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(key.rsplit("_dt_", 1)[0] for key in results))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    axes = axes[0]
    colors = {1.0: "tab:blue", 0.5: "tab:orange"}
    for key, (rows, totals) in results.items():
        n = totals["atoms"]
        dt = totals["timestep_fs"]
        ax = axes[panels.index(key.rsplit("_dt_", 1)[0])]
        e = (rows[:, 1] - rows[0, 1]) / n * 1e3
        ax.plot(rows[:, 0], e, color=colors[dt], lw=0.8, label=f"E(t) - E(0), dt = {dt:g} fs")
        ax.plot(rows[:, 0], rows[:, 6] / n * 1e3, color=colors[dt], lw=1.5, ls="--",
                label=f"sw/mod work residual, window steps, dt = {dt:g} fs")
        window = totals["window"]
        ax.set_title(f"{totals['target_K']:g} K, window ({window[0]}, {window[1]})"
                     + (" (LAMMPS's)" if tuple(window) == LAMMPS_WINDOW else "")
                     + f"\n{totals['mean_triplets_in_window']:.2g} triplets inside per step "
                     f"(dt = {dt:g} fs)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("time [ps]")
        ax.set_ylabel("energy [meV/atom]")
        ax.legend(fontsize=7)
    fig.suptitle(f"NVE of a 3R MoS2 bilayer (mos2-ilp, {n} atoms): total energy, and the energy "
                 "sw/mod's forces create inside its switching window", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=6)
    parser.add_argument("--ps", type=float, default=5.0)
    parser.add_argument("--hot", type=float, default=1200.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the figure from the results folder")
    args = parser.parse_args()
    if args.replot:
        with open(os.path.join(RESULTS, "summary.json")) as handle:
            summary = json.load(handle)
        plot({key: (np.loadtxt(os.path.join(RESULTS, key + ".csv"), delimiter=",", skiprows=1),
                    totals) for key, totals in summary.items()}, FIGURE)
        return
    numba.set_num_threads(args.threads)
    os.makedirs(RESULTS, exist_ok=True)
    starts = {}
    for temperature in (300.0, args.hot):
        start = starts[temperature] = equilibrate(args.cells, temperature)
        print(f"equilibrated at {temperature:g} K: T = "
              f"{integ.temperature(start.velocities[0], start.masses):.1f} K", flush=True)
    results = {}
    for temperature, window, ps in ((300.0, LAMMPS_WINDOW, args.ps),
                                    (300.0, THERMAL_WINDOW, args.ps),
                                    (args.hot, LAMMPS_WINDOW, args.ps / 2)):
        for dt_fs in (1.0, 0.5):
            key = f"{temperature:g}K_window_{window[0]}_{window[1]}_dt_{dt_fs}fs"
            rows, totals = nve(starts[temperature], window, dt_fs * 1e-3, ps)
            totals["target_K"] = temperature
            results[key] = (rows, totals)
            np.savetxt(os.path.join(RESULTS, key + ".csv"), rows, delimiter=",",
                       fmt="%.10g", header="time_ps,total_eV,e_sw_eV,e_ilp_eV,temperature_K,"
                       "triplets_in_window,sw_residual_window_eV,sw_residual_outside_eV,"
                       "ilp_residual_eV", comments="")
            w = totals["work_residual_eV_per_atom"]
            print(f"{key}: T = {totals['mean_temperature_K']:.1f} K, drift "
                  f"{totals['drift_eV_per_atom_over_run']:+.2e} eV/atom over {ps:g} ps, "
                  f"std {totals['fluctuation_std_eV_per_atom']:.2e} eV/atom, steps in window "
                  f"{totals['steps_with_triplets_in_window']}, mean triplets "
                  f"{totals['mean_triplets_in_window']:.2f}, residual sw window "
                  f"{w['sw_window']:+.2e} outside {w['sw_outside']:+.2e} ilp {w['ilp']:+.2e} "
                  f"eV/atom ({totals['seconds']:.0f} s)", flush=True)
    with open(os.path.join(RESULTS, "summary.json"), "w") as handle:
        json.dump({key: totals for key, (_, totals) in results.items()}, handle, indent=1)
    plot(results, FIGURE)
    print(f"written {RESULTS} and {FIGURE}")


if __name__ == "__main__":
    main()
