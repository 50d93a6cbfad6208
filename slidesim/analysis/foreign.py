"""Trajectories other programs write, for ``slidesim analyze`` (docs/lammps.md, docs/analysis.md).

:func:`read_frame_series` gives the same :class:`~slidesim.analysis.reader.FrameSeries` as
slidesim's own netCDF reader, from:

- **LAMMPS text dumps** (``dump custom`` / ``dump atom``; recognised by their ``ITEM:`` lines):
  read by :mod:`slidesim.io.lammps_dump`, streaming. Coordinates x y z, xu yu zu, xs ys zs or xsu ysu zsu; elements from an
  ``element`` column, else the atom types through ``--types 1=B,2=N`` or a topology; layers from
  a ``mol`` column with two molecule ids, else the topology's, else the largest gap in z. Times
  from ``ITEM: TIME`` (``dump_modify ID time yes``), else step x ``--dt``.
  ``ITEM: UNITS`` may be metal (ps) or real (fs); a dump without it is taken as metal.
- **extended XYZ** (``.extxyz``/``.xyz`` with a ``Lattice``; LAMMPS's ``dump extxyz``, ASE,
  slidesim's structures): read through ASE, streaming. Times from ``time_ps``, ``Time`` or
  ``time`` [ps] in each frame's comment line, else the step (``Timestep``/``step``) x ``--dt``.
- **anything MDAnalysis reads** (DCD, XTC, TRR, netCDF written by MDAnalysis or AMBER, ...),
  with the atoms described by ``--topology`` (a LAMMPS data file, any structure ASE reads, or a
  topology MDAnalysis reads) or, where the file itself names atom types, ``--types``. Times from
  formats that store them in ps (netCDF with a ``time`` variable, XTC, TRR, TNG, H5MD), else
  the frame index x ``--dt`` (also for DCD, whose time unit depends on its writer).

A file with no times is refused unless ``--dt`` is given: a frame index is not a time.
"""

import os

import numpy as np

from slidesim.analysis.reader import (FrameSeries, TrajectoryError, _lattice,
                                      split_layers_by_z)
from slidesim.analysis.lattice import LatticeError
from slidesim.analysis.sliding import SlidingVector
from slidesim.io.lammps_dump import LammpsDumpError, is_lammps_dump, iter_lammps_dump
from slidesim.io.structures import default_mass
from slidesim.io.trajectory import lengths_angles_to_cell
from slidesim.kernels.unwrap import unwrap_layer_centres

#: suffixes of trajectories handed to MDAnalysis without a --topology
TRAJECTORY_SUFFIXES = ("dcd", "xtc", "trr", "tng", "h5md", "trj", "mdcrd", "trz", "gsd", "pdb",
                       "gro", "xyz")
#: MDAnalysis formats whose files store the time of each frame
TIMED_FORMATS = ("NCDF", "XTC", "TRR", "TNG", "H5MD")  # not DCD: its time unit depends on
# the program that wrote it (CHARMM's AKMA, LAMMPS's own), so it is not trusted


def parse_type_map(text):
    """``"1=B,2=N"`` (or a dict) -> {"1": "B", "2": "N"}; TrajectoryError if malformed."""
    from ase.data import atomic_numbers

    if text is None or isinstance(text, dict):
        return None if text is None else {str(k): v for k, v in text.items()}
    mapping = {}
    for pair in str(text).replace(" ", ",").split(","):
        if not pair:
            continue
        key, _, symbol = pair.partition("=")
        if not key or symbol not in atomic_numbers:
            raise TrajectoryError(f"--types '{text}': '{pair}' is not TYPE=ELEMENT; write e.g. "
                                  "--types 1=B,2=N")
        mapping[key] = symbol
    if not mapping:
        raise TrajectoryError("--types is empty; write e.g. --types 1=B,2=N")
    return mapping


