// tests/core/processor_test.cpp: one timeline (contract 1 and 6 "Input handling", "Deadlines
// and the business date"): the business date and its deadline firing order, redelivery,
// rejects that change nothing, event-id scopes and stable, unique activity ids.
#include <gtest/gtest.h>

#include <set>

#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

TEST(BusinessDate, MovingBackwardsIsRejected) {
  Stream s;
  s.ok(bd("2026-03-10"));
  s.reject(bd("2026-03-09"));
  EXPECT_EQ(s.business_date(), date("2026-03-10"));
}

TEST(BusinessDate, AnEqualDateIsAcceptedAndDoesNothing) {
  Stream s;
  s.ok(bd("2026-03-10"));
  s.ok(assess("A", "O1", "2026-03-31", {.tax = "1.00"}));
  const auto before = s.state().accounts();
  const Outputs& out = s.ok(bd("2026-03-10"));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(s.state().accounts() == before);
  EXPECT_TRUE(s.state().event_accepted(EventScope{nullptr}, id<EventId>("ev-3")));  // used up
}

TEST(BusinessDate, IsNullBeforeTheFirstOneAndNoDeadlineIsEvaluated) {
  Stream s;
  s.ok(assess("A", "O1", "2020-01-01", {.tax = "5000.00"}));
  s.ok(cash("A", "R", {"O1"}, {{"2020-01-01", "1.00"}}));
  s.ok(activate("A", "R"));
  EXPECT_FALSE(s.business_date().has_value());
  EXPECT_TRUE(s.activities().empty());
  EXPECT_EQ(s.status("A", "R"), "current");
}

TEST(BusinessDate, FirstDateFiresEveryPastDeadlineOnItsOwnDate) {
  Stream s;
  s.ok(assess("A", "O1", "2026-01-10", {.tax = "2000.00"}));
  s.ok(assess("A", "O2", "2026-01-10", {.tax = "100.00"}));
  s.ok(cash("A", "R", {"O2"}, {{"2026-01-05", "50.00"}, {"2026-02-05", "50.00"}}));
  s.ok(activate("A", "R"));
  s.ok(bd("2026-03-01"));
  EXPECT_EQ(s.activity_lines(),
            (Lines{"NO_ARRANGEMENT A @2026-01-11 debt_due debt=2100.00 obligation=O1",
                   "BROKEN_ARRANGEMENT A @2026-01-19 R cash missed=2026-01-05 amount=50.00"}));
}

TEST(BusinessDate, AJumpFiresDeadlinesInDateOrderAcrossAccountsOnTheirOwnDates) {
  Stream s;
  s.ok(bd("2026-03-01"));
  // Seen first: a break on 03-20.
  s.ok(assess("FIRST", "O1", "2026-06-30", {.tax = "100.00"}));
  s.ok(cash("FIRST", "R", {"O1"}, {{"2026-03-06", "100.00"}}));
  s.ok(activate("FIRST", "R"));
  // Seen second: a due-date check on 03-11 and a review on 03-29.
  s.ok(assess("SECOND", "O1", "2026-03-10", {.tax = "2000.00"}));
  s.ok(assess("SECOND", "O2", "2026-06-30", {.tax = "10.00"}));
  s.ok(cash("SECOND", "R", {"O2"}, {{"2026-06-30", "10.00"}}));
  s.ok(review("SECOND", "R", RequestedBy::agency));
  s.ok(bd("2026-04-30"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT SECOND @2026-03-11 debt_due debt=2010.00 obligation=O1",
                   "BROKEN_ARRANGEMENT FIRST @2026-03-20 R cash missed=2026-03-06 amount=100.00",
                   "REVIEW_DUE SECOND @2026-03-29 R agency"}));
}

