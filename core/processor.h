// core/processor.h: applies one message to one timeline (a replay state, or one Kafka
// partition): the redelivery check, the engine, the business date and its deadlines.
// It reaches state only through StateAccess, so it does no I/O of its own: the LMDB store
// implements StateAccess for real runs, MemoryState (core/memory_state.h) for tests.
//   Processor p{rules, state};
//   Result<Applied> r = p.apply(message);   // Error = reject, nothing changed
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/account.h"
#include "core/messages.h"
#include "core/outputs.h"
#include "core/result.h"
#include "core/rules.h"

namespace paydist {

// The per-timeline values that are not an account.
struct TimelineState {
  std::optional<Date> business_date;  // null before the first business_date message
  std::uint64_t accounts_seen = 0;    // next Account::seq
  bool operator==(const TimelineState&) const = default;
};

// One entry of the deadline index: the account's earliest deadline that has not fired.
struct DeadlineEntry {
  Date date;
  std::uint64_t account_seq = 0;
  AccountId account_id;
};

// Scope of an event id (contract 6): per account, or the shared business_date scope.
struct EventScope {
  const AccountId* account = nullptr;  // nullptr: the business_date scope
};

class StateAccess {
 public:
  virtual ~StateAccess() = default;
  virtual bool event_accepted(EventScope scope, const EventId& id) = 0;
  virtual void mark_event_accepted(EventScope scope, const EventId& id) = 0;
  // The stored account, or nullopt if this timeline never saw it.
  virtual std::optional<Account> load_account(const AccountId& id) = 0;
  // Stores the account and moves its deadline index entry from `previous_deadline`
  // (as loaded) to account.indexed_deadline.
  virtual void store_account(const Account& account, std::optional<Date> previous_deadline) = 0;
  // The same for an account that only a business-date advance changed (its deadlines fired):
  // a store may keep such a change apart from the account's own record, as long as every
  // load sees it (the LMDB store does: state format 8's fired database).
  virtual void store_fired(const Account& account, std::optional<Date> previous_deadline) {
    store_account(account, previous_deadline);
  }
  // The first index entry (by date, then account_seq) with date <= up_to.
  virtual std::optional<DeadlineEntry> first_deadline_up_to(Date up_to) = 0;
  virtual TimelineState timeline() = 0;
  virtual void store_timeline(const TimelineState& timeline) = 0;
  // The audit history behind `paydist explain` (core/history.h). keeps_history() says
  // whether the store keeps any: with a retention of 0 the processor does not even describe
  // the entry. append_history() gets the account as it is about to be stored: its
  // history_entries already counts this entry, whose number is history_entries - 1. The
  // store keeps the newest entries up to its retention.
  virtual bool keeps_history() const = 0;
  virtual void append_history(const Account& account, std::string entry) = 0;
};

// Whether the processor writes the audit history behind `paydist explain` (when the store
// keeps one: StateAccess::keeps_history()).
enum class History : std::uint8_t { off, record };

struct Applied {
  enum class Kind : std::uint8_t { accepted, duplicate } kind = Kind::accepted;
  Outputs outputs;
};

class Processor {
 public:
  Processor(const Rules& rules, StateAccess& state, History history = History::record)
      : rules_(rules), state_(state), history_(history) {}

  // The redelivery check alone (contract 6: it comes before every other check but the
  // envelope's), for a message whose body may be invalid.
  bool is_redelivery(EventScope scope, const EventId& id) { return state_.event_accepted(scope, id); }

  // Applies a fully validated message. A duplicate event_id is a silent no-op.
  // On Error nothing was stored.
  Result<Applied> apply(const Message& message);

 private:
  Result<Applied> apply_business_date(const BusinessDate& message);
  Result<Applied> apply_account_message(const Message& message, const AccountId& account_id);
  bool records_history() const { return history_ == History::record && state_.keeps_history(); }

  const Rules& rules_;
  StateAccess& state_;
  History history_;
};

}  // namespace paydist