def is_netcdf(path):
    """True if ``path`` starts like a netCDF (classic or HDF5-based) file."""
    with open(path, "rb") as f:
        magic = f.read(4)
    return magic[:3] == b"CDF" or magic == b"\x89HDF"


def is_extxyz(path):
    """True for .extxyz, or .xyz whose second line is an extended-XYZ comment (Lattice=...)."""
    lower = path.lower()
    if lower.endswith(".extxyz"):
        return True
    if not lower.endswith(".xyz"):
        return False
    try:
        with open(path) as f:
            f.readline()
            return "Lattice=" in f.readline()
    except (OSError, UnicodeDecodeError):
        return False


def wants(path, topology=None, types=None):
    """True if ``path`` is read here rather than by slidesim's netCDF reader: a LAMMPS dump,
    extended XYZ, a trajectory MDAnalysis reads (by its suffix, or any file with a topology),
    or a netCDF without per-atom types when a topology or type map is given."""
    path = os.fspath(path)
    if not os.path.exists(path):
        return False
    if not is_netcdf(path):
        extension = os.path.splitext(path)[1].lstrip(".").lower()
        return (is_lammps_dump(path) or is_extxyz(path) or extension in TRAJECTORY_SUFFIXES
                or topology is not None)
    if topology is None and types is None:
        return False
    import netCDF4

    with netCDF4.Dataset(path) as dataset:
        return not any(name in dataset.variables
                       for name in ("species", "atom_types", "type", "atom_type"))


# ------------------------------------------------------------------ the atoms: a topology


class Atoms:
    """What the analysis needs of the atoms: element (N,) symbols, masses (N,) [amu],
    layer (N,) int64 or None (then from z), and where the layers came from."""

    def __init__(self, elements, masses=None, layer=None, layer_source="file"):
        self.elements = np.asarray(elements, dtype=object)
        self.masses = (np.array([default_mass(e) for e in self.elements]) if masses is None
                       else np.asarray(masses, dtype=np.float64))
        self.layer = None if layer is None else np.asarray(layer, dtype=np.int64)
        self.layer_source = layer_source


def read_topology(path, types=None):
    """:class:`Atoms` from a topology file: a LAMMPS data file (types through ``types`` or its
    masses; layers from its molecule ids or z), any structure ASE reads (its ``layer`` array or
    z), else a topology MDAnalysis reads (elements, or types through ``types``, or masses)."""
    from slidesim.io.lammps_data import looks_like_lammps_data, read_lammps_data

    path = os.fspath(path)
    if not os.path.exists(path):
        raise TrajectoryError(f"--topology {path}: no such file")
    if looks_like_lammps_data(path):
        int_types = None if types is None else {int(k): v for k, v in types.items()
                                                if str(k).isdigit()}
        state = read_lammps_data(path, int_types)
        return Atoms(np.array(state.species_names)[state.species], state.masses, state.layer,
                     "topology")
    try:
        import ase.io

        from slidesim.io.structures import atoms_to_state

        structure = ase.io.read(path)
        has_layer = "layer" in structure.arrays
        structure.pbc = (True, True, structure.pbc[2])
        if not structure.cell[0].any():
            raise ValueError("no cell")
        state = atoms_to_state(structure, source=path)
        return Atoms(np.array(state.species_names)[state.species], state.masses,
                     state.layer if has_layer else None, "topology")
    except Exception:  # not a structure ASE reads: try MDAnalysis's topology parsers
        pass
    try:
        import MDAnalysis

        universe = MDAnalysis.Universe(path)
    except Exception as err:  # MDAnalysis raises many kinds for a file it cannot parse
        raise TrajectoryError(f"--topology {path}: neither slidesim, ASE nor MDAnalysis reads "
                              f"it ({type(err).__name__}: {_one_line(err)})") from None
    return _atoms_of_universe(universe, path, types)


