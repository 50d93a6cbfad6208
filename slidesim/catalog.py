"""The model catalog: every named model of slidesim and what it implies for a bilayer.

One :class:`ModelEntry` per model name holds its factory and the settings a command takes from
the model when the user leaves them open: the lattice constant a [A] the model is stress-free at,
its interlayer distance d [A] (the optimum of the flat AB bilayer) and the parameters of the
registry dipole that gives its Born charges. ``slidesim run``, ``profile``, ``landscape``,
``validate`` and ``model dataset`` all ask :func:`model_entry`; nothing else in slidesim holds
these numbers.

The catalog is data: it imports nothing of slidesim, and names each model's factory by its
dotted path (``"package.module:function"``), imported only when that model is built. So any
module may ask the catalog, and the catalog never ties the packages into a cycle.
"""

import difflib
import importlib
import os
from dataclasses import dataclass

#: parameter files of the classical models
PARAMS_DIR = os.path.join(os.path.dirname(__file__), "models", "params")
#: registry-dipole parameter files fitted by validation/fit_registry_dipole*.py
FIELD_PARAMS_DIR = os.path.join(os.path.dirname(__file__), "fields", "params")


@dataclass(frozen=True)
class ModelEntry:
    """What one named model is and what it implies for a bilayer.

    Attributes:
        name: the model's name in decks and on the command line (``model NAME``).
        factory_path: ``"module:function"`` of the factory,
            ``factory(species_names, state=None, **options)`` -> Model (:attr:`factory`).
        description: one line for listings and error messages.
        lattice: lattice constant a [A] the model's flat bilayer is stress-free at, or None
            (the material's default, :data:`slidesim.structures.MONOLAYERS`).
        distance: interlayer distance d [A] of the model's flat AB bilayer (its optimum), or None.
        dipole: path of the registry-dipole parameters (JSON) fitted to the model, or None for
            the shipped h-BN fit (``slidesim/fields/params/bn_registry_dipole.json``).
        species: element names the model covers, or None when any (a file or a test model).
        materials: for a model made for several materials, their own optima: a tuple of
            (material, lattice a [A], distance d [A]) rows, which :meth:`geometry` reads; then
            ``lattice`` and ``distance`` stay None and each material's builder default
            (:data:`slidesim.structures.MONOLAYERS`) comes from its row.
    """

    name: str
    factory_path: str
    description: str
    lattice: float = None
    distance: float = None
    dipole: str = None
    species: tuple = None
    materials: tuple = None

    def geometry(self, material):
        """(lattice a [A], distance d [A]) of the model's flat bilayer of ``material``: its row
        in ``materials``, else the model's one ``lattice`` and ``distance`` (either may be None)."""
        for name, lattice, distance in self.materials or ():
            if name == material:
                return lattice, distance
        return self.lattice, self.distance

    @property
    def factory(self):
        """The factory function (its module is imported now)."""
        module, function = self.factory_path.split(":")
        return getattr(importlib.import_module(module), function)

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
    ModelEntry("bn-ilp", "slidesim.models.builders:bn_ilp",
               "h-BN: Tersoff + ILP + shielded Coulomb, the standard LAMMPS model",
               # the optimum of the stock parameters (reference/README.md)
               lattice=2.5045, distance=3.235, dipole=None, species=("B", "N")),
    ModelEntry("bn-dft", "slidesim.models.bn_dft:bn_dft",
               "h-BN: bn-ilp's terms refitted to the seed paper's DFT (PBE + DFT-D2)",
               # the DFT's lattice and AB distance; the dipole refitted at this geometry
               lattice=2.511, distance=3.074,
               dipole=os.path.join(PARAMS_DIR, "BN_dft_dipole.json"), species=("B", "N")),
    ModelEntry("mos2-ilp", "slidesim.models.builders:mos2_ilp",
               "3R MoS2: sw/mod + ilp/tmd (MoS2.ILP), LAMMPS's TMD bilayer example",
               # the flat bilayer's optimum (rigid scan): a, and the Mo-Mo distance at XM/MX;
               # the registry dipole fitted at this geometry (docs/tmd.md)
               lattice=3.1152, distance=6.292,
               dipole=os.path.join(FIELD_PARAMS_DIR, "mos2_registry_dipole.json"),
               species=("Mo", "S")),
    ModelEntry("tmd-ilp", "slidesim.models.builders:tmd_ilp",
               "3R MoS2, WS2, MoSe2, WSe2: sw/mod + ilp/tmd (TMD.ILP), LAMMPS's TMD model",
               # each material's flat 3R bilayer optimum in the builder's family (a, chalcogen
               # height, metal-metal distance d at XM), validation/tmd_geometry.py; MoS2's equals
               # mos2-ilp's (TMD.ILP repeats MoS2.ILP's rows to 6 digits). The registry dipole
               # is MoS2's: no fit exists for W or Se, so fields on WS2, MoSe2, WSe2 are refused
               materials=(("MoS2", 3.1152, 6.292), ("WS2", 3.1277, 6.3348),
                          ("MoSe2", 3.3106, 6.5789), ("WSe2", 3.2876, 6.6204)),
               dipole=os.path.join(FIELD_PARAMS_DIR, "mos2_registry_dipole.json"),
               species=("Mo", "W", "S", "Se")),
    ModelEntry("tether", "slidesim.models.builders:tether",
               "harmonic spring of every atom to its start (tests of integrators)"),
    ModelEntry("torchscript", "slidesim.ml.torch_model:torchscript_model",
               "a machine-learned model file (option path FILE; needs torch)"),
)}


def model_entry(name):
    """The :class:`ModelEntry` called ``name``; ValueError with a did-you-mean otherwise."""
    entry = CATALOG.get(name)
    if entry is None:
        close = difflib.get_close_matches(str(name), list(CATALOG), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown model '{name}'{hint} (known models: {', '.join(CATALOG)})")
    return entry
