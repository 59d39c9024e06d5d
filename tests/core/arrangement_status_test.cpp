// tests/core/arrangement_status_test.cpp: arrangement statuses (contract 3 and 6 "Statuses",
// "Broken arrangements"): cash and direct-debit breaks, one break per transition, skips that
// restore, completion (also from broken and on activation), returns after completion, and
// which messages each status allows.
#include <gtest/gtest.h>

#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

constexpr const char* kAcc = "ACC";

void current(Stream& s, ArrangementKind kind, const char* balance, const Sched& schedule) {
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = balance}));
  s.ok(create(kAcc, "R", kind, {"O1"}, schedule));
  s.ok(activate(kAcc, "R"));
}

// --- cash --------------------------------------------------------------------------------

TEST(CashBreak, BreaksOnDueDatePlusFourteenNotBefore) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-01", "200.00"}, {"2026-04-01", "400.00"}});
  s.ok(bd("2026-03-14"));
  EXPECT_TRUE(s.activities().empty());
  EXPECT_EQ(s.status(kAcc, "R"), "current");
  EXPECT_EQ(s.instalments(kAcc, "R")[0], "2026-03-01 200.00 paid=0.00 due");
  s.ok(bd("2026-03-15"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-15 R cash missed=2026-03-01 amount=200.00"}));
  EXPECT_EQ(s.status(kAcc, "R"), "broken");
  EXPECT_EQ(s.instalments(kAcc, "R")[0], "2026-03-01 200.00 paid=0.00 missed");
}

TEST(CashBreak, ReportsTheUnpaidPartOfAPartlyPaidInstalment) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-01", "200.00"}, {"2026-04-01", "400.00"}});
  s.ok(pay(kAcc, "P1", "150.00"));
  s.ok(bd("2026-03-20"));
  EXPECT_EQ(s.activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-15 R cash missed=2026-03-01 amount=50.00"}));
}

TEST(CashBreak, PaidLateButBeforeTheDeadlineDoesNotBreak) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-01", "200.00"}, {"2026-04-01", "400.00"}});
  s.ok(bd("2026-03-14"));
  s.ok(pay(kAcc, "P1", "200.00"));
  s.ok(bd("2026-04-14"));
  EXPECT_TRUE(s.activities().empty());
  EXPECT_EQ(s.status(kAcc, "R"), "current");
}

TEST(CashBreak, PayingArrearsDoesNotMakeABrokenArrangementCurrent) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-01", "200.00"}, {"2026-04-01", "400.00"}});
  s.ok(bd("2026-03-15"));
  s.ok(pay(kAcc, "P1", "200.00"));
  EXPECT_EQ(s.status(kAcc, "R"), "broken");
  EXPECT_EQ(s.instalments(kAcc, "R")[0], "2026-03-01 200.00 paid=200.00 paid");
}

