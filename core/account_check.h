// core/account_check.h: what must hold of a stored account whatever messages made it
// (contract 3 and 6), as a pure check that lists what does not: `paydist verify` runs it over
// every account of a state. Never asserts: a broken account is what it is looking for.
//   std::vector<std::string> problems = account_problems(account, {rules, business_date});
//   for (const std::string& p : problems) report(account.id, p);   // one line each
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/account.h"
#include "core/date.h"
#include "core/rules.h"

namespace paydist {

// What the account is checked against besides itself.
struct AccountCheckContext {
  const Rules& rules;                  // the rules the state was written with (deadlines)
  std::optional<Date> business_date;   // its timeline's business date, null before the first
};

// One line per broken rule, in the account's own terms ("obligation O1: tax balance -1.00
// is negative"); empty when the account is sound. Checks, among others: balances never
// negative; each payment's lines plus credit equal to its amount; a returned payment's money
// no longer in any instalment; instalments paid within their amount; ids unique and
// references resolved; statuses consistent; the indexed deadline the one next_deadline()
// gives, and later than the business date (every deadline up to it has fired).
std::vector<std::string> account_problems(const Account& account, const AccountCheckContext& context);

}  // namespace paydist
