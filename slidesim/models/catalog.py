"""The model catalog: every named model of slidesim and what it implies for a bilayer.

One :class:`ModelEntry` per model name holds its factory and the settings a command takes from
the model when the user leaves them open: the lattice constant a [A] the model is stress-free at,
its interlayer distance d [A] (the optimum of the flat AB bilayer) and the parameters of the
registry dipole that gives its Born charges. ``slidesim run``, ``profile``, ``landscape``,
``validate`` and ``model dataset`` all ask :func:`model_entry`; nothing else in slidesim holds
these numbers.
"""

import difflib
import os
from dataclasses import dataclass

PARAMS_DIR = os.path.join(os.path.dirname(__file__), "params")


def _bn_ilp(species_names, state=None, tersoff=None, ilp=None):
    """Tersoff (BNC.tersoff) + ILP (BNCH.ILP, 16 A, taper) + shielded Coulomb (B +0.42, N -0.42)."""
    from slidesim.models.coulomb import ShieldedCoulombTerm
    from slidesim.models.ilp import ILPTerm
    from slidesim.models.model import Model
    from slidesim.models.tersoff import TersoffTerm

    tersoff = tersoff or os.path.join(PARAMS_DIR, "BNC.tersoff")
    ilp = ilp or os.path.join(PARAMS_DIR, "BNCH.ILP")
    terms = [TersoffTerm(tersoff, species_names), ILPTerm(ilp, species_names),
             ShieldedCoulombTerm(species_names)]
    return Model("bn-ilp", terms, species_names)


def _bn_dft(species_names, state=None, tersoff=None, ilp=None):
    """bn-ilp's terms with parameters calibrated to DFT (slidesim/models/bn_dft.py)."""
    from slidesim.models.bn_dft import bn_dft

    return bn_dft(species_names, state, tersoff=tersoff, ilp=ilp)


def _tether(species_names, state=None, spring=5.0):
    """Harmonic tether of every atom to its starting position (engine tests only)."""
    from slidesim.models.model import Model
    from slidesim.models.tether import TetherTerm

    if state is None:
        raise ValueError("the tether model needs the starting structure")
    return Model("tether", [TetherTerm(state.positions[0], spring)], species_names)


def _torchscript(species_names, state=None, path=None, device="auto", dtype="float64"):
    """A machine-learned model from a TorchScript file (docs/ml_models.md; needs torch)."""
    from slidesim.ml.torch_model import TorchScriptTerm
    from slidesim.models.model import Model

    if path is None:
        raise ValueError("the torchscript model needs the model file: option path FILE")
    return Model("torchscript", [TorchScriptTerm(path, species_names, device, dtype)],
                 species_names)


@dataclass(frozen=True)
class ModelEntry:
    """What one named model is and what it implies for a bilayer.

    Attributes:
        name: the model's name in decks and on the command line (``model NAME``).
        factory: ``factory(species_names, state=None, **options)`` -> Model.
        description: one line for listings and error messages.
        lattice: lattice constant a [A] the model's flat bilayer is stress-free at, or None
            (the material's default, :data:`slidesim.structures.MONOLAYERS`).
        distance: interlayer distance d [A] of the model's flat AB bilayer (its optimum), or None.
        dipole: path of the registry-dipole parameters (JSON) fitted to the model, or None for
            the shipped h-BN fit (``slidesim/fields/params/bn_registry_dipole.json``).
        species: element names the model covers, or None when any (a file or a test model).
    """

    name: str
    factory: object
    description: str
    lattice: float = None
    distance: float = None
    dipole: str = None
    species: tuple = None

    def check_species(self, species_names):
        """Raise ValueError naming the model's species if it does not cover ``species_names``."""
        if self.species is None:
            return
        missing = [s for s in species_names if s not in self.species]
        if missing:
            raise ValueError(f"model '{self.name}' covers {', '.join(self.species)} only, not "
                             f"{', '.join(missing)}; choose a model for these species")


#: model name -> :class:`ModelEntry`
CATALOG = {entry.name: entry for entry in (
    ModelEntry("bn-ilp", _bn_ilp,
               "h-BN: Tersoff + ILP + shielded Coulomb, the standard LAMMPS model",
               # the optimum of the stock parameters (reference/README.md)
               lattice=2.5045, distance=3.235, dipole=None, species=("B", "N")),
    ModelEntry("bn-dft", _bn_dft,
               "h-BN: bn-ilp's terms refitted to the seed paper's DFT (PBE + DFT-D2)",
               # the DFT's lattice and AB distance; the dipole refitted at this geometry
               lattice=2.511, distance=3.074,
               dipole=os.path.join(PARAMS_DIR, "BN_dft_dipole.json"), species=("B", "N")),
    ModelEntry("tether", _tether,
               "harmonic spring of every atom to its start (tests of integrators)"),
    ModelEntry("torchscript", _torchscript,
               "a machine-learned model file (option path FILE; needs torch)"),
)}


def model_entry(name):
    """The :class:`ModelEntry` called ``name``; ValueError with a did-you-mean otherwise."""
    entry = CATALOG.get(name)
    if entry is None:
        close = difflib.get_close_matches(str(name), list(CATALOG), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown model '{name}'{hint} Known models: {', '.join(CATALOG)}")
    return entry
