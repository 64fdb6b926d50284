// The Merkle tree must agree with every other RFC 6962 implementation, or a proof it serves
// convinces nobody. These tests pin it to the published reference vectors and then check, for
// every tree size up to 64, that every proof it builds verifies and that any change fails.
#include "audit/merkle_tree.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace weftkit::audit {
namespace {

// The eight leaves and the tree heads for sizes 0..8 that Certificate Transparency
// implementations share as test data (first published with Google's certificate-transparency
// C++ log, cpp/merkletree/merkle_tree_test.cc, and carried on by transparency-dev/merkle).
const std::vector<std::string> kReferenceLeavesHex = {"",
                                                      "00",
                                                      "10",
                                                      "2021",
                                                      "3031",
                                                      "40414243",
                                                      "5051525354555657",
                                                      "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kReferenceRoots = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

struct ProofVector {
  std::uint64_t a;  // leaf index (inclusion) or first tree size (consistency)
  std::uint64_t tree_size;
  std::vector<std::string> proof;
};

const std::vector<ProofVector> kInclusionVectors = {
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

const std::vector<ProofVector> kConsistencyVectors = {
    {2,
     8,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<std::uint8_t> Unhex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Hash H(const std::string& hex) { return HashFromHex(hex).value(); }

std::vector<Hash> Hashes(const std::vector<std::string>& hexes) {
  std::vector<Hash> out;
  for (const std::string& hex : hexes) out.push_back(H(hex));
  return out;
}

std::vector<Hash> ReferenceLeaves() {
  std::vector<Hash> out;
  for (const std::string& hex : kReferenceLeavesHex) out.push_back(LeafHash(Unhex(hex)));
  return out;
}

std::vector<Hash> NumberedLeaves(int count) {
  std::vector<Hash> out;
  for (int i = 0; i < count; ++i) out.push_back(LeafHash("entry " + std::to_string(i)));
  return out;
}

TEST(MerkleTreeTest, EmptyTreeHash_IsSha256OfNothing) {
  EXPECT_EQ(HashToHex(EmptyTreeHash()), kReferenceRoots[0]);
  EXPECT_EQ(RootHash({}), EmptyTreeHash());
}

TEST(MerkleTreeTest, RootHash_MatchesReferenceRoots_ForSizes0To8) {
  std::vector<Hash> leaves = ReferenceLeaves();
  for (std::size_t n = 0; n <= leaves.size(); ++n) {
    EXPECT_EQ(HashToHex(RootHash(std::span(leaves).first(n))), kReferenceRoots[n]) << n;
  }
}

TEST(MerkleTreeTest, InclusionProof_MatchesReferenceVectors) {
  std::vector<Hash> leaves = ReferenceLeaves();
  for (const ProofVector& v : kInclusionVectors) {
    auto proof = InclusionProof(leaves, v.a, v.tree_size);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, Hashes(v.proof)) << v.a;
    EXPECT_TRUE(VerifyInclusion(leaves[v.a], v.a, v.tree_size, Hashes(v.proof),
                                H(kReferenceRoots[v.tree_size])));
  }
}

TEST(MerkleTreeTest, ConsistencyProof_MatchesReferenceVectors) {
  std::vector<Hash> leaves = ReferenceLeaves();
  for (const ProofVector& v : kConsistencyVectors) {
    auto proof = ConsistencyProof(leaves, v.a, v.tree_size);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, Hashes(v.proof)) << v.a;
    EXPECT_TRUE(VerifyConsistency(v.a, v.tree_size, H(kReferenceRoots[v.a]),
                                  H(kReferenceRoots[v.tree_size]), Hashes(v.proof)));
  }
}

TEST(MerkleTreeTest, VerifyInclusion_AcceptsEveryProof_ForEverySizeAndIndexTo64) {
  std::vector<Hash> leaves = NumberedLeaves(64);
  for (std::uint64_t n = 1; n <= 64; ++n) {
    Hash root = RootHash(std::span(leaves).first(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      auto proof = InclusionProof(leaves, i, n);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyInclusion(leaves[i], i, n, *proof, root)) << i << "/" << n;
      // The same proof must not place another leaf there, nor this leaf elsewhere.
      EXPECT_FALSE(VerifyInclusion(leaves[(i + 1) % 64], i, n, *proof, root)) << i << "/" << n;
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(leaves[i], (i + 1) % n, n, *proof, root));
      }
    }
  }
}

TEST(MerkleTreeTest, VerifyInclusion_RejectsMangledProofs) {
  std::vector<Hash> leaves = NumberedLeaves(64);
  for (std::uint64_t n = 2; n <= 64; ++n) {
    Hash root = RootHash(std::span(leaves).first(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      std::vector<Hash> proof = InclusionProof(leaves, i, n).value();
      for (std::size_t k = 0; k < proof.size(); ++k) {
        std::vector<Hash> flipped = proof;
        flipped[k][k % 32] ^= 0x01;
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, flipped, root)) << i << "/" << n;
      }
      std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, shorter, root));
      std::vector<Hash> longer = proof;
      longer.push_back(leaves[0]);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, longer, root));
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, proof, leaves[i]));
    }
  }
}

