"""Input decks: a plain-text, line-oriented description of one simulation.

A deck is read into a :class:`Deck` (plain data) by :func:`read_deck`; nothing runs here.
The full reference of keywords is docs/decks.md. Errors raise :class:`DeckError`, whose message
names the file, the line and the fix.
"""

import difflib
import math
import os
import re
from dataclasses import dataclass, field

from slidesim.outputs import output_problem

#: unit name -> (kind, factor to slidesim's unit of that kind)
UNITS = {
    "fs": ("time", 1e-3), "ps": ("time", 1.0), "ns": ("time", 1e3),
    "A": ("length", 1.0), "Angstrom": ("length", 1.0), "nm": ("length", 10.0),
    "K": ("temperature", 1.0),
    "eV/A^2": ("stiffness", 1.0), "eV/A": ("force", 1.0), "eV": ("energy", 1.0),
    "V/A": ("field", 1.0), "V/nm": ("field", 0.1),
    "V/A/ps": ("field_rate", 1.0), "V/nm/ps": ("field_rate", 0.1),
    "deg": ("angle", 1.0), "rad": ("angle", 180.0 / 3.141592653589793),
    "bar": ("pressure", 1.0), "kbar": ("pressure", 1e3), "GPa": ("pressure", 1e4),
}
#: the unit each kind is stored in, and whether a bare number is accepted (in that unit)
BASE_UNITS = {"time": ("ps", False), "length": ("A", True), "temperature": ("K", True),
              "stiffness": ("eV/A^2", True), "field": ("V/A", True),
              "field_rate": ("V/A/ps", True), "angle": ("deg", True), "force": ("eV/A", True),
              "energy": ("eV", True), "pressure": ("bar", False)}


class DeckError(ValueError):
    """A problem in a deck, located at a file and line (``line_no`` None: the deck as a whole),
    with the fix. The message is one line, ``FILE:LINE: what is wrong; fix: what to write``, as
    the command line prints it; ``text`` (the offending line) is kept as an attribute."""

    def __init__(self, path, line_no, text, message, fix=None):
        self.path, self.line_no, self.text, self.message, self.fix = (path, line_no, text,
                                                                      message, fix)
        msg = f"{path}:{line_no}: {message}" if line_no else f"{path}: {message}"
        if fix:
            msg += f"; fix: {fix}"
        super().__init__(msg)


#: bounds that keep a deck's mistakes from exhausting memory or running for ever; far beyond
#: any real run (a Curie ladder is ~100 stages of 10^5 steps on ~10^4 atoms)
MAX_DECK_LINES = 100_000      # lines after loops are expanded
MAX_CELLS = 1_000_000         # n1 x n2 primitive cells of a built bilayer
MAX_REPLICAS = 10_000
MAX_STEPS = 10**12            # steps of one stage
MAX_TIMESTEP = 0.1            # [ps]: 100 fs, beyond any MD timestep
MAX_SKIN = 10.0               # [A]
MAX_CHAIN = 100               # Nose-Hoover chain length, loops and r-RESPA inner steps


@dataclass
class Stage:
    """One stage of the schedule: target temperature (ramp from ``t_start`` to ``t_stop`` [K])
    held or ramped over ``n_steps`` steps. ``line`` is where it was declared."""

    name: str
    t_start: float
    t_stop: float
    n_steps: int
    line: int = 0
    field: tuple = (0.0, 0.0, 0.0)
    field_rate: tuple = (0.0, 0.0, 0.0)
    stop: str = None
    #: with ``stop switched to NAME``: only a switch that ends in this stacking (BA/AB, XM/MX)
    stop_to: str = None
    #: a minimisation stage (``stage NAME minimize fire ...``, slidesim.minimize): style,
    #: ftol [eV/A], max_steps, and with the cell free cell (iso/aniso), pressure and stol [bar];
    #: None for MD stages. A minimisation takes no MD steps (n_steps 0).
    minimize: dict = None

    @property
    def has_field(self):
        return any(self.field) or any(self.field_rate)


@dataclass
class Deck:
    """Everything a deck declares, in slidesim units (A, ps, K, eV)."""

    path: str
    text: str
    system: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    timestep: float = None
    integrator: dict = field(default_factory=lambda: {"name": "nose-hoover"})
    seed: int = 12345
    replicas: int = 1
    velocities: float = None
    skin: float = 1.0
    output: str = "out"
    trajectory_every: int = 1000
    trajectory_velocities: bool = False
    trajectory_forces: bool = False
    thermo_every: int = 100
    checkpoint_every: int = 10000
    temperature_limit: float = None
    #: guards against blow-ups (slidesim.guards.Limits): largest displacement of an atom in
    #: one step [A], largest force [eV/A], largest change of the conserved energy per atom in
    #: one step [eV]; None: the defaults
    limits: dict = field(default_factory=dict)
    born_charges: str = None
    stages: list = field(default_factory=list)
    #: keyword -> the line it is (first) declared on, for messages about it
    lines: dict = field(default_factory=dict)

    @property
    def total_steps(self):
        return sum(stage.n_steps for stage in self.stages)


