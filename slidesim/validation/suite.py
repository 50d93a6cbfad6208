"""DFT validation suites: a directory with ``suite.toml`` and the data files it names.

Format (every section optional except [suite]; docs/validation.md has the full reference)::

    [suite]
    name = "dft_seed_paper"          # shown in reports
    material = "BN"                  # key of slidesim.structures.MONOLAYERS
    description = "..."              # free text; provenance goes in the directory's README.md

    [lattice]                        # zero-stress lattice constant of the flat AB bilayer
    value_A = 2.511
    tolerance_A = 0.005

    [distance_AB]                    # relaxed interlayer distance of AB (= BA)
    value_A = 3.074
    tolerance_A = 0.02

    [distance_increase]              # d(stacking) - d(AB) over the path and AA
    max_A = 0.35

    [barrier]                        # E(SP) - E(AB) per primitive cell, distance relaxed
    value_meV = 7.44
    tolerance_meV = 0.1

    [polarization]                   # of the relaxed rigid stackings [pC/m]
    P_perp_AB_pC_per_m = -2.078      # any of P_perp_AB, P_perp_BA, P_par_SP
    P_perp_BA_pC_per_m = 2.078
    P_par_SP_pC_per_m = 2.091
    tolerance_pC_per_m = 0.05        # needed with any of the values above
    P_par_SP_sign = 1                # optional: +1 when P_par at SP points along the slide
                                     # from the stacking with P_perp > 0 towards SP, -1 against

Every section but [suite] may carry ``source = "..."`` (where its numbers come from); reports
print it under the table. TMD suites may name the stackings as slidesim does for TMDs, XM for BA
(t = (b - a)/3) and MX for AB: [distance_XM] or [distance_MX] for [distance_AB],
P_perp_XM_pC_per_m and P_perp_MX_pC_per_m for P_perp_BA_pC_per_m and P_perp_AB_pC_per_m.

    [path]                           # profile BA -> SP -> AB, a CSV file
    file = "path_eq3.csv"
    lattice_A = 2.511                # lattice the file's t is measured at (t -> fraction)
    energy_tolerance_meV = 0.3       # largest |model - DFT| of E - E(BA)
    polarization_tolerance_pC_per_m = 0.1

    [[frames]]                       # extended XYZ frames (ASE), any number of entries
    file = "frames.extxyz"
    energy_tolerance_meV_per_atom = 1.0
    force_tolerance_eV_per_A = 0.05
    born_charge_tolerance_e = 0.05   # optional; frames need a per-atom born_charges array

Path CSV: '#' lines are comments; a header row with ``t_from_SP_A`` and
``energy_meV_per_cell`` and optionally ``P_par_pC_per_m``, ``P_perp_pC_per_m``; t is the
sliding coordinate along b - a measured from SP [A] (BA at -|b - a| / 6), energies relative to
any constant (the model is compared relative to the path's first point).

Frames: any file ASE reads (extended XYZ written from VASP / Quantum ESPRESSO outputs by
``ase convert``); each frame needs its energy [eV] (``atoms.get_potential_energy()``) and may
carry forces [eV/A], a per-atom ``layer`` array (0 bottom, 1 top; else split at the mid-height)
and a per-atom ``born_charges`` array of 9 numbers Z[alpha, beta] = dP_alpha / dr_beta [e].
"""

import csv
import difflib
import os
import tomllib
from dataclasses import dataclass, field

import numpy as np

SUITE_FILE = "suite.toml"

