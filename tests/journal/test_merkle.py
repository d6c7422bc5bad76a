"""RFC 9162 hashing and proofs: published vectors, then properties over random trees."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.journal import merkle

# RFC 6962 reference data as published by transparency-dev/merkle (testonly/constants.go)
# and Certificate Transparency's test suites: leaf inputs, roots for sizes 0..8, node hashes.
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEVEL1 = [
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
]
INCLUSION = [  # (index, size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
CONSISTENCY = [  # (old size, new size, proof)
    (2, 8, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

LEAVES = [merkle.leaf_hash(d) for d in LEAF_INPUTS]


def reference_lookup(leaves: list[bytes]) -> merkle.NodeLookup:
    """Complete subtrees straight from the RFC's recursive MTH definition."""

    def node(level: int, index: int) -> bytes:
        start = index << level
        assert start + (1 << level) <= len(leaves)
        return merkle.root_of(leaves[start : start + (1 << level)])

    return node


def h(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


def test_empty_tree_and_published_roots() -> None:
    assert merkle.EMPTY_ROOT.hex() == ROOTS[0]
    for size in range(len(LEAVES) + 1):
        assert merkle.root_of(LEAVES[:size]).hex() == ROOTS[size]


def test_compact_range_gives_published_roots_and_node_hashes() -> None:
    tree = merkle.CompactRange()
    completed_level1 = []
    for size, leaf in enumerate(LEAVES, start=1):
        completed = tree.append(leaf)
        if completed:
            completed_level1.append(completed[0].hex())
        assert tree.root().hex() == ROOTS[size]
    assert completed_level1 == LEVEL1


def test_split_is_largest_power_of_two_below_n() -> None:
    wanted = {2: 1, 3: 2, 4: 2, 5: 4, 8: 4, 9: 8, 1000: 512, (1 << 40) + 1: 1 << 40}
    assert {n: merkle.split_point(n) for n in wanted} == wanted


def test_published_inclusion_proofs() -> None:
    lookup = reference_lookup(LEAVES)
    root = bytes.fromhex(ROOTS[8])
    for index, size, proof in INCLUSION:
        assert merkle.inclusion_proof(lookup, index, size) == h(proof)
        assert merkle.verify_inclusion(LEAVES[index], index, size, h(proof), root)


def test_published_consistency_proofs() -> None:
    lookup = reference_lookup(LEAVES)
    for old, new, proof in CONSISTENCY:
        assert merkle.consistency_proof(lookup, old, new) == h(proof)
        old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
        assert merkle.verify_consistency(old, new, old_root, new_root, h(proof))
        assert not merkle.verify_consistency(
            old, new, bytes.fromhex(ROOTS[old - 1]), new_root, h(proof)
        )


def test_degenerate_proofs() -> None:
    root1 = bytes.fromhex(ROOTS[1])
    assert merkle.verify_inclusion(LEAVES[0], 0, 1, [], root1)
    assert not merkle.verify_inclusion(LEAVES[0], 1, 1, [], root1)  # index beyond size
    assert not merkle.verify_inclusion(LEAVES[0], 0, 0, [], root1)
    assert merkle.verify_consistency(3, 3, bytes.fromhex(ROOTS[3]), bytes.fromhex(ROOTS[3]), [])
    assert not merkle.verify_consistency(3, 3, bytes.fromhex(ROOTS[3]), bytes.fromhex(ROOTS[4]), [])
    assert not merkle.verify_consistency(
        3, 3, bytes.fromhex(ROOTS[3]), bytes.fromhex(ROOTS[3]), [LEAVES[0]]
    )
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, bytes.fromhex(ROOTS[5]), [])
    assert not merkle.verify_consistency(4, 3, bytes.fromhex(ROOTS[4]), bytes.fromhex(ROOTS[3]), [])
    # A non-trivial growth needs a proof: an empty one must never pass.
    assert not merkle.verify_consistency(4, 8, bytes.fromhex(ROOTS[4]), bytes.fromhex(ROOTS[8]), [])


