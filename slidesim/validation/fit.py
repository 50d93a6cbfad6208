"""Fit the interlayer part of a classical h-BN model to a validation suite (``slidesim fit``).

The ILP of Ouyang et al. is kept as a functional form; dimensionless factors multiply chosen
columns of its B-B, N-N and B-N entries (both orders alike, so AB = BA by symmetry):
by default the repulsion range beta (z0), the registry-dependent repulsion C and the dispersion
C6. scipy.optimize.least_squares fits them, within bounds, to the suite's AB distance, barrier
and path profile at the suite's lattice constant; a weak pull towards the published values
(factors of 1) makes the fit unique, and penalties keep AA the highest stacking and the
distances within the suite's range. The intralayer Tersoff potential is then rescaled so that
the flat AB bilayer is stress-free at the suite's lattice constant (see docs/validation.md).
"""

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq, least_squares

from slidesim.models import build_model
from slidesim.models.ilp import DEFAULT_ILP_FILE
from slidesim.structures import monolayer
from slidesim.validation.parameter_files import (read_ilp_entries, scaled_ilp_entries,
                                                 write_ilp_file, write_rescaled_tersoff)
from slidesim.validation.rigid import RigidBilayer

DEFAULT_TERSOFF_FILE = os.path.join(os.path.dirname(DEFAULT_ILP_FILE), "BNC.tersoff")
DEFAULT_FREE = ("beta", "C", "C6")
#: bounds of the factors on each ILP column (physically sane: ranges within ~15 % for beta)
BOUNDS = {"beta": (0.85, 1.10), "alpha": (0.8, 1.25), "delta": (0.7, 1.4),
          "epsilon": (0.3, 3.0), "C": (0.3, 3.0), "C6": (0.5, 2.0), "d": (0.7, 1.4)}
#: least-squares scales: AB distance [A], barrier [meV], path energy [meV], penalties
DISTANCE_SCALE, BARRIER_SCALE = 0.002, 0.01
PENALTY_DISTANCE_SCALE, PENALTY_ENERGY_SCALE = 0.002, 0.01
#: margin [meV/cell] by which AA must lie above SP
AA_MARGIN_MEV = 1.0


@dataclass
class FitResult:
    """Fitted factors on the ILP columns, the resulting numbers and the file entries."""

    scales: dict
    lattice: float
    distance_ab: float
    barrier_meV: float
    aa_meV: float
    largest_increase: float
    path_rms_meV: float
    entries: list = field(repr=False, default=None)
    tersoff_factor: float = 1.0


