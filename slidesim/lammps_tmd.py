"""Running LAMMPS on TMD bilayers (``sw/mod`` + ``ilp/tmd``), for parity checks and timings.

LAMMPS's TMD set-up (``examples/PACKAGES/interlayer/ilp_tmds/in.mos2``) gives every sheet of
every layer its own atom type: types 1, 2, 3 are the bottom layer's metal, lower chalcogen and
upper chalcogen, 4, 5, 6 the top layer's; the molecule id is the layer + 1. One ``sw/mod``
instance per layer keeps the SW terms inside the layers, ``ilp/tmd`` acts between them.
"""

import os
import tempfile

import numpy as np

from slidesim import units
from slidesim.lammps_bridge import load_lammps, write_data
from slidesim.tmd import CHALCOGENS, LOWER_CHALCOGEN, METAL, METALS, UPPER_CHALCOGEN

#: position of each sheet among a layer's three LAMMPS types
TYPE_OF_SHEET = {METAL: 0, LOWER_CHALCOGEN: 1, UPPER_CHALCOGEN: 2}


def tmd_types(layer, sheets):
    """LAMMPS atom types (1-based): 1 + 3 layer + (0 metal, 1 lower, 2 upper chalcogen)."""
    offset = np.vectorize(TYPE_OF_SHEET.get)(np.asarray(sheets))
    return 1 + 3 * np.asarray(layer) + offset


def layer_elements(species_names, species, layer):
    """(metal, chalcogen) element names of each layer, bottom first. Raises ValueError for a
    layer that is not one metal and one chalcogen."""
    names = np.array(species_names, dtype=object)[np.asarray(species)]
    result = []
    for lay in range(int(np.max(layer)) + 1):
        present = set(names[np.asarray(layer) == lay])
        metals = sorted(present & set(METALS))
        chalcogens = sorted(present & set(CHALCOGENS))
        if len(metals) != 1 or len(chalcogens) != 1 or len(present) != 2:
            raise ValueError(f"layer {lay} holds {sorted(present)}: expected one metal and one "
                             "chalcogen")
        result.append((metals[0], chalcogens[0]))
    return result


def tmd_pair_commands(elements, sw_file, ilp_file, maxdelcs=None, ilp_style="ilp/tmd",
                      cutoff=16.0):
    """The pair commands of LAMMPS's TMD bilayer model.

    elements: (metal, chalcogen) of each layer (:func:`layer_elements`); sw_file, ilp_file:
    parameter files; maxdelcs: (delta1, delta2) of sw/mod, or None for LAMMPS's default
    (0.25, 0.35); ilp_style: "ilp/tmd" or an accelerated variant ("ilp/tmd/opt"); cutoff: Rcut
    [A]."""
    n_types = 3 * len(elements)
    window = "" if maxdelcs is None else f" maxdelcs {maxdelcs[0]!r} {maxdelcs[1]!r}"
    styles = " ".join(f"sw/mod{window}" for _ in elements)
    lines = [f"pair_style hybrid/overlay {styles} {ilp_style} {cutoff!r}"]
    all_elements = []
    for lay, (metal, chalcogen) in enumerate(elements):
        mapping = ["NULL"] * n_types
        mapping[3 * lay:3 * lay + 3] = [metal, chalcogen, chalcogen]
        all_elements += [metal, chalcogen, chalcogen]
        index = f" {lay + 1}" if len(elements) > 1 else ""
        lines.append(f"pair_coeff * * sw/mod{index} {sw_file} {' '.join(mapping)}")
    lines.append(f"pair_coeff * * {ilp_style} {ilp_file} {' '.join(all_elements)}")
    return "\n".join(lines)


def write_tmd_data(path, positions, cell, species_names, species, layer, sheets):
    """A LAMMPS data file (atom_style full, zero charges) of a TMD bilayer in the six types."""
    elements = layer_elements(species_names, species, layer)
    masses = [units.ATOMIC_MASS[e] for metal, chalcogen in elements
              for e in (metal, chalcogen, chalcogen)]
    write_data(path, positions, cell, tmd_types(layer, sheets), masses,
               charges=np.zeros(len(positions)), molecules=np.asarray(layer) + 1)


def single_point(positions, cell, species_names, species, layer, sheets, sw_file, ilp_file,
                 maxdelcs=None):
    """What LAMMPS computes for a TMD bilayer: a dict with ``energy``, ``e_sw`` (both layers),
    ``e_ilp`` [eV], ``forces`` (N, 3) [eV/A] and ``virial`` (6,) [eV] (W = sum r F, xx yy zz
    xy xz yz)."""
    lammps = load_lammps()
    elements = layer_elements(species_names, species, layer)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "bilayer.data")
        write_tmd_data(data, positions, cell, species_names, species, layer, sheets)
        lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
        try:
            sw_computes = "\n".join(f"compute sw{k} all pair sw/mod {k}"
                                    for k in range(1, len(elements) + 1))
            lmp.commands_string(
                f"units metal\natom_style full\nboundary p p f\nread_data {data}\n"
                f"{tmd_pair_commands(elements, sw_file, ilp_file, maxdelcs)}\n"
                f"neighbor 2.0 bin\n{sw_computes}\ncompute ilp all pair ilp/tmd\n"
                "compute virial all pressure NULL virial\n"
                "thermo_style custom step pe vol c_virial[*]\nrun 0\n")
            energy = lmp.get_thermo("pe")
            volume = lmp.get_thermo("vol")
            e_sw = sum(lmp.extract_compute(f"sw{k}", 0, 0) for k in range(1, len(elements) + 1))
            e_ilp = lmp.extract_compute("ilp", 0, 0)
            pressure = lmp.extract_compute("virial", 0, 1)
            virial = np.array([pressure[k] for k in range(6)]) * volume / units.NKTV2P
            ids = np.array(lmp.numpy.extract_atom("id")[: len(positions)])
            forces = np.array(lmp.numpy.extract_atom("f")[: len(positions)])[np.argsort(ids)]
        finally:
            lmp.close()
    return {"energy": energy, "e_sw": e_sw, "e_ilp": e_ilp, "forces": forces,
            "virial": virial}
