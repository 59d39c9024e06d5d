// tests/core/distribution_test.cpp: how one payment is spread (contract 3 steps 1-5,
// contract 6 "Distribution"): priority, components, credit, unknown accounts, returns and
// the discount cap with its mid-payment write-off. Driven through Processor + MemoryState.
#include <gtest/gtest.h>

#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

constexpr const char* kAcc = "ACC";

// Three obligations: OLD (due first), MID, NEW; R1 covers NEW, R2 covers MID.
enum class SecondArrangement { activated, pending };
void two_arrangements(Stream& s, SecondArrangement r2 = SecondArrangement::activated) {
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "OLD", "2026-01-01", {.tax = "100.00"}));
  s.ok(assess(kAcc, "MID", "2026-02-01", {.tax = "100.00"}));
  s.ok(assess(kAcc, "NEW", "2026-04-01", {.tax = "100.00"}));
  s.ok(cash(kAcc, "R1", {"NEW"}, {{"2026-04-01", "100.00"}}));
  s.ok(cash(kAcc, "R2", {"MID"}, {{"2026-04-01", "100.00"}}));
  s.ok(activate(kAcc, "R1"));
  if (r2 == SecondArrangement::activated) s.ok(activate(kAcc, "R2"));
}

TEST(Distribution, PaysTaxBeforePenaltyBeforeInterestWithinObligation) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "100.00", .penalty = "50.00", .interest = "25.00"}));
  s.ok(pay(kAcc, "P1", "160.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @null O1:tax:100.00 O1:penalty:50.00 O1:interest:10.00 credit=0.00"}));
  EXPECT_EQ(s.balance(kAcc, "O1"), (Amt{.interest = "15.00"}.value()));
}

TEST(Distribution, SkipsZeroComponentsWithoutEmptyLines) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "0", .penalty = "0", .interest = "30.00"}));
  s.ok(pay(kAcc, "P1", "10.00"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P1 @null O1:interest:10.00 credit=0.00"}));
}

TEST(Distribution, PaysDesignatedObligationFirst) {
  Stream s;
  two_arrangements(s);
  s.ok(pay(kAcc, "P1", "150.00", {.obligation = "NEW"}));
  // step 1 NEW, then step 2: R1 (NEW, now zero), R2 (MID).
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 NEW:tax:100.00 MID:tax:50.00 credit=0.00"}));
}

TEST(Distribution, DesignatedObligationWithoutBalanceIsPassedOver) {
  Stream s;
  two_arrangements(s);
  s.ok(adjust(kAcc, "OLD", {.tax = "-100.00"}));
  s.ok(pay(kAcc, "P1", "30.00", {.obligation = "OLD"}));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P1 @2026-03-01 NEW:tax:30.00 credit=0.00"}));
}

TEST(Distribution, PaysArrangementsOldestCreatedFirstNotOldestActivated) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "OA", "2026-01-01", {.tax = "100.00"}));
  s.ok(assess(kAcc, "OB", "2026-01-01", {.tax = "100.00"}));
  s.ok(cash(kAcc, "R1", {"OB"}, {{"2026-04-01", "100.00"}}));
  s.ok(cash(kAcc, "R2", {"OA"}, {{"2026-04-01", "100.00"}}));
  s.ok(activate(kAcc, "R2"));
  s.ok(activate(kAcc, "R1"));
  s.ok(pay(kAcc, "P1", "150.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 OB:tax:100.00 OA:tax:50.00 credit=0.00"}));
}

TEST(Distribution, PaysNamedArrangementBeforeOlderArrangements) {
  Stream s;
  two_arrangements(s);
  s.ok(pay(kAcc, "P1", "150.00", {.arrangement = "R2"}));
  // step 2 only pays the named R2 (MID); the rest goes to step 3 by due date.
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 MID:tax:100.00 OLD:tax:50.00 credit=0.00"}));
}

