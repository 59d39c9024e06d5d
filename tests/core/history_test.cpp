// tests/core/history_test.cpp: the audit history behind `paydist explain` tells what each
// message did and which rule fired.
#include "core/history.h"

#include <gtest/gtest.h>

#include "core/memory_state.h"
#include "core/processor.h"
#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

class HistoryTest : public ::testing::Test {
 protected:
  void apply(Message m) {
    m = with_event(std::move(m), fmt::format("e{}", ++events_));
    Result<Applied> r = processor_.apply(m);
    ASSERT_TRUE(r.ok()) << r.error();
  }
  std::string all(const char* account) {
    std::string text;
    for (const std::string& entry : state_.history(account)) {
      Result<std::string> rendered = render_entry(entry);
      EXPECT_TRUE(rendered) << rendered.error();
      if (rendered) text += *rendered + "\n";
    }
    return text;
  }
  Rules rules_;
  MemoryState state_;
  Processor processor_{rules_, state_};
  int events_ = 0;
};

TEST_F(HistoryTest, ExplainsADirectDebitBreakWithTheReturnThatCausedIt) {
  apply(bd("2026-03-01"));
  apply(assess("A", "O1", "2026-03-31", {.tax = "1000.00"}));
  apply(direct_debit("A", "R1", {"O1"}, {{"2026-03-02", "250.00"}, {"2026-03-16", "750.00"}}));
  apply(activate("A", "R1"));
  apply(pay("A", "P1", "250.00", {.method = PaymentMethod::direct_debit}));
  apply(returned("A", "P1", "2026-03-04", "MD06"));
  apply(bd("2026-03-07"));
  const std::string text = all("A");
  if (std::getenv("PAYDIST_SHOW_HISTORY")) std::fputs(text.c_str(), stdout);
  EXPECT_NE(text.find("applied 250.00 to O1 tax (step 2: covered by arrangement R1)"), std::string::npos) << text;
  EXPECT_NE(text.find("instalment due 2026-03-02: paid 0.00 -> 250.00 of 250.00 (paid)"), std::string::npos) << text;
  EXPECT_NE(text.find("reversed 250.00 back onto O1 tax"), std::string::npos) << text;
  EXPECT_NE(text.find("[2026-03-07] business date passed the deadline of 2026-03-07"), std::string::npos) << text;
  EXPECT_NE(text.find("arrangement R1 status current -> broken"), std::string::npos) << text;
  EXPECT_NE(text.find("rule: direct debit returned 2026-03-04 with reason MD06, not paid again within 3 days"),
            std::string::npos)
      << text;
}

TEST_F(HistoryTest, NamesTheDistributionStepOfEachLine) {
  apply(bd("2026-03-01"));
  apply(assess("A", "OA", "2026-02-01", {.tax = "300.00"}));
  apply(assess("A", "OB", "2026-01-15", {.tax = "200.00"}));
  apply(assess("A", "OE", "2026-01-01", {.tax = "50.00"}));
  apply(cash("A", "R1", {"OA"}, {{"2026-03-10", "300.00"}}));
  apply(activate("A", "R1"));
  apply(pay("A", "P1", "600.00", {.obligation = "OE"}));
  const std::string text = all("A");
  EXPECT_NE(text.find("applied 50.00 to OE tax (step 1: designated obligation)"), std::string::npos) << text;
  EXPECT_NE(text.find("applied 300.00 to OA tax (step 2: covered by arrangement R1)"), std::string::npos) << text;
  EXPECT_NE(text.find("applied 200.00 to OB tax (step 3: oldest due date first)"), std::string::npos) << text;
  EXPECT_NE(text.find("kept 50.00 as account credit (step 4)"), std::string::npos) << text;
  EXPECT_NE(text.find("arrangement R1 completed (rule: every covered obligation at zero)"), std::string::npos) << text;
}

TEST_F(HistoryTest, ADueDateCheckThatFindsNothingLeavesNoEntry) {
  apply(assess("A", "O1", "2026-03-01", {.tax = "10.00"}));
  const std::size_t entries = state_.history("A").size();
  apply(bd("2026-03-05"));  // debt 10.00 is under the threshold: the check fires silently
  EXPECT_EQ(state_.history("A").size(), entries);
}

TEST_F(HistoryTest, OffMeansNoEntries) {
  Processor quiet{rules_, state_, History::off};
  ASSERT_TRUE(quiet.apply(with_event(assess("B", "O1", "2026-03-01", {.tax = "10.00"}), "x1")).ok());
  EXPECT_TRUE(state_.history("B").empty());
}

// The compact form renders to exactly the text, and is much smaller than it.
TEST_F(HistoryTest, AnEntryRendersExactlyAndIsStoredCompactly) {
  apply(bd("2026-03-01"));
  apply(assess("A", "OBL100200", "2026-02-01", {.tax = "300.00", .penalty = "25.50", .interest = "-0.00"}));
  apply(pay("A", "PAY1234567", "310.25", {.method = PaymentMethod::cheque}));
  ASSERT_EQ(state_.history("A").size(), 2u);
  const std::string& compact = state_.history("A")[1];
  const Result<std::string> text = render_entry(compact);
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text,
            "[2026-03-01] payment e3: PAY1234567 of 310.25 by cheque, received 2026-01-01\n"
            "  applied 300.00 to OBL100200 tax (step 3: oldest due date first)\n"
            "  applied 10.25 to OBL100200 penalty (step 3: oldest due date first)");
  EXPECT_LT(compact.size() * 2, text->size()) << compact.size() << " bytes for " << text->size();
}

// Bytes that are not an entry are an error naming what is wrong, never a crash; a cut at a
// token boundary is a shorter entry, any other cut an error.
TEST(HistoryEntry, BytesThatAreNotAnEntryAreAnError) {
  MemoryState state;
  Rules rules;
  Processor processor{rules, state};
  ASSERT_TRUE(processor.apply(with_event(bd("2026-03-01"), "e1")).ok());
  ASSERT_TRUE(processor.apply(with_event(assess("A", "O1", "2026-02-01", {.tax = "300.00"}), "e2")).ok());
  ASSERT_TRUE(processor.apply(with_event(pay("A", "P1", "1.00"), "e3")).ok());
  const std::string compact = state.history("A").back();
  const std::string text = *render_entry(compact);
  ASSERT_TRUE(render_entry(""));
  EXPECT_EQ(*render_entry(""), "");
  const Result<std::string> unknown = render_entry("\xF7");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), "history entry with an unknown token 0xf7 at byte 0");
  const Result<std::string> cut = render_entry("\xC0\x05" "ab");
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error(), "history entry with a token cut short at byte 0");
  EXPECT_FALSE(render_entry("\xC1\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"));  // varint past 64 bits
  EXPECT_FALSE(render_entry("\xC2\xFE\xFF\xFF\xFF\x1F"));                         // date past int32
  EXPECT_FALSE(render_entry("\xC2\xFE\xFF\xFF\xFF\x0F"));                         // INT32_MAX days
  EXPECT_EQ(render_entry(std::string_view{"\xC2\x00", 2}).value(), "1970-01-01");
  for (std::size_t n = 0; n < compact.size(); ++n) {
    const Result<std::string> shorter = render_entry(compact.substr(0, n));
    if (shorter) {
      EXPECT_TRUE(text.starts_with(*shorter)) << n;
    }
  }
  for (std::size_t i = 0; i < compact.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string changed = compact;
      changed[i] = static_cast<char>(changed[i] ^ (1 << bit));
      (void)render_entry(changed);
    }
}

}  // namespace
}  // namespace paydist
