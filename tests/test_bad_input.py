"""The bad-input corpus: every mistake a new user can make in a deck or on the command line ends
in one line, ``slidesim: error: ...``, on stderr, with exit status 2 (never a traceback, never a
hang), naming the file and, where there is one, the line.

Decks run through ``slidesim run --check`` in-process (click's CliRunner: fast, and an uncaught
exception shows up as ``result.exception``); a sample also runs as a real subprocess, where a
traceback would be printed. Most decks fail while being parsed, before any model is built; the
few that reach a model use the tether model on a small cell.
"""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
from click.testing import CliRunner

from slidesim.cli import main
from slidesim.deck import parse_deck

SYSTEM = "system bilayer material BN cells 2 2 stacking BA"
TIMESTEP = "timestep 1 fs"
STAGE = "stage s temperature 300 K steps 10"
TETHER = "model tether spring 4 eV/A^2"


def deck(*lines, system=SYSTEM, timestep=TIMESTEP, stage=STAGE):
    """Deck text: the system (line 1), the timestep (line 2), ``lines`` from line 3 on, and a
    stage at the end (each part left out when None)."""
    parts = [p for p in (system, timestep) if p is not None] + list(lines)
    if stage is not None:
        parts.append(stage)
    return "\n".join(parts) + "\n"


def bad(name, text, line, *words):
    """A corpus entry: the deck ``text`` must be rejected at ``line`` (None: the file as a whole)
    with a message containing every one of ``words``."""
    return pytest.param(text, line, words, id=name)


