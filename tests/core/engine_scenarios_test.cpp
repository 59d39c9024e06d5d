// tests/core/engine_scenarios_test.cpp: the contract's acceptance scenarios
// (shared/scenarios/*.jsonl) rebuilt as message structs and run through Processor +
// MemoryState, checked against their *.expect.json: account state as inspect shows it,
// activities and distributions as multisets, and which lines are rejected.
#include <gtest/gtest.h>

#include <optional>

#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

using Line = std::optional<Message>;  // nullopt: a blank line in the file
const Line kBlank = std::nullopt;

Message ev(Message m, std::string_view event_id) { return with_event(std::move(m), event_id); }

// Sends every line in order; returns the 1-based line numbers that were rejected.
std::vector<int> run(Stream& s, const std::vector<Line>& lines) {
  std::vector<int> rejected;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i] && !s.send(*lines[i])) rejected.push_back(static_cast<int>(i + 1));
  return rejected;
}

TEST(Scenario, S01PriorityNamedArrangementThenOthersByCreationThenOldestDebt) {
  Stream s;
  const char* a = "ACC1";
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s01-b1"),
                    ev(assess(a, "OA", "2026-02-01", {.tax = "300.00"}), "s01-1"),
                    ev(assess(a, "OB", "2026-01-15", {.tax = "200.00"}), "s01-2"),
                    ev(assess(a, "OC", "2026-02-10", {.tax = "100.00", .penalty = "50.00"}), "s01-3"),
                    ev(assess(a, "OD", "2026-01-01", {.tax = "400.00"}, Eligibility::not_plan_eligible), "s01-4"),
                    ev(assess(a, "OE", "2026-01-01", {.tax = "50.00"}), "s01-5"),
                    ev(cash(a, "R1", {"OA", "OB"}, {{"2026-03-10", "250.00"}, {"2026-04-10", "250.00"}}), "s01-6"),
                    ev(cash(a, "R2", {"OC"}, {{"2026-03-15", "150.00"}}), "s01-7"),
                    ev(activate(a, "R2"), "s01-8"),
                    ev(activate(a, "R1"), "s01-9"),
                    ev(pay(a, "P1", "320.00"), "s01-10"),
                    ev(pay(a, "P2", "60.00", {.arrangement = "R2", .method = PaymentMethod::card}), "s01-11"),
                    ev(pay(a, "P3", "1000.00", {.obligation = "OE", .method = PaymentMethod::eft}), "s01-12")}),
            std::vector<int>{});
  EXPECT_EQ(s.inspect(a), (Lines{"credit=280.00 debt=0.00",
                                 "OD 2026-01-01 0.00/0.00/0.00",
                                 "OE 2026-01-01 0.00/0.00/0.00",
                                 "OB 2026-01-15 0.00/0.00/0.00",
                                 "OA 2026-02-01 0.00/0.00/0.00",
                                 "OC 2026-02-10 0.00/0.00/0.00",
                                 "R1 cash completed",
                                 "  2026-03-10 250.00 paid=250.00 paid",
                                 "  2026-04-10 250.00 paid=250.00 paid",
                                 "R2 cash completed",
                                 "  2026-03-15 150.00 paid=150.00 paid"}));
  EXPECT_EQ(sorted(s.activity_lines()), sorted({"ARRANGEMENT_COMPLETED ACC1 @2026-03-01 R1",
                                                "ARRANGEMENT_COMPLETED ACC1 @2026-03-01 R2"}));
  EXPECT_EQ(sorted(s.distribution_lines()),
            sorted({"applied ACC1 P1 @2026-03-01 OA:tax:300.00 OB:tax:20.00 credit=0.00",
                    "applied ACC1 P2 @2026-03-01 OC:tax:60.00 credit=0.00",
                    "applied ACC1 P3 @2026-03-01 OE:tax:50.00 OB:tax:180.00 OC:tax:40.00 OC:penalty:50.00 "
                    "OD:tax:400.00 credit=280.00"}));
}

