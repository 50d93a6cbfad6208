"""LAMMPS text dumps in (``dump atom`` / ``dump custom``), streamed frame by frame.

Each frame gives its step, its time (``ITEM: TIME``, written with ``dump_modify ID time yes``;
``ITEM: UNITS`` metal is ps, real is fs; a dump without UNITS is taken as metal), the cell and
the positions [A] relative to the box origin (from x y z, xu yu zu, or the scaled xs ys zs /
xsu ysu zsu), with every other per-atom column as text, all sorted by atom id. The
triclinic bounding box LAMMPS writes is turned back into the cell (a along x, b in the xy
plane), as docs.lammps.org/Howto_triclinic.html describes.
"""

import numpy as np

#: ITEM: UNITS of a LAMMPS dump -> ps per time unit
DUMP_TIME_UNITS = {"metal": 1.0, "real": 1e-3}


class LammpsDumpError(ValueError):
    """A file that is not a LAMMPS text dump slidesim reads; the message names file and line."""


def is_lammps_dump(path):
    """True if the first line of ``path`` is a LAMMPS dump ``ITEM:`` line."""
    try:
        with open(path) as f:
            return f.readline().startswith("ITEM:")
    except (OSError, UnicodeDecodeError):
        return False


def _dump_cell(bounds, tilts):
    """(cell (3, 3), origin (3,)) [A] from a dump's BOX BOUNDS lines (bounding box + tilts)."""
    (xlo_b, xhi_b), (ylo_b, yhi_b), (zlo, zhi) = bounds
    xy, xz, yz = tilts
    # the dump gives the bounding box of the tilted cell; undo the tilts' extent
    xlo = xlo_b - min(0.0, xy, xz, xy + xz)
    xhi = xhi_b - max(0.0, xy, xz, xy + xz)
    ylo = ylo_b - min(0.0, yz)
    yhi = yhi_b - max(0.0, yz)
    cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
    return cell, np.array([xlo, ylo, zlo])


def iter_lammps_dump(path):
    """Frames of a LAMMPS text dump, one dict each: ``step``, ``time`` [ps] or None, ``cell``
    (3, 3) [A], ``positions`` (N, 3) [A] relative to the box origin, sorted by atom id,
    ``columns`` {name: (N,) str array} of the other per-atom columns. LammpsDumpError (naming
    the line) for a malformed file."""
    scale = 1.0
    with open(path) as f:
        number = 0

        def line():
            nonlocal number
            number += 1
            text = f.readline()
            if not text:
                raise EOFError
            return text

        frame = {}
        while True:
            try:
                text = line()
            except EOFError:
                return
            if not text.strip():
                continue
            try:
                if not text.startswith("ITEM:"):
                    raise ValueError(f"expected an 'ITEM:' line, got '{text.strip()[:40]}'")
                item = text[5:].strip()
                if item.startswith("UNITS"):
                    style = line().strip()
                    if style not in DUMP_TIME_UNITS:
                        raise ValueError(f"units '{style}': slidesim reads metal or real dumps")
                    scale = DUMP_TIME_UNITS[style]
                elif item.startswith("TIME") and not item.startswith("TIMESTEP"):
                    frame["time"] = float(line()) * scale
                elif item.startswith("TIMESTEP"):
                    frame["step"] = int(line())
                elif item.startswith("NUMBER OF ATOMS"):
                    frame["n_atoms"] = int(line())
                elif item.startswith("BOX BOUNDS"):
                    triclinic = "xy" in item.split()
                    rows = [[float(v) for v in line().split()] for _ in range(3)]
                    tilts = [row[2] for row in rows] if triclinic else [0.0, 0.0, 0.0]
                    frame["cell"], frame["origin"] = _dump_cell([row[:2] for row in rows], tilts)
                elif item.startswith("ATOMS"):
                    names = item.split()[1:]
                    n_atoms = frame["n_atoms"]
                    table = np.array([line().split() for _ in range(n_atoms)], dtype=str)
                    if table.shape != (n_atoms, len(names)):
                        raise ValueError(f"ATOMS rows do not have the {len(names)} columns "
                                         f"{' '.join(names)}")
                    yield _dump_frame(frame, names, table)
                    frame = {}
                # other items (e.g. a dump's own extra headers) are skipped with their value
            except (ValueError, KeyError, IndexError, EOFError) as err:
                what = "ends inside a frame" if isinstance(err, EOFError) else str(err)
                raise LammpsDumpError(f"{path}:{number}: not a LAMMPS text dump slidesim reads "
                                      f"({what}); write it with 'dump ID all custom N FILE id "
                                      "type x y z'") from None


def _dump_frame(frame, names, table):
    columns = {name: table[:, k] for k, name in enumerate(names)}
    if "id" in columns:
        order = np.argsort(columns["id"].astype(np.int64), kind="stable")
        columns = {name: values[order] for name, values in columns.items()}
    cell, origin = frame["cell"], frame["origin"]
    for names_xyz, scaled in ((("x", "y", "z"), False), (("xu", "yu", "zu"), False),
                              (("xs", "ys", "zs"), True), (("xsu", "ysu", "zsu"), True)):
        if all(name in columns for name in names_xyz):
            xyz = np.stack([columns[name].astype(np.float64) for name in names_xyz], axis=1)
            positions = xyz @ cell if scaled else xyz - origin
            break
    else:
        raise ValueError("no coordinate columns (x y z, xu yu zu, xs ys zs or xsu ysu zsu)")
    return {"step": frame.get("step"), "time": frame.get("time"), "cell": cell,
            "positions": positions, "columns": columns}
