"""Allegro/nequip models behind the contract, the Born-charge network, and the training recipe."""

import os
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("nequip")  # before allegro: nequip loads its extension packages first
pytest.importorskip("allegro")

from slidesim.ml.bec import BECNetwork, irreps_of  # noqa: E402
from slidesim.ml.contract import check_model_file  # noqa: E402
from slidesim.ml.nequip_interop import NequipContract  # noqa: E402
from slidesim.ml.torch_model import TorchScriptTerm  # noqa: E402
from slidesim.models.model import Model  # noqa: E402
from slidesim.structures import bilayer  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)


def tiny_model(builder, seed):
    """A tiny, untrained model from a nequip model builder (random weights, r_max 4 A)."""
    from nequip.utils.global_state import global_state_initialized, set_global_state

    if not global_state_initialized():
        set_global_state(allow_tf32=False)
    model = builder(
        seed=seed, model_dtype="float64", r_max=4.0, type_names=["B", "N"], l_max=1,
        num_layers=1, num_scalar_features=8, num_tensor_features=4,
        radial_chemical_embed={"_target_": "allegro.nn.TwoBodyBesselScalarEmbed",
                               "num_bessels": 6},
        radial_chemical_embed_dim=8, scalar_embed_mlp_hidden_layers_width=8,
        allegro_mlp_hidden_layers_width=8, readout_mlp_hidden_layers_width=8,
        avg_num_neighbors=20.0, per_type_energy_shifts={"B": -7.0, "N": -8.0},
        per_type_energy_scales=0.5)
    return model.eval()


@pytest.fixture(scope="module")
def allegro():
    from allegro.model import AllegroModel

    return tiny_model(AllegroModel, seed=1)


@pytest.fixture(scope="module")
def system():
    state = bilayer("BN", (2, 2), "BA")
    rng = np.random.default_rng(4)
    return state, state.positions[0] + rng.normal(0.0, 0.05, state.positions[0].shape)


def contract_file(tmp_path, module, outputs=("energy",)):
    from slidesim.ml.contract import save_model
    from slidesim.ml.nequip_interop import contract_metadata

    path = str(tmp_path / "allegro.pt")
    save_model(torch.jit.script(module), path,
               contract_metadata(module.r_max, ["B", "N"], list(outputs), "test"))
    return path


def energy_model(path, state):
    term = TorchScriptTerm(path, state.species_names, device="cpu")
    return term, Model("ml", [term], state.species_names)


# ---- the Born-charge network --------------------------------------------------------------------

def bec_inputs(positions, state, cutoff):
    from slidesim.neighbors import NeighborList
    from slidesim.ml.batch import csr_sources

    nl = NeighborList(cutoff, skin=0.0)
    nl.update(positions, state.cell, state.layer)
    n = len(positions)
    return (torch.tensor(positions), torch.tensor(state.species),
            torch.tensor(np.stack([csr_sources(nl.offsets), nl.neighbors])),
            torch.tensor(nl.shifts), torch.zeros(n, dtype=torch.int64), torch.tensor([n]))


def test_born_charge_network_is_equivariant_and_obeys_the_sum_rule(system):
    from scipy.spatial.transform import Rotation

    state, x = system
    net = torch.jit.script(BECNetwork(2, 4.5, channels=4))
    with torch.no_grad():  # non-trivial coefficients
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    z = net(*bec_inputs(x, state, 4.5)).detach()
    assert float(z.sum(dim=0).abs().max()) < 1e-12
    # all of 0e + 1e + 2e are present
    assert all(float(part.abs().max()) > 1e-3 for part in irreps_of(z))
    for q in (Rotation.random(random_state=3).as_matrix(), -np.eye(3)):
        # rotate positions and cell together: the periodic images rotate with them
        rotated = state.replicate(1)
        rotated.cell = state.cell @ q.T
        inputs = bec_inputs(x @ q.T, rotated, 4.5)
        qt = torch.tensor(q)
        np.testing.assert_allclose(net(*inputs).detach().numpy(), (qt @ z @ qt.T).numpy(),
                                   atol=1e-12)


# ---- Allegro behind the contract ----------------------------------------------------------------