TEST(Scenario, S02ComponentsTaxThenPenaltyThenInterestWithSignedAdjustments) {
  Stream s;
  const char* a = "ACC2";
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s02-b1"),
                    ev(assess(a, "O1", "2026-04-01", {.tax = "100.00", .penalty = "40", .interest = "10.00"}), "s02-1"),
                    ev(pay(a, "P1", "120.00", {.method = PaymentMethod::cash}), "s02-2"),
                    ev(adjust(a, "O1", {.penalty = "-5.00", .interest = "5.00"}), "s02-3"),
                    ev(pay(a, "P2", "30.00", {.method = PaymentMethod::cheque}), "s02-4"),
                    ev(pay(a, "P3", "10.00", {.method = PaymentMethod::other}), "s02-5"),
                    ev(adjust(a, "O1", {.tax = "-0.01"}), "s02-6")}),
            std::vector<int>{7});
  EXPECT_EQ(s.inspect(a), (Lines{"credit=10.00 debt=0.00", "O1 2026-04-01 0.00/0.00/0.00"}));
  EXPECT_EQ(s.activity_lines(), Lines{});
  EXPECT_EQ(sorted(s.distribution_lines()),
            sorted({"applied ACC2 P1 @2026-03-01 O1:tax:100.00 O1:penalty:20.00 credit=0.00",
                    "applied ACC2 P2 @2026-03-01 O1:penalty:15.00 O1:interest:15.00 credit=0.00",
                    "applied ACC2 P3 @2026-03-01 credit=10.00"}));
}

TEST(Scenario, S03OverpaymentCreditKeptUntilThePaymentIsReturned) {
  Stream s;
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s03-b1"),
                    ev(assess("ACC3", "O1", "2026-04-01", {.tax = "500.00"}), "s03-1"),
                    ev(pay("ACC3", "P1", "200.00"), "s03-2"),
                    ev(pay("ACC3", "P2", "450.00", {.method = PaymentMethod::cheque}), "s03-3"),
                    ev(pay("ACC3X", "P9", "75.50", {.method = PaymentMethod::eft}), "s03-4"),
                    ev(bd("2026-03-05"), "s03-b2"),
                    ev(returned("ACC3", "P2", "2026-03-05", "AC04"), "s03-5"),
                    ev(pay("ACC3", "P3", "100.00", {.method = PaymentMethod::card}), "s03-6")}),
            std::vector<int>{});
  EXPECT_EQ(s.inspect("ACC3"), (Lines{"credit=0.00 debt=200.00", "O1 2026-04-01 200.00/0.00/0.00"}));
  EXPECT_EQ(s.inspect("ACC3X"), (Lines{"credit=75.50 debt=0.00"}));
  EXPECT_EQ(s.activity_lines(), (Lines{"UNMATCHED_PAYMENT ACC3X @2026-03-01 P9 75.50"}));
  EXPECT_EQ(sorted(s.distribution_lines()),
            sorted({"applied ACC3 P1 @2026-03-01 O1:tax:200.00 credit=0.00",
                    "applied ACC3 P2 @2026-03-01 O1:tax:300.00 credit=150.00",
                    "applied ACC3X P9 @2026-03-01 credit=75.50",
                    "reversed ACC3 P2 @2026-03-05 O1:tax:300.00 credit=150.00 reason=AC04",
                    "applied ACC3 P3 @2026-03-05 O1:tax:100.00 credit=0.00"}));
}