#: section -> (required keys, optional keys); values are numbers unless listed in _STRINGS;
#: every section but [suite] may also carry ``source`` (a string)
SECTIONS = {
    "suite": (("name",), ("material", "description")),
    "lattice": (("value_A", "tolerance_A"), ()),
    "distance_AB": (("value_A", "tolerance_A"), ()),
    "distance_increase": (("max_A",), ()),
    "barrier": (("value_meV", "tolerance_meV"), ()),
    "polarization": ((), ("tolerance_pC_per_m", "P_perp_AB_pC_per_m", "P_perp_BA_pC_per_m",
                          "P_par_SP_pC_per_m", "P_par_SP_sign")),
    "path": (("file", "lattice_A", "energy_tolerance_meV"),
             ("polarization_tolerance_pC_per_m", "points")),
    "frames": (("file", "energy_tolerance_meV_per_atom"),
               ("force_tolerance_eV_per_A", "born_charge_tolerance_e")),
}
_STRINGS = {"name", "material", "description", "file", "source"}
#: the TMD names of the polar stackings (XM = BA, MX = AB) accepted in a suite
SECTION_ALIASES = {"distance_XM": "distance_AB", "distance_MX": "distance_AB"}
KEY_ALIASES = {"P_perp_XM_pC_per_m": "P_perp_BA_pC_per_m",
               "P_perp_MX_pC_per_m": "P_perp_AB_pC_per_m"}
POLARIZATION_VALUES = ("P_perp_AB_pC_per_m", "P_perp_BA_pC_per_m", "P_par_SP_pC_per_m")
_EXAMPLE = {"value_A": "3.074", "tolerance_A": "0.02", "max_A": "0.35", "value_meV": "7.44",
            "tolerance_meV": "0.1", "tolerance_pC_per_m": "0.05", "file": '"path_eq3.csv"',
            "lattice_A": "2.511", "energy_tolerance_meV": "0.3", "name": '"my_suite"',
            "energy_tolerance_meV_per_atom": "1.0"}
PATH_COLUMNS = ("t_from_SP_A", "energy_meV_per_cell")
PATH_OPTIONAL_COLUMNS = ("P_par_pC_per_m", "P_perp_pC_per_m")


class SuiteError(ValueError):
    """A suite file is missing, malformed or incomplete (the message names file, key and fix)."""


@dataclass
class PathReference:
    """A sliding profile BA -> SP -> AB: t from SP [A], energy [meV/cell], P [pC/m] or None."""

    file: str
    lattice: float
    t_from_sp: np.ndarray
    energy_meV: np.ndarray
    p_par: np.ndarray = None
    p_perp: np.ndarray = None
    energy_tolerance_meV: float = 0.0
    polarization_tolerance: float = None
    points: int = 13

    def fractions(self):
        """Sliding fractions s of (b - a) from AA of the table's points (SP = 1/2)."""
        return 0.5 + self.t_from_sp / (np.sqrt(3.0) * self.lattice)


@dataclass
class FramesReference:
    """Frames of one file (list of ase.Atoms) and their tolerances."""

    file: str
    frames: list
    energy_tolerance_meV_per_atom: float
    force_tolerance: float = None
    born_charge_tolerance: float = None


@dataclass
class Suite:
    """A parsed validation suite; ``sections`` holds the plain tables of suite.toml."""

    directory: str
    name: str
    material: str
    sections: dict
    path: PathReference = None
    frames: list = field(default_factory=list)

    def get(self, section):
        return self.sections.get(section)


