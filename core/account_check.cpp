// core/account_check.cpp: the invariants of one stored account (see account_check.h).
// Pure and total: every sum is checked before it is used, so an account with corrupt money
// is reported, never asserted on; the deadline is recomputed only when that is safe.
#include "core/account_check.h"

#include <map>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "core/engine.h"

namespace paydist {
namespace {

// Dates that arithmetic on them (a grace period, a notice period) cannot overflow: the
// contract's range, with room for the configured day counts (at most 3650 each).
constexpr std::int32_t kDateSlackDays = 4 * 3650;

class Problems {
 public:
  template <class... Args>
  void add(fmt::format_string<Args...> format, Args&&... args) {
    lines_.push_back(fmt::format(format, std::forward<Args>(args)...));
  }
  std::size_t size() const { return lines_.size(); }
  std::vector<std::string> take() { return std::move(lines_); }

 private:
  std::vector<std::string> lines_;
};

// Sums money, remembering whether it ever left the Money range.
class CheckedSum {
 public:
  void add(Money m) {
    if (!fits_) return;
    if (auto next = sum_.checked_add(m)) sum_ = *next;
    else fits_ = false;
  }
  bool fits() const { return fits_; }
  Money value() const { return sum_; }

 private:
  Money sum_;
  bool fits_ = true;
};

bool date_in_range(Date d, std::int32_t slack_days) {
  return d.serial() >= Date::min_valid().serial() - slack_days && d.serial() <= Date::max_valid().serial() + slack_days;
}

template <class Item, class IdOf>
void check_unique_ids(const std::vector<Item>& items, IdOf id_of, const char* what, Problems& problems) {
  std::set<std::string_view> seen;
  for (const Item& item : items)
    if (!seen.insert(id_of(item).view()).second) problems.add("{} id \"{}\" appears twice", what, id_of(item));
}

// Dates come from messages (contract 6: 0001-01-01 to 9999-12-31) or from them plus a
// configured number of days. False: some date is far outside, and date arithmetic on the
// account is not safe.
bool check_dates(const Account& account, Problems& problems) {
  const std::size_t before = problems.size();
  for (const Obligation& o : account.obligations)
    if (!o.due_date.in_contract_range()) problems.add("obligation \"{}\": due date serial {} is out of range", o.id, o.due_date.serial());
  for (const Arrangement& a : account.arrangements) {
    for (const Instalment& i : a.instalments) {
      if (!i.due_date.in_contract_range())
        problems.add("arrangement \"{}\": instalment due date serial {} is out of range", a.id, i.due_date.serial());
      if (i.return_date && !i.return_date->in_contract_range())
        problems.add("arrangement \"{}\": instalment return date serial {} is out of range", a.id, i.return_date->serial());
    }
    if (a.closing_date && !a.closing_date->in_contract_range())
      problems.add("arrangement \"{}\": closing date serial {} is out of range", a.id, a.closing_date->serial());
  }
  for (const PendingReview& r : account.reviews)
    if (!date_in_range(r.due, kDateSlackDays))
      problems.add("review of arrangement \"{}\": due date serial {} is out of range", r.arrangement_id, r.due.serial());
  if (account.indexed_deadline && !date_in_range(*account.indexed_deadline, kDateSlackDays))
    problems.add("indexed deadline serial {} is out of range", account.indexed_deadline->serial());
  return problems.size() == before;
}

void check_obligations(const Account& account, Problems& problems) {
  check_unique_ids(account.obligations, [](const Obligation& o) -> const ObligationId& { return o.id; }, "obligation",
                   problems);
  for (const Obligation& o : account.obligations)
    for (Component c : kComponents)
      if (o.balance[c].is_negative()) problems.add("obligation \"{}\": {} balance {} is negative", o.id, to_string(c), o.balance[c]);
  // contract 6: "no obligations" means none was ever assessed; obligations are never removed.
  if (account.ever_assessed == account.obligations.empty())
    problems.add("ever_assessed is {} but the account has {} obligations", account.ever_assessed, account.obligations.size());
}

// contract 4: for an applied distribution, the lines plus credit equal the payment amount;
// a return repeats the same lines, so the record keeps them after the return too.
void check_payments(const Account& account, Problems& problems) {
  check_unique_ids(account.payments, [](const PaymentRecord& p) -> const PaymentId& { return p.id; }, "payment", problems);
  for (const PaymentRecord& p : account.payments) {
    if (!p.amount.is_positive()) problems.add("payment \"{}\": amount {} is not positive", p.id, p.amount);
    if (p.credit.is_negative()) problems.add("payment \"{}\": credit {} is negative", p.id, p.credit);
    CheckedSum total;
    for (const DistributionLine& line : p.lines) {
      if (!line.amount.is_positive())
        problems.add("payment \"{}\": line on obligation \"{}\" {} has amount {}, not positive", p.id, line.obligation_id,
                     to_string(line.component), line.amount);
      if (!account.find_obligation(line.obligation_id))
        problems.add("payment \"{}\": line on obligation \"{}\", which the account does not have", p.id, line.obligation_id);
      total.add(line.amount);
    }
    total.add(p.credit);
    if (!total.fits()) problems.add("payment \"{}\": lines plus credit overflow", p.id);
    else if (total.value() != p.amount)
      problems.add("payment \"{}\": lines plus credit are {}, the amount is {}", p.id, total.value(), p.amount);
  }
}

// Checks the parts' payment indexes and amounts; false when a part is unusable.
bool check_parts(const Account& account, const Arrangement& a, const std::vector<PaymentPart>& parts, const char* where,
                 Problems& problems) {
  bool usable = true;
  for (const PaymentPart& part : parts) {
    if (part.payment_index >= account.payments.size()) {
      problems.add("arrangement \"{}\": {} part refers to payment {} of {}", a.id, where, part.payment_index,
                   account.payments.size());
      usable = false;
    } else if (!part.amount.is_positive()) {
      problems.add("arrangement \"{}\": {} part of payment \"{}\" is {}, not positive", a.id, where,
                   account.payments[part.payment_index].id, part.amount);
    }
  }
  return usable;
}

// contract 3 and 6 "Instalments". False when the parts cannot be summed safely.
bool check_instalments(const Account& account, const Arrangement& a, Problems& problems) {
  bool sums_usable = true;
  for (std::size_t n = 0; n < a.instalments.size(); ++n) {
    const Instalment& i = a.instalments[n];
    if (!i.amount.is_positive()) problems.add("arrangement \"{}\": instalment due {} has amount {}, not positive", a.id, i.due_date, i.amount);
    if (n > 0 && !(a.instalments[n - 1].due_date < i.due_date))
      problems.add("arrangement \"{}\": instalment due dates are not strictly increasing at {}", a.id, i.due_date);
    if (i.skipped && !i.parts.empty())
      problems.add("arrangement \"{}\": skipped instalment due {} still holds money", a.id, i.due_date);
    if (i.return_date.has_value() == i.return_reason_code.empty())
      problems.add("arrangement \"{}\": instalment due {} has a return date without a reason code or the reverse", a.id,
                   i.due_date);
    if (!check_parts(account, a, i.parts, "instalment", problems)) {
      sums_usable = false;
      continue;
    }
    CheckedSum paid;
    for (const PaymentPart& part : i.parts) paid.add(part.amount);
    if (!paid.fits()) {
      problems.add("arrangement \"{}\": instalment due {}: its parts overflow", a.id, i.due_date);
      sums_usable = false;
    } else if (paid.value() > i.amount) {
      problems.add("arrangement \"{}\": instalment due {} is paid {}, more than its amount {}", a.id, i.due_date,
                   paid.value(), i.amount);
    }
  }
  if (!check_parts(account, a, a.excess, "excess", problems)) sums_usable = false;
  return sums_usable;
}

// contract 3 "Statuses" and contract 6.
void check_status(const Account& account, const Arrangement& a, Problems& problems) {
  const bool live = a.status == ArrangementStatus::current || a.status == ArrangementStatus::broken;
  if (live && !a.activated) problems.add("arrangement \"{}\" is {} but was never activated", a.id, to_string(a.status));
  if (a.status == ArrangementStatus::pending_start && a.activated)
    problems.add("arrangement \"{}\" is pending_start but was activated", a.id);
  if (a.closing_date && is_open(a.status))
    problems.add("arrangement \"{}\" is {} but has a closing date", a.id, to_string(a.status));
  // contract 6: completion is checked after every change of money, so a live arrangement
  // never has all its covered balances at zero. (Totals only when they fit.)
  if (!sums_fit(account)) return;
  bool settled = !a.covered.empty();
  for (const ObligationId& id : a.covered) {
    const Obligation* o = account.find_obligation(id);
    if (o == nullptr || !o->total().is_zero()) settled = false;
  }
  if (live && settled) problems.add("arrangement \"{}\" is {} with every covered balance at zero", a.id, to_string(a.status));
}

// False when the arrangements' money cannot be summed safely.
bool check_arrangements(const Account& account, Problems& problems) {
  check_unique_ids(account.arrangements, [](const Arrangement& a) -> const ArrangementId& { return a.id; },
                   "arrangement", problems);
  bool sums_usable = true;
  std::map<std::string_view, const Arrangement*> covering;  // obligation -> open arrangement
  for (const Arrangement& a : account.arrangements) {
    const bool discount = a.kind == ArrangementKind::discount;
    if (discount != a.settlement.is_positive())
      problems.add("arrangement \"{}\" ({}) has settlement amount {}", a.id, to_string(a.kind), a.settlement);
    if (a.covered.empty()) problems.add("arrangement \"{}\" covers no obligation", a.id);
    if (a.instalments.empty()) problems.add("arrangement \"{}\" has no instalments", a.id);
    std::set<std::string_view> listed;
    for (const ObligationId& id : a.covered) {
      if (!listed.insert(id.view()).second) problems.add("arrangement \"{}\" lists obligation \"{}\" twice", a.id, id);
      if (!account.find_obligation(id))
        problems.add("arrangement \"{}\" covers obligation \"{}\", which the account does not have", a.id, id);
      // contract 2: an obligation is covered by at most one open arrangement.
      if (!is_open(a.status)) continue;
      auto [it, first] = covering.emplace(id.view(), &a);
      if (!first && it->second != &a)
        problems.add("obligation \"{}\" is covered by both \"{}\" and \"{}\"", id, it->second->id, a.id);
    }
    const bool usable = check_instalments(account, a, problems);
    sums_usable = sums_usable && usable;
    check_status(account, a, problems);
    // contract 6: a live discount is capped at its settlement and completes on reaching it.
    if (usable && discount && (a.status == ArrangementStatus::current || a.status == ArrangementStatus::broken)) {
      CheckedSum applied;
      for (const Instalment& i : a.instalments)
        for (const PaymentPart& part : i.parts) applied.add(part.amount);
      for (const PaymentPart& part : a.excess) applied.add(part.amount);
      if (applied.fits() && applied.value() >= a.settlement)
        problems.add("discount arrangement \"{}\" is {} with {} applied, not below its settlement {}", a.id,
                     to_string(a.status), applied.value(), a.settlement);
    }
  }
  for (const PendingReview& r : account.reviews)
    if (!account.find_arrangement(r.arrangement_id))
      problems.add("pending review of arrangement \"{}\", which the account does not have", r.arrangement_id);
  return sums_usable;
}

// contract 3 "Returns": a return un-pays exactly what the payment paid, so no part of a
// returned payment stays; and no payment can have put more into instalments than its lines.
void check_payment_parts(const Account& account, Problems& problems) {
  std::vector<CheckedSum> parts(account.payments.size());
  for (const Arrangement& a : account.arrangements) {
    auto count = [&](const std::vector<PaymentPart>& list) {
      for (const PaymentPart& part : list)
        if (part.payment_index < parts.size()) parts[part.payment_index].add(part.amount);
    };
    for (const Instalment& i : a.instalments) count(i.parts);
    count(a.excess);
  }
  for (std::size_t n = 0; n < account.payments.size(); ++n) {
    const PaymentRecord& p = account.payments[n];
    if (!parts[n].fits()) continue;  // reported with the instalment
    if (p.returned && !parts[n].value().is_zero()) {
      problems.add("payment \"{}\" was returned but {} of it is still in arrangements", p.id, parts[n].value());
      continue;
    }
    CheckedSum lines;
    for (const DistributionLine& line : p.lines) lines.add(line.amount);
    if (lines.fits() && parts[n].value() > lines.value())
      problems.add("payment \"{}\" put {} into arrangements, more than the {} its lines applied", p.id, parts[n].value(),
                   lines.value());
  }
}

// The deadline index holds each account at next_deadline() (core/processor.cpp), and every
// deadline up to the business date has fired.
void check_deadline(const Account& account, const AccountCheckContext& context, Problems& problems) {
  const std::optional<Date> next = next_deadline(account, context.rules);
  auto text = [](std::optional<Date> d) { return d ? d->to_string() : std::string{"none"}; };
  if (next != account.indexed_deadline)
    problems.add("indexed deadline is {} but the account's next deadline is {}", text(account.indexed_deadline), text(next));
  if (account.indexed_deadline && context.business_date && *account.indexed_deadline <= *context.business_date)
    problems.add("deadline {} is not after the business date {}: it should have fired", *account.indexed_deadline,
                 *context.business_date);
}

}  // namespace

std::vector<std::string> account_problems(const Account& account, const AccountCheckContext& context) {
  Problems problems;
  const bool dates_usable = check_dates(account, problems);
  check_obligations(account, problems);
  const bool balances_usable = sums_fit(account);
  if (!balances_usable) problems.add("obligation balances overflow the money range");
  check_payments(account, problems);
  const bool parts_usable = check_arrangements(account, problems);
  if (parts_usable) check_payment_parts(account, problems);
  if (dates_usable && balances_usable && parts_usable) check_deadline(account, context, problems);
  return problems.take();
}

}  // namespace paydist
