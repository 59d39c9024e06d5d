// tests/core/instalments_test.cpp: how applied money counts towards instalments (contract 3
// and 6 "Instalments"): oldest unpaid first, pay-ahead, excess, money before activation,
// returns that un-pay exactly one payment's parts, skips and updates that move money.
#include <gtest/gtest.h>

#include "core/instalments.h"
#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

constexpr const char* kAcc = "ACC";

std::vector<std::pair<std::uint32_t, std::string>> parts(const Instalment& i) {
  std::vector<std::pair<std::uint32_t, std::string>> out;
  for (const PaymentPart& p : i.parts) out.emplace_back(p.payment_index, p.amount.to_string());
  return out;
}
using Parts = std::vector<std::pair<std::uint32_t, std::string>>;

void current_cash(Stream& s, const char* balance, const Sched& schedule) {
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = balance}));
  s.ok(cash(kAcc, "R", {"O1"}, schedule));
  s.ok(activate(kAcc, "R"));
}

TEST(Instalments, MoneyBeyondAnInstalmentPaysTheNextOnesAhead) {
  Stream s;
  current_cash(s, "900.00", {{"2026-03-10", "300.00"}, {"2026-03-20", "300.00"}, {"2026-03-30", "300.00"}});
  s.ok(pay(kAcc, "P1", "450.00"));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-10 300.00 paid=300.00 paid", "2026-03-20 300.00 paid=150.00 due",
                                             "2026-03-30 300.00 paid=0.00 due"}));
}

TEST(Instalments, MoneyBeyondTheLastInstalmentIsKeptAsExcessAndStillApplied) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "300.00"}, {"2026-03-20", "300.00"}});
  s.ok(pay(kAcc, "P1", "800.00"));
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P1 @2026-03-01 O1:tax:800.00 credit=0.00"}));
  const Arrangement& r = s.arrangement(kAcc, "R");
  ASSERT_EQ(r.excess.size(), 1u);
  EXPECT_EQ(r.excess[0].amount, money("200.00"));
  EXPECT_EQ(r.applied(), money("800.00"));
  EXPECT_EQ(s.status(kAcc, "R"), "current");
}

TEST(Instalments, PaymentBeforeActivationCountsTowardsThePendingArrangement) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-03-05", "200.00"}, {"2026-03-20", "200.00"}, {"2026-04-05", "200.00"}}));
  s.ok(pay(kAcc, "P1", "250.00"));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-05 200.00 paid=200.00 paid", "2026-03-20 200.00 paid=50.00 due",
                                             "2026-04-05 200.00 paid=0.00 due"}));
}

TEST(Instalments, PendingArrangementNeverBreaksAndShowsNoMissedInstalment) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-03-05", "200.00"}, {"2026-03-20", "200.00"}, {"2026-04-05", "200.00"}}));
  s.ok(pay(kAcc, "P1", "250.00"));
  s.ok(bd("2026-05-01"));
  EXPECT_TRUE(s.activities().empty());
  EXPECT_EQ(s.status(kAcc, "R"), "pending_start");
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-05 200.00 paid=200.00 paid", "2026-03-20 200.00 paid=50.00 due",
                                             "2026-04-05 200.00 paid=0.00 due"}));
  // A back-dated activation is checked at once, with the current business date.
  s.ok(activate(kAcc, "R"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-05-01 R cash missed=2026-03-20 amount=150.00"}));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-05 200.00 paid=200.00 paid",
                                             "2026-03-20 200.00 paid=50.00 missed",
                                             "2026-04-05 200.00 paid=0.00 missed"}));
}

TEST(Instalments, PendingArrangementPaidToZeroCompletesOnlyWhenActivated) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "300.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-03-10", "300.00"}}));
  s.ok(pay(kAcc, "P1", "300.00"));
  EXPECT_TRUE(s.last().activities.empty());
  EXPECT_EQ(s.status(kAcc, "R"), "pending_start");
  s.ok(activate(kAcc, "R"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-03-01 R"}));
  EXPECT_EQ(s.status(kAcc, "R"), "completed");
}

TEST(Instalments, ReturnUnpaysExactlyThatPaymentsPartsAndNothingFlowsIntoTheGap) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "300.00"}, {"2026-03-20", "300.00"}, {"2026-03-30", "400.00"}});
  s.ok(pay(kAcc, "P1", "200.00"));
  s.ok(pay(kAcc, "P2", "200.00"));
  EXPECT_EQ(parts(s.arrangement(kAcc, "R").instalments[0]), (Parts{{0, "200.00"}, {1, "100.00"}}));
  s.ok(returned(kAcc, "P1", "2026-03-02"));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-10 300.00 paid=100.00 due", "2026-03-20 300.00 paid=100.00 due",
                                             "2026-03-30 400.00 paid=0.00 due"}));
  EXPECT_EQ(parts(s.arrangement(kAcc, "R").instalments[0]), (Parts{{1, "100.00"}}));
}

