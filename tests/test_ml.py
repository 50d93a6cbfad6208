"""TorchScript models (slidesim.ml): the contract, forces and virial, batching, Born charges."""

import json
from typing import Dict
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from slidesim.fields.field import FieldTerm  # noqa: E402
from slidesim.commands.model import model as model_command  # noqa: E402
from slidesim.ml.contract import (METADATA_FILE, ContractError, check_model_file,  # noqa: E402
                                  save_model)
from slidesim.ml.examples import PairBECModel, example_metadata, write_example_model  # noqa: E402
from slidesim.ml.torch_model import TorchScriptTerm  # noqa: E402
from slidesim.models import build_model  # noqa: E402
from slidesim.models.model import Model  # noqa: E402
from slidesim.neighbors import NeighborList  # noqa: E402
from slidesim.structures import bilayer  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    # cutoff 4.7 A, not 5 A: the 2x2 cell is 5 A wide, and a self-image pair sitting exactly
    # at the cutoff makes the energy's second derivative jump (finite differences see O(h))
    return write_example_model(str(tmp_path_factory.mktemp("ml") / "pair_bec.pt"), cutoff=4.7)


@pytest.fixture(scope="module")
def system():
    return bilayer("BN", (2, 2), "BA", 2.5, 3.3, None, 20.0)


def displaced(state, seed, amplitude=0.08):
    rng = np.random.default_rng(seed)
    return state.positions[0] + rng.normal(0.0, amplitude, state.positions[0].shape)


def evaluate(term, positions, cell, state, skin=0.5):
    """TermResult and Born charges of one configuration through a fresh Model and list."""
    model = Model("ml", [term], state.species_names)
    result = model.compute(positions, cell, state.species, state.layer, model.neighbor_lists(skin))
    return result, result.extras.get("born_charges")


def test_forces_are_minus_the_energy_gradient(model_path, system):
    term = TorchScriptTerm(model_path, system.species_names, device="cpu")
    x = displaced(system, 1)
    result, _ = evaluate(term, x, system.cell, system)
    h = 1e-5
    numeric = np.zeros_like(x)
    for i in range(len(x)):
        for a in range(3):
            plus, minus = x.copy(), x.copy()
            plus[i, a] += h
            minus[i, a] -= h
            numeric[i, a] = -(evaluate(term, plus, system.cell, system)[0].energy
                              - evaluate(term, minus, system.cell, system)[0].energy) / (2 * h)
    assert np.abs(result.forces).max() > 1e-2
    np.testing.assert_allclose(result.forces, numeric, rtol=0, atol=1e-8)
    np.testing.assert_allclose(result.forces.sum(axis=0), 0.0, atol=1e-12)


def test_virial_is_minus_the_strain_derivative(model_path, system):
    term = TorchScriptTerm(model_path, system.species_names, device="cpu")
    x = displaced(system, 2)
    result, _ = evaluate(term, x, system.cell, system)
    h = 1e-6
    numeric = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            energies = []
            for sign in (1, -1):
                deform = np.eye(3)
                deform[a, b] += sign * h
                energies.append(evaluate(term, x @ deform, system.cell @ deform, system)[0].energy)
            numeric[a, b] = -(energies[0] - energies[1]) / (2 * h)
    numeric = 0.5 * (numeric + numeric.T)
    expected = np.array([numeric[0, 0], numeric[1, 1], numeric[2, 2], numeric[0, 1],
                         numeric[0, 2], numeric[1, 2]])
    assert np.abs(result.virial).max() > 1e-2
    np.testing.assert_allclose(result.virial, expected, rtol=0, atol=1e-7)
    # pair potential: W = sum over pairs r_ij F_ij, i.e. also sum_i x_i F_i plus image terms;
    # its trace must not depend on where the layers sit (translation)
    shifted, _ = evaluate(term, x + np.array([0.3, -0.2, 1.0]), system.cell, system)
    np.testing.assert_allclose(shifted.virial, result.virial, rtol=0, atol=1e-10)


