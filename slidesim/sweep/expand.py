"""Expanding one deck over a grid of parameter values: ``--set KEY=VALUES``.

A sweep parameter is a name and a list of values (strings, written into the deck verbatim).
``KEY`` is, in this order of preference,

* a deck variable: the deck uses ``$KEY`` or ``${KEY}``; the value is substituted as text;
* a deck keyword (``seed``, ``replicas``, ``timestep``, ``integrator`` ...): its line is replaced
  by ``KEY VALUE`` (added if the deck has none);
* an option of a keyword, ``keyword.option`` (``system.cells``) or the bare option name where only
  one keyword has it (``cells``, ``stacking``, ``skin``): that option's value in the keyword's
  line is replaced (added if absent). Stage options are not settable this way, as a deck has
  several stages: write ``$NAME`` in the stage lines instead.

VALUES are comma separated (``100,200,300``) or a range ``START:STOP:STEP`` that includes STOP
(``100:500:100`` is 100, 200, 300, 400, 500; a negative STEP counts down); both forms mix
(``0,0.1:0.3:0.1``). Two-number options take ``3x3`` or ``"3 3"``.
"""

import itertools
import os
import re
from dataclasses import dataclass

from slidesim.deck import SCHEMA, Deck

#: keywords a sweep may not set by name (several per deck, or structural)
_NOT_SETTABLE = ("stage", "loop", "end")


class SweepError(ValueError):
    """Bad sweep input; the message says what to write instead."""


@dataclass(frozen=True)
class SweepParameter:
    """One swept name and its values (deck text, in the deck's units)."""

    name: str
    values: tuple

    def __post_init__(self):
        if not self.values:
            raise SweepError(f"--set {self.name}= has no values; write e.g. '{self.name}=100,200'")
        if len(set(self.values)) != len(self.values):
            raise SweepError(f"--set {self.name} repeats a value: {', '.join(self.values)}")


def format_number(value):
    """A float as short deck text (12 significant digits, so 0.1 + 0.2 prints as 0.3)."""
    value = float(f"{value:.12g}")
    if value == 0:
        value = 0.0  # no "-0"
    return f"{value:g}" if abs(value) < 1e15 else repr(value)


def parse_values(text, name="KEY"):
    """Values of ``--set KEY=TEXT``: comma separated items, each a literal or START:STOP:STEP."""
    values = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise SweepError(f"--set {name}={text}: an empty value; separate values by single "
                             "commas, e.g. 100,200,300")
        if ":" not in item:
            values.append(item)
            continue
        parts = item.split(":")
        try:
            start, stop, step = (float(p) for p in parts)
        except ValueError:
            raise SweepError(f"--set {name}={text}: '{item}' is not a range; write "
                             "START:STOP:STEP with numbers, e.g. 100:500:100") from None
        if step == 0 or (stop - start) * step < 0:
            raise SweepError(f"--set {name}: the range {item} never reaches {parts[1]}; use a "
                             "positive STEP to count up, a negative one to count down")
        count = int(round((stop - start) / step + 1e-9)) + 1
        values += [format_number(start + k * step) for k in range(count)]
    return tuple(values)