TEST(Scenario, S04PayAheadMoneyBeyondAnInstalmentPaysTheNextOnes) {
  Stream s;
  const char* a = "ACC4";
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s04-b1"),
                    ev(assess(a, "O1", "2026-03-31", {.tax = "900.00"}), "s04-1"),
                    ev(create(a, "R1", ArrangementKind::cash, {"O1"},
                              fixed_amount("300.00", Frequency::weekly, "2026-03-02")), "s04-2"),
                    ev(activate(a, "R1"), "s04-3"),
                    ev(pay(a, "P1", "450.00"), "s04-4"),
                    ev(bd("2026-03-22"), "s04-b2"),
                    ev(pay(a, "P2", "100.00"), "s04-5"),
                    ev(bd("2026-03-23"), "s04-b3")}),
            std::vector<int>{});
  EXPECT_EQ(s.inspect(a), (Lines{"credit=0.00 debt=350.00",
                                 "O1 2026-03-31 350.00/0.00/0.00",
                                 "R1 cash broken",
                                 "  2026-03-02 300.00 paid=300.00 paid",
                                 "  2026-03-09 300.00 paid=250.00 missed",
                                 "  2026-03-16 300.00 paid=0.00 due"}));
  EXPECT_EQ(s.activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC4 @2026-03-23 R1 cash missed=2026-03-09 amount=50.00"}));
  EXPECT_EQ(sorted(s.distribution_lines()), sorted({"applied ACC4 P1 @2026-03-01 O1:tax:450.00 credit=0.00",
                                                    "applied ACC4 P2 @2026-03-22 O1:tax:100.00 credit=0.00"}));
}

TEST(Scenario, S05CashBreaksOnDueDatePlusFourteenNotBefore) {
  Stream s;
  const char* a = "ACC5";
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s05-b1"),
                    ev(assess(a, "O1", "2026-03-31", {.tax = "600.00"}), "s05-1"),
                    ev(assess(a, "O2", "2026-03-31", {.tax = "300.00"}), "s05-2"),
                    ev(cash(a, "R1", {"O1"}, {{"2026-03-01", "200.00"}, {"2026-04-01", "400.00"}}), "s05-3"),
                    ev(cash(a, "R2", {"O2"}, {{"2026-03-01", "100.00"}, {"2026-04-01", "200.00"}}), "s05-4"),
                    ev(activate(a, "R1"), "s05-5"),
                    ev(activate(a, "R2"), "s05-6"),
                    ev(bd("2026-03-02"), "s05-b2"),
                    ev(pay(a, "P1", "150.00", {.method = PaymentMethod::cash}), "s05-7"),
                    ev(bd("2026-03-14"), "s05-b3"),
                    ev(pay(a, "P2", "100.00", {.arrangement = "R2", .method = PaymentMethod::card}), "s05-8"),
                    ev(bd("2026-03-15"), "s05-b4")}),
            std::vector<int>{});
  EXPECT_EQ(s.inspect(a), (Lines{"credit=0.00 debt=650.00",
                                 "O1 2026-03-31 450.00/0.00/0.00",
                                 "O2 2026-03-31 200.00/0.00/0.00",
                                 "R1 cash broken",
                                 "  2026-03-01 200.00 paid=150.00 missed",
                                 "  2026-04-01 400.00 paid=0.00 due",
                                 "R2 cash current",
                                 "  2026-03-01 100.00 paid=100.00 paid",
                                 "  2026-04-01 200.00 paid=0.00 due"}));
  EXPECT_EQ(s.activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC5 @2026-03-15 R1 cash missed=2026-03-01 amount=50.00"}));
  EXPECT_EQ(sorted(s.distribution_lines()), sorted({"applied ACC5 P1 @2026-03-02 O1:tax:150.00 credit=0.00",
                                                    "applied ACC5 P2 @2026-03-14 O2:tax:100.00 credit=0.00"}));
}

