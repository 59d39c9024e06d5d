// tests/core/schedule_test.cpp: explicit schedules and the recommendation rules (contract 2
// "recommend", contract 6 limits): amounts, remainders, frequencies, month-end clamping.
#include "core/schedule.h"

#include <gtest/gtest.h>

#include "tests/core/stream.h"

namespace paydist {
namespace {

using test::date;
using test::Lines;
using test::money;

Lines render(const std::vector<Instalment>& instalments) {
  Lines out;
  for (const Instalment& i : instalments) out.push_back(fmt::format("{} {}", i.due_date, i.amount));
  return out;
}

Lines recommended(const Recommend& rule, const char* total, const Rules& rules = {}) {
  Result<std::vector<Instalment>> s = recommend_schedule(rule, money(total), rules);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? render(*s) : Lines{};
}

bool recommend_rejected(const Recommend& rule, const char* total, const Rules& rules = {}) {
  return !recommend_schedule(rule, money(total), rules).ok();
}

// --- explicit schedules ---------------------------------------------------------------

TEST(ExplicitSchedule, KeepsEntriesInOrderUnpaidAndUnskipped) {
  Result<std::vector<Instalment>> s =
      explicit_schedule(test::entries({{"2026-03-10", "250.00"}, {"2026-04-10", "250.01"}}), Rules{});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(render(*s), (Lines{"2026-03-10 250.00", "2026-04-10 250.01"}));
  for (const Instalment& i : *s) {
    EXPECT_FALSE(i.skipped);
    EXPECT_TRUE(i.parts.empty());
    EXPECT_FALSE(i.return_date.has_value());
  }
}

TEST(ExplicitSchedule, RejectsEmptySchedule) { EXPECT_FALSE(explicit_schedule({}, Rules{}).ok()); }

TEST(ExplicitSchedule, RejectsMoreThanMaxInstalments) {
  Rules rules;
  rules.max_instalments = 3;
  test::Sched three{{"2026-01-01", "1"}, {"2026-01-02", "1"}, {"2026-01-03", "1"}};
  EXPECT_TRUE(explicit_schedule(test::entries(three), rules).ok());
  three.push_back({"2026-01-04", "1"});
  EXPECT_FALSE(explicit_schedule(test::entries(three), rules).ok());
}

TEST(ExplicitSchedule, AcceptsTheDefaultMaximumOfOneThousand) {
  std::vector<ScheduleEntry> entries;
  for (int i = 0; i < 1000; ++i) entries.push_back({date("2026-01-01").plus_days(i), money("1.00")});
  EXPECT_TRUE(explicit_schedule(entries, Rules{}).ok());
  entries.push_back({date("2026-01-01").plus_days(1000), money("1.00")});
  EXPECT_FALSE(explicit_schedule(entries, Rules{}).ok());
}

TEST(ExplicitSchedule, RejectsZeroAmounts) {
  EXPECT_FALSE(explicit_schedule(test::entries({{"2026-01-01", "10"}, {"2026-02-01", "0.00"}}), Rules{}).ok());
}

TEST(ExplicitSchedule, RejectsDatesNotStrictlyIncreasing) {
  EXPECT_FALSE(explicit_schedule(test::entries({{"2026-02-01", "10"}, {"2026-02-01", "10"}}), Rules{}).ok());
  EXPECT_FALSE(explicit_schedule(test::entries({{"2026-02-01", "10"}, {"2026-01-31", "10"}}), Rules{}).ok());
}

// --- equal_instalments ---------------------------------------------------------------

TEST(EqualInstalments, RoundsDownAndTheLastTakesTheRemainder) {
  EXPECT_EQ(recommended(test::equal_instalments(4, Frequency::monthly, "2026-01-31"), "1000.05"),
            (Lines{"2026-01-31 250.01", "2026-02-28 250.01", "2026-03-31 250.01", "2026-04-30 250.02"}));
}

TEST(EqualInstalments, SplitsEvenlyWithoutRemainder) {
  EXPECT_EQ(recommended(test::equal_instalments(3, Frequency::weekly, "2026-03-02"), "900.00"),
            (Lines{"2026-03-02 300.00", "2026-03-09 300.00", "2026-03-16 300.00"}));
}

TEST(EqualInstalments, LastTakesUpToCountMinusOneExtraCents) {
  EXPECT_EQ(recommended(test::equal_instalments(3, Frequency::fortnightly, "2026-03-02"), "0.05"),
            (Lines{"2026-03-02 0.01", "2026-03-16 0.01", "2026-03-30 0.03"}));
}

TEST(EqualInstalments, OneCentPerInstalmentIsEnough) {
  EXPECT_EQ(recommended(test::equal_instalments(3, Frequency::weekly, "2026-03-02"), "0.03"),
            (Lines{"2026-03-02 0.01", "2026-03-09 0.01", "2026-03-16 0.01"}));
}

TEST(EqualInstalments, RejectsFewerCentsThanCount) {
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(4, Frequency::weekly, "2026-03-02"), "0.03"));
}

