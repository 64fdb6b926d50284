#include "audit/merkle_tree.h"

#include <openssl/evp.h>

#include <bit>

namespace weftkit::audit {
namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;

// SHA-256(prefix || first || second). EVP_Digest is OpenSSL 3's one-shot digest; the inputs
// are gathered into one buffer because it takes a single span.
Hash Sha256Prefixed(std::uint8_t prefix, std::span<const std::uint8_t> first,
                    std::span<const std::uint8_t> second) {
  std::vector<std::uint8_t> input;
  input.reserve(1 + first.size() + second.size());
  input.push_back(prefix);
  input.insert(input.end(), first.begin(), first.end());
  input.insert(input.end(), second.begin(), second.end());
  Hash out;
  EVP_Digest(input.data(), input.size(), out.data(), nullptr, EVP_sha256(), nullptr);
  return out;
}

// The largest power of two strictly below n (n >= 2): the size of the left subtree.
std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

// RFC 6962 §2.1.1 PATH(m, D[n]), appended to `out`.
void AppendPath(std::span<const Hash> leaves, std::uint64_t m, std::vector<Hash>& out) {
  if (leaves.size() <= 1) return;
  std::uint64_t k = SplitPoint(leaves.size());
  if (m < k) {
    AppendPath(leaves.first(k), m, out);
    out.push_back(RootHash(leaves.subspan(k)));
  } else {
    AppendPath(leaves.subspan(k), m - k, out);
    out.push_back(RootHash(leaves.first(k)));
  }
}

// RFC 6962 §2.1.2 SUBPROOF(m, D[n], b), appended to `out`.
void AppendSubproof(std::span<const Hash> leaves, std::uint64_t m, bool whole_subtree,
                    std::vector<Hash>& out) {
  std::uint64_t n = leaves.size();
  if (m == n) {
    if (!whole_subtree) out.push_back(RootHash(leaves));
    return;
  }
  std::uint64_t k = SplitPoint(n);
  if (m <= k) {
    AppendSubproof(leaves.first(k), m, whole_subtree, out);
    out.push_back(RootHash(leaves.subspan(k)));
  } else {
    AppendSubproof(leaves.subspan(k), m - k, false, out);
    out.push_back(RootHash(leaves.first(k)));
  }
}

Error BadProofRequest(const std::string& detail) {
  return Error(ErrorKind::kInvalidArgument, "audit_bad_proof_request", detail);
}

bool IsOdd(std::uint64_t n) { return (n & 1) != 0; }

// Shifts both counters right until `fn` is odd or zero (the "right-shift fn and sn equally"
// steps of RFC 9162 §2.1.3.2 and §2.1.4.2).
void ShiftWhileEven(std::uint64_t& fn, std::uint64_t& sn) {
  while (!IsOdd(fn) && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Hash LeafHash(std::span<const std::uint8_t> data) { return Sha256Prefixed(kLeafPrefix, data, {}); }

Hash LeafHash(std::string_view data) {
  return LeafHash(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data.data()),
                                                data.size()));
}

Hash NodeHash(const Hash& left, const Hash& right) {
  return Sha256Prefixed(kNodePrefix, left, right);
}

Hash EmptyTreeHash() {
  Hash out;
  EVP_Digest("", 0, out.data(), nullptr, EVP_sha256(), nullptr);
  return out;
}

Hash RootHash(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyTreeHash();
  if (leaves.size() == 1) return leaves[0];
  std::uint64_t k = SplitPoint(leaves.size());
  return NodeHash(RootHash(leaves.first(k)), RootHash(leaves.subspan(k)));
}

std::vector<Hash> CompactRange(std::span<const Hash> leaves) {
  std::vector<Hash> range;
  while (!leaves.empty()) {
    std::uint64_t subtree = std::bit_floor(static_cast<std::uint64_t>(leaves.size()));
    range.push_back(RootHash(leaves.first(subtree)));
    leaves = leaves.subspan(subtree);
  }
  return range;
}

Hash RootFromCompactRange(std::span<const Hash> range) {
  if (range.empty()) return EmptyTreeHash();
  // MTH splits at the largest power of two below the size, which is the first subtree: the
  // root is node(r0, node(r1, ... node(rk-1, rk))).
  Hash root = range.back();
  for (std::size_t i = range.size() - 1; i-- > 0;) root = NodeHash(range[i], root);
  return root;
}

Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaves, std::uint64_t index,
                                         std::uint64_t tree_size) {
  if (tree_size > leaves.size()) return BadProofRequest("tree size beyond the log");
  if (index >= tree_size) return BadProofRequest("leaf index not below the tree size");
  std::vector<Hash> proof;
  AppendPath(leaves.first(tree_size), index, proof);
  return proof;
}

Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaves, std::uint64_t first,
                                           std::uint64_t second) {
  if (second > leaves.size()) return BadProofRequest("second tree size beyond the log");
  if (first > second) return BadProofRequest("first tree size above the second");
  std::vector<Hash> proof;
  if (first == 0 || first == second) return proof;
  AppendSubproof(leaves.first(second), first, true, proof);
  return proof;
}

bool VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                     std::span<const Hash> proof, const Hash& root) {
  if (index >= tree_size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if (IsOdd(fn) || fn == sn) {
      r = NodeHash(p, r);
      if (!IsOdd(fn)) ShiftWhileEven(fn, sn);
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                       const Hash& second_root, std::span<const Hash> proof) {
  if (first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  if (first == 0) return proof.empty() && first_root == EmptyTreeHash();
  if (proof.empty()) return false;

  // When the first tree is a complete subtree its root is the first node of the path, and the
  // proof leaves it out (RFC 9162 §2.1.4.2 step 2).
  std::vector<Hash> path;
  if (std::has_single_bit(first)) path.push_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());

  std::uint64_t fn = first - 1;
  std::uint64_t sn = second - 1;
  while (IsOdd(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if (IsOdd(fn) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!IsOdd(fn)) ShiftWhileEven(fn, sn);
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;
}

std::string HashToHex(const Hash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(hash.size() * 2);
  for (std::uint8_t b : hash) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0x0f]);
  }
  return hex;
}

Result<Hash> HashFromHex(std::string_view hex) {
  Hash out;
  if (hex.size() != out.size() * 2) {
    return Error(ErrorKind::kInvalidArgument, "audit_bad_hash", "a hash is 64 hex digits");
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    int high = HexValue(hex[2 * i]);
    int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return Error(ErrorKind::kInvalidArgument, "audit_bad_hash", "a hash is 64 hex digits");
    }
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return out;
}

}  // namespace weftkit::audit
