// core/engine.h: the business rules for one account (contract 3 and 6). Pure: takes the
// account and a validated message, changes the account and appends outputs; no I/O, no
// clock. On an Error the caller discards the account copy and the outputs (nothing applied).
//   Context ctx{rules, event_id, business_date, outputs, activity_count};
//   Status s = apply_message(account, message, ctx);
#pragma once

#include <cstdint>
#include <optional>

#include "core/account.h"
#include "core/messages.h"
#include "core/outputs.h"
#include "core/result.h"
#include "core/rules.h"

namespace paydist {

// Where the effects of one cause (a message, or a business date passing) go.
struct Context {
  const Rules& rules;
  const EventId& event_id;             // the message behind these effects
  std::optional<Date> business_date;   // written on every output
  Outputs& outputs;
  std::uint32_t& activity_count;       // activities so far for this (cause, account)
  // Event ids are scoped (contract 6): an account message and a business_date may share
  // one, so the business-date scope gets its own id form.
  enum class Scope : std::uint8_t { account_message, business_date } scope = Scope::account_message;

  // A new activity with its stable id: "<account_id>/<event_id>/<n>" for an account
  // message, "<account_id>/<event_id>/d<n>" for a business date passing. '/' is not an id
  // character, so distinct causes can never share an id.
  Activity& activity(const Account& account, ActivityType type);
};

// Applies one account message (not a BusinessDate: that is the timeline's, see
// core/processor.h). Rejects (Error) what the account's state forbids.
Status apply_message(Account& account, const Message& message, Context& ctx);

// contract 6 "Statuses": a current or broken arrangement whose covered balances are all
// zero is completed.
void complete_settled_arrangements(Account& account, Context& ctx);

// The account's earliest deadline not yet fired: a break of a current arrangement, an
// obligation's due-date check, or an agency review. nullopt when none is pending.
std::optional<Date> next_deadline(const Account& account, const Rules& rules);

// Fires every deadline of the account on or before `date`, evaluated as of `date`, in the
// contract's order: breaks, due-date checks, reviews. ctx.business_date is the date the
// outputs carry (contract 6: its own date, or OLD + 1 day when that is later).
void fire_deadlines(Account& account, Date date, Context& ctx);

// True when every sum the account's money can form fits in the Money range.
bool sums_fit(const Account& account);

}  // namespace paydist
