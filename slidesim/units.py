"""Units of slidesim: LAMMPS ``metal`` units, with LAMMPS's own conversion constants.

Every quantity inside slidesim is in these units unless its name says otherwise:

=============  ===========  =========================================
quantity       unit         note
=============  ===========  =========================================
length         Angstrom     cell vectors, positions, cutoffs
energy         eV
time           ps           the timestep is usually 0.001 ps (1 fs)
mass           amu          g/mol
temperature    K
charge         e            elementary charge
velocity       A/ps
force          eV/A
electric field V/A
virial         eV           W_ab = sum_i r_i,a F_i,b (LAMMPS sign: P V = W + kinetic)
2D polarization pC/m         dipole per area of a sheet
=============  ===========  =========================================

The constants are LAMMPS's (``src/update.cpp``, metal style), so that a trajectory
integrated here and by LAMMPS agrees to round-off rather than to 7 digits.
"""

#: Boltzmann constant [eV/K]
BOLTZMANN = 8.617343e-5
#: m v^2 -> energy: amu (A/ps)^2 -> eV
MVV2E = 1.0364269e-4
#: force/mass -> acceleration: (eV/A)/amu -> A/ps^2
FTM2V = 1.0 / 1.0364269e-4
#: pressure * volume conversion: eV/A^3 -> bar
NKTV2P = 1.6021765e6
#: Coulomb constant q_i q_j / r -> eV, with q in e and r in A (LAMMPS ``qqr2e`` for metal units)
QQR2E = 14.399645
#: one elementary charge times one Angstrom, in Coulomb-metre
E_ANGSTROM_IN_C_M = 1.602176634e-19 * 1e-10
#: 1 eV in kcal/mol (AMBER netCDF forces are kcal/mol/A)
EV_IN_KCAL_PER_MOL = 23.060547830619026
#: 1 fs in ps
FEMTOSECOND = 1.0e-3

#: standard atomic masses [amu] for the species slidesim builds (LAMMPS/ASE values)
ATOMIC_MASS = {
    "B": 10.811,
    "N": 14.0067,
    "C": 12.0107,
    "H": 1.00794,
    "Mo": 95.96,
    "W": 183.84,
    "S": 32.065,
    "Se": 78.96,
    "Te": 127.60,
}


def dipole_per_area_to_pC_per_m(dipole_eA, area_A2):
    """Convert a sheet dipole [e A] over an area [A^2] to a 2D polarization [pC/m]."""
    # e A / A^2 = e / A = 1.602e-19 C / 1e-10 m = 1.602e-9 C/m = 1.602e3 pC/m
    return dipole_eA / area_A2 * 1.602176634e-19 / 1e-10 * 1e12
