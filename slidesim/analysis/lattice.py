"""The primitive (monolayer) hexagonal lattice of a bilayer, its reciprocal, and its stacking sites.

Convention (as :mod:`slidesim.geometry`): a = (a, 0, 0), b = (-a/2, a sqrt(3)/2, 0), 120 degrees
apart; reciprocal vectors a*, b* with a . a* = b . b* = 2 pi and a . b* = b . a* = 0. A sliding
vector t = f1 a + f2 b has fractional coordinates (f1, f2); stacking sites, relative to AA:
t_AA = 0, t_BA = (b - a)/3, t_SP = (b - a)/2, t_AB = 2(b - a)/3, each modulo the lattice.
"""

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from slidesim.geometry import STACKING_ALIASES, STACKINGS, minimum_image_in_plane, primitive_cell

#: stacking sites as fractions of (b - a)
SITES = STACKINGS
#: names of the two polar stackings, at t = (b - a)/3 and 2(b - a)/3: h-BN's, and the TMDs'
#: (XM: the top layer's chalcogen over the bottom layer's metal)
POLAR_NAMES = ("BA", "AB")
TMD_POLAR_NAMES = ("XM", "MX")
CHALCOGENS = ("S", "Se", "Te")


def polar_stacking_names(elements):
    """The names of the two polar stackings of a bilayer of these elements (symbols): XM, MX
    when it holds a chalcogen (a TMD), else BA, AB."""
    return TMD_POLAR_NAMES if any(str(e) in CHALCOGENS for e in elements) else POLAR_NAMES


class LatticeError(ValueError):
    """The primitive lattice cannot be found; the message says what to pass instead."""


#: lattice shifts (fractional) tried by :meth:`HexLattice.reduce`, in order of preference
_SHIFTS = np.array(((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1)), dtype=np.float64)


@dataclass(frozen=True)
class HexLattice:
    """A primitive in-plane lattice.

    Attributes:
        vectors: (2, 2) float64 [A], rows a, b (x, y components).
        supercell: (n1, n2): the simulation cell is n1 a by n2 b (for bookkeeping; (1, 1) if
            the lattice was given directly).
        source: how the lattice was found (text, for reports).
        names: what the polar stackings at t = (b - a)/3 and 2(b - a)/3 are called in
            switching events and reports: ("BA", "AB"), or ("XM", "MX") for TMDs
            (:meth:`named_for`).
    """

    vectors: np.ndarray
    supercell: tuple = (1, 1)
    source: str = "given"
    names: tuple = POLAR_NAMES

    def named_for(self, elements):
        """This lattice with the polar stackings named for a bilayer of ``elements``."""
        return replace(self, names=polar_stacking_names(elements))

    @classmethod
    def from_constant(cls, a, supercell=(1, 1), source="given"):
        """The standard-orientation lattice for lattice constant ``a`` [A]."""
        vectors = np.ascontiguousarray(primitive_cell(a)[:, :2])
        return cls(vectors, tuple(supercell), source)

    @property
    def constant(self):
        """Lattice constant |a| [A]."""
        return float(np.linalg.norm(self.vectors[0]))

    @property
    def reciprocal(self):
        """(2, 2) [1/A], rows a*, b*: a_i . b*_j = 2 pi delta_ij."""
        return 2.0 * np.pi * np.linalg.inv(self.vectors).T

    @cached_property
    def _inverse(self):
        return np.linalg.inv(self.vectors)

    def fractional(self, t):
        """Fractional coordinates (..., 2) of in-plane vectors t (..., 2 or 3) [A]."""
        t = np.asarray(t, dtype=np.float64)
        return t[..., :2] @ self._inverse

    def cartesian(self, fractional):
        """In-plane vectors (..., 2) [A] from fractional coordinates (..., 2)."""
        return np.asarray(fractional, dtype=np.float64) @ self.vectors

    def site(self, name):
        """Sliding vector (2,) [A] of stacking ``name`` (AA, BA, SP, AB; XM, MX) relative to AA."""
        return SITES[STACKING_ALIASES.get(name, name)] * (self.vectors[1] - self.vectors[0])

    def reduce(self, t):
        """Shortest lattice-equivalent in-plane vectors (..., 2) [A] of t (..., 2 or 3):
        t folded into the Wigner-Seitz hexagon around the origin."""
        frac = self.fractional(t)
        base = frac - np.round(frac)
        # the seven candidates around the rounded cell; the first of the shortest wins
        candidates = (base[..., None, :] + _SHIFTS) @ self.vectors
        best = np.argmin((candidates ** 2).sum(-1), axis=-1)
        return np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]

    def distance_to_site(self, t, name):
        """Distance [A] (...,) from sliding vectors t (..., 2 or 3) to the nearest image of a
        stacking site."""
        t = np.asarray(t, dtype=np.float64)[..., :2]
        return np.linalg.norm(self.reduce(t - self.site(name)), axis=-1)


