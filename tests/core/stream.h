// tests/core/stream.h: terse builders for input messages and a Stream that applies them
// through Processor + MemoryState, collecting outputs and reject reasons. Test-only.
//   Stream s;
//   s.ok(bd("2026-03-01"));  s.ok(assess("ACC", "O1", "2026-03-31", {.tax = "900.00"}));
//   EXPECT_EQ(s.activity_lines(), (Lines{"BROKEN_ARRANGEMENT ACC @2026-03-23 R1 ..."}));
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/account.h"
#include "core/instalments.h"
#include "core/memory_state.h"
#include "core/messages.h"
#include "core/outputs.h"
#include "core/processor.h"
#include "core/rules.h"

// How gtest prints domain values in failure messages.
namespace paydist {
inline void PrintTo(Money m, std::ostream* os) { *os << m.to_string(); }
inline void PrintTo(Date d, std::ostream* os) { *os << d.to_string(); }
inline void PrintTo(const Amounts& a, std::ostream* os) {
  *os << "{tax " << a.tax.to_string() << ", penalty " << a.penalty.to_string() << ", interest "
      << a.interest.to_string() << "}";
}
template <class Tag>
void PrintTo(const BasicId<Tag>& id, std::ostream* os) {
  *os << id.str();
}
}  // namespace paydist

