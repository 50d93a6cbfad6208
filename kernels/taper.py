"""The 7th-order interlayer taper of LAMMPS's INTERLAYER package (``interlayer_taper.h``).

Tap(x) = 20 x^7 - 70 x^6 + 84 x^5 - 35 x^4 + 1 with x = r / Rcut, and 0 beyond Rcut: it takes
the ILP and the shielded Coulomb smoothly to zero with continuous first, second and third
derivatives at the cutoff.
"""

from numba import njit

from slidesim.kernels import FASTMATH


@njit(cache=True, fastmath=FASTMATH)
def taper(r, cutoff):
    """Tap(r / cutoff) [1] and dTap/dr [1/A] of the 7th-order interlayer taper (0 beyond)."""
    x = r / cutoff
    if x >= 1.0:
        return 0.0, 0.0
    # Horner forms in the same order as LAMMPS, so that the values agree to the last bit
    tap = 20.0 * x - 70.0
    tap = tap * x + 84.0
    tap = tap * x - 35.0
    tap = tap * x * x * x * x + 1.0
    dtap = 140.0 * x - 420.0
    dtap = dtap * x + 420.0
    dtap = dtap * x - 140.0
    dtap = dtap * x * x * x / cutoff
    return tap, dtap


@njit(cache=True, fastmath=FASTMATH)
def taper_inverse(r, inv_cutoff):
    """:func:`taper` from 1 / cutoff [1/A]: two products instead of two divisions (the same
    bits where the cutoff is a power of two, as 16 A is; within an ulp otherwise)."""
    x = r * inv_cutoff
    if x >= 1.0:
        return 0.0, 0.0
    tap = 20.0 * x - 70.0
    tap = tap * x + 84.0
    tap = tap * x - 35.0
    tap = tap * x * x * x * x + 1.0
    dtap = 140.0 * x - 420.0
    dtap = dtap * x + 420.0
    dtap = dtap * x - 140.0
    dtap = dtap * x * x * x * inv_cutoff
    return tap, dtap