def _flip(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


tree_sizes = st.integers(min_value=1, max_value=150)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    size = draw(tree_sizes)
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    return leaves, draw(st.integers(min_value=0, max_value=size - 1))


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_inclusion_proofs_verify_and_any_flipped_bit_fails(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, index = case
    size = len(leaves)
    lookup = reference_lookup(leaves)
    root = merkle.root_of(leaves)
    proof = merkle.inclusion_proof(lookup, index, size)
    assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
    # Flip one bit anywhere: in the leaf, the root, or one proof hash.
    assert not merkle.verify_inclusion(
        _flip(leaves[index], data.draw(st.integers(0, 255))), index, size, proof, root
    )
    assert not merkle.verify_inclusion(
        leaves[index], index, size, proof, _flip(root, data.draw(st.integers(0, 255)))
    )
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[which] = _flip(bad[which], data.draw(st.integers(0, 255)))
        assert not merkle.verify_inclusion(leaves[index], index, size, bad, root)
        assert not merkle.verify_inclusion(leaves[index], index, size, proof[:-1], root)
    assert not merkle.verify_inclusion(leaves[index], index, size, [*proof, root], root)
    # Another leaf's position: only valid if that leaf really is the same hash (never here).
    other = data.draw(st.integers(0, size - 1))
    if other != index:
        assert not merkle.verify_inclusion(leaves[index], other, size, proof, root)
    # Another tree size with that size's true root: valid only if the proofs coincide.
    other_size = data.draw(st.integers(index + 1, size + 8))
    if other_size != size:
        bigger = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(other_size)]
        if merkle.verify_inclusion(leaves[index], index, other_size, proof, merkle.root_of(bigger)):
            assert merkle.inclusion_proof(reference_lookup(bigger), index, other_size) == proof


@settings(max_examples=150, deadline=None)
@given(tree_sizes, st.data())
def test_consistency_proofs_verify_and_any_flipped_bit_fails(
    size: int, data: st.DataObject
) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    old = data.draw(st.integers(0, size))
    lookup = reference_lookup(leaves)
    old_root, new_root = merkle.root_of(leaves[:old]), merkle.root_of(leaves)
    proof = merkle.consistency_proof(lookup, old, size)
    assert merkle.verify_consistency(old, size, old_root, new_root, proof)
    if 0 < old < size:
        assert proof
        which = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[which] = _flip(bad[which], data.draw(st.integers(0, 255)))
        assert not merkle.verify_consistency(old, size, old_root, new_root, bad)
        assert not merkle.verify_consistency(
            old, size, _flip(old_root, data.draw(st.integers(0, 255))), new_root, proof
        )
        assert not merkle.verify_consistency(
            old, size, old_root, _flip(new_root, data.draw(st.integers(0, 255))), proof
        )
        assert not merkle.verify_consistency(old, size, old_root, new_root, proof[:-1])
        # A history that differs in any one leaf before `old` is not consistent.
        forked = list(leaves)
        changed = data.draw(st.integers(0, old - 1))
        forked[changed] = merkle.leaf_hash(b"forged")
        assert not merkle.verify_consistency(
            old, size, merkle.root_of(forked[:old]), new_root, proof
        )


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300))
def test_stored_subtrees_give_the_reference_root_at_every_size(size: int) -> None:
    """What the journal stores (subtrees completed per append) answers like the reference."""
    tree = merkle.CompactRange()
    stored: dict[tuple[int, int], bytes] = {}
    leaves = []
    for i in range(size):
        leaf = merkle.leaf_hash(i.to_bytes(4, "big"))
        leaves.append(leaf)
        stored[(0, i)] = leaf
        for level, node in enumerate(tree.append(leaf), start=1):
            stored[(level, (i + 1 >> level) - 1)] = node

    def lookup(level: int, index: int) -> bytes:
        return stored[(level, index)]

    for n in {1, size // 2 or 1, size - 1 or 1, size}:
        assert merkle.root_at(lookup, n) == merkle.root_of(leaves[:n])
    assert tree.root() == merkle.root_of(leaves)
    assert len(tree.peaks) == bin(size).count("1")
