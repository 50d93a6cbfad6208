"""Force fields of slidesim: additive force terms combined into a named model.

``build_model(name, species_names, state=None, **options)`` returns a
:class:`~slidesim.models.model.Model`. Known names are in :data:`MODELS`.
"""

import difflib
import inspect
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


def _bn_dft(species_names, state=None, tersoff=None, ilp=None):
    """bn-ilp's terms with parameters calibrated to DFT (slidesim/models/bn_dft.py)."""
    from slidesim.models.bn_dft import bn_dft

    return bn_dft(species_names, state, tersoff=tersoff, ilp=ilp)


def _torchscript(species_names, state=None, path=None, device="auto", dtype="float64"):
    """A machine-learned model from a TorchScript file (docs/ml_models.md; needs torch)."""
    from slidesim.ml.torch_model import TorchScriptTerm
    from slidesim.models.model import Model

    if path is None:
        raise ValueError("the torchscript model needs the model file: option path FILE")
    return Model("torchscript", [TorchScriptTerm(path, species_names, device, dtype)],
                 species_names)


#: model name -> factory(species_names, state=None, **options)
MODELS = {"bn-ilp": _bn_ilp, "bn-dft": _bn_dft, "tether": _tether, "torchscript": _torchscript}


#: what a model implies for a bilayer when a deck leaves it open: lattice constant a [A],
#: interlayer distance d [A] (its optimum) and the registry-dipole parameters of its Born charges
MODEL_DEFAULTS = {
    "bn-ilp": {"lattice": 2.5045, "distance": 3.235, "dipole": None},
    "bn-dft": {"lattice": 2.511, "distance": 3.074,
               "dipole": os.path.join(PARAMS_DIR, "BN_dft_dipole.json")},
}


def build_model(name, species_names, state=None, **options):
    """The model called ``name`` for atoms of ``species_names``; options as in docs/models.md."""
    if name not in MODELS:
        close = difflib.get_close_matches(name, list(MODELS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown model '{name}'{hint} Known models: {', '.join(MODELS)}")
    factory = MODELS[name]
    accepted = [p for p in inspect.signature(factory).parameters
                if p not in ("species_names", "state", "options")]
    unknown = [key for key in options if key not in accepted]
    if unknown:
        raise ValueError(f"model '{name}' has no option {', '.join(map(repr, unknown))}; "
                         f"its options: {', '.join(accepted) or 'none'}")
    return factory(species_names, state=state, **options)