def _atoms_of_universe(universe, path, types):
    atoms = universe.atoms
    if types is not None:
        if not hasattr(atoms, "types"):
            raise TrajectoryError(f"{path} names no atom types for --types to map; give "
                                  "--topology (e.g. the LAMMPS data file)")
        return Atoms(_map_types(atoms.types, types, path))
    if hasattr(atoms, "elements") and all(e.strip() for e in atoms.elements):
        return Atoms([e.strip().capitalize() for e in atoms.elements])
    if hasattr(atoms, "masses") and np.all(atoms.masses > 0):
        from slidesim.io.lammps_data import element_of_mass

        elements = [element_of_mass(m) for m in atoms.masses]
        if None not in elements:
            return Atoms(elements, atoms.masses)
    raise TrajectoryError(f"{path}: its atoms have no elements slidesim recognises; name the "
                          "atom types with --types 1=B,2=N")


def _map_types(atom_types, types, path):
    atom_types = [str(t) for t in atom_types]
    missing = sorted(set(atom_types) - set(types))
    if missing:
        raise TrajectoryError(f"{path}: atom type {missing[0]} is not in --types "
                              f"({','.join(f'{k}={v}' for k, v in types.items())}); add "
                              f"{missing[0]}=ELEMENT")
    return [types[t] for t in atom_types]


# ------------------------------------------------------------------ LAMMPS text dumps


def _dump(path):
    """Frames of a LAMMPS dump (:func:`slidesim.io.lammps_dump.iter_lammps_dump`), its errors
    as TrajectoryError."""
    try:
        yield from iter_lammps_dump(path)
    except LammpsDumpError as err:
        raise TrajectoryError(str(err)) from None


def _dump_atoms(path, first, topology, types):
    columns = first["columns"]
    n_atoms = len(first["positions"])
    atoms = read_topology(topology, types) if topology is not None else None
    if atoms is not None and len(atoms.elements) != n_atoms:
        raise TrajectoryError(f"{path} has {n_atoms} atoms, the topology {topology} "
                              f"{len(atoms.elements)}")
    if "element" in columns and types is None:
        elements = [e.capitalize() for e in columns["element"]]
        masses = atoms.masses if atoms is not None else None
        atoms = Atoms(elements, masses, None if atoms is None else atoms.layer,
                      "topology")
    elif types is not None:
        if "type" not in columns:
            raise TrajectoryError(f"{path} has no 'type' column for --types to map")
        masses = atoms.masses if atoms is not None else None
        atoms = Atoms(_map_types(columns["type"], types, path), masses,
                      None if atoms is None else atoms.layer, "topology")
    elif atoms is None:
        raise TrajectoryError(f"{path}: its atoms are numbered types, not elements; name them "
                              "with --types 1=B,2=N (or --topology system.data)")
    if "mol" in columns:
        molecules = columns["mol"].astype(np.int64)
        distinct = np.unique(molecules)
        if len(distinct) == 2:
            z = first["positions"][:, 2]
            lower = distinct[int(np.argmin([z[molecules == m].mean() for m in distinct]))]
            atoms.layer, atoms.layer_source = np.where(molecules == lower, 0, 1), "molecule id"
    return atoms


def _dump_frames(path, dt):
    for frame in _dump(path):
        time = frame["time"]
        if time is None:
            if dt is None:
                raise TrajectoryError(
                    f"{path} records step numbers but no times; give --dt TIMESTEP_PS (the run's "
                    "timestep; time = step x dt) or write the dump with "
                    "'dump_modify ID time yes'")
            time = frame["step"] * dt
        yield time, frame["positions"], frame["cell"]


# ------------------------------------------------------------------ extended XYZ


def _xyz_time(atoms, index, dt, path):
    info = atoms.info
    for key in ("time_ps", "Time", "time"):
        if key in info:
            return float(info[key])
    for key in ("Timestep", "timestep", "step"):
        if key in info and dt is not None:
            return float(info[key]) * dt
    if dt is None:
        raise TrajectoryError(f"{path}: frame {index} has no time (time_ps=, Time= or time= in "
                              "its comment line); give --dt, the time between frames [ps] (or "
                              "the timestep when the frames carry Timestep=)")
    return index * dt