def test_batched_equals_one_by_one(model_path, system):
    term = TorchScriptTerm(model_path, system.species_names, device="cpu")
    configurations = [displaced(system, seed) for seed in (3, 4, 5)]
    lists = [Model("ml", [term], system.species_names).neighbor_lists(0.5) for _ in range(3)]
    batch = term.compute_batch(configurations, system.cell, system.species, system.layer, lists)
    assert len(batch) == 3
    for x, batched in zip(configurations, batch):
        single, born = evaluate(term, x, system.cell, system)
        assert batched.energy == pytest.approx(single.energy, abs=1e-12)
        np.testing.assert_allclose(batched.forces, single.forces, rtol=0, atol=1e-12)
        np.testing.assert_allclose(batched.virial, single.virial, rtol=0, atol=1e-12)
        np.testing.assert_allclose(batched.born_charges, born, rtol=0, atol=1e-12)
    # replicas really differ, so the comparison above can fail
    assert abs(batch[0].energy - batch[1].energy) > 1e-4
    # a second call reuses the cached edge tensors and gives the same numbers
    again = term.compute_batch(configurations, system.cell, system.species, system.layer, lists)
    assert again[2].energy == batch[2].energy


def test_float32_is_close_to_float64(model_path, system):
    x = displaced(system, 6)
    exact, _ = evaluate(TorchScriptTerm(model_path, system.species_names, "cpu"), x,
                        system.cell, system)
    single, _ = evaluate(TorchScriptTerm(model_path, system.species_names, "cpu", "float32"), x,
                         system.cell, system)
    assert single.energy == pytest.approx(exact.energy, abs=1e-4)
    np.testing.assert_allclose(single.forces, exact.forces, rtol=0, atol=1e-4)


def test_born_charges_feed_the_field_term(model_path, system):
    term = TorchScriptTerm(model_path, system.species_names, device="cpu")
    field = np.array([0.1, -0.2, 0.5])
    field_term = FieldTerm(term.born_charge_source(), field=field)
    model = Model("ml+field", [term, field_term], system.species_names)
    x = displaced(system, 7)
    lists = model.neighbor_lists(0.5)
    with_field = model.compute(x, system.cell, system.species, system.layer, lists)
    born = with_field.extras["born_charges"]
    assert born.shape == (len(x), 3, 3)
    np.testing.assert_allclose(born.sum(axis=0), 0.0, atol=1e-12)  # acoustic sum rule
    assert np.abs(born[0] - born[0].T).max() < 1e-12 and abs(born[0, 0, 0]) > 1.0
    without, _ = evaluate(term, x, system.cell, system)
    np.testing.assert_allclose(with_field.forces - without.forces,
                               np.einsum("a,iab->ib", field, born), rtol=0, atol=1e-12)
    # called alone on other positions, the source evaluates the model again
    moved = x.copy()
    moved[0] += [0.05, -0.03, 0.02]
    fresh = term.born_charge_source().compute(moved, system.cell, system.species,
                                              system.layer, {"pairs": lists["all"]})
    assert np.abs(fresh.born_charges - born).max() > 1e-6


def test_requests_follow_the_metadata(tmp_path, system):
    path = write_example_model(str(tmp_path / "inter.pt"), cutoff=4.0, pair_mode="interlayer")
    term = TorchScriptTerm(path, system.species_names, device="cpu")
    (request,) = term.requests.values()
    assert (request.cutoff, request.mode) == (4.0, "interlayer")
    with pytest.raises(ValueError, match=r"knows types \['B', 'N'\], not \['C'\]"):
        TorchScriptTerm(path, ("B", "C"), device="cpu")


def test_build_model_and_a_short_md_run(model_path, tmp_path):
    from slidesim.deck import parse_deck
    from slidesim.simulation import Simulation

    with pytest.raises(ValueError, match="option path"):
        build_model("torchscript", ("B", "N"))
    for source in ("registry", "model"):
        deck_text = (f"system bilayer material BN cells 2 2 stacking BA lattice 2.5 A "
                     f"distance 3.3 A\nmodel torchscript path {model_path} device cpu\n"
                     f"timestep 0.5 fs\nintegrator nve\nseed 3\nreplicas 2\n"
                     f"velocities 50 K\noutput {tmp_path / source}\nthermo every 5\n"
                     f"trajectory every 0\nborn_charges {source}\n"
                     f"stage run temperature 50 K steps 40 field 0 0 -0.2 V/A\n")
        deck = parse_deck(deck_text, str(tmp_path / "ml.in"))
        simulation = Simulation(deck, progress=False)
        summary = simulation.run()
        assert summary["reason"] == "finished" and summary["step"] == 40
        # the registry dipole is a term that carries Born charges; the model's own are extras
        # of the torchscript term's result
        expected = ["torchscript", "dipole"] if source == "registry" else ["torchscript"]
        assert simulation.model.term_names == expected
        assert simulation.energy_names == ["torchscript", "field"]
        from slidesim.io.thermo import read_thermo

        thermo = read_thermo(str(tmp_path / source / "thermo.csv"))
        conserved = np.asarray(thermo["conserved_eV"])
        # registry: Z = dP/dr of a dipole P. model: this model predicts Z without a dipole, and
        # P is integrated from Z along the trajectory. Either way K + U - E.P is conserved.
        assert np.ptp(conserved) < 1e-4 * max(1.0, np.abs(conserved).max())
        assert np.abs(np.asarray(thermo["P_z_pCm"])).max() > 1e-3