TEST(CashBreak, ReturnDoesNotMoveACashDeadline) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-10", "200.00"}, {"2026-04-10", "400.00"}});
  s.ok(pay(kAcc, "P1", "200.00", {.method = PaymentMethod::direct_debit}));
  s.ok(bd("2026-03-05"));
  s.ok(returned(kAcc, "P1", "2026-03-05", "R01"));
  s.ok(bd("2026-03-23"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(bd("2026-03-24"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-24 R cash missed=2026-03-10 amount=200.00"}));
}

TEST(CashBreak, ReturnThatLeavesAnInstalmentPastItsDeadlineBreaksAtOnce) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-01", "200.00"}, {"2026-04-01", "400.00"}});
  s.ok(pay(kAcc, "P1", "200.00"));
  s.ok(bd("2026-03-20"));
  s.ok(returned(kAcc, "P1", "2026-03-02", "R01"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-20 R cash missed=2026-03-01 amount=200.00"}));
}

TEST(DiscountBreak, BreaksOnTheCashRule) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "1000.00"}));
  s.ok(discount(kAcc, "R", {"O1"}, "500.00", {{"2026-03-01", "250.00"}, {"2026-04-01", "250.00"}}));
  s.ok(activate(kAcc, "R"));
  s.ok(bd("2026-03-15"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-15 R discount missed=2026-03-01 amount=250.00"}));
}

// --- direct debit ------------------------------------------------------------------------

TEST(DirectDebit, BreaksThreeDaysAfterReturnUnlessRepaid) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-02", "250.00"}, {"2026-03-30", "750.00"}});
  s.ok(bd("2026-03-02"));
  s.ok(pay(kAcc, "P1", "250.00", {.method = PaymentMethod::direct_debit}));
  s.ok(bd("2026-03-04"));
  s.ok(returned(kAcc, "P1", "2026-03-04", "MD06"));
  s.ok(bd("2026-03-06"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(bd("2026-03-07"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-07 R direct_debit missed=2026-03-02 amount=250.00 reason=MD06"}));
  EXPECT_EQ(s.activities()[0].reason_code, std::optional<std::string>{"MD06"});
}

TEST(DirectDebit, RepaidBeforeReturnPlusThreeDoesNotBreak) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-02", "250.00"}, {"2026-03-30", "750.00"}});
  s.ok(pay(kAcc, "P1", "250.00", {.method = PaymentMethod::direct_debit}));
  s.ok(bd("2026-03-04"));
  s.ok(returned(kAcc, "P1", "2026-03-04", "1"));
  s.ok(bd("2026-03-06"));
  s.ok(pay(kAcc, "P2", "250.00", {.method = PaymentMethod::bpay}));
  s.ok(bd("2026-03-20"));
  EXPECT_TRUE(s.activities().empty());
  EXPECT_EQ(s.status(kAcc, "R"), "current");
}

TEST(DirectDebit, PartlyRepaidStillBreaksForTheRest) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-02", "250.00"}, {"2026-03-30", "750.00"}});
  s.ok(pay(kAcc, "P1", "250.00", {.method = PaymentMethod::direct_debit}));
  s.ok(bd("2026-03-04"));
  s.ok(returned(kAcc, "P1", "2026-03-04", "AC04"));
  s.ok(pay(kAcc, "P2", "100.00", {.method = PaymentMethod::cash}));
  s.ok(bd("2026-03-07"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-07 R direct_debit missed=2026-03-02 amount=150.00 reason=AC04"}));
}

TEST(DirectDebit, ReturnDeadlineAppliesEvenBeforeTheDueDate) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-30", "500.00"}, {"2026-04-30", "500.00"}});
  s.ok(pay(kAcc, "P1", "500.00", {.method = PaymentMethod::card}));  // any method counts as a debit
  s.ok(returned(kAcc, "P1", "2026-03-04", "R10"));
  s.ok(bd("2026-03-07"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-07 R direct_debit missed=2026-03-30 amount=500.00 reason=R10"}));
}

TEST(DirectDebit, NeverDebitedInstalmentBreaksOnTheCashRuleWithoutReasonCode) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-02", "250.00"}, {"2026-03-30", "750.00"}});
  s.ok(bd("2026-03-15"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(bd("2026-03-16"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-16 R direct_debit missed=2026-03-02 amount=250.00"}));
  EXPECT_FALSE(s.activities()[0].reason_code.has_value());
}

TEST(DirectDebit, ReturnProcessedAfterTheGracePeriodBreaksAtOnceWithTheCurrentDate) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-02", "250.00"}, {"2026-04-30", "750.00"}});
  s.ok(pay(kAcc, "P1", "250.00", {.method = PaymentMethod::direct_debit}));
  s.ok(bd("2026-03-10"));
  s.ok(returned(kAcc, "P1", "2026-03-02", "MS03"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-10 R direct_debit missed=2026-03-02 amount=250.00 reason=MS03"}));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"reversed ACC P1 @2026-03-10 O1:tax:250.00 credit=0.00 reason=MS03"}));
}

TEST(DirectDebit, TheLatestReturnDateSetsTheDeadlineAndItsReasonCode) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-20", "100.00"}, {"2026-04-30", "900.00"}});
  s.ok(pay(kAcc, "P1", "50.00"));
  s.ok(pay(kAcc, "P2", "50.00"));
  s.ok(returned(kAcc, "P2", "2026-03-10", "LATE"));
  s.ok(returned(kAcc, "P1", "2026-03-05", "EARLY"));  // processed later, but an earlier return date
  s.ok(bd("2026-03-12"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(bd("2026-03-13"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-13 R direct_debit missed=2026-03-20 amount=100.00 reason=LATE"}));
}

TEST(DirectDebit, EqualReturnDatesGoToTheReturnProcessedLater) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-20", "100.00"}, {"2026-04-30", "900.00"}});
  s.ok(pay(kAcc, "P1", "50.00"));
  s.ok(pay(kAcc, "P2", "50.00"));
  s.ok(returned(kAcc, "P2", "2026-03-05", "FIRST"));
  s.ok(returned(kAcc, "P1", "2026-03-05", "SECOND"));
  s.ok(bd("2026-03-08"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-08 R direct_debit missed=2026-03-20 amount=100.00 reason=SECOND"}));
}

TEST(DirectDebit, BreakReportsTheEarliestDeadlineNotTheEarliestDueDate) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-01", "100.00"}, {"2026-03-05", "100.00"},
                                                         {"2026-04-30", "800.00"}});
  s.ok(pay(kAcc, "P1", "100.00"));
  s.ok(pay(kAcc, "P2", "100.00"));
  s.ok(returned(kAcc, "P2", "2026-03-03", "P2RET"));  // second instalment: deadline 03-06
  s.ok(returned(kAcc, "P1", "2026-03-04", "P1RET"));  // first instalment: deadline 03-07
  s.ok(bd("2026-03-10"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-06 R direct_debit missed=2026-03-05 amount=100.00 reason=P2RET"}));
}

TEST(DirectDebit, EqualDeadlinesReportTheEarliestDueDate) {
  Stream s;
  current(s, ArrangementKind::direct_debit, "1000.00", {{"2026-03-01", "100.00"}, {"2026-03-05", "100.00"},
                                                         {"2026-04-30", "800.00"}});
  s.ok(pay(kAcc, "P1", "200.00"));
  s.ok(returned(kAcc, "P1", "2026-03-03", "X"));
  s.ok(bd("2026-03-10"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-06 R direct_debit missed=2026-03-01 amount=100.00 reason=X"}));
}

// --- one break per transition; skips --------------------------------------------------------

TEST(Break, OneBreakPerTransitionReportingTheEarliestMissedInstalment) {
  Stream s;
  current(s, ArrangementKind::cash, "1000.00", {{"2026-03-01", "100.00"}, {"2026-03-08", "100.00"},
                                                {"2026-03-15", "100.00"}, {"2026-06-01", "100.00"}});
  s.ok(bd("2026-04-30"));
  EXPECT_EQ(s.activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-15 R cash missed=2026-03-01 amount=100.00"}));
  s.ok(bd("2026-05-30"));
  s.ok(pay(kAcc, "P1", "1.00"));
  EXPECT_EQ(s.activities().size(), 1u);
  s.ok(skip(kAcc, "R", "2026-03-01"));
  s.ok(skip(kAcc, "R", "2026-03-08"));
  EXPECT_EQ(s.status(kAcc, "R"), "broken");  // 03-15 is still missed
  s.ok(skip(kAcc, "R", "2026-03-15"));
  EXPECT_EQ(s.status(kAcc, "R"), "current");
  EXPECT_EQ(s.activities().size(), 1u);
  s.ok(bd("2026-06-15"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-06-15 R cash missed=2026-06-01 amount=99.00"}));
}

TEST(Skip, SkippingEveryMissedInstalmentRestoresBrokenToCurrent) {
  Stream s;
  current(s, ArrangementKind::cash, "900.00", {{"2026-03-01", "300.00"}, {"2026-03-15", "300.00"},
                                               {"2026-03-29", "300.00"}});
  s.ok(bd("2026-03-15"));
  ASSERT_EQ(s.status(kAcc, "R"), "broken");
  s.ok(skip(kAcc, "R", "2026-03-01"));
  EXPECT_TRUE(s.last().empty());
  EXPECT_EQ(s.status(kAcc, "R"), "current");
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-01 300.00 paid=0.00 skipped", "2026-03-15 300.00 paid=0.00 due",
                                             "2026-03-29 300.00 paid=0.00 due"}));
}

TEST(Skip, BeforeTheDueDateJustRemovesTheInstalment) {
  Stream s;
  current(s, ArrangementKind::cash, "900.00", {{"2026-03-10", "300.00"}, {"2026-03-20", "300.00"}});
  s.ok(skip(kAcc, "R", "2026-03-10"));
  EXPECT_EQ(s.status(kAcc, "R"), "current");
  s.ok(bd("2026-03-30"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(pay(kAcc, "P1", "300.00"));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-10 300.00 paid=0.00 skipped", "2026-03-20 300.00 paid=300.00 paid"}));
}

TEST(Skip, RejectsUnknownDueDateAlreadySkippedAndFullyPaid) {
  Stream s;
  current(s, ArrangementKind::cash, "900.00", {{"2026-03-10", "300.00"}, {"2026-03-20", "300.00"}});
  s.reject(skip(kAcc, "R", "2026-03-11"));
  s.reject(skip(kAcc, "NOPE", "2026-03-10"));
  s.ok(pay(kAcc, "P1", "300.00"));
  s.reject(skip(kAcc, "R", "2026-03-10"));
  s.ok(skip(kAcc, "R", "2026-03-20"));
  s.reject(skip(kAcc, "R", "2026-03-20"));
}

// --- completion -------------------------------------------------------------------------------

TEST(Completion, PaymentThatClearsTheCoveredBalancesCompletes) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-10", "300.00"}, {"2026-04-10", "300.00"}});
  s.ok(pay(kAcc, "P1", "600.00"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-01 R"}));
  EXPECT_EQ(s.status(kAcc, "R"), "completed");
  s.ok(bd("2026-05-01"));
  EXPECT_EQ(s.activities().size(), 1u);
}

TEST(Completion, AdjustmentToZeroCompletes) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-10", "600.00"}});
  s.ok(pay(kAcc, "P1", "100.00"));
  s.ok(adjust(kAcc, "O1", {.tax = "-500.00"}));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-01 R"}));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-10 600.00 paid=100.00 due"}));
}

TEST(Completion, BrokenArrangementCanComplete) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-01", "600.00"}});
  s.ok(bd("2026-03-15"));
  ASSERT_EQ(s.status(kAcc, "R"), "broken");
  s.ok(pay(kAcc, "P1", "600.00"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-15 R"}));
  EXPECT_EQ(s.status(kAcc, "R"), "completed");
}

TEST(Completion, ActivationWithCoveredBalancesAtZeroCompletesAtOnceAndNeverBreaks) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-01-01", "600.00"}}));  // deadline long past
  s.ok(adjust(kAcc, "O1", {.tax = "-600.00"}));
  EXPECT_EQ(s.status(kAcc, "R"), "pending_start");
  s.ok(activate(kAcc, "R"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-01 R"}));
  EXPECT_EQ(s.status(kAcc, "R"), "completed");
}

TEST(Completion, UpdateToSettledObligationsCompletes) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-10", "600.00"}});
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "0.00"}));
  s.ok(update_covered(kAcc, "R", {"O2"}));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-01 R"}));
}

TEST(Completion, ReturnAfterCompletionRestoresBalancesUnpaysButReopensNothing) {
  Stream s;
  current(s, ArrangementKind::cash, "2000.00", {{"2026-03-10", "1000.00"}, {"2026-04-10", "1000.00"}});
  s.ok(pay(kAcc, "P1", "2000.00"));
  ASSERT_EQ(s.status(kAcc, "R"), "completed");
  s.ok(bd("2026-03-02"));
  s.ok(returned(kAcc, "P1", "2026-03-02", "R01"));
  EXPECT_EQ(s.last_activity_lines(), Lines{});  // no NO_ARRANGEMENT though debt is 2000.00
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"reversed ACC P1 @2026-03-02 O1:tax:2000.00 credit=0.00 reason=R01"}));
  EXPECT_EQ(s.status(kAcc, "R"), "completed");
  EXPECT_EQ(s.debt(kAcc), "2000.00");
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-10 1000.00 paid=0.00 due", "2026-04-10 1000.00 paid=0.00 due"}));
  s.ok(bd("2026-05-01"));
  EXPECT_EQ(s.activities().size(), 1u);  // only the completion; no break of a completed arrangement
  s.reject(activate(kAcc, "R"));
  s.reject(skip(kAcc, "R", "2026-03-10"));
}

TEST(Completion, ReturnAfterDiscountSettlementReversesNoWriteOff) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "3000.00"}));
  s.ok(discount(kAcc, "R", {"O1"}, "2000.00", {{"2026-03-10", "2000.00"}}));
  s.ok(activate(kAcc, "R"));
  s.ok(pay(kAcc, "P1", "2000.00"));
  s.ok(returned(kAcc, "P1", "2026-03-01"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"reversed ACC P1 @2026-03-01 O1:tax:2000.00 credit=0.00 reason=R01"}));
  EXPECT_TRUE(s.last().activities.empty());
  EXPECT_EQ(s.debt(kAcc), "2000.00");
  EXPECT_EQ(s.status(kAcc, "R"), "completed");
}

// --- what each status allows ------------------------------------------------------------------

TEST(Lifecycle, ActivateNeedsPendingStart) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-10", "600.00"}});
  s.reject(activate(kAcc, "R"));
  s.reject(activate(kAcc, "NOPE"));
  s.ok(bd("2026-03-24"));
  ASSERT_EQ(s.status(kAcc, "R"), "broken");
  s.reject(activate(kAcc, "R"));
}

TEST(Lifecycle, CancelledIsFinal) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-10", "600.00"}});
  s.ok(cancel(kAcc, "R"));
  EXPECT_EQ(s.status(kAcc, "R"), "cancelled");
  EXPECT_EQ(s.arrangement(kAcc, "R").closing_date, date("2026-03-01"));
  s.reject(activate(kAcc, "R"));
  s.reject(cancel(kAcc, "R"));
  s.reject(update_schedule(kAcc, "R", {{"2026-04-01", "600.00"}}));
  s.reject(update_covered(kAcc, "R", {"O1"}));
  s.reject(skip(kAcc, "R", "2026-03-10"));
  s.reject(review(kAcc, "R", RequestedBy::customer));
  s.reject(review(kAcc, "R", RequestedBy::agency));
}

TEST(Lifecycle, BrokenAndPendingCanBeUpdatedSkippedReviewedAndCancelled) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "600.00"}));
  s.ok(cash(kAcc, "P", {"O1"}, {{"2026-03-10", "300.00"}, {"2026-04-10", "300.00"}}));
  s.ok(cash(kAcc, "B", {"O2"}, {{"2026-02-10", "300.00"}, {"2026-04-10", "300.00"}}));
  s.ok(activate(kAcc, "B"));
  ASSERT_EQ(s.status(kAcc, "B"), "broken");
  for (const char* arr : {"P", "B"}) {
    s.ok(update_schedule(kAcc, arr, {{"2026-03-10", "300.00"}, {"2026-04-10", "300.00"}}));
    s.ok(skip(kAcc, arr, "2026-04-10"));
    s.ok(review(kAcc, arr, RequestedBy::customer));
    s.ok(review(kAcc, arr, RequestedBy::agency));
    s.ok(cancel(kAcc, arr));
  }
}