TEST(Instalments, ReturnUnpaysExcessToo) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "300.00"}});
  s.ok(pay(kAcc, "P1", "500.00"));
  s.ok(returned(kAcc, "P1", "2026-03-02"));
  EXPECT_TRUE(s.arrangement(kAcc, "R").excess.empty());
  EXPECT_EQ(s.arrangement(kAcc, "R").applied(), Money::zero());
}

TEST(Instalments, SkipOfPartlyPaidInstalmentMovesItsMoneyToTheOldestUnpaid) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "300.00"}, {"2026-03-20", "300.00"}, {"2026-03-30", "300.00"}});
  s.ok(pay(kAcc, "P1", "300.00"));
  s.ok(pay(kAcc, "P2", "100.00"));
  s.ok(returned(kAcc, "P1", "2026-03-02"));
  s.ok(skip(kAcc, "R", "2026-03-20"));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-10 300.00 paid=100.00 due", "2026-03-20 300.00 paid=0.00 skipped",
                                             "2026-03-30 300.00 paid=0.00 due"}));
  EXPECT_TRUE(s.last().empty());
}

TEST(Instalments, SkipMovesEachPaymentsPartInTheOrderItWasPaidIn) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "100.00"}, {"2026-03-20", "300.00"}, {"2026-03-30", "300.00"}});
  s.ok(pay(kAcc, "P0", "40.00"));
  s.ok(pay(kAcc, "P1", "60.00"));
  s.ok(pay(kAcc, "P2", "50.00"));
  s.ok(pay(kAcc, "P3", "30.00"));
  s.ok(returned(kAcc, "P1", "2026-03-02"));  // leaves a gap of 60.00 in the first instalment
  s.ok(skip(kAcc, "R", "2026-03-20"));
  const Arrangement& r = s.arrangement(kAcc, "R");
  EXPECT_EQ(parts(r.instalments[0]), (Parts{{0, "40.00"}, {2, "50.00"}, {3, "10.00"}}));
  EXPECT_EQ(parts(r.instalments[1]), Parts{});
  EXPECT_EQ(parts(r.instalments[2]), (Parts{{3, "20.00"}}));
}

TEST(Instalments, SkipWithNoUnpaidInstalmentLeftMovesMoneyToExcess) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "100.00"}, {"2026-03-20", "100.00"}});
  s.ok(pay(kAcc, "P1", "150.00"));
  s.ok(skip(kAcc, "R", "2026-03-20"));
  const Arrangement& r = s.arrangement(kAcc, "R");
  EXPECT_EQ(r.instalments[1].paid(), Money::zero());
  ASSERT_EQ(r.excess.size(), 1u);
  EXPECT_EQ(r.excess[0].amount, money("50.00"));
}

TEST(Instalments, UpdateReflowsOldPartsInScheduleOrderThenExcess) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "300.00"}, {"2026-03-20", "300.00"}});
  s.ok(pay(kAcc, "P1", "250.00"));
  s.ok(pay(kAcc, "P2", "400.00"));  // 50 + 300 + 50 excess
  s.ok(update_schedule(kAcc, "R", {{"2026-04-01", "100.00"}, {"2026-04-15", "100.00"}, {"2026-05-01", "500.00"}}));
  EXPECT_TRUE(s.last().empty());
  const Arrangement& r = s.arrangement(kAcc, "R");
  EXPECT_EQ(parts(r.instalments[0]), (Parts{{0, "100.00"}}));
  EXPECT_EQ(parts(r.instalments[1]), (Parts{{0, "100.00"}}));
  EXPECT_EQ(parts(r.instalments[2]), (Parts{{0, "50.00"}, {1, "400.00"}}));
  EXPECT_TRUE(r.excess.empty());
  EXPECT_EQ(s.status(kAcc, "R"), "current");
  s.ok(returned(kAcc, "P1", "2026-03-02"));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-04-01 100.00 paid=0.00 due", "2026-04-15 100.00 paid=0.00 due",
                                             "2026-05-01 500.00 paid=400.00 due"}));
}

