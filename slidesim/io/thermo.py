"""Thermodynamic log: one CSV row per output step, one file per replica.

Columns, in order: ``step, time_ps, temperature_K, temperature_target_K, potential_eV,
kinetic_eV, total_eV, conserved_eV, sliding_x_A, sliding_y_A`` followed by the extra columns
named at construction (per-term energies, field components...). Floats are written with
``repr`` (shortest text that reads back to the same double), so logs of two runs can be compared
to round-off. Every row is flushed as it is written; a restart drops rows beyond its checkpoint.
"""

import math
import os
import tempfile

import numpy as np

from slidesim.io import give_default_mode

#: the columns every thermo file has, in order
STANDARD_COLUMNS = ("step", "time_ps", "temperature_K", "temperature_target_K", "potential_eV",
                    "kinetic_eV", "total_eV", "conserved_eV", "sliding_x_A", "sliding_y_A")


def _format(value):
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))  # shortest text that reads back to the same double; nan, inf


class ThermoWriter:
    """Appends thermo rows to a CSV file.

    Args:
        path: the CSV file (the driver names them thermo.csv, thermo.r1.csv, ...).
        extra_columns: names of the columns after the standard ones, fixed for the file's life.
        append: continue an existing file (restart) instead of overwriting it; its header must
            name the same columns.
        restart_step: with ``append``, first drop rows whose step is beyond this one.
    """

    def __init__(self, path, extra_columns=(), *, append=False, restart_step=None):
        self.path = os.fspath(path)
        self.extra_columns = tuple(extra_columns)
        self.columns = STANDARD_COLUMNS + self.extra_columns
        clash = set(STANDARD_COLUMNS) & set(self.extra_columns)
        if clash or len(set(self.columns)) != len(self.columns):
            raise ValueError(f"thermo columns must be distinct: {self.columns}")
        if append and os.path.exists(self.path):
            truncate_thermo_to_step(self.path, restart_step, self.columns)
            self._stream = open(self.path, "a", newline="")
        else:
            self._stream = open(self.path, "w", newline="")
            self._stream.write(",".join(self.columns) + "\n")
            self._stream.flush()

    def write_row(self, *, step, time_ps, temperature_K, temperature_target_K, potential_eV,
                  kinetic_eV, conserved_eV, sliding_x_A=math.nan, sliding_y_A=math.nan,
                  **extra):
        """Write one row; ``total_eV`` is potential + kinetic. ``extra`` gives every extra column.

        step: int; time_ps [ps]; temperatures [K]; energies [eV]; sliding components [A].
        """
        if set(extra) != set(self.extra_columns):
            raise ValueError(f"extra columns given {sorted(extra)}, file has "
                             f"{list(self.extra_columns)}")
        values = (int(step), time_ps, temperature_K, temperature_target_K, potential_eV,
                  kinetic_eV, float(potential_eV) + float(kinetic_eV), conserved_eV,
                  sliding_x_A, sliding_y_A, *(extra[name] for name in self.extra_columns))
        self._stream.write(",".join(_format(value) for value in values) + "\n")
        self._stream.flush()

    def close(self):
        if not self._stream.closed:
            self._stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def truncate_thermo_to_step(path, step, columns=None):
    """Rewrite ``path`` keeping the rows before the first one whose step exceeds ``step``.

    ``step=None`` keeps every complete row. A last row cut short by a crash is dropped. If
    ``columns`` is given the header must match it. The rewrite is atomic (temp file + rename).
    Returns the number of rows kept.
    """
    path = os.fspath(path)
    with open(path, newline="") as stream:
        lines = stream.read().split("\n")
    header = lines[0].split(",")
    if columns is not None and tuple(header) != tuple(columns):
        raise ValueError(f"{path} has columns {header}, expected {list(columns)}")
    kept = [lines[0]]
    # only text followed by a newline is a complete row: lines[-1] is what a crash cut short
    for line in lines[1:-1]:
        fields = line.split(",")
        if len(fields) != len(header):
            break
        if step is not None and int(fields[0]) > step:
            break
        kept.append(line)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                         prefix=".thermo.", suffix=".csv")
    give_default_mode(handle)
    with os.fdopen(handle, "w", newline="") as stream:
        stream.write("\n".join(kept) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    return len(kept) - 1


def read_thermo(path):
    """Read a thermo CSV into a dict mapping each column name to an array (step as int64).

    Only complete rows (ending in a newline) are read, so a file being written is safe to read.
    """
    with open(os.fspath(path), newline="") as stream:
        lines = stream.read().split("\n")
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:-1]]
    rows = [row for row in rows if len(row) == len(header)]
    columns = {}
    for k, name in enumerate(header):
        if name == "step":
            columns[name] = np.array([int(row[k]) for row in rows], dtype=np.int64)
        else:
            columns[name] = np.array([float(row[k]) for row in rows], dtype=np.float64)
    return columns