# ---------------------------------------------------------------------------------------------
# decks: text, the line the error must name, words the message must hold
DECKS = [
    # system
    bad("system-no-kind", deck(system="system"), 1, "'system' needs a name"),
    bad("system-kind-typo", deck(system="system bilayers"), 1, "unknown system", "bilayer"),
    bad("system-material-missing-value", deck(system="system bilayer material"), 1,
        "needs a value", "material BN"),
    bad("system-material-unknown", deck(system="system bilayer material XY"), 1,
        "unknown material 'XY'", "BN"),
    bad("system-material-case", deck(system="system bilayer material bn"), 1,
        "unknown material 'bn'", "did you mean 'BN'"),
    bad("system-cells-zero", deck(system="system bilayer cells 0 0"), 1, "cells", "at least 1"),
    bad("system-cells-negative", deck(system="system bilayer cells -3 3"), 1, "at least 1"),
    bad("system-cells-one-number", deck(system="system bilayer cells 2"), 1,
        "two whole numbers"),
    bad("system-cells-fraction", deck(system="system bilayer cells 2.5 2"), 1, "whole number"),
    bad("system-cells-huge", deck(system="system bilayer cells 1e9 1e9"), 1, "cells", "at most"),
    bad("system-cells-overflow", deck(system="system bilayer cells 1e400 2"), 1, "cells",
        "finite"),
    bad("system-stacking-unknown", deck(system="system bilayer stacking CA"), 1,
        "unknown stacking 'CA'"),
    bad("system-stacking-missing", deck(system="system bilayer stacking"), 1, "needs a value"),
    bad("system-lattice-zero", deck(system="system bilayer lattice 0 A"), 1, "lattice",
        "positive"),
    bad("system-lattice-negative", deck(system="system bilayer lattice -2.5 A"), 1,
        "positive"),
    bad("system-lattice-nan", deck(system="system bilayer lattice nan A"), 1, "finite"),
    bad("system-lattice-inf", deck(system="system bilayer lattice inf A"), 1, "finite"),
    bad("system-distance-zero", deck(system="system bilayer distance 0 A"), 1, "positive"),
    bad("system-distance-unit", deck(system="system bilayer distance 3.3 eV"), 1,
        "distance is a length", "'eV' is a unit of energy"),
    bad("system-distance-bad-unit", deck(system="system bilayer distance 3.3 Ang"), 1,
        "unknown unit 'Ang'"),
    bad("system-vacuum-small", deck(system="system bilayer vacuum 5 A"), 1, "vacuum",
        "too small"),
    bad("system-sliding-one-number", deck(system="system bilayer sliding 0.5"), 1,
        "needs a value"),
    bad("system-option-twice", deck(system="system bilayer cells 2 2 cells 3 3"), 1,
        "'cells' is given twice"),
    bad("system-option-unknown", deck(system="system bilayer cell 2 2"), 1,
        "unknown option 'cell'", "did you mean 'cells'"),
    bad("system-file-no-path", deck(system="system file"), 1, "needs a path"),
    bad("system-file-missing", deck(system="system file path missing.extxyz"), 1,
        "missing.extxyz", "not found"),
    bad("system-file-directory", deck(system="system file path adir"), 1, "adir",
        "is a folder"),
    bad("system-file-empty", deck(system="system file path empty.extxyz"), 1,
        "empty.extxyz", "is empty"),
    bad("system-file-option-of-bilayer", deck(system="system file path ok.extxyz cells 2 2"), 1,
        "'cells'", "system bilayer"),
    bad("system-bilayer-path", deck(system="system bilayer path ok.extxyz"), 1, "'path'",
        "system file"),
    bad("system-missing", deck(system=None), None, "declares no system"),
    # timestep
    bad("timestep-no-value", deck(timestep="timestep"), 2, "'timestep' needs a value"),
    bad("timestep-nan", deck(timestep="timestep nan fs"), 2, "finite"),
    bad("timestep-inf", deck(timestep="timestep inf fs"), 2, "finite"),
    bad("timestep-overflow", deck(timestep="timestep 1e400 fs"), 2, "finite"),
    bad("timestep-negative", deck(timestep="timestep -1 fs"), 2, "positive"),
    bad("timestep-zero", deck(timestep="timestep 0 fs"), 2, "positive"),
    bad("timestep-bare", deck(timestep="timestep 1"), 2, "needs a unit"),
    bad("timestep-wrong-unit", deck(timestep="timestep 1 K"), 2, "timestep is a time"),
    bad("timestep-extra", deck(timestep="timestep 1 fs 2 fs"), 2, "unexpected '2 fs'"),
    bad("timestep-word", deck(timestep="timestep one fs"), 2, "needs a number", "'one'"),
    bad("timestep-glued-unit", deck(timestep="timestep 1fs"), 2, "'1fs'",
        "space between the number and its unit"),
    bad("timestep-huge", deck(timestep="timestep 1e6 fs"), 2, "timestep", "at most"),
    bad("timestep-twice", deck("timestep 2 fs"), 3, "given twice"),
    bad("timestep-missing", deck(timestep=None), None, "declares no timestep"),
    # integrator
    bad("integrator-no-name", deck("integrator"), 3, "'integrator' needs a name"),
    bad("integrator-unknown", deck("integrator verlet"), 3, "unknown integrator 'verlet'"),
    bad("integrator-typo", deck("integrator nose-hover"), 3, "did you mean 'nose-hoover'"),
    bad("integrator-tdamp-zero", deck("integrator nose-hoover tdamp 0 fs"), 3, "tdamp",
        "positive"),
    bad("integrator-tdamp-negative", deck("integrator nose-hoover tdamp -100 fs"), 3,
        "positive"),
    bad("integrator-tdamp-inf", deck("integrator nose-hoover tdamp inf fs"), 3, "finite"),
    bad("integrator-tdamp-bare", deck("integrator nose-hoover tdamp 100"), 3, "needs a unit"),
    bad("integrator-chain-zero", deck("integrator nose-hoover chain 0"), 3, "chain",
        "at least 1"),
    bad("integrator-chain-fraction", deck("integrator nose-hoover chain 2.5"), 3,
        "whole number"),
    bad("integrator-loops-zero", deck("integrator nose-hoover loops 0"), 3, "loops",
        "at least 1"),
    bad("integrator-nose-hoover-damp", deck("integrator nose-hoover damp 100 fs"), 3,
        "'damp'", "tdamp"),
    bad("integrator-langevin-chain", deck("integrator langevin chain 3"), 3, "'chain'",
        "nose-hoover"),
    bad("integrator-langevin-two-damps", deck("integrator langevin tdamp 10 fs damp 20 fs"), 3,
        "tdamp", "damp", "not both"),
    bad("integrator-langevin-damp-zero", deck("integrator langevin damp 0 fs"), 3, "positive"),
    bad("integrator-langevin-tdamp-negative", deck("integrator langevin tdamp -10 fs"), 3,
        "positive"),
    bad("integrator-nve-tdamp", deck("integrator nve tdamp 100 fs"), 3, "'tdamp'",
        "no thermostat"),
    bad("integrator-respa-zero", deck("integrator nose-hoover respa 0"), 3, "at least 1"),
    bad("integrator-respa-overflow", deck("integrator nose-hoover respa 1e400"), 3, "finite"),
    bad("integrator-twice", deck("integrator nve", "integrator langevin"), 4, "given twice"),
    # seed, replicas, velocities
    bad("seed-negative", deck("seed -1"), 3, "seed", "0 or more"),
    bad("seed-fraction", deck("seed 1.5"), 3, "whole number"),
    bad("seed-word", deck("seed abc"), 3, "needs a number"),
    bad("seed-overflow", deck("seed 1e400"), 3, "finite"),
    bad("seed-no-value", deck("seed"), 3, "'seed' needs a value"),
    bad("replicas-zero", deck("replicas 0"), 3, "at least one replica"),
    bad("replicas-negative", deck("replicas -2"), 3, "at least one replica"),
    bad("replicas-huge", deck("replicas 1e9"), 3, "replicas", "at most"),
    bad("replicas-fraction", deck("replicas 2.5"), 3, "whole number"),
    bad("velocities-negative", deck("velocities -5 K"), 3, "cannot be negative"),
    bad("velocities-inf", deck("velocities inf K"), 3, "finite"),
    bad("velocities-wrong-unit", deck("velocities 300 fs"), 3, "velocities is a temperature"),
    # neighbor
    bad("neighbor-skin-negative", deck("neighbor skin -1 A"), 3, "cannot be negative"),
    bad("neighbor-skin-huge", deck("neighbor skin 1e6 A"), 3, "skin", "at most"),
    bad("neighbor-skin-nan", deck("neighbor skin nan A"), 3, "finite"),
    bad("neighbor-empty", deck("neighbor"), 3, "'neighbor' needs an option", "skin"),
    bad("neighbor-typo", deck("neighbor skn 1 A"), 3, "did you mean 'skin'"),
    # output
    bad("output-no-value", deck("output"), 3, "'output' needs a value"),
    bad("output-two-values", deck("output a b"), 3, "unexpected 'b'"),
    bad("output-under-a-file", deck("output afile/out"), 3, "afile", "not a folder"),
    bad("output-is-a-file", deck("output afile"), 3, "afile", "not a folder"),
    bad("output-in-proc", deck("output /proc/slidesim-out"), 3, "/proc", "cannot be written"),
    # trajectory, thermo, checkpoint
    bad("trajectory-every-negative", deck("trajectory every -1"), 3, "cannot be negative"),
    bad("trajectory-every-fraction", deck("trajectory every 1.5"), 3, "whole number"),
    bad("trajectory-velocities-maybe", deck("trajectory velocities maybe"), 3, "yes or no"),
    bad("trajectory-velocities-missing", deck("trajectory velocities"), 3, "yes or no"),
    bad("thermo-every-nan", deck("thermo every nan"), 3, "finite"),
    bad("thermo-every-missing", deck("thermo every"), 3, "needs a value"),
    bad("thermo-empty", deck("thermo"), 3, "'thermo' needs an option", "every"),
    bad("thermo-typo", deck("thermo evry 10"), 3, "did you mean 'every'"),
    bad("checkpoint-every-negative", deck("checkpoint every -100"), 3, "cannot be negative"),
    # limit
    bad("limit-temperature-negative", deck("limit temperature -5 K"), 3,
        "limit temperature", "positive finite", "limit temperature 5000 K"),
    bad("limit-temperature-inf", deck("limit temperature inf"), 3, "finite"),
    bad("limit-temperature-zero", deck("limit temperature 0 K"), 3, "positive finite"),
    bad("limit-displacement-zero", deck("limit displacement 0 A"), 3, "positive finite"),
    bad("limit-force-negative", deck("limit force -1 eV/A"), 3, "positive finite"),
    bad("limit-energy-nan", deck("limit energy nan eV"), 3, "finite"),
    bad("limit-force-energy-unit", deck("limit force 100 eV"), 3, "force is a force",
        "'eV' is a unit of energy"),
    bad("limit-empty", deck("limit"), 3, "'limit' needs an option"),
    bad("limit-typo", deck("limit temprature 500 K"), 3, "did you mean 'temperature'"),
    # stage
    bad("stage-no-name", deck(stage="stage"), 3, "'stage' needs a name"),
    bad("stage-no-duration", deck(stage="stage a"), 3, "needs a duration"),
    bad("stage-steps-zero", deck(stage="stage a temperature 300 K steps 0"), 3,
        "at least one step"),
    bad("stage-steps-negative", deck(stage="stage a temperature 300 K steps -5"), 3,
        "at least one step"),
    bad("stage-steps-overflow", deck(stage="stage a temperature 300 K steps 1e400"), 3,
        "finite"),
    bad("stage-steps-huge", deck(stage="stage a temperature 300 K steps 1e30"), 3, "steps",
        "at most"),
    bad("stage-steps-fraction", deck(stage="stage a temperature 300 K steps 2.5"), 3,
        "whole number"),
    bad("stage-duration-and-steps", deck(stage="stage a temperature 300 K steps 10 duration 1 ps"),
        3, "not both"),
    bad("stage-temperature-inf", deck(stage="stage a temperature inf K steps 10"), 3, "finite"),
    bad("stage-temperature-nan", deck(stage="stage a temperature nan K steps 10"), 3, "finite"),
    bad("stage-temperature-ramp-negative",
        deck(stage="stage a temperature 300 K to -5 K steps 10"), 3, "cannot be negative"),
    bad("stage-temperature-ramp-missing", deck(stage="stage a temperature 300 K to steps 10"), 3,
        "needs a number", "'steps'"),
    bad("stage-no-temperature", deck(stage="stage a steps 10"), 3, "needs a temperature"),
    bad("stage-duration-zero", deck(stage="stage a temperature 300 K duration 0 ps"), 3,
        "at least one step"),
    bad("stage-duration-negative", deck(stage="stage a temperature 300 K duration -1 ps"), 3,
        "cannot be negative"),
    bad("stage-duration-inf", deck(stage="stage a temperature 300 K duration inf ps"), 3,
        "finite"),
    bad("stage-duration-huge", deck(stage="stage a temperature 300 K duration 1e30 ps"), 3,
        "at most"),
    bad("stage-field-two-components", deck(stage=STAGE + " field 0 0"), 3, "three components"),
    bad("stage-field-nan", deck(stage=STAGE + " field 0 0 nan V/A"), 3, "finite"),
    bad("stage-field-rate-unit", deck(stage=STAGE + " field 0 0 -0.5 V/A/ps"), 3,
        "field is a field", "field_rate"),
    bad("stage-field-and-perp", deck(stage=STAGE + " field 0 0 -0.5 V/A field_perp 0.1"), 3,
        "not both"),
    bad("stage-field-par-no-angle", deck(stage=STAGE + " field_par 0.1 V/A"), 3,
        "needs its direction"),
    bad("stage-angle-no-field", deck(stage=STAGE + " field_angle 60 deg"), 3, "field_angle",
        "field_par"),
    bad("stage-field-perp-inf", deck(stage=STAGE + " field_perp inf V/A"), 3, "finite"),
    bad("stage-field-angle-unit", deck(stage=STAGE + " field_par 0.1 V/A field_angle 60 K"), 3,
        "field_angle is an angle"),
    bad("stage-stop-typo", deck(stage=STAGE + " stop switch"), 3, "unknown stop condition",
        "did you mean 'switched'"),
    bad("stage-stop-missing", deck(stage=STAGE + " stop"), 3, "needs a value"),
    bad("stage-option-twice", deck(stage=STAGE + " temperature 400 K"), 3,
        "'temperature' is given twice"),
    bad("stage-option-unknown", deck(stage=STAGE + " extra"), 3, "unknown option 'extra'"),
    bad("stage-missing", deck(stage=None), None, "has no stage"),
    # born charges and fields
    bad("born-charges-no-name", deck("born_charges"), 3, "'born_charges' needs a name"),
    bad("born-charges-unknown", deck("born_charges ml"), 3, "unknown born_charges 'ml'"),
    bad("born-charges-model-classical", deck("born_charges model"), 3, "bn-ilp",
        "predicts no Born charges", "born_charges registry"),
    # model
    bad("model-no-name", deck("model"), 3, "'model' needs a name"),
    bad("model-typo", deck("model bn-ilpp"), 3, "unknown model 'bn-ilpp'",
        "did you mean 'bn-ilp'"),
    bad("model-unknown", deck("model lj"), 3, "unknown model 'lj'", "bn-dft"),
    bad("model-torchscript-no-path", deck("model torchscript"), 3, "path"),
    bad("model-torchscript-missing-file", deck("model torchscript path missing.pt"), 3,
        "missing.pt", "not found"),
    bad("model-option-of-another", deck("model bn-ilp spring 5 eV/A^2"), 3,
        "has no option 'spring'"),
    bad("model-device-classical", deck("model bn-ilp device cuda"), 3, "has no option 'device'"),
    bad("model-tersoff-missing", deck("model bn-ilp tersoff missing.tersoff"), 3,
        "missing.tersoff", "not found"),
    bad("model-species-mos2-on-bn", deck("model mos2-ilp"), 3, "mos2-ilp", "Mo, S",
        "not B, N"),
    bad("model-species-bn-on-mos2",
        deck("model bn-dft", system="system bilayer material MoS2 cells 2 2 stacking XM"), 3,
        "bn-dft", "not Mo, S"),
    bad("model-tether-spring-negative", deck("model tether spring -5 eV/A^2"), 3, "spring",
        "positive"),
    bad("model-dtype", deck("model torchscript path ok.extxyz dtype float16"), 3,
        "dtype", "float32"),
    bad("model-twice", deck("model tether", "model bn-ilp"), 4, "given twice"),
    # keywords
    bad("keyword-typo", deck("temprature 300 K"), 3, "unknown keyword 'temprature'",
        "option of 'stage'"),
    bad("keyword-unicode-minus", deck("velocities \u22125 K"), 3, "needs a number",
        "U+2212", "not plain ASCII"),
    bad("keyword-timestep-typo", deck("timestpe 1 fs"), 3, "did you mean 'timestep'"),
    bad("keyword-stages", deck("stages a temperature 300 K steps 3"), 3,
        "did you mean 'stage'"),
    bad("keyword-capital", deck("Timestep 1 fs"), 3, "did you mean 'timestep'"),
    bad("keyword-integrator-typo", deck("intgrator nve"), 3, "did you mean 'integrator'"),
    bad("keyword-lammps-fix", deck("fix 1 all nvt temp 300 300 0.1"), 3,
        "unknown keyword 'fix'", "integrator"),
    bad("keyword-lammps-run", deck("run 1000"), 3, "unknown keyword 'run'", "stage"),
    bad("keyword-lammps-units", deck("units metal"), 3, "unknown keyword 'units'"),
    bad("keyword-end-alone", deck("end"), 3, "'end' without a matching 'loop'"),
    bad("keyword-unexpanded", deck(stage="stage a temperature $T K steps 1"), 3,
        "unexpanded variable"),
    # loops
    bad("loop-billion", deck("loop T from 1 to 1e9 step 1", "stage a_$T temperature $T K steps 1",
                             "end", stage=None), 3, "1000000000 values", "at most"),
    bad("loop-nested-too-many", deck("loop A from 1 to 5000 step 1", "loop B from 1 to 5000 step 1",
                                     "stage a_${A}_$B temperature 300 K steps 1", "end", "end",
                                     stage=None), 3, "at most"),
    bad("loop-no-values", deck("loop T in", "end"), 3, "malformed loop"),
    bad("loop-no-step", deck("loop T from 1 to 10", "end"), 3, "malformed loop"),
    bad("loop-bad-variable", deck("loop 1T in 1 2", "end"), 3, "malformed loop"),
    bad("loop-step-zero", deck("loop T from 1 to 10 step 0", "end"), 3, "never goes"),
    bad("loop-nan", deck("loop T from 1 to nan step 1", "end"), 3, "finite"),
    bad("loop-inf", deck("loop T from 1 to inf step 1", "end"), 3, "finite"),
    bad("loop-word-values", deck("loop T in a b", "end"), 3, "needs a number"),
    bad("loop-unterminated", deck("loop T in 1 2", "stage a_$T temperature $T K steps 1",
                                  stage=None), 3, "without a matching 'end'"),
    bad("loop-other-variable", deck("loop T in 1 2", "stage a_$T temperature $U K steps 1",
                                    "end", stage=None), 4, "unexpanded variable"),
    bad("loop-body-error", deck("loop T in 100 -100", "stage a_$T temperature $T K steps 1",
                                "end", stage=None), 4, "cannot be negative"),
    # the file itself
    bad("file-empty", "", None, "empty"),
    bad("file-comments-only", "# nothing here\n\n", None, "declares no system"),
]

