// tests/core/no_arrangement_test.cpp: the NO_ARRANGEMENT activity (contract 3 and 6 "No
// arrangement"): its three triggers, the strict 1,500.00 threshold over total debt (credit
// not netted), once per obligation for debt_due, and what counts as "another" arrangement.
#include <gtest/gtest.h>

#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

constexpr const char* kAcc = "ACC";

TEST(NoArrangementOnCancel, EmitsWhenDebtIsOverThresholdAndNothingElseIsOpen) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-04-30", {.tax = "1500.01"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-04-30", "1500.01"}}));
  s.ok(activate(kAcc, "R"));
  s.ok(cancel(kAcc, "R"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT ACC @2026-03-01 arrangement_cancelled debt=1500.01 arrangement=R"}));
}

TEST(NoArrangementOnCancel, ThresholdIsStrictlyGreater) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-04-30", {.tax = "1000.00", .penalty = "500.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-04-30", "1500.00"}}));
  s.ok(cancel(kAcc, "R"));  // pending_start can be cancelled too
  EXPECT_TRUE(s.activities().empty());
}

TEST(NoArrangementOnCancel, ThresholdIsConfigurable) {
  Rules rules;
  rules.no_arrangement_threshold = money("99.99");
  Stream s{rules};
  s.ok(assess(kAcc, "O1", "2026-04-30", {.tax = "100.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-04-30", "100.00"}}));
  s.ok(cancel(kAcc, "R"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT ACC @null arrangement_cancelled debt=100.00 arrangement=R"}));
}

TEST(NoArrangementOnCancel, SilentWhileAnotherPendingOrCurrentArrangementRemains) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-04-30", {.tax = "1200.00"}));
  s.ok(assess(kAcc, "O2", "2026-04-30", {.tax = "800.00"}));
  s.ok(assess(kAcc, "O3", "2026-04-30", {.tax = "800.00"}));
  s.ok(cash(kAcc, "R1", {"O1"}, {{"2026-04-30", "1200.00"}}));
  s.ok(cash(kAcc, "R2", {"O2"}, {{"2026-04-30", "800.00"}}));
  s.ok(cash(kAcc, "R3", {"O3"}, {{"2026-04-30", "800.00"}}));
  s.ok(activate(kAcc, "R1"));
  s.ok(activate(kAcc, "R3"));
  s.ok(cancel(kAcc, "R1"));  // R2 pending, R3 current
  s.ok(cancel(kAcc, "R3"));  // R2 pending
  EXPECT_TRUE(s.activities().empty());
  s.ok(cancel(kAcc, "R2"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT ACC @2026-03-01 arrangement_cancelled debt=2800.00 arrangement=R2"}));
}

TEST(NoArrangementOnCancel, BrokenArrangementDoesNotCountAsAnother) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-04-30", {.tax = "1000.00"}));
  s.ok(assess(kAcc, "O2", "2026-04-30", {.tax = "1000.00"}));
  s.ok(cash(kAcc, "R1", {"O1"}, {{"2026-02-01", "1000.00"}}));
  s.ok(cash(kAcc, "R2", {"O2"}, {{"2026-04-30", "1000.00"}}));
  s.ok(activate(kAcc, "R1"));
  ASSERT_EQ(s.status(kAcc, "R1"), "broken");
  s.ok(cancel(kAcc, "R2"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT ACC @2026-03-01 arrangement_cancelled debt=2000.00 arrangement=R2"}));
}

TEST(NoArrangementOnCancel, DebtIsNotNettedAgainstCredit) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-04-30", {.tax = "100.00"}));
  s.ok(pay(kAcc, "P1", "5100.00"));
  s.ok(assess(kAcc, "O2", "2026-04-30", {.tax = "2000.00"}));
  s.ok(cash(kAcc, "R", {"O2"}, {{"2026-04-30", "2000.00"}}));
  s.ok(cancel(kAcc, "R"));
  EXPECT_EQ(s.credit(kAcc), "5000.00");
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT ACC @null arrangement_cancelled debt=2000.00 arrangement=R"}));
}

TEST(NoArrangementOnDebtDue, FiresTheDayAfterTheDueDateOnce) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-03-10", {.tax = "2000.00"}));
  s.ok(bd("2026-03-10"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(bd("2026-03-11"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"NO_ARRANGEMENT ACC @2026-03-11 debt_due debt=2000.00 obligation=O1"}));
  s.ok(pay(kAcc, "P1", "1.00"));
  s.ok(adjust(kAcc, "O1", {.penalty = "100.00"}));
  s.ok(bd("2026-06-30"));
  EXPECT_EQ(s.activities().size(), 1u);
}

TEST(NoArrangementOnDebtDue, IsCheckedOnceEvenWhenUnderTheThresholdThen) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-03-10", {.tax = "1000.00"}));
  s.ok(bd("2026-03-11"));
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "1000.00"}));
  s.ok(bd("2026-03-20"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(bd("2026-07-01"));
  EXPECT_EQ(s.activity_lines(), (Lines{"NO_ARRANGEMENT ACC @2026-07-01 debt_due debt=2000.00 obligation=O2"}));
}

TEST(NoArrangementOnDebtDue, SilentForCoveredObligationsIncludingPendingAndBroken) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-03-10", {.tax = "2000.00"}));
  s.ok(assess(kAcc, "O2", "2026-03-10", {.tax = "2000.00"}));
  s.ok(cash(kAcc, "R1", {"O1"}, {{"2026-05-01", "2000.00"}}));
  s.ok(cash(kAcc, "R2", {"O2"}, {{"2026-02-20", "2000.00"}}));
  s.ok(activate(kAcc, "R2"));
  s.ok(bd("2026-03-11"));
  EXPECT_EQ(s.status(kAcc, "R2"), "broken");
  EXPECT_EQ(s.activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-06 R2 cash missed=2026-02-20 amount=2000.00"}));
}

TEST(NoArrangementOnDebtDue, CountsPlanIneligibleObligationsAndSkipsZeroBalances) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "OZ", "2026-03-10", {.tax = "0.00"}));
  s.ok(assess(kAcc, "OI", "2026-03-10", {.tax = "1600.00"}, Eligibility::not_plan_eligible));
  s.ok(assess(kAcc, "OA", "2026-03-10", {.tax = "100.00"}));
  s.ok(bd("2026-03-11"));
  // Same due date: by obligation id; OZ has no balance left.
  EXPECT_EQ(s.activity_lines(), (Lines{"NO_ARRANGEMENT ACC @2026-03-11 debt_due debt=1700.00 obligation=OA",
                                       "NO_ARRANGEMENT ACC @2026-03-11 debt_due debt=1700.00 obligation=OI"}));
}

