"""Checkpoints: the whole :class:`slidesim.state.State` on disk, written atomically.

A checkpoint is a numpy ``.npz`` archive (no pickle) holding every field of the state, bit for
bit, plus ``meta``, a JSON document describing the run that wrote it (deck path and hash,
integrator, model); meta is information, never state. Array fields are stored as
``array.<field>``; every other field (step, time, stage, species names, the RNG states whose
PCG64 counters are 128-bit integers, the switching record) as JSON text ``json.<field>`` (JSON
integers have no size limit and floats are written with ``repr``, so both read back exactly).
Fields are taken from the State dataclass itself, so new State fields are saved too. Writing
goes to a temporary file in the same directory, is fsynced and then renamed over the target; the
checkpoint it replaces is kept as ``path + ".prev"``, so a crash at any moment leaves at least
one complete checkpoint.

Format versions: 2 (this one); 1 (slidesim 0.1: the thermostat array of either integrator in
``thermostat``, the run's starting positions, field work and switching memory in ``extra``)
still loads.
"""

import dataclasses
import json
import os
import shutil
import tempfile
import zipfile

import numpy as np

from slidesim.io import give_default_mode
from slidesim.state import State, SwitchingRecord

#: format marker stored in every checkpoint
CHECKPOINT_FORMAT = "slidesim-checkpoint"
CHECKPOINT_VERSION = 2
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


def write_checkpoint(path, state, meta=None):
    """Write ``state`` and the JSON-serialisable dict ``meta`` to ``path`` atomically.

    An existing ``path`` is kept as ``path + ".prev"`` (replacing an older ``.prev``).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    contents = {"format": np.array(CHECKPOINT_FORMAT),
                "version": np.array(CHECKPOINT_VERSION, dtype=np.int64),
                "meta": np.array(json.dumps(meta if meta is not None else {},
                                            default=_json_default))}
    for state_field in dataclasses.fields(State):
        value = getattr(state, state_field.name)
        if isinstance(value, SwitchingRecord):
            value = value.as_json()
        if isinstance(value, np.ndarray):
            contents[_ARRAY_PREFIX + state_field.name] = value
        else:  # ints, floats (repr round-trips), names, RNG states with 128-bit ints
            contents[_JSON_PREFIX + state_field.name] = np.array(
                json.dumps(value, default=_json_default))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint.", suffix=".tmp")
    try:
        give_default_mode(handle)
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


def read_checkpoint(path, integrator=None):
    """Read a checkpoint written by :func:`write_checkpoint` (format 2, or 1 of slidesim 0.1).

    Returns ``(state, meta)``: a :class:`State` whose arrays are bitwise equal to those written
    and the ``meta`` dict. Raises :class:`CheckpointError` naming the file if it is missing
    fields, truncated or not a slidesim checkpoint. integrator: the name of the integrator that
    will continue the run; a format-1 file does not say whose thermostat array it holds, so a
    Langevin run passes "langevin" to read its bath energy.
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
            meta = json.loads(str(archive["meta" if version >= 2 else "extra"]))
            if version == 1:
                meta = _upgrade_version_1(values, meta, integrator)
            known = {state_field.name for state_field in dataclasses.fields(State)}
            if set(values) - known:
                raise CheckpointError(f"{path} holds state fields {sorted(set(values) - known)} "
                                      f"that this slidesim's State does not have")
            n_replicas = np.shape(values["positions"])[0]
            values["switching"] = SwitchingRecord.from_json(values.get("switching", {}),
                                                            n_replicas)
            state = State(**values)
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable slidesim checkpoint (truncated or "
                              f"corrupt?): {type(error).__name__}: {error}") from error
    return state, meta


def _upgrade_version_1(values, extra, integrator):
    """Format 1 -> 2: State fields that format 1 kept in ``thermostat`` and ``extra``."""
    thermostat = np.asarray(values.pop("thermostat"))
    if integrator == "langevin":
        values["bath_energy"] = thermostat[:, 0, 0].copy()
    else:
        values["nose_hoover"] = thermostat
    if "initial_positions" in extra:
        values["initial_positions"] = np.array(extra["initial_positions"], dtype=np.float64)
    if "field_work" in extra:
        values["field_work"] = np.array(extra["field_work"], dtype=np.float64)
    values["switching"] = {key: extra[key] for key in ("events", "switched_in_stage", "detectors")
                           if key in extra}
    return {key: extra[key] for key in ("deck_hash", "deck_path") if key in extra}


def read_checkpoint_or_previous(path, integrator=None):
    """Read ``path``, or ``path + ".prev"`` if ``path`` is missing or corrupt.

    Returns ``(state, meta, used_path)``. Raises :class:`CheckpointError` if neither reads.
    """
    path = os.fspath(path)
    try:
        return (*read_checkpoint(path, integrator), path)
    except (CheckpointError, FileNotFoundError) as error:
        previous = path + ".prev"
        if not os.path.exists(previous):
            raise CheckpointError(f"{path} cannot be read ({error}) and there is no "
                                  f"{previous}") from error
        return (*read_checkpoint(previous, integrator), previous)


@dataclasses.dataclass(frozen=True)
class RunProgress:
    """How far the run that wrote a checkpoint got (what a sweep needs to resume or skip it).

    step: MD steps done; time [ps]; stage: index of the running stage (equal to the number of
    stages when the schedule is done); stage_step: steps done in it; events: the switching
    events so far (dicts, see :class:`slidesim.state.SwitchingRecord`); deck_hash: SHA-256 of
    the deck text that wrote it (None if unknown).
    """

    step: int
    time: float
    stage: int
    stage_step: int
    events: list
    deck_hash: str = None

    def finished(self, n_stages):
        """True when a schedule of ``n_stages`` stages has been run to its end."""
        return self.stage >= n_stages


def run_progress(path):
    """The :class:`RunProgress` of the checkpoint at ``path`` (raises CheckpointError)."""
    state, meta = read_checkpoint(path)
    return RunProgress(state.step, state.time, state.stage, state.stage_step,
                       list(state.switching.events), meta.get("deck_hash"))