def test_allegro_forces_virial_and_batching(allegro, system, tmp_path):
    state, x = system
    path = contract_file(tmp_path, NequipContract(allegro, 4.0))
    assert check_model_file(path).ok
    term, model = energy_model(path, state)

    def energy(positions, cell=state.cell):
        return model.compute(positions, cell, state.species, state.layer,
                             model.neighbor_lists(1.0)).energy

    result = model.compute(x, state.cell, state.species, state.layer, model.neighbor_lists(1.0))
    h = 1e-5
    for atom, axis in ((0, 0), (7, 2), (12, 1)):
        plus, minus = x.copy(), x.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        assert result.forces[atom, axis] == pytest.approx(
            -(energy(plus) - energy(minus)) / (2 * h), abs=1e-7)
    # W_xz = -dE/d eps_xz under a symmetric strain of positions and cell
    eps = np.zeros((3, 3))
    eps[0, 2] = eps[2, 0] = 1e-6
    strained = [energy(x @ (np.eye(3) + s * eps), state.cell @ (np.eye(3) + s * eps))
                for s in (1, -1)]
    assert result.virial[4] == pytest.approx(-(strained[0] - strained[1]) / 4e-6, abs=1e-6)
    # the reference: nequip's own model on its own neighbour list
    from nequip.data import AtomicDataDict, compute_neighborlist_

    data = {"pos": torch.tensor(x), "cell": torch.tensor(state.cell).view(1, 3, 3),
            "pbc": torch.tensor([[True, True, False]]),
            "atom_types": torch.tensor(state.species)}
    data = compute_neighborlist_(data, 4.0)
    out = allegro(AtomicDataDict.with_batch_(data))
    assert result.energy == pytest.approx(float(out["total_energy"]), abs=1e-10)
    np.testing.assert_allclose(result.forces, out["forces"].detach().numpy(), atol=1e-10)
    # three replicas in one call equal three single calls
    configs = [x, x + 0.02, x[::-1].copy()]
    lists = [model.neighbor_lists(1.0) for _ in configs]
    batched = term.compute_batch(configs, state.cell, state.species, state.layer, lists)
    for positions, got in zip(configs, batched):
        single = model.compute(positions, state.cell, state.species, state.layer,
                               model.neighbor_lists(0.3))
        assert got.energy == pytest.approx(single.energy, abs=1e-10)
        np.testing.assert_allclose(got.forces, single.forces, atol=1e-10)


def test_allegro_with_born_charge_network_runs_md_in_a_field(allegro, tmp_path):
    from slidesim.deck import parse_deck
    from slidesim.simulation import Simulation

    module = NequipContract(allegro, 4.0, BECNetwork(2, 4.0, channels=2))
    path = contract_file(tmp_path, module, ("energy", "born_charges"))
    report = check_model_file(path)
    assert report.ok and report.asr_violation < 1e-12
    deck = parse_deck(
        f"system bilayer material BN cells 2 2 stacking BA\nmodel torchscript path {path} "
        f"device cpu\ntimestep 0.5 fs\nintegrator nve\nseed 1\nreplicas 2\nvelocities 30 K\n"
        f"output {tmp_path / 'run'}\nthermo every 5\ntrajectory every 0\n"
        f"born_charges model\nstage run temperature 30 K steps 20 field 0 0 -0.3 V/A\n",
        str(tmp_path / "deck.in"))
    simulation = Simulation(deck, progress=False)
    assert simulation.run()["reason"] == "finished"
    assert simulation.model.term_names == ["torchscript"]
    assert simulation.energy_names == ["torchscript", "field"]
    assert np.abs(simulation.state.dipole).max() > 0  # P integrated from the network's Z


def test_nequip_torchscript_file_runs_directly(allegro, system, tmp_path):
    from nequip.model.inference_models.torchscript import save_torchscript_model

    state, x = system
    path = str(tmp_path / "tiny.nequip.pth")
    save_torchscript_model(allegro, dict(allegro.metadata, allow_tf32="0"), path, "cpu")
    reference = contract_file(tmp_path, NequipContract(allegro, 4.0))
    results = []
    for model_path in (path, reference):
        _, model = energy_model(model_path, state)
        results.append(model.compute(x, state.cell, state.species, state.layer,
                                     model.neighbor_lists(1.0)))
    assert results[0].energy == pytest.approx(results[1].energy, abs=1e-10)
    np.testing.assert_allclose(results[0].forces, results[1].forces, atol=1e-10)


# ---- the training recipe, end to end (tiny) -----------------------------------------------------

