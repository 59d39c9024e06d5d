// tests/core/account_check_test.cpp: core/account_check.h, the invariants `paydist verify`
// checks of each stored account. An account the engine made is sound; each kind of damage to
// it is named in one problem line, and damage that makes sums unsafe is reported, not asserted.
#include "core/account_check.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += p + "\n";
  return out;
}

// An account with a bit of everything: a direct-debit plan partly paid, a payment returned
// (both instalments then break on 2026-03-08), a second obligation outside the plan paid by
// a designated payment, an agency review pending.
class AccountCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    s.ok(bd("2026-03-01"));
    s.ok(assess("ACC", "O1", "2026-03-31", {.tax = "900.00", .penalty = "100.00"}));
    s.ok(assess("ACC", "O2", "2026-04-30", {.interest = "50.00"}));
    s.ok(direct_debit("ACC", "R1", {"O1"}, {{"2026-03-10", "500.00"}, {"2026-04-10", "500.00"}}));
    s.ok(activate("ACC", "R1"));
    s.ok(pay("ACC", "P1", "300.00"));
    s.ok(pay("ACC", "P2", "250.00"));
    s.ok(returned("ACC", "P2", "2026-03-05", "MD06"));
    s.ok(pay("ACC", "P3", "20.00", {.obligation = "O2"}));
    s.ok(review("ACC", "R1", RequestedBy::agency));
    account = s.account("ACC");
  }

  std::vector<std::string> problems(const Account& a) const {
    return account_problems(a, AccountCheckContext{rules, s.business_date()});
  }
  // Exactly one problem, containing `wanted`.
  void expect_one(const Account& a, const std::string& wanted) const {
    const std::vector<std::string> found = problems(a);
    ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(found);
    EXPECT_NE(found[0].find(wanted), std::string::npos) << found[0];
  }
  Arrangement& r1(Account& a) { return *a.find_arrangement(id<ArrangementId>("R1")); }
  PaymentRecord& payment(Account& a, std::size_t index) { return a.payments.at(index); }

  Rules rules;
  Stream s{rules};
  Account account;
};

TEST_F(AccountCheck, AnAccountTheEngineMadeIsSound) {
  EXPECT_EQ(problems(account), std::vector<std::string>{});
  EXPECT_EQ(account.indexed_deadline, date("2026-03-08"));
}

TEST_F(AccountCheck, NamesANegativeBalance) {
  account.obligations[0].balance.penalty = money("-0.01");
  // The arrangement's completion check and the deadline still work on it.
  expect_one(account, "obligation \"O1\": penalty balance -0.01 is negative");
}

TEST_F(AccountCheck, NamesAPaymentWhoseLinesAndCreditDoNotMakeItsAmount) {
  payment(account, 0).credit = money("0.01");
  const std::vector<std::string> found = problems(account);
  ASSERT_FALSE(found.empty());
  EXPECT_NE(found[0].find("payment \"P1\": lines plus credit are 300.01, the amount is 300.00"), std::string::npos)
      << found[0];
}

TEST_F(AccountCheck, NamesAReturnedPaymentWhoseMoneyIsStillInAnInstalment) {
  r1(account).instalments[1].parts.push_back(PaymentPart{1, money("10.00")});  // P2, returned
  const std::vector<std::string> found = problems(account);
  EXPECT_NE(joined(found).find("payment \"P2\" was returned but 10.00 of it is still in arrangements"), std::string::npos)
      << joined(found);
}

TEST_F(AccountCheck, NamesAnInstalmentPaidBeyondItsAmount) {
  r1(account).instalments[0].parts.push_back(PaymentPart{2, money("300.00")});
  const std::string found = joined(problems(account));
  EXPECT_NE(found.find("instalment due 2026-03-10 is paid 600.00, more than its amount 500.00"), std::string::npos) << found;
}

TEST_F(AccountCheck, NamesAPaymentThatPutMoreIntoInstalmentsThanItsLinesApplied) {
  r1(account).excess.push_back(PaymentPart{0, money("1.00")});
  expect_one(account, "payment \"P1\" put 301.00 into arrangements, more than the 300.00 its lines applied");
}

