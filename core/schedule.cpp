// core/schedule.cpp: schedules from explicit entries or from recommendation rules.
#include "core/schedule.h"

namespace paydist {
namespace {

Date nth_due_date(const Recommend& rule, std::int64_t n) {
  switch (rule.frequency) {
    case Frequency::weekly: return rule.first_due_date.plus_days(static_cast<std::int32_t>(7 * n));
    case Frequency::fortnightly: return rule.first_due_date.plus_days(static_cast<std::int32_t>(14 * n));
    case Frequency::monthly: return rule.first_due_date.plus_months_clamped(static_cast<std::int32_t>(n));
  }
  return rule.first_due_date;
}

}  // namespace

Result<std::vector<Instalment>> explicit_schedule(const std::vector<ScheduleEntry>& entries, const Rules& rules) {
  if (entries.empty() || entries.size() > rules.max_instalments)
    return Error{fmt::format("schedule must have 1 to {} instalments", rules.max_instalments)};
  std::vector<Instalment> out;
  out.reserve(entries.size());
  for (const ScheduleEntry& e : entries) {
    if (!e.amount.is_positive()) return Error{"schedule: every instalment amount must be > 0"};
    if (!out.empty() && e.due_date <= out.back().due_date)
      return Error{"schedule: due dates must be strictly increasing"};
    out.push_back(Instalment{.due_date = e.due_date, .amount = e.amount});
  }
  return out;
}

Result<std::vector<Instalment>> recommend_schedule(const Recommend& rule, Money total, const Rules& rules) {
  const auto max_count = static_cast<std::int64_t>(rules.max_instalments);
  if (!total.is_positive()) return Error{"recommend: the balance to schedule is zero"};
  std::int64_t count = 0;
  Money each;
  if (rule.rule == Recommend::Rule::equal_instalments) {
    if (rule.count < 1) return Error{"recommend: count must be >= 1"};
    if (rule.count > max_count)
      return Error{fmt::format("recommend: count {} is over max_instalments {}", rule.count, max_count)};
    if (total.cents() < rule.count)
      return Error{fmt::format("recommend: {} cannot be split into {} instalments of at least 0.01",
                               total.to_string(), rule.count)};
    count = rule.count;
    each = Money::from_cents(total.cents() / count);  // rounded down; the last takes the rest
  } else {
    if (!rule.amount.is_positive()) return Error{"recommend: amount must be > 0"};
    count = total.cents() / rule.amount.cents() + (total.cents() % rule.amount.cents() != 0 ? 1 : 0);
    if (count > max_count)
      return Error{fmt::format("recommend: {} instalments of {} exceed max_instalments {}", count,
                               rule.amount.to_string(), max_count)};
    each = rule.amount;
  }
  std::vector<Instalment> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int64_t n = 0; n < count; ++n) {
    const Date due = nth_due_date(rule, n);
    if (!due.in_contract_range()) return Error{"recommend: an instalment would fall after 9999-12-31"};
    const Money amount = n + 1 < count ? each : Money::from_cents(total.cents() - each.cents() * (count - 1));
    out.push_back(Instalment{.due_date = due, .amount = amount});
  }
  return out;
}

}  // namespace paydist