def _xyz_frames(path, dt):
    import ase.io

    for index, atoms in enumerate(ase.io.iread(path, index=":", format="extxyz")):
        if not atoms.cell[0].any() or not atoms.cell[1].any():
            raise TrajectoryError(f"{path}: frame {index} has no cell (Lattice=); slidesim needs "
                                  "the periodic cell")
        yield (_xyz_time(atoms, index, dt, path), atoms.get_positions(),
               np.array(atoms.cell[:], dtype=np.float64))


def _xyz_atoms(path, topology, types):
    import ase.io

    if topology is not None:
        return read_topology(topology, types)
    try:
        first = ase.io.read(path, index=0, format="extxyz")
    except Exception as err:  # ASE raises many kinds for a malformed file
        raise TrajectoryError(f"{path}: not readable as extended XYZ ({type(err).__name__}: "
                              f"{_one_line(err)})") from None
    masses = first.arrays.get("masses")
    layer = first.arrays.get("layer")
    return Atoms(first.get_chemical_symbols(), masses, layer, "file")


# ------------------------------------------------------------------ MDAnalysis


def _mdanalysis_source(path, topology, types, dt):
    """(Atoms, frame iterator) of a trajectory MDAnalysis reads."""
    try:
        import MDAnalysis
    except ImportError:
        raise TrajectoryError(f"{path}: reading it needs MDAnalysis (pip install "
                              "MDAnalysis)") from None
    atoms = None
    try:
        if topology is not None:
            atoms = read_topology(topology, types)
            universe = MDAnalysis.Universe.empty(len(atoms.elements), trajectory=False)
            universe.load_new(path)
        else:
            universe = MDAnalysis.Universe(path)
    except TrajectoryError:
        raise
    except Exception as err:  # MDAnalysis raises many kinds for a file it cannot read
        need = "" if topology is not None else \
            " (a coordinate-only file needs --topology, e.g. the LAMMPS data file)"
        raise TrajectoryError(f"{path}: MDAnalysis cannot read it ({type(err).__name__}: "
                              f"{_one_line(err)}){need}") from None
    if atoms is None:
        atoms = _atoms_of_universe(universe, path, types)
    trajectory = universe.trajectory
    fmt = str(getattr(trajectory, "format", "")).upper()
    timed = fmt in TIMED_FORMATS if isinstance(getattr(trajectory, "format", ""), str) else \
        any(f in TIMED_FORMATS for f in trajectory.format)
    if timed and is_netcdf(path):
        import netCDF4

        with netCDF4.Dataset(path) as dataset:
            timed = "time" in dataset.variables
    if not timed and dt is None:
        raise TrajectoryError(f"{path} stores no times ({fmt or 'its format'}); give --dt, the "
                              "time between frames [ps]")

    def frames():
        for index, ts in enumerate(trajectory):
            if ts.dimensions is None:
                raise TrajectoryError(f"{path}: frame {index} has no periodic cell")
            cell = lengths_angles_to_cell(ts.dimensions[:3], ts.dimensions[3:])
            time = float(ts.time) if timed else index * dt
            yield time, ts.positions.astype(np.float64), cell
    return atoms, frames()


# ------------------------------------------------------------------ the series


def _one_line(err):
    """An exception's message on one line (other libraries' messages may span several)."""
    return " ".join(str(err).split())


class _NoAttributes:
    """Stands for a netCDF dataset without attributes in :func:`reader._lattice`."""

    @staticmethod
    def ncattrs():
        return []