def test_the_driver_evaluates_all_replicas_in_one_call(model_path, tmp_path, monkeypatch):
    from slidesim.deck import parse_deck
    from slidesim.io.thermo import read_thermo
    from slidesim.simulation import Simulation

    calls = []
    call = TorchScriptTerm._call

    def counting(self, inputs):
        calls.append(len(inputs["n_atoms"]))
        return call(self, inputs)

    monkeypatch.setattr(TorchScriptTerm, "_call", counting)
    runs = {}
    for replicas in (3, 1):
        calls.clear()
        deck_text = (f"system bilayer material BN cells 2 2 stacking BA lattice 2.5 A "
                     f"distance 3.3 A\nmodel torchscript path {model_path} device cpu\n"
                     f"timestep 0.5 fs\nintegrator nose-hoover tdamp 50 fs\nseed 3\n"
                     f"replicas {replicas}\nvelocities 50 K\noutput {tmp_path / str(replicas)}"
                     f"\nthermo every 1\ntrajectory every 0\nborn_charges model\n"
                     f"stage ramp temperature 50 K steps 12 field_perp 0 V/A field_perp_rate -50 V/A/ps\n")
        simulation = Simulation(parse_deck(deck_text, str(tmp_path / "ml.in")), progress=False)
        simulation.run()
        # one model call per step (plus the first evaluation), every replica in it
        assert calls == [replicas] * 13
        runs[replicas] = (simulation.state.positions[0].copy(),
                          read_thermo(str(tmp_path / str(replicas) / "thermo.csv")))
    # replica 0 of the batched run is the single-replica run
    np.testing.assert_allclose(runs[3][0], runs[1][0], rtol=0, atol=1e-10)
    for key in ("potential_eV", "conserved_eV", "e_field", "field_z_VA"):
        np.testing.assert_allclose(runs[3][1][key], runs[1][1][key], rtol=0, atol=1e-10)


# ---- the contract catches broken files ---------------------------------------------------------

class WrongSignature(torch.nn.Module):
    def forward(self, positions: torch.Tensor, types: torch.Tensor):
        return {"energy": positions.sum().reshape(1)}


class WrongShapes(PairBECModel):
    def forward(self, positions: torch.Tensor, atom_types: torch.Tensor, cells: torch.Tensor,
                edge_index: torch.Tensor, shifts: torch.Tensor, replica: torch.Tensor,
                n_atoms: torch.Tensor, field: torch.Tensor):
        return {"energy": (positions * positions).sum().reshape(1)}


def test_contract_accepts_the_reference_model(model_path):
    report = check_model_file(model_path)
    assert report.ok, report.summary()
    assert report.outputs["born_charges"] == (7, 3, 3)
    assert report.asr_violation < 1e-12


def test_contract_names_what_is_missing(tmp_path):
    path = str(tmp_path / "no_meta.pt")
    torch.jit.save(torch.jit.script(PairBECModel()), path)
    report = check_model_file(path)
    assert not report.ok and f"no extra file '{METADATA_FILE}'" in report.problems[0]
    with pytest.raises(ContractError, match="no metadata"):
        TorchScriptTerm(path, ("B", "N"), device="cpu")

    meta = example_metadata()
    del meta["cutoff"]
    with pytest.raises(ContractError, match="missing key 'cutoff'"):
        save_model(PairBECModel(), str(tmp_path / "x.pt"), meta)

    path = str(tmp_path / "signature.pt")
    torch.jit.save(torch.jit.script(WrongSignature()), path,
                   _extra_files={METADATA_FILE: json.dumps(example_metadata())})
    report = check_model_file(path)
    assert any("forward's arguments are (positions, types)" in p for p in report.problems)
    with pytest.raises(ContractError, match="forward's arguments"):
        TorchScriptTerm(path, ("B", "N"), device="cpu")

    path = save_model(WrongShapes(), str(tmp_path / "shapes.pt"), example_metadata())
    report = check_model_file(path)
    assert any("'energy' has shape (1,), expected (2,)" in p for p in report.problems)

    meta = dict(example_metadata(), outputs=["energy"])
    path = save_model(WrongShapes(), str(tmp_path / "x2.pt"), dict(meta))
    assert not check_model_file(path).ok

    not_torch = tmp_path / "junk.pt"
    not_torch.write_text("hello")
    assert "not a TorchScript archive" in check_model_file(str(not_torch)).problems[0]


