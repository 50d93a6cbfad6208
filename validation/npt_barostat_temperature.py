"""Why slidesim's and LAMMPS's in-plane NPT give different lattice fluctuations (bn-ilp, 4 x 4
cells, 64 atoms, 1000 K, P = 0, Tdamp 0.1 ps, Pdamp 1 ps): the barostat's own temperature.

With ``couple xy`` the two LAMMPS barostat velocities omega_dot_x and omega_dot_y are forced equal
at every step: one degree of freedom (the area). LAMMPS's barostat chain (``pchain``, default 3)
nevertheless drives their summed kinetic energy W_x omega_dot_x^2 + W_y omega_dot_y^2 to
pdof kB T with pdof = 2 (fix_nh.cpp, nhc_press_integrate: ``lkt_press = pdof * kt`` unless
pstyle is ISO, which for a 3d box needs ``couple xyz``), so the one area degree of freedom is
held at twice the temperature. slidesim's chain drives W v_eps^2 to kB T. This script measures,
for each variant, the barostat's kinetic temperature T_b = <W v_eps^2> / kB (slidesim; for LAMMPS
2 W_x omega_dot_x^2 / kB, W_x = N kB T Pdamp^2) and the lattice a = sqrt(area / (16 sqrt(3)/2)):
its mean and standard deviation, with errors from blocks longer than the correlation time.

Variants: slidesim as shipped; slidesim with its barostat chain aimed at 2 kB T (LAMMPS's
convention, emulated); LAMMPS ``fix npt ... couple xy`` as shipped (pchain 3); LAMMPS with
``pchain 0`` (no barostat chain: the barostat is thermalised only through the particles).

    python validation/npt_barostat_temperature.py --runs slidesim lammps --production 200 \
        --json validation/results/npt/barostat_temperature.json
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

from slidesim import units
from slidesim.barostat import NoseHooverBarostat, lattice_constant
from slidesim.kernels import integrators as kern

CELLS = (4, 4)
EVERY = 10  # steps between samples


def block_stats(x, n_blocks=20):
    """Mean, std and their standard errors from n_blocks contiguous blocks, and the integrated
    autocorrelation time [samples] of x from the
    block means (meaningful when the blocks are several tau long). For the area, which
    oscillates with the barostat and also wanders slowly, this tau (0.02 to 0.2 ps at 1000 K)
    is not a reliable correlation time: two seeds differ by about twice the block errors, so
    docs/relax.md takes the errors of its final numbers from the scatter of seeds."""
    x = np.asarray(x, dtype=float)
    blocks = np.array_split(x, n_blocks)
    mean = x.mean()
    means = np.array([b.mean() for b in blocks])
    # the variance about the global mean, block by block; delta method for the std
    variances = np.array([((b - mean) ** 2).mean() for b in blocks])
    var, var_err = variances.mean(), variances.std(ddof=1) / np.sqrt(n_blocks)
    std = np.sqrt(var)
    # statistical inefficiency from the blocks: 2 tau = (block length) var(block means) / var
    tau = 0.5 * len(blocks[0]) * means.var(ddof=1) / x.var()
    return {"mean": float(mean), "sem": float(means.std(ddof=1) / np.sqrt(n_blocks)),
            "std": float(std), "std_err": float(var_err / (2 * std)), "tau_samples": float(tau)}


class LammpsLikeChain(NoseHooverBarostat):
    """slidesim's barostat with its chain aimed at 2 kB T for the one area degree of freedom,
    as LAMMPS's nhc_press_integrate does for couple xy in a 3d box (emulation for this test)."""

    def _barostat_chain(self, state, replica, t_target):
        if self.pchain == 0:
            return
        mass = self.mass(state, t_target)
        v_eps = state.barostat[replica, 1]
        t_now = mass * v_eps * v_eps / units.BOLTZMANN
        factor = kern.nose_hoover_chain_half_step(
            state.barostat_chain[replica], 0.5 * t_now, max(t_target, 1.0), 1,
            1.0 / self.pdamp, self.timestep, 1, units.BOLTZMANN)
        state.barostat[replica, 1] = v_eps * factor