TEST_F(AccountCheck, NamesAnIndexedDeadlineOtherThanTheNextOne) {
  account.indexed_deadline = date("2026-05-01");
  expect_one(account, "indexed deadline is 2026-05-01 but the account's next deadline is 2026-03-08");
}

TEST_F(AccountCheck, NamesADeadlineLeftUnfired) {
  const std::vector<std::string> found =
      account_problems(account, AccountCheckContext{rules, date("2026-03-30")});
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(found);
  EXPECT_EQ(found[0], "deadline 2026-03-08 is not after the business date 2026-03-30: it should have fired");
}

TEST_F(AccountCheck, DeadlinesDependOnTheRules) {
  Rules longer = rules;
  longer.dd_return_grace_days = 5;
  const std::vector<std::string> found = account_problems(account, AccountCheckContext{longer, s.business_date()});
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(found);
  EXPECT_EQ(found[0], "indexed deadline is 2026-03-08 but the account's next deadline is 2026-03-10");
}

TEST_F(AccountCheck, NamesAnObligationCoveredTwice) {
  Arrangement second = r1(account);
  second.id = id<ArrangementId>("R2");
  second.instalments = {Instalment{.due_date = date("2026-06-01"), .amount = money("1.00")}};
  second.excess.clear();
  second.status = ArrangementStatus::pending_start;
  second.activated = false;
  account.arrangements.push_back(second);
  expect_one(account, "obligation \"O1\" is covered by both \"R1\" and \"R2\"");
}

TEST_F(AccountCheck, NamesAStatusThatContradictsItsHistory) {
  r1(account).activated = false;
  expect_one(account, "arrangement \"R1\" is current but was never activated");
}

TEST_F(AccountCheck, NamesALiveArrangementWhoseCoveredDebtIsPaid) {
  account.obligations[0].balance = Amounts{};
  const std::string found = joined(problems(account));
  EXPECT_NE(found.find("arrangement \"R1\" is current with every covered balance at zero"), std::string::npos) << found;
}

TEST_F(AccountCheck, NamesReferencesToWhatTheAccountDoesNotHave) {
  payment(account, 0).lines[0].obligation_id = id<ObligationId>("O9");
  account.reviews[0].arrangement_id = id<ArrangementId>("R9");
  const std::string found = joined(problems(account));
  EXPECT_NE(found.find("payment \"P1\": line on obligation \"O9\", which the account does not have"), std::string::npos)
      << found;
  EXPECT_NE(found.find("pending review of arrangement \"R9\", which the account does not have"), std::string::npos)
      << found;
}

TEST_F(AccountCheck, NamesRepeatedIds) {
  account.payments.push_back(account.payments[0]);
  account.payments.back().returned = true;
  const std::string found = joined(problems(account));
  EXPECT_NE(found.find("payment id \"P1\" appears twice"), std::string::npos) << found;
}

TEST_F(AccountCheck, ReportsMoneyOutOfRangeInsteadOfAsserting) {
  account.obligations[0].balance.tax = Money::from_cents(std::numeric_limits<std::int64_t>::max());
  r1(account).instalments[1].parts = {PaymentPart{0, Money::from_cents(std::numeric_limits<std::int64_t>::max())},
                                      PaymentPart{0, Money::from_cents(std::numeric_limits<std::int64_t>::max())}};
  const std::string found = joined(problems(account));
  EXPECT_NE(found.find("obligation balances overflow the money range"), std::string::npos) << found;
  EXPECT_NE(found.find("instalment due 2026-04-10: its parts overflow"), std::string::npos) << found;
}

TEST_F(AccountCheck, ReportsDatesOutOfRangeInsteadOfComputingDeadlinesFromThem) {
  r1(account).instalments[1].due_date = Date::from_serial(std::numeric_limits<std::int32_t>::max());
  const std::string found = joined(problems(account));
  EXPECT_NE(found.find("instalment due date serial 2147483647 is out of range"), std::string::npos) << found;
  EXPECT_EQ(found.find("next deadline"), std::string::npos) << found;
}

}  // namespace
}  // namespace paydist
