// core/memory_state.cpp: the in-memory StateAccess used by tests.
#include "core/memory_state.h"

#include "core/invariant.h"

namespace paydist {

std::string MemoryState::scope_key(EventScope scope, const EventId& id) {
  std::string key = scope.account ? scope.account->str() : std::string{"\x01"};
  key.push_back('\0');
  key += id.str();
  return key;
}

bool MemoryState::event_accepted(EventScope scope, const EventId& id) {
  return events_.count(scope_key(scope, id)) != 0;
}

void MemoryState::mark_event_accepted(EventScope scope, const EventId& id) { events_.insert(scope_key(scope, id)); }

std::optional<Account> MemoryState::load_account(const AccountId& id) {
  auto it = accounts_.find(id.str());
  if (it == accounts_.end()) return std::nullopt;
  return it->second;
}

void MemoryState::store_account(const Account& account, std::optional<Date> previous_deadline) {
  if (previous_deadline) {
    auto erased = deadlines_.erase({*previous_deadline, account.seq});
    PAYDIST_INVARIANT(erased == 1);
  }
  if (account.indexed_deadline) deadlines_[{*account.indexed_deadline, account.seq}] = account.id;
  accounts_[account.id.str()] = account;
}

std::optional<DeadlineEntry> MemoryState::first_deadline_up_to(Date up_to) {
  if (deadlines_.empty()) return std::nullopt;
  const auto& [key, account_id] = *deadlines_.begin();
  if (std::get<0>(key) > up_to) return std::nullopt;
  return DeadlineEntry{std::get<0>(key), std::get<1>(key), account_id};
}

}  // namespace paydist
