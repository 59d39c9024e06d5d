// tests/connectors/history_codec_test.cpp: history entries come back from their stored form
// exactly, and stored bytes that are not an entry are an error, never a crash.
#include "connectors/history_codec.h"

#include <string>

#include <gtest/gtest.h>

#include "core/history.h"
#include "core/memory_state.h"
#include "core/processor.h"
#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

// A real entry: a payment spread over two components.
std::string payment_entry() {
  MemoryState state;
  Rules rules;
  Processor processor{rules, state};
  EXPECT_TRUE(processor.apply(with_event(bd("2026-01-01"), "e1")).ok());
  EXPECT_TRUE(processor.apply(with_event(assess("A", "OBL1", "2026-01-01", {.tax = "11.17", .penalty = "200.00"}), "e2")).ok());
  EXPECT_TRUE(processor.apply(with_event(pay("A", "PAY108", "169.21"), "E250")).ok());
  return state.history("A").back();
}

TEST(HistoryCodec, EntriesComeBackExactly) {
  const std::string compact = payment_entry();
  std::string stored;
  encode_history_entry(compact, stored);
  EXPECT_EQ(stored.size(), compact.size() + 1);
  // The text is what core/history.cpp renders (its wording is tested there).
  const Result<std::string> back = decode_history_entry(stored);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, render_entry(compact).value());
  EXPECT_TRUE(back->starts_with("[2026-01-01] payment E250: PAY108 of 169.21")) << *back;
}

TEST(HistoryCodec, StoredBytesThatAreNotAnEntryAreAnError) {
  EXPECT_EQ(decode_history_entry("").error(), "empty history entry");
  EXPECT_EQ(decode_history_entry(std::string{"\x01" "abc"}).error(), "history entry of unknown format 0x01");
  EXPECT_EQ(decode_history_entry(std::string{"\x07" "abc"}).error(), "history entry of unknown format 0x07");
  EXPECT_EQ(decode_history_entry(std::string{"\x02\xC3", 2}).error(), "history entry with a token cut short at byte 0");
}

}  // namespace
}  // namespace paydist
