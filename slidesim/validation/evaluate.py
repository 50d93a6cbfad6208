"""Evaluate a model on a validation suite: one :class:`Check` per compared number.

Geometry: rigid flat 1 x 1 bilayers (exact for a perfect lattice), the interlayer distance
relaxed at every sliding vector, at the model's own zero-stress lattice constant unless one is
given. Polarizations and Born charges come from the model's dipole source (the registry dipole
model with the parameters of the model's catalog entry: bn-dft has its own fitted file).
"""

import json
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from slidesim.geometry import STACKINGS
from slidesim.models import build_model
from slidesim.neighbors import NeighborList
from slidesim.rigid import RigidBilayer, default_dipole  # noqa: F401 (default_dipole: API)
from slidesim.structures import monolayer

#: tolerances of the physics sanity checks every evaluation makes
SYMMETRY_TOLERANCE_MEV = 0.01     # |E(AB) - E(BA)| [meV/cell]


@dataclass
class Check:
    """One comparison. kind: "abs" (|model - reference| <= tolerance), "max" (model <=
    reference), "sanity" (a physics requirement; reference is what must hold) or "info" (the
    model's value of a quantity the suite has no reference for: reference NaN, never fails).
    source: where the reference comes from (the suite section's ``source``), or ""."""

    name: str
    model: float
    reference: float
    tolerance: float
    unit: str
    kind: str = "abs"
    passed: bool = False
    note: str = ""
    source: str = ""

    def __post_init__(self):
        self.model, self.reference = float(self.model), float(self.reference)
        self.tolerance = float(self.tolerance)
        if self.kind == "abs":
            self.passed = bool(abs(self.model - self.reference) <= self.tolerance)
        elif self.kind == "max":
            self.passed = bool(self.model <= self.reference)
        elif self.kind == "info":
            self.passed = True
        else:
            self.passed = bool(self.passed)

    def to_dict(self):
        """The fields, with NaN (an info check's reference) as None so that JSON stays strict."""
        return {key: (None if isinstance(value, float) and np.isnan(value) else value)
                for key, value in asdict(self).items()}

    @property
    def difference(self):
        return self.model - self.reference


def info(name, value, unit, note=""):
    """A :class:`Check` that reports a model value the suite has no reference for."""
    return Check(name, value, np.nan, 0.0, unit, kind="info", note=note)


@dataclass
class Evaluation:
    """Checks of one model on one suite, plus the profiles behind them (for plots).

    profile: dict of lists, "t_from_SP_A", "energy_meV", "distance_A", "P_par", "P_perp" of the
    model along BA -> AB, and "reference" with the suite's path columns.
    """

    model: str
    suite: str
    lattice: float
    checks: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)

    @property
    def passed(self):
        return all(check.passed for check in self.checks)

    def failures(self):
        return [check for check in self.checks if not check.passed]

    def to_dict(self):
        return {"model": self.model, "suite": self.suite, "lattice_A": self.lattice,
                "passed": self.passed, "checks": [c.to_dict() for c in self.checks],
                "profile": self.profile}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=1)