TEST(Distribution, NamedArrangementNotCurrentDoesNotFallBackToOtherArrangements) {
  Stream s;
  two_arrangements(s, SecondArrangement::pending);
  s.ok(pay(kAcc, "P1", "150.00", {.arrangement = "R2"}));
  // R2 is pending: step 2 does nothing (R1 is not paid instead); step 3 by due date.
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 OLD:tax:100.00 MID:tax:50.00 credit=0.00"}));
}

TEST(Distribution, NamedCancelledArrangementGoesStraightToStepThree) {
  Stream s;
  two_arrangements(s);
  s.ok(cancel(kAcc, "R2"));
  s.ok(pay(kAcc, "P1", "250.00", {.arrangement = "R2"}));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 OLD:tax:100.00 MID:tax:100.00 NEW:tax:50.00 credit=0.00"}));
}

TEST(Distribution, PendingArrangementsAreNotPaidInStepTwo) {
  Stream s;
  two_arrangements(s, SecondArrangement::pending);
  s.ok(pay(kAcc, "P1", "150.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 NEW:tax:100.00 OLD:tax:50.00 credit=0.00"}));
}

TEST(Distribution, PaysBrokenArrangementsInStepTwo) {
  Stream s;
  two_arrangements(s);
  s.ok(bd("2026-04-15"));
  ASSERT_EQ(s.status(kAcc, "R1"), "broken");
  s.ok(pay(kAcc, "P1", "50.00"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P1 @2026-04-15 NEW:tax:50.00 credit=0.00"}));
}

TEST(Distribution, PaysCoveredObligationsInListedOrderNotDueOrder) {
  Stream s;
  s.ok(assess(kAcc, "OA", "2026-01-01", {.tax = "100.00"}));
  s.ok(assess(kAcc, "OB", "2026-06-01", {.tax = "100.00"}));
  s.ok(cash(kAcc, "R1", {"OB", "OA"}, {{"2026-04-01", "200.00"}}));
  s.ok(activate(kAcc, "R1"));
  s.ok(pay(kAcc, "P1", "150.00"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P1 @null OB:tax:100.00 OA:tax:50.00 credit=0.00"}));
}

TEST(Distribution, StepThreeOrdersByDueDateThenObligationIdIncludingCoveredOnes) {
  Stream s;
  s.ok(assess(kAcc, "Z", "2026-01-01", {.tax = "10.00"}));
  s.ok(assess(kAcc, "B", "2026-02-01", {.tax = "10.00"}));
  s.ok(assess(kAcc, "A", "2026-02-01", {.tax = "10.00"}));
  s.ok(assess(kAcc, "C", "2026-01-15", {.tax = "10.00"}, Eligibility::not_plan_eligible));
  s.ok(cash(kAcc, "R1", {"A"}, {{"2026-04-01", "10.00"}}));  // pending: A is covered, not in step 2
  s.ok(pay(kAcc, "P1", "35.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @null Z:tax:10.00 C:tax:10.00 A:tax:10.00 B:tax:5.00 credit=0.00"}));
  // Money applied to A by step 3 still counts towards R1's instalments (contract 6).
  EXPECT_EQ(s.instalments(kAcc, "R1"), (Lines{"2026-04-01 10.00 paid=10.00 paid"}));
}

TEST(Distribution, LeftoverBecomesCreditAndLinesPlusCreditEqualAmount) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "40.00", .penalty = "2.50"}));
  s.ok(pay(kAcc, "P1", "100.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @null O1:tax:40.00 O1:penalty:2.50 credit=57.50"}));
  EXPECT_EQ(s.credit(kAcc), "57.50");
  EXPECT_EQ(s.debt(kAcc), "0.00");
  EXPECT_TRUE(s.activities().empty());
}

