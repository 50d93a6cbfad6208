"""Write path_eq3.csv: the seed paper's fitted path profiles (Eq. 3, Fig. S3) BA -> SP -> AB.

    python validation/dft_seed_paper/make_path_eq3.py

eps0(t) = e4 t^4 - 2 e4 t_BA^2 t^2 + e0 [meV/cell], p_par(t) = p4 t^4 + p2 t^2 - p4 t_BA^4
- p2 t_BA^2, p_perp(t) = p3 t^3 - 3 p3 t_BA^2 t [e A per cell], t from SP [A]; coefficients from
../shared/reference/paper_values.toml [path_fit]. Dipoles per cell are converted to pC/m with
the DFT cell area sqrt(3)/2 a^2, a = 2.511 A; energies are written relative to BA.
"""

import os

import numpy as np

from slidesim.units import dipole_per_area_to_pC_per_m

LATTICE_A = 2.511
T_BA, E4, E0 = -0.725, 27.017, 7.41
P4_PAR, P2_PAR, P3_PERP = 5.82e-3, -1.66e-2, 9.13e-3
POINTS = 25


def main():
    t = np.linspace(T_BA, -T_BA, POINTS)
    eps0 = E4 * t**4 - 2 * E4 * T_BA**2 * t**2 + E0
    eps0_ba = E4 * T_BA**4 - 2 * E4 * T_BA**4 + E0
    to_pc = dipole_per_area_to_pC_per_m(1.0, np.sqrt(3) / 2 * LATTICE_A**2)
    p_par = (P4_PAR * (t**4 - T_BA**4) + P2_PAR * (t**2 - T_BA**2)) * to_pc
    p_perp = P3_PERP * (t**3 - 3 * T_BA**2 * t) * to_pc
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "path_eq3.csv")
    with open(out, "w") as handle:
        handle.write("# Seed paper Eq. 3 / Fig. S3 fits of the DFT path BA -> SP -> AB "
                     "(written by make_path_eq3.py)\n# t from SP [A] along b - a (a = 2.511 A); "
                     "energy relative to BA [meV per 4-atom cell]; P [pC/m]\n")
        handle.write("t_from_SP_A,energy_meV_per_cell,P_par_pC_per_m,P_perp_pC_per_m\n")
        for row in zip(t, eps0 - eps0_ba, p_par, p_perp):
            words = (f"{v:.6f}" for v in row)
            handle.write(",".join(w.replace("-0.000000", "0.000000") for w in words) + "\n")


if __name__ == "__main__":
    main()