def lattice_from_cell(cell, supercell):
    """Primitive lattice of a diagonal supercell.

    cell: (3, 3) [A], rows A, B, c of the simulation cell; supercell (n1, n2): A = n1 a, B = n2 b.
    A cell with A, B at 60 degrees is brought to the 120-degree convention (b = B/n2 - a).
    """
    cell = np.asarray(cell, dtype=np.float64)
    n1, n2 = (int(n) for n in supercell)
    if n1 < 1 or n2 < 1:
        raise LatticeError(f"supercell must be at least 1x1, got {n1}x{n2}")
    a, b = cell[0, :2] / n1, cell[1, :2] / n2
    length_a, length_b = np.linalg.norm(a), np.linalg.norm(b)
    if abs(length_a - length_b) > 1e-3 * length_a:
        raise LatticeError(
            f"the cell is not an {n1}x{n2} supercell of a hexagonal lattice: |A|/{n1} = "
            f"{length_a:.4f} A but |B|/{n2} = {length_b:.4f} A; pass --supercell N1 N2 or "
            f"--lattice A")
    cosine = a @ b / (length_a * length_b)
    if abs(cosine - 0.5) < 1e-3:
        b = b - a
    elif abs(cosine + 0.5) > 1e-3:
        raise LatticeError(f"the in-plane cell vectors are {np.degrees(np.arccos(cosine)):.2f} "
                           "degrees apart; a hexagonal cell needs 120 (or 60)")
    return HexLattice(np.array([a, b]), (n1, n2), "cell/supercell")


#: in-plane distance [A] below which two atoms of one layer count as stacked over each other
STACKED_A = 0.8


def nearest_same_species_distance(positions, cell, species, atoms, n_probe=64):
    """Median over up to ``n_probe`` atoms of ``atoms`` of the mean distance [A] to their six
    nearest neighbours of the same species among ``atoms`` (shortest in-plane periodic image):
    the lattice constant of a honeycomb monolayer when ``atoms`` is one layer. Averaging the
    first shell keeps the estimate unbiased in a thermally disordered frame. Atoms stacked over
    each other in the plane (a TMD's two chalcogens of one cell, less than ``STACKED_A`` apart
    in the plane) are not neighbours of the lattice and are skipped.

    positions (N, 3) [A]; cell (3, 3) [A]; species (N,) int; atoms (M,) indices.
    """
    distances = []
    for i in atoms[:n_probe]:
        same = atoms[(species[atoms] == species[i]) & (atoms != i)]
        if len(same) == 0:
            continue
        delta = minimum_image_in_plane(positions[same, :2] - positions[i, :2], cell)
        in_plane = np.sqrt((delta ** 2).sum(-1))
        in_plane = in_plane[in_plane > STACKED_A]
        if len(in_plane) == 0:
            continue
        shell = np.sort(in_plane)[:6]
        distances.append(shell.mean())
    if not distances:
        raise LatticeError("no two atoms of the same species in one layer: cannot find the "
                           "lattice constant; pass --lattice A")
    return float(np.median(distances))


def cells_from_counts(species, layer_atoms):
    """Primitive cells in a layer: the greatest common divisor of its per-species atom counts
    (h-BN: one B and one N per cell; MoS2: one Mo, two S)."""
    counts = np.unique(species[layer_atoms], return_counts=True)[1]
    return int(np.gcd.reduce(counts))


def infer_lattice(positions, cell, species, layer_atoms):
    """The primitive lattice of a bilayer frame, from its supercell and its structure.

    The number of primitive cells in a layer, n1 n2, is the gcd of its per-species counts, and
    n1 / n2 = |A| / |B|; the exact primitive vectors are then A/n1 and B/n2, so thermal noise in
    the frame does not enter the lattice. The six-neighbour same-species distance in the layer
    must agree with |A|/n1 within 10 %; where the counts give no whole n1, n2 it alone sets
    n1 = round(|A|/a), n2 = round(|B|/a).

    positions (N, 3) [A]; cell (3, 3) [A]; species (N,); layer_atoms: indices of one layer.
    """
    estimate = nearest_same_species_distance(positions, cell, species, layer_atoms)
    lengths = np.linalg.norm(cell[:2, :2], axis=1)
    n_cells = cells_from_counts(species, layer_atoms)
    n1 = int(round(np.sqrt(n_cells * lengths[0] / lengths[1])))
    if n1 >= 1 and n_cells % n1 == 0 and abs(lengths[0] / n1 - estimate) < 0.1 * estimate:
        supercell = (n1, n_cells // n1)
        source = "inferred: atom counts and cell"
    else:
        supercell = tuple(max(1, int(round(length / estimate))) for length in lengths)
        source = "inferred: nearest same-species distance"
    for length, n in zip(lengths, supercell):
        if abs(length / n - estimate) > 0.1 * estimate:
            raise LatticeError(
                f"the cell length {length:.3f} A is not a multiple of the nearest same-species "
                f"distance {estimate:.3f} A: cannot find the primitive lattice; pass --supercell "
                "N1 N2 or --lattice A")
    lattice = lattice_from_cell(cell, supercell)
    return HexLattice(lattice.vectors, supercell, source)
