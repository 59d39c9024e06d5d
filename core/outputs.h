// core/outputs.h: what the engine emits (contract 4): workload activities for the WLM and
// distributions for the ledger. Encoded to JSON by connectors/codec.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/account.h"
#include "core/date.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/money.h"

namespace paydist {

enum class ActivityType : std::uint8_t {
  broken_arrangement,
  no_arrangement,
  arrangement_completed,
  review_due,
  unmatched_payment,
};
const char* to_string(ActivityType t);

enum class NoArrangementTrigger : std::uint8_t { arrangement_cancelled, debt_due, debt_increased };
const char* to_string(NoArrangementTrigger t);

struct Activity {
  std::string activity_id;  // same cause -> same id
  ActivityType type = ActivityType::arrangement_completed;
  AccountId account_id;
  std::optional<Date> business_date;  // null before the first business_date
  // Which of these are written depends on `type` (contract 4).
  std::optional<ArrangementId> arrangement_id;
  std::optional<ObligationId> obligation_id;
  std::optional<PaymentId> payment_id;
  ArrangementKind kind = ArrangementKind::cash;        // BROKEN_ARRANGEMENT
  Date missed_due_date;                                // BROKEN_ARRANGEMENT
  Money amount;                                        // amount_missed / UNMATCHED amount
  std::optional<std::string> reason_code;              // BROKEN_ARRANGEMENT after a return
  NoArrangementTrigger trigger = NoArrangementTrigger::debt_due;  // NO_ARRANGEMENT
  Money debt_balance;                                  // NO_ARRANGEMENT
  RequestedBy requested_by = RequestedBy::customer;    // REVIEW_DUE
  bool operator==(const Activity&) const = default;
};

enum class DistributionKind : std::uint8_t { applied, reversed, write_off };
const char* to_string(DistributionKind k);

struct Distribution {
  EventId event_id;
  AccountId account_id;
  std::optional<PaymentId> payment_id;  // null for a write-off triggered by activation
  DistributionKind kind = DistributionKind::applied;
  std::optional<Date> business_date;
  std::vector<DistributionLine> lines;
  Money credit;
  std::optional<ArrangementId> arrangement_id;  // write_off
  std::optional<std::string> reason_code;       // reversed
  bool operator==(const Distribution&) const = default;
};

struct Outputs {
  std::vector<Activity> activities;
  std::vector<Distribution> distributions;
  bool empty() const { return activities.empty() && distributions.empty(); }
};

}  // namespace paydist
