"""A deck (or a checkpoint of its run) as a LAMMPS data file and input script.

``slidesim export lammps DECK -o FOLDER`` writes into FOLDER:

- ``system.data``: the structure (atom_style full, ``units metal``), with the velocities the run
  starts with (drawn from the deck's seed, or the file's, or the checkpoint's) [A/ps], image
  flags so unwrapped positions survive, charges, and molecule id = layer + 1;
- the model's parameter files, copied;
- ``in.lammps``: the same model (pair styles and coefficients), neighbour skin, timestep,
  thermostat per stage (``fix nvt``, ``fix langevin`` + ``fix nve``, or ``fix nve``), thermo and
  a text dump with times (``slidesim analyze`` reads it), and, where asked, ``fix efield``.

Atom types follow :mod:`slidesim.lammps_bridge`: h-BN models use four types (species of the
bottom layer, then of the top layer), TMD models six (metal, lower, upper chalcogen of each
layer). What LAMMPS cannot represent is said in the script and in docs/lammps.md: Born-charge
field forces Z^T E and the registry dipole's -E.P (``fix efield`` applies q E with the fixed
point charges only), r-RESPA splits, replicas beyond the one exported, stop conditions, and
slidesim's guards.
"""

import os
import shutil

import numpy as np

from slidesim import __version__, units
from slidesim.kernels.integrators import remove_momentum

#: models with a LAMMPS counterpart -> their kind
EXPORTABLE = {"bn-ilp": "bn", "bn-dft": "bn", "mos2-ilp": "tmd"}
#: the line of in.lammps after which the schedule (fixes and runs) begins
SCHEDULE_MARKER = "# ---- schedule"


class ExportError(ValueError):
    """A deck or state that cannot be written for LAMMPS; the message says why and what to do."""


def _model_files(deck):
    """{role: path} of the deck's model parameter files (the model's defaults unless the deck
    names its own)."""
    from slidesim.catalog import PARAMS_DIR
    from slidesim.simulation import beside_deck

    name = deck.model["name"]
    given = {k: beside_deck(deck, deck.model[k]) for k in ("tersoff", "ilp") if k in deck.model}
    if name == "bn-ilp":
        files = {"tersoff": os.path.join(PARAMS_DIR, "BNC.tersoff"),
                 "ilp": os.path.join(PARAMS_DIR, "BNCH.ILP")}
    elif name == "bn-dft":
        from slidesim.models.bn_dft import ILP_FILE, TERSOFF_FILE

        files = {"tersoff": TERSOFF_FILE, "ilp": ILP_FILE}
    else:
        from slidesim.tmd import lammps_potential

        files = {"sw": lammps_potential("tmd.sw.mod"), "ilp": lammps_potential("MoS2.ILP")}
    files.update(given)
    for role, path in files.items():
        if not os.path.exists(path):
            raise ExportError(f"{role} parameter file {path} not found")
    return files


def check_exportable(deck):
    """ExportError unless the deck's model has a LAMMPS counterpart."""
    name = deck.model["name"]
    if name not in EXPORTABLE:
        raise ExportError(
            f"model '{name}' has no LAMMPS counterpart slidesim can write (exportable: "
            f"{', '.join(EXPORTABLE)}); a machine-learned model needs its own LAMMPS pair style")


def start_state(deck, checkpoint=None):
    """The state to export: the checkpoint's (any step of a run), or the deck's start with the
    velocities its run begins with (same seed, net momentum removed as the run does)."""
    from slidesim.simulation import build_integrator, build_state, fresh_state

    integrator = build_integrator(deck)
    if checkpoint is not None:
        from slidesim.io.checkpoint import read_checkpoint

        state, _ = read_checkpoint(checkpoint, integrator.name)
        return state
    state = fresh_state(deck, build_state(deck), integrator)
    for r in range(state.n_replicas):
        remove_momentum(state.velocities[r], state.masses)
    return state


def lammps_types(deck, state):
    """(types (N,) 1-based, elements of each type, {type: 'bottom'|'top'}) for the deck's
    model kind; ExportError if the structure does not fit the model's types."""
    kind = EXPORTABLE[deck.model["name"]]
    layer = np.asarray(state.layer)
    if set(np.unique(layer)) != {0, 1}:
        raise ExportError("the structure is not a bilayer (layers 0 and 1); LAMMPS's interlayer "
                          "styles need the two layers as two molecule ids")
    if kind == "bn":
        from slidesim.lammps_bridge import bilayer_types

        names = list(state.species_names)
        if sorted(names) != ["B", "N"]:
            raise ExportError(f"model '{deck.model['name']}' is for B and N, the structure has "
                              f"{', '.join(names)}")
        return bilayer_types(state.species, layer, 2), names * 2
    from slidesim.lammps_tmd import layer_elements, tmd_types
    from slidesim.tmd import sublayers

    sheets = sublayers(state.positions[0], state.cell, state.species_names, state.species, layer)
    elements = layer_elements(state.species_names, state.species, layer)
    return tmd_types(layer, sheets), [e for metal, chalcogen in elements
                                      for e in (metal, chalcogen, chalcogen)]