TEST(Distribution, CreditIsNeverAppliedToLaterDebt) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "10.00"}));
  s.ok(pay(kAcc, "P1", "50.00"));
  s.ok(assess(kAcc, "O2", "2026-04-30", {.tax = "30.00"}));
  s.ok(adjust(kAcc, "O1", {.penalty = "5.00"}));
  EXPECT_EQ(s.credit(kAcc), "40.00");
  EXPECT_EQ(s.debt(kAcc), "35.00");
  s.ok(pay(kAcc, "P2", "1.00"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P2 @null O1:penalty:1.00 credit=0.00"}));
  EXPECT_EQ(s.credit(kAcc), "40.00");
}

TEST(Distribution, CreditStaysUntilThePaymentBehindItIsReturned) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "10.00"}));
  s.ok(pay(kAcc, "P1", "50.00"));
  s.ok(pay(kAcc, "P2", "20.00"));
  EXPECT_EQ(s.credit(kAcc), "60.00");
  s.ok(returned(kAcc, "P2", "2026-03-05", "R01"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"reversed ACC P2 @null credit=20.00 reason=R01"}));
  EXPECT_EQ(s.credit(kAcc), "40.00");
  s.ok(returned(kAcc, "P1", "2026-03-05", "AC04"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"reversed ACC P1 @null O1:tax:10.00 credit=40.00 reason=AC04"}));
  EXPECT_EQ(s.credit(kAcc), "0.00");
  EXPECT_EQ(s.debt(kAcc), "10.00");
}

TEST(UnmatchedPayment, NeverAssessedAccountKeepsTheWholePaymentAsCredit) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(pay("NEWACC", "P1", "75.25"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"UNMATCHED_PAYMENT NEWACC @2026-03-01 P1 75.25"}));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied NEWACC P1 @2026-03-01 credit=75.25"}));
  EXPECT_EQ(s.credit("NEWACC"), "75.25");
}

TEST(UnmatchedPayment, AccountWithAllObligationsAtZeroGetsCreditWithoutUnmatched) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "0.00"}));
  s.ok(pay(kAcc, "P1", "75.00"));
  EXPECT_TRUE(s.last().activities.empty());
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P1 @null credit=75.00"}));
}

TEST(UnmatchedPayment, CreditIsNotAppliedToALaterAssessment) {
  Stream s;
  s.ok(pay(kAcc, "P1", "75.00"));
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "50.00"}));
  EXPECT_EQ(s.credit(kAcc), "75.00");
  EXPECT_EQ(s.debt(kAcc), "50.00");
  s.ok(pay(kAcc, "P2", "10.00"));
  EXPECT_TRUE(s.last().activities.empty());  // the account has been assessed now
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P2 @null O1:tax:10.00 credit=0.00"}));
  s.ok(returned(kAcc, "P1", "2026-03-02"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"reversed ACC P1 @null credit=75.00 reason=R01"}));
  EXPECT_EQ(s.credit(kAcc), "0.00");
}

TEST(Payment, RejectsReferencesThatDoNotExistAndRepeatedPaymentIds) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "50.00"}));
  s.reject(pay(kAcc, "P1", "10.00", {.obligation = "NOPE"}));
  s.reject(pay(kAcc, "P1", "10.00", {.arrangement = "NOPE"}));
  s.reject(pay("OTHER", "P1", "10.00", {.obligation = "O1"}));  // ids are scoped per account
  s.ok(pay(kAcc, "P1", "10.00"));
  s.reject(pay(kAcc, "P1", "10.00"));
  s.ok(returned(kAcc, "P1", "2026-03-02"));
  s.reject(pay(kAcc, "P1", "10.00"));  // a returned payment's id is still taken
  s.ok(pay("OTHER", "P1", "10.00"));
}

TEST(Return, ReversesExactlyTheAppliedLinesAndCreditAndRestoresBalances) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "100.00", .penalty = "20.00", .interest = "5.00"}));
  s.ok(assess(kAcc, "O2", "2026-04-30", {.tax = "30.00"}));
  s.ok(pay(kAcc, "P1", "50.00"));
  s.ok(pay(kAcc, "P2", "200.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P2 @2026-03-01 O1:tax:50.00 O1:penalty:20.00 O1:interest:5.00 O2:tax:30.00 "
                   "credit=95.00"}));
  s.ok(bd("2026-03-04"));
  s.ok(returned(kAcc, "P2", "2026-03-03", "MD06"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"reversed ACC P2 @2026-03-04 O1:tax:50.00 O1:penalty:20.00 O1:interest:5.00 O2:tax:30.00 "
                   "credit=95.00 reason=MD06"}));
  EXPECT_EQ(s.balance(kAcc, "O1"), (Amt{.tax = "50.00", .penalty = "20.00", .interest = "5.00"}.value()));
  EXPECT_EQ(s.balance(kAcc, "O2"), (Amt{.tax = "30.00"}.value()));
  EXPECT_EQ(s.credit(kAcc), "0.00");
  EXPECT_TRUE(s.last().activities.empty());
}

