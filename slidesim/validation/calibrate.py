"""Fit a whole DFT-calibrated model and write its parameter files (what ``slidesim fit`` does).

Three steps, each on the result of the previous one:
1. ILP column factors at the suite's lattice constant (slidesim.validation.fit.IlpFit);
2. the Tersoff length factor that makes the flat AB bilayer stress-free at that lattice;
3. the registry dipole at the fitted model's relaxed geometry (slidesim.validation.fit_dipole).
Writes NAME.ILP, NAME.tersoff (LAMMPS formats) and NAME_dipole.json into ``out_dir``.
"""

import datetime
import json
import os

from slidesim.models import build_model
from slidesim.structures import monolayer
from slidesim.validation.fit import (DEFAULT_FREE, DEFAULT_TERSOFF_FILE, IlpFit,
                                     tersoff_factor_for_lattice)
from slidesim.validation.fit_dipole import fit_dipole
from slidesim.validation.parameter_files import write_ilp_file, write_rescaled_tersoff
from slidesim.validation.rigid import RigidBilayer


def calibrate(suite, out_dir, name="BN_dft", free=DEFAULT_FREE, base_ilp=None,
              base_tersoff=DEFAULT_TERSOFF_FILE, dipole=True, log=print):
    """Fit the model to ``suite`` and write its files; returns {"ilp", "tersoff", "dipole":
    paths, "result": FitResult}. ``log`` receives progress lines."""
    fit = IlpFit(suite, **({"base_ilp": base_ilp} if base_ilp else {}),
                 base_tersoff=base_tersoff, free=free)
    result = fit.run()
    stamp = datetime.date.today().isoformat()
    factors = ", ".join(f"{k} x {v:.6f}" for k, v in result.scales.items())
    log(f"ILP: {factors}; d(AB) = {result.distance_ab:.4f} A, barrier = "
        f"{result.barrier_meV:.3f} meV/cell, AA = {result.aa_meV:.2f} meV/cell, path RMS = "
        f"{result.path_rms_meV:.3f} meV")
    os.makedirs(out_dir, exist_ok=True)
    paths = {"ilp": os.path.join(out_dir, f"{name}.ILP"),
             "tersoff": os.path.join(out_dir, f"{name}.tersoff"),
             "dipole": os.path.join(out_dir, f"{name}_dipole.json") if dipole else None}
    source = os.path.basename(fit.base_ilp)
    write_ilp_file(paths["ilp"], result.entries, header=[
        f"DATE: {stamp} UNITS: metal  written by `slidesim fit` (slidesim/validation/fit.py)",
        f"Interlayer potential of Ouyang et al., Nano Lett. 18, 6009 (2018) ({source}) with the",
        f"B/N columns scaled to fit suite '{suite.name}' ({suite.directory}) at a = "
        f"{result.lattice} A:",
        f"  {factors}",
        f"  rigid flat layers, distance relaxed: d(AB) = {result.distance_ab:.4f} A, barrier "
        f"E(SP) - E(AB) = {result.barrier_meV:.3f} meV/cell,",
        f"  E(AA) - E(AB) = {result.aa_meV:.2f} meV/cell, largest d - d(AB) = "
        f"{result.largest_increase:.3f} A, path RMS vs suite = {result.path_rms_meV:.3f} meV",
        "Use with the shielded Coulomb of bn-ilp (B +0.42 e, N -0.42 e) and the tersoff file "
        f"{name}.tersoff.",
        "C and H entries are the published ones, unchanged.",
    ])
    factor = tersoff_factor_for_lattice(paths["ilp"], result.lattice, base_tersoff,
                                        suite.material)
    result.tersoff_factor = factor
    log(f"Tersoff: lengths x {factor:.8f} (stress-free flat AB bilayer at a = {result.lattice} A)")
    write_rescaled_tersoff(base_tersoff, paths["tersoff"], factor,
                           monolayer(suite.material).species, header=[
        f"DATE: {stamp} UNITS: metal  written by `slidesim fit` (slidesim/validation/fit.py)",
        f"Tersoff B/N of Kinaci, Haskins, Sevik, Cagin, PRB 86, 115410 (2012) "
        f"({os.path.basename(base_tersoff)})",
        f"with every length scaled by {factor:.10f} (R, D x factor; lambda1, lambda2, lambda3 /"
        " factor):",
        f"energies unchanged, the flat AB bilayer with {name}.ILP is stress-free at "
        f"a = {result.lattice} A (DFT).",
    ])
    if dipole:
        model = build_model("bn-ilp", monolayer(suite.material).species,
                            tersoff=paths["tersoff"], ilp=paths["ilp"])
        parameters = fit_dipole(suite, RigidBilayer(model, result.lattice, suite.material))
        with open(paths["dipole"], "w") as handle:
            json.dump(parameters, handle, indent=1)
        log(f"dipole: max residual {parameters['fit']['max_residual_pC_per_m']:.4f} pC/m")
    paths["result"] = result
    return paths