def test_model_command_info_and_build(model_path, tmp_path):
    runner = CliRunner()
    result = runner.invoke(model_command, ["info", model_path])
    assert result.exit_code == 0, result.output
    assert "contract: OK" in result.output and "cutoff          4.7" in result.output
    broken = str(tmp_path / "broken.pt")
    torch.jit.save(torch.jit.script(PairBECModel()), broken)
    result = runner.invoke(model_command, ["info", broken])
    assert result.exit_code == 1 and "NOT satisfied" in result.output
    out = str(tmp_path / "built.pt")
    result = runner.invoke(model_command, ["build", out, "--types", "B,N,C", "--cutoff", "4"])
    assert result.exit_code == 0, result.output
    assert os.path.exists(out) and "['B', 'N', 'C']" in result.output


class GaussianPairs(torch.nn.Module):
    """E = 1/2 sum_(i,j) A exp(-r^2 / s^2); with return_forces, forces and virial analytically."""

    def __init__(self, return_forces: bool):
        super().__init__()
        self.return_forces = return_forces

    def forward(self, positions: torch.Tensor, atom_types: torch.Tensor, cells: torch.Tensor,
                edge_index: torch.Tensor, shifts: torch.Tensor, replica: torch.Tensor,
                n_atoms: torch.Tensor, field: torch.Tensor) -> Dict[str, torch.Tensor]:
        i, j = edge_index[0], edge_index[1]
        rij = positions[j] + shifts - positions[i]
        r2 = (rij * rij).sum(dim=1)
        pair = 0.5 * 0.3 * torch.exp(-r2 / 4.0)
        energy = torch.zeros(n_atoms.shape[0], dtype=positions.dtype).index_add(
            0, replica[i], pair)
        out = {"energy": energy}
        if self.return_forces:
            grad = (-2.0 / 4.0) * pair.unsqueeze(1) * rij  # dE/dr_ij of each directed edge
            forces = torch.zeros_like(positions).index_add(0, i, grad).index_add(0, j, -grad)
            w = -(rij.unsqueeze(2) * grad.unsqueeze(1))
            w = torch.zeros((n_atoms.shape[0], 3, 3), dtype=positions.dtype).index_add(
                0, replica[i], w)
            out["forces"] = forces
            out["virial"] = torch.stack([w[:, 0, 0], w[:, 1, 1], w[:, 2, 2], w[:, 0, 1],
                                         w[:, 0, 2], w[:, 1, 2]], dim=1)
        return out


def test_forces_from_the_module_equal_autograd_forces(tmp_path, system):
    meta = dict(example_metadata(), outputs=["energy"], cutoff=4.0)
    by_module = save_model(GaussianPairs(True), str(tmp_path / "module.pt"),
                           dict(meta, forces="module"))
    by_autograd = save_model(GaussianPairs(False), str(tmp_path / "autograd.pt"), meta)
    assert check_model_file(by_module).ok and check_model_file(by_autograd).ok
    x = displaced(system, 8)
    analytic, _ = evaluate(TorchScriptTerm(by_module, system.species_names, "cpu"), x,
                           system.cell, system)
    derived, _ = evaluate(TorchScriptTerm(by_autograd, system.species_names, "cpu"), x,
                          system.cell, system)
    assert analytic.energy == pytest.approx(derived.energy, abs=1e-12)
    assert np.abs(analytic.forces).max() > 1e-3 and np.abs(analytic.virial).max() > 1e-2
    np.testing.assert_allclose(analytic.forces, derived.forces, rtol=0, atol=1e-12)
    np.testing.assert_allclose(analytic.virial, derived.virial, rtol=0, atol=1e-12)
    # a module that promises forces but returns none is caught
    broken = save_model(GaussianPairs(False), str(tmp_path / "broken.pt"),
                        dict(meta, forces="module"))
    assert any("returned no 'forces'" in p for p in check_model_file(broken).problems)