TEST(Return, RejectsUnknownPayment) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "100.00"}));
  s.reject(returned(kAcc, "P1", "2026-03-03"));
  s.ok(pay("OTHER", "P1", "10.00"));
  s.reject(returned(kAcc, "P1", "2026-03-03"));  // the payment belongs to another account
}

TEST(Return, RejectsAlreadyReturnedPayment) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-03-31", {.tax = "100.00"}));
  s.ok(pay(kAcc, "P1", "10.00"));
  s.ok(returned(kAcc, "P1", "2026-03-03"));
  s.reject(returned(kAcc, "P1", "2026-03-04"));
  EXPECT_EQ(s.debt(kAcc), "100.00");
}

// --- discount ---------------------------------------------------------------------------

TEST(Discount, CapsAtSettlementWritesOffTheRestAndLetsTheRestOfThePaymentFlowOn) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-02-01", {.tax = "1000.00"}));
  s.ok(assess(kAcc, "O2", "2026-05-01", {.tax = "200.00"}));
  s.ok(discount(kAcc, "D", {"O1"}, "500.00", {{"2026-03-10", "500.00"}}));
  s.ok(activate(kAcc, "D"));
  s.ok(pay(kAcc, "P1", "800.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 O1:tax:500.00 O2:tax:200.00 credit=100.00",
                   "write_off ACC P1 @2026-03-01 arrangement=D O1:tax:500.00 credit=0.00"}));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-01 D"}));
  EXPECT_EQ(s.status(kAcc, "D"), "completed");
  EXPECT_EQ(s.debt(kAcc), "0.00");
  const Distribution& write_off = s.last().distributions.back();
  EXPECT_EQ(write_off.event_id, s.last().distributions.front().event_id);
}

TEST(Discount, AfterSettlementInStepTwoTheRestGoesOnToLaterArrangementsThenStepThree) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-02-01", {.tax = "1000.00"}));
  s.ok(assess(kAcc, "O2", "2026-06-01", {.tax = "200.00"}));
  s.ok(assess(kAcc, "O3", "2026-07-01", {.tax = "100.00"}));
  s.ok(discount(kAcc, "D", {"O1"}, "300.00", {{"2026-03-10", "300.00"}}));
  s.ok(cash(kAcc, "R", {"O2"}, {{"2026-03-10", "200.00"}}));
  s.ok(activate(kAcc, "D"));
  s.ok(activate(kAcc, "R"));
  s.ok(pay(kAcc, "P1", "700.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 O1:tax:300.00 O2:tax:200.00 O3:tax:100.00 credit=100.00",
                   "write_off ACC P1 @2026-03-01 arrangement=D O1:tax:700.00 credit=0.00"}));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-01 D", "ARRANGEMENT_COMPLETED ACC @2026-03-01 R"}));
}

TEST(Discount, SettlementReachedBetweenComponentsWritesOffTheRemainingComponents) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-04-01", {.tax = "300.00", .penalty = "300.00", .interest = "50.00"}));
  s.ok(discount(kAcc, "D", {"O1"}, "400.00", {{"2026-03-10", "400.00"}}));
  s.ok(activate(kAcc, "D"));
  s.ok(pay(kAcc, "P1", "500.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P1 @2026-03-01 O1:tax:300.00 O1:penalty:100.00 credit=100.00",
                   "write_off ACC P1 @2026-03-01 arrangement=D O1:penalty:200.00 O1:interest:50.00 credit=0.00"}));
  EXPECT_EQ(s.instalments(kAcc, "D"), (Lines{"2026-03-10 400.00 paid=400.00 paid"}));
}