# keyword -> option name -> kind. "_" is the positional argument (its allowed values, if fixed).
SCHEMA = {
    "system": {"_": ("bilayer", "file"), "material": "str", "cells": "int2", "stacking": "str",
               "lattice": "length", "distance": "length", "sliding": "length2",
               "vacuum": "length", "path": "str",
               # files: LAMMPS data types, layers, kept velocities (slidesim.io.lammps_data)
               "format": "str", "types": "typemap", "layers": "str", "velocities": "str",
               "atom_style": "str"},
    "model": {"_": None, "spring": "stiffness", "tersoff": "str", "path": "str", "device": "str",
              "dtype": "str",
              "ilp": "str", "sw": "str"},
    "timestep": {"_value": "time"},
    "integrator": {"_": ("nve", "nose-hoover", "langevin"), "tdamp": "time", "chain": "int",
                   "loops": "int", "damp": "time", "respa": "int",
                   "pressure": "pressure", "pdamp": "time", "pchain": "int"},
    "seed": {"_value": "int"},
    "replicas": {"_value": "int"},
    "velocities": {"_value": "temperature"},
    "neighbor": {"skin": "length"},
    "output": {"_value": "str"},
    "trajectory": {"every": "int", "velocities": "bool", "forces": "bool"},
    "thermo": {"every": "int"},
    "checkpoint": {"every": "int"},
    "limit": {"temperature": "temperature", "displacement": "length", "force": "force",
              "energy": "energy"},
    "stage": {"_": None, "temperature": "temperature_ramp", "duration": "time", "steps": "int",
              "field": "field3", "field_rate": "field_rate3", "field_perp": "field",
              "field_perp_rate": "field_rate", "field_par": "field", "field_par_rate": "field_rate",
              "field_angle": "angle", "stop": "stop",
              "minimize": "str", "ftol": "force", "cell": "str", "pressure": "pressure",
              "stol": "pressure"},
    "born_charges": {"_": ("registry", "model")},
    "loop": {},
    "end": {},
}


#: what a LAMMPS user's keywords are in a deck
KEYWORD_HINTS = {
    "fix": "thermostats are set by 'integrator', e.g. 'integrator nose-hoover tdamp 100 fs'",
    "thermostat": "thermostats are set by 'integrator', e.g. 'integrator langevin tdamp 100 fs'",
    "run": "a run is its list of stages, e.g. 'stage heat temperature 300 K steps 1000'",
    "units": "slidesim always works in LAMMPS metal units; write the unit after each number",
    "pair_style": "the force field is 'model NAME', e.g. 'model bn-ilp'",
    "read_data": "read a structure with 'system file path FILE'",
    "velocity": "write 'velocities 300 K'",
    "dump": "write e.g. 'trajectory every 1000'",
    "thermo_style": "write e.g. 'thermo every 100'",
}


def _keyword_hint(word):
    """The fix for an unknown keyword: a LAMMPS habit, a near-miss keyword, or an option
    (e.g. 'temperature', which belongs on a stage line)."""
    keywords = [k for k in SCHEMA if k != "end"]
    if word in KEYWORD_HINTS:
        return KEYWORD_HINTS[word]
    if _foreign(word):
        return _foreign(word)
    owners = {}
    for keyword in ["stage"] + list(SCHEMA):  # a stage's options first ('temperature')
        for option in SCHEMA[keyword]:
            if not option.startswith("_"):
                owners.setdefault(option, keyword)
    close = difflib.get_close_matches(word, keywords, n=1, cutoff=0.75)
    option = difflib.get_close_matches(word, list(owners), n=1, cutoff=0.75)
    if not close and option:
        return (f"'{option[0]}' is an option of '{owners[option[0]]}', not a keyword: write it "
                f"on the '{owners[option[0]]}' line, e.g. '{owners[option[0]]} ... {option[0]} "
                f"{_example(SCHEMA[owners[option[0]]][option[0]], option[0])}'")
    return _suggest(word, keywords)


def _foreign(word):
    """The fix for a word holding characters that are not plain ASCII (invisible ones, a
    Unicode minus copied from a PDF), or None."""
    foreign = [c for c in word if ord(c) > 127]
    if not foreign:
        return None
    return (f"it holds the character U+{ord(foreign[0]):04X}, which is not plain ASCII (text "
            "copied from a PDF or a web page can hold such characters, some invisible): type "
            "the line again, e.g. '-' for a minus")


def _suggest(word, choices):
    same = [c for c in choices if c.lower() == str(word).lower()]
    close = same or difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"choose from: {', '.join(choices)}"


class _Line:
    def __init__(self, path, number, text):
        self.path, self.number, self.text = path, number, text

    def error(self, message, fix=None):
        return DeckError(self.path, self.number, self.text, message, fix)


def _number(line, token, what, integer=False):
    try:
        value = float(token)
    except ValueError:
        glued = re.fullmatch(r"([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)([A-Za-z].*)", token)
        if _foreign(token):
            raise line.error(f"{what} needs a number, got '{token}'", _foreign(token)) from None
        if glued:
            raise line.error(f"{what} needs a number, got '{token}'",
                             f"put a space between the number and its unit: "
                             f"'{glued.group(1)} {glued.group(2)}'") from None
        raise line.error(f"{what} needs a number, got '{token}'",
                         f"write a number in place of '{token}'") from None
    if not math.isfinite(value):
        raise line.error(f"{what} needs a finite number, got '{token}'",
                         f"write an ordinary number in place of '{token}'")
    if integer:
        if value != int(value):
            raise line.error(f"{what} needs a whole number, got '{token}'")
        return int(value)
    return value


def _quantity(line, tokens, pos, kind, what):
    """Parse 'number [unit]' of a kind at tokens[pos]; returns (value in base units, next pos)."""
    if pos >= len(tokens):
        raise line.error(f"{what} needs a value", f"write e.g. '{what} {_example(kind)}'")
    value = _number(line, tokens[pos], what)
    base, bare_ok = BASE_UNITS[kind]
    if pos + 1 < len(tokens) and tokens[pos + 1] in UNITS:
        unit_kind, factor = UNITS[tokens[pos + 1]]
        if unit_kind != kind:
            raise line.error(f"{what} is {_a(kind)}, but '{tokens[pos + 1]}' is a unit of {unit_kind}",
                             f"use {_a(kind)} unit: "
                             f"{', '.join(u for u, (k, _) in UNITS.items() if k == kind)}")
        return value * factor, pos + 2
    if pos + 1 < len(tokens) and _looks_like_unit(tokens[pos + 1]):
        raise line.error(f"unknown unit '{tokens[pos + 1]}' for {what}",
                         f"{_suggest(tokens[pos + 1], [u for u, (k, _) in UNITS.items() if k == kind])}")
    if not bare_ok:
        raise line.error(f"{what} needs a unit", f"write e.g. '{what} {_example(kind)}'")
    return value, pos + 1