TEST(Lifecycle, UpdateNeedsCoveredObligationsOrSchedule) {
  Stream s;
  current(s, ArrangementKind::cash, "600.00", {{"2026-03-10", "600.00"}});
  ArrangementUpdated empty{.event_id = {}, .account_id = id<AccountId>(kAcc), .arrangement_id = id<ArrangementId>("R")};
  s.reject(empty);
  s.reject(update_schedule(kAcc, "R", {}));
  s.reject(update_schedule(kAcc, "R", {{"2026-03-10", "300.00"}, {"2026-03-10", "300.00"}}));
  s.reject(update_covered(kAcc, "R", {"NOPE"}));
}

TEST(Creation, CoveredObligationsMustExistBeEligibleAndNotCoveredByAnotherOpenArrangement) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "600.00"}, Eligibility::not_plan_eligible));
  s.ok(assess(kAcc, "O3", "2026-06-30", {.tax = "600.00"}));
  s.reject(cash(kAcc, "R", {"NOPE"}, {{"2026-03-10", "600.00"}}));
  s.reject(cash(kAcc, "R", {"O2"}, {{"2026-03-10", "600.00"}}));
  s.ok(cash(kAcc, "R1", {"O1"}, {{"2026-03-10", "600.00"}}));
  s.reject(cash(kAcc, "R2", {"O3", "O1"}, {{"2026-03-10", "600.00"}}));  // O1 covered by pending R1
  s.ok(activate(kAcc, "R1"));
  s.reject(cash(kAcc, "R2", {"O1"}, {{"2026-03-10", "600.00"}}));  // current R1
  s.ok(bd("2026-03-24"));
  ASSERT_EQ(s.status(kAcc, "R1"), "broken");
  s.reject(cash(kAcc, "R2", {"O1"}, {{"2026-03-10", "600.00"}}));  // broken R1
  s.ok(cash(kAcc, "R3", {"O3"}, {{"2026-04-10", "600.00"}}));
  s.reject(update_covered(kAcc, "R3", {"O3", "O1"}));
  s.ok(cancel(kAcc, "R1"));
  s.ok(cash(kAcc, "R2", {"O1"}, {{"2026-04-10", "600.00"}}));  // a cancelled one no longer covers
}