TEST(Scenario, S06DirectDebitBreaksOnReturnDatePlusThreeUnlessPaidAgain) {
  Stream s;
  const Sched schedule{{"2026-03-02", "250.00"}, {"2026-03-16", "250.00"}, {"2026-03-30", "500.00"}};
  const PayTo debit{.method = PaymentMethod::direct_debit};
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s06-b1"),
                    ev(assess("ACC6A", "OA1", "2026-03-31", {.tax = "1000.00"}), "s06-1"),
                    ev(assess("ACC6B", "OB1", "2026-03-31", {.tax = "1000.00"}), "s06-2"),
                    ev(direct_debit("ACC6A", "RA1", {"OA1"}, schedule), "s06-3"),
                    ev(direct_debit("ACC6B", "RB1", {"OB1"}, schedule), "s06-4"),
                    ev(activate("ACC6A", "RA1"), "s06-5"),
                    ev(activate("ACC6B", "RB1"), "s06-6"),
                    ev(bd("2026-03-02"), "s06-b2"),
                    ev(pay("ACC6A", "PA1", "250.00", debit), "s06-7"),
                    ev(pay("ACC6B", "PB1", "250.00", debit), "s06-8"),
                    ev(bd("2026-03-04"), "s06-b3"),
                    ev(returned("ACC6A", "PA1", "2026-03-04", "MD06"), "s06-9"),
                    ev(returned("ACC6B", "PB1", "2026-03-04", "1"), "s06-10"),
                    ev(bd("2026-03-06"), "s06-b4"),
                    ev(pay("ACC6B", "PB2", "250.00"), "s06-11"),
                    ev(bd("2026-03-07"), "s06-b5"),
                    ev(bd("2026-03-29"), "s06-b6"),
                    ev(bd("2026-03-30"), "s06-b7")}),
            std::vector<int>{});
  EXPECT_EQ(s.inspect("ACC6A"), (Lines{"credit=0.00 debt=1000.00",
                                       "OA1 2026-03-31 1000.00/0.00/0.00",
                                       "RA1 direct_debit broken",
                                       "  2026-03-02 250.00 paid=0.00 missed",
                                       "  2026-03-16 250.00 paid=0.00 missed",
                                       "  2026-03-30 500.00 paid=0.00 due"}));
  EXPECT_EQ(s.inspect("ACC6B"), (Lines{"credit=0.00 debt=750.00",
                                       "OB1 2026-03-31 750.00/0.00/0.00",
                                       "RB1 direct_debit broken",
                                       "  2026-03-02 250.00 paid=250.00 paid",
                                       "  2026-03-16 250.00 paid=0.00 missed",
                                       "  2026-03-30 500.00 paid=0.00 due"}));
  EXPECT_EQ(sorted(s.activity_lines()),
            sorted({"BROKEN_ARRANGEMENT ACC6A @2026-03-07 RA1 direct_debit missed=2026-03-02 amount=250.00 reason=MD06",
                    "BROKEN_ARRANGEMENT ACC6B @2026-03-30 RB1 direct_debit missed=2026-03-16 amount=250.00"}));
  EXPECT_EQ(sorted(s.distribution_lines()),
            sorted({"applied ACC6A PA1 @2026-03-02 OA1:tax:250.00 credit=0.00",
                    "applied ACC6B PB1 @2026-03-02 OB1:tax:250.00 credit=0.00",
                    "reversed ACC6A PA1 @2026-03-04 OA1:tax:250.00 credit=0.00 reason=MD06",
                    "reversed ACC6B PB1 @2026-03-04 OB1:tax:250.00 credit=0.00 reason=1",
                    "applied ACC6B PB2 @2026-03-06 OB1:tax:250.00 credit=0.00"}));
}

