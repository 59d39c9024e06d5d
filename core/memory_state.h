// core/memory_state.h: an in-memory StateAccess for engine tests and property tests.
// Same contract as the LMDB store's Batch, with no durability.
//   MemoryState state;
//   Processor processor{rules, state};
#pragma once

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/invariant.h"
#include "core/processor.h"

namespace paydist {

class MemoryState final : public StateAccess {
 public:
  bool event_accepted(EventScope scope, const EventId& id) override;
  void mark_event_accepted(EventScope scope, const EventId& id) override;
  std::optional<Account> load_account(const AccountId& id) override;
  void store_account(const Account& account, std::optional<Date> previous_deadline) override;
  std::optional<DeadlineEntry> first_deadline_up_to(Date up_to) override;
  TimelineState timeline() override { return timeline_; }
  void store_timeline(const TimelineState& timeline) override { timeline_ = timeline; }
  // Keeps every entry (no retention): tests read them back in order.
  bool keeps_history() const override { return true; }
  void append_history(const Account& account, std::string entry) override {
    std::vector<std::string>& entries = history_[account.id.str()];
    PAYDIST_INVARIANT(account.history_entries == entries.size() + 1);
    entries.push_back(std::move(entry));
  }
  const std::vector<std::string>& history(const std::string& account_id) { return history_[account_id]; }

  const std::map<std::string, Account>& accounts() const { return accounts_; }
  std::size_t deadline_entries() const { return deadlines_.size(); }

 private:
  static std::string scope_key(EventScope scope, const EventId& id);
  std::set<std::string> events_;
  std::map<std::string, Account> accounts_;
  std::map<std::tuple<Date, std::uint64_t>, AccountId> deadlines_;
  TimelineState timeline_;
  std::map<std::string, std::vector<std::string>> history_;
};

}  // namespace paydist