TEST(Creation, ArrangementIdIsTakenInAnyStatus) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.ok(cash(kAcc, "R1", {"O1"}, {{"2026-03-10", "600.00"}}));
  s.reject(cash(kAcc, "R1", {"O1"}, {{"2026-03-10", "600.00"}}));
  s.ok(cancel(kAcc, "R1"));
  s.reject(cash(kAcc, "R1", {"O1"}, {{"2026-03-10", "600.00"}}));
}

TEST(Creation, SettlementOnlyOnDiscountAndRequiredThere) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.reject(create(kAcc, "R", ArrangementKind::cash, {"O1"}, Sched{{"2026-03-10", "600.00"}}, "500.00"));
  s.reject(create(kAcc, "R", ArrangementKind::discount, {"O1"}, Sched{{"2026-03-10", "600.00"}}));
  s.ok(create(kAcc, "R", ArrangementKind::discount, {"O1"}, Sched{{"2026-03-10", "500.00"}}, "500.00"));
}

TEST(Creation, RecommendationUsesTheCoveredBalanceOrTheSettlement) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00", .interest = "0.05"}));
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "400.00"}));
  s.ok(assess(kAcc, "O3", "2026-06-30", {.tax = "900.00"}));
  s.ok(assess(kAcc, "Z", "2026-06-30", {.tax = "0.00"}));
  s.ok(create(kAcc, "R1", ArrangementKind::cash, {"O1", "O2"}, equal_instalments(4, Frequency::monthly, "2026-01-31")));
  EXPECT_EQ(s.instalments(kAcc, "R1"), (Lines{"2026-01-31 250.01 paid=0.00 due", "2026-02-28 250.01 paid=0.00 due",
                                              "2026-03-31 250.01 paid=0.00 due", "2026-04-30 250.02 paid=0.00 due"}));
  s.ok(create(kAcc, "R2", ArrangementKind::discount, {"O3"}, fixed_amount("250.00", Frequency::weekly, "2026-03-02"),
              "600.00"));
  EXPECT_EQ(s.instalments(kAcc, "R2"), (Lines{"2026-03-02 250.00 paid=0.00 due", "2026-03-09 250.00 paid=0.00 due",
                                              "2026-03-16 100.00 paid=0.00 due"}));
  s.reject(create(kAcc, "R3", ArrangementKind::cash, {"Z"}, equal_instalments(1, Frequency::weekly, "2026-03-02")));
}

}  // namespace
}  // namespace paydist