def _check_table(table, section, where):
    required, optional = SECTIONS[section]
    if section != "suite":
        optional = optional + ("source",)
    for key in table:
        if key not in required + optional:
            close = difflib.get_close_matches(key, required + optional, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SuiteError(f"{where}: [{section}] unknown key '{key}'{hint}; known keys: "
                             f"{', '.join(required + optional)}")
    for key in required:
        if key not in table:
            raise SuiteError(f"{where}: [{section}] has no '{key}'; add e.g. "
                             f"`{key} = {_EXAMPLE.get(key, '...')}`")
    for key, value in table.items():
        wanted = str if key in _STRINGS else (int, float)
        if not isinstance(value, wanted) or isinstance(value, bool):
            kind = "a string" if wanted is str else "a number"
            raise SuiteError(f"{where}: [{section}] {key} = {value!r} must be {kind}")
        if key.startswith(("tolerance", "max")) or "_tolerance" in key:
            if value <= 0:
                raise SuiteError(f"{where}: [{section}] {key} = {value} must be positive")
        if key.endswith("_sign") and value not in (1, -1):
            raise SuiteError(f"{where}: [{section}] {key} = {value} must be 1 or -1")


def _with_aliases(sections, where):
    """The tables with the TMD stacking names (XM, MX) mapped to BA, AB; SuiteError when a
    section or key is given under both names."""
    out = {}
    for section, table in sections.items():
        name = SECTION_ALIASES.get(section, section)
        if name in out:
            raise SuiteError(f"{where}: [{section}] repeats [{name}] (XM = BA and MX = AB name "
                             "the same polar stackings); keep one of them")
        if isinstance(table, dict):
            renamed = {}
            for key, value in table.items():
                canonical = KEY_ALIASES.get(key, key)
                if canonical in renamed:
                    raise SuiteError(f"{where}: [{section}] {key} repeats {canonical}; keep one")
                renamed[canonical] = value
            table = renamed
        out[name] = table
    return out


def load_suite(directory):
    """Read and check the suite in ``directory``; returns a :class:`Suite`.

    Raises SuiteError naming the file, the section/key or line, and what to write instead.
    """
    where = os.path.join(directory, SUITE_FILE)
    if not os.path.isfile(where):
        raise SuiteError(f"{where}: not found; a suite is a directory holding {SUITE_FILE} "
                         "(see validation/dft_seed_paper/ and docs/validation.md)")
    try:
        with open(where, "rb") as handle:
            sections = tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise SuiteError(f"{where}: not valid TOML: {err}") from None
    sections = _with_aliases(sections, where)
    for section, table in sections.items():
        if section not in SECTIONS:
            raise SuiteError(f"{where}: unknown section [{section}]; known sections: "
                             f"{', '.join(SECTIONS)}")
        tables = table if section == "frames" else [table]
        if section == "frames" and not isinstance(table, list):
            raise SuiteError(f"{where}: frames must be an array of tables: write [[frames]]")
        for entry in tables:
            if not isinstance(entry, dict):
                raise SuiteError(f"{where}: [{section}] must be a table")
            _check_table(entry, section, where)
    if "suite" not in sections:
        raise SuiteError(f"{where}: no [suite] section; add `[suite]` with `name = \"...\"`")
    if len(sections) == 1:
        raise SuiteError(f"{where}: declares no references; add at least one of "
                         f"{', '.join(s for s in SECTIONS if s != 'suite')}")
    polarization = sections.get("polarization")
    if polarization is not None:
        values = [key for key in POLARIZATION_VALUES if key in polarization]
        if not values and "P_par_SP_sign" not in polarization:
            has = "only a tolerance" if "tolerance_pC_per_m" in polarization else "no value"
            raise SuiteError(f"{where}: [polarization] has {has}; add e.g. "
                             "`P_par_SP_pC_per_m = 2.091`")
        if values and "tolerance_pC_per_m" not in polarization:
            raise SuiteError(f"{where}: [polarization] has no 'tolerance_pC_per_m'; add e.g. "
                             "`tolerance_pC_per_m = 0.05`")
    suite = Suite(directory, sections["suite"]["name"], sections["suite"].get("material", "BN"),
                  sections)
    if "path" in sections:
        suite.path = read_path(directory, sections["path"])
    for entry in sections.get("frames", []):
        suite.frames.append(read_frames(directory, entry))
    return suite


def _data_file(directory, name, section):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise SuiteError(f"{os.path.join(directory, SUITE_FILE)}: [{section}] file = "
                         f"\"{name}\": {path} not found; put the file beside suite.toml")
    return path


def read_path(directory, table):
    """The :class:`PathReference` of a [path] table (CSV as in the module docstring)."""
    path = _data_file(directory, table["file"], "path")
    with open(path, newline="") as handle:
        lines = [(n, line) for n, line in enumerate(handle, start=1)
                 if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise SuiteError(f"{path}: no header and no data rows")
    header_line, header = lines[0][0], next(csv.reader([lines[0][1]]))
    header = [name.strip() for name in header]
    for column in PATH_COLUMNS:
        if column not in header:
            raise SuiteError(f"{path}:{header_line}: header has no column '{column}'; the "
                             f"header must name {', '.join(PATH_COLUMNS)} (and optionally "
                             f"{', '.join(PATH_OPTIONAL_COLUMNS)})")
    rows = []
    for number, line in lines[1:]:
        words = next(csv.reader([line]))
        if len(words) != len(header):
            raise SuiteError(f"{path}:{number}: {len(words)} values, header has {len(header)}")
        try:
            rows.append([float(w) if w.strip() else np.nan for w in words])
        except ValueError:
            raise SuiteError(f"{path}:{number}: not a number in '{line.strip()}'") from None
    if len(rows) < 3:
        raise SuiteError(f"{path}: {len(rows)} data rows; a profile needs at least 3 "
                         "(BA, SP, AB)")
    data = np.array(rows)
    column = {name: data[:, k] for k, name in enumerate(header)}
    for name in PATH_COLUMNS:
        if np.isnan(column[name]).any():
            raise SuiteError(f"{path}: column '{name}' has empty values")
    reference = PathReference(path, float(table["lattice_A"]), column["t_from_SP_A"],
                              column["energy_meV_per_cell"], column.get("P_par_pC_per_m"),
                              column.get("P_perp_pC_per_m"), float(table["energy_tolerance_meV"]),
                              table.get("polarization_tolerance_pC_per_m"),
                              int(table.get("points", 13)))
    fractions = reference.fractions()
    if fractions.min() < 1 / 3 - 1e-3 or fractions.max() > 2 / 3 + 1e-3:
        raise SuiteError(f"{path}: t_from_SP_A spans {reference.t_from_sp.min():.4f} .. "
                         f"{reference.t_from_sp.max():.4f} A, outside BA .. AB "
                         f"(+-{np.sqrt(3) * reference.lattice / 6:.4f} A at lattice_A = "
                         f"{reference.lattice})")
    has_p = reference.p_par is not None or reference.p_perp is not None
    if has_p and reference.polarization_tolerance is None:
        raise SuiteError(f"{os.path.join(directory, SUITE_FILE)}: [path] the file has "
                         "polarization columns but no polarization_tolerance_pC_per_m; add it")
    return reference


def read_frames(directory, table):
    """The :class:`FramesReference` of a [[frames]] table (frames read by ASE)."""
    import ase.io

    path = _data_file(directory, table["file"], "frames")
    try:
        frames = ase.io.read(path, index=":")
    except Exception as err:  # ASE raises many kinds for a bad file
        raise SuiteError(f"{path}: ASE cannot read it: {err}") from None
    if not frames:
        raise SuiteError(f"{path}: no frames")
    for k, atoms in enumerate(frames):
        if atoms.calc is None or "energy" not in atoms.calc.results:
            raise SuiteError(f"{path}: frame {k} has no energy; write energy=... in its "
                             "comment line (extended XYZ)")
        if table.get("born_charge_tolerance_e") is not None and \
                "born_charges" not in atoms.arrays:
            raise SuiteError(f"{path}: frame {k} has no per-atom born_charges (9 numbers) "
                             "but the suite sets born_charge_tolerance_e")
        if "born_charges" in atoms.arrays and atoms.arrays["born_charges"].shape[1:] != (9,):
            raise SuiteError(f"{path}: frame {k}: born_charges must have 9 numbers per atom")
    return FramesReference(path, frames, float(table["energy_tolerance_meV_per_atom"]),
                           table.get("force_tolerance_eV_per_A"),
                           table.get("born_charge_tolerance_e"))
