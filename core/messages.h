// core/messages.h: the eleven input messages of contract 2 as plain, already-validated
// structs. Parsing and syntax checks live in connectors/codec; rules that need the account
// (does this obligation exist?) live in the engine.
//   Message m = Payment{...};
//   std::visit([](const auto& msg) { ... }, m);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/date.h"
#include "core/ids.h"
#include "core/money.h"

namespace paydist {

enum class Component : std::uint8_t { tax = 0, penalty = 1, interest = 2 };
inline constexpr Component kComponents[3] = {Component::tax, Component::penalty, Component::interest};
const char* to_string(Component c);

enum class ArrangementKind : std::uint8_t { cash = 0, direct_debit = 1, discount = 2 };
const char* to_string(ArrangementKind k);

enum class Frequency : std::uint8_t { weekly = 0, fortnightly = 1, monthly = 2 };
enum class PaymentMethod : std::uint8_t { cash, card, bpay, eft, direct_debit, cheque, other };
enum class RequestedBy : std::uint8_t { agency = 0, customer = 1 };
const char* to_string(RequestedBy r);

// Tax, penalty and interest amounts: absolute (assessed) or signed deltas (adjusted).
struct Amounts {
  Money tax, penalty, interest;
  Money& operator[](Component c) { return c == Component::tax ? tax : c == Component::penalty ? penalty : interest; }
  Money operator[](Component c) const { return c == Component::tax ? tax : c == Component::penalty ? penalty : interest; }
  bool operator==(const Amounts&) const = default;
};

struct ScheduleEntry {
  Date due_date;
  Money amount;
  bool operator==(const ScheduleEntry&) const = default;
};

struct Recommend {
  enum class Rule : std::uint8_t { equal_instalments, fixed_amount };
  Rule rule = Rule::equal_instalments;
  std::int64_t count = 0;  // equal_instalments
  Money amount;            // fixed_amount
  Frequency frequency = Frequency::monthly;
  Date first_due_date;
};

struct ObligationAssessed {
  EventId event_id;
  AccountId account_id;
  ObligationId obligation_id;
  Date due_date;
  Amounts amounts;
  bool plan_eligible = true;
};

struct ObligationAdjusted {
  EventId event_id;
  AccountId account_id;
  ObligationId obligation_id;
  Amounts deltas;
};

struct ArrangementCreated {
  EventId event_id;
  AccountId account_id;
  ArrangementId arrangement_id;
  ArrangementKind kind = ArrangementKind::cash;
  std::vector<ObligationId> covered_obligations;
  std::optional<std::vector<ScheduleEntry>> schedule;  // exactly one of schedule / recommend
  std::optional<Recommend> recommend;
  std::optional<Money> settlement_amount;  // discount only
};

struct ArrangementActivated {
  EventId event_id;
  AccountId account_id;
  ArrangementId arrangement_id;
};

struct ArrangementUpdated {
  EventId event_id;
  AccountId account_id;
  ArrangementId arrangement_id;
  std::optional<std::vector<ObligationId>> covered_obligations;  // at least one of the two
  std::optional<std::vector<ScheduleEntry>> schedule;
};

struct InstalmentSkipped {
  EventId event_id;
  AccountId account_id;
  ArrangementId arrangement_id;
  Date due_date;
};

struct ArrangementReview {
  EventId event_id;
  AccountId account_id;
  ArrangementId arrangement_id;
  RequestedBy requested_by = RequestedBy::customer;
};

struct ArrangementCancelled {
  EventId event_id;
  AccountId account_id;
  ArrangementId arrangement_id;
};

struct Payment {
  EventId event_id;
  AccountId account_id;
  PaymentId payment_id;
  Money amount;  // > 0
  Date received_date;
  PaymentMethod method = PaymentMethod::other;
  std::optional<ArrangementId> arrangement_id;
  std::optional<ObligationId> obligation_id;
};

struct PaymentReturned {
  EventId event_id;
  AccountId account_id;
  PaymentId payment_id;
  Date return_date;
  std::string reason_code;  // non-empty, carried through as sent
};

struct BusinessDate {
  EventId event_id;
  Date date;
};

using AccountMessage = std::variant<ObligationAssessed, ObligationAdjusted, ArrangementCreated,
                                    ArrangementActivated, ArrangementUpdated, InstalmentSkipped,
                                    ArrangementReview, ArrangementCancelled, Payment, PaymentReturned>;

using Message = std::variant<ObligationAssessed, ObligationAdjusted, ArrangementCreated,
                             ArrangementActivated, ArrangementUpdated, InstalmentSkipped,
                             ArrangementReview, ArrangementCancelled, Payment, PaymentReturned,
                             BusinessDate>;

const EventId& event_id_of(const Message& m);
// The account a message belongs to; business_date messages have none.
const AccountId* account_id_of(const Message& m);
// Narrows a Message known not to be a BusinessDate.
AccountMessage to_account_message(Message m);

}  // namespace paydist
