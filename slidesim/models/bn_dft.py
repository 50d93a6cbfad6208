"""bn-dft: h-BN calibrated to the seed paper's DFT (PBE + DFT-D2), written by ``slidesim fit``.

Same terms as bn-ilp (Tersoff + ILP + shielded Coulomb), with refitted parameter files:

- ``params/BN_dft.ILP``: the ILP of Ouyang et al. with its B/N repulsion range beta, registry
  term C and dispersion C6 rescaled so that, at the DFT lattice a = 2.511 A, the AB distance is
  3.074 A and the BA -> SP -> AB barrier 7.44 meV/cell (validation/dft_seed_paper);
- ``params/BN_dft.tersoff``: Kinaci et al.'s B/N Tersoff with every length scaled so the flat
  bilayer is stress-free at a = 2.511 A (energies unchanged; docs/validation.md says why);
- ``params/BN_dft_dipole.json``: the registry dipole refitted at bn-dft's relaxed geometry.

Its lattice (2.511 A), distance (3.074 A) and dipole parameters are its catalog entry's
(:func:`slidesim.catalog.model_entry`), which every command takes when a deck or option
leaves them open.
"""

import os

from slidesim.catalog import PARAMS_DIR, model_entry

ILP_FILE = os.path.join(PARAMS_DIR, "BN_dft.ILP")
TERSOFF_FILE = os.path.join(PARAMS_DIR, "BN_dft.tersoff")


def __getattr__(name):
    """``DIPOLE_PARAMETERS`` (registry-dipole parameter file) and ``LATTICE_A`` (the DFT lattice
    constant bn-dft is stress-free at [A]), read from bn-dft's catalog entry when asked."""
    if name == "DIPOLE_PARAMETERS":
        return model_entry("bn-dft").dipole
    if name == "LATTICE_A":
        return model_entry("bn-dft").lattice
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def bn_dft(species_names, state=None, tersoff=None, ilp=None):
    """Tersoff (BN_dft.tersoff) + ILP (BN_dft.ILP, 16 A, taper) + shielded Coulomb (the
    interlayer pair fused, :class:`~slidesim.models.interlayer.InterlayerTerm`)."""
    from slidesim.models.interlayer import InterlayerTerm
    from slidesim.models.model import Model
    from slidesim.models.tersoff import TersoffTerm

    for path in (tersoff or TERSOFF_FILE, ilp or ILP_FILE):
        if not os.path.exists(path):
            raise FileNotFoundError(f"bn-dft parameter file {path} not found; regenerate it "
                                    "with `slidesim fit` (docs/validation.md)")
    terms = [TersoffTerm(tersoff or TERSOFF_FILE, species_names),
             InterlayerTerm(ilp or ILP_FILE, species_names)]
    return Model("bn-dft", terms, species_names)