#: decks that parse and reach the model build of ``run --check``: the problem is in a file the
#: deck names. (text, words); the message must name the deck.
MODEL_DECKS = [
    pytest.param(deck(TETHER, system="system file path garbage.extxyz"),
                 ("garbage.extxyz",), id="system-file-binary"),
    pytest.param(deck(TETHER, system="system file path notes.txt"),
                 ("notes.txt",), id="system-file-unknown-format"),
    pytest.param(deck(TETHER, system="system file path molecule.extxyz"),
                 ("molecule.extxyz", "periodic", "pbc=[False, False, False]"),
                 id="system-file-not-periodic"),
    pytest.param(deck("model bn-ilp tersoff empty.extxyz"),
                 ("empty.extxyz",), id="model-parameter-file-empty"),
]


@contextmanager
def deadline(seconds):
    """Fail (instead of hanging) if the block runs longer than ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s: a hang")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with the files the corpus points at; the current directory (outputs go there)."""
    (tmp_path / "afile").write_text("a regular file\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "empty.extxyz").write_text("")
    (tmp_path / "garbage.extxyz").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "notes.txt").write_text("these are notes, not a structure\n")
    (tmp_path / "molecule.extxyz").write_text(
        '2\nLattice="0 0 0 0 0 0 0 0 0" Properties=species:S:1:pos:R:3 pbc="F F F"\n'
        "B 0 0 0\nN 1.4 0 0\n")
    from slidesim.io.structures import write_structure
    from slidesim.structures import bilayer

    write_structure(tmp_path / "ok.extxyz", bilayer("BN", (2, 2), "BA"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(args, seconds=60):
    """``slidesim ARGS`` in-process; returns click's Result."""
    with deadline(seconds):
        return CliRunner().invoke(main, args)


def assert_one_line_error(result, *words, where=None):
    """Exit status 2 and stderr exactly one line 'slidesim: error: ...' holding ``words`` (and
    starting its message with ``where`` when given)."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback
        raise AssertionError("an exception escaped: " + "".join(
            traceback.format_exception(result.exception)))
    lines = result.stderr.splitlines()
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("slidesim: error: "), result.stderr
    assert "Traceback" not in result.output
    message = lines[0][len("slidesim: error: "):]
    if where is not None:
        assert message.startswith(where), message
    for word in words:
        assert word in message, (word, message)
    return message


@pytest.mark.parametrize("text, line, words", DECKS)
def test_bad_deck_is_one_line_naming_file_and_line(workdir, text, line, words):
    path = workdir / "bad.in"
    path.write_text(text)
    result = invoke(["run", "--check", str(path)])
    assert_one_line_error(result, *words, where=f"{path}:{line}:" if line else f"{path}:")


@pytest.mark.parametrize("text, words", MODEL_DECKS)
def test_bad_file_named_by_a_deck_is_one_line(workdir, text, words):
    path = workdir / "bad.in"
    path.write_text(text)
    result = invoke(["run", "--check", str(path)], seconds=120)
    assert_one_line_error(result, *words, where=f"{path}")


def test_corpus_is_large_enough():
    assert len(DECKS) + len(MODEL_DECKS) + len(ENCODED_DECKS) >= 100
    assert len(COMMAND_LINES) >= 40


# ---------------------------------------------------------------------------------------------
# decks that are not clean UTF-8 text

ENCODED_DECKS = [
    pytest.param(b"\x00\x01\x02ELF\xff\xfe" * 50, 1, ("not a text file",), id="binary"),
    pytest.param(deck("# r\xe9chauffe").encode("latin-1"), 3, ("not UTF-8", "0xe9"),
                 id="latin-1"),
    pytest.param(deck().encode("utf-16"), 1, ("not a text file",), id="utf-16"),
    pytest.param(b"\xef\xbb\xbf" + deck("stage b temperature 1 K steps 1\xc2\xa0\xe2\x80\x8b"
                                         .encode("latin-1").decode()).encode(), 3,
                 ("unknown option", "U+200B"), id="zero-width-space"),
]


@pytest.mark.parametrize("content, line, words", ENCODED_DECKS)
def test_undecodable_deck_is_one_line(workdir, content, line, words):
    path = workdir / "bad.in"
    path.write_bytes(content)
    result = invoke(["run", "--check", str(path)])
    assert_one_line_error(result, *words, where=f"{path}:{line}:")


def test_a_byte_order_mark_is_accepted(workdir):
    """Editors on Windows start UTF-8 files with a byte-order mark; it is not a keyword."""
    path = workdir / "bom.in"
    path.write_bytes(b"\xef\xbb\xbf" + deck(TETHER).encode())
    result = invoke(["run", "--check", str(path)], seconds=120)
    assert result.exit_code == 0, result.output
    assert "deck OK" in result.stdout
    assert parse_deck("\ufeff\ufeff" + deck(TETHER), "two.in").model["name"] == "tether"


def test_langevin_takes_its_damping_time_as_tdamp():
    """As LAMMPS's fix langevin: 'langevin tdamp 10 fs' is the damping time (not ignored);
    the older 'damp' keeps working."""
    from slidesim.simulation import build_integrator

    for option in ("tdamp", "damp"):
        parsed = parse_deck(deck(f"integrator langevin {option} 10 fs"), "l.in")
        assert build_integrator(parsed).damp == pytest.approx(0.01)


# ---------------------------------------------------------------------------------------------
# command lines: arguments ({tmp} is the work folder), words the message must hold

def cli(name, args, *words):
    return pytest.param(args, words, id=name)


COMMAND_LINES = [
    cli("no-such-command", ["rn", "x.in"], "No such command 'rn'"),
    cli("unknown-group-option", ["--verbose", "run"], "--verbose"),
    cli("run-missing-deck", ["run", "missing.in"], "missing.in", "not found"),
    cli("run-deck-is-folder", ["run", "adir"], "adir", "directory"),
    cli("run-no-deck", ["run"], "Missing argument 'DECK'"),
    cli("run-unknown-option", ["run", "ok.in", "--chek"], "--chek", "--check"),
    cli("run-steps-word", ["run", "ok.in", "--steps", "many"], "--steps", "many"),
    cli("run-steps-negative", ["run", "ok.in", "--steps", "-5"], "--steps"),
    cli("run-threads-zero", ["run", "ok.in", "--threads", "0"], "--threads"),
    cli("run-restart-missing", ["run", "ok.in", "--restart", "missing.npz"], "missing.npz"),
    cli("run-restart-not-npz", ["run", "ok.in", "--restart", "notes.txt"], "notes.txt"),
    cli("run-restart-folder", ["run", "ok.in", "--restart", "adir"], "adir"),
    cli("analyze-no-file", ["analyze"], "Missing argument"),
    cli("analyze-missing", ["analyze", "missing.nc"], "missing.nc"),
    cli("analyze-not-netcdf", ["analyze", "notes.txt"], "notes.txt"),
    cli("analyze-binary", ["analyze", "garbage.extxyz"], "garbage.extxyz"),
    cli("analyze-empty", ["analyze", "empty.extxyz"], "empty.extxyz"),
    cli("analyze-truncated", ["analyze", "truncated.nc", "--no-plots"], "truncated.nc"),
    cli("analyze-lattice-zero", ["analyze", "traj.nc", "--lattice", "0"], "--lattice"),
    cli("analyze-lattice-negative", ["analyze", "traj.nc", "--lattice", "-2.5"], "--lattice"),
    cli("analyze-lattice-nan", ["analyze", "traj.nc", "--lattice", "nan"], "--lattice"),
    cli("analyze-supercell-zero", ["analyze", "traj.nc", "--supercell", "0", "4"],
        "--supercell"),
    cli("analyze-capture-negative", ["analyze", "traj.nc", "--capture-radius", "-1"],
        "--capture-radius"),
    cli("analyze-discard-one", ["analyze", "traj.nc", "--discard", "1"], "--discard"),
    cli("analyze-order-garbage", ["analyze", "traj.nc", "--order-param", "G=x"], "G=x"),
    cli("analyze-block-zero", ["analyze", "traj.nc", "--block-frames", "0"], "--block-frames"),
    cli("analyze-out-under-file", ["analyze", "traj.nc", "--no-plots", "--out", "afile/out"],
        "afile", "choose another --out"),
    cli("profile-material", ["profile", "--material", "XY"], "unknown material"),
    cli("profile-model", ["profile", "--model", "nope"], "unknown model 'nope'"),
    cli("profile-lattice-zero", ["profile", "--lattice", "0"], "--lattice"),
    cli("profile-points-negative", ["profile", "--points", "-3"], "--points"),
    cli("landscape-divisions-zero", ["landscape", "--divisions", "0"], "--divisions"),
    cli("landscape-path-points-one", ["landscape", "--path-points", "1"], "--path-points"),
    cli("landscape-material", ["landscape", "--material", "XY"], "unknown material"),
    cli("landscape-lattice-negative", ["landscape", "--lattice", "-1"], "--lattice"),
    cli("landscape-output-under-file", ["landscape", "--output", "afile/scan"], "afile",
        "not a folder"),
    cli("coercive-points-two", ["coercive", "--points", "2"], "--points"),
    cli("coercive-points-negative", ["coercive", "--points", "-3"], "--points"),
    cli("coercive-e-par-zero", ["coercive", "--e-par-max", "0"], "--e-par-max"),
    cli("coercive-e-par-nan", ["coercive", "--e-par-max", "nan"], "--e-par-max"),
    cli("coercive-csv-missing", ["coercive", "--from-csv", "missing.csv"], "missing.csv"),
    cli("coercive-csv-garbage", ["coercive", "--from-csv", "garbage.extxyz"], "garbage.extxyz"),
    cli("coercive-t-ba-alone", ["coercive", "--t-ba", "-0.7"], "--t-ba"),
    cli("coercive-csv-out-under-file", ["coercive", "--csv", "afile/c.csv"], "afile"),
    cli("validate-model", ["validate", "--model", "nope"], "unknown model 'nope'"),
    cli("validate-model-of-several-materials", ["validate", "--model", "tmd-ilp"], "tmd-ilp",
        "--suite"),
    cli("validate-suite-missing", ["validate", "--suite", "missing"], "missing"),
    cli("validate-ilp-missing", ["validate", "--ilp", "missing.ILP"], "missing.ILP"),
    cli("validate-lattice-zero", ["validate", "--lattice", "0"], "--lattice"),
    cli("fit-suite-missing", ["fit", "--suite", "missing"], "missing"),
    cli("fit-free-unknown", ["fit", "--free", "gamma"], "gamma"),
    cli("sweep-missing-deck", ["sweep", "missing.in"], "missing.in", "not found"),
    cli("sweep-set-garbage", ["sweep", "ok.in", "--set", "nonsense", "--dry-run"], "nonsense"),
    cli("sweep-seeds-negative", ["sweep", "ok.in", "--seeds", "-2", "--dry-run"], "--seeds"),
    cli("sweep-workers-zero", ["sweep", "ok.in", "--workers", "0", "--dry-run"], "--workers"),
    cli("sweep-retries-negative", ["sweep", "ok.in", "--retries", "-1", "--dry-run"],
        "--retries"),
    cli("sweep-coercive-step-zero", ["sweep", "ok.in", "--coercive", "E", "--step", "0",
                                     "--dry-run"], "step"),
    cli("sweep-bad-deck", ["sweep", "bad.in", "--dry-run"], "bad.in:3:"),
    cli("neb-images-two", ["neb", "--images", "2"], "--images", "at least 5"),
    cli("neb-images-word", ["neb", "--images", "abc"], "--images"),
    cli("neb-model-unknown", ["neb", "--model", "nope"], "unknown model 'nope'"),
    cli("neb-fmax-negative", ["neb", "--fmax", "-1"], "--fmax"),
    cli("neb-cells-zero", ["neb", "--cells", "0", "0"], "--cells"),
    cli("neb-lattice-zero", ["neb", "--lattice", "0"], "lattice"),
    cli("model-no-subcommand-typo", ["model", "inf"], "No such command 'inf'"),
    cli("model-info-missing", ["model", "info", "missing.pt"], "missing.pt"),
    cli("model-info-garbage", ["model", "info", "garbage.extxyz"], "garbage.extxyz"),
    cli("model-build-bec-alone", ["model", "build", "out.pt", "--bec", "ok.extxyz"], "--bec"),
    cli("model-build-cutoff-negative", ["model", "build", "out.pt", "--cutoff", "-5"],
        "--cutoff"),
    cli("model-dataset-cells-zero", ["model", "dataset", "d.extxyz", "--cells", "0"],
        "--cells"),
    cli("model-dataset-temperatures", ["model", "dataset", "d.extxyz", "--temperatures",
                                       "hot,cold"], "--temperatures", "hot"),
    cli("model-dataset-frames-negative", ["model", "dataset", "d.extxyz", "--frames", "-1"],
        "--frames"),
    cli("model-train-missing", ["model", "train", "missing.extxyz", "-o", "m.pt"],
        "missing.extxyz"),
]


@pytest.fixture
def cli_workdir(workdir):
    """The work folder plus a small slidesim trajectory, a half-truncated copy, a good deck
    and a bad one."""
    from slidesim.io.trajectory import TrajectoryWriter
    from slidesim.structures import bilayer

    structure = bilayer("BN", (4, 4), "BA")
    with TrajectoryWriter(workdir / "traj.nc", structure) as writer:
        for step in range(20):
            structure.step, structure.time = step, 0.01 * step
            writer.write_frame(structure, temperature_target=300.0, temperature=300.0)
    data = (workdir / "traj.nc").read_bytes()
    (workdir / "truncated.nc").write_bytes(data[:len(data) // 2])
    (workdir / "ok.in").write_text(deck(TETHER, "output run_out"))
    (workdir / "bad.in").write_text(deck("timestep 2 fs"))
    return workdir


@pytest.mark.parametrize("args, words", COMMAND_LINES)
def test_bad_command_line_is_one_line(cli_workdir, args, words):
    result = invoke(args, seconds=120)
    assert_one_line_error(result, *words)


# ---------------------------------------------------------------------------------------------
# a sample as real processes: a traceback would be printed there, and a hang is a timeout

SUBPROCESS_CASES = [
    ["run", "--check", "nan.in"],
    ["run", "--check", "latin1.in"],
    ["run", "--check", "loop.in"],
    ["run", "--check", "under_file.in"],
    ["run", "--check", "bom.in"],
    ["analyze", "truncated.nc", "--no-plots"],
    ["analyze", "traj.nc", "--lattice", "0"],
    ["run", "adir"],
]


def test_bad_inputs_in_real_processes(cli_workdir):
    (cli_workdir / "nan.in").write_text(deck(timestep="timestep nan fs"))
    (cli_workdir / "latin1.in").write_bytes(deck("# \xe9t\xe9").encode("latin-1"))
    (cli_workdir / "loop.in").write_text(deck("loop T from 1 to 1e9 step 1",
                                              "stage s$T temperature 1 K steps 1", "end",
                                              stage=None))
    (cli_workdir / "under_file.in").write_text(deck("output afile/out"))
    (cli_workdir / "bom.in").write_bytes(b"\xef\xbb\xbf" + deck("temprature 3 K").encode())
    environment = dict(os.environ, NUMBA_NUM_THREADS="1")
    messages = {}
    for args in SUBPROCESS_CASES:
        done = subprocess.run([sys.executable, "-m", "slidesim.cli", *args], cwd=cli_workdir,
                              capture_output=True, text=True, timeout=120, env=environment)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("slidesim: error: "), (args, done.stderr)
        messages[args[-1]] = lines[0]
    assert "bom.in:3: unknown keyword 'temprature'" in messages["bom.in"]


def test_warnings_on_the_command_line_are_one_line(tmp_path):
    """A warning raised while a command runs prints as ``slidesim: warning: ...``, one line,
    without Python's file name and source line."""
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""
        import sys, warnings
        import click
        from slidesim import cli

        @click.command("warn")
        def warn():
            warnings.warn("ILP: atoms [1, 2] have\\n  more than 3 neighbours", RuntimeWarning)

        cli.main.add_command(warn)
        sys.argv = ["slidesim", "warn"]
        cli.main()
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["slidesim: warning: ILP: atoms [1, 2] have more than 3 neighbours"], lines
