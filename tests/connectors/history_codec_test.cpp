// tests/connectors/history_codec_test.cpp: history entries survive compression exactly,
// typical ones shrink, and stored bytes that are not an entry are an error, never a crash.
#include "connectors/history_codec.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace paydist {
namespace {

const std::string kPayment =
    "[2026-01-01] payment E250: PAY108 of 169.21 by cash, received 2026-01-01\n"
    "  applied 11.17 to OBL1 tax (step 3: oldest due date first)\n"
    "  applied 158.04 to OBL1 penalty (step 3: oldest due date first)";

std::string round_trip(HistoryCodec& codec, const std::string& text) {
  std::string stored;
  codec.compress(text, stored);
  Result<std::string> back = codec.decompress(stored);
  EXPECT_TRUE(back) << back.error();
  return back ? *back : "";
}

TEST(HistoryCodec, TypicalEntriesComeBackExactlyAndShrink) {
  HistoryCodec codec;
  std::string stored;
  codec.compress(kPayment, stored);
  EXPECT_LT(stored.size() * 2, kPayment.size()) << stored.size() << " of " << kPayment.size();
  EXPECT_EQ(round_trip(codec, kPayment), kPayment);
  const std::string broken =
      "[2026-03-07] business date passed the deadline of 2026-03-07\n"
      "  arrangement RA1 status current -> broken\n"
      "  activity BROKEN_ARRANGEMENT ACC6A/s06-b5/d0: arrangement RA1 broken, instalment due 2026-03-02 short by "
      "250.00 (rule: direct debit returned 2026-03-04 with reason MD06, not paid again within 3 days)";
  EXPECT_EQ(round_trip(codec, broken), broken);
}

TEST(HistoryCodec, AnyTextComesBackExactly) {
  HistoryCodec codec;
  std::mt19937 random{7};
  for (int i = 0; i < 300; ++i) {
    std::string text(random() % 3000, '\0');
    for (char& c : text) c = static_cast<char>(random() % (i % 2 == 0 ? 256 : 4));  // noise, or very repetitive
    EXPECT_EQ(round_trip(codec, text), text) << "case " << i;
  }
  EXPECT_EQ(round_trip(codec, ""), "");
  EXPECT_EQ(round_trip(codec, "x"), "x");
}

TEST(HistoryCodec, StoredBytesThatAreNotAnEntryAreAnError) {
  HistoryCodec codec;
  std::string stored;
  codec.compress(kPayment, stored);
  EXPECT_FALSE(codec.decompress(""));
  EXPECT_NE(codec.decompress(std::string{"\x07" "abc"}).error().find("unknown format 0x07"), std::string::npos);
  // Every truncation, and every single-byte change, is either an error or (for a changed
  // literal byte) some text: never a crash.
  for (std::size_t n = 1; n < stored.size(); ++n) EXPECT_FALSE(codec.decompress(stored.substr(0, n))) << n;
  for (std::size_t i = 1; i < stored.size(); ++i) {
    std::string changed = stored;
    changed[i] = static_cast<char>(changed[i] ^ 0x5a);
    (void)codec.decompress(changed);
  }
  // A header claiming a huge entry is refused before anything is allocated.
  // (frame header byte 0xe0: single segment, an 8-byte content size; then that size)
  const Result<std::string> huge = codec.decompress(std::string{"\x01\xe0\xff\xff\xff\xff\xff\xff\xff\x7f", 10});
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error(), "history entry with a bad zstd frame header");
}

}  // namespace
}  // namespace paydist