def pair_commands(deck, type_elements, files):
    """The LAMMPS pair_style / pair_coeff lines of the deck's model; ``files`` {role: file name
    as the script names it}."""
    kind = EXPORTABLE[deck.model["name"]]
    if kind == "tmd":
        from slidesim.lammps_tmd import tmd_pair_commands

        return tmd_pair_commands([tuple(type_elements[0:2]), tuple(type_elements[3:5])],
                                 files["sw"], files["ilp"])
    from slidesim.models.coulomb import DEFAULT_SHIELDING

    mapping = " ".join(type_elements)
    lines = ["pair_style hybrid/overlay tersoff ilp/graphene/hbn 16.0 1 coul/shield 16.0 1",
             f"pair_coeff * * tersoff {files['tersoff']} {mapping}",
             f"pair_coeff * * ilp/graphene/hbn {files['ilp']} {mapping}"]
    for i in (1, 2):  # coul/shield acts between the layers (different molecule ids) only
        for j in (3, 4):
            pair = (type_elements[i - 1], type_elements[j - 1])
            shielding = DEFAULT_SHIELDING.get(pair, DEFAULT_SHIELDING.get(pair[::-1]))
            lines.append(f"pair_coeff {i} {j} coul/shield {shielding!r}")
    return "\n".join(lines)


def atom_charges(deck, state):
    """(N,) [e]: coul/shield's point charges for h-BN models, zero for TMD models."""
    if EXPORTABLE[deck.model["name"]] == "tmd":
        return np.zeros(state.n_atoms)
    from slidesim.models.coulomb import DEFAULT_CHARGES

    return np.array([DEFAULT_CHARGES[state.species_names[s]] for s in state.species])


def write_data_file(path, positions, cell, types, type_elements, masses, charges, molecules,
                    velocities=None, title="slidesim"):
    """A LAMMPS data file (atom_style full, ``units metal``) of a 2D-periodic cell.

    positions (N, 3) [A], any image (written wrapped into the cell's a, b with image flags);
    cell (3, 3) [A] rows a, b, c in LAMMPS's restricted form (a along x, b in the xy plane,
    c along z) with every z in [0, c_z); types (N,) 1-based; type_elements: element of each
    type (comments); masses (N,) [amu]; charges (N,) [e]; molecules (N,); velocities (N, 3)
    [A/ps] or None. Floats are written with repr, so every bit round-trips.
    """
    cell = np.asarray(cell, dtype=np.float64)
    if cell[0, 1] != 0 or cell[0, 2] != 0 or cell[1, 2] != 0 or cell[2, 0] != 0 \
            or cell[2, 1] != 0:
        raise ExportError(f"the cell {cell.tolist()} is not in LAMMPS's form (a along x, b in "
                          "the xy plane, c along z); rotate the structure into it")
    positions = np.asarray(positions, dtype=np.float64)
    z = positions[:, 2]
    if np.any(z < 0.0) or np.any(z >= cell[2, 2]):
        raise ExportError(f"atoms lie at z from {z.min():.3f} to {z.max():.3f} A, outside the "
                          f"cell's [0, {cell[2, 2]:.3f}) A that LAMMPS's fixed z boundary keeps; "
                          "give the structure more vacuum or centre it in z")
    in_plane = cell[:2, :2]
    fractional = positions[:, :2] @ np.linalg.inv(in_plane)
    images = np.floor(fractional).astype(np.int64)
    wrapped = positions.copy()
    wrapped[:, :2] -= images @ in_plane
    num = lambda value: repr(float(value))
    type_masses = {}
    for t, mass in zip(types, masses):
        type_masses.setdefault(int(t), float(mass))
    n_types = len(type_elements)
    with open(path, "w") as f:
        f.write(f"{title}\n\n{len(positions)} atoms\n{n_types} atom types\n\n"
                f"0 {num(cell[0, 0])} xlo xhi\n0 {num(cell[1, 1])} ylo yhi\n"
                f"0 {num(cell[2, 2])} zlo zhi\n{num(cell[1, 0])} 0 0 xy xz yz\n\nMasses\n\n")
        for t in range(1, n_types + 1):
            mass = type_masses.get(t, units.ATOMIC_MASS.get(type_elements[t - 1], 1.0))
            f.write(f"{t} {num(mass)} # {type_elements[t - 1]}\n")
        f.write("\nAtoms # full\n\n")
        for k in range(len(positions)):
            x, y, zk = wrapped[k]
            f.write(f"{k + 1} {int(molecules[k])} {int(types[k])} {num(charges[k])} "
                    f"{num(x)} {num(y)} {num(zk)} {images[k, 0]} {images[k, 1]} 0\n")
        if velocities is not None:
            f.write("\nVelocities\n\n")
            for k, (vx, vy, vz) in enumerate(np.asarray(velocities, dtype=np.float64)):
                f.write(f"{k + 1} {num(vx)} {num(vy)} {num(vz)}\n")