TEST(EqualInstalments, RejectsZeroBalance) {
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(1, Frequency::weekly, "2026-03-02"), "0.00"));
}

TEST(EqualInstalments, RejectsCountAboveMaxInstalments) {
  Rules rules;
  rules.max_instalments = 12;
  EXPECT_EQ(recommended(test::equal_instalments(12, Frequency::monthly, "2026-01-31"), "1200.00", rules).size(), 12u);
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(13, Frequency::monthly, "2026-01-31"), "1200.00", rules));
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(1001, Frequency::weekly, "2026-01-01"), "100000.00"));
}

TEST(EqualInstalments, RejectsCountBelowOne) {
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(0, Frequency::weekly, "2026-01-01"), "100.00"));
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(-1, Frequency::weekly, "2026-01-01"), "100.00"));
}

// --- fixed_amount ---------------------------------------------------------------------

TEST(FixedAmount, DividesExactly) {
  EXPECT_EQ(recommended(test::fixed_amount("300.00", Frequency::weekly, "2026-03-02"), "900.00"),
            (Lines{"2026-03-02 300.00", "2026-03-09 300.00", "2026-03-16 300.00"}));
}

TEST(FixedAmount, LastTakesTheRemainder) {
  EXPECT_EQ(recommended(test::fixed_amount("100.00", Frequency::fortnightly, "2026-02-02"), "250.00"),
            (Lines{"2026-02-02 100.00", "2026-02-16 100.00", "2026-03-02 50.00"}));
}

TEST(FixedAmount, AmountAboveTheTotalGivesOneInstalmentOfTheTotal) {
  EXPECT_EQ(recommended(test::fixed_amount("500.00", Frequency::weekly, "2026-03-02"), "120.50"),
            (Lines{"2026-03-02 120.50"}));
}

TEST(FixedAmount, RejectsZeroBalance) {
  EXPECT_TRUE(recommend_rejected(test::fixed_amount("100.00", Frequency::weekly, "2026-03-02"), "0.00"));
}

TEST(FixedAmount, RejectsMoreInstalmentsThanMax) {
  EXPECT_EQ(recommended(test::fixed_amount("0.01", Frequency::weekly, "2000-01-01"), "10.00").size(), 1000u);
  EXPECT_TRUE(recommend_rejected(test::fixed_amount("0.01", Frequency::weekly, "2000-01-01"), "10.01"));
  EXPECT_TRUE(recommend_rejected(test::fixed_amount("0.01", Frequency::weekly, "2000-01-01"), "9999999999999.99"));
}

// --- frequencies and dates ------------------------------------------------------------

TEST(RecommendFrequency, WeeklyStepsSevenDaysAcrossMonthEnds) {
  EXPECT_EQ(recommended(test::equal_instalments(3, Frequency::weekly, "2026-02-21"), "3.00"),
            (Lines{"2026-02-21 1.00", "2026-02-28 1.00", "2026-03-07 1.00"}));
}

TEST(RecommendFrequency, FortnightlyStepsFourteenDaysAcrossLeapDay) {
  EXPECT_EQ(recommended(test::equal_instalments(3, Frequency::fortnightly, "2024-02-20"), "3.00"),
            (Lines{"2024-02-20 1.00", "2024-03-05 1.00", "2024-03-19 1.00"}));
}

TEST(RecommendFrequency, MonthlyClampsToMonthEndAndComesBackFromTheFirstDate) {
  EXPECT_EQ(recommended(test::equal_instalments(4, Frequency::monthly, "2024-01-31"), "4.00"),
            (Lines{"2024-01-31 1.00", "2024-02-29 1.00", "2024-03-31 1.00", "2024-04-30 1.00"}));
  EXPECT_EQ(recommended(test::equal_instalments(3, Frequency::monthly, "2026-12-30"), "3.00"),
            (Lines{"2026-12-30 1.00", "2027-01-30 1.00", "2027-02-28 1.00"}));
}

TEST(RecommendDates, RejectsInstalmentsPast9999) {
  EXPECT_EQ(recommended(test::equal_instalments(2, Frequency::weekly, "9999-12-24"), "2.00"),
            (Lines{"9999-12-24 1.00", "9999-12-31 1.00"}));
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(2, Frequency::weekly, "9999-12-25"), "2.00"));
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(2, Frequency::fortnightly, "9999-12-20"), "2.00"));
  EXPECT_TRUE(recommend_rejected(test::equal_instalments(2, Frequency::monthly, "9999-12-01"), "2.00"));
  EXPECT_TRUE(recommend_rejected(test::fixed_amount("1.00", Frequency::monthly, "9999-11-30"), "3.00"));
  EXPECT_EQ(recommended(test::fixed_amount("1.00", Frequency::monthly, "9999-11-30"), "2.00"),
            (Lines{"9999-11-30 1.00", "9999-12-30 1.00"}));
}

}  // namespace
}  // namespace paydist
