"""Every example deck in inputs/ reads, builds its system and model, and evaluates its forces."""

import glob
import os
import re

import pytest
from click.testing import CliRunner

from slidesim.cli import main
from slidesim.deck import DeckError, read_deck

INPUTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "inputs")
DECKS = sorted(glob.glob(os.path.join(INPUTS, "*.in")))


@pytest.mark.parametrize("path", DECKS, ids=[os.path.basename(p) for p in DECKS])
def test_example_deck_checks(path):
    try:
        read_deck(path)
    except DeckError as err:
        # sweep templates leave variables ($T, ...) to `slidesim sweep --set`
        assert "unexpanded variable" in str(err)
        names = set(re.findall(r"\$\{?([A-Za-z_]\w*)", open(path).read()))
        # a number stands in for each value; a model must be one that exists (names are checked)
        stand_in = {"MODEL": "bn-ilp"}
        deck = read_deck(path, {name: stand_in.get(name, 300) for name in names})
        assert deck.stages
        return
    result = CliRunner().invoke(main, ["run", "--check", path])
    assert result.exit_code == 0, result.output
    assert "deck OK" in result.output
