// The DEK cache alone: time-to-live against an injected clock, the size bound, and keys that
// separate envelopes and contexts.
#include "client/dek_cache.h"

#include <gtest/gtest.h>

namespace weftkit::client {
namespace {

using std::chrono::seconds;

class DekCacheTest : public ::testing::Test {
 protected:
  DekCache Make(std::size_t max_entries, seconds ttl) {
    return DekCache(DekCacheOptions{max_entries, ttl}, [this] { return now_; });
  }
  static SecretBytes Dek(char fill) { return SecretBytes::CopyOf(std::string(32, fill)); }

  std::chrono::steady_clock::time_point now_{};
};

TEST_F(DekCacheTest, Get_ReturnsStoredDek_BeforeTtl) {
  DekCache cache = Make(4, seconds(10));
  auto key = DekCache::KeyOf("V0sB", {{"page", "1"}});
  cache.Put(key, Dek('a'));
  now_ += seconds(9);
  std::optional<SecretBytes> got = cache.Get(key);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->ConstantTimeEquals(Dek('a')));
}

TEST_F(DekCacheTest, Get_MissesAndDropsEntry_AtTtl) {
  DekCache cache = Make(4, seconds(10));
  auto key = DekCache::KeyOf("V0sB", {});
  cache.Put(key, Dek('a'));
  now_ += seconds(10);
  EXPECT_FALSE(cache.Get(key).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(DekCacheTest, Put_EvictsLeastRecentlyUsed_WhenFull) {
  DekCache cache = Make(2, seconds(60));
  auto a = DekCache::KeyOf("a", {});
  auto b = DekCache::KeyOf("b", {});
  auto c = DekCache::KeyOf("c", {});
  cache.Put(a, Dek('a'));
  cache.Put(b, Dek('b'));
  ASSERT_TRUE(cache.Get(a).has_value());  // a is now the most recently used
  cache.Put(c, Dek('c'));
  EXPECT_TRUE(cache.Get(a).has_value());
  EXPECT_FALSE(cache.Get(b).has_value());
  EXPECT_TRUE(cache.Get(c).has_value());
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(DekCacheTest, Put_StoresNothing_WhenDisabled) {
  DekCache cache = Make(0, seconds(60));
  auto key = DekCache::KeyOf("a", {});
  cache.Put(key, Dek('a'));
  EXPECT_FALSE(cache.Get(key).has_value());
}

TEST_F(DekCacheTest, KeyOf_Differs_ForOtherContextOrEnvelope) {
  auto base = DekCache::KeyOf("env", {{"a", "b"}});
  EXPECT_EQ(base, DekCache::KeyOf("env", {{"a", "b"}}));
  EXPECT_NE(base, DekCache::KeyOf("env", {{"a", "c"}}));
  EXPECT_NE(base, DekCache::KeyOf("env", {}));
  EXPECT_NE(base, DekCache::KeyOf("env2", {{"a", "b"}}));
  // Length prefixes keep ("ab","") and ("a","b") apart.
  EXPECT_NE(DekCache::KeyOf("x", {{"ab", ""}}), DekCache::KeyOf("x", {{"a", "b"}}));
}

TEST_F(DekCacheTest, Clear_DropsEverything) {
  DekCache cache = Make(4, seconds(60));
  cache.Put(DekCache::KeyOf("a", {}), Dek('a'));
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace weftkit::client
