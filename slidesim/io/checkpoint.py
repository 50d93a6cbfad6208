"""Checkpoints: the whole :class:`slidesim.state.State` on disk, written atomically.

A checkpoint is a numpy ``.npz`` archive (no pickle) holding every field of the state, bit for
bit, plus an ``extra`` JSON document (the deck text and its hash, neighbour-list bookkeeping...).
Array fields are stored as ``array.<field>``; every other field (step, time, stage, species
names, the RNG states whose PCG64 counters are 128-bit integers) as JSON text ``json.<field>``
(JSON integers have no size limit and floats are written with ``repr``, so both read back
exactly). Fields are taken from the State dataclass itself, so new State fields are saved too. Writing goes to a temporary file in the same directory,
is fsynced and then renamed over the target; the checkpoint it replaces is kept as
``path + ".prev"``, so a crash at any moment leaves at least one complete checkpoint.
"""

import dataclasses
import json
import os
import shutil
import tempfile
import zipfile

import numpy as np

from slidesim.state import State

#: format marker stored in every checkpoint
CHECKPOINT_FORMAT = "slidesim-checkpoint"
CHECKPOINT_VERSION = 1
_ARRAY_PREFIX = "array."
_JSON_PREFIX = "json."


class CheckpointError(ValueError):
    """A file that is not a complete slidesim checkpoint."""


def _json_default(value):
    # numpy scalars sneak into RNG states and deck bookkeeping; JSON ints have no size limit
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _fsync_directory(directory):
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_checkpoint(path, state, extra=None):
    """Write ``state`` and the JSON-serialisable dict ``extra`` to ``path`` atomically.

    An existing ``path`` is kept as ``path + ".prev"`` (replacing an older ``.prev``).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    contents = {"format": np.array(CHECKPOINT_FORMAT),
                "version": np.array(CHECKPOINT_VERSION, dtype=np.int64),
                "extra": np.array(json.dumps(extra if extra is not None else {},
                                             default=_json_default))}
    for state_field in dataclasses.fields(State):
        value = getattr(state, state_field.name)
        if isinstance(value, np.ndarray):
            contents[_ARRAY_PREFIX + state_field.name] = value
        else:  # ints, floats (repr round-trips), names, RNG states with 128-bit ints
            contents[_JSON_PREFIX + state_field.name] = np.array(
                json.dumps(value, default=_json_default))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, allow_pickle=False, **contents)
            stream.flush()
            os.fsync(stream.fileno())
        if os.path.exists(path):
            _keep_previous(path)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_directory(directory)


def _keep_previous(path):
    """Make ``path + ".prev"`` a copy of ``path`` without ever leaving ``path`` missing."""
    previous = path + ".prev"
    staged = previous + ".tmp"
    if os.path.exists(staged):
        os.remove(staged)
    try:
        os.link(path, staged)  # a second name for the same data: cheap and atomic
    except OSError:
        shutil.copyfile(path, staged)
    os.replace(staged, previous)


def read_checkpoint(path):
    """Read a checkpoint written by :func:`write_checkpoint`.

    Returns ``(state, extra)``: a :class:`State` whose arrays are bitwise equal to those written
    and the ``extra`` dict. Raises :class:`CheckpointError` naming the file if it is missing
    fields, truncated or not a slidesim checkpoint.
    """
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "format" not in archive.files or str(archive["format"]) != CHECKPOINT_FORMAT:
                raise CheckpointError(f"{path} is not a slidesim checkpoint")
            version = int(archive["version"])
            if version > CHECKPOINT_VERSION:
                raise CheckpointError(f"{path} is checkpoint version {version}; this slidesim "
                                      f"reads up to version {CHECKPOINT_VERSION}")
            values = {}
            for name in archive.files:
                if name.startswith(_ARRAY_PREFIX):
                    values[name[len(_ARRAY_PREFIX):]] = archive[name]
                elif name.startswith(_JSON_PREFIX):
                    values[name[len(_JSON_PREFIX):]] = json.loads(str(archive[name]))
            known = {state_field.name for state_field in dataclasses.fields(State)}
            if set(values) - known:
                raise CheckpointError(f"{path} holds state fields {sorted(set(values) - known)} "
                                      f"that this slidesim's State does not have")
            state = State(**values)
            extra = json.loads(str(archive["extra"]))
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable slidesim checkpoint (truncated or "
                              f"corrupt?): {type(error).__name__}: {error}") from error
    return state, extra


def read_checkpoint_or_previous(path):
    """Read ``path``, or ``path + ".prev"`` if ``path`` is missing or corrupt.

    Returns ``(state, extra, used_path)``. Raises :class:`CheckpointError` if neither reads.
    """
    path = os.fspath(path)
    try:
        return (*read_checkpoint(path), path)
    except (CheckpointError, FileNotFoundError) as error:
        previous = path + ".prev"
        if not os.path.exists(previous):
            raise CheckpointError(f"{path} cannot be read ({error}) and there is no "
                                  f"{previous}") from error
        return (*read_checkpoint(previous), previous)
