"""Builders of bilayers of honeycomb monolayers (h-BN; MoS2, WS2, MoSe2, WSe2) in any stacking.

Geometry (as in the paper and DESIGN.md; :mod:`slidesim.geometry`): a = (a, 0, 0),
b = (-a/2, a sqrt(3)/2, 0), c along z; periodic in a and b, open along z. The sliding vector t is
the in-plane displacement of the top layer relative to AA stacking: t_AA = 0, t_BA = (b - a)/3,
t_SP = (b - a)/2, t_AB = 2(b - a)/3. In BA the top N sits over the bottom B; in AB the top B
sits over the bottom N.
"""

from dataclasses import dataclass

import numpy as np

from slidesim import units
from slidesim.geometry import STACKINGS, primitive_cell, sliding_vector  # noqa: F401
from slidesim.catalog import model_entry
from slidesim.state import State


@dataclass(frozen=True)
class Monolayer:
    """A honeycomb monolayer: its species names, and for each basis atom its fractional (a, b)
    position, height [A] above the layer's mid-plane and species index (``basis_species``;
    None: basis atom k is species k); ``model``: the catalog model whose lattice constant and
    interlayer distance are the material's defaults (:mod:`slidesim.catalog`)."""

    name: str
    species: tuple
    fractional: tuple
    heights: tuple
    model: str
    basis_species: tuple = None
    #: names of the stackings AA, t = (b - a)/3, SP, t = 2(b - a)/3 for this material
    stackings: tuple = ("AA", "BA", "SP", "AB")

    @property
    def basis(self):
        """Species index of each basis atom."""
        return tuple(range(len(self.species))) if self.basis_species is None \
            else self.basis_species

    @property
    def lattice(self):
        """Default lattice constant a [A]: that of the material's model (its row for this
        material when the model covers several, :meth:`slidesim.catalog.ModelEntry.geometry`)."""
        return model_entry(self.model).geometry(self.name)[0]

    @property
    def interlayer(self):
        """Default interlayer distance d [A] (between the layers' mid-planes): the model's."""
        return model_entry(self.model).geometry(self.name)[1]


MONOLAYERS = {
    # h-BN: the stock bn-ilp model's optimum, a = 2.5045 A, d = 3.235 A (reference/README.md);
    # a command run with another model takes that model's values from the catalog
    "BN": Monolayer("BN", ("B", "N"), ((0.0, 0.0), (1 / 3, 2 / 3)), (0.0, 0.0), "bn-ilp"),
    # 1H MoS2: Mo at (0, 0), the S pair at (1/3, 2/3) at -+h, h = 1.5627 A the S height of
    # mos2-ilp's flat bilayer at its optimum (rigid scan; the LAMMPS example geometry has
    # 1.59693 A at a = 3.197 A); atoms per cell in the order Mo, lower S, upper S
    "MoS2": Monolayer("MoS2", ("Mo", "S"), ((0.0, 0.0), (1 / 3, 2 / 3), (1 / 3, 2 / 3)),
                      (0.0, -1.5627, 1.5627), "mos2-ilp", basis_species=(0, 1, 1),
                      stackings=("AA", "XM", "SP", "MX")),
    # 1H WS2, MoSe2, WSe2 as MoS2; h and the defaults of a and d are tmd-ilp's flat 3R bilayer
    # optimum for each (validation/tmd_geometry.py)
    **{name: Monolayer(name, (metal, chalcogen), ((0.0, 0.0), (1 / 3, 2 / 3), (1 / 3, 2 / 3)),
                       (0.0, -h, h), "tmd-ilp", basis_species=(0, 1, 1),
                       stackings=("AA", "XM", "SP", "MX"))
       for name, metal, chalcogen, h in (("WS2", "W", "S", 1.5658),
                                         ("MoSe2", "Mo", "Se", 1.6559),
                                         ("WSe2", "W", "Se", 1.6437))},
}


