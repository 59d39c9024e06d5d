// tests/core/date_test.cpp: civil dates (contract 1 and 6): strict YYYY-MM-DD within
// 0001-01-01..9999-12-31, day arithmetic and month steps clamped to the month's end.
#include "core/date.h"

#include <gtest/gtest.h>

namespace paydist {
namespace {

Date parsed(std::string_view text) {
  Result<Date> d = Date::parse(text);
  EXPECT_TRUE(d.ok()) << "rejected \"" << text << "\"";
  return d ? *d : Date{};
}
bool rejected(std::string_view text) { return !Date::parse(text).ok(); }

TEST(DateParse, AcceptsTheContractRangeEnds) {
  EXPECT_EQ(parsed("0001-01-01").to_string(), "0001-01-01");
  EXPECT_EQ(parsed("9999-12-31").to_string(), "9999-12-31");
  EXPECT_EQ(parsed("0001-01-01"), Date::min_valid());
  EXPECT_EQ(parsed("9999-12-31"), Date::max_valid());
  EXPECT_EQ(parsed("1970-01-01").serial(), 0);
  EXPECT_EQ(parsed("2026-03-01").to_string(), "2026-03-01");
}

TEST(DateParse, RejectsYearZeroAndFiveDigitYears) {
  EXPECT_TRUE(rejected("0000-01-01"));
  EXPECT_TRUE(rejected("0000-12-31"));
  EXPECT_TRUE(rejected("10000-01-01"));
}

TEST(DateParse, RejectsDaysThatDoNotExist) {
  EXPECT_TRUE(rejected("2026-02-30"));
  EXPECT_TRUE(rejected("2026-02-29"));
  EXPECT_TRUE(rejected("2026-04-31"));
  EXPECT_TRUE(rejected("2026-13-01"));
  EXPECT_TRUE(rejected("2026-00-10"));
  EXPECT_TRUE(rejected("2026-01-00"));
  EXPECT_TRUE(rejected("2026-01-32"));
}

TEST(DateParse, KnowsLeapYears) {
  EXPECT_EQ(parsed("2024-02-29").to_string(), "2024-02-29");
  EXPECT_EQ(parsed("2000-02-29").to_string(), "2000-02-29");  // divisible by 400
  EXPECT_TRUE(rejected("2100-02-29"));                        // divisible by 100 only
  EXPECT_TRUE(rejected("1900-02-29"));
  EXPECT_EQ(days_in_month(2024, 2), 29);
  EXPECT_EQ(days_in_month(2100, 2), 28);
  EXPECT_EQ(days_in_month(2026, 12), 31);
}

TEST(DateParse, RejectsOtherFormats) {
  for (const char* text : {"2026-1-01", "2026-01-1", "2026/01/01", "26-01-01", "2026-01-01T00:00", "20260101",
                           " 2026-01-01", "2026-01-01 ", "2026-01-01Z", "", "2026_01_01", "+026-01-01",
                           "-026-01-01", "2026-0a-01", "２０２６-01-01", "2026-01-+1"}) {
    EXPECT_TRUE(rejected(text)) << "accepted \"" << text << "\"";
  }
}

TEST(DateParse, RejectReasonIsOneLine) {
  Result<Date> d = Date::parse("2026-02-30");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().find('\n'), std::string::npos);
}

TEST(DateArithmetic, PlusDaysCrossesMonthsYearsAndLeapDays) {
  EXPECT_EQ(parsed("2026-03-01").plus_days(14).to_string(), "2026-03-15");
  EXPECT_EQ(parsed("2026-12-30").plus_days(3).to_string(), "2027-01-02");
  EXPECT_EQ(parsed("2024-02-28").plus_days(1).to_string(), "2024-02-29");
  EXPECT_EQ(parsed("2026-02-28").plus_days(1).to_string(), "2026-03-01");
  EXPECT_EQ(parsed("2026-03-01").plus_days(-1).to_string(), "2026-02-28");
  EXPECT_EQ(parsed("2026-01-01").plus_days(365).to_string(), "2027-01-01");
}

TEST(DateArithmetic, DeadlinesMayFallPastTheContractRange) {
  const Date late = parsed("9999-12-31").plus_days(14);
  EXPECT_FALSE(late.in_contract_range());
  EXPECT_GT(late, Date::max_valid());
  EXPECT_TRUE(parsed("9999-12-31").in_contract_range());
}

TEST(DateArithmetic, PlusMonthsKeepsTheDayOfMonth) {
  EXPECT_EQ(parsed("2026-01-15").plus_months_clamped(1).to_string(), "2026-02-15");
  EXPECT_EQ(parsed("2026-11-30").plus_months_clamped(2).to_string(), "2027-01-30");
  EXPECT_EQ(parsed("2026-01-15").plus_months_clamped(0).to_string(), "2026-01-15");
  EXPECT_EQ(parsed("2026-01-15").plus_months_clamped(12).to_string(), "2027-01-15");
}

TEST(DateArithmetic, PlusMonthsClampsToTheMonthsLastDay) {
  const Date jan31 = parsed("2026-01-31");
  EXPECT_EQ(jan31.plus_months_clamped(1).to_string(), "2026-02-28");
  EXPECT_EQ(jan31.plus_months_clamped(3).to_string(), "2026-04-30");
  EXPECT_EQ(parsed("2024-01-31").plus_months_clamped(1).to_string(), "2024-02-29");
  EXPECT_EQ(parsed("2026-03-31").plus_months_clamped(-1).to_string(), "2026-02-28");
}

TEST(DateArithmetic, MonthStepsAreComputedFromTheFirstDateNotChained) {
  // 31 Jan -> 28/29 Feb -> 31 Mar: each step from the first date, so March is not 28th.
  const Date jan31 = parsed("2026-01-31");
  EXPECT_EQ(jan31.plus_months_clamped(2).to_string(), "2026-03-31");
  EXPECT_EQ(jan31.plus_months_clamped(1).plus_months_clamped(1).to_string(), "2026-03-28");
  EXPECT_EQ(parsed("2024-01-31").plus_months_clamped(2).to_string(), "2024-03-31");
  EXPECT_EQ(parsed("2024-01-30").plus_months_clamped(1).to_string(), "2024-02-29");
  EXPECT_EQ(parsed("2026-08-31").plus_months_clamped(1).to_string(), "2026-09-30");
}

TEST(DateOrder, ComparesChronologically) {
  EXPECT_LT(parsed("2026-01-31"), parsed("2026-02-01"));
  EXPECT_LT(parsed("2025-12-31"), parsed("2026-01-01"));
  EXPECT_LT(parsed("0001-01-01"), parsed("1970-01-01"));
  EXPECT_EQ(parsed("2026-02-01"), parsed("2026-01-31").plus_days(1));
  EXPECT_GT(parsed("9999-12-31"), parsed("2026-01-01"));
}

TEST(DateCivil, RoundTripsEveryDayOfALeapYearAndTheRangeEnds) {
  Date d = parsed("2024-01-01");
  for (int i = 0; i < 366; ++i, d = d.plus_days(1)) {
    const CivilDate c = d.civil();
    ASSERT_TRUE(Date::is_valid_civil(c));
    EXPECT_EQ(Date::from_civil(c), d);
    EXPECT_EQ(parsed(d.to_string()), d);
  }
  EXPECT_EQ(d.to_string(), "2025-01-01");
  EXPECT_EQ(Date::from_civil(Date::min_valid().civil()), Date::min_valid());
  EXPECT_EQ(Date::max_valid().civil().year, 9999);
  EXPECT_EQ(fmt::format("{}", parsed("0042-07-04")), "0042-07-04");
}

}  // namespace
}  // namespace paydist