def evaluate(suite, model_name="bn-dft", lattice=None, dipole="default", model_options=None):
    """:class:`Evaluation` of the model called ``model_name`` on a loaded suite.

    lattice: a [A] of the sliding profile (default: the model's zero-stress lattice);
    dipole: a dipole source, "default" (:func:`default_dipole`) or None;
    model_options: keyword options of build_model (e.g. {"ilp": "my.ILP"}).
    """
    mono = monolayer(suite.material)
    species = mono.species
    # the material's names of AA, BA, SP, AB (XM and MX for TMDs) for the check labels
    name = dict(zip(("AA", "BA", "SP", "AB"), mono.stackings))
    model = build_model(model_name, species, **(model_options or {}))
    if isinstance(dipole, str) and dipole == "default":
        dipole = default_dipole(model_name, species)
    probe = RigidBilayer(model, None, suite.material)
    equilibrium = probe.equilibrium_lattice()
    a = equilibrium if lattice is None else float(lattice)
    rigid = RigidBilayer(model, a, suite.material, dipole)
    out = Evaluation(model_name, suite.name, a)
    checks = out.checks

    def reference(section, label, value, key, tolerance_key, unit, **extra):
        """A Check against the suite's [section] (its ``source`` attached), else an info row."""
        table = suite.get(section) or {}
        if key not in table:
            checks.append(info(label, value, unit, note="no reference in the suite"))
            return
        checks.append(Check(label, value, table[key], table[tolerance_key], unit,
                            source=table.get("source", ""), **extra))

    table = suite.get("lattice")
    if table:
        reference("lattice", "lattice constant a", equilibrium, "value_A", "tolerance_A", "A",
                  note=f"flat {name['AB']} bilayer, zero stress")
    relaxed = {stacking: rigid.relax(STACKINGS[stacking])
               for stacking in ("AA", "BA", "SP", "AB")}
    d = {stacking: v[0] for stacking, v in relaxed.items()}
    e = {stacking: (v[1] - relaxed["AB"][1]) * 1e3 for stacking, v in relaxed.items()}
    checks.append(Check(f"E({name['BA']}) - E({name['AB']})", e["BA"], 0.0,
                        SYMMETRY_TOLERANCE_MEV, "meV/cell",
                        note=f"symmetry: {name['AB']} = {name['BA']}"))
    checks.append(Check("AA is the highest stacking", e["AA"], e["SP"], 0.0, "meV/cell",
                        kind="sanity", passed=e["AA"] > e["SP"] > 0.0,
                        note="model E(AA) vs E(SP) (must be higher)"))
    reference("distance_AB", f"interlayer distance {name['AB']}", d["AB"], "value_A",
              "tolerance_A", "A")
    reference("barrier", f"barrier E(SP) - E({name['AB']})", e["SP"], "value_meV",
              "tolerance_meV", "meV/cell")
    n_points = suite.path.points if suite.path is not None else 13
    fractions = np.linspace(1.0 / 3.0, 2.0 / 3.0, n_points)
    path = [rigid.relax(s) for s in fractions]
    table = suite.get("distance_increase")
    if table:
        largest = max([d["AA"]] + [p[0] for p in path]) - d["AB"]
        checks.append(Check(f"largest d - d({name['AB']}) (path, AA)", largest,
                            table["max_A"], 0.0, "A", kind="max",
                            source=table.get("source", "")))
    if dipole is not None:
        _polarization_checks(rigid, d, suite.get("polarization") or {}, name, reference,
                             checks)
    out.profile = _path_profile(rigid, fractions, path)
    if suite.path is not None:
        checks.extend(_path_checks(rigid, suite.path, out.profile))
    for frames in suite.frames:
        checks.extend(_frame_checks(model, dipole, frames))
    return out


def _polarization_checks(rigid, d, table, name, reference, checks):
    """P_perp of the polar stackings and P_par at SP (against the suite or as info rows), and
    the direction of P_par at SP when the suite gives ``P_par_SP_sign``."""
    u = rigid.sliding_direction()
    p_perp_ab = rigid.polarization(2 / 3, d["AB"])[2]
    p_perp_ba = rigid.polarization(1 / 3, d["BA"])[2]
    p_par_sp = rigid.polarization(0.5, d["SP"]) @ u
    for key, label, value in (("P_perp_AB_pC_per_m", f"P_perp({name['AB']})", p_perp_ab),
                              ("P_perp_BA_pC_per_m", f"P_perp({name['BA']})", p_perp_ba),
                              ("P_par_SP_pC_per_m", "P_par(SP)", p_par_sp)):
        reference("polarization", label, value, key, "tolerance_pC_per_m", "pC/m")
    if "P_par_SP_sign" in table:
        # the slide from the stacking with P_perp > 0 towards SP: along b - a from BA (XM),
        # against it from AB (MX)
        along_slide = p_par_sp * np.sign(p_perp_ba)
        positive = name["BA"] if p_perp_ba > 0 else name["AB"]
        wanted = table["P_par_SP_sign"]
        checks.append(Check(f"P_par(SP) along the slide from {positive} (P_perp > 0)",
                            along_slide, wanted, 0.0, "pC/m", kind="sanity",
                            passed=bool(np.sign(along_slide) == wanted),
                            note="sign must be " + ("+ (along)" if wanted > 0 else
                                                    "- (against)"),
                            source=table.get("source", "")))


