// core/account.h: everything paydist knows about one account: obligations and their
// balances, arrangements with their instalments, payments with their distribution lines.
// Plain data; the engine changes it, connectors/record encodes it. Never holds I/O state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/money.h"

namespace paydist {

struct Obligation {
  ObligationId id;
  Date due_date;
  Amounts balance;
  bool plan_eligible = true;
  bool due_checked = false;  // contract 6: debt_due is checked once per obligation
  Money total() const;       // tax + penalty + interest (fits: each <= the checked sum)
  bool operator==(const Obligation&) const = default;
};

// Money one payment put into an instalment (or the arrangement's excess).
struct PaymentPart {
  std::uint32_t payment_index = 0;  // into Account::payments
  Money amount;
  bool operator==(const PaymentPart&) const = default;
};

struct Instalment {
  Date due_date;
  Money amount;
  bool skipped = false;
  std::vector<PaymentPart> parts;    // in the order paid
  std::optional<Date> return_date;   // latest return that took money out of it
  std::string return_reason_code;    // that return's reason_code
  Money paid() const;
  bool operator==(const Instalment&) const = default;
};

enum class ArrangementStatus : std::uint8_t { pending_start, current, broken, completed, cancelled };
const char* to_string(ArrangementStatus s);
// contract 6: "covered" = listed by a pending_start, current or broken arrangement.
constexpr bool is_open(ArrangementStatus s) {
  return s == ArrangementStatus::pending_start || s == ArrangementStatus::current || s == ArrangementStatus::broken;
}

struct Arrangement {
  ArrangementId id;
  ArrangementKind kind = ArrangementKind::cash;
  ArrangementStatus status = ArrangementStatus::pending_start;
  std::vector<ObligationId> covered;  // priority order
  Money settlement;                   // discount only
  std::vector<Instalment> instalments;
  std::vector<PaymentPart> excess;    // applied money beyond the last instalment
  bool activated = false;
  std::optional<Date> closing_date;   // business date when completed or cancelled
  Money applied() const;              // all parts, instalments and excess
  bool operator==(const Arrangement&) const = default;
};

struct DistributionLine {
  ObligationId obligation_id;
  Component component = Component::tax;
  Money amount;
  bool operator==(const DistributionLine&) const = default;
};

struct PaymentRecord {
  PaymentId id;
  Money amount;
  std::vector<DistributionLine> lines;
  Money credit;
  bool returned = false;
  bool operator==(const PaymentRecord&) const = default;
};

// An agency review waiting for its notice period (contract 3, Reviews).
struct PendingReview {
  ArrangementId arrangement_id;
  Date due;
  bool operator==(const PendingReview&) const = default;
};

struct Account {
  AccountId id;
  std::uint64_t seq = 0;          // first-seen order on its timeline: deadline tie-break
  bool ever_assessed = false;     // contract 6: "no obligations" = none ever assessed
  std::vector<Obligation> obligations;      // assessment order
  std::vector<Arrangement> arrangements;    // creation order
  std::vector<PaymentRecord> payments;      // acceptance order
  std::vector<PendingReview> reviews;       // request order
  std::optional<Date> indexed_deadline;     // where the deadline index holds this account
  std::uint64_t history_entries = 0;        // audit entries ever appended: the next one's number
  // The timeline (replay's 0, or the daemon's input partition) the account lives on, whose
  // business date its instalments are judged by; kept by the state store.
  std::uint32_t timeline = 0;

  Money credit() const;  // credit of every payment not returned
  Money debt() const;    // sum of all obligation balances (credit not netted)
  Obligation* find_obligation(const ObligationId& id);
  const Obligation* find_obligation(const ObligationId& id) const;
  Arrangement* find_arrangement(const ArrangementId& id);
  const Arrangement* find_arrangement(const ArrangementId& id) const;
  const PaymentRecord* find_payment(const PaymentId& id) const;
  // The open arrangement covering an obligation, if any (at most one by contract 2).
  Arrangement* covering(const ObligationId& id);
  const Arrangement* covering(const ObligationId& id) const;

  bool operator==(const Account&) const = default;
};

}  // namespace paydist