def slidesim(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "slidesim.cli", *args], cwd=cwd,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_dataset_train_info_and_run(tmp_path):
    slidesim("model", "dataset", "data.xyz", "--cells", "2", "--temperatures", "300,1000",
             "--frames", "6", "--grid", "3", cwd=tmp_path)
    from ase.io import read

    frames = read(tmp_path / "data.xyz", ":")
    assert len(frames) == 3 * 9 + 2 * 6
    assert frames[0].arrays["born_charges"].shape == (16, 9)
    out = slidesim("model", "train", "data.xyz", "-o", "m.pt", "--workdir", "work",
                   "--r-max", "4.0", "--epochs", "1", "--bec-epochs", "2", cwd=tmp_path)
    assert "test set" in out and os.path.exists(tmp_path / "work" / "metrics.json")
    info = slidesim("model", "info", "m.pt", cwd=tmp_path)
    assert "contract: OK" in info and "born_charges" in info
    # the same pieces wrapped again by hand
    out = slidesim("model", "build", "again.pt", "--nequip", "work/nequip/best.ckpt", "--bec",
                   "work/bec.pt", cwd=tmp_path)
    assert "contract: OK" in out


# ---- a model that predicts Born charges itself (allegro-pol) -------------------------------------

def test_allegro_pol_born_charges_pass_through(system, tmp_path):
    """allegro-pol is not on PyPI: this runs where it is installed from its repository."""
    pytest.importorskip("allegro_pol")
    from allegro_pol.model import AllegroPolarizationModel

    from slidesim.ml.nequip_interop import returns_born_charges

    model = tiny_model(AllegroPolarizationModel, seed=2)
    assert returns_born_charges(model, 4.0, 2)
    state, x = system
    path = contract_file(tmp_path, NequipContract(model, 4.0, model_has_bec=True),
                         ("energy", "born_charges", "dipole"))
    term, ml = energy_model(path, state)

    def evaluate(positions):
        extras = ml.compute(positions, state.cell, state.species, state.layer,
                            ml.neighbor_lists(1.0)).extras
        return SimpleNamespace(born_charges=extras["born_charges"], dipole=extras["dipole"])

    result = evaluate(x)
    h = 1e-5
    for atom, axis in ((1, 2), (9, 0)):
        plus, minus = x.copy(), x.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        dp = (evaluate(plus).dipole - evaluate(minus).dipole) / (2 * h)
        # Z[i, alpha, beta] = dP_alpha / dr_i,beta, passed through unchanged
        np.testing.assert_allclose(result.born_charges[atom, :, axis], dp, atol=1e-6)


@pytest.mark.slow
def test_aotinductor_file_equals_its_checkpoint(tmp_path):
    """nequip-compile --mode aotinductor --target batch (about a minute of compiling)."""
    slidesim("model", "dataset", "data.xyz", "--cells", "2", "--temperatures", "300",
             "--frames", "4", "--grid", "3", cwd=tmp_path)
    slidesim("model", "train", "data.xyz", "-o", "m.pt", "--workdir", "work", "--r-max", "4.0",
             "--epochs", "1", "--bec-epochs", "1", cwd=tmp_path)
    for command in (["nequip-package", "build", "work/nequip/best.ckpt", "m.nequip.zip"],
                    ["nequip-compile", "m.nequip.zip", "m.nequip.pt2", "--mode", "aotinductor",
                     "--target", "batch", "--device", "cpu"]):
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    state = bilayer("BN", (2, 2), "BA")
    x = state.positions[0] + np.random.default_rng(1).normal(0.0, 0.05, (len(state.layer), 3))
    results = []
    for name in ("work/nequip/best.ckpt", "m.nequip.zip", "m.nequip.pt2"):
        term, model = energy_model(str(tmp_path / name), state)
        single = model.compute(x, state.cell, state.species, state.layer,
                               model.neighbor_lists(1.0))
        pair = term.compute_batch([x, x + 0.01], state.cell, state.species, state.layer,
                                  [model.neighbor_lists(1.0), model.neighbor_lists(1.0)])
        results.append((single, pair))
    for single, pair in results[1:]:
        assert single.energy == pytest.approx(results[0][0].energy, abs=1e-9)
        np.testing.assert_allclose(single.forces, results[0][0].forces, atol=1e-9)
        np.testing.assert_allclose(single.virial, results[0][0].virial, atol=1e-8)
        assert pair[1].energy == pytest.approx(results[0][1][1].energy, abs=1e-9)
