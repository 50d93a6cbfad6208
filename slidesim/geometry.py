"""Geometry of hexagonal, 2D-periodic bilayer cells: in-plane areas, primitive cells, sliding
vectors of stackings, minimum images in the plane.

Convention (DESIGN.md): a = (a, 0, 0), b = (-a/2, a sqrt(3)/2, 0), c along z; periodic in a and
b, open along z. The sliding vector t is the in-plane displacement of the top layer relative to
AA stacking: t_AA = 0, t_BA = (b - a)/3, t_SP = (b - a)/2, t_AB = 2(b - a)/3. In BA the top N
sits over the bottom B; in AB the top B sits over the bottom N.
"""

import numpy as np

#: stackings by name, as fractions of (b - a) from AA
STACKINGS = {"AA": 0.0, "BA": 1.0 / 3.0, "SP": 0.5, "AB": 2.0 / 3.0}
#: the names of the polar stackings of TMD bilayers (3R family, parallel layers): XM, the top
#: layer's chalcogen over the bottom layer's metal, is BA's sliding vector; MX is AB's
STACKING_ALIASES = {"XM": "BA", "MX": "AB"}


def in_plane_area(cell):
    """Area [A^2] of the periodic plane spanned by the first two rows a, b of ``cell`` [A]
    ((2, 2), (2, 3) or (3, 3)): |a x b|_z."""
    cell = np.asarray(cell, dtype=np.float64)
    return abs(cell[0, 0] * cell[1, 1] - cell[0, 1] * cell[1, 0])


def primitive_cell(a):
    """In-plane primitive vectors (2, 3) [A] for lattice constant ``a`` [A]."""
    return np.array([[a, 0.0, 0.0], [-a / 2, a * np.sqrt(3) / 2, 0.0]])


def sliding_direction(a=1.0):
    """Unit vector (3,) along b - a, the BA -> SP -> AB direction (60 degrees from +y)."""
    prim = primitive_cell(a)
    return (prim[1] - prim[0]) / np.linalg.norm(prim[1] - prim[0])


def stacking_fraction(stacking):
    """Fraction of (b - a) from AA of a stacking name (AA, AB, BA, SP; XM, MX for TMDs; any
    case)."""
    key = str(stacking).upper()
    key = STACKING_ALIASES.get(key, key)
    if key not in STACKINGS:
        raise ValueError(f"unknown stacking {stacking!r}; choose one of "
                         f"{', '.join([*STACKINGS, *STACKING_ALIASES])} or give a sliding vector")
    return STACKINGS[key]


def sliding_vector(stacking, a):
    """Sliding vector t (3,) [A] at lattice constant ``a`` [A] of a stacking name (AA, AB, BA,
    SP), a fraction s of (b - a) (t = s (b - a)), or an in-plane vector (2 or 3 components [A],
    returned as given with t_z = 0)."""
    if isinstance(stacking, str):
        fraction = stacking_fraction(stacking)
    elif np.ndim(stacking) == 0:
        fraction = float(stacking)
    else:
        vector = np.asarray(stacking, dtype=np.float64).ravel()
        if len(vector) not in (2, 3):
            raise ValueError(f"a sliding vector has 2 or 3 components [A], got {len(vector)}")
        t = np.zeros(3)
        t[:2] = vector[:2]
        return t
    prim = primitive_cell(a)
    return fraction * (prim[1] - prim[0])


def minimum_image_in_plane(delta, cell):
    """Displacements (..., 2 or 3) [A] with their in-plane part folded to the shortest periodic
    image of the cell rows a, b (cell (2, 2) or (3, 3) [A]); z is left as it is."""
    delta = np.asarray(delta, dtype=np.float64)
    in_plane = np.asarray(cell, dtype=np.float64)[:2, :2]
    frac = delta[..., :2] @ np.linalg.inv(in_plane)
    frac -= np.round(frac)
    out = delta.copy()
    out[..., :2] = frac @ in_plane
    return out