def source_of(path, topology=None, types=None, dt=None):
    """(Atoms, frame iterator of (time [ps], positions (N, 3) [A], cell (3, 3) [A])) of a
    foreign trajectory, by its kind (see the module docstring)."""
    if is_lammps_dump(path):
        frames = _dump_frames(path, dt)
        raw = _dump(path)
        try:
            first = next(raw)
        except StopIteration:
            raise TrajectoryError(f"{path} holds no frame") from None
        raw.close()
        return _dump_atoms(path, first, topology, types), frames
    if is_extxyz(path):
        return _xyz_atoms(path, topology, types), _xyz_frames(path, dt)
    return _mdanalysis_source(path, topology, types, dt)


def read_frame_series(path, lattice=None, supercell=None, block_frames=256,
                      sliding_source="coordinates", topology=None, types=None, dt=None):
    """:class:`FrameSeries` of a foreign trajectory (arguments as
    :func:`slidesim.analysis.reader.read_frame_series`, plus ``topology`` (path), ``types``
    ({type: element} or ``"1=B,2=N"``) and ``dt`` [ps])."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TrajectoryError(f"{path}: no such file")
    if sliding_source != "coordinates":
        raise TrajectoryError(f"{path}: only slidesim's own trajectories store the sliding "
                              "vector; use --sliding-source coordinates")
    if dt is not None and not dt > 0:
        raise TrajectoryError(f"--dt must be a positive time [ps], got {dt}")
    types = parse_type_map(types)
    atoms, frames = source_of(path, topology, types, dt)
    try:
        time0, first, cell0 = next(frames)
    except StopIteration:
        raise TrajectoryError(f"{path} holds no frame") from None
    n_atoms = len(first)
    if len(atoms.elements) != n_atoms:
        raise TrajectoryError(f"{path} has {n_atoms} atoms per frame, its atom description "
                              f"{len(atoms.elements)}")
    names = tuple(dict.fromkeys(atoms.elements))
    species = np.array([names.index(e) for e in atoms.elements], dtype=np.int64)
    if atoms.layer is None:
        layer, layer_source = split_layers_by_z(first[:, 2], path), "z gap"
    else:
        layer, layer_source = atoms.layer, atoms.layer_source
    try:
        prim = _lattice(_NoAttributes(), cell0, first, species, layer, lattice, supercell)
    except LatticeError as err:
        raise TrajectoryError(f"{path}: {err}") from None
    if hasattr(prim, "named_for"):  # the TMDs' XM/MX for BA/AB
        prim = prim.named_for(list(names))
    vector = SlidingVector(first, cell0, species, layer, atoms.masses)
    times, centres = [time0], []
    previous, unwrapped = first.copy(), first.copy()
    block, cells = [first], [cell0]

    def flush():
        coordinates = np.ascontiguousarray(np.array(block, dtype=np.float64))
        in_plane = np.ascontiguousarray(np.array(cells)[:, :2, :2])
        out = np.empty((len(block), 2, 3))
        unwrap_layer_centres(coordinates, in_plane, np.linalg.inv(in_plane), vector.weights,
                             layer, previous, unwrapped, out)
        centres.append(out)
        block.clear()
        cells.clear()

    for time, positions, cell in frames:
        if len(positions) != n_atoms:
            raise TrajectoryError(f"{path}: frame {len(times)} has {len(positions)} atoms, the "
                                  f"first {n_atoms}")
        times.append(time)
        block.append(positions)
        cells.append(cell)
        if len(block) >= max(1, int(block_frames)):
            flush()
    if block:
        flush()
    centres = np.concatenate(centres)
    difference = centres[:, 1] - centres[:, 0]
    return FrameSeries(path=path, time=np.array(times, dtype=np.float64),
                       sliding=difference[:, :2] + vector.offset[:2],
                       interlayer=difference[:, 2], lattice=prim, n_atoms=n_atoms,
                       program=_program(path), layer_source=layer_source,
                       sliding_source="coordinates")


def _program(path):
    if is_lammps_dump(path):
        return "LAMMPS dump"
    if is_extxyz(path):
        return "extended XYZ"
    return "MDAnalysis"
