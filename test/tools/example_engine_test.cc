// The example engine: its encrypted page format on its own, and examples/demo.sh (rotation
// without re-encryption, then bulk rewrap) against the real kmsd.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "examples/page_file.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::example {
namespace {

class PageFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("weftkit-pages-" + std::to_string(::getpid()) + ".db");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::unique_ptr<PageFile> Open(const std::string& file_id, char key_fill) {
    auto file =
        PageFile::Open(path_.string(), file_id, SecretBytes::CopyOf(std::string(32, key_fill)));
    EXPECT_TRUE(file.ok());
    return file.ok() ? std::move(file).value() : nullptr;
  }

  std::string Slot(std::uint64_t page) {
    std::ifstream in(path_, std::ios::binary);
    std::string slot(kPageSize, '\0');
    in.seekg(static_cast<std::streamoff>(page * kPageSize));
    in.read(slot.data(), static_cast<std::streamsize>(slot.size()));
    return slot;
  }

  void PutSlot(std::uint64_t page, const std::string& slot) {
    std::fstream out(path_, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(static_cast<std::streamoff>(page * kPageSize));
    out.write(slot.data(), static_cast<std::streamsize>(slot.size()));
  }

  std::filesystem::path path_;
};

TEST_F(PageFileTest, ReadPage_ReturnsWhatWasWritten) {
  auto file = Open("f0", 'k');
  ASSERT_TRUE(file->WritePage(3, "hello page three").ok());
  auto text = file->ReadPage(3);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "hello page three");
  EXPECT_EQ(file->ReadPage(4).error().code(), "page_missing");
}

TEST_F(PageFileTest, WritePage_UsesAFreshNonceEveryTime) {
  auto file = Open("f0", 'k');
  ASSERT_TRUE(file->WritePage(0, "same text").ok());
  std::string first = Slot(0);
  ASSERT_TRUE(file->WritePage(0, "same text").ok());
  EXPECT_NE(first.substr(8, 12), Slot(0).substr(8, 12));
  EXPECT_NE(first, Slot(0));
}

TEST_F(PageFileTest, ReadPage_Fails_ForFlippedBitsMovedPagesOtherFileOrKey) {
  auto file = Open("f0", 'k');
  ASSERT_TRUE(file->WritePage(0, "page zero").ok());
  ASSERT_TRUE(file->WritePage(1, "page one").ok());
  std::string original = Slot(0);
  for (std::size_t offset : {8u, 20u, 1000u, 4080u, 4095u}) {  // nonce, ciphertext, tag
    std::string flipped = original;
    flipped[offset] = static_cast<char>(flipped[offset] ^ 0x01);
    PutSlot(0, flipped);
    EXPECT_EQ(file->ReadPage(0).error().code(), "page_authentication_failed") << offset;
  }
  PutSlot(0, Slot(1));  // page 1 copied into slot 0: the page number is in the AAD
  EXPECT_EQ(file->ReadPage(0).error().code(), "page_authentication_failed");
  PutSlot(0, original);
  EXPECT_EQ(Open("f1", 'k')->ReadPage(0).error().code(), "page_authentication_failed");
  EXPECT_EQ(Open("f0", 'x')->ReadPage(0).error().code(), "page_authentication_failed");
  EXPECT_TRUE(Open("f0", 'k')->ReadPage(0).ok());
}

TEST_F(PageFileTest, Open_Fails_ForShortDek) {
  auto file = PageFile::Open(path_.string(), "f0", SecretBytes::CopyOf(std::string(16, 'k')));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code(), "page_bad_dek");
}

class ExampleEngineDemoTest : public test::KmsdTest {};

TEST_F(ExampleEngineDemoTest, Demo_RotatesWithoutReencrypting_ThenRewrapsEnvelopes) {
  std::filesystem::path work = kmsd_->dir() / "engine";
  std::filesystem::path log = kmsd_->dir() / "demo.log";
  std::string command =
      "cd " WEFTKIT_SOURCE_DIR " && KMS=https://127.0.0.1:" + std::to_string(kmsd_->port()) +
      " PKI=" + kmsd_->pki("").string() + " BUILD=" WEFTKIT_BUILD_DIR " WORK=" + work.string() +
      " examples/demo.sh >" + log.string() + " 2>&1";
  int status = std::system(command.c_str());
  std::ifstream in(log);
  std::stringstream output;
  output << in.rdbuf();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output.str();
  EXPECT_NE(output.str().find("unwrapped 3 DEKs in 1 request(s)"), std::string::npos)
      << output.str();
  EXPECT_NE(output.str().find("page files unchanged by the rotation"), std::string::npos);
  EXPECT_NE(output.str().find("primary version: 1 -> 2"), std::string::npos) << output.str();
  EXPECT_NE(output.str().find("read and verified 48 pages"), std::string::npos);
  EXPECT_NE(output.str().find("demo passed"), std::string::npos);
}

}  // namespace
}  // namespace weftkit::example