TEST(Discount, CapCountsMoneyAppliedNetOfReturns) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-04-01", {.tax = "1000.00"}));
  s.ok(discount(kAcc, "D", {"O1"}, "500.00", {{"2026-03-10", "250.00"}, {"2026-03-20", "250.00"}}));
  s.ok(activate(kAcc, "D"));
  s.ok(pay(kAcc, "P1", "300.00"));
  s.ok(returned(kAcc, "P1", "2026-03-01"));
  s.ok(pay(kAcc, "P2", "400.00"));
  EXPECT_EQ(s.status(kAcc, "D"), "current");
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P2 @2026-03-01 O1:tax:400.00 credit=0.00"}));
  s.ok(pay(kAcc, "P3", "100.00"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"applied ACC P3 @2026-03-01 O1:tax:100.00 credit=0.00",
                   "write_off ACC P3 @2026-03-01 arrangement=D O1:tax:500.00 credit=0.00"}));
  EXPECT_EQ(s.status(kAcc, "D"), "completed");
}

TEST(Discount, PendingIsNotCappedAndSettlesOnActivationWithoutPaymentId) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-04-01", {.tax = "1000.00"}));
  s.ok(discount(kAcc, "D", {"O1"}, "600.00", {{"2026-03-10", "600.00"}}));
  s.ok(pay(kAcc, "P1", "700.00"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P1 @2026-03-01 O1:tax:700.00 credit=0.00"}));
  EXPECT_EQ(s.status(kAcc, "D"), "pending_start");
  EXPECT_EQ(s.arrangement(kAcc, "D").applied(), money("700.00"));
  s.ok(activate(kAcc, "D"));
  EXPECT_EQ(s.last_distribution_lines(),
            (Lines{"write_off ACC null @2026-03-01 arrangement=D O1:tax:300.00 credit=0.00"}));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-01 D"}));
  EXPECT_EQ(s.status(kAcc, "D"), "completed");
  EXPECT_EQ(s.debt(kAcc), "0.00");
}

TEST(Discount, PendingBelowSettlementJustBecomesCurrentOnActivation) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-04-01", {.tax = "1000.00"}));
  s.ok(discount(kAcc, "D", {"O1"}, "600.00", {{"2026-03-10", "600.00"}}));
  s.ok(pay(kAcc, "P1", "599.99"));
  s.ok(activate(kAcc, "D"));
  EXPECT_TRUE(s.last().empty());
  EXPECT_EQ(s.status(kAcc, "D"), "current");
}

TEST(Discount, WriteOffWithNothingLeftIsNotEmitted) {
  Stream s;
  s.ok(assess(kAcc, "O1", "2026-04-01", {.tax = "500.00"}));
  s.ok(discount(kAcc, "D", {"O1"}, "500.00", {{"2026-03-10", "500.00"}}));
  s.ok(activate(kAcc, "D"));
  s.ok(pay(kAcc, "P1", "500.00"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P1 @null O1:tax:500.00 credit=0.00"}));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @null D"}));
}

TEST(Discount, ReturnAfterSettlementReversesNoWriteOffAndReopensNothing) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-01", {.tax = "2000.00"}));
  s.ok(discount(kAcc, "D", {"O1"}, "1000.00", {{"2026-03-10", "1000.00"}}));
  s.ok(activate(kAcc, "D"));
  s.ok(pay(kAcc, "P1", "1000.00"));
  ASSERT_EQ(s.status(kAcc, "D"), "completed");
  s.ok(returned(kAcc, "P1", "2026-03-01"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"reversed ACC P1 @2026-03-01 O1:tax:1000.00 credit=0.00 reason=R01"}));
  EXPECT_TRUE(s.last().activities.empty());  // debt 1000.00 is under the threshold anyway
  EXPECT_EQ(s.status(kAcc, "D"), "completed");
  EXPECT_EQ(s.total(kAcc, "O1"), "1000.00");
  EXPECT_EQ(s.instalments(kAcc, "D"), (Lines{"2026-03-10 1000.00 paid=0.00 due"}));
}

}  // namespace
}  // namespace paydist
