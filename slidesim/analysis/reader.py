"""Sliding vectors from AMBER-convention netCDF trajectories, streamed in blocks of frames.

Per frame, the sliding vector is the difference of the two layers' mass centres (top minus
bottom, in the plane), each atom unwrapped across the periodic boundaries from frame to frame,
plus a constant that makes it relative to AA stacking. That constant comes from the registry of
the first frame (each top atom paired with the nearest bottom atom of its species), so t is the
top layer's displacement from AA modulo a lattice vector, and continuous in time after that.
This is the definition the run uses (:class:`slidesim.analysis.sliding.SlidingVector`: same weights,
same offset, and the run's masses, :func:`slidesim.io.structures.default_mass` of each element),
so for a slidesim trajectory ``--sliding-source coordinates`` and ``stored`` agree to the
float32 round-off of the stored coordinates.

Files: slidesim's own (``layer``, ``species``, ``stage``, ``temperature_target``,
``electric_field`` ...), and any other AMBER netCDF trajectory with ``coordinates``, a cell
(``cell_lengths`` + ``cell_angles``, or ``cell_vectors``) and per-atom types (``atom_types``,
``species`` or ``type``); its layers are then found from z (the largest gap in the first frame).
Only one block of frames (``block_frames`` x atoms x 3) is ever in memory.
"""

import os
from dataclasses import dataclass

import netCDF4
import numpy as np
from ase.data import atomic_masses, chemical_symbols

from slidesim.analysis.lattice import HexLattice, LatticeError, infer_lattice, lattice_from_cell
from slidesim.io.structures import default_mass
from slidesim.io.trajectory import lengths_angles_to_cell
from slidesim.kernels.unwrap import unwrap_layer_centres
from slidesim.analysis.sliding import SlidingVector, layer_weights

#: netCDF fill values of unwritten records are ~9.97e36; anything beyond this is not a position
_UNWRITTEN = 1e30


class TrajectoryError(ValueError):
    """A trajectory that cannot be analysed; the message says why and what to do."""


@dataclass
class FrameSeries:
    """What the analysis needs of every frame of one trajectory (F frames).

    Attributes:
        path: the file.
        time: (F,) float64 [ps].
        sliding: (F, 2) float64 [A], sliding vector t of the top layer relative to AA.
        interlayer: (F,) float64 [A], distance of the layers' mass centres along z (NaN when t
            was read from the file's ``sliding_vector``).
        lattice: :class:`~slidesim.analysis.lattice.HexLattice`, the primitive lattice.
        stage: (F,) int64 stage index, or None if the file has none.
        temperature_target, temperature: (F,) float64 [K], or None.
        field: (F, 3) float64 [V/A] electric field, or None if the file records none.
        n_atoms: atoms per frame; program: the file's ``program`` attribute ('' if none);
        layer_source: 'file' or 'z gap'; sliding_source: 'coordinates' or 'stored'.
    """

    path: str
    time: np.ndarray
    sliding: np.ndarray
    interlayer: np.ndarray
    lattice: HexLattice
    stage: np.ndarray = None
    temperature_target: np.ndarray = None
    temperature: np.ndarray = None
    field: np.ndarray = None
    n_atoms: int = 0
    program: str = ""
    layer_source: str = "file"
    sliding_source: str = "coordinates"

    @property
    def n_frames(self):
        return len(self.time)

    @property
    def fractional(self):
        """(F, 2) fractional coordinates (f1, f2) of t in the primitive lattice (continuous)."""
        return self.lattice.fractional(self.sliding)


