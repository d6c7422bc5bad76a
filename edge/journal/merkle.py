"""RFC 9162 (section 2.1) Merkle tree hashing, proofs and their verification; pure."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# Hash of the complete aligned subtree (level, i): leaves [i << level, (i + 1) << level).
NodeLookup = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof was asked for sizes or indices that do not exist."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n >= 2), where RFC 9162 splits a tree."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves has no split")
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, straight from the RFC's recursive definition (the reference)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = split_point(n)
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


@dataclass
class CompactRange:
    """The right edge of a growing tree: one complete subtree hash per set bit of its size."""

    size: int = 0
    peaks: list[tuple[int, bytes]] = field(default_factory=list)  # (level, hash), left to right

    def append(self, leaf: bytes) -> list[bytes]:
        """Add a leaf hash; return the hashes of the subtrees it completed, lowest level first."""
        completed: list[bytes] = []
        level, current = 0, leaf
        while self.peaks and self.peaks[-1][0] == level:
            _, left = self.peaks.pop()
            current = node_hash(left, current)
            level += 1
            completed.append(current)
        self.peaks.append((level, current))
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.peaks:
            return EMPTY_ROOT
        acc = self.peaks[-1][1]
        for _, peak in reversed(self.peaks[:-1]):
            acc = node_hash(peak, acc)
        return acc

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.peaks))


def subtree_hash(node: NodeLookup, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for the ranges RFC 9162 proofs use: start is aligned to the range."""
    width = end - start
    if width <= 0:
        raise ProofError(f"empty range {start}:{end}")
    if width & (width - 1) == 0:
        level = width.bit_length() - 1
        if start % width:
            raise ProofError(f"range {start}:{end} is not aligned")
        return node(level, start >> level)
    k = split_point(width)
    return node_hash(subtree_hash(node, start, start + k), subtree_hash(node, start + k, end))


def root_at(node: NodeLookup, size: int) -> bytes:
    """Root hash of the first `size` leaves, from stored complete subtrees (O(log n) lookups)."""
    if size == 0:
        return EMPTY_ROOT
    return subtree_hash(node, 0, size)


def inclusion_proof(node: NodeLookup, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) per RFC 9162 2.1.3.1."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    # Walk down from the root; collect siblings, then reverse (the proof runs leaf to root).
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            path.append(subtree_hash(node, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(node, start, start + k))
            start, m = start + k, m - k
    path.reverse()
    return path


def consistency_proof(node: NodeLookup, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) per RFC 9162 2.1.4.1 (empty when nothing to prove)."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        width = end - start
        if m == width:
            if not complete:
                proof.append(subtree_hash(node, start, end))
            break
        k = split_point(width)
        if m <= k:
            proof.append(subtree_hash(node, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(node, start, start + k))
            start, m, complete = start + k, m - k, False
    proof.reverse()
    return proof


def _lsb(x: int) -> bool:
    return bool(x & 1)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` show `leaf` at `index` in the tree of `size` with `root`?"""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            while not _lsb(fn) and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: does `proof` show the tree of `new_size` extends the one of `old_size`?"""
    if not 0 <= old_size <= new_size or any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not _lsb(fn) and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