TEST(Scenario, S07SkippingTheMissedInstalmentsRestoresABrokenArrangement) {
  Stream s;
  const char* a = "ACC7";
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s07-b1"),
                    ev(assess(a, "O1", "2026-03-31", {.tax = "900.00"}), "s07-1"),
                    ev(cash(a, "R1", {"O1"}, {{"2026-03-01", "300.00"}, {"2026-03-15", "300.00"},
                                              {"2026-03-29", "300.00"}}), "s07-2"),
                    ev(activate(a, "R1"), "s07-3"),
                    ev(bd("2026-03-10"), "s07-b2"),
                    ev(skip(a, "R1", "2026-03-15"), "s07-4"),
                    ev(bd("2026-03-15"), "s07-b3"),
                    ev(skip(a, "R1", "2026-03-01"), "s07-5"),
                    ev(bd("2026-03-29"), "s07-b4"),
                    ev(pay(a, "P1", "300.00", {.method = PaymentMethod::cash}), "s07-6"),
                    ev(skip(a, "R1", "2026-03-29"), "s07-7"),
                    ev(skip(a, "R1", "2026-03-02"), "s07-8")}),
            (std::vector<int>{11, 12}));
  EXPECT_EQ(s.inspect(a), (Lines{"credit=0.00 debt=600.00",
                                 "O1 2026-03-31 600.00/0.00/0.00",
                                 "R1 cash current",
                                 "  2026-03-01 300.00 paid=0.00 skipped",
                                 "  2026-03-15 300.00 paid=0.00 skipped",
                                 "  2026-03-29 300.00 paid=300.00 paid"}));
  EXPECT_EQ(s.activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC7 @2026-03-15 R1 cash missed=2026-03-01 amount=300.00"}));
  EXPECT_EQ(s.distribution_lines(), (Lines{"applied ACC7 P1 @2026-03-29 O1:tax:300.00 credit=0.00"}));
}

