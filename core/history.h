// core/history.h: the audit trail behind `paydist explain`: for each accepted message (and
// each business date that changed an account) a few human-readable lines saying what it
// did and which rule fired, so debt recovery staff and auditors can answer "why was this
// arrangement broken?" without reading code. Pure: text from before/after and outputs.
//   AccountSnapshot before = AccountSnapshot::of(account);
//   ... apply ...
//   std::string entry = describe(before, account, &message, outputs, business_date, rules);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/account.h"
#include "core/messages.h"
#include "core/outputs.h"
#include "core/rules.h"

namespace paydist {

// The little of an account's earlier state that a description needs (cheaper than a copy).
struct AccountSnapshot {
  struct ArrangementView {
    ArrangementStatus status;
    std::vector<ObligationId> covered;
    std::vector<Money> paid;   // per instalment
    std::vector<bool> skipped; // per instalment
  };
  std::vector<ArrangementView> arrangements;  // creation order, as in Account
  std::size_t obligations = 0;

  static AccountSnapshot of(const Account& account);
};

// One history entry. `message` is null when a business date passing caused the change
// (then `deadline` is the deadline date that fired). Returns "" when nothing worth telling
// happened (a due-date check that found nothing, say).
std::string describe(const AccountSnapshot& before, const Account& after, const Message* message,
                     std::optional<Date> deadline, const Outputs& outputs, std::optional<Date> business_date,
                     const Rules& rules);

}  // namespace paydist