def _thermostat_lines(deck, stage, index, seed):
    """fix lines of one stage (and the ids to unfix after it)."""
    name = deck.integrator["name"]
    t0, t1 = stage.t_start, stage.t_stop
    if name == "nve":
        return ["fix integrate all nve"], ["integrate"]
    if name not in ("nose-hoover", "langevin"):
        raise ExportError(f"integrator '{name}' has no LAMMPS counterpart slidesim writes yet "
                          "(exportable: nve, nose-hoover, langevin)")
    if name == "langevin":
        damp = deck.integrator.get("damp", 100 * deck.timestep)
        return ["fix integrate all nve",
                f"fix thermostat all langevin {t0!r} {t1!r} {damp!r} {seed + index}"], \
            ["integrate", "thermostat"]
    if t0 <= 0.0 or t1 <= 0.0:
        raise ExportError(f"stage '{stage.name}' targets 0 K, which LAMMPS's fix nvt refuses; "
                          "use 'integrator langevin' or a small positive temperature")
    tdamp = deck.integrator.get("tdamp", 100 * deck.timestep)
    chain = deck.integrator.get("chain", 3)
    loops = deck.integrator.get("loops", 1)
    return [f"fix integrate all nvt temp {t0!r} {t1!r} {tdamp!r} tchain {chain} tloop {loops}"], \
        ["integrate"]


def field_lines(stage, index, timestep, efield):
    """fix efield lines of one stage (commented out unless ``efield``), and ids to unfix."""
    if not stage.has_field:
        return [], []
    start = np.asarray(stage.field, dtype=np.float64)
    stop = start + np.asarray(stage.field_rate, dtype=np.float64) * stage.n_steps * timestep
    prefix = "" if efield else "# "
    lines = ["# slidesim's field force is Z^T E with Born charges Z (and energy -E.P). LAMMPS's",
             "# fix efield applies q E with the data file's fixed point charges only: on h-BN's",
             "# neutral layers a different force. " +
             ("Applied here as asked (--efield)." if efield else "Uncomment to apply it anyway.")]
    components = []
    for axis, e0, e1 in zip("xyz", start, stop):
        if e0 == e1:
            components.append(repr(float(e0)))
        else:
            lines.append(f"{prefix}variable e{axis}{index} equal ramp({float(e0)!r},{float(e1)!r})")
            components.append(f"v_e{axis}{index}")
    lines.append(f"{prefix}fix efield all efield {' '.join(components)}   # V/A")
    return lines, (["efield"] if efield else [])


def minimize_lines(stage, index, timestep, efield):
    """The lines of a minimisation stage (``stage NAME minimize fire ...``)."""
    settings = stage.minimize
    steps = int(settings["max_steps"])
    lines = [f"# stage {stage.name}: minimisation; slidesim stops when every atom's force is "
             f"below {settings['ftol']!r} eV/A, LAMMPS's ftol is the 2-norm of all forces"]
    fields, field_ids = field_lines(stage, index, timestep, efield)
    cell = settings.get("cell")
    style = settings["style"]
    if cell:
        pressure = settings.get("pressure", 0.0)  # [bar], LAMMPS metal's pressure unit
        couple = " couple xy" if cell == "iso" else ""
        lines += [f"# the cell relaxes ({cell}, in-plane pressure {pressure!r} bar); LAMMPS's "
                  "fix box/relax needs min_style cg",
                  f"fix relax all box/relax x {pressure!r} y {pressure!r}{couple} scalexy yes "
                  "vmax 0.001"]
        style = "cg"
    lines += fields + [f"min_style {style}",
                       f"minimize 0.0 {settings['ftol']!r} {steps} {10 * steps}"]
    lines += [f"unfix {fix_id}" for fix_id in (["relax"] if cell else []) + field_ids]
    return lines