TEST(Scenario, S08DiscountSettlementReachedWritesOffTheRestAndCompletes) {
  Stream s;
  const char* a = "ACC8";
  EXPECT_EQ(run(s, {ev(bd("2026-01-05"), "s08-b1"),
                    ev(assess(a, "O1", "2026-02-01", {.tax = "2000.00", .penalty = "400.00"}), "s08-1"),
                    ev(assess(a, "O2", "2026-02-15", {.tax = "600.00"}), "s08-2"),
                    ev(assess(a, "O3", "2026-06-30", {.tax = "100.00"}), "s08-3"),
                    ev(create(a, "R1", ArrangementKind::discount, {"O2", "O1"},
                              equal_instalments(3, Frequency::monthly, "2026-01-31"), "1500.00"), "s08-4"),
                    ev(activate(a, "R1"), "s08-5"),
                    ev(bd("2026-01-31"), "s08-b2"),
                    ev(pay(a, "P1", "500.00"), "s08-6"),
                    ev(bd("2026-02-28"), "s08-b3"),
                    ev(pay(a, "P2", "1200.00", {.method = PaymentMethod::eft}), "s08-7")}),
            std::vector<int>{});
  EXPECT_EQ(s.inspect(a), (Lines{"credit=100.00 debt=0.00",
                                 "O1 2026-02-01 0.00/0.00/0.00",
                                 "O2 2026-02-15 0.00/0.00/0.00",
                                 "O3 2026-06-30 0.00/0.00/0.00",
                                 "R1 discount completed",
                                 "  2026-01-31 500.00 paid=500.00 paid",
                                 "  2026-02-28 500.00 paid=500.00 paid",
                                 "  2026-03-31 500.00 paid=500.00 paid"}));
  EXPECT_EQ(s.activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC8 @2026-02-28 R1"}));
  EXPECT_EQ(sorted(s.distribution_lines()),
            sorted({"applied ACC8 P1 @2026-01-31 O2:tax:500.00 credit=0.00",
                    "applied ACC8 P2 @2026-02-28 O2:tax:100.00 O1:tax:900.00 O3:tax:100.00 credit=100.00",
                    "write_off ACC8 P2 @2026-02-28 arrangement=R1 O1:tax:1100.00 O1:penalty:400.00 credit=0.00"}));
}

TEST(Scenario, S09NoArrangementOnCancelOverThresholdWithNothingElseOpen) {
  Stream s;
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s09-b1"),
                    ev(assess("ACC9A", "O9A1", "2026-04-30", {.tax = "1500.01"}), "s09-1"),
                    ev(cash("ACC9A", "R9A1", {"O9A1"}, {{"2026-04-30", "1500.01"}}), "s09-2"),
                    ev(activate("ACC9A", "R9A1"), "s09-3"),
                    ev(cancel("ACC9A", "R9A1"), "s09-4"),
                    ev(assess("ACC9B", "O9B1", "2026-04-30", {.tax = "1000.00", .penalty = "500.00"}), "s09-5"),
                    ev(cash("ACC9B", "R9B1", {"O9B1"}, {{"2026-04-30", "1500.00"}}), "s09-6"),
                    ev(cancel("ACC9B", "R9B1"), "s09-7"),
                    ev(assess("ACC9C", "O9C1", "2026-04-30", {.tax = "1200.00"}), "s09-8"),
                    ev(assess("ACC9C", "O9C2", "2026-04-30", {.tax = "800.00"}), "s09-9"),
                    ev(cash("ACC9C", "R9C1", {"O9C1"}, {{"2026-04-30", "1200.00"}}), "s09-10"),
                    ev(cash("ACC9C", "R9C2", {"O9C2"}, {{"2026-04-30", "800.00"}}), "s09-11"),
                    ev(activate("ACC9C", "R9C1"), "s09-12"),
                    ev(cancel("ACC9C", "R9C1"), "s09-13"),
                    ev(cancel("ACC9C", "R9C2"), "s09-14"),
                    ev(assess("ACC9D", "O9D1", "2026-03-02", {.tax = "1600.00"}), "s09-15"),
                    ev(bd("2026-03-02"), "s09-b2"),
                    ev(bd("2026-03-03"), "s09-b3"),
                    ev(cancel("ACC9A", "R9A1"), "s09-16")}),
            std::vector<int>{19});
  EXPECT_EQ(s.inspect("ACC9A"), (Lines{"credit=0.00 debt=1500.01", "O9A1 2026-04-30 1500.01/0.00/0.00",
                                       "R9A1 cash cancelled", "  2026-04-30 1500.01 paid=0.00 due"}));
  EXPECT_EQ(s.inspect("ACC9B"), (Lines{"credit=0.00 debt=1500.00", "O9B1 2026-04-30 1000.00/500.00/0.00",
                                       "R9B1 cash cancelled", "  2026-04-30 1500.00 paid=0.00 due"}));
  EXPECT_EQ(s.inspect("ACC9C"), (Lines{"credit=0.00 debt=2000.00", "O9C1 2026-04-30 1200.00/0.00/0.00",
                                       "O9C2 2026-04-30 800.00/0.00/0.00", "R9C1 cash cancelled",
                                       "  2026-04-30 1200.00 paid=0.00 due", "R9C2 cash cancelled",
                                       "  2026-04-30 800.00 paid=0.00 due"}));
  EXPECT_EQ(s.inspect("ACC9D"), (Lines{"credit=0.00 debt=1600.00", "O9D1 2026-03-02 1600.00/0.00/0.00"}));
  EXPECT_EQ(sorted(s.activity_lines()),
            sorted({"NO_ARRANGEMENT ACC9A @2026-03-01 arrangement_cancelled debt=1500.01 arrangement=R9A1",
                    "NO_ARRANGEMENT ACC9C @2026-03-01 arrangement_cancelled debt=2000.00 arrangement=R9C2",
                    "NO_ARRANGEMENT ACC9D @2026-03-03 debt_due debt=1600.00 obligation=O9D1"}));
  EXPECT_EQ(s.distribution_lines(), Lines{});
}