def _path_profile(rigid, fractions, path):
    length = np.sqrt(3.0) * rigid.lattice  # |b - a|
    u = rigid.sliding_direction()
    e_ba = path[0][1]
    profile = {"t_from_SP_A": ((fractions - 0.5) * length).tolist(),
               "distance_A": [p[0] for p in path],
               "energy_meV": [(p[1] - e_ba) * 1e3 for p in path]}
    if rigid.dipole is not None:
        pol = np.array([rigid.polarization(s, p[0]) for s, p in zip(fractions, path)])
        profile["P_par"] = (pol @ u).tolist()
        profile["P_perp"] = pol[:, 2].tolist()
    return profile


def _path_checks(rigid, reference, profile):
    """Largest deviations from the suite's path, compared at the same sliding fractions."""
    fractions = np.clip(reference.fractions(), 1.0 / 3.0, 2.0 / 3.0)
    relaxed = [rigid.relax(s) for s in fractions]
    energy = np.array([(r[1] - relaxed[0][1]) * 1e3 for r in relaxed])
    ref_energy = reference.energy_meV - reference.energy_meV[0]
    name = os.path.basename(reference.file)
    checks = [Check(f"path energy, max abs dev. ({name})", np.abs(energy - ref_energy).max(),
                    0.0, reference.energy_tolerance_meV, "meV/cell")]
    profile["reference"] = {"lattice_A": reference.lattice,
                            "t_from_SP_A": reference.t_from_sp.tolist(),
                            "energy_meV": ref_energy.tolist()}
    if rigid.dipole is None or reference.polarization_tolerance is None:
        return checks
    u = rigid.sliding_direction()
    pol = np.array([rigid.polarization(s, r[0]) for s, r in zip(fractions, relaxed)])
    for label, column, model in (("P_par", reference.p_par, pol @ u),
                                 ("P_perp", reference.p_perp, pol[:, 2])):
        if column is None:
            continue
        ok = ~np.isnan(column)
        profile["reference"][label] = np.where(ok, column, np.nan).tolist()
        checks.append(Check(f"path {label}, max abs dev. ({name})",
                            np.abs(model[ok] - column[ok]).max(), 0.0,
                            reference.polarization_tolerance, "pC/m"))
    return checks


def _frame_layers(atoms):
    if "layer" in atoms.arrays:
        return np.asarray(atoms.arrays["layer"], np.int64)
    z = atoms.positions[:, 2]
    return (z > 0.5 * (z.min() + z.max())).astype(np.int64)


def _frame_checks(model, dipole, frames):
    """RMS deviations of energies (relative to the file's mean, per atom), forces, BECs."""
    name = os.path.basename(frames.file)
    index = {symbol: k for k, symbol in enumerate(model.species_names)}
    e_model, e_ref, df, dz = [], [], [], []
    for atoms in frames.frames:
        species = np.array([index[s] for s in atoms.get_chemical_symbols()], np.int64)
        layer = _frame_layers(atoms)
        x = np.ascontiguousarray(atoms.positions, dtype=np.float64)
        cell = np.array(atoms.cell, dtype=np.float64)
        result = model.compute(x, cell, species, layer, model.neighbor_lists(skin=0.0))
        e_model.append(result.energy / len(atoms))
        e_ref.append(atoms.get_potential_energy() / len(atoms))
        if frames.force_tolerance is not None and "forces" in atoms.calc.results:
            df.append(result.forces - atoms.get_forces())
        if frames.born_charge_tolerance is not None and dipole is not None:
            lists = {}
            for key, request in dipole.requests.items():
                lists[key] = NeighborList(request.cutoff, skin=0.0, mode=request.mode)
                lists[key].build(x, cell, layer)
            born = dipole.compute(x, cell, species, layer, lists).born_charges
            dz.append(born.reshape(len(atoms), 9) - atoms.arrays["born_charges"])
    e_model, e_ref = np.array(e_model), np.array(e_ref)
    de = (e_model - e_model.mean()) - (e_ref - e_ref.mean())
    checks = [Check(f"frames energy RMS ({name})", 1e3 * np.sqrt(np.mean(de**2)), 0.0,
                    frames.energy_tolerance_meV_per_atom, "meV/atom",
                    note="relative to the mean of the file")]
    if df:
        rms = np.sqrt(np.mean(np.concatenate(df) ** 2))
        checks.append(Check(f"frames force RMS ({name})", rms, 0.0, frames.force_tolerance,
                            "eV/A"))
    if dz:
        rms = np.sqrt(np.mean(np.concatenate(dz) ** 2))
        checks.append(Check(f"frames Born charge RMS ({name})", rms, 0.0,
                            frames.born_charge_tolerance, "e"))
    return checks