class IlpFit:
    """Least-squares fit of ILP column factors to a loaded suite.

    suite: slidesim.validation.suite.Suite with [lattice] and at least one of [distance_AB],
    [barrier], [path]; base_ilp / base_tersoff: the starting parameter files; free: ILP
    columns to scale (keys of :data:`BOUNDS`); prior_width: width of the pull of log(factor)
    towards 0 (the published parameters).
    """

    def __init__(self, suite, base_ilp=DEFAULT_ILP_FILE, base_tersoff=DEFAULT_TERSOFF_FILE,
                 free=DEFAULT_FREE, prior_width=0.3):
        for column in free:
            if column not in BOUNDS:
                raise ValueError(f"cannot fit ILP column '{column}'; choose from "
                                 f"{', '.join(BOUNDS)}")
        if suite.get("lattice") is None:
            raise ValueError(f"{suite.directory}/suite.toml: fitting needs [lattice] value_A")
        if not any(suite.get(s) for s in ("distance_AB", "barrier", "path")):
            raise ValueError(f"{suite.directory}/suite.toml: nothing to fit; add [distance_AB], "
                             "[barrier] or [path]")
        self.suite, self.free = suite, tuple(free)
        self.base_ilp, self.base_tersoff = base_ilp, base_tersoff
        self.entries = read_ilp_entries(base_ilp)
        self.species = monolayer(suite.material).species
        self.lattice = float(suite.get("lattice")["value_A"])
        self.prior_width = float(prior_width)
        self._dir = tempfile.mkdtemp(prefix="slidesim-fit-")
        path = suite.path
        self.fractions = (np.clip(path.fractions(), 1 / 3, 2 / 3) if path is not None
                          else np.array([1 / 3, 0.5]))
        self.fractions = self.fractions[self.fractions <= 0.5 + 1e-9]  # SP -> AB mirrors it
        self.path_energy = None
        if path is not None:
            keep = np.clip(path.fractions(), 1 / 3, 2 / 3) <= 0.5 + 1e-9
            self.path_energy = (path.energy_meV - path.energy_meV[0])[keep]
            self.path_scale = path.energy_tolerance_meV

    def entries_for(self, x):
        return scaled_ilp_entries(self.entries, dict(zip(self.free, x)), self.species)

    def rigid(self, x):
        """RigidBilayer of the model with factors x, at the suite's lattice constant."""
        trial = os.path.join(self._dir, "trial.ILP")
        write_ilp_file(trial, self.entries_for(x))
        model = build_model("bn-ilp", self.species, tersoff=self.base_tersoff, ilp=trial)
        return RigidBilayer(model, self.lattice, self.suite.material)

    def profile(self, x):
        """(d (n,) [A], E - E(BA) (n,) [meV] at self.fractions, d(AA), E(AA) - E(BA))."""
        rigid = self.rigid(x)
        relaxed = [rigid.relax(s) for s in self.fractions]
        d = np.array([r[0] for r in relaxed])
        e = np.array([(r[1] - relaxed[0][1]) * 1e3 for r in relaxed])
        d_aa, e_aa = rigid.relax(0.0)
        return d, e, d_aa, (e_aa - relaxed[0][1]) * 1e3

    def residuals(self, x):
        d, e, d_aa, e_aa = self.profile(x)
        out = []
        if self.suite.get("distance_AB"):
            out.append((d[0] - self.suite.get("distance_AB")["value_A"]) / DISTANCE_SCALE)
        e_sp = e[np.argmin(np.abs(self.fractions - 0.5))]
        if self.suite.get("barrier"):
            out.append((e_sp - self.suite.get("barrier")["value_meV"]) / BARRIER_SCALE)
        if self.path_energy is not None:
            out.extend((e - self.path_energy) / self.path_scale)
        out.append(max(0.0, e_sp + AA_MARGIN_MEV - e_aa) / PENALTY_ENERGY_SCALE)
        if self.suite.get("distance_increase"):
            excess = max(d_aa, d.max()) - d[0] - self.suite.get("distance_increase")["max_A"]
            out.append(max(0.0, excess) / PENALTY_DISTANCE_SCALE)
        out.extend(np.log(x) / self.prior_width)
        return np.array(out)

    def run(self):
        """Fit; returns a :class:`FitResult` (its ``entries`` are the fitted .ILP entries)."""
        lower = np.array([BOUNDS[c][0] for c in self.free])
        upper = np.array([BOUNDS[c][1] for c in self.free])
        found = least_squares(self.residuals, np.ones(len(self.free)), bounds=(lower, upper),
                              diff_step=1e-4, x_scale=0.05)
        d, e, d_aa, e_aa = self.profile(found.x)
        e_sp = e[np.argmin(np.abs(self.fractions - 0.5))]
        rms = (float(np.sqrt(np.mean((e - self.path_energy) ** 2)))
               if self.path_energy is not None else float("nan"))
        return FitResult(dict(zip(self.free, map(float, found.x))), self.lattice, float(d[0]),
                         float(e_sp), float(e_aa), float(max(d_aa, d.max()) - d[0]), rms,
                         self.entries_for(found.x))


def tersoff_factor_for_lattice(ilp_file, target, base_tersoff=DEFAULT_TERSOFF_FILE,
                               material="BN"):
    """Length factor of the tersoff file that makes the flat AB bilayer (with ``ilp_file``)
    stress-free at lattice constant ``target`` [A] (zero of dE/da by root finding)."""
    species = monolayer(material).species
    work = tempfile.mkdtemp(prefix="slidesim-tersoff-")

    def lattice_error(factor):
        path = os.path.join(work, "trial.tersoff")
        write_rescaled_tersoff(base_tersoff, path, factor, species)
        model = build_model("bn-ilp", species, tersoff=path, ilp=ilp_file)
        rigid = RigidBilayer(model, target, material)
        return rigid.equilibrium_lattice() - target

    return brentq(lattice_error, 0.98, 1.02, xtol=1e-9)