TEST(BusinessDate, TiesGoByFirstSeenAccountThenBreaksDueChecksReviews) {
  Stream s;
  s.ok(bd("2026-02-15"));
  // "ZZZ" is seen before "AAA": its activities come first on a shared date.
  s.ok(assess("ZZZ", "O1", "2026-06-30", {.tax = "100.00"}));
  s.ok(cash("ZZZ", "R", {"O1"}, {{"2026-03-01", "100.00"}}));  // breaks on 03-15
  s.ok(activate("ZZZ", "R"));
  s.ok(review("ZZZ", "R", RequestedBy::agency));  // due 03-15
  s.ok(assess("ZZZ", "O2", "2026-03-14", {.tax = "2000.00"}));  // checked on 03-15
  s.ok(assess("AAA", "O1", "2026-03-14", {.tax = "2000.00"}));  // checked on 03-15
  s.ok(assess("MMM", "O1", "2026-03-09", {.tax = "2000.00"}));  // checked on 03-10
  s.ok(bd("2026-03-20"));
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"NO_ARRANGEMENT MMM @2026-03-10 debt_due debt=2000.00 obligation=O1",
                   "BROKEN_ARRANGEMENT ZZZ @2026-03-15 R cash missed=2026-03-01 amount=100.00",
                   "NO_ARRANGEMENT ZZZ @2026-03-15 debt_due debt=2100.00 obligation=O2",
                   "REVIEW_DUE ZZZ @2026-03-15 R agency",
                   "NO_ARRANGEMENT AAA @2026-03-15 debt_due debt=2000.00 obligation=O1"}));
}

TEST(BusinessDate, DeadlinesAreEvaluatedAsOfTheirOwnDateDuringAJump) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess("A", "O1", "2026-06-30", {.tax = "1000.00"}));
  s.ok(cash("A", "R", {"O1"}, {{"2026-03-01", "100.00"}, {"2026-03-10", "100.00"}, {"2026-03-20", "100.00"}}));
  s.ok(activate("A", "R"));
  s.ok(bd("2026-05-01"));
  // One break, on the first deadline, reporting the instalment missed by then.
  EXPECT_EQ(s.last_activity_lines(),
            (Lines{"BROKEN_ARRANGEMENT A @2026-03-15 R cash missed=2026-03-01 amount=100.00"}));
}

TEST(Redelivery, IsASilentNoOpEvenWithADifferentBody) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess("A", "O1", "2026-06-30", {.tax = "100.00"}));
  s.ok(with_event(pay("A", "P1", "60.00"), "E1"));
  const auto before = s.state().accounts();
  const std::size_t distributions = s.distributions().size();
  Result<Applied> again = s.send(with_event(pay("A", "P2", "999.00", {.obligation = "NOPE"}), "E1"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, Applied::Kind::duplicate);
  EXPECT_TRUE(again->outputs.empty());
  EXPECT_TRUE(s.state().accounts() == before);
  EXPECT_EQ(s.distributions().size(), distributions);
}

