"""Trajectories in the AMBER netCDF convention, plus slidesim's own per-atom and per-frame data.

The file follows https://ambermd.org/netcdf/nctraj.xhtml (netCDF-3, 64-bit offsets), so MDAnalysis
(format "NCDF"), ASE ("netcdftrajectory"), OVITO and VMD read it. The ``units`` attributes are
AMBER's: positions [angstrom], time [picosecond], velocities [angstrom/picosecond], forces
[kilocalorie/mole/angstrom], cell lengths [angstrom] and angles [degree].

How the three common readers see a slidesim file (each reader's source was read; tests in
tests/test_interop_trajectory.py load real runs with each):

- The stored numbers are in slidesim's (LAMMPS metal) units: velocities [A/ps] and forces
  [eV/A]. The forces carry ``scale_factor`` = 23.0605 (1 eV in kcal/mol), so that readers that
  follow the convention (MDAnalysis, cpptraj, and netCDF4-python, through which ASE reads)
  multiply them into the kilocalorie/mole/angstrom the ``units`` say, while OVITO, which
  ignores ``units`` and ``scale_factor`` and shows the stored numbers, shows eV/A and A/ps like
  a LAMMPS metal dump.
- ASE's reader takes ``velocities`` as ASE velocities (A per A sqrt(amu/eV), 98.2x A/ps) and
  ignores ``units``; it does attach every other per-atom variable by name. So slidesim also
  writes ``momenta`` [sqrt(amu eV), ASE's momentum unit] and per-atom ``masses`` [amu], which
  replace the momenta and masses ASE made, and ``ase.io.read`` gives the right velocities and
  kinetic energy. Its ``arrays["forces"]`` stay in kcal/mol/A (ASE does not convert them;
  :func:`slidesim.ase.read_frames` does, docs/interop.md).
- ``atom_types`` holds atomic numbers (ASE's element numbers; OVITO's particle type ids). No
  other variable maps to OVITO's particle type, so it shows no phantom types; the topology
  beside the trajectory (:mod:`slidesim.io.topology`, ``traj.lammpsdump``) names them.

slidesim adds:

- per atom: ``layer`` (0 bottom, 1 top), ``masses`` [amu]; the global attribute
  ``species_names`` (space separated) gives the species order of the run's model;
- per frame: ``step``, ``stage``, ``temperature_target`` and ``temperature`` [kelvin],
  ``potential_energy`` [eV], ``electric_field`` [volt/angstrom] (frame, spatial),
  ``sliding_vector`` [angstrom] (frame, spatial) and ``cell_vectors`` [angstrom] (frame,
  cell_spatial, spatial) holding the exact (3, 3) cell, rows a, b, c; ``momenta`` (above);
- global attributes ``replica`` (int) and ``replica_info`` (JSON text).

Files written before these conventions (a per-atom ``species`` variable, forces stored in
kcal/mol/A without ``scale_factor``, no ``momenta``) are still read, and continued in their own
layout on a restart.

One file per replica. Coordinates are written unwrapped, as the state holds them.
"""

import json
import os
import tempfile

import netCDF4
import numpy as np
from ase import units as ase_units
from ase.data import atomic_numbers, chemical_symbols

from slidesim import __version__
from slidesim.io import give_default_mode
from slidesim.io.topology import topology_path, write_topology
from slidesim.units import EV_IN_KCAL_PER_MOL

NETCDF_FORMAT = "NETCDF3_64BIT_OFFSET"
FORCE_UNITS = "kilocalorie/mole/angstrom"
#: ASE's momentum unit, amu A / (A sqrt(amu/eV)) = sqrt(amu eV)
MOMENTUM_UNITS = "sqrt(amu*eV)"
#: amu A/ps -> sqrt(amu eV): ASE's time unit A sqrt(amu/eV) in ps (10.18 fs), as ASE has it
ASE_TIME_IN_PS = 1.0 / (1000.0 * ase_units.fs)
#: per-frame scalar observables: name -> units
FRAME_SCALARS = {"temperature_target": "kelvin", "temperature": "kelvin", "potential_energy": "eV"}
#: per-frame vector observables: name -> units
FRAME_VECTORS = {"electric_field": "volt/angstrom", "sliding_vector": "angstrom"}
_INT32_MAX = np.iinfo(np.int32).max