namespace paydist::test {

using Lines = std::vector<std::string>;

// --- values ------------------------------------------------------------------------

inline Money money(std::string_view text) {
  Result<Money> m = Money::parse(text, Sign::signed_allowed);
  if (!m) ADD_FAILURE() << "bad money literal in test: " << text;
  return m ? *m : Money{};
}
inline Date date(std::string_view text) {
  Result<Date> d = Date::parse(text);
  if (!d) ADD_FAILURE() << "bad date literal in test: " << text;
  return d ? *d : Date{};
}
template <class Id>
Id id(std::string_view text) {
  Result<Id> parsed = Id::parse(text);
  if (!parsed) ADD_FAILURE() << "bad id literal in test: " << text;
  return parsed ? *parsed : Id{};
}
inline std::string str(const std::optional<Date>& d) { return d ? d->to_string() : "null"; }

// Amounts as text; an empty field is zero.
struct Amt {
  const char* tax = "0";
  const char* penalty = "0";
  const char* interest = "0";
  Amounts value() const { return Amounts{money(tax), money(penalty), money(interest)}; }
};

// An explicit schedule: {{"2026-03-10", "250.00"}, ...}.
using Sched = std::vector<std::pair<const char*, const char*>>;
inline std::vector<ScheduleEntry> entries(const Sched& schedule) {
  std::vector<ScheduleEntry> out;
  for (const auto& [due, amount] : schedule) out.push_back(ScheduleEntry{date(due), money(amount)});
  return out;
}
inline std::vector<ObligationId> obligations(const std::vector<std::string>& ids) {
  std::vector<ObligationId> out;
  for (const std::string& o : ids) out.push_back(id<ObligationId>(o));
  return out;
}

inline Recommend equal_instalments(std::int64_t count, Frequency frequency, const char* first_due) {
  return Recommend{.rule = Recommend::Rule::equal_instalments, .count = count, .amount = {},
                   .frequency = frequency, .first_due_date = date(first_due)};
}
inline Recommend fixed_amount(const char* amount, Frequency frequency, const char* first_due) {
  return Recommend{.rule = Recommend::Rule::fixed_amount, .count = 0, .amount = money(amount),
                   .frequency = frequency, .first_due_date = date(first_due)};
}

// --- message builders (event ids are filled in by Stream unless set) ----------------

enum class Eligibility { plan_eligible, not_plan_eligible };

inline Message assess(std::string_view acc, std::string_view obl, const char* due, Amt amounts,
                      Eligibility eligibility = Eligibility::plan_eligible) {
  return ObligationAssessed{.event_id = {}, .account_id = id<AccountId>(acc), .obligation_id = id<ObligationId>(obl),
                            .due_date = date(due), .amounts = amounts.value(),
                            .plan_eligible = eligibility == Eligibility::plan_eligible};
}
inline Message adjust(std::string_view acc, std::string_view obl, Amt deltas) {
  return ObligationAdjusted{.event_id = {}, .account_id = id<AccountId>(acc),
                            .obligation_id = id<ObligationId>(obl), .deltas = deltas.value()};
}
inline Message create(std::string_view acc, std::string_view arr, ArrangementKind kind,
                      const std::vector<std::string>& covered, const Sched& schedule,
                      std::optional<const char*> settlement = std::nullopt) {
  ArrangementCreated m{.event_id = {}, .account_id = id<AccountId>(acc), .arrangement_id = id<ArrangementId>(arr),
                       .kind = kind, .covered_obligations = obligations(covered)};
  m.schedule = entries(schedule);
  if (settlement) m.settlement_amount = money(*settlement);
  return m;
}
inline Message create(std::string_view acc, std::string_view arr, ArrangementKind kind,
                      const std::vector<std::string>& covered, const Recommend& recommend,
                      std::optional<const char*> settlement = std::nullopt) {
  ArrangementCreated m{.event_id = {}, .account_id = id<AccountId>(acc), .arrangement_id = id<ArrangementId>(arr),
                       .kind = kind, .covered_obligations = obligations(covered)};
  m.recommend = recommend;
  if (settlement) m.settlement_amount = money(*settlement);
  return m;
}
inline Message cash(std::string_view acc, std::string_view arr, const std::vector<std::string>& covered,
                    const Sched& schedule) {
  return create(acc, arr, ArrangementKind::cash, covered, schedule);
}
inline Message direct_debit(std::string_view acc, std::string_view arr, const std::vector<std::string>& covered,
                            const Sched& schedule) {
  return create(acc, arr, ArrangementKind::direct_debit, covered, schedule);
}
inline Message discount(std::string_view acc, std::string_view arr, const std::vector<std::string>& covered,
                        const char* settlement, const Sched& schedule) {
  return create(acc, arr, ArrangementKind::discount, covered, schedule, settlement);
}
inline Message activate(std::string_view acc, std::string_view arr) {
  return ArrangementActivated{.event_id = {}, .account_id = id<AccountId>(acc), .arrangement_id = id<ArrangementId>(arr)};
}
inline Message update_schedule(std::string_view acc, std::string_view arr, const Sched& schedule) {
  ArrangementUpdated m{.event_id = {}, .account_id = id<AccountId>(acc), .arrangement_id = id<ArrangementId>(arr)};
  m.schedule = entries(schedule);
  return m;
}
inline Message update_covered(std::string_view acc, std::string_view arr, const std::vector<std::string>& covered) {
  ArrangementUpdated m{.event_id = {}, .account_id = id<AccountId>(acc), .arrangement_id = id<ArrangementId>(arr)};
  m.covered_obligations = obligations(covered);
  return m;
}
inline Message skip(std::string_view acc, std::string_view arr, const char* due) {
  return InstalmentSkipped{.event_id = {}, .account_id = id<AccountId>(acc), .arrangement_id = id<ArrangementId>(arr),
                           .due_date = date(due)};
}
inline Message review(std::string_view acc, std::string_view arr, RequestedBy by) {
  return ArrangementReview{.event_id = {}, .account_id = id<AccountId>(acc), .arrangement_id = id<ArrangementId>(arr),
                           .requested_by = by};
}
inline Message cancel(std::string_view acc, std::string_view arr) {
  return ArrangementCancelled{.event_id = {}, .account_id = id<AccountId>(acc), .arrangement_id = id<ArrangementId>(arr)};
}

struct PayTo {
  const char* arrangement = nullptr;  // step 2: the named arrangement
  const char* obligation = nullptr;   // step 1: the designated obligation
  PaymentMethod method = PaymentMethod::bpay;
  const char* received = "2026-01-01";  // informational only
};
inline Message pay(std::string_view acc, std::string_view pid, const char* amount, PayTo to = {}) {
  Payment m{.event_id = {}, .account_id = id<AccountId>(acc), .payment_id = id<PaymentId>(pid),
            .amount = money(amount), .received_date = date(to.received), .method = to.method};
  if (to.arrangement) m.arrangement_id = id<ArrangementId>(to.arrangement);
  if (to.obligation) m.obligation_id = id<ObligationId>(to.obligation);
  return m;
}
inline Message returned(std::string_view acc, std::string_view pid, const char* return_date,
                        const char* reason_code = "R01") {
  return PaymentReturned{.event_id = {}, .account_id = id<AccountId>(acc), .payment_id = id<PaymentId>(pid),
                         .return_date = date(return_date), .reason_code = reason_code};
}
inline Message bd(const char* business_date) { return BusinessDate{.event_id = {}, .date = date(business_date)}; }

inline Message with_event(Message m, std::string_view event_id) {
  std::visit([&](auto& msg) { msg.event_id = id<EventId>(event_id); }, m);
  return m;
}

// --- readable renderings of outputs and state ----------------------------------------

inline std::string describe(const Activity& a) {
  std::string out = fmt::format("{} {} @{}", to_string(a.type), a.account_id, str(a.business_date));
  switch (a.type) {
    case ActivityType::broken_arrangement:
      out += fmt::format(" {} {} missed={} amount={}", a.arrangement_id ? a.arrangement_id->str() : "?",
                         to_string(a.kind), a.missed_due_date, a.amount);
      if (a.reason_code) out += " reason=" + *a.reason_code;
      break;
    case ActivityType::no_arrangement:
      out += fmt::format(" {} debt={}", to_string(a.trigger), a.debt_balance);
      if (a.arrangement_id) out += " arrangement=" + a.arrangement_id->str();
      if (a.obligation_id) out += " obligation=" + a.obligation_id->str();
      break;
    case ActivityType::arrangement_completed:
      out += " " + (a.arrangement_id ? a.arrangement_id->str() : "?");
      break;
    case ActivityType::review_due:
      out += fmt::format(" {} {}", a.arrangement_id ? a.arrangement_id->str() : "?", to_string(a.requested_by));
      break;
    case ActivityType::unmatched_payment:
      out += fmt::format(" {} {}", a.payment_id ? a.payment_id->str() : "?", a.amount);
      break;
  }
  return out;
}

inline std::string describe(const std::vector<DistributionLine>& lines) {
  std::string out;
  for (const DistributionLine& l : lines) out += fmt::format(" {}:{}:{}", l.obligation_id, to_string(l.component), l.amount);
  return out;
}

inline std::string describe(const Distribution& d) {
  std::string out = fmt::format("{} {} {} @{}", to_string(d.kind), d.account_id,
                                d.payment_id ? d.payment_id->str() : "null", str(d.business_date));
  if (d.arrangement_id) out += " arrangement=" + d.arrangement_id->str();
  out += describe(d.lines);
  out += fmt::format(" credit={}", d.credit);
  if (d.reason_code) out += " reason=" + *d.reason_code;
  return out;
}

inline Lines sorted(Lines lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

// --- the stream ----------------------------------------------------------------------

class Stream {
 public:
  explicit Stream(Rules rules = {}) : rules_(std::move(rules)), processor_(rules_, state_) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Applies one message (filling in a fresh event id when it has none). Outputs are
  // collected; a reject's reason is kept in rejects().
  Result<Applied> send(Message m) {
    if (event_id_of(m).empty()) m = with_event(std::move(m), fmt::format("ev-{}", ++events_sent_));
    Result<Applied> r = processor_.apply(m);
    if (r) {
      last_ = r->outputs;
      for (const Activity& a : r->outputs.activities) activities_.push_back(a);
      for (const Distribution& d : r->outputs.distributions) distributions_.push_back(d);
    } else {
      last_ = {};
      rejects_.push_back(r.error());
    }
    return r;
  }

  // Applies a message that must be accepted; returns its outputs.
  const Outputs& ok(Message m, const char* where = "") {
    Result<Applied> r = send(std::move(m));
    if (!r) ADD_FAILURE() << "unexpected reject " << where << ": " << r.error();
    return last_;
  }
  // Applies a message that must be rejected, and checks that it changed nothing: no
  // account, no timeline value, no deadline entry, and its event id is not used up.
  // Returns the reason.
  std::string reject(Message m) {
    if (event_id_of(m).empty()) m = with_event(std::move(m), fmt::format("ev-{}", ++events_sent_));
    const std::map<std::string, Account> accounts_before = state_.accounts();
    const TimelineState timeline_before = state_.timeline();
    const std::size_t deadlines_before = state_.deadline_entries();
    Result<Applied> r = send(m);
    if (r) {
      ADD_FAILURE() << "message was accepted but should have been rejected";
      return {};
    }
    EXPECT_TRUE(state_.accounts() == accounts_before) << "a rejected message changed an account: " << r.error();
    EXPECT_TRUE(state_.timeline() == timeline_before) << "a rejected message changed the timeline";
    EXPECT_EQ(state_.deadline_entries(), deadlines_before) << "a rejected message changed the deadline index";
    const AccountId* account = account_id_of(m);
    EXPECT_FALSE(state_.event_accepted(EventScope{account}, event_id_of(m))) << "a reject used up its event id";
    EXPECT_FALSE(r.error().empty());
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << "reject reason is not one line";
    return r.error();
  }

  // The account as inspect shows it, one line per item:
  //   "credit=C debt=D", "OBL DUE tax/penalty/interest" by (due, id), "ARR KIND STATUS",
  //   then "  DUE AMOUNT paid=P STATUS" for each of its instalments.
  Lines inspect(std::string_view acc) const {
    const Account& a = account(acc);
    Lines out{fmt::format("credit={} debt={}", a.credit(), a.debt())};
    std::vector<const Obligation*> obligations;
    for (const Obligation& o : a.obligations) obligations.push_back(&o);
    std::sort(obligations.begin(), obligations.end(), [](const Obligation* x, const Obligation* y) {
      return x->due_date != y->due_date ? x->due_date < y->due_date : x->id < y->id;
    });
    for (const Obligation* o : obligations)
      out.push_back(fmt::format("{} {} {}/{}/{}", o->id, o->due_date, o->balance.tax, o->balance.penalty,
                                o->balance.interest));
    for (const Arrangement& r : a.arrangements) {
      out.push_back(fmt::format("{} {} {}", r.id, to_string(r.kind), to_string(r.status)));
      for (const std::string& line : instalments(acc, r.id.view())) out.push_back("  " + line);
    }
    return out;
  }

  const Account& account(std::string_view acc) const {
    auto it = state_.accounts().find(std::string{acc});
    if (it == state_.accounts().end()) {
      ADD_FAILURE() << "no account " << acc;
      static const Account kNone{};
      return kNone;
    }
    return it->second;
  }
  bool has_account(std::string_view acc) const { return state_.accounts().count(std::string{acc}) != 0; }
  const Arrangement& arrangement(std::string_view acc, std::string_view arr) const {
    const Arrangement* a = account(acc).find_arrangement(id<ArrangementId>(arr));
    if (!a) {
      ADD_FAILURE() << "no arrangement " << arr;
      static const Arrangement kNone{};
      return kNone;
    }
    return *a;
  }
  std::string status(std::string_view acc, std::string_view arr) const { return to_string(arrangement(acc, arr).status); }
  Amounts balance(std::string_view acc, std::string_view obl) const {
    const Obligation* o = account(acc).find_obligation(id<ObligationId>(obl));
    if (!o) ADD_FAILURE() << "no obligation " << obl;
    return o ? o->balance : Amounts{};
  }
  std::string total(std::string_view acc, std::string_view obl) const {
    const Obligation* o = account(acc).find_obligation(id<ObligationId>(obl));
    if (!o) ADD_FAILURE() << "no obligation " << obl;
    return o ? o->total().to_string() : "?";
  }
  std::string credit(std::string_view acc) const { return account(acc).credit().to_string(); }
  std::string debt(std::string_view acc) const { return account(acc).debt().to_string(); }

  // The arrangement's instalments as inspect shows them: "DUE AMOUNT paid=PAID STATUS".
  Lines instalments(std::string_view acc, std::string_view arr) const {
    const Arrangement& a = arrangement(acc, arr);
    Lines out;
    for (const Instalment& i : a.instalments)
      out.push_back(fmt::format("{} {} paid={} {}", i.due_date, i.amount, i.paid(),
                                to_string(instalment_status(a, i, business_date(), rules_))));
    return out;
  }

  // StateAccess::timeline() is non-const for the stores' sake; MemoryState's only reads.
  std::optional<Date> business_date() const { return const_cast<MemoryState&>(state_).timeline().business_date; }

  Lines activity_lines() const { return render(activities_); }
  Lines distribution_lines() const { return render(distributions_); }
  Lines last_activity_lines() const { return render(last_.activities); }
  Lines last_distribution_lines() const { return render(last_.distributions); }

  const std::vector<Activity>& activities() const { return activities_; }
  const std::vector<Distribution>& distributions() const { return distributions_; }
  const std::vector<std::string>& rejects() const { return rejects_; }
  const Outputs& last() const { return last_; }
  MemoryState& state() { return state_; }
  const Rules& rules() const { return rules_; }

 private:
  template <class T>
  static Lines render(const std::vector<T>& items) {
    Lines out;
    for (const T& item : items) out.push_back(describe(item));
    return out;
  }

  Rules rules_;
  MemoryState state_;
  Processor processor_;
  std::uint64_t events_sent_ = 0;
  Outputs last_;
  std::vector<Activity> activities_;
  std::vector<Distribution> distributions_;
  std::vector<std::string> rejects_;
};

}  // namespace paydist::test