def input_script(deck, type_elements, files, has_velocities, efield=False,
                 data_name="system.data"):
    """The text of in.lammps for the deck (see the module docstring)."""
    model = deck.model["name"]
    thermo = deck.thermo_every or 100
    dump_every = deck.trajectory_every
    columns = "id type mol element x y z"
    if deck.trajectory_velocities:
        columns += " vx vy vz"
    if deck.trajectory_forces:
        columns += " fx fy fz"
    lines = [
        f"# LAMMPS input written by slidesim {__version__} (slidesim export lammps) from "
        f"{os.path.basename(deck.path)}",
        f"# model {model}: the same potential as slidesim's, term by term (docs/lammps.md)",
        "# not carried over: Born-charge field forces Z^T E and the registry dipole's -E.P,",
        "# r-RESPA, replicas other than the one exported, stage stop conditions, slidesim's guards",
        "units metal",
        "atom_style full",
        "boundary p p f",
        f"read_data {data_name}",
        "",
        pair_commands(deck, type_elements, files),
        "",
        f"neighbor {deck.skin!r} bin",
        "neigh_modify every 1 delay 0 check yes",
        f"timestep {deck.timestep!r}   # ps",
        "thermo_style custom step time temp pe ke etotal press",
        "thermo_modify format float %.15g",
        f"thermo {thermo}",
    ]
    if dump_every:
        lines += [f"dump trajectory all custom {dump_every} dump.lammpstrj {columns}",
                  f"dump_modify trajectory element {' '.join(type_elements)} sort id time yes "
                  "format float %.15g"]
    md_stages = [stage for stage in deck.stages if not getattr(stage, "minimize", None)]
    if not has_velocities and md_stages and md_stages[0].t_start > 0:
        lines.append(f"velocity all create {md_stages[0].t_start!r} {deck.seed} "
                     "dist gaussian mom yes")
    if deck.integrator.get("respa", 1) > 1:
        lines.append(f"# slidesim runs r-RESPA ({deck.integrator['respa']} inner steps); this "
                     "script integrates every term at the full timestep")
    if deck.replicas > 1:
        lines.append(f"# the deck runs {deck.replicas} replicas; this script runs the one in "
                     f"{data_name}")
    lines += ["", SCHEDULE_MARKER]
    for index, stage in enumerate(deck.stages, start=1):
        if getattr(stage, "minimize", None):
            lines += minimize_lines(stage, index, deck.timestep, efield)
            continue
        fixes, ids = _thermostat_lines(deck, stage, index, deck.seed)
        fields, field_ids = field_lines(stage, index, deck.timestep, efield)
        lines.append(f"# stage {stage.name}: {stage.t_start:g} -> {stage.t_stop:g} K, "
                     f"{stage.n_steps} steps")
        if stage.stop:
            lines.append(f"# slidesim stops this stage early when '{stage.stop}'; LAMMPS runs "
                         "it to the end")
        lines += fixes + fields + [f"run {stage.n_steps}"]
        lines += [f"unfix {fix_id}" for fix_id in ids + field_ids]
    return "\n".join(lines) + "\n"


def export_lammps(deck, folder, checkpoint=None, replica=0, efield=False):
    """Write system.data, in.lammps and the model's parameter files into ``folder``.

    deck: a :class:`slidesim.deck.Deck`; checkpoint: a checkpoint of its run to export instead
    of the start; replica: which replica; efield: write ``fix efield`` active (it applies q E
    only). Returns {what: path} of the files written. Raises ExportError (a ValueError).
    """
    check_exportable(deck)
    state = start_state(deck, checkpoint)
    if not 0 <= replica < state.n_replicas:
        raise ExportError(f"replica {replica} does not exist; the state has {state.n_replicas}")
    types, type_elements = lammps_types(deck, state)
    sources = _model_files(deck)
    os.makedirs(folder, exist_ok=True)
    written, names = {}, {}
    for role, source in sources.items():
        name = os.path.basename(source)
        target = os.path.join(folder, name)
        if os.path.abspath(source) != os.path.abspath(target):
            shutil.copyfile(source, target)
        names[role] = name
        written[role] = target
    velocities = state.velocities[replica]
    has_velocities = bool(np.any(velocities))
    data = os.path.join(folder, "system.data")
    write_data_file(data, state.positions[replica], state.cell, types, type_elements,
                    state.masses, atom_charges(deck, state), np.asarray(state.layer) + 1,
                    velocities if has_velocities else None,
                    title=f"slidesim {__version__}: {os.path.basename(deck.path)}, step "
                          f"{state.step}, replica {replica}")
    written["data"] = data
    script = os.path.join(folder, "in.lammps")
    with open(script, "w") as f:
        f.write(input_script(deck, type_elements, names, has_velocities, efield))
    written["input"] = script
    return written
