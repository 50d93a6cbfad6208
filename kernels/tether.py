"""Harmonic tether (Einstein crystal) kernel: each atom bound to its own anchor point."""

from numba import njit


@njit(cache=True)
def tether_forces(positions, anchors, spring, forces):
    """E = sum_i k/2 |r_i - r0_i|^2. positions, anchors (N, 3) [A]; spring k [eV/A^2].

    Writes forces (N, 3) [eV/A] and returns the energy [eV]. The virial of an external field is
    not a pair virial; it is reported as sum r_i F_i by the caller.
    """
    n = positions.shape[0]
    energy_per_atom = forces[:, 0].copy()
    for i in range(n):
        e = 0.0
        for d in range(3):
            u = positions[i, d] - anchors[i, d]
            forces[i, d] = -spring * u
            e += 0.5 * spring * u * u
        energy_per_atom[i] = e
    return energy_per_atom.sum()