def slidesim_run(temperature, equilibrate, production, seed, variant, work):
    from slidesim.deck import parse_deck
    from slidesim.simulation import Simulation
    from slidesim.step import advance

    pchain = 0 if variant == "pchain0" else 3
    deck = parse_deck(f"""system bilayer material BN cells {CELLS[0]} {CELLS[1]} stacking BA
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 100 fs pressure 0 bar pdamp 1 ps pchain {pchain}
velocities {temperature} K
seed {seed}
output {os.path.join(work, 'ss')}
trajectory every 0
checkpoint every 0
thermo every 0
stage s temperature {temperature} K duration {equilibrate + production} ps
""", os.path.join(work, "npt.in"))
    sim = Simulation(deck, progress=False, overwrite=True)
    if variant == "lammps-chain":
        old = sim.integrator
        new = LammpsLikeChain(old.timestep, old.tdamp, old.chain_length, old.loops,
                              old.pressure, old.pdamp, old.pchain)
        sim.engine.integrator = new
    state, integ = sim.state, sim.integrator
    assert isinstance(integ, NoseHooverBarostat)
    results = sim.evaluate()
    integ.setup(state, 0, temperature)
    n_eq, n_tot = int(round(equilibrate * 1000)), int(round((equilibrate + production) * 1000))
    a, tb = [], []
    start = time.time()
    for k in range(n_tot):
        targets = sim.schedule.next(state)
        results = advance(sim.engine, state, results, targets)
        sim.schedule.advance(state)
        if k >= n_eq and k % EVERY == 0:
            a.append(lattice_constant(state.cell, CELLS))
            v = state.barostat[0, 1]
            tb.append(integ.mass(state, temperature) * v * v / units.BOLTZMANN)
    return np.array(a), np.array(tb), time.time() - start


def lammps_run(temperature, equilibrate, production, seed, variant, work):
    from slidesim.lammps_bridge import load_lammps
    from slidesim.lammps_minimize import _setup
    from slidesim.structures import bilayer

    lammps = load_lammps()
    state = bilayer("BN", CELLS, "BA", lattice=2.5045)
    commands, data = _setup(work, state, "bn-ilp")
    record = os.path.join(work, "lammps.txt")
    pchain = "pchain 0" if variant == "pchain0" else ""
    n_eq, n_prod = int(round(equilibrate * 1000)), int(round(production * 1000))
    start = time.time()
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    try:
        # f_1[10], f_1[11]: omega_dot x, y (after eta[3], eta_dot[3], omega[3])
        lmp.commands_string(
            f"units metal\natom_style full\nboundary p p f\nread_data {data}\n{commands}\n"
            f"neighbor 2.0 bin\nneigh_modify every 1 delay 0 check yes\ntimestep 0.001\n"
            f"velocity all create {temperature} {seed} dist gaussian mom yes\n"
            f"fix 1 all npt temp {temperature} {temperature} 0.1 x 0 0 1.0 y 0 0 1.0 "
            f"couple xy {pchain}\n"
            f"run {n_eq}\nvariable lx equal lx\nvariable ly equal ly\n"
            f"variable wx equal f_1[10]\nvariable wy equal f_1[11]\n"
            f"fix p all print {EVERY} \"${{lx}} ${{ly}} ${{wx}} ${{wy}}\" file {record} "
            f"screen no\nrun {n_prod}\n")
    finally:
        lmp.close()
    lx, ly, wx, wy = np.loadtxt(record, skiprows=1, unpack=True)
    assert np.allclose(wx, wy)
    a = np.sqrt(lx * ly / (CELLS[0] * CELLS[1] * np.sqrt(3) / 2))
    n = state.n_atoms
    w_x = n * units.BOLTZMANN * temperature * 1.0 ** 2  # LAMMPS's omega_mass, Pdamp 1 ps
    tb = 2 * w_x * wx ** 2 / units.BOLTZMANN
    return a, tb, time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["slidesim", "slidesim:lammps-chain",
                                                       "lammps", "lammps:pchain0"],
                        help="code[:variant], variants: lammps-chain (slidesim), pchain0")
    parser.add_argument("--temperature", type=float, default=1000.0)
    parser.add_argument("--equilibrate", type=float, default=10.0, help="ps")
    parser.add_argument("--production", type=float, default=200.0, help="ps")
    parser.add_argument("--seed", type=int, default=4928)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    if args.json and os.path.exists(args.json):
        with open(args.json) as handle:
            rows = json.load(handle)
    for run in args.runs:
        code, _, variant = run.partition(":")
        runner = slidesim_run if code == "slidesim" else lammps_run
        with tempfile.TemporaryDirectory() as work:
            a, tb, seconds = runner(args.temperature, args.equilibrate, args.production,
                                    args.seed, variant or "default", work)
        sa = block_stats(a)
        st = block_stats(tb)
        row = {"code": code, "variant": variant or "default", "T_K": args.temperature,
               "seed": args.seed, "production_ps": args.production, "samples": len(a),
               "sample_every_fs": EVERY, "a_mean_A": sa["mean"], "a_mean_err_A": sa["sem"],
               "a_std_A": sa["std"], "a_std_err_A": sa["std_err"],
               "a_tau_ps": sa["tau_samples"] * EVERY / 1000,
               "barostat_T_over_T": st["mean"] / args.temperature,
               "barostat_T_over_T_err": st["sem"] / args.temperature, "seconds": seconds}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
