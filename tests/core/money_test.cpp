// tests/core/money_test.cpp: Money parsing (contract 1 and 6), printing and checked
// arithmetic. Parsing must accept exactly the contract's grammar and nothing else.
#include "core/money.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace paydist {
namespace {

std::int64_t cents(std::string_view text, Sign sign = Sign::unsigned_only) {
  Result<Money> m = Money::parse(text, sign);
  EXPECT_TRUE(m.ok()) << "rejected: \"" << text << "\": " << (m ? "" : m.error());
  return m ? m->cents() : -1;
}

bool rejected(std::string_view text, Sign sign = Sign::signed_allowed) { return !Money::parse(text, sign).ok(); }

TEST(MoneyParse, AcceptsWholeUnitsAndOneOrTwoFractionDigits) {
  EXPECT_EQ(cents("0"), 0);
  EXPECT_EQ(cents("5"), 500);
  EXPECT_EQ(cents("1234.56"), 123456);
  EXPECT_EQ(cents("1234.5"), 123450);
  EXPECT_EQ(cents("0.05"), 5);
  EXPECT_EQ(cents("0.5"), 50);
  EXPECT_EQ(cents("0.00"), 0);
}

TEST(MoneyParse, AcceptsThirteenIntegerDigitsIncludingLeadingZeros) {
  EXPECT_EQ(cents("9999999999999.99"), 999'999'999'999'999);
  EXPECT_EQ(cents("9999999999999"), 999'999'999'999'900);
  EXPECT_EQ(cents("0000000000001.00"), 100);  // 13 digits, leading zeros count
  EXPECT_EQ(cents("0000000000000"), 0);
  EXPECT_EQ(cents("007.10"), 710);
}

TEST(MoneyParse, RejectsFourteenIntegerDigitsEvenWhenLeadingZeros) {
  EXPECT_TRUE(rejected("10000000000000"));
  EXPECT_TRUE(rejected("00000000000001"));
  EXPECT_TRUE(rejected("00000000000000.00"));
  EXPECT_TRUE(rejected("-00000000000001.00"));
}

TEST(MoneyParse, RejectsMoreThanTwoFractionDigits) {
  EXPECT_TRUE(rejected("12.345"));
  EXPECT_TRUE(rejected("0.000"));
  EXPECT_TRUE(rejected("1.100"));
}

TEST(MoneyParse, RejectsDotWithoutDigitsOnEitherSide) {
  EXPECT_TRUE(rejected("5."));
  EXPECT_TRUE(rejected(".50"));
  EXPECT_TRUE(rejected("."));
  EXPECT_TRUE(rejected("-.5"));
  EXPECT_TRUE(rejected("-5."));
}

TEST(MoneyParse, RejectsExponentPlusSpacesSeparatorsAndEmpty) {
  for (const char* text : {"1e3", "1E3", "1.5e2", "+5", "+5.00", " 5", "5 ", "5 .00", "1,000.00", "1_000",
                           "", "-", "--5", "- 5", "5-", "1.2.3", "0x10", "12a", "½", "Infinity", "NaN", "\t5",
                           "5\n", "1.-5", "1.+5"}) {
    EXPECT_TRUE(rejected(text)) << "accepted \"" << text << "\"";
    EXPECT_TRUE(rejected(text, Sign::unsigned_only)) << "accepted \"" << text << "\"";
  }
}

TEST(MoneyParse, RejectsEmbeddedNul) {
  EXPECT_TRUE(rejected(std::string_view{"5\0", 2}));
  EXPECT_TRUE(rejected(std::string_view{"1.\0", 3}));
}

TEST(MoneyParse, AcceptsMinusOnlyWhereSigned) {
  EXPECT_EQ(cents("-12.30", Sign::signed_allowed), -1230);
  EXPECT_EQ(cents("-0.01", Sign::signed_allowed), -1);
  EXPECT_EQ(cents("-9999999999999.99", Sign::signed_allowed), -999'999'999'999'999);
  EXPECT_TRUE(rejected("-12.30", Sign::unsigned_only));
  EXPECT_TRUE(rejected("-0.01", Sign::unsigned_only));
}

TEST(MoneyParse, MinusZeroIsValidOnlyWhereSigned) {
  EXPECT_EQ(cents("-0.00", Sign::signed_allowed), 0);
  EXPECT_EQ(cents("-0", Sign::signed_allowed), 0);
  EXPECT_TRUE(rejected("-0.00", Sign::unsigned_only));
  EXPECT_TRUE(rejected("-0", Sign::unsigned_only));
}

TEST(MoneyParse, RejectReasonIsOneLine) {
  Result<Money> m = Money::parse("12.345", Sign::unsigned_only);
  ASSERT_FALSE(m.ok());
  EXPECT_FALSE(m.error().empty());
  EXPECT_EQ(m.error().find('\n'), std::string::npos);
}

TEST(MoneyToString, WritesExactlyTwoFractionDigits) {
  EXPECT_EQ(Money::from_cents(0).to_string(), "0.00");
  EXPECT_EQ(Money::from_cents(5).to_string(), "0.05");
  EXPECT_EQ(Money::from_cents(50).to_string(), "0.50");
  EXPECT_EQ(Money::from_cents(100).to_string(), "1.00");
  EXPECT_EQ(Money::from_cents(123456).to_string(), "1234.56");
  EXPECT_EQ(Money::from_cents(999'999'999'999'999).to_string(), "9999999999999.99");
}

TEST(MoneyToString, WritesNegativesWithLeadingMinus) {
  EXPECT_EQ(Money::from_cents(-1).to_string(), "-0.01");
  EXPECT_EQ(Money::from_cents(-5).to_string(), "-0.05");
  EXPECT_EQ(Money::from_cents(-1230).to_string(), "-12.30");
  EXPECT_EQ(Money::from_cents(-100).to_string(), "-1.00");
}

TEST(MoneyToString, WritesInt64Extremes) {
  EXPECT_EQ(Money::from_cents(std::numeric_limits<std::int64_t>::max()).to_string(), "92233720368547758.07");
  EXPECT_EQ(Money::from_cents(std::numeric_limits<std::int64_t>::min()).to_string(), "-92233720368547758.08");
}

TEST(MoneyToString, AppendToAddsTheSameText) {
  std::string out = "x=";
  Money::from_cents(-1230).append_to(out);
  EXPECT_EQ(out, "x=-12.30");
  EXPECT_EQ(fmt::format("{}", Money::from_cents(7)), "0.07");
}

TEST(MoneyToString, RoundTripsThroughParse) {
  for (std::int64_t c : {0LL, 1LL, 9LL, 10LL, 99LL, 100LL, 101LL, 123456789LL, 999'999'999'999'999LL}) {
    EXPECT_EQ(cents(Money::from_cents(c).to_string()), c);
    EXPECT_EQ(cents(Money::from_cents(-c).to_string(), Sign::signed_allowed), -c);
  }
}

TEST(MoneyArithmetic, CheckedAddAndSubWork) {
  EXPECT_EQ(Money::from_cents(150).checked_add(Money::from_cents(-50)), Money::from_cents(100));
  EXPECT_EQ(Money::from_cents(150).checked_sub(Money::from_cents(200)), Money::from_cents(-50));
}

TEST(MoneyArithmetic, CheckedAddReportsOverflowInsteadOfWrapping) {
  const Money max = Money::from_cents(std::numeric_limits<std::int64_t>::max());
  const Money min = Money::from_cents(std::numeric_limits<std::int64_t>::min());
  EXPECT_FALSE(max.checked_add(Money::from_cents(1)).has_value());
  EXPECT_FALSE(min.checked_add(Money::from_cents(-1)).has_value());
  EXPECT_FALSE(max.checked_add(max).has_value());
  EXPECT_EQ(max.checked_add(Money::zero()), max);
  EXPECT_EQ(max.checked_add(min), Money::from_cents(-1));
}

TEST(MoneyArithmetic, CheckedSubReportsOverflowInsteadOfWrapping) {
  const Money max = Money::from_cents(std::numeric_limits<std::int64_t>::max());
  const Money min = Money::from_cents(std::numeric_limits<std::int64_t>::min());
  EXPECT_FALSE(min.checked_sub(Money::from_cents(1)).has_value());
  EXPECT_FALSE(max.checked_sub(Money::from_cents(-1)).has_value());
  EXPECT_FALSE(Money::zero().checked_sub(min).has_value());
  EXPECT_EQ(Money::zero().checked_sub(max), Money::from_cents(-std::numeric_limits<std::int64_t>::max()));
}

TEST(MoneyArithmetic, ThreeMaximalComponentsStillFit) {
  // An obligation's three components can each be the largest message amount.
  const Money largest = Money::from_cents(kMaxMessageCents);
  auto two = largest.checked_add(largest);
  ASSERT_TRUE(two.has_value());
  EXPECT_TRUE(two->checked_add(largest).has_value());
}

TEST(MoneyCompare, OrdersByCents) {
  EXPECT_LT(Money::from_cents(-1), Money::zero());
  EXPECT_LT(Money::from_cents(99), Money::from_cents(100));
  EXPECT_EQ(min(Money::from_cents(3), Money::from_cents(2)), Money::from_cents(2));
  EXPECT_TRUE(Money::zero().is_zero());
  EXPECT_TRUE(Money::from_cents(1).is_positive());
  EXPECT_TRUE(Money::from_cents(-1).is_negative());
}

}  // namespace
}  // namespace paydist