TEST(Scenario, S10RedeliveryChangesNothingAndEmitsNothing) {
  Stream s;
  const char* a = "ACC10";
  EXPECT_EQ(run(s, {ev(bd("2026-03-01"), "s10-b1"),
                    ev(assess(a, "O1", "2026-04-30", {.tax = "500.00"}), "s10-1"),
                    ev(pay(a, "P1", "100.00", {.method = PaymentMethod::card}), "s10-2"),
                    ev(pay(a, "P1", "100.00", {.method = PaymentMethod::card}), "s10-2"),
                    ev(assess(a, "O1", "2026-04-30", {.tax = "500.00"}), "s10-1"),
                    ev(pay(a, "P2", "999.00", {.method = PaymentMethod::card}), "s10-2"),
                    kBlank,
                    ev(bd("2026-03-01"), "s10-b1"),
                    ev(returned(a, "P1", "2026-03-01", "R01"), "s10-3"),
                    ev(returned(a, "P1", "2026-03-01", "R01"), "s10-3"),
                    ev(pay(a, "P3", "50.00", {.method = PaymentMethod::cash}), "s10-4")}),
            std::vector<int>{});
  EXPECT_EQ(s.inspect(a), (Lines{"credit=0.00 debt=450.00", "O1 2026-04-30 450.00/0.00/0.00"}));
  EXPECT_EQ(s.activity_lines(), Lines{});
  EXPECT_EQ(sorted(s.distribution_lines()),
            sorted({"applied ACC10 P1 @2026-03-01 O1:tax:100.00 credit=0.00",
                    "reversed ACC10 P1 @2026-03-01 O1:tax:100.00 credit=0.00 reason=R01",
                    "applied ACC10 P3 @2026-03-01 O1:tax:50.00 credit=0.00"}));
}

TEST(Scenario, S12RecommendationRulesAndCustomerAndAgencyReviews) {
  Stream s;
  const char* a = "ACC12";
  EXPECT_EQ(run(s, {ev(bd("2026-01-29"), "s12-b1"),
                    ev(assess(a, "O1", "2026-03-31", {.tax = "1000.00", .interest = "0.05"}), "s12-1"),
                    ev(assess(a, "O2", "2026-06-30", {.tax = "250.00"}), "s12-2"),
                    ev(assess(a, "O3", "2026-06-30", {.tax = "100.00"}), "s12-3"),
                    ev(create(a, "R1", ArrangementKind::cash, {"O1"},
                              equal_instalments(4, Frequency::monthly, "2026-01-31")), "s12-4"),
                    ev(create(a, "R2", ArrangementKind::direct_debit, {"O2"},
                              fixed_amount("100.00", Frequency::fortnightly, "2026-02-02")), "s12-5"),
                    ev(cash(a, "R3", {"O3"}, {{"2026-05-01", "100.00"}}), "s12-6"),
                    ev(review(a, "R1", RequestedBy::customer), "s12-7"),
                    ev(review(a, "R2", RequestedBy::agency), "s12-8"),
                    ev(review(a, "R3", RequestedBy::agency), "s12-9"),
                    ev(bd("2026-02-10"), "s12-b2"),
                    ev(cancel(a, "R3"), "s12-10"),
                    ev(bd("2026-02-25"), "s12-b3"),
                    ev(bd("2026-02-26"), "s12-b4"),
                    ev(review(a, "R3", RequestedBy::customer), "s12-11")}),
            std::vector<int>{15});
  EXPECT_EQ(s.inspect(a), (Lines{"credit=0.00 debt=1350.05",
                                 "O1 2026-03-31 1000.00/0.00/0.05",
                                 "O2 2026-06-30 250.00/0.00/0.00",
                                 "O3 2026-06-30 100.00/0.00/0.00",
                                 "R1 cash pending_start",
                                 "  2026-01-31 250.01 paid=0.00 due",
                                 "  2026-02-28 250.01 paid=0.00 due",
                                 "  2026-03-31 250.01 paid=0.00 due",
                                 "  2026-04-30 250.02 paid=0.00 due",
                                 "R2 direct_debit pending_start",
                                 "  2026-02-02 100.00 paid=0.00 due",
                                 "  2026-02-16 100.00 paid=0.00 due",
                                 "  2026-03-02 50.00 paid=0.00 due",
                                 "R3 cash cancelled",
                                 "  2026-05-01 100.00 paid=0.00 due"}));
  EXPECT_EQ(sorted(s.activity_lines()), sorted({"REVIEW_DUE ACC12 @2026-01-29 R1 customer",
                                                "REVIEW_DUE ACC12 @2026-02-26 R2 agency"}));
  EXPECT_EQ(s.distribution_lines(), Lines{});
}

}  // namespace
}  // namespace paydist