TEST(Instalments, UpdateToASmallerScheduleKeepsTheRestAsExcess) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "300.00"}, {"2026-03-20", "300.00"}});
  s.ok(pay(kAcc, "P1", "500.00"));
  s.ok(update_schedule(kAcc, "R", {{"2026-04-01", "100.00"}}));
  const Arrangement& r = s.arrangement(kAcc, "R");
  EXPECT_EQ(r.instalments[0].paid(), money("100.00"));
  ASSERT_EQ(r.excess.size(), 1u);
  EXPECT_EQ(r.excess[0].amount, money("400.00"));
}

TEST(Instalments, UpdatedScheduleStartsWithNoSkipsAndNoReturnMarks) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "1000.00"}));
  s.ok(direct_debit(kAcc, "R", {"O1"}, {{"2026-03-10", "100.00"}, {"2026-03-20", "100.00"}}));
  s.ok(activate(kAcc, "R"));
  s.ok(pay(kAcc, "P1", "100.00", {.method = PaymentMethod::direct_debit}));
  s.ok(returned(kAcc, "P1", "2026-03-02", "AM04"));
  s.ok(skip(kAcc, "R", "2026-03-20"));
  ASSERT_TRUE(s.arrangement(kAcc, "R").instalments[0].return_date.has_value());
  s.ok(update_schedule(kAcc, "R", {{"2026-03-10", "100.00"}, {"2026-03-20", "100.00"}}));
  for (const Instalment& i : s.arrangement(kAcc, "R").instalments) {
    EXPECT_FALSE(i.skipped);
    EXPECT_FALSE(i.return_date.has_value());
    EXPECT_TRUE(i.return_reason_code.empty());
  }
  // Without the return mark the first instalment breaks on the cash rule (due + 14), not
  // on return + 3 (2026-03-05).
  s.ok(bd("2026-03-23"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(bd("2026-03-24"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-24 R direct_debit missed=2026-03-10 amount=100.00"}));
}

TEST(Instalments, UpdateLeavesABrokenArrangementBroken) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-01", "100.00"}});
  s.ok(bd("2026-03-15"));
  ASSERT_EQ(s.status(kAcc, "R"), "broken");
  s.ok(update_schedule(kAcc, "R", {{"2026-04-01", "100.00"}}));
  EXPECT_EQ(s.status(kAcc, "R"), "broken");
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-04-01 100.00 paid=0.00 due"}));
}

TEST(Instalments, UpdateOfCoveredObligationsAloneKeepsTheSchedule) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-10", "300.00"}});
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "50.00"}));
  s.ok(pay(kAcc, "P1", "100.00"));
  s.ok(update_covered(kAcc, "R", {"O2", "O1"}));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-10 300.00 paid=100.00 due"}));
  s.ok(pay(kAcc, "P2", "60.00"));  // now O2 first, in listed order
  EXPECT_EQ(s.last_distribution_lines(), (Lines{"applied ACC P2 @2026-03-01 O2:tax:50.00 O1:tax:10.00 credit=0.00"}));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-10 300.00 paid=160.00 due"}));
}

TEST(Instalments, StatusIsSkippedThenPaidThenMissedAtTheDeadlineElseDue) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-03-01", "100.00"}, {"2026-03-02", "100.00"}, {"2026-03-03", "100.00"},
                              {"2026-03-04", "100.00"}});
  s.ok(pay(kAcc, "P1", "100.00"));
  s.ok(skip(kAcc, "R", "2026-03-02"));
  s.ok(bd("2026-03-17"));  // deadline of 03-03 is 03-17, of 03-04 is 03-18
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-03-01 100.00 paid=100.00 paid", "2026-03-02 100.00 paid=0.00 skipped",
                                             "2026-03-03 100.00 paid=0.00 missed", "2026-03-04 100.00 paid=0.00 due"}));
}

TEST(Instalments, ClosedArrangementIsEvaluatedAtItsClosingDate) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-02-20", "100.00"}, {"2026-03-20", "100.00"}});  // deadlines 03-06, 04-03
  s.ok(cancel(kAcc, "R"));
  s.ok(bd("2026-05-01"));
  EXPECT_EQ(s.instalments(kAcc, "R"),
            (Lines{"2026-02-20 100.00 paid=0.00 due", "2026-03-20 100.00 paid=0.00 due"}));
}

