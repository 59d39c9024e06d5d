// core/schedule.h: turns an explicit schedule or a recommendation rule into instalments
// (contract 2 "recommend", contract 6 limits). Pure; rejects what the rules forbid.
//   Result<std::vector<Instalment>> s = recommend_schedule(rule, covered_total, rules);
#pragma once

#include <vector>

#include "core/account.h"
#include "core/messages.h"
#include "core/result.h"
#include "core/rules.h"

namespace paydist {

Result<std::vector<Instalment>> explicit_schedule(const std::vector<ScheduleEntry>& entries, const Rules& rules);

// `total` is the covered balance at creation, or the settlement amount for a discount.
Result<std::vector<Instalment>> recommend_schedule(const Recommend& rule, Money total, const Rules& rules);

}  // namespace paydist