TEST(Redelivery, OfABusinessDateIsANoOpEvenWhenItsDateWouldBeRejected) {
  Stream s;
  s.ok(with_event(bd("2026-03-01"), "B1"));
  s.ok(bd("2026-03-05"));
  Result<Applied> again = s.send(with_event(bd("2026-01-01"), "B1"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, Applied::Kind::duplicate);
  EXPECT_EQ(s.business_date(), date("2026-03-05"));
}

TEST(Redelivery, ARejectedMessageDoesNotUseUpItsEventId) {
  Stream s;
  s.ok(assess("A", "O1", "2026-06-30", {.tax = "100.00"}));
  s.reject(with_event(pay("A", "P1", "60.00", {.obligation = "NOPE"}), "E1"));
  Result<Applied> r = s.send(with_event(pay("A", "P1", "60.00"), "E1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, Applied::Kind::accepted);
  EXPECT_EQ(s.total("A", "O1"), "40.00");
}

TEST(EventScope, EventIdsAreScopedPerAccountAndBusinessDatesHaveTheirOwnScope) {
  Stream s;
  s.ok(with_event(bd("2026-03-01"), "E1"));
  Result<Applied> a = s.send(with_event(assess("A", "O1", "2026-06-30", {.tax = "1.00"}), "E1"));
  Result<Applied> b = s.send(with_event(assess("B", "O1", "2026-06-30", {.tax = "1.00"}), "E1"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->kind, Applied::Kind::accepted);
  EXPECT_EQ(b->kind, Applied::Kind::accepted);
  EXPECT_TRUE(s.has_account("A") && s.has_account("B"));
}

TEST(RejectedMessage, ChangesNothing) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess("A", "O1", "2026-06-30", {.tax = "1000.00", .penalty = "10.00"}));
  s.ok(assess("A", "O2", "2026-06-30", {.tax = "500.00"}, Eligibility::not_plan_eligible));
  s.ok(cash("A", "R", {"O1"}, {{"2026-03-10", "500.00"}, {"2026-04-10", "510.00"}}));
  s.ok(activate("A", "R"));
  s.ok(pay("A", "P1", "100.00"));
  s.reject(assess("A", "O1", "2026-06-30", {.tax = "1.00"}));          // exists
  s.reject(adjust("A", "O1", {.tax = "5.00", .penalty = "-10.01"}));   // below zero (tax part valid)
  s.reject(adjust("A", "NOPE", {.tax = "5.00"}));
  s.reject(cash("A", "R2", {"O2"}, {{"2026-03-10", "1.00"}}));         // not plan eligible
  s.reject(cash("A", "R", {"O1"}, {{"2026-03-10", "1.00"}}));          // id taken
  s.reject(create("A", "R3", ArrangementKind::cash, {"O2"}, equal_instalments(3, Frequency::weekly, "2026-03-02")));
  s.reject(activate("A", "R"));
  s.reject(update_schedule("A", "R", {{"2026-03-10", "0.00"}}));
  s.reject(update_covered("A", "R", {"O1", "O2"}));                    // O2 not plan eligible
  s.reject(skip("A", "R", "2026-03-11"));
  s.reject(cancel("A", "NOPE"));
  s.reject(pay("A", "P1", "1.00"));                                    // payment id taken
  s.reject(pay("A", "P9", "1.00", {.arrangement = "NOPE"}));
  s.reject(returned("A", "P9", "2026-03-01"));
  s.reject(bd("2026-02-28"));
  s.reject(cancel("NEW", "R"));                                        // never-seen account
  EXPECT_FALSE(s.has_account("NEW"));
  EXPECT_EQ(s.rejects().size(), 16u);
}

TEST(RejectedMessage, MoneyBeyondTheInt64RangeIsRejectedNotWrapped) {
  Stream s;
  constexpr const char* kMax = "9999999999999.99";
  s.ok(assess("A", "O1", "2026-06-30", {.tax = kMax}));
  // Grow one component by the largest message amount until it no longer fits in Money.
  int accepted = 0;
  while (accepted < 20'000 && s.send(adjust("A", "O1", {.tax = kMax}))) ++accepted;
  ASSERT_LT(accepted, 20'000) << "a component grew past the Money range";
  EXPECT_EQ(accepted, 9222);  // INT64_MAX / 999'999'999'999'999 - 1 adjustments fit
  EXPECT_GT(s.account("A").debt(), Money::zero());
  s.reject(adjust("A", "O1", {.tax = kMax}));
  // Each component fits, but the obligation's total would not.
  s.reject(adjust("A", "O1", {.penalty = kMax}));
  s.reject(assess("A", "O2", "2026-06-30", {.tax = kMax}));
  // A return that would push a balance past the range is refused too.
  s.ok(pay("A", "P1", kMax));
  s.ok(adjust("A", "O1", {.tax = kMax}));
  s.reject(returned("A", "P1", "2026-03-01"));
}

TEST(RejectedMessage, AccountBoundsFromRulesAreEnforced) {
  Rules rules;
  rules.max_obligations_per_account = 2;
  rules.max_arrangements_per_account = 1;
  rules.max_payments_per_account = 2;
  rules.max_pending_reviews_per_account = 2;
  Stream s{rules};
  s.ok(bd("2026-03-01"));
  s.ok(assess("A", "O1", "2026-06-30", {.tax = "100.00"}));
  s.ok(assess("A", "O2", "2026-06-30", {.tax = "100.00"}));
  EXPECT_EQ(s.reject(assess("A", "O3", "2026-06-30", {.tax = "100.00"})),
            "account has the maximum of 2 obligations (max_obligations_per_account)");
  s.ok(cash("A", "R1", {"O1"}, {{"2026-03-10", "100.00"}}));
  EXPECT_EQ(s.reject(cash("A", "R2", {"O2"}, {{"2026-03-10", "100.00"}})),
            "account has the maximum of 1 arrangements (max_arrangements_per_account)");
  s.ok(pay("A", "P1", "1.00"));
  s.ok(pay("A", "P2", "1.00"));
  EXPECT_EQ(s.reject(pay("A", "P3", "1.00")), "account has the maximum of 2 payments (max_payments_per_account)");
  // Agency reviews wait for their notice period: at most two at a time; customer reviews
  // fire at once and keep nothing.
  s.ok(review("A", "R1", RequestedBy::agency));
  s.ok(review("A", "R1", RequestedBy::agency));
  EXPECT_EQ(s.reject(review("A", "R1", RequestedBy::agency)),
            "account has the maximum of 2 agency reviews waiting (max_pending_reviews_per_account)");
  s.ok(review("A", "R1", RequestedBy::customer));
  s.ok(bd("2026-03-29"));  // both fire (request date + 28 days): room again
  s.ok(review("A", "R1", RequestedBy::agency));
  // Other accounts have bounds of their own.
  s.ok(assess("B", "O3", "2026-06-30", {.tax = "100.00"}));
}

TEST(ActivityIds, AreUniqueAndTheSameStreamGivesTheSameIds) {
  auto run = [](Stream& s) {
    s.ok(bd("2026-03-01"));
    for (const char* acc : {"A", "B"}) {
      s.ok(assess(acc, "O1", "2026-03-05", {.tax = "2000.00"}));
      s.ok(assess(acc, "O2", "2026-06-30", {.tax = "900.00"}));
      s.ok(cash(acc, "R1", {"O2"}, {{"2026-03-01", "300.00"}, {"2026-03-15", "300.00"}, {"2026-03-29", "300.00"}}));
      s.ok(activate(acc, "R1"));
      s.ok(review(acc, "R1", RequestedBy::customer));
      s.ok(review(acc, "R1", RequestedBy::customer));
      s.ok(review(acc, "R1", RequestedBy::agency));
      s.ok(pay(acc, "P1", "50.00"));
    }
    s.ok(pay("C", "P1", "50.00"));
    s.ok(bd("2026-05-01"));
    s.ok(skip("A", "R1", "2026-03-01"));
    s.ok(skip("A", "R1", "2026-03-15"));
    s.ok(skip("A", "R1", "2026-03-29"));
    s.ok(cancel("A", "R1"));
    s.ok(pay("B", "P2", "2000.00"));
  };
  Stream first;
  Stream second;
  run(first);
  run(second);
  ASSERT_EQ(first.activities().size(), second.activities().size());
  EXPECT_TRUE(first.activities() == second.activities());
  EXPECT_TRUE(first.distributions() == second.distributions());
  std::set<std::string> ids;
  for (const Activity& a : first.activities()) {
    EXPECT_FALSE(a.activity_id.empty());
    EXPECT_TRUE(ids.insert(a.activity_id).second) << "duplicate activity id " << a.activity_id;
  }
  EXPECT_GE(ids.size(), 12u);
}

// contract 6 scopes business_date event ids apart from account event ids, and contract 4
// needs distinct causes to get distinct activity ids (the WLM drops repeated ids).
TEST(ActivityIds, DifferForAnAccountMessageAndABusinessDateThatShareAnEventId) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess("A", "O1", "2026-06-30", {.tax = "100.00"}));
  s.ok(cash("A", "R", {"O1"}, {{"2026-03-02", "100.00"}}));
  s.ok(activate("A", "R"));
  s.ok(with_event(review("A", "R", RequestedBy::customer), "SAME"));
  s.ok(with_event(bd("2026-03-16"), "SAME"));  // breaks R
  ASSERT_EQ(s.activities().size(), 2u);
  EXPECT_NE(s.activities()[0].activity_id, s.activities()[1].activity_id)
      << "REVIEW_DUE and BROKEN_ARRANGEMENT, two causes, share the id " << s.activities()[0].activity_id;
}

}  // namespace
}  // namespace paydist