def cell_to_lengths_angles(cell):
    """Cell (3, 3) [A], rows a, b, c -> lengths (3,) [A] and angles alpha, beta, gamma (3,) [deg].

    alpha is the angle between b and c, beta between a and c, gamma between a and b.
    """
    cell = np.asarray(cell, dtype=np.float64)
    lengths = np.linalg.norm(cell, axis=1)
    angles = np.empty(3)
    for k, (i, j) in enumerate(((1, 2), (0, 2), (0, 1))):
        cosine = cell[i] @ cell[j] / (lengths[i] * lengths[j])
        angles[k] = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    return lengths, angles


def lengths_angles_to_cell(lengths, angles):
    """Inverse of :func:`cell_to_lengths_angles` in the standard orientation (a along x, b in xy).

    lengths (3,) [A], angles (3,) [deg] -> cell (3, 3) [A].
    """
    la, lb, lc = lengths
    alpha, beta, gamma = np.radians(angles)
    a = np.array([la, 0.0, 0.0])
    b = lb * np.array([np.cos(gamma), np.sin(gamma), 0.0])
    cx = np.cos(beta)
    cy = (np.cos(alpha) - np.cos(beta) * np.cos(gamma)) / np.sin(gamma)
    c = lc * np.array([cx, cy, np.sqrt(max(1.0 - cx * cx - cy * cy, 0.0))])
    return np.array([a, b, c])