TEST(Instalments, ClosedAfterItsDeadlineShowsMissed) {
  Stream s;
  current_cash(s, "1000.00", {{"2026-02-20", "100.00"}, {"2026-03-20", "100.00"}});
  s.ok(bd("2026-03-10"));
  ASSERT_EQ(s.status(kAcc, "R"), "broken");
  s.ok(cancel(kAcc, "R"));
  s.ok(bd("2026-05-01"));
  EXPECT_EQ(s.instalments(kAcc, "R"),
            (Lines{"2026-02-20 100.00 paid=0.00 missed", "2026-03-20 100.00 paid=0.00 due"}));
}

TEST(Instalments, NeverActivatedCancelledArrangementHasNoMissedInstalment) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "100.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-01-01", "100.00"}}));
  s.ok(cancel(kAcc, "R"));
  EXPECT_EQ(s.instalments(kAcc, "R"), (Lines{"2026-01-01 100.00 paid=0.00 due"}));
}

// --- the instalment functions on their own ------------------------------------------------

Arrangement arrangement_of(ArrangementKind kind, const Sched& schedule) {
  Arrangement a{.id = id<ArrangementId>("R"), .kind = kind, .status = ArrangementStatus::current};
  for (const auto& [due, amount] : schedule) a.instalments.push_back(Instalment{.due_date = date(due), .amount = money(amount)});
  a.activated = true;
  return a;
}

TEST(FlowPart, FillsOldestUnpaidUnskippedFirstThenExcessAndMergesAPaymentsAdjacentParts) {
  Arrangement a = arrangement_of(ArrangementKind::cash, {{"2026-03-01", "100.00"}, {"2026-03-02", "100.00"},
                                                         {"2026-03-03", "100.00"}});
  a.instalments[1].skipped = true;
  flow_part(a, PaymentPart{0, money("60.00")});
  flow_part(a, PaymentPart{0, money("20.00")});
  flow_part(a, PaymentPart{1, money("150.00")});
  EXPECT_EQ(parts(a.instalments[0]), (Parts{{0, "80.00"}, {1, "20.00"}}));
  EXPECT_EQ(parts(a.instalments[1]), Parts{});
  EXPECT_EQ(parts(a.instalments[2]), (Parts{{1, "100.00"}}));
  ASSERT_EQ(a.excess.size(), 1u);
  EXPECT_EQ(a.excess[0].amount, money("30.00"));
  EXPECT_EQ(a.applied(), money("230.00"));
}

TEST(Unpay, RemovesOnlyThatPaymentAndMarksTheInstalmentsItLeft) {
  Arrangement a = arrangement_of(ArrangementKind::direct_debit,
                                 {{"2026-03-01", "100.00"}, {"2026-03-02", "100.00"}, {"2026-03-03", "100.00"}});
  flow_part(a, PaymentPart{0, money("50.00")});
  flow_part(a, PaymentPart{1, money("100.00")});
  flow_part(a, PaymentPart{0, money("30.00")});
  flow_part(a, PaymentPart{2, money("40.00")});
  EXPECT_EQ(unpay(a, 0, date("2026-03-05"), "R01"), money("80.00"));
  EXPECT_EQ(parts(a.instalments[0]), (Parts{{1, "50.00"}}));
  EXPECT_EQ(parts(a.instalments[1]), (Parts{{1, "50.00"}, {2, "20.00"}}));
  EXPECT_EQ(parts(a.instalments[2]), (Parts{{2, "20.00"}}));
  EXPECT_EQ(a.instalments[0].return_date, date("2026-03-05"));
  EXPECT_EQ(a.instalments[0].return_reason_code, "R01");
  EXPECT_EQ(a.instalments[1].return_date, date("2026-03-05"));
  EXPECT_FALSE(a.instalments[2].return_date.has_value());  // payment 0 never reached it
  EXPECT_EQ(unpay(a, 7, date("2026-03-06"), "X"), Money::zero());
  EXPECT_EQ(a.instalments[0].return_date, date("2026-03-05"));
  EXPECT_EQ(unpay(a, 2, date("2026-03-04"), "EARLIER"), money("40.00"));
  EXPECT_EQ(a.instalments[1].return_date, date("2026-03-05"));  // the latest return date stays
  EXPECT_EQ(a.instalments[1].return_reason_code, "R01");
  EXPECT_EQ(a.instalments[2].return_date, date("2026-03-04"));
}