def _a(kind):
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _looks_like_unit(token):
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z/^0-9]*", token)) and token not in SCHEMA_WORDS


#: example values of options and keywords that take a word or a count
_EXAMPLES = {"material": "BN", "stacking": "BA", "path": "start.extxyz", "output": "bn_heat",
             "seed": "12345", "stop": "switched to AB", "minimize": "fire", "cell": "iso",
             "replicas": "4", "every": "100", "chain": "3", "loops": "1", "respa": "2",
             "steps": "1000", "tersoff": "BNC.tersoff", "ilp": "BNCH.ILP", "sw": "tmd.sw.mod",
             "device": "cpu", "dtype": "float64", "format": "lammps-data", "layers": "molecule",
             "atom_style": "atomic", "types": "1=B 2=N"}
#: example values of the limits
_LIMIT_EXAMPLES = {"temperature": "5000 K", "displacement": "1 A", "force": "200 eV/A",
                   "energy": "0.5 eV"}


def _example(kind, name=None):
    """An example value, for messages, of the option ``name`` of ``kind``."""
    if name in _EXAMPLES:
        return _EXAMPLES[name]
    return {"time": "1 fs", "length": "3.3 A", "temperature": "300 K",
            "stiffness": "5 eV/A^2", "field": "0.1 V/A", "field_rate": "-0.02 V/A/ps",
            "angle": "60 deg", "field3": "0 0 -0.5 V/A", "pressure": "0 GPa",
            "temperature_ramp": "300 K",
            "field_rate3": "0 0 -0.02 V/A/ps"}.get(kind, "1")


SCHEMA_WORDS = {name for spec in SCHEMA.values() for name in spec} | {"to", "yes", "no"}


def _parse_options(line, keyword, tokens):
    """Parse the option tokens of one line against SCHEMA[keyword] into a dict."""
    spec = SCHEMA[keyword]
    out, pos = {}, 0
    if "_value" in spec:
        kind = spec["_value"]
        if len(tokens) == 0:
            raise line.error(f"'{keyword}' needs a value",
                             f"write e.g. '{keyword} {_example(kind, keyword)}'")
        if kind == "int":
            out["_value"] = _number(line, tokens[0], keyword, integer=True); pos = 1
        elif kind == "str":
            out["_value"] = tokens[0]; pos = 1
        else:
            out["_value"], pos = _quantity(line, tokens, 0, kind, keyword)
        if pos < len(tokens):
            raise line.error(f"unexpected '{' '.join(tokens[pos:])}' after '{keyword}' value")
        return out
    if not tokens and "_" not in spec and spec:
        options = [k for k in spec if not k.startswith("_")]
        raise line.error(f"'{keyword}' needs an option: {', '.join(options)}",
                         f"write e.g. '{keyword} {options[0]} {_example(spec[options[0]])}'")
    if "_" in spec:
        if not tokens:
            allowed = spec["_"]
            raise line.error(f"'{keyword}' needs a name",
                             f"write '{keyword} {allowed[0] if allowed else 'NAME'} ...'")
        if spec["_"] is not None and tokens[0] not in spec["_"]:
            raise line.error(f"unknown {keyword} '{tokens[0]}'", _suggest(tokens[0], spec["_"]))
        out["_"] = tokens[0]
        pos = 1
    while pos < len(tokens):
        name = tokens[pos]
        if name not in spec or name.startswith("_"):
            options = [k for k in spec if not k.startswith("_")]
            raise line.error(f"unknown option '{name}' for '{keyword}'",
                             _foreign(name) or _suggest(name, options))
        if name in out:
            raise line.error(f"'{name}' is given twice on this line", "keep one of the two")
        kind = spec[name]
        pos += 1
        if pos >= len(tokens) and kind != "bool":
            raise line.error(f"option '{name}' needs a value",
                             f"write e.g. '{name} {_example(kind, name)}'")
        if kind == "str":
            out[name] = tokens[pos]; pos += 1
        elif kind == "stop":  # stop switched [to AB]
            out[name] = tokens[pos]; pos += 1
            if pos < len(tokens) and tokens[pos] == "to":
                if pos + 1 >= len(tokens):
                    raise line.error(f"'{name} {out[name]} to' needs a stacking",
                                     f"write e.g. '{name} {out[name]} to AB'")
                out["stop_to"] = tokens[pos + 1]; pos += 2
        elif kind == "int":
            out[name] = _number(line, tokens[pos], name, integer=True); pos += 1
        elif kind == "int2":
            if pos + 1 >= len(tokens):
                raise line.error(f"option '{name}' needs two whole numbers", f"write e.g. '{name} 15 15'")
            out[name] = (_number(line, tokens[pos], name, True),
                         _number(line, tokens[pos + 1], name, True)); pos += 2
        elif kind == "bool":
            if pos >= len(tokens) or tokens[pos] not in ("yes", "no"):
                raise line.error(f"option '{name}' needs yes or no", f"write '{name} yes'")
            out[name] = tokens[pos] == "yes"; pos += 1
        elif kind in ("field3", "field_rate3"):
            if pos + 2 >= len(tokens):
                raise line.error(f"option '{name}' needs three components",
                                 f"write e.g. '{name} {_example(kind)}'")
            x = _number(line, tokens[pos], name)
            y = _number(line, tokens[pos + 1], name)
            z, pos = _quantity(line, tokens, pos + 2, kind[:-1], name)
            out[name] = (x, y, z)
        elif kind == "typemap":
            out[name], pos = _type_map(line, tokens, pos, name)
        elif kind == "length2":
            x = _number(line, tokens[pos], name)
            y, pos = _quantity(line, tokens, pos + 1, "length", name)
            out[name] = (x, y)
        elif kind == "temperature_ramp":
            start, pos = _quantity(line, tokens, pos, "temperature", name)
            stop = start
            if pos < len(tokens) and tokens[pos] == "to":
                stop, pos = _quantity(line, tokens, pos + 1, "temperature", name)
            out[name] = (start, stop)
        else:
            out[name], pos = _quantity(line, tokens, pos, kind, name)
    return out


