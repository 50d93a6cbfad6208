"""Force fields of slidesim: additive force terms combined into a named model.

``build_model(name, species_names, state=None, **options)`` returns a
:class:`~slidesim.models.model.Model`. Known names are in :data:`MODELS`.
"""

import difflib
import os

PARAMS_DIR = os.path.join(os.path.dirname(__file__), "params")


def _bn_ilp(species_names, state=None, tersoff=None, ilp=None):
    """Tersoff (BNC.tersoff) + ILP (BNCH.ILP, 16 A, taper) + shielded Coulomb (B +0.42, N -0.42 e)."""
    from slidesim.models.coulomb import ShieldedCoulombTerm
    from slidesim.models.ilp import ILPTerm
    from slidesim.models.model import Model
    from slidesim.models.tersoff import TersoffTerm

    tersoff = tersoff or os.path.join(PARAMS_DIR, "BNC.tersoff")
    ilp = ilp or os.path.join(PARAMS_DIR, "BNCH.ILP")
    terms = [TersoffTerm(tersoff, species_names), ILPTerm(ilp, species_names),
             ShieldedCoulombTerm(species_names)]
    return Model("bn-ilp", terms, species_names)


def _tether(species_names, state=None, spring=5.0):
    """Harmonic tether of every atom to its starting position (engine tests only)."""
    from slidesim.models.model import Model
    from slidesim.models.tether import TetherTerm

    if state is None:
        raise ValueError("the tether model needs the starting structure")
    return Model("tether", [TetherTerm(state.positions[0], spring)], species_names)


#: model name -> factory(species_names, state=None, **options)
MODELS = {"bn-ilp": _bn_ilp, "tether": _tether}


def build_model(name, species_names, state=None, **options):
    """The model called ``name`` for atoms of ``species_names``; options as in docs/models.md."""
    if name not in MODELS:
        close = difflib.get_close_matches(name, list(MODELS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown model '{name}'{hint} Known models: {', '.join(MODELS)}")
    return MODELS[name](species_names, state=state, **options)
