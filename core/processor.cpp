// core/processor.cpp: the per-timeline driver: redelivery, account messages with their
// post-message deadline check, and business-date advances over the deadline index.
#include "core/processor.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <unordered_map>

#include "core/engine.h"
#include "core/history.h"
#include "core/invariant.h"

namespace paydist {

Result<Applied> Processor::apply(const Message& message) {
  if (const auto* date = std::get_if<BusinessDate>(&message)) return apply_business_date(*date);
  return apply_account_message(message, *account_id_of(message));
}

Result<Applied> Processor::apply_account_message(const Message& message, const AccountId& account_id) {
  const EventScope scope{&account_id};
  const EventId& event_id = event_id_of(message);
  if (state_.event_accepted(scope, event_id)) return Applied{Applied::Kind::duplicate, {}};

  TimelineState timeline = state_.timeline();
  std::optional<Account> loaded = state_.load_account(account_id);
  const bool first_seen = !loaded.has_value();
  Account account = first_seen ? Account{.id = account_id, .seq = timeline.accounts_seen} : std::move(*loaded);
  const std::optional<Date> previous_deadline = account.indexed_deadline;
  std::optional<AccountSnapshot> before;
  if (records_history()) before = AccountSnapshot::of(account);

  Applied applied;
  std::uint32_t activity_count = 0;
  Context ctx{rules_, event_id, timeline.business_date, applied.outputs, activity_count};
  if (Status s = apply_message(account, message, ctx); !s) return Error{s.error()};

  // contract 6: after every accepted message the account is checked again at the current
  // business date; what is due fires with that date.
  if (timeline.business_date) {
    for (auto next = next_deadline(account, rules_); next && *next <= *timeline.business_date;
         next = next_deadline(account, rules_)) {
      fire_deadlines(account, *next, ctx);
    }
  }
  account.indexed_deadline = next_deadline(account, rules_);
  if (before) {
    ++account.history_entries;
    state_.append_history(account, describe(*before, account, &message, std::nullopt, applied.outputs,
                                            timeline.business_date, rules_));
  }
  state_.store_account(account, previous_deadline);
  state_.mark_event_accepted(scope, event_id);
  if (first_seen) {
    ++timeline.accounts_seen;
    state_.store_timeline(timeline);
  }
  return applied;
}

Result<Applied> Processor::apply_business_date(const BusinessDate& message) {
  const EventScope scope{nullptr};
  if (state_.event_accepted(scope, message.event_id)) return Applied{Applied::Kind::duplicate, {}};
  TimelineState timeline = state_.timeline();
  const std::optional<Date> old = timeline.business_date;
  if (old && message.date < *old)
    return Error{fmt::format("business date {} is before the current business date {}", message.date, *old)};

  Applied applied;
  if (!old || message.date > *old) {
    // contract 6: deadlines fire in date order on their own date, or on OLD + 1 day when
    // that is later (on the first business date, always on their own date).
    std::unordered_map<std::string, std::uint32_t> activity_counts;
    while (std::optional<DeadlineEntry> entry = state_.first_deadline_up_to(message.date)) {
      std::optional<Account> loaded = state_.load_account(entry->account_id);
      PAYDIST_INVARIANT(loaded.has_value());
      Account& account = *loaded;
      PAYDIST_INVARIANT(account.indexed_deadline == entry->date);
      const Date fires_on = entry->date;
      const Date written_as = old ? std::max(fires_on, old->plus_days(1)) : fires_on;
      std::optional<AccountSnapshot> before;
      if (records_history()) before = AccountSnapshot::of(account);
      Outputs fired;
      Context ctx{rules_, message.event_id, written_as, fired, activity_counts[account.id.str()],
                  Context::Scope::business_date};
      fire_deadlines(account, fires_on, ctx);
      account.indexed_deadline = next_deadline(account, rules_);
      PAYDIST_INVARIANT(!account.indexed_deadline || *account.indexed_deadline > fires_on);
      if (before) {
        std::string told = describe(*before, account, nullptr, fires_on, fired, written_as, rules_);
        if (!told.empty()) {
          ++account.history_entries;
          state_.append_history(account, std::move(told));
        }
      }
      std::move(fired.activities.begin(), fired.activities.end(), std::back_inserter(applied.outputs.activities));
      state_.store_fired(account, entry->date);
    }
    timeline.business_date = message.date;
    state_.store_timeline(timeline);
  }
  state_.mark_event_accepted(scope, message.event_id);
  return applied;
}

}  // namespace paydist