def _type_map(line, tokens, pos, what):
    """Parse LAMMPS atom type -> element pairs ``1=B 2=N`` (or ``1=B,2=N``) at tokens[pos];
    returns ({type: symbol}, next pos)."""
    from ase.data import atomic_numbers

    usage = f"write e.g. '{what} 1=B 2=N' (LAMMPS atom type = element)"
    mapping = {}
    while pos < len(tokens) and re.fullmatch(r"\d+=\S+(,\d+=\S+)*", tokens[pos]):
        for pair in tokens[pos].split(","):
            number, symbol = pair.split("=")
            if symbol not in atomic_numbers:
                raise line.error(f"'{symbol}' in '{pair}' is not an element", usage)
            mapping[int(number)] = symbol
        pos += 1
    if not mapping:
        raise line.error(f"option '{what}' needs type=element pairs", usage)
    return mapping, pos


def _file_path_first(tokens):
    """``system file FILE ...`` is short for ``system file path FILE ...``."""
    if len(tokens) > 2 and tokens[:2] == ["system", "file"] and tokens[2] not in SCHEMA["system"]:
        return tokens[:2] + ["path"] + tokens[2:]
    return tokens


def _expand_loops(lines):
    """Unroll ``loop VAR from A to B step C`` / ``loop VAR in v1 v2 ...`` ... ``end`` blocks,
    substituting $VAR and ${VAR}; nested loops allowed. Returns the flat list of lines."""
    out, pos = [], 0
    while pos < len(lines):
        line = lines[pos]
        tokens = line.text.split()
        if tokens and tokens[0] == "end":
            raise line.error("'end' without a matching 'loop'", "remove it or add a 'loop' above")
        if not tokens or tokens[0] != "loop":
            out.append(line); pos += 1
            continue
        depth, close = 1, None
        for k in range(pos + 1, len(lines)):
            words = lines[k].text.split()
            if words and words[0] == "loop":
                depth += 1
            elif words and words[0] == "end":
                depth -= 1
                if depth == 0:
                    close = k
                    break
        if close is None:
            raise line.error("'loop' without a matching 'end'", "close the loop with a line 'end'")
        var, values = _loop_values(line, tokens)
        body = _expand_loops(lines[pos + 1:close])
        if len(out) + len(body) * len(values) > MAX_DECK_LINES:
            raise line.error(f"this loop expands to {len(body) * len(values)} lines; a deck "
                             f"expands to at most {MAX_DECK_LINES}",
                             "use fewer values (a larger step) or fewer lines in the loop")
        pattern = re.compile(r"\$\{" + var + r"\}|\$" + var + r"\b")
        for value in values:
            text = f"{value:g}"
            out += [_Line(b.path, b.number, pattern.sub(text, b.text)) for b in body]
        pos = close + 1
    return out


def _loop_values(line, tokens):
    usage = "write 'loop T from 50 to 2000 step 50' or 'loop T in 100 200 300'"
    if len(tokens) < 4 or not re.fullmatch(r"[A-Za-z_]\w*", tokens[1]):
        raise line.error("malformed loop", usage)
    var = tokens[1]
    if tokens[2] == "in":
        return var, [_number(line, t, "loop value") for t in tokens[3:]]
    if tokens[2] != "from" or len(tokens) != 8 or tokens[4] != "to" or tokens[6] != "step":
        raise line.error("malformed loop", usage)
    start, stop, step = (_number(line, tokens[k], "loop") for k in (3, 5, 7))
    if step == 0 or (stop - start) * step < 0:
        raise line.error(f"loop step {step:g} never goes from {start:g} to {stop:g}",
                         "use a negative step to count down, e.g. 'step -50'")
    count = int(round((stop - start) / step + 1e-9)) + 1
    if count > MAX_DECK_LINES:  # counted before any value is made: memory stays bounded
        raise line.error(f"loop {var} has {count} values; a loop takes at most "
                         f"{MAX_DECK_LINES}", "use a larger step")
    values = [start + k * step for k in range(count)]
    return var, values


def read_deck(path, variables=None):
    """Read and check a deck file; returns a :class:`Deck` or raises :class:`DeckError`.

    variables: optional dict NAME -> value substituted for $NAME / ${NAME} everywhere in the
    deck (as a loop variable would be), e.g. by a sweep over temperatures.

    Beyond :func:`parse_deck`, the files the deck names are checked: the structure of
    ``system file`` and the model's files exist (beside the deck), and the output folder can be
    written (a probe file is made and removed there; the folder itself is not created).
    """
    path = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise DeckError(path, None, None, "is a folder, not a deck",
                        "give the deck file, e.g. inputs/bn_heat.in") from None
    except OSError as err:
        raise DeckError(path, None, None, f"cannot read the deck: {err.strerror}") from None
    deck = parse_deck(decode_deck(data, path), path, variables)
    check_deck_files(deck)
    return deck


def check_deck_files(deck):
    """DeckError, at the line that names it, for a file the deck reads that is missing, a
    folder or empty (``system file``, the model's files; relative paths are beside the deck),
    and for an output folder that cannot be written (relative to the current directory)."""
    here = os.path.dirname(os.path.abspath(deck.path))
    named = []
    if deck.system.get("kind") == "file":
        named.append(("structure file", deck.system["path"], deck.system.get("line")))
    for key in ("path", "tersoff", "ilp", "sw"):
        if key in deck.model:
            named.append((f"model file ({key})", deck.model[key], deck.model.get("line")))
    for what, name, line in named:
        where = os.path.join(here, name)
        problem = (None if os.path.isfile(where) and os.path.getsize(where) > 0 else
                   "not found" if not os.path.exists(where) else
                   "is a folder, not a file" if os.path.isdir(where) else
                   "is empty" if os.path.isfile(where) else None)
        if problem:
            raise DeckError(deck.path, line or None, None, f"{what} {name} {problem}",
                            "check the path (relative paths are read beside the deck)")
    problem = output_problem(deck.output)
    if problem:
        raise DeckError(deck.path, deck.lines.get("output"), None,
                        f"the output folder {deck.output} {problem}",
                        "set 'output' to a folder that can be written, e.g. 'output bn_heat'")


