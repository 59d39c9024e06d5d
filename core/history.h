// core/history.h: the audit trail behind `paydist explain`: for each accepted message (and
// each business date that changed an account) a few human-readable lines saying what it
// did and which rule fired, so debt recovery staff and auditors can answer "why was this
// arrangement broken?" without reading code. Pure: entries from before/after and outputs.
//   AccountSnapshot before = AccountSnapshot::of(account);
//   ... apply ...
//   std::string entry = describe(before, account, &message, outputs, business_date, rules);
//   Result<std::string> text = render_entry(entry);    // when someone reads it
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/account.h"
#include "core/messages.h"
#include "core/outputs.h"
#include "core/result.h"
#include "core/rules.h"

namespace paydist {

// The little of an account's earlier state that a description needs (cheaper than a copy).
// Flat: one array per kind, so a snapshot costs at most three allocations, none for an
// account without arrangements (it is taken before every message when history is on).
struct AccountSnapshot {
  struct InstalmentView {
    Money paid;
    bool skipped = false;
  };
  struct ArrangementView {
    ArrangementStatus status;
    std::uint32_t covered_begin, covered_end;          // into `covered`
    std::uint32_t instalments_begin, instalments_end;  // into `instalments`
  };
  std::vector<ArrangementView> arrangements;  // creation order, as in Account
  std::vector<ObligationId> covered;          // each arrangement's, in its priority order
  std::vector<InstalmentView> instalments;    // each arrangement's, in schedule order
  std::size_t obligations = 0;

  static AccountSnapshot of(const Account& account);
};

// One history entry, in its compact form: the entry's fixed phrases as one-byte codes and
// its amounts, dates, numbers and ids in binary (a third to a half of the text's bytes, and
// far cheaper to make than text). render_entry() gives the text. `message` is null when a
// business date passing caused the change (then `deadline` is the deadline date that
// fired). Returns "" when nothing worth telling happened (a due-date check that found
// nothing, say).
std::string describe(const AccountSnapshot& before, const Account& after, const Message* message,
                     std::optional<Date> deadline, const Outputs& outputs, std::optional<Date> business_date,
                     const Rules& rules);

// The text of an entry describe() made (lines joined by '\n', no final newline), or an Error
// when the bytes are not such an entry.
Result<std::string> render_entry(std::string_view compact);

}  // namespace paydist