TEST(NoArrangementOnDebtDue, ObligationAssessedAlreadyOverdueIsCheckedAtOnce) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-02-01", {.tax = "1600.00"}));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"NO_ARRANGEMENT ACC @2026-03-01 debt_due debt=1600.00 obligation=O1"}));
}

TEST(NoArrangementOnDebtDue, ObligationDueTheDayBeforeTheBusinessDateIsCheckedAtOnce) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-03-01", {.tax = "1600.00"}));
  EXPECT_TRUE(s.last().empty());
  s.ok(assess(kAcc, "O2", "2026-02-28", {.tax = "1.00"}));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"NO_ARRANGEMENT ACC @2026-03-01 debt_due debt=1601.00 obligation=O2"}));
}

TEST(NoArrangementOnDebtDue, BeforeTheFirstBusinessDateNothingIsCheckedThenItFiresOnItsOwnDate) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-01-10", {.tax = "2000.00"}));
  EXPECT_TRUE(s.last().empty());
  s.ok(bd("2026-03-01"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"NO_ARRANGEMENT ACC @2026-01-11 debt_due debt=2000.00 obligation=O1"}));
}

TEST(NoArrangementOnDebtIncrease, FiresWhenAnUncoveredObligationGoesFromZeroToAboveZero) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "100.00"}));
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "1600.00"}));
  s.ok(cash(kAcc, "R", {"O2"}, {{"2026-06-30", "1600.00"}}));
  s.ok(pay(kAcc, "P1", "100.00", {.obligation = "O1"}));
  s.ok(adjust(kAcc, "O1", {.interest = "10.00"}));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT ACC @2026-03-01 debt_increased debt=1610.00 obligation=O1"}));
  s.ok(adjust(kAcc, "O1", {.interest = "10.00"}));  // not from zero
  EXPECT_TRUE(s.last().empty());
}

TEST(NoArrangementOnDebtIncrease, SilentForCoveredObligationsAndAtOrUnderTheThreshold) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "0.00"}));
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "0.00"}));
  s.ok(assess(kAcc, "O3", "2026-06-30", {.tax = "1400.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-06-30", "1.00"}}));
  s.ok(adjust(kAcc, "O1", {.tax = "200.00"}));  // covered by pending R
  s.ok(adjust(kAcc, "O1", {.tax = "-200.00"}));
  s.ok(adjust(kAcc, "O2", {.tax = "100.00"}));  // debt exactly 1500.00
  EXPECT_TRUE(s.activities().empty());
}

TEST(NoArrangementOnDebtIncrease, ACompletedArrangementNoLongerCovers) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "100.00"}));
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "1600.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-06-30", "100.00"}}));
  s.ok(activate(kAcc, "R"));
  s.ok(pay(kAcc, "P1", "100.00"));
  ASSERT_EQ(s.status(kAcc, "R"), "completed");
  s.ok(adjust(kAcc, "O1", {.penalty = "0.01"}));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT ACC @2026-03-01 debt_increased debt=1600.01 obligation=O1"}));
}

TEST(NoArrangementOnDebtIncrease, ReturnsNeverTriggerIt) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "1600.00"}));
  s.ok(pay(kAcc, "P1", "1600.00"));
  s.ok(returned(kAcc, "P1", "2026-03-01"));
  EXPECT_TRUE(s.activities().empty());
}

}  // namespace
}  // namespace paydist
