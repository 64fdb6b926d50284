// The Merkle tree of the audit log, exactly as RFC 6962 §2.1 defines it, with its inclusion and
// consistency proofs and the functions that check them.
//
// Hashing (SHA-256 throughout):
//   leaf hash  = SHA-256(0x00 || leaf bytes)
//   node hash  = SHA-256(0x01 || left child hash || right child hash)
//   MTH({})    = SHA-256("") (the empty tree)
//   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n.
// Proofs are lists of hashes in the order RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF) produce
// them; the verifying functions follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, so a proof
// from any RFC 6962 log checks here and ours check there.
//
// The builders work on the leaf hashes of the whole tree in memory: O(n) time and 32 bytes a
// leaf. TODO(#7): keep stored subtree hashes so that proofs over millions of entries are
// O(log n) reads.
//
// Thread safety: every function is pure and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace weftkit::audit {

// A SHA-256 digest: a leaf hash, a node hash or a tree root.
using Hash = std::array<std::uint8_t, 32>;

// SHA-256(0x00 || data).
Hash LeafHash(std::span<const std::uint8_t> data);
Hash LeafHash(std::string_view data);

// SHA-256(0x01 || left || right).
Hash NodeHash(const Hash& left, const Hash& right);

// SHA-256 of nothing: the root of the tree with no leaves.
Hash EmptyTreeHash();

// MTH of the tree whose leaves have the hashes `leaves` (in order).
Hash RootHash(std::span<const Hash> leaves);

// The compact range of the first `leaves.size()` leaves: the roots of the largest complete
// subtrees that cover them, left to right (one per set bit of the size, largest first). With it
// alone the root of this tree, and of every tree that extends it with more leaves, can be
// computed: RootFromCompactRange. Empty for no leaves.
std::vector<Hash> CompactRange(std::span<const Hash> leaves);

// The root of the tree whose compact range is `range` (EmptyTreeHash() for an empty range).
Hash RootFromCompactRange(std::span<const Hash> range);

// The audit path of leaf `index` in the tree of the first `tree_size` of `leaves`.
// Fails with kInvalidArgument "audit_bad_proof_request" unless index < tree_size <=
// leaves.size().
Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaves, std::uint64_t index,
                                         std::uint64_t tree_size);

// The proof that the tree of the first `first` leaves is a prefix of the tree of the first
// `second`. Empty when first is 0 or equals second. Fails with kInvalidArgument
// "audit_bad_proof_request" unless first <= second <= leaves.size().
Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaves, std::uint64_t first,
                                           std::uint64_t second);

// True if `proof` shows that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves whose
// root is `root`. False for any malformed input (index out of range, a proof too long or too
// short).
bool VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                     std::span<const Hash> proof, const Hash& root);

// True if `proof` shows that the tree of `first` leaves with root `first_root` is a prefix of
// the tree of `second` leaves with root `second_root`. The degenerate cases: first == second
// needs an empty proof and equal roots; first == 0 needs an empty proof and `first_root` equal
// to EmptyTreeHash() (every tree extends the empty one).
bool VerifyConsistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                       const Hash& second_root, std::span<const Hash> proof);

// Lower-case hex of `hash`, 64 characters.
std::string HashToHex(const Hash& hash);

// Parses 64 hex digits (either case). Fails with kInvalidArgument "audit_bad_hash" otherwise.
Result<Hash> HashFromHex(std::string_view hex);

}  // namespace weftkit::audit
