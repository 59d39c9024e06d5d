// tests/core/review_test.cpp: arrangement reviews (contract 3 and 6 "Reviews"): a customer's
// request is due at once; an agency's after the notice period, only if still open.
#include <gtest/gtest.h>

#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

constexpr const char* kAcc = "ACC";

void pending(Stream& s) {
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-05-01", "600.00"}}));
}

TEST(Review, CustomerRequestIsDueAtOnce) {
  Stream s;
  s.ok(bd("2026-01-29"));
  pending(s);
  s.ok(review(kAcc, "R", RequestedBy::customer));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"REVIEW_DUE ACC @2026-01-29 R customer"}));
}

TEST(Review, CustomerRequestBeforeAnyBusinessDateCarriesNullDate) {
  Stream s;
  pending(s);
  s.ok(review(kAcc, "R", RequestedBy::customer));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"REVIEW_DUE ACC @null R customer"}));
}

TEST(Review, AgencyRequestIsDueAfterTwentyEightDays) {
  Stream s;
  s.ok(bd("2026-01-29"));
  pending(s);
  s.ok(review(kAcc, "R", RequestedBy::agency));
  EXPECT_TRUE(s.last().empty());
  s.ok(bd("2026-02-25"));
  EXPECT_TRUE(s.activities().empty());
  s.ok(bd("2026-02-26"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"REVIEW_DUE ACC @2026-02-26 R agency"}));
  s.ok(bd("2026-04-01"));
  EXPECT_EQ(s.activities().size(), 1u);
}

TEST(Review, AgencyRequestFiresOnItsOwnDateWhenTheBusinessDateJumps) {
  Stream s;
  s.ok(bd("2026-01-29"));
  pending(s);
  s.ok(review(kAcc, "R", RequestedBy::agency));
  s.ok(bd("2026-03-20"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"REVIEW_DUE ACC @2026-02-26 R agency"}));
}

TEST(Review, AgencyRequestIsDroppedWhenTheArrangementClosesFirst) {
  Stream s;
  s.ok(bd("2026-01-29"));
  pending(s);
  s.ok(assess(kAcc, "O2", "2026-06-30", {.tax = "100.00"}));
  s.ok(cash(kAcc, "R2", {"O2"}, {{"2026-05-01", "100.00"}}));
  s.ok(activate(kAcc, "R2"));
  s.ok(review(kAcc, "R", RequestedBy::agency));
  s.ok(review(kAcc, "R2", RequestedBy::agency));
  s.ok(cancel(kAcc, "R"));
  s.ok(pay(kAcc, "P1", "100.00", {.arrangement = "R2"}));
  ASSERT_EQ(s.status(kAcc, "R2"), "completed");
  s.ok(bd("2026-03-01"));
  EXPECT_EQ(s.activity_lines(), (Lines{"ARRANGEMENT_COMPLETED ACC @2026-01-29 R2"}));
}

TEST(Review, AgencyRequestStillFiresForABrokenArrangement) {
  Stream s;
  s.ok(bd("2026-03-01"));
  s.ok(assess(kAcc, "O1", "2026-06-30", {.tax = "600.00"}));
  s.ok(cash(kAcc, "R", {"O1"}, {{"2026-03-01", "600.00"}}));
  s.ok(activate(kAcc, "R"));
  s.ok(review(kAcc, "R", RequestedBy::agency));
  s.ok(bd("2026-04-01"));
  EXPECT_EQ(s.activity_lines(), (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-15 R cash missed=2026-03-01 amount=600.00",
                                       "REVIEW_DUE ACC @2026-03-29 R agency"}));
}

TEST(Review, AgencyRequestBeforeTheFirstBusinessDateIsRejected) {
  Stream s;
  pending(s);
  s.reject(review(kAcc, "R", RequestedBy::agency));
}

TEST(Review, EachRequestFiresOnItsOwn) {
  Stream s;
  s.ok(bd("2026-01-29"));
  pending(s);
  s.ok(review(kAcc, "R", RequestedBy::agency));
  s.ok(review(kAcc, "R", RequestedBy::agency));
  s.ok(bd("2026-01-30"));
  s.ok(review(kAcc, "R", RequestedBy::agency));
  s.ok(review(kAcc, "R", RequestedBy::customer));
  s.ok(review(kAcc, "R", RequestedBy::customer));
  s.ok(bd("2026-03-31"));
  EXPECT_EQ(s.activity_lines(), (Lines{"REVIEW_DUE ACC @2026-01-30 R customer", "REVIEW_DUE ACC @2026-01-30 R customer",
                                       "REVIEW_DUE ACC @2026-02-26 R agency", "REVIEW_DUE ACC @2026-02-26 R agency",
                                       "REVIEW_DUE ACC @2026-02-27 R agency"}));
}

TEST(Review, NoticePeriodIsConfigurable) {
  Rules rules;
  rules.review_notice_days = 1;
  Stream s{rules};
  s.ok(bd("2026-01-29"));
  pending(s);
  s.ok(review(kAcc, "R", RequestedBy::agency));
  s.ok(bd("2026-01-30"));
  EXPECT_EQ(s.last_activity_lines(), (Lines{"REVIEW_DUE ACC @2026-01-30 R agency"}));
}

TEST(Review, UnknownOrClosedArrangementIsRejected) {
  Stream s;
  s.ok(bd("2026-01-29"));
  pending(s);
  s.reject(review(kAcc, "NOPE", RequestedBy::customer));
  s.ok(cancel(kAcc, "R"));
  s.reject(review(kAcc, "R", RequestedBy::customer));
}

}  // namespace
}  // namespace paydist
