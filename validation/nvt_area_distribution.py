"""The exact in-plane area distribution of NPT from NVT runs: an independent reference for the
barostats (bn-ilp, 4 x 4 cells, 64 atoms; docs/relax.md, In-plane NPT).

In the isothermal-isobaric ensemble with the in-plane area A free (c fixed, V = A c, flat
measure dA) p(A) ~ Q(N, A, T) exp(-beta P V), so d ln p / dA = beta c (P_NVT(A) - P), where
P_NVT(A) = <(P_xx + P_yy)/2> (kinetic part included) of an NVT run at that area. This script
runs NVT (Nose-Hoover chain, tdamp 0.1 ps) at several lattices, fits P_NVT(A) with a quadratic,
integrates it to ln p(A) and gives the mean and standard deviation of a = sqrt(A / (n1 n2
sqrt(3)/2)) that NPT must produce; errors by resampling the fitted pressures within their
block errors.

    python validation/nvt_area_distribution.py --temperature 1000 \
        --json validation/results/npt/nvt_area_distribution.json
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

from slidesim.units import BOLTZMANN, MVV2E, NKTV2P

CELLS = (4, 4)
SHAPE = CELLS[0] * CELLS[1] * np.sqrt(3) / 2  # area = SHAPE a^2


def nvt_pressure(lattice, temperature, equilibrate, production, seed, work):
    from slidesim.deck import parse_deck
    from slidesim.simulation import Simulation
    from slidesim.step import advance

    deck = parse_deck(f"""system bilayer material BN cells {CELLS[0]} {CELLS[1]} stacking BA lattice {lattice}
model bn-ilp
timestep 1 fs
integrator nose-hoover tdamp 100 fs
velocities {temperature} K
seed {seed}
output {os.path.join(work, 'nvt')}
trajectory every 0
checkpoint every 0
thermo every 0
stage s temperature {temperature} K duration {equilibrate + production} ps
""", os.path.join(work, "nvt.in"))
    sim = Simulation(deck, progress=False, overwrite=True)
    state = sim.state
    results = sim.evaluate()
    sim.engine.integrator.setup(state, 0, temperature)
    n_eq = int(round(equilibrate * 1000))
    n_tot = n_eq + int(round(production * 1000))
    p = []
    for k in range(n_tot):
        targets = sim.schedule.next(state)
        results = advance(sim.engine, state, results, targets)
        sim.schedule.advance(state)
        if k >= n_eq and k % 5 == 0:
            v, m = state.velocities[0], state.masses
            k2 = (m[:, None] * v[:, :2] ** 2).sum() * MVV2E
            w = results[0].virial
            p.append(0.5 * (k2 + w[0] + w[1]) / abs(np.linalg.det(state.cell)) * NKTV2P)
    p = np.array(p)
    blocks = np.array([b.mean() for b in np.array_split(p, 10)])
    area = abs(np.linalg.det(state.cell[:2, :2]))
    height = abs(np.linalg.det(state.cell)) / area
    return float(p.mean()), float(blocks.std(ddof=1) / np.sqrt(10)), area, height


def predicted_lattice(areas, pressures, height, temperature, target=0.0):
    """Mean and std of a under p(A) ~ exp(beta c int (P_NVT - P) dA), P_NVT quadratic in A."""
    coef = np.polyfit(areas, pressures, 2)
    integral = np.polyint(np.poly1d(coef) - target)
    # +-8 standard deviations of the linearised distribution about the zero of P_NVT - P
    slope = np.polyfit(areas, pressures, 1)[0]
    sigma = np.sqrt(BOLTZMANN * temperature * NKTV2P / (height * -slope))
    centre = areas.mean() + (target - np.polyval(coef, areas.mean())) / slope
    grid = np.linspace(centre - 8 * sigma, centre + 8 * sigma, 4001)
    log_p = integral(grid) * height / NKTV2P / (BOLTZMANN * temperature)
    w = np.exp(log_p - log_p.max())
    w /= w.sum()
    a = np.sqrt(grid / SHAPE)
    mean = (w * a).sum()
    return float(mean), float(np.sqrt((w * (a - mean) ** 2).sum())), coef


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperature", type=float, default=1000.0)
    parser.add_argument("--lattices", type=float, nargs="+",
                        default=[2.4746, 2.4816, 2.4886, 2.4946, 2.5006, 2.5076, 2.5146])
    parser.add_argument("--equilibrate", type=float, default=5.0, help="ps")
    parser.add_argument("--production", type=float, default=100.0, help="ps")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for lattice in args.lattices:
            start = time.time()
            p, err, area, height = nvt_pressure(lattice, args.temperature, args.equilibrate,
                                                args.production, args.seed, work)
            rows.append({"lattice_A": lattice, "area_A2": area, "height_A": height,
                         "pressure_bar": p, "pressure_err_bar": err,
                         "seconds": time.time() - start})
            print(json.dumps(rows[-1]), flush=True)
    areas = np.array([r["area_A2"] for r in rows])
    pressures = np.array([r["pressure_bar"] for r in rows])
    errors = np.array([r["pressure_err_bar"] for r in rows])
    mean, std, coef = predicted_lattice(areas, pressures, rows[0]["height_A"], args.temperature)
    rng = np.random.default_rng(0)
    samples = np.array([predicted_lattice(areas, pressures + rng.normal(0, errors),
                                          rows[0]["height_A"], args.temperature)[:2]
                        for _ in range(400)])
    a0 = np.sqrt(areas.mean() / SHAPE)
    slope = np.polyval(np.polyder(coef), areas.mean())
    summary = {"temperature_K": args.temperature, "production_ps": args.production,
               "runs": rows, "fit_bar": list(coef),
               "K_T_GPa": float(-areas.mean() * slope / 1e4),
               "predicted_a_mean_A": mean, "predicted_a_mean_err_A": float(samples[:, 0].std()),
               "predicted_a_std_A": std, "predicted_a_std_err_A": float(samples[:, 1].std()),
               "a_ref_A": float(a0)}
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=1)


if __name__ == "__main__":
    main()