TEST(MerkleTreeTest, VerifyConsistency_AcceptsEveryProof_ForEveryPairTo64) {
  std::vector<Hash> leaves = NumberedLeaves(64);
  std::vector<Hash> roots;
  for (std::uint64_t n = 0; n <= 64; ++n) roots.push_back(RootHash(std::span(leaves).first(n)));
  for (std::uint64_t second = 0; second <= 64; ++second) {
    for (std::uint64_t first = 0; first <= second; ++first) {
      auto proof = ConsistencyProof(leaves, first, second);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(first, second, roots[first], roots[second], *proof))
          << first << "->" << second;
    }
  }
}

TEST(MerkleTreeTest, VerifyConsistency_RejectsMangledProofsAndRoots) {
  std::vector<Hash> leaves = NumberedLeaves(64);
  std::vector<Hash> roots;
  for (std::uint64_t n = 0; n <= 64; ++n) roots.push_back(RootHash(std::span(leaves).first(n)));
  for (std::uint64_t second = 2; second <= 64; ++second) {
    for (std::uint64_t first = 1; first < second; ++first) {
      std::vector<Hash> proof = ConsistencyProof(leaves, first, second).value();
      ASSERT_FALSE(proof.empty());
      for (std::size_t k = 0; k < proof.size(); ++k) {
        std::vector<Hash> flipped = proof;
        flipped[k][0] ^= 0x80;
        EXPECT_FALSE(VerifyConsistency(first, second, roots[first], roots[second], flipped))
            << first << "->" << second << " at " << k;
      }
      std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
      EXPECT_FALSE(VerifyConsistency(first, second, roots[first], roots[second], shorter));
      std::vector<Hash> longer = proof;
      longer.push_back(roots[0]);
      EXPECT_FALSE(VerifyConsistency(first, second, roots[first], roots[second], longer));
      // A rewritten history: the old root is not a prefix of the new tree.
      EXPECT_FALSE(VerifyConsistency(first, second, roots[first - 1], roots[second], proof));
      EXPECT_FALSE(VerifyConsistency(first, second, roots[first], roots[second - 1], proof));
    }
  }
}

TEST(MerkleTreeTest, VerifyConsistency_HandlesDegenerateSizes) {
  std::vector<Hash> leaves = NumberedLeaves(8);
  Hash root4 = RootHash(std::span(leaves).first(4));
  Hash root8 = RootHash(leaves);
  EXPECT_TRUE(VerifyConsistency(4, 4, root4, root4, {}));
  EXPECT_FALSE(VerifyConsistency(4, 4, root4, root8, {}));
  EXPECT_FALSE(VerifyConsistency(4, 4, root4, root4, std::vector<Hash>{root4}));
  EXPECT_TRUE(VerifyConsistency(0, 8, EmptyTreeHash(), root8, {}));
  EXPECT_FALSE(VerifyConsistency(0, 8, root4, root8, {}));
  EXPECT_FALSE(VerifyConsistency(8, 4, root8, root4, {}));
  EXPECT_FALSE(VerifyConsistency(4, 8, root4, root8, {}));
}

TEST(MerkleTreeTest, Proofs_FailWithBadProofRequest_OutsideTheLog) {
  std::vector<Hash> leaves = NumberedLeaves(8);
  EXPECT_EQ(InclusionProof(leaves, 8, 8).error().code(), "audit_bad_proof_request");
  EXPECT_EQ(InclusionProof(leaves, 0, 9).error().code(), "audit_bad_proof_request");
  EXPECT_EQ(InclusionProof(leaves, 0, 0).error().code(), "audit_bad_proof_request");
  EXPECT_EQ(ConsistencyProof(leaves, 5, 3).error().code(), "audit_bad_proof_request");
  EXPECT_EQ(ConsistencyProof(leaves, 1, 9).error().code(), "audit_bad_proof_request");
}

TEST(MerkleTreeTest, HashFromHex_RoundTripsAndRejectsMalformedText) {
  Hash root = H(kReferenceRoots[8]);
  EXPECT_EQ(HashToHex(root), kReferenceRoots[8]);
  EXPECT_EQ(HashFromHex("ABCDEF" + kReferenceRoots[8].substr(6)).value()[0], 0xab);
  EXPECT_EQ(HashFromHex(kReferenceRoots[8].substr(1)).error().code(), "audit_bad_hash");
  EXPECT_EQ(HashFromHex(kReferenceRoots[8] + "0").error().code(), "audit_bad_hash");
  EXPECT_EQ(HashFromHex("g" + kReferenceRoots[8].substr(1)).error().code(), "audit_bad_hash");
}

}  // namespace
}  // namespace weftkit::audit