TEST(BreakDeadline, IsDuePlusCashGraceUnlessADirectDebitLostMoneyToAReturn) {
  Rules rules;
  Arrangement cash = arrangement_of(ArrangementKind::cash, {{"2026-03-10", "100.00"}});
  Arrangement dd = arrangement_of(ArrangementKind::direct_debit, {{"2026-03-10", "100.00"}});
  cash.instalments[0].return_date = date("2026-03-01");
  EXPECT_EQ(break_deadline(cash, cash.instalments[0], rules), date("2026-03-24"));
  EXPECT_EQ(break_deadline(dd, dd.instalments[0], rules), date("2026-03-24"));
  dd.instalments[0].return_date = date("2026-03-01");
  EXPECT_EQ(break_deadline(dd, dd.instalments[0], rules), date("2026-03-04"));
  rules.cash_grace_days = 7;
  rules.dd_return_grace_days = 5;
  EXPECT_EQ(break_deadline(cash, cash.instalments[0], rules), date("2026-03-17"));
  EXPECT_EQ(break_deadline(dd, dd.instalments[0], rules), date("2026-03-06"));
}

TEST(EvaluationDate, IsTheBusinessDateWhileOpenTheClosingDateAfterAndNoneIfNeverActivated) {
  Arrangement a = arrangement_of(ArrangementKind::cash, {{"2026-03-10", "100.00"}});
  const std::optional<Date> today = date("2026-05-01");
  EXPECT_EQ(evaluation_date(a, today), today);
  a.status = ArrangementStatus::broken;
  EXPECT_EQ(evaluation_date(a, today), today);
  a.status = ArrangementStatus::completed;
  a.closing_date = date("2026-03-15");
  EXPECT_EQ(evaluation_date(a, today), date("2026-03-15"));
  a.status = ArrangementStatus::pending_start;
  a.activated = false;
  EXPECT_EQ(evaluation_date(a, today), std::nullopt);
  a.status = ArrangementStatus::cancelled;
  EXPECT_EQ(evaluation_date(a, today), std::nullopt);
}

// One payment's lines flow in one at a time; PaymentRun passes a resume point so that it does
// not rescan the instalments it already filled. Every split of the payment, over skipped,
// partly paid, full and unpaid instalments, must give exactly what the plain scan gives.
TEST(Instalments, FlowingWithAResumePointGivesWhatThePlainScanGives) {
  Arrangement base;
  auto instalment = [](const char* due, const char* amount, bool skipped, std::vector<PaymentPart> parts) {
    return Instalment{.due_date = date(due), .amount = money(amount), .skipped = skipped, .parts = std::move(parts)};
  };
  base.instalments = {instalment("2026-03-01", "100.00", true, {}),
                      instalment("2026-03-02", "100.00", false, {{0, money("100.00")}}),
                      instalment("2026-03-03", "100.00", false, {{0, money("40.00")}}),
                      instalment("2026-03-04", "50.00", true, {}),
                      instalment("2026-03-05", "100.00", false, {}),
                      instalment("2026-03-06", "0.01", false, {})};
  const std::vector<std::vector<const char*>> splits = {
      {"10.00"}, {"60.00"}, {"60.00", "0.01"}, {"30.00", "30.00", "100.00", "0.01", "5.00"},
      {"0.01", "0.01", "59.98", "99.99", "0.01", "0.01", "7.00"}, {"500.00"}};
  for (const auto& split : splits) {
    Arrangement plain = base;
    Arrangement resumed = base;
    std::size_t first_open = 0;
    for (const char* amount : split) {
      flow_part(plain, PaymentPart{1, money(amount)});
      flow_part(resumed, PaymentPart{1, money(amount)}, first_open);
      EXPECT_EQ(resumed, plain) << "after " << amount;
      EXPECT_LE(first_open, resumed.instalments.size());
    }
    EXPECT_EQ(resumed.applied(), plain.applied());
  }
  // What the resume point skips is full or skipped: here everything up to the 0.01 one.
  Arrangement filled = base;
  std::size_t first_open = 0;
  flow_part(filled, PaymentPart{1, money("160.00")}, first_open);
  EXPECT_EQ(first_open, 5u);
  EXPECT_EQ(filled.instalments[5].paid(), Money::zero());
}

}  // namespace
}  // namespace paydist