def monolayer(material):
    """The :class:`Monolayer` called ``material``; ValueError naming the known ones otherwise."""
    mono = MONOLAYERS.get(str(material))
    if mono is None:
        raise ValueError(f"unknown material {material!r}; known: {', '.join(MONOLAYERS)}")
    return mono


def material_of_model(model):
    """The material a catalog model is made for: the monolayer whose default model it is, else
    the first whose species it covers (bn-dft: BN); ValueError when it covers none, or several
    with their own geometries (tmd-ilp: the material must be given)."""
    entry = model_entry(model)
    if entry.materials and len(entry.materials) > 1:
        names = ", ".join(row[0] for row in entry.materials)
        raise ValueError(f"model '{entry.name}' is made for {names}: give the material")
    for mono in MONOLAYERS.values():
        if mono.model == entry.name:
            return mono.name
    for mono in MONOLAYERS.values():
        if entry.species is not None and set(mono.species) <= set(entry.species):
            return mono.name
    raise ValueError(f"model '{entry.name}' is made for no built-in material; give the "
                     f"material ({', '.join(MONOLAYERS)})")


def sliding_vector_of(stacking, a):
    """Sliding vector t [A] (3,) for a stacking name (AA, AB, BA, SP) or a fraction of (b - a)
    (:func:`slidesim.geometry.sliding_vector`)."""
    return sliding_vector(stacking, a)


def bilayer(material="BN", supercell=(1, 1), stacking="BA", lattice=None, interlayer=None,
            sliding=None, vacuum=40.0, z_bottom=10.0):
    """A bilayer State (one replica, zero velocities).

    material: key of :data:`MONOLAYERS` (BN, MoS2, WS2, MoSe2, WSe2); supercell: (n1, n2)
    repetitions; stacking: "AA", "AB", "BA", "SP" (for TMDs "XM" = BA's and "MX" = AB's sliding
    vector) or a fraction of (b - a); lattice: a [A]; interlayer: distance d [A];
    sliding: explicit sliding vector t [A] (2 or 3 components), overrides ``stacking``;
    vacuum: cell height c [A]; z_bottom: height of the bottom layer [A].
    Atoms are ordered bottom layer first, cell by cell, basis atom by basis atom.
    """
    mono = monolayer(material)
    n1, n2 = (int(n) for n in supercell)
    if n1 < 1 or n2 < 1:
        raise ValueError(f"supercell must be at least 1x1, got {n1}x{n2}")
    a = mono.lattice if lattice is None else float(lattice)
    d = mono.interlayer if interlayer is None else float(interlayer)
    if not a > 0 or not d > 0:
        raise ValueError("lattice constant and interlayer distance must be positive")
    prim = primitive_cell(a)
    if sliding is None:
        t = sliding_vector(stacking, a)
    else:
        t = np.zeros(3)
        t[: len(sliding)] = sliding
    if d + z_bottom >= vacuum:
        raise ValueError(f"cell height {vacuum} A is too small for the bilayer")
    i, j = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    cells = np.stack([i.ravel(), j.ravel()], axis=1)
    n_basis, n_cells = len(mono.fractional), len(cells)
    positions = np.empty((2, n_cells, n_basis, 3))
    for layer_id in (0, 1):
        for k, ((fa, fb), dz) in enumerate(zip(mono.fractional, mono.heights)):
            xyz = (cells[:, :1] + fa) * prim[0] + (cells[:, 1:] + fb) * prim[1]
            xyz[:, 2] = z_bottom + layer_id * d + dz
            positions[layer_id, :, k] = xyz + (t if layer_id == 1 else 0.0)
    # order: bottom layer then top; within a layer cell by cell, basis atoms interleaved
    positions = positions.reshape(-1, 3)
    species = np.tile(np.array(mono.basis, dtype=np.int64), 2 * n_cells)
    layer = np.repeat([0, 1], n_cells * n_basis)
    cell = np.array([n1 * prim[0], n2 * prim[1], [0.0, 0.0, vacuum]])
    masses = np.array([units.ATOMIC_MASS[symbol] for symbol in mono.species])[species]
    return State(positions, None, cell, species, mono.species, masses, layer)
