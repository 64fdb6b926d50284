// Every file the server touches must lie under its configured folder. These tests try the ways
// out: "..", absolute paths, symlinks (directly and hidden behind a missing directory and ".."),
// and sibling folders whose names share the root's prefix.
#include "common/path_jail.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test/support/temp_dir.h"

namespace weftkit {
namespace {

namespace fs = std::filesystem;

class PathJailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()) / "root";
    outside_ = fs::canonical(dir_.path()) / "outside";
    fs::create_directories(root_ / "sub");
    fs::create_directories(outside_);
    std::ofstream(outside_ / "secret.txt") << "not for the server";
  }

  void ExpectOutside(const fs::path& candidate) {
    auto resolved = ResolveUnder(root_, candidate);
    ASSERT_FALSE(resolved.ok()) << candidate << " resolved to " << resolved.value();
    EXPECT_EQ(resolved.error().code(), "path_outside_root") << candidate;
    EXPECT_EQ(resolved.error().kind(), ErrorKind::kInvalidArgument);
  }

  testing::TempDir dir_;
  fs::path root_;
  fs::path outside_;
};

TEST_F(PathJailTest, ResolveUnder_ReturnsCanonicalPath_ForRelativeFileInside) {
  auto resolved = ResolveUnder(root_, "sub/./new-file.json");
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  EXPECT_EQ(*resolved, root_ / "sub" / "new-file.json");
}

TEST_F(PathJailTest, ResolveUnder_Accepts_AbsolutePathInside) {
  auto resolved = ResolveUnder(root_, root_ / "sub" / ".." / "file");
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  EXPECT_EQ(*resolved, root_ / "file");
}

TEST_F(PathJailTest, ResolveUnder_Accepts_SymlinkThatStaysInside) {
  fs::create_directory_symlink(root_ / "sub", root_ / "alias");
  auto resolved = ResolveUnder(root_, "alias/file");
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  EXPECT_EQ(*resolved, root_ / "sub" / "file");
}

TEST_F(PathJailTest, ResolveUnder_Fails_OnDotDotEscape) {
  ExpectOutside("../outside/secret.txt");
  ExpectOutside("sub/../../outside/secret.txt");
  ExpectOutside("..");
}

TEST_F(PathJailTest, ResolveUnder_Fails_OnAbsolutePathOutside) {
  ExpectOutside("/etc/passwd");
  ExpectOutside(outside_ / "secret.txt");
}

TEST_F(PathJailTest, ResolveUnder_Fails_OnSymlinkEscape) {
  fs::create_symlink(outside_ / "secret.txt", root_ / "link-to-file");
  fs::create_directory_symlink(outside_, root_ / "sub" / "link-to-dir");
  ExpectOutside("link-to-file");
  ExpectOutside("sub/link-to-dir/secret.txt");
  ExpectOutside("sub/link-to-dir/not-yet-created.txt");
}

// weakly_canonical alone would drop "missing/.." lexically and return root/link-to-file with
// the symlink unresolved.
TEST_F(PathJailTest, ResolveUnder_Fails_OnSymlinkBehindMissingDirectoryAndDotDot) {
  fs::create_symlink(outside_ / "secret.txt", root_ / "link-to-file");
  ExpectOutside("missing/../link-to-file");
}

TEST_F(PathJailTest, ResolveUnder_Fails_OnSiblingWithRootAsNamePrefix) {
  fs::create_directories(root_.string() + "-old");
  ExpectOutside(root_.string() + "-old/file");
}

TEST_F(PathJailTest, ResolveUnder_FailsWithInvalidPath_OnEmptyOrNulPath) {
  auto empty = ResolveUnder(root_, "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), "invalid_path");

  auto with_nul = ResolveUnder(root_, fs::path(std::string("sub\0/../../x", 12)));
  ASSERT_FALSE(with_nul.ok());
  EXPECT_EQ(with_nul.error().code(), "invalid_path");
}

TEST_F(PathJailTest, ResolveUnder_FailsWithRootUnresolvable_WhenRootIsMissing) {
  auto resolved = ResolveUnder(dir_.path() / "no-such-root", "file");
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().code(), "path_root_unresolvable");
  EXPECT_EQ(resolved.error().kind(), ErrorKind::kFailedPrecondition);
}

TEST_F(PathJailTest, ResolveUnder_ResolvesRootThroughSymlink) {
  fs::create_directory_symlink(root_, dir_.path() / "root-link");
  auto resolved = ResolveUnder(dir_.path() / "root-link", "sub/file");
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  EXPECT_EQ(*resolved, root_ / "sub" / "file");
}

}  // namespace
}  // namespace weftkit
