"""Numba cell-list neighbour lists against the brute-force oracle, and the skin/rebuild logic."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from slidesim.models.base import NeighborRequest
from slidesim.neighbors import NeighborList, half_list_from_full, neighbor_lists_for
from slidesim.neighbors_reference import brute_force_neighbors, in_plane_widths

A_BN = 2.5045          # h-BN lattice constant [A]
INTERLAYER = 3.3       # [A]
MODES = ("all", "intralayer", "interlayer")


def hexagonal_cell(a_len, b_len=None, gamma_deg=120.0, c_len=40.0):
    """Cell rows a = (a, 0, 0), b at angle gamma from a, c along z [A]."""
    b_len = a_len if b_len is None else b_len
    g = np.radians(gamma_deg)
    return np.array([[a_len, 0.0, 0.0],
                     [b_len * np.cos(g), b_len * np.sin(g), 0.0],
                     [0.0, 0.0, c_len]])


def bn_bilayer(n_cells):
    """Flat AA-stacked h-BN bilayer on an n x n supercell: positions (4 n^2, 3), cell, layer."""
    unit = hexagonal_cell(A_BN)
    basis = np.array([[0.0, 0.0], [1.0 / 3.0, 2.0 / 3.0]])
    p, q = np.meshgrid(np.arange(n_cells), np.arange(n_cells), indexing="ij")
    frac = (np.stack([p.ravel(), q.ravel()], axis=1)[:, None, :] + basis[None]).reshape(-1, 2)
    in_plane = frac @ unit[:2, :2]
    positions = np.concatenate([np.column_stack([in_plane, np.zeros(len(frac))]),
                                np.column_stack([in_plane, np.full(len(frac), INTERLAYER)])])
    layer = np.repeat([0, 1], len(frac))
    cell = unit.copy()
    cell[:2] *= n_cells
    return positions, cell, layer


def pair_keys(offsets, neighbors, shifts, cell):
    """(M, 4) int array of (i, j, image_a, image_b), rows sorted: a list as a comparable multiset."""
    i = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    images = np.rint(shifts[:, :2] @ np.linalg.inv(cell[:2, :2])).astype(np.int64)
    # the shifts must be whole cell translations
    np.testing.assert_allclose(images @ cell[:2], shifts, atol=1e-9)
    keys = np.column_stack([i, neighbors, images])
    return keys[np.lexsort(keys.T[::-1])]


def pair_vector_keys(offsets, neighbors, shifts, positions):
    """(M, 5) array of (i, j, r_ij rounded to 1e-6 A), rows sorted."""
    i = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    r = positions[neighbors] + shifts - positions[i]
    keys = np.column_stack([i, neighbors, np.rint(r * 1e6)]).astype(np.int64)
    return keys[np.lexsort(keys.T[::-1])]


def assert_same_pairs(neighbor_list, positions, cell, layer, cutoff, mode):
    expected = pair_keys(*brute_force_neighbors(positions, cell, layer, cutoff, mode), cell)
    found = pair_keys(neighbor_list.offsets, neighbor_list.neighbors, neighbor_list.shifts, cell)
    assert found.shape == expected.shape
    np.testing.assert_array_equal(found, expected)


@pytest.mark.parametrize("n_cells", [2, 4, 8])
@pytest.mark.parametrize("cutoff", [2.0, 16.0])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sigma", [0.0, 0.05])
def test_bn_bilayer_matches_brute_force(n_cells, cutoff, mode, sigma):
    # sigma 0: atoms exactly on bin edges (fractional 0); sigma > 0: randomly displaced [A]
    positions, cell, layer = bn_bilayer(n_cells)
    rng = np.random.default_rng(n_cells)
    positions = positions + rng.normal(0.0, sigma, positions.shape)
    nl = NeighborList(cutoff, skin=0.0, mode=mode)
    nl.build(positions, cell, layer)
    assert_same_pairs(nl, positions, cell, layer, cutoff, mode)
    if cutoff == 2.0 and mode != "interlayer":
        assert len(nl.neighbors) == 3 * len(positions)   # three B-N bonds per atom
    if cutoff == 2.0 and mode == "interlayer":
        assert len(nl.neighbors) == 0


def test_offsets_and_shapes():
    positions, cell, layer = bn_bilayer(2)
    nl = NeighborList(16.0, skin=1.0)
    nl.build(positions, cell, layer)
    assert nl.offsets.dtype == np.int64 and nl.neighbors.dtype == np.int64
    assert nl.shifts.dtype == np.float64 and nl.shifts.shape == (len(nl.neighbors), 3)
    assert nl.offsets[0] == 0 and nl.offsets[-1] == len(nl.neighbors)
    assert np.all(np.diff(nl.offsets) >= 0)
    i = np.repeat(np.arange(len(positions)), np.diff(nl.offsets))
    r = positions[nl.neighbors] + nl.shifts - positions[i]
    distance = np.linalg.norm(r, axis=1)
    assert distance.max() < nl.list_cutoff and distance.min() > 0.0


def test_unwrapped_positions_give_the_same_pair_vectors():
    positions, cell, layer = bn_bilayer(4)
    rng = np.random.default_rng(7)
    positions = positions + rng.normal(0.0, 0.1, positions.shape)
    jumps = rng.integers(-3, 4, size=(len(positions), 2))
    unwrapped = positions + jumps @ cell[:2]
    for cutoff, mode in [(2.0, "all"), (16.0, "interlayer"), (16.0, "intralayer")]:
        wrapped_list = NeighborList(cutoff, skin=0.0, mode=mode)
        wrapped_list.build(positions, cell, layer)
        unwrapped_list = NeighborList(cutoff, skin=0.0, mode=mode)
        unwrapped_list.build(unwrapped, cell, layer)
        np.testing.assert_array_equal(
            pair_vector_keys(unwrapped_list.offsets, unwrapped_list.neighbors,
                             unwrapped_list.shifts, unwrapped),
            pair_vector_keys(wrapped_list.offsets, wrapped_list.neighbors,
                             wrapped_list.shifts, positions))
        assert_same_pairs(unwrapped_list, unwrapped, cell, layer, cutoff, mode)


@st.composite
def random_systems(draw):
    a_len = draw(st.floats(1.5, 8.0))
    b_len = draw(st.floats(1.5, 8.0))
    gamma = draw(st.floats(60.0, 120.0))
    cell = hexagonal_cell(a_len, b_len, gamma)
    n_atoms = draw(st.integers(1, 7))
    frac = np.array(draw(st.lists(st.tuples(st.floats(-2.0, 3.0), st.floats(-2.0, 3.0)),
                                  min_size=n_atoms, max_size=n_atoms)))
    z = np.array(draw(st.lists(st.floats(-3.0, 3.0), min_size=n_atoms, max_size=n_atoms)))
    positions = np.column_stack([frac @ cell[:2, :2], z])
    layer = np.array(draw(st.lists(st.integers(0, 1), min_size=n_atoms, max_size=n_atoms)))
    width = min(in_plane_widths(cell))
    cutoff = draw(st.floats(0.05, 2.5)) * width
    mode = draw(st.sampled_from(MODES))
    bins_per_cutoff = draw(st.integers(1, 3))
    return positions, cell, layer, cutoff, mode, bins_per_cutoff


@settings(deadline=None, max_examples=60)
@given(random_systems())
def test_random_cells_match_brute_force(system):
    positions, cell, layer, cutoff, mode, bins_per_cutoff = system
    nl = NeighborList(cutoff, skin=0.0, mode=mode, bins_per_cutoff=bins_per_cutoff)
    nl.build(positions, cell, layer)
    assert_same_pairs(nl, positions, cell, layer, cutoff, mode)


def test_single_atom_sees_its_own_images():
    cell = hexagonal_cell(3.0)
    nl = NeighborList(3.5, skin=0.0)
    nl.build(np.array([[0.2, 0.1, 0.0]]), cell, np.array([0]))
    # the six nearest lattice translations at 3.0 A, none at the next shell (3 sqrt(3) A)
    assert len(nl.neighbors) == 6
    assert_same_pairs(nl, np.array([[0.2, 0.1, 0.0]]), cell, np.array([0]), 3.5, "all")


def test_order_does_not_depend_on_thread_count():
    positions, cell, layer = bn_bilayer(4)
    positions = positions + np.random.default_rng(3).normal(0.0, 0.1, positions.shape)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            nl = NeighborList(16.0, skin=1.0, mode="all")
            nl.build(positions, cell, layer)
            results.append((nl.offsets, nl.neighbors, nl.shifts))
    finally:
        numba.set_num_threads(before)
    for offsets, neighbors, shifts in results[1:]:
        np.testing.assert_array_equal(offsets, results[0][0])
        np.testing.assert_array_equal(neighbors, results[0][1])
        np.testing.assert_array_equal(shifts, results[0][2])


@pytest.mark.parametrize("mode", MODES)
def test_rebuild_criterion_is_half_the_skin(mode):
    cutoff, skin = 4.0, 1.0
    positions, cell, layer = bn_bilayer(4)
    positions = positions + np.random.default_rng(11).normal(0.0, 0.05, positions.shape)
    nl = NeighborList(cutoff, skin=skin, mode=mode)
    assert nl.update(positions, cell, layer) is True
    assert nl.n_builds == 1
    assert nl.update(positions, cell, layer) is False
    direction = np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5])

    moved = positions.copy()
    moved[5] += 0.49 * skin * direction
    assert nl.update(moved, cell, layer) is False
    assert nl.n_builds == 1
    np.testing.assert_array_equal(nl.reference_positions, positions)
    # the kept list still holds every pair now inside the cutoff
    inside_now = pair_keys(*brute_force_neighbors(moved, cell, layer, cutoff, mode), cell)
    kept = pair_keys(nl.offsets, nl.neighbors, nl.shifts, cell)
    assert {tuple(k) for k in inside_now} <= {tuple(k) for k in kept}

    moved[5] = positions[5] + 0.51 * skin * direction
    assert nl.update(moved, cell, layer) is True
    assert nl.n_builds == 2
    np.testing.assert_array_equal(nl.reference_positions, moved)
    assert_same_pairs(nl, moved, cell, layer, cutoff + skin, mode)


def test_rebuilds_when_cell_or_layers_change():
    positions, cell, layer = bn_bilayer(2)
    nl = NeighborList(2.0, skin=0.5)
    nl.update(positions, cell, layer)
    stretched = cell.copy()
    stretched[:2] *= 1.001
    assert nl.update(positions, stretched, layer) is True
    assert nl.update(positions, stretched, 1 - layer) is True
    assert nl.update(positions, stretched, 1 - layer) is False
    assert nl.n_builds == 3


def test_moving_a_whole_cell_vector_triggers_a_rebuild_with_valid_shifts():
    positions, cell, layer = bn_bilayer(2)
    nl = NeighborList(2.0, skin=0.5, mode="intralayer")
    nl.update(positions, cell, layer)
    moved = positions.copy()
    moved[0] += cell[0] - cell[1]
    assert nl.update(moved, cell, layer) is True
    assert_same_pairs(nl, moved, cell, layer, 2.5, "intralayer")


def test_bin_size_does_not_change_the_list_contents():
    positions, cell, layer = bn_bilayer(8)
    positions = positions + np.random.default_rng(5).normal(0.0, 0.1, positions.shape)
    keys = []
    for bins_per_cutoff in (1, 2, 5):
        nl = NeighborList(6.0, skin=0.5, bins_per_cutoff=bins_per_cutoff)
        nl.build(positions, cell, layer)
        keys.append(pair_keys(nl.offsets, nl.neighbors, nl.shifts, cell))
    for other in keys[1:]:
        np.testing.assert_array_equal(other, keys[0])


def test_list_cutoff_and_validation():
    assert NeighborList(16.0, skin=1.0).list_cutoff == 17.0
    with pytest.raises(ValueError, match="positive"):
        NeighborList(-1.0)
    with pytest.raises(ValueError, match="skin"):
        NeighborList(2.0, skin=-0.1)
    with pytest.raises(ValueError, match="Did you mean 'interlayer'"):
        NeighborList(2.0, mode="interlayr")
    with pytest.raises(ValueError, match="expected one of"):
        NeighborList(2.0, mode="xyz")
    nl = NeighborList(2.0)
    positions, cell, layer = bn_bilayer(2)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        nl.build(positions[:, :2], cell, layer)
    with pytest.raises(ValueError, match="layer"):
        nl.build(positions, cell, layer[:-1])
    with pytest.raises(ValueError, match="area"):
        nl.build(positions, np.diag([1.0, 0.0, 1.0]), layer)
    bad = positions.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        nl.build(bad, cell, layer)


def test_neighbor_lists_for_shares_equal_requests():
    requests = {
        ("ilp", "pairs"): NeighborRequest(16.0, "interlayer"),
        ("coulomb", "pairs"): NeighborRequest(16.0, "interlayer"),
        ("tersoff", "bonds"): NeighborRequest(2.0, "intralayer"),
        ("ilp", "normals"): NeighborRequest(2.0, "intralayer"),
        ("other", "all"): NeighborRequest(16.0, "all"),
    }
    lists = neighbor_lists_for(requests, skin=0.7)
    assert set(lists) == set(requests)
    assert lists[("ilp", "pairs")] is lists[("coulomb", "pairs")]
    assert lists[("tersoff", "bonds")] is lists[("ilp", "normals")]
    assert lists[("other", "all")] is not lists[("ilp", "pairs")]
    assert len({id(nl) for nl in lists.values()}) == 3
    assert lists[("ilp", "pairs")].list_cutoff == pytest.approx(16.7)
    assert lists[("ilp", "pairs")].mode == "interlayer"
    with pytest.raises(ValueError, match="Did you mean"):
        neighbor_lists_for({"x": NeighborRequest(2.0, "intra-layer")})


def expand_half(half):
    """The full list a HalfList stands for: each kept (i, j, s) also as (j, i, -s)."""
    i = np.repeat(np.arange(len(half.offsets) - 1), np.diff(half.offsets))
    j = half.neighbors.astype(np.int64)
    shifts = half.shift_table[half.images]
    rows = np.concatenate([i, j])
    order = np.argsort(rows, kind="stable")
    offsets = np.zeros(len(half.offsets), np.int64)
    offsets[1:] = np.cumsum(np.bincount(rows, minlength=len(half.offsets) - 1))
    return offsets, np.concatenate([j, i])[order], np.concatenate([shifts, -shifts])[order]


@pytest.mark.parametrize("n_cells, cutoff, mode", [(2, 16.0, "interlayer"), (5, 16.0, "interlayer"),
                                                   (3, 5.0, "all"), (1, 4.0, "intralayer")])
def test_half_list_holds_each_pair_once(n_cells, cutoff, mode):
    """Expanded, the half list is the full list; the shifts are the full list's, bit for bit;
    rows are balanced; half_list_from_full keeps the same pairs."""
    positions, cell, layer = bn_bilayer(n_cells)
    positions = positions + np.random.default_rng(n_cells).normal(0.0, 0.1, positions.shape)
    positions[::3, :2] += 7.0 * cell[0, :2]         # unwrapped: some atoms cells away
    nl = NeighborList(cutoff, skin=0.5, mode=mode)
    nl.build(positions, cell, layer)
    full = (nl.offsets, nl.neighbors, nl.shifts)
    half = nl.half_list()
    assert half.neighbors.dtype == np.int32 and half.images.dtype == np.int32
    assert 2 * len(half.neighbors) == len(full[1]) == nl.n_pairs
    expanded = expand_half(half)
    np.testing.assert_array_equal(pair_keys(*expanded, cell), pair_keys(*full, cell))
    # the exact shift of each kept entry appears in the full list's row for that pair
    full_rows = {(i, int(j), tuple(sh)) for i in range(len(positions))
                 for j, sh in zip(full[1][full[0][i]:full[0][i + 1]],
                                  full[2][full[0][i]:full[0][i + 1]])}
    i = np.repeat(np.arange(len(positions)), np.diff(half.offsets))
    for a, b, sh in zip(i, half.neighbors, half.shift_table[half.images]):
        assert (a, int(b), tuple(sh)) in full_rows
    if mode == "interlayer":
        rows = np.diff(half.offsets)
        assert rows.max() - rows.min() <= 0.2 * rows.mean()
    from_full = half_list_from_full(*full)
    np.testing.assert_array_equal(pair_keys(*expand_half(from_full), cell),
                                  pair_keys(*full, cell))
    if mode == "interlayer":
        # no atom meets its own image (where the two pick the image by different orders)
        np.testing.assert_array_equal(from_full.offsets, half.offsets)
        np.testing.assert_array_equal(from_full.neighbors, half.neighbors)
        np.testing.assert_array_equal(from_full.shift_table[from_full.images],
                                      half.shift_table[half.images])


def test_half_list_is_a_quarter_of_the_memory_and_the_only_form_kept():
    """Read only as a half list, an interlayer list holds 8 bytes a pair (the full list 64);
    the full form comes back, identical, when read."""
    positions, cell, layer = bn_bilayer(6)
    nl = NeighborList(16.0, skin=1.0, mode="interlayer")
    nl.build(positions, cell, layer)
    full_bytes = nl.nbytes                   # the full form, built but not read yet
    reference = NeighborList(16.0, skin=1.0, mode="interlayer")
    reference.build(positions, cell, layer)
    full = (reference.offsets, reference.neighbors, reference.shifts)
    assert full_bytes == sum(a.nbytes for a in full)
    half = nl.half_list()
    assert nl.nbytes == half.nbytes          # the unread full form was dropped
    assert half.nbytes < 0.25 * full_bytes
    nl.build(positions + 0.6, cell, layer)   # a rebuild builds only the half form
    assert nl._full is None and nl._half is not None
    nl.half_list()
    nl.build(positions, cell, layer)
    for a, b in zip(full, (nl.offsets, nl.neighbors, nl.shifts)):
        np.testing.assert_array_equal(a, b)
    assert nl.n_builds == 3


def test_half_list_does_not_depend_on_thread_count():
    positions, cell, layer = bn_bilayer(4)
    positions = positions + np.random.default_rng(4).normal(0.0, 0.1, positions.shape)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            nl = NeighborList(16.0, skin=1.0, mode="interlayer")
            nl.build(positions, cell, layer)
            results.append(nl.half_list())
    finally:
        numba.set_num_threads(before)
    for half in results[1:]:
        for name in ("offsets", "neighbors", "images", "shift_table"):
            np.testing.assert_array_equal(getattr(half, name), getattr(results[0], name))


def test_a_much_shorter_request_gets_its_own_list_and_the_same_results():
    """bn-dft with the registry dipole: the dipole's 6.8 A interlayer pairs get a list of their
    own beside the ILP's 16 A one (not a loop over the long list), the intralayer requests
    (bonds, normals) still share one list, and energy, forces and Born charges equal those
    computed with every term on the one longest list of its mode (to round-off: only the order
    of the dipole's sum changes)."""
    from slidesim.fields.coupling import DipoleTerm
    from slidesim.fields.dipole import RegistryDipole
    from slidesim.models.model import Model, SHARE_FRACTION, _plan_lists
    from slidesim.models.base import NeighborRequest
    from slidesim.structures import bilayer

    state = bilayer("BN", (6, 6), "BA", 2.511, 3.074)
    state.positions[0] += np.random.default_rng(4).normal(0.0, 0.05, state.positions[0].shape)
    from slidesim.models.bn_dft import bn_dft

    potential = bn_dft(("B", "N"))
    model = Model("bn-dft+dipole", potential.terms + [DipoleTerm(RegistryDipole(("B", "N")))],
                  ("B", "N"))
    modes = sorted(r.mode for r in model.requests.values())
    assert modes == ["interlayer", "interlayer", "intralayer"]
    assert model.requests["interlayer"].cutoff == 16.0
    short = [k for k, r in model.requests.items() if r.mode == "interlayer" and k != "interlayer"]
    assert model.requests[short[0]].cutoff == pytest.approx(np.hypot(4.0, 5.5))

    x = state.positions[0]
    own = model.neighbor_lists(skin=0.5)
    shared = {"interlayer": NeighborList(16.0, skin=0.5, mode="interlayer"),
              "intralayer": NeighborList(model.requests["intralayer"].cutoff, skin=0.5,
                                         mode="intralayer")}
    ours = model.compute(x, state.cell, state.species, state.layer, own)
    theirs = model.compute(x, state.cell, state.species, state.layer, shared)
    assert own[short[0]].n_pairs < shared["interlayer"].n_pairs / 4
    assert ours.energy == pytest.approx(theirs.energy, abs=1e-9)
    np.testing.assert_allclose(ours.forces, theirs.forces, atol=1e-11)
    np.testing.assert_allclose(ours.extras["born_charges"], theirs.extras["born_charges"],
                               atol=1e-12)
    np.testing.assert_allclose(ours.extras["dipole"], theirs.extras["dipole"], atol=1e-11)

    # the plan: shared down to SHARE_FRACTION of the longest, own lists below
    plan = _plan_lists([NeighborRequest(10.0, "interlayer"),
                        NeighborRequest(10.0 * SHARE_FRACTION, "interlayer"),
                        NeighborRequest(5.0, "interlayer"), NeighborRequest(2.0, "all")])
    assert {k: r.cutoff for k, r in plan.items()} == {"all": 2.0, "interlayer": 10.0,
                                                      "interlayer 5 A": 5.0}
