"""One trajectory analysed: sliding vector, psi for each G, stage table, switching, T_C."""

from dataclasses import dataclass, field

import numpy as np

from slidesim.analysis.ladder import ORDER_THRESHOLD, curie_temperature, stage_table
from slidesim.analysis.order import PAPER_G, parse_reciprocal
from slidesim.analysis.reader import read_frame_series
from slidesim.analysis.switching import detect_crossings


@dataclass
class TrajectoryAnalysis:
    """The result of :func:`analyze_trajectory`.

    Attributes:
        series: :class:`~slidesim.analysis.reader.FrameSeries` (time, t, lattice, stages...).
        reciprocals: the G vectors asked for (:class:`~slidesim.analysis.order.ReciprocalVector`).
        psi: dict G name -> (F,) complex128, psi = exp(i G . t) per frame (always includes the
            paper's ``a*-b*``, which T_C and the switching use).
        stages: list of per-stage dicts (:func:`~slidesim.analysis.ladder.stage_table`).
        crossings: list of :class:`~slidesim.analysis.switching.Crossing`.
        curie: dict (:func:`~slidesim.analysis.ladder.curie_temperature`).
    """

    series: object
    reciprocals: list
    psi: dict
    stages: list
    crossings: list
    curie: dict
    options: dict = field(default_factory=dict)

    def summary(self):
        """A JSON-serialisable dict of everything but the per-frame arrays."""
        lattice = self.series.lattice
        return {
            "trajectory": self.series.path,
            "program": self.series.program,
            "n_frames": self.series.n_frames,
            "n_atoms": self.series.n_atoms,
            "time_ps": [float(self.series.time[0]), float(self.series.time[-1])],
            "lattice": {"a_A": lattice.constant, "vectors_A": lattice.vectors.tolist(),
                        "reciprocal_per_A": lattice.reciprocal.tolist(),
                        "supercell": list(lattice.supercell), "source": lattice.source},
            "layers_from": self.series.layer_source,
            "sliding_vector_from": self.series.sliding_source,
            "order_parameters": [g.name for g in self.reciprocals],
            "options": self.options,
            "stages": [_plain(row) for row in self.stages],
            "crossings": [_plain(c.as_dict()) for c in self.crossings],
            "curie_temperature": _plain(self.curie),
        }


def _plain(value):
    """NaN -> None and numpy scalars -> Python, recursively (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def analyze_trajectory(path, order_parameters=("a*-b*",), lattice=None, supercell=None,
                       discard=0.0, capture_radius=None, threshold=ORDER_THRESHOLD,
                       block_frames=256, sliding_source="coordinates", topology=None,
                       types=None, dt=None):
    """Analyse one AMBER netCDF trajectory of a bilayer.

    Args:
        path: the trajectory.
        order_parameters: G vectors as text (``"G=a*-b*"``, ``"2a*+b*"``) or
            :class:`~slidesim.analysis.order.ReciprocalVector`.
        lattice: primitive lattice constant [A] (default: from the file).
        supercell: (n1, n2) (default: inferred).
        discard: fraction of each stage's first frames left out of its statistics.
        capture_radius: [A] basin radius for switching (default a / (4 sqrt 3)).
        threshold: T_C order threshold (default 0.5).
        block_frames: frames per streamed block.
        sliding_source: 'coordinates' or 'stored'.
        topology, types, dt: for trajectories of other programs (a topology file, a type map
            ``"1=B,2=N"``, the time [ps] between frames or per dumped step), see
            :mod:`slidesim.analysis.foreign`.
    Returns a :class:`TrajectoryAnalysis`.
    """
    reciprocals = []
    for spec in order_parameters:
        g = parse_reciprocal(spec) if isinstance(spec, str) else spec
        if g not in reciprocals:
            reciprocals.append(g)
    series = read_frame_series(path, lattice=lattice, supercell=supercell,
                               block_frames=block_frames, sliding_source=sliding_source,
                               topology=topology, types=types, dt=dt)
    fractional = series.fractional
    psi = {g.name: g.psi(fractional) for g in reciprocals}
    psi.setdefault(PAPER_G.name, PAPER_G.psi(fractional))
    crossings = detect_crossings(series.time, series.sliding, series.lattice, series.field,
                                 capture_radius)
    with_paper = reciprocals if PAPER_G in reciprocals else reciprocals + [PAPER_G]
    stages = stage_table(series, with_paper, psi, crossings, discard)
    curie = curie_temperature(stages, threshold)
    options = {"discard": discard, "capture_radius_A": capture_radius, "threshold": threshold,
               "block_frames": block_frames}
    return TrajectoryAnalysis(series, reciprocals, psi, stages, crossings, curie, options)