def decode_deck(data, path="<deck>"):
    """The text of a deck file's bytes ``data``: UTF-8 (a leading byte-order mark is dropped by
    :func:`parse_deck`); DeckError at the line of the first byte that is not UTF-8 text."""
    if b"\0" in data:
        line = data[:data.index(b"\0")].count(b"\n") + 1
        raise DeckError(path, line, None, "not a text file: it holds NUL bytes (binary data, "
                        "or UTF-16 text)", "give a plain-text deck saved as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise DeckError(path, line, None, f"not UTF-8 text (byte 0x{data[err.start]:02x}; "
                        "Latin-1 or another encoding?)",
                        "save the deck as UTF-8 (or keep it to plain ASCII)") from None


def parse_deck(text, path="<deck>", variables=None):
    """Parse deck text (``path`` only names it in errors); ``variables`` as in read_deck."""
    text = text.lstrip("\ufeff")  # a byte-order mark, as editors on Windows write
    if not text.strip():
        raise DeckError(path, None, None, "the deck is empty",
                        "start from an example deck, e.g. inputs/bn_heat.in (docs/decks.md)")
    raw = []
    patterns = [(re.compile(r"\$\{" + re.escape(name) + r"\}|\$" + re.escape(name) + r"\b"),
                 value if isinstance(value, str) else f"{value:g}")
                for name, value in (variables or {}).items()]
    for number, full in enumerate(text.splitlines(), start=1):
        stripped = full.split("#", 1)[0].strip()
        for pattern, value in patterns:
            stripped = pattern.sub(value, stripped)
        if stripped:
            raw.append(_Line(path, number, stripped))
    deck = Deck(path=path, text=text)
    stage_lines = []
    seen = {}
    for line in _expand_loops(raw):
        tokens = _file_path_first(line.text.split())
        keyword = tokens[0]
        if keyword not in SCHEMA or keyword in ("loop", "end"):
            raise line.error(f"unknown keyword '{keyword}'", _keyword_hint(keyword))
        if keyword in ("$",) or "$" in line.text:
            raise line.error("unexpanded variable", "variables are set by an enclosing 'loop'")
        options = _parse_options(line, keyword, tokens[1:])
        if keyword != "stage":
            if keyword in seen:
                raise line.error(f"'{keyword}' is given twice (first on line {seen[keyword]})",
                                 "keep one of the two lines")
            seen[keyword] = line.number
        deck.lines.setdefault(keyword, line.number)
        _apply(deck, keyword, options, line, stage_lines)
    _finish(deck, stage_lines, path)
    return deck


def _apply(deck, keyword, options, line, stage_lines):
    value = options.get("_value")
    if keyword == "system":
        deck.system = dict(options, kind=options.pop("_"), line=line.number)
        if deck.system["kind"] == "file" and "path" not in deck.system:
            raise line.error("'system file' needs a path", "write 'system file path structure.extxyz'")
        _check_file_options(deck.system, line)
        _check_bilayer_options(deck.system, line)
    elif keyword == "model":
        deck.model = dict(options, name=options.pop("_"), line=line.number)
        if "spring" in deck.model and not deck.model["spring"] > 0:
            raise line.error("the spring constant must be positive",
                             "write e.g. 'spring 5 eV/A^2'")
        if deck.model.get("dtype", "float64") not in ("float32", "float64"):
            raise line.error(f"unknown dtype '{deck.model['dtype']}'",
                             "choose from: float32, float64")
    elif keyword == "timestep":
        if value <= 0:
            raise line.error("the timestep must be positive", "write e.g. 'timestep 1 fs'")
        if value > MAX_TIMESTEP:
            raise line.error(f"a timestep of {value * 1e3:g} fs is far beyond molecular dynamics "
                             f"(at most {MAX_TIMESTEP * 1e3:g} fs)", "write e.g. 'timestep 1 fs'")
        deck.timestep = value
    elif keyword == "integrator":
        deck.integrator = dict(_integrator_options(line, options), line=line.number)
        _check_barostat(line, deck.integrator)
    elif keyword == "seed":
        if not 0 <= value < 2**63:
            raise line.error(f"the seed must be a whole number 0 or more (below 2^63), got "
                             f"{value}", "write e.g. 'seed 12345'")
        deck.seed = value
    elif keyword == "replicas":
        if value < 1:
            raise line.error("at least one replica is needed", "write 'replicas 1'")
        if value > MAX_REPLICAS:
            raise line.error(f"{value} replicas: a run holds at most {MAX_REPLICAS}",
                             "run more replicas as a sweep over seeds (slidesim sweep --seeds)")
        deck.replicas = value
    elif keyword == "velocities":
        if value < 0:
            raise line.error("a temperature cannot be negative")
        deck.velocities = value
    elif keyword == "neighbor":
        deck.skin = options.get("skin", deck.skin)
        if deck.skin < 0:
            raise line.error("the neighbour skin cannot be negative", "write 'neighbor skin 1 A'")
        if deck.skin > MAX_SKIN:
            raise line.error(f"a neighbour skin of {deck.skin:g} A is too large (at most "
                             f"{MAX_SKIN:g} A): every list would hold far too many pairs",
                             "write e.g. 'neighbor skin 1 A'")
    elif keyword == "output":
        deck.output = value
    elif keyword in ("trajectory", "thermo", "checkpoint"):
        every = options.get("every")
        if every is not None:
            if every < 0:
                raise line.error("'every' cannot be negative", f"write '{keyword} every 100' (0 = never)")
            setattr(deck, f"{keyword}_every", every)
        if keyword == "trajectory":
            deck.trajectory_velocities = options.get("velocities", deck.trajectory_velocities)
            deck.trajectory_forces = options.get("forces", deck.trajectory_forces)
    elif keyword == "born_charges":
        deck.born_charges = options["_"]
    elif keyword == "limit":
        for name, value in options.items():
            if not value > 0 or value == float("inf"):
                raise line.error(f"limit {name} must be a positive finite number",
                                 f"write e.g. 'limit {name} {_LIMIT_EXAMPLES[name]}'")
        if "temperature" in options:
            deck.temperature_limit = options["temperature"]
        deck.limits.update({k: v for k, v in options.items() if k != "temperature"})
    elif keyword == "stage":
        stage_lines.append((line, options))


#: options of each integrator (LAMMPS's fix nvt takes Tdamp, fix langevin its damp: slidesim
#: calls both damping times ``tdamp``; Langevin's older ``damp`` still works)
INTEGRATOR_OPTIONS = {"nve": ("respa",), "nose-hoover": ("tdamp", "chain", "loops", "respa",
                                                           "pressure", "pdamp", "pchain"),
                      "langevin": ("tdamp", "damp", "respa")}


def _integrator_options(line, options):
    """The integrator's options checked against its kind; Langevin's damping time under both
    ``tdamp`` and ``damp`` [ps]."""
    name = options.pop("_")
    for key in options:
        if key not in INTEGRATOR_OPTIONS[name]:
            if name == "nve":
                raise line.error(f"'{key}' does not apply to 'integrator nve', which has no "
                                 "thermostat", "remove it, or choose 'integrator nose-hoover' "
                                 "or 'integrator langevin'")
            if key == "damp":
                raise line.error("'damp' does not apply to 'integrator nose-hoover'",
                                 "its damping time is 'tdamp', e.g. 'tdamp 100 fs'")
            raise line.error(f"'{key}' does not apply to 'integrator {name}'",
                             f"'{key}' belongs to 'integrator nose-hoover'; Langevin takes "
                             "'tdamp' (its damping time) and 'respa'")
    if "tdamp" in options and "damp" in options:
        raise line.error("Langevin's damping time is given as 'tdamp' and as 'damp', not both",
                         "keep 'tdamp', e.g. 'tdamp 100 fs'")
    for key in ("tdamp", "damp"):
        if key in options and not options[key] > 0:
            raise line.error(f"the damping time {key} must be positive",
                             f"write e.g. '{key} 100 fs'")
    for key in ("chain", "loops", "respa"):
        if key in options and not 1 <= options[key] <= MAX_CHAIN:
            what = {"chain": "the chain length", "loops": "the number of chain loops",
                    "respa": "respa, the number of inner steps per timestep,"}[key]
            raise line.error(f"{what} must be at least 1 and at most {MAX_CHAIN}",
                             "write e.g. 'respa 2' (timestep 2 fs: intralayer terms every 1 fs)"
                             if key == "respa" else f"write e.g. '{key} 3'")
    if name == "langevin" and ("tdamp" in options or "damp" in options):
        options["tdamp"] = options["damp"] = options.get("tdamp", options.get("damp"))
    return dict(options, name=name)


#: options that only a built bilayer takes (``system bilayer``)
BILAYER_OPTIONS = ("material", "cells", "stacking", "lattice", "distance", "sliding", "vacuum")


def _check_bilayer_options(system, line):
    if system["kind"] == "file":
        built = [k for k in BILAYER_OPTIONS if k in system]
        if built:
            raise line.error(f"'{built[0]}' applies to 'system bilayer' only",
                             f"remove '{built[0]}': the file gives the structure")
        return
    if "path" in system:
        raise line.error("'path' applies to 'system file' only",
                         "write 'system file path FILE' to read a structure, or remove 'path'")
    n1, n2 = system.get("cells", (1, 1))
    if n1 < 1 or n2 < 1:
        raise line.error(f"cells must be at least 1 1, got {n1} {n2}", "write e.g. 'cells 15 15'")
    if n1 * n2 > MAX_CELLS:
        raise line.error(f"cells {n1} {n2} is {n1 * n2} cells; a bilayer has at most "
                         f"{MAX_CELLS}", "write e.g. 'cells 15 15'")
    for key in ("lattice", "distance", "vacuum"):
        if key in system and not system[key] > 0:
            raise line.error(f"{key} must be positive", f"write e.g. '{key} {_example('length')}'")


#: values of the ``system file`` options that take a word
FILE_OPTION_VALUES = {"format": ("extxyz", "lammps-data"), "layers": ("molecule", "z"),
                      "velocities": ("from-file", "new"),
                      "atom_style": ("atomic", "charge", "full")}


def _check_file_options(system, line):
    if system["kind"] != "file":
        built = [k for k in ("format", "types", "layers", "velocities", "atom_style")
                 if k in system]
        if built:
            raise line.error(f"'{built[0]}' applies to 'system file' only",
                             f"remove '{built[0]}' or read the system from a file")
        return
    for name, allowed in FILE_OPTION_VALUES.items():
        if name in system and system[name] not in allowed:
            raise line.error(f"unknown {name} '{system[name]}'", _suggest(system[name], allowed))


def _finish(deck, stage_lines, path):
    if not deck.system:
        raise DeckError(path, None, None, "the deck declares no system",
                        "add e.g. 'system bilayer material BN cells 15 15 stacking BA'")
    if deck.timestep is None:
        raise DeckError(path, None, None, "the deck declares no timestep", "add 'timestep 1 fs'")
    if not stage_lines:
        raise DeckError(path, None, None, "the deck has no stage",
                        "add e.g. 'stage equilibrate temperature 300 K duration 10 ps'")
    if not deck.model:  # the material's own model (bn-ilp for h-BN, mos2-ilp for MoS2)
        from slidesim.structures import MONOLAYERS

        material = MONOLAYERS.get(deck.system.get("material", "BN"))
        deck.model = {"name": material.model if material else "bn-ilp", "line": 0}
    for line, options in stage_lines:
        if "minimize" in options or any(k in options for k in MINIMIZE_OPTIONS):
            deck.stages.append(_minimize_stage(line, options))
            continue
        if "duration" in options and "steps" in options:
            raise line.error("give either 'duration' or 'steps', not both")
        if "duration" in options:
            if options["duration"] < 0:
                raise line.error("a duration cannot be negative", "write e.g. 'duration 10 ps'")
            exact = options["duration"] / deck.timestep
            n_steps = int(round(exact))
            if abs(exact - n_steps) > 1e-6 * max(1.0, exact):
                raise line.error(f"duration {options['duration']:g} ps is not a whole number of "
                                 f"{deck.timestep:g} ps timesteps", "adjust the duration or the timestep")
        elif "steps" in options:
            n_steps = options["steps"]
        else:
            raise line.error("a stage needs a duration", "add e.g. 'duration 10 ps' or 'steps 1000'")
        if n_steps <= 0:
            raise line.error("a stage must last at least one step")
        if n_steps > MAX_STEPS:
            raise line.error(f"a stage of {n_steps:.3g} steps: a stage takes at most "
                             f"{MAX_STEPS:.0e} steps", "shorten the stage")
        if "temperature" not in options and deck.integrator["name"] != "nve":
            raise line.error("a stage needs a temperature", "add e.g. 'temperature 300 K'")
        t_start, t_stop = options.get("temperature", (0.0, 0.0))
        if t_start < 0 or t_stop < 0:
            raise line.error("temperatures cannot be negative")
        field, rate = _stage_field(line, options)
        stop = options.get("stop")
        if stop is not None and stop not in STOP_CONDITIONS:
            raise line.error(f"unknown stop condition '{stop}'", _suggest(stop, STOP_CONDITIONS))
        stop_to = options.get("stop_to")
        if stop_to is not None and stop_to not in STOP_TARGETS:
            raise line.error(f"'stop switched to {stop_to}': no such stacking",
                             f"choose from: {', '.join(STOP_TARGETS)} (the end of the switch)")
        deck.stages.append(Stage(options["_"], t_start, t_stop, n_steps, line.number, field, rate,
                                 stop, stop_to))
    if deck.system.get("velocities") == "from-file" and deck.velocities is not None:
        raise DeckError(path, deck.system["line"], None,
                        "'velocities from-file' and a 'velocities' temperature contradict",
                        "keep one: the file's velocities or new ones at a temperature")
    if deck.born_charges is None and any(stage.has_field for stage in deck.stages):
        deck.born_charges = "registry"
    _check_names(deck, path)


def _check_names(deck, path):
    """The model, material and stacking a deck names exist and fit together; DeckError at the
    line that names them otherwise."""
    from slidesim.catalog import CATALOG
    from slidesim.geometry import stacking_fraction
    from slidesim.structures import MONOLAYERS

    def error(keyword, message, fix=None):
        line = {"model": deck.model.get("line"), "system": deck.system.get("line")}.get(
            keyword, deck.lines.get(keyword))
        return DeckError(path, line or None, None, message, fix)

    name = deck.model["name"]
    entry = CATALOG.get(name)
    if entry is None:
        raise error("model", f"unknown model '{name}'", _suggest(name, list(CATALOG)))
    options = [k for k in deck.model if k not in ("name", "line")]
    accepted = _model_options(entry)
    unknown = [k for k in options if accepted is not None and k not in accepted]
    if unknown:
        raise error("model", f"model '{name}' has no option '{unknown[0]}'",
                    f"its options: {', '.join(accepted) or 'none'}")
    if name == "torchscript" and "path" not in deck.model:
        raise error("model", "the torchscript model needs its file", "write 'model torchscript "
                    "path MODEL.pt' (see docs/ml_models.md)")
    if deck.born_charges == "model" and name != "torchscript":
        raise error("born_charges", f"'born_charges model': model '{name}' predicts no Born "
                    "charges", "use 'born_charges registry' (the registry dipole fitted to the "
                    "model)")
    system = deck.system
    if system["kind"] != "bilayer":
        return
    material = system.get("material", "BN")
    mono = MONOLAYERS.get(material)
    if mono is None:
        raise error("system", f"unknown material '{material}'", _suggest(material, MONOLAYERS))
    if "stacking" in system:
        try:
            stacking_fraction(system["stacking"])
        except ValueError:
            raise error("system", f"unknown stacking '{system['stacking']}'",
                        _suggest(system["stacking"], mono.stackings)) from None
    missing = [s for s in mono.species if entry.species and s not in entry.species]
    if missing:
        raise error("model" if deck.model.get("line") else "system",
                    f"model '{name}' covers {', '.join(entry.species)} only, not "
                    f"{', '.join(missing)} of {material}",
                    f"use a model for {material}, e.g. 'model {mono.model}'")
    distance = system.get("distance", entry.distance or mono.interlayer)
    if system.get("vacuum", 40.0) <= distance + 10.0:
        raise error("system", f"vacuum {system['vacuum']:g} A is too small for the bilayer: the "
                    f"cell height must exceed the interlayer distance {distance:g} A + 10 A",
                    "leave vacuum out (40 A) or write e.g. 'vacuum 40 A'")


def _model_options(entry):
    """The options the factory of catalog ``entry`` takes, or None when it cannot be imported
    (the model's own error then comes when it is built)."""
    import inspect

    try:
        factory = entry.factory
    except ImportError:
        return None
    return [p for p in inspect.signature(factory).parameters
            if p not in ("species_names", "state", "options")]


def _check_barostat(line, integrator):
    """The in-plane barostat's options (``integrator nose-hoover ... pressure P pdamp D
    [pchain M]``, slidesim.barostat): with Nose-Hoover only, not under r-RESPA."""
    given = [k for k in ("pressure", "pdamp", "pchain") if k in integrator]
    if not given:
        return
    if "pressure" not in integrator:
        raise line.error(f"'{given[0]}' belongs to the barostat, which needs its pressure",
                         "add e.g. 'pressure 0 GPa pdamp 1 ps'")
    if integrator["name"] != "nose-hoover":
        raise line.error(f"the barostat ('pressure') comes with 'integrator nose-hoover', not "
                         f"'{integrator['name']}'",
                         "write e.g. 'integrator nose-hoover tdamp 100 fs pressure 0 GPa "
                         "pdamp 1 ps'")
    if integrator.get("respa", 1) > 1:
        raise line.error("the barostat does not run under r-RESPA",
                         "remove 'respa' (or 'pressure')")
    if "pdamp" in integrator and not integrator["pdamp"] > 0:
        raise line.error("pdamp must be positive", "write e.g. 'pdamp 1 ps'")
    if not 0 <= integrator.get("pchain", 3) <= 100:
        raise line.error("pchain must be 0 to 100 (links of the barostat's chain)",
                         "write e.g. 'pchain 3'")


#: conditions that end a stage early
STOP_CONDITIONS = ("switched",)
#: minimisation styles, and the options only a minimisation stage takes
MINIMIZE_STYLES = ("fire",)
MINIMIZE_OPTIONS = ("ftol", "cell", "pressure", "stol")


def _minimize_stage(line, options):
    """A ``stage NAME minimize fire [ftol F eV/A] [steps N] [cell iso|aniso [pressure P GPa]
    [stol S GPa]] [field ...]`` line as a Stage with no MD steps (slidesim.minimize)."""
    from slidesim.minimize import CELL_MODES

    style = options.get("minimize")
    if style is None:
        raise line.error(f"'{next(k for k in MINIMIZE_OPTIONS if k in options)}' belongs to a "
                         "minimisation stage", "add 'minimize fire' after the stage's name")
    if style not in MINIMIZE_STYLES:
        raise line.error(f"unknown minimisation style '{style}'", _suggest(style, MINIMIZE_STYLES))
    for key in ("duration", "temperature", "field_rate", "field_perp_rate", "field_par_rate",
                "stop", "stop_to"):
        if key in options:
            raise line.error(f"a minimisation stage takes no '{key}'",
                             "remove it (give the number of steps with 'steps N')")
    steps = options.get("steps", 2000)
    if steps < 1:
        raise line.error("a minimisation needs at least one step", "write e.g. 'steps 2000'")
    ftol = options.get("ftol", 1e-4)
    if not ftol > 0:
        raise line.error("ftol must be positive", "write e.g. 'ftol 1e-4 eV/A'")
    settings = {"style": style, "ftol": ftol, "max_steps": steps, "cell": options.get("cell")}
    if settings["cell"] is None:
        if "pressure" in options or "stol" in options:
            raise line.error("'pressure' and 'stol' need the cell to relax",
                             "add 'cell iso' (a and b scaled together) or 'cell aniso'")
    else:
        if settings["cell"] not in CELL_MODES:
            raise line.error(f"unknown cell relaxation '{settings['cell']}'",
                             _suggest(settings["cell"], CELL_MODES))
        settings["pressure"] = options.get("pressure", 0.0)
        settings["stol"] = options.get("stol", 1.0)
        if not settings["stol"] > 0:
            raise line.error("stol must be positive", "write e.g. 'stol 1e-4 GPa'")
    field, rate = _stage_field(line, options)
    return Stage(options["_"], 0.0, 0.0, 0, line.number, field, rate, minimize=settings)
#: stackings a switch can end in (h-BN's BA/AB; the TMDs' XM/MX, the same two registries)
STOP_TARGETS = ("AB", "BA", "MX", "XM")


def _stage_field(line, options):
    """Field [V/A] at the stage's start and its rate [V/A/ps], as 3-vectors.

    ``field`` gives the vector; ``field_perp`` its z component; ``field_par`` with ``field_angle``
    its in-plane part, the angle counterclockwise from +y as in the paper (theta = 60 deg is the
    BA -> AB sliding direction b - a). Rates likewise: ``field_rate`` (vector), ``field_perp_rate``,
    ``field_par_rate`` (magnitude along field_angle).
    """
    import math

    field = list(options.get("field", (0.0, 0.0, 0.0)))
    rate = list(options.get("field_rate", (0.0, 0.0, 0.0)))
    if "field" in options and ("field_perp" in options or "field_par" in options):
        raise line.error("give the field either as 'field EX EY EZ' or by 'field_perp' and "
                         "'field_par', not both")
    theta = math.radians(options.get("field_angle", 0.0))
    direction = (-math.sin(theta), math.cos(theta))
    if ("field_par" in options or "field_par_rate" in options) and "field_angle" not in options:
        raise line.error("an in-plane field needs its direction",
                         "add 'field_angle 60 deg' (counterclockwise from +y)")
    if "field_angle" in options and not ("field_par" in options or "field_par_rate" in options):
        raise line.error("'field_angle' is the direction of an in-plane field, but the stage "
                         "has no 'field_par' or 'field_par_rate'",
                         "add e.g. 'field_par 0.1 V/A', or remove 'field_angle'")
    if "field_perp" in options:
        field[2] = options["field_perp"]
    if "field_perp_rate" in options:
        rate[2] = options["field_perp_rate"]
    for key, target in (("field_par", field), ("field_par_rate", rate)):
        if key in options:
            target[0] += options[key] * direction[0]
            target[1] += options[key] * direction[1]
    return tuple(field), tuple(rate)