def open_dataset(path):
    """Open ``path`` as netCDF, or raise :class:`TrajectoryError` saying what it is not."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TrajectoryError(f"{path}: no such file")
    try:
        dataset = netCDF4.Dataset(path, "r")
    except OSError as err:
        raise TrajectoryError(
            f"{path} is not a netCDF file ({err}); slidesim analyze reads AMBER netCDF "
            "trajectories such as the traj.nc that 'slidesim run' writes, LAMMPS text dumps, "
            "extended XYZ, and with --topology what MDAnalysis reads") from None
    dataset.set_auto_mask(False)
    return dataset


def _require(dataset, path, names, why):
    missing = [name for name in names if name not in dataset.variables]
    if missing:
        raise TrajectoryError(f"{path} lacks the variable(s) {', '.join(missing)} ({why}); it is "
                              "not an AMBER netCDF trajectory slidesim can analyse")


def _cells(dataset, path, n_frames):
    variables = dataset.variables
    if "cell_vectors" in variables:
        return variables["cell_vectors"][:n_frames].astype(np.float64)
    _require(dataset, path, ("cell_lengths", "cell_angles"), "the periodic cell is needed")
    lengths = variables["cell_lengths"][:n_frames].astype(np.float64)
    angles = variables["cell_angles"][:n_frames].astype(np.float64)
    return np.array([lengths_angles_to_cell(l, a) for l, a in zip(lengths, angles)])


def _frame_count(dataset):
    """Frames with coordinates written (a killed run may leave a last record unfilled)."""
    coordinates = dataset.variables["coordinates"]
    n_frames = coordinates.shape[0]
    while n_frames > 0 and not np.all(np.abs(coordinates[n_frames - 1, :1]) < _UNWRITTEN):
        n_frames -= 1
    return n_frames


def _species(dataset, path):
    variables = dataset.variables
    for name in ("species", "atom_types", "type", "atom_type"):
        if name in variables and variables[name].dimensions == ("atom",):
            return variables[name][:].astype(np.int64)
        if name in variables and variables[name].dimensions == ("frame", "atom"):
            return variables[name][0].astype(np.int64)  # ASE writes types per frame
    raise TrajectoryError(
        f"{path} has no per-atom types (atom_types, species or type): the registry of the two "
        "layers, and so t relative to AA, cannot be found; give --topology (e.g. the LAMMPS "
        "data file or a structure of the system) or --types")


def _elements(dataset):
    """Element symbols of the atoms from the atomic numbers in ``atom_types`` (empty when the
    file has none)."""
    if "atom_types" not in dataset.variables:
        return []
    numbers = np.asarray(dataset.variables["atom_types"][:]).astype(np.int64).ravel()
    return [chemical_symbols[z] for z in np.unique(numbers) if 0 < z < len(chemical_symbols)]


def _masses(dataset, n_atoms):
    """Masses (N,) [amu] from the atomic numbers in ``atom_types``: slidesim's mass table (the
    run's masses) where it has the element, ASE's otherwise; all 1 without atomic numbers."""
    variables = dataset.variables
    if "atom_types" in variables:
        numbers = variables["atom_types"][:].astype(np.int64)
        numbers = numbers[0] if numbers.ndim == 2 else numbers
        if np.all((numbers > 0) & (numbers < len(atomic_masses))):
            return np.array([default_mass(chemical_symbols[z]) for z in numbers],
                            dtype=np.float64)
    return np.ones(n_atoms)


def split_layers_by_z(z, path=""):
    """Layer ids (N,) int64 (0 bottom, 1 top) from heights z (N,) [A]: split at the largest gap.

    Raises :class:`TrajectoryError` if the split does not look like a bilayer (unequal halves,
    or a gap no wider than the layers are thick).
    """
    order = np.argsort(z)
    gaps = np.diff(z[order])
    if len(gaps) == 0:
        raise TrajectoryError(f"{path}: a bilayer needs at least two atoms")
    cut = int(np.argmax(gaps))
    layer = np.zeros(len(z), dtype=np.int64)
    layer[order[cut + 1:]] = 1
    n_bottom, n_top = cut + 1, len(z) - cut - 1
    thickness = max(np.ptp(z[layer == 0]), np.ptp(z[layer == 1]))
    if n_bottom != n_top or gaps[cut] < 1.5 or gaps[cut] <= thickness:
        raise TrajectoryError(
            f"{path}: no recognisable bilayer: the largest gap in z ({gaps[cut]:.2f} A) splits "
            f"the atoms {n_bottom} below / {n_top} above, with layers up to {thickness:.2f} A "
            "thick; give the file a per-atom 'layer' variable (0 bottom, 1 top)")
    return layer


def _layers(dataset, path, first_frame):
    variables = dataset.variables
    if "layer" in variables:
        layer = variables["layer"][:].astype(np.int64)
        if not (np.any(layer == 0) and np.any(layer == 1)) or np.any((layer < 0) | (layer > 1)):
            raise TrajectoryError(f"{path}: its 'layer' variable must hold 0 (bottom) and 1 "
                                  "(top) for every atom; this is not a bilayer")
        return layer, "file"
    return split_layers_by_z(first_frame[:, 2], path), "z gap"


def _lattice(dataset, cell, positions, species, layer, lattice, supercell):
    """The primitive lattice: from --lattice, --supercell, the file's ``primitive_cell``
    attribute (a_x a_y b_x b_y [A]), or inferred from the structure, in that order."""
    lengths = np.linalg.norm(cell[:2, :2], axis=1)
    if lattice is not None:
        constant, source = float(lattice), "given lattice constant"
    elif supercell is None and "primitive_cell" in dataset.ncattrs():
        vectors = np.asarray(dataset.getncattr("primitive_cell"), dtype=np.float64)
        constant, source = float(np.linalg.norm(vectors.reshape(2, -1)[0, :2])), "file attribute"
    elif supercell is not None:
        found = lattice_from_cell(cell, supercell)
        return HexLattice(found.vectors, found.supercell, "given supercell")
    else:
        return infer_lattice(positions, cell, species, np.flatnonzero(layer == 0))
    multiples = tuple(max(1, int(round(length / constant))) for length in lengths)
    if any(abs(length / n - constant) > 1e-3 * constant for length, n in zip(lengths, multiples)):
        raise LatticeError(f"the cell ({lengths[0]:.4f} x {lengths[1]:.4f} A) is not a whole "
                           f"number of lattice constants {constant:.4f} A ({source})")
    found = lattice_from_cell(cell, multiples)
    return HexLattice(found.vectors, found.supercell, source)


def read_frame_series(path, lattice=None, supercell=None, block_frames=256,
                      sliding_source="coordinates", topology=None, types=None, dt=None):
    """Read the per-frame data of one trajectory, streaming coordinates in blocks.

    Args:
        path: AMBER netCDF trajectory.
        lattice: primitive lattice constant a [A], or None to take it from the file.
        supercell: (n1, n2) the cell is made of, or None to infer it.
        block_frames: frames read at a time (memory: block_frames x atoms x 3 x 8 bytes).
        sliding_source: 'coordinates' (mass centres of the unwrapped layers) or 'stored' (the
            ``sliding_vector`` slidesim records per frame; no coordinates are read).
        topology, types, dt: for files that lack atom types or times (a topology file, a
            type map ``"1=B,2=N"``, the time [ps] between frames or per step); files that are
            not netCDF, or netCDF without atom types when these are given, are read by
            :mod:`slidesim.analysis.foreign` (LAMMPS dumps, extended XYZ, MDAnalysis).
    Returns a :class:`FrameSeries`.
    """
    path = os.fspath(path)
    from slidesim.analysis import foreign

    if foreign.wants(path, topology, types):
        return foreign.read_frame_series(path, lattice, supercell, block_frames, sliding_source,
                                         topology, types, dt)
    if sliding_source not in ("coordinates", "stored"):
        raise ValueError("sliding_source must be 'coordinates' or 'stored'")
    with open_dataset(path) as dataset:
        _require(dataset, path, ("coordinates",), "atom positions are needed")
        variables = dataset.variables
        coordinates = variables["coordinates"]
        if coordinates.ndim != 3 or coordinates.shape[2] != 3:
            raise TrajectoryError(f"{path}: 'coordinates' has shape {coordinates.shape}, not "
                                  "(frame, atom, 3)")
        n_frames = _frame_count(dataset)
        if n_frames == 0:
            raise TrajectoryError(f"{path} holds no complete frame")
        n_atoms = coordinates.shape[1]
        cells = _cells(dataset, path, n_frames)
        first = coordinates[0].astype(np.float64)
        species = _species(dataset, path)
        layer, layer_source = _layers(dataset, path, first)
        try:
            prim = _lattice(dataset, cells[0], first, species, layer, lattice, supercell)
        except LatticeError as err:
            raise TrajectoryError(f"{path}: {err}") from None
        prim = prim.named_for(_elements(dataset))  # the TMDs' XM/MX for BA/AB
        series = FrameSeries(
            path=path, time=_frame_variable(dataset, "time", n_frames),
            sliding=None, interlayer=None, lattice=prim, n_atoms=n_atoms,
            program=str(getattr(dataset, "program", "")), layer_source=layer_source,
            sliding_source=sliding_source)
        if series.time is None:
            if dt is None:
                raise TrajectoryError(f"{path} has no 'time' variable; give --dt, the time "
                                      "between frames [ps], rather than take frames as times")
            series.time = np.arange(n_frames, dtype=np.float64) * dt
        if "stage" in variables:
            series.stage = variables["stage"][:n_frames].astype(np.int64)
        series.temperature_target = _frame_variable(dataset, "temperature_target", n_frames)
        series.temperature = _frame_variable(dataset, "temperature", n_frames)
        if "electric_field" in variables:
            field = variables["electric_field"][:n_frames].astype(np.float64)
            series.field = field if np.isfinite(field).any() else None
        if sliding_source == "stored":
            _require(dataset, path, ("sliding_vector",), "asked for the stored sliding vector")
            series.sliding = variables["sliding_vector"][:n_frames, :2].astype(np.float64)
            if not np.isfinite(series.sliding).all():
                raise TrajectoryError(f"{path}: its sliding_vector has missing values; analyse "
                                      "the coordinates instead")
            series.interlayer = np.full(n_frames, np.nan)
            return series
        masses = _masses(dataset, n_atoms)
        vector = SlidingVector(first, cells[0], species, layer, masses)
        centres = _stream_layer_centres(coordinates, n_frames, cells, vector.weights, layer,
                                        block_frames)
    difference = centres[:, 1] - centres[:, 0]
    # t = centre difference + the registry offset of the first frame, as during the run
    series.sliding = difference[:, :2] + vector.offset[:2]
    series.interlayer = difference[:, 2]
    return series


def _frame_variable(dataset, name, n_frames):
    if name not in dataset.variables:
        return None
    return dataset.variables[name][:n_frames].astype(np.float64)


def _stream_layer_centres(coordinates, n_frames, cells, weights, layer, block_frames):
    """(F, 2, 3) [A] mass centres of the unwrapped bottom and top layers; weights (N,) as
    :func:`slidesim.analysis.sliding.layer_weights`."""
    in_plane = np.ascontiguousarray(cells[:, :2, :2])
    inverse = np.linalg.inv(in_plane)
    previous = coordinates[0].astype(np.float64)
    unwrapped = previous.copy()
    centres = np.empty((n_frames, 2, 3))
    block_frames = max(1, int(block_frames))
    for start in range(0, n_frames, block_frames):
        stop = min(start + block_frames, n_frames)
        block = np.ascontiguousarray(coordinates[start:stop])
        unwrap_layer_centres(block, in_plane[start:stop], inverse[start:stop], weights, layer,
                             previous, unwrapped, centres[start:stop])
    return centres
