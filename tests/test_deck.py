"""Deck parsing: values, units, loops, and errors that name the file, the line and the fix."""

import pytest

from slidesim.deck import DeckError, parse_deck

BASE = """system bilayer material BN cells 4 4 stacking BA
timestep 1 fs
"""


def parse(extra):
    return parse_deck(BASE + extra, "test.in")


def test_units_are_converted_to_slidesim_units():
    deck = parse("integrator nose-hoover tdamp 100 fs\nstage a temperature 300 K duration 0.5 ps\n"
                 "stage b temperature 300 K to 600 K steps 20\nneighbor skin 0.2 nm\n")
    assert deck.timestep == pytest.approx(1e-3)
    assert deck.integrator["tdamp"] == pytest.approx(0.1)
    assert deck.skin == pytest.approx(2.0)
    assert [(s.name, s.t_start, s.t_stop, s.n_steps) for s in deck.stages] == [
        ("a", 300.0, 300.0, 500), ("b", 300.0, 600.0, 20)]
    assert deck.model["name"] == "bn-ilp"


def test_loops_heat_then_cool_without_writing_every_stage():
    deck = parse("loop T from 50 to 2000 step 50\n  stage heat_$T temperature $T K duration 1 ps\n"
                 "end\nloop T from 1950 to 50 step -50\n  stage cool_${T} temperature $T K "
                 "duration 1 ps\nend\n")
    temps = [s.t_start for s in deck.stages]
    assert temps[:3] == [50, 100, 150] and temps[39] == 2000 and temps[40] == 1950
    assert temps[-1] == 50 and len(temps) == 40 + 39
    assert deck.stages[0].name == "heat_50" and deck.stages[-1].name == "cool_50"


def test_nested_and_listed_loops():
    deck = parse("loop S in 1 2\nloop T in 10 20\nstage s${S}_t$T temperature $T K steps $S\nend\nend\n")
    assert [(s.t_start, s.n_steps) for s in deck.stages] == [(10, 1), (20, 1), (10, 2), (20, 2)]


@pytest.mark.parametrize("line, message, fix", [
    ("temprature 300 K", "unknown keyword 'temprature'", None),
    ("stage a temperature 300 K durtion 1 ps", "unknown option 'durtion'", "did you mean 'duration'"),
    ("stage a temperature 300 K duration 1 K", "duration is a time", "fs, ps, ns"),
    ("stage a temperature 300 K duration 1", "duration needs a unit", "duration 1 fs"),
    ("stage a temperature 300 K duration 1 pss", "unknown unit 'pss'", "did you mean 'ps'"),
    ("stage a temperature 300 K", "a stage needs a duration", "duration 10 ps"),
    ("stage a temperature -5 K steps 3", "cannot be negative", None),
    ("stage a temperature 300 K duration 1.5 fs", "not a whole number", None),
    ("integrator nose-hover", "unknown integrator 'nose-hover'", "did you mean 'nose-hoover'"),
    ("stage a temperature abc K steps 3", "needs a number", None),
    ("loop T from 1 to 10 step -1\nstage a temperature $T K steps 1\nend", "never goes", None),
    ("loop T from 1 to 10 step 1\nstage a temperature $T K steps 1", "without a matching 'end'", None),
    ("timestep 2 fs", "'timestep' is given twice", None),
])
def test_errors_name_file_line_and_fix(line, message, fix):
    with pytest.raises(DeckError) as info:
        parse(line + "\n")
    text = str(info.value)
    assert text.startswith("test.in:3:"), text
    assert message in text
    if fix:
        assert "fix:" in text and fix in text


def test_missing_declarations_are_reported():
    with pytest.raises(DeckError, match="no timestep"):
        parse_deck("system bilayer\nstage a temperature 1 K steps 1\n", "x.in")
    with pytest.raises(DeckError, match="no stage"):
        parse_deck(BASE, "x.in")
    with pytest.raises(DeckError, match="no system"):
        parse_deck("timestep 1 fs\nstage a temperature 1 K steps 1\n", "x.in")


def test_variables_given_from_outside_are_substituted():
    deck = parse_deck(BASE + "stage a temperature $T K steps ${N}\n", "v.in", {"T": 350, "N": 7})
    assert (deck.stages[0].t_start, deck.stages[0].n_steps) == (350.0, 7)
    with pytest.raises(DeckError, match="unexpanded variable"):
        parse_deck(BASE + "stage a temperature $T K steps 3\n", "v.in")