def parse_set_option(text):
    """``KEY=VALUES`` (a ``--set`` argument) -> SweepParameter."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)?", name):
        raise SweepError(f"--set '{text}': write KEY=VALUES, e.g. --set T=100:500:100 or "
                         "--set seed=1,2,3")
    return SweepParameter(name, parse_values(values, name))


def _strip_comment(line):
    return line.split("#", 1)[0]


def _variable_pattern(name):
    return re.compile(r"\$\{" + re.escape(name) + r"\}|\$" + re.escape(name) + r"\b")


def _option_owners(option):
    """Non-stage keywords that have ``option``."""
    return [k for k, spec in SCHEMA.items()
            if k not in _NOT_SETTABLE and option in spec and not option.startswith("_")]


class DeckTemplate:
    """A deck's text with sweep parameters still open.

    ``DeckTemplate(path)``; ``render(values, output)`` gives the concrete deck text of one
    combination with its ``output`` pointed at ``output`` (a directory).
    """

    def __init__(self, path, text=None):
        self.path = os.path.abspath(path)
        if text is None:
            from slidesim.deck import DeckError, decode_deck

            if not os.path.isfile(path):
                raise SweepError(f"deck {path} not found")
            with open(path, "rb") as handle:
                try:
                    text = decode_deck(handle.read(), path).lstrip("\ufeff")
                except DeckError as error:
                    raise SweepError(str(error)) from None
        self.text = text
        code = "\n".join(_strip_comment(line) for line in text.splitlines())
        self.variables = {a or b for a, b in re.findall(r"\$\{(\w+)\}|\$(\w+)", code)}
        self.loop_variables = set(re.findall(r"^\s*loop\s+(\w+)", code, re.M))

    def role(self, name):
        """How ``name`` enters the deck: ("variable", name), ("keyword", kw) or
        ("option", (kw, option)); raises SweepError if it enters nowhere."""
        if name in self.loop_variables:
            raise SweepError(f"--set {name}: ${name} is a loop variable in {self.path}; rename "
                             "the loop variable or the sweep parameter")
        if name in self.variables:
            return "variable", name
        keyword, _, option = name.partition(".")
        if not option and keyword in SCHEMA and keyword not in _NOT_SETTABLE:
            return "keyword", keyword
        if option:
            if keyword not in SCHEMA or keyword in _NOT_SETTABLE or option not in SCHEMA[keyword] \
                    or option.startswith("_"):
                raise SweepError(f"--set {name}: '{keyword}' has no option '{option}' a sweep can "
                                 "set (see docs/decks.md); stage options need $NAME in the deck")
            return "option", (keyword, option)
        owners = _option_owners(name)
        if len(owners) == 1:
            return "option", (owners[0], name)
        if len(owners) > 1:
            raise SweepError(f"--set {name}: several keywords have the option '{name}' "
                             f"({', '.join(owners)}); write e.g. --set {owners[0]}.{name}=...")
        shown = ", ".join(sorted(self.variables)) or "none"
        raise SweepError(f"--set {name}: {self.path} has no ${name} and '{name}' is no deck "
                         f"keyword or option. Write ${name} where the value goes in the deck "
                         f"(variables in this deck: {shown}), or set a keyword such as seed.")

    def default_seed(self):
        """The deck's seed (its ``seed`` line, else slidesim's default)."""
        for line in self.text.splitlines():
            tokens = _strip_comment(line).split()
            if len(tokens) == 2 and tokens[0] == "seed" and tokens[1].lstrip("-").isdigit():
                return int(tokens[1])
        return Deck.__dataclass_fields__["seed"].default

    def render(self, values, output):
        """Concrete deck text: ``values`` maps sweep names to value text; ``output`` [dir]."""
        lines = self.text.splitlines()
        for name, value in values.items():
            role, target = self.role(name)
            if role == "variable":
                pattern = _variable_pattern(name)
                lines = [pattern.sub(value, line) for line in lines]
            elif role == "keyword":
                lines = _set_keyword(lines, target, value)
            else:
                lines = _set_option(lines, target[0], target[1], value)
        lines = _set_keyword(lines, "output", os.path.abspath(output))
        lines = [_absolute_system_path(line, os.path.dirname(self.path)) for line in lines]
        return "\n".join(lines) + "\n"


def _set_keyword(lines, keyword, value):
    out, found = [], False
    for line in lines:
        tokens = _strip_comment(line).split()
        if tokens and tokens[0] == keyword:
            out.append(f"{keyword} {value}")
            found = True
        else:
            out.append(line)
    if not found:  # at the end: every line of the deck keeps its number, for messages
        out.append(f"{keyword} {value}")
    return out


def _option_value(keyword, option, value):
    kind = SCHEMA[keyword][option]
    if kind in ("int2", "length2") and re.fullmatch(r"[\d.]+x[\d.]+", value):
        return value.replace("x", " ")
    return value


def _set_option(lines, keyword, option, value):
    value = _option_value(keyword, option, value)
    names = set(SCHEMA[keyword])
    for k, line in enumerate(lines):
        tokens = _strip_comment(line).split()
        if not tokens or tokens[0] != keyword:
            continue
        if option in tokens[1:]:
            start = tokens.index(option, 1)
            stop = start + 1
            while stop < len(tokens) and tokens[stop] not in names:
                stop += 1
            tokens[start:stop] = [option, value]
        else:
            tokens += [option, value]
        lines = list(lines)
        lines[k] = " ".join(tokens)
        return lines
    raise SweepError(f"--set {keyword}.{option}: the deck has no '{keyword}' line to set it in; "
                     f"add one, e.g. 'system bilayer material BN cells 3 3 stacking BA'")


def _absolute_system_path(line, deck_dir):
    """``system file path REL`` is relative to the original deck: make it absolute."""
    tokens = _strip_comment(line).split()
    if len(tokens) > 1 and tokens[0] == "system" and "path" in tokens:
        k = tokens.index("path") + 1
        if k < len(tokens) and not os.path.isabs(tokens[k]) and "$" not in tokens[k]:
            tokens[k] = os.path.join(deck_dir, tokens[k])
            return " ".join(tokens)
    return line


def seed_parameter(template, count):
    """``--seeds N``: the parameter seed = deck seed + 0, 1, ..., N-1."""
    if count < 1:
        raise SweepError(f"--seeds {count}: give at least 1")
    first = template.default_seed()
    return SweepParameter("seed", tuple(str(first + k) for k in range(count)))


def expand_grid(parameters):
    """All combinations (the product), as a list of dicts name -> value text, in the order of
    the parameters (the last one varies fastest)."""
    names = [p.name for p in parameters]
    if len(set(names)) != len(names):
        raise SweepError(f"a parameter is set twice: {', '.join(names)}; give each KEY once")
    return [dict(zip(names, combo)) for combo in itertools.product(*(p.values for p in parameters))]


def run_directory(sweep_dir, values):
    """SWEEP_DIR/KEY1=V1/KEY2=V2/...: one level per parameter, in sweep order."""
    parts = [f"{name}={_path_safe(value)}" for name, value in values.items()]
    return os.path.join(sweep_dir, *parts) if parts else os.path.join(sweep_dir, "run")


def _path_safe(value):
    return re.sub(r"[^\w.+-]", "_", value.strip())