class TrajectoryWriter:
    """Writes the frames of one replica to an AMBER netCDF trajectory.

    Args:
        path: file to write (the driver names them traj.nc, traj.r1.nc, ...).
        state: :class:`slidesim.state.State`; gives atom count, species and layers.
        replica: which replica of ``state`` this file holds.
        velocities, forces: whether frames carry velocities [A/ps] and forces.
        title: free text stored as the ``title`` attribute.
        replica_info: JSON-serialisable dict (seed, temperature...) stored as ``replica_info``.
        charges: (N,) fixed charges [e] for the topology (None: zeros); see
            :func:`slidesim.io.topology.model_charges`.
        topology: write the topology ``traj.lammpsdump`` beside a new file (from the state's
            current positions).
        primitive_cell: (2, 3) in-plane monolayer vectors [A], stored as the global attribute
            ``primitive_cell`` (a_x a_y b_x b_y) for the order-parameter analysis.
        append: continue an existing file (restart) instead of overwriting it.
        restart_step: with ``append``, first drop frames whose step is beyond this one.

    A new file gets its topology (:mod:`slidesim.io.topology`) beside it; a continued one keeps
    the topology it has. Every frame is synced to the operating system as soon as it is written, so a killed run
    leaves a file readable up to its last complete frame. Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, path, state, *, replica=0, velocities=False, forces=False,
                 title="slidesim trajectory", replica_info=None, primitive_cell=None, append=False,
                 restart_step=None, charges=None, topology=True):
        self.path = os.fspath(path)
        self.replica = int(replica)
        self.has_velocities = bool(velocities)
        self.has_forces = bool(forces)
        if append and os.path.exists(self.path):
            if restart_step is not None:
                truncate_trajectory_to_step(self.path, restart_step)
            self._dataset = netCDF4.Dataset(self.path, "a")
            self._check_matches(state)
        else:
            self._dataset = netCDF4.Dataset(self.path, "w", format=NETCDF_FORMAT)
            self._define(state, title, replica_info or {}, primitive_cell)
            self._dataset.sync()
            if topology:
                write_topology(topology_path(self.path), state.positions[self.replica],
                               state.cell, state.symbols(), state.masses, state.layer, charges,
                               state.step)
        self._open_for_frames()

    def _open_for_frames(self):
        """Stored numbers are written as they are (no packing by ``scale_factor``); the layout
        of the file (new, or one written before momenta and scaled forces) decides what."""
        ds = self._dataset
        ds.set_auto_mask(False)
        ds.set_auto_scale(False)
        variables = ds.variables
        self._masses = (variables["masses"][:].astype(np.float64) if "masses" in variables
                        else None)
        self._write_momenta = "momenta" in variables and self._masses is not None
        scale = float(getattr(variables["forces"], "scale_factor", 1.0)) \
            if "forces" in variables else 1.0
        # stored = eV/A * (kcal/mol per eV) / scale_factor: eV/A in new files, kcal/mol/A in old
        self._force_factor = EV_IN_KCAL_PER_MOL / scale

    @property
    def n_frames(self):
        """Number of frames in the file."""
        return len(self._dataset.dimensions["frame"])

    def _define(self, state, title, replica_info, primitive_cell=None):
        ds = self._dataset
        ds.Conventions = "AMBER"
        ds.ConventionVersion = "1.0"
        ds.program = "slidesim"
        ds.programVersion = __version__
        ds.title = title
        ds.species_names = " ".join(state.species_names)
        ds.replica = np.int32(self.replica)
        ds.replica_info = json.dumps(replica_info, sort_keys=True)
        if primitive_cell is not None:
            # in-plane monolayer vectors a, b [A] as a_x a_y b_x b_y: the lattice of psi = exp(iG.t)
            ds.primitive_cell = np.asarray(primitive_cell, dtype=np.float64)[:, :2].ravel()
        ds.createDimension("frame", None)
        ds.createDimension("spatial", 3)
        ds.createDimension("atom", state.n_atoms)
        ds.createDimension("cell_spatial", 3)
        ds.createDimension("cell_angular", 3)
        ds.createDimension("label", 5)
        ds.createVariable("spatial", "S1", ("spatial",))[:] = np.array(list("xyz"), "S1")
        ds.createVariable("cell_spatial", "S1", ("cell_spatial",))[:] = np.array(list("abc"), "S1")
        angular = ds.createVariable("cell_angular", "S1", ("cell_angular", "label"))
        angular[:] = np.array([list(name.ljust(5)) for name in ("alpha", "beta", "gamma")], "S1")
        self._variable("time", "f8", ("frame",), "picosecond")
        self._variable("coordinates", "f4", ("frame", "atom", "spatial"), "angstrom")
        if self.has_velocities:
            self._variable("velocities", "f4", ("frame", "atom", "spatial"),
                           "angstrom/picosecond")
            momenta = self._variable("momenta", "f4", ("frame", "atom", "spatial"),
                                     MOMENTUM_UNITS)
            momenta.comment = ("masses x velocities in ASE's units, for ase.io.read, which "
                               "takes 'velocities' as ASE velocities")
        if self.has_forces:
            forces = self._variable("forces", "f4", ("frame", "atom", "spatial"), FORCE_UNITS)
            # stored in eV/A: OVITO shows them so; AMBER readers multiply into kcal/mol/A
            forces.scale_factor = np.float64(EV_IN_KCAL_PER_MOL)
        self._variable("cell_lengths", "f8", ("frame", "cell_spatial"), "angstrom")
        self._variable("cell_angles", "f8", ("frame", "cell_angular"), "degree")
        self._variable("cell_vectors", "f8", ("frame", "cell_spatial", "spatial"), "angstrom")
        ds.createVariable("atom_types", "i4", ("atom",))[:] = [
            atomic_numbers.get(name, 0) for name in state.symbols()]
        # no per-atom 'species' variable: OVITO would map it, like atom_types, to its particle
        # type (phantom types); species = position of the element in species_names
        self._variable("masses", "f8", ("atom",), "amu")[:] = state.masses
        ds.createVariable("layer", "i4", ("atom",))[:] = state.layer
        ds.createVariable("step", "i4", ("frame",))
        ds.createVariable("stage", "i4", ("frame",))
        for name, units in FRAME_SCALARS.items():
            self._variable(name, "f8", ("frame",), units)
        for name, units in FRAME_VECTORS.items():
            self._variable(name, "f8", ("frame", "spatial"), units)

    def _variable(self, name, dtype, dimensions, units):
        variable = self._dataset.createVariable(name, dtype, dimensions)
        variable.units = units
        return variable

    def _check_matches(self, state):
        ds = self._dataset
        problems = []
        if len(ds.dimensions["atom"]) != state.n_atoms:
            problems.append(f"{len(ds.dimensions['atom'])} atoms in the file, "
                            f"{state.n_atoms} in the state")
        elif not np.array_equal(_file_species(ds), state.species):
            problems.append("species differ")
        for name, wanted in (("velocities", self.has_velocities), ("forces", self.has_forces)):
            if (name in ds.variables) != wanted:
                problems.append(f"{name} {'missing from' if wanted else 'present in'} the file")
        if problems:
            ds.close()
            raise ValueError(f"cannot append to trajectory {self.path}: {'; '.join(problems)}")

    def write_frame(self, state, *, forces=None, temperature=np.nan, temperature_target=np.nan,
                    potential_energy=np.nan, electric_field=None, sliding_vector=None):
        """Append one frame of replica ``self.replica`` of ``state`` and sync it to disk.

        forces: (N, 3) [eV/A] of this replica, required when the writer was built with forces.
        temperature, temperature_target [K], potential_energy [eV]: floats (NaN if unknown).
        electric_field (3,) [V/A], sliding_vector (3,) [A]: NaN if not given.
        """
        if self._dataset is None:
            raise ValueError(f"trajectory {self.path} is closed")
        if self.has_forces and forces is None:
            raise ValueError("this trajectory stores forces: pass forces=")
        if not 0 <= state.step <= _INT32_MAX:
            raise OverflowError(f"step {state.step} does not fit the int32 step variable")
        variables = self._dataset.variables
        i = self.n_frames
        lengths, angles = cell_to_lengths_angles(state.cell)
        variables["time"][i] = state.time
        variables["step"][i] = state.step
        variables["stage"][i] = state.stage
        variables["cell_lengths"][i] = lengths
        variables["cell_angles"][i] = angles
        variables["cell_vectors"][i] = state.cell
        if self.has_velocities:
            velocities = state.velocities[self.replica]
            variables["velocities"][i] = velocities
            if self._write_momenta:
                variables["momenta"][i] = self._masses[:, None] * velocities * ASE_TIME_IN_PS
        if self.has_forces:
            variables["forces"][i] = np.asarray(forces) * self._force_factor
        variables["temperature"][i] = temperature
        variables["temperature_target"][i] = temperature_target
        variables["potential_energy"][i] = potential_energy
        nan3 = np.full(3, np.nan)
        variables["electric_field"][i] = nan3 if electric_field is None else electric_field
        variables["sliding_vector"][i] = nan3 if sliding_vector is None else sliding_vector
        # coordinates last: readers take the frame count from them
        variables["coordinates"][i] = state.positions[self.replica]
        self._dataset.sync()

    def truncate_to_step(self, step):
        """Drop every frame whose step is beyond ``step`` (restarting from a checkpoint there)."""
        self.close()
        truncate_trajectory_to_step(self.path, step)
        self._dataset = netCDF4.Dataset(self.path, "a")
        self._open_for_frames()

    def close(self):
        if self._dataset is not None:
            self._dataset.close()
            self._dataset = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def truncate_trajectory_to_step(path, step):
    """Keep the frames of ``path`` before the first one whose step exceeds ``step``.

    netCDF-3 files cannot shrink, so the kept frames are copied to a temporary file in the same
    directory that then atomically replaces ``path``. Returns the number of frames kept.
    """
    path = os.fspath(path)
    with netCDF4.Dataset(path, "r") as source:
        source.set_auto_mask(False)
        source.set_auto_scale(False)  # copy the stored numbers as they are
        steps = source.variables["step"][:]
        beyond = np.nonzero(steps > step)[0]
        n_keep = int(beyond[0]) if len(beyond) else len(steps)
        if n_keep == len(steps):
            return n_keep
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                             prefix=".truncate.", suffix=".nc")
        give_default_mode(handle)
        os.close(handle)
        try:
            with netCDF4.Dataset(temporary, "w", format=source.data_model) as target:
                _copy_frames(source, target, n_keep)
            with open(temporary, "rb") as written:
                os.fsync(written.fileno())
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise
    return n_keep


def _copy_frames(source, target, n_keep):
    target.set_auto_mask(False)
    target.set_auto_scale(False)
    target.setncatts({name: source.getncattr(name) for name in source.ncattrs()})
    for name, dimension in source.dimensions.items():
        target.createDimension(name, None if dimension.isunlimited() else len(dimension))
    for name, variable in source.variables.items():
        copy = target.createVariable(name, variable.datatype, variable.dimensions)
        copy.setncatts({key: variable.getncattr(key) for key in variable.ncattrs()})
        if variable.dimensions and variable.dimensions[0] == "frame":
            if n_keep:
                copy[:n_keep] = variable[:n_keep]
        else:
            copy[:] = variable[:]


def read_trajectory(path):
    """Read a slidesim netCDF trajectory into a dict of arrays, in slidesim units.

    Keys: coordinates (F, N, 3) [A]; cell (F, 3, 3) [A]; cell_lengths (F, 3) [A];
    cell_angles (F, 3) [deg]; time (F,) [ps]; step, stage (F,) int; temperature,
    temperature_target (F,) [K]; potential_energy (F,) [eV]; electric_field (F, 3) [V/A];
    sliding_vector (F, 3) [A]; velocities (F, N, 3) [A/ps] and forces (F, N, 3) [eV/A] when
    stored; species, layer, atomic_numbers (N,) int; masses (N,) [amu] when stored;
    species_names tuple; replica int; replica_info dict; title str. Frame data are float64
    copies of what the file holds (forces through its ``scale_factor``, whatever the layout).
    """
    with netCDF4.Dataset(os.fspath(path), "r") as ds:
        ds.set_auto_mask(False)  # auto-scale stays on: forces come in the units they state
        variables = ds.variables
        out = {"coordinates": variables["coordinates"][:].astype(np.float64),
               "cell_lengths": variables["cell_lengths"][:].astype(np.float64),
               "cell_angles": variables["cell_angles"][:].astype(np.float64),
               "time": variables["time"][:].astype(np.float64)}
        if "cell_vectors" in variables:
            out["cell"] = variables["cell_vectors"][:].astype(np.float64)
        else:
            out["cell"] = np.array([lengths_angles_to_cell(lengths, angles) for lengths, angles
                                    in zip(out["cell_lengths"], out["cell_angles"])])
        if "velocities" in variables:
            out["velocities"] = variables["velocities"][:].astype(np.float64)
        if "forces" in variables:
            out["forces"] = variables["forces"][:].astype(np.float64) / EV_IN_KCAL_PER_MOL
        for name in ("step", "stage"):
            out[name] = variables[name][:].astype(np.int64)
        for name in (*FRAME_SCALARS, *FRAME_VECTORS):
            out[name] = variables[name][:].astype(np.float64)
        out["species"] = _file_species(ds)
        if "masses" in variables:
            out["masses"] = variables["masses"][:].astype(np.float64)
        out["layer"] = variables["layer"][:].astype(np.int64)
        out["atomic_numbers"] = variables["atom_types"][:].astype(np.int64)
        out["species_names"] = tuple(ds.species_names.split())
        out["replica"] = int(ds.replica)
        out["replica_info"] = json.loads(ds.replica_info)
        out["title"] = str(ds.title)
    return out


def _file_species(dataset):
    """Species indices (N,) int64 of an open trajectory: the ``species`` variable of files
    written before it was dropped, else each atom's element (``atom_types``) looked up in
    ``species_names``."""
    variables = dataset.variables
    if "species" in variables:
        return variables["species"][:].astype(np.int64)
    names = dataset.species_names.split()
    symbols = [chemical_symbols[z] if 0 < z < len(chemical_symbols) else "X"
               for z in variables["atom_types"][:].astype(np.int64)]
    unknown = sorted(set(symbols) - set(names))
    if unknown:
        raise ValueError(f"trajectory {dataset.filepath()}: elements {unknown} are not among "
                         f"its species_names {names}")
    return np.array([names.index(symbol) for symbol in symbols], dtype=np.int64)
