// core/account.cpp: lookups and derived sums over an account record.
#include "core/account.h"

#include "core/invariant.h"

namespace paydist {

Money Obligation::total() const {
  auto sum = balance.tax.checked_add(balance.penalty);
  PAYDIST_INVARIANT(sum.has_value());
  auto total = sum->checked_add(balance.interest);
  PAYDIST_INVARIANT(total.has_value());
  return *total;
}

Money Instalment::paid() const {
  Money sum;
  for (const PaymentPart& part : parts) sum = *sum.checked_add(part.amount);
  return sum;
}

Money Arrangement::applied() const {
  Money sum;
  for (const Instalment& instalment : instalments) sum = *sum.checked_add(instalment.paid());
  for (const PaymentPart& part : excess) sum = *sum.checked_add(part.amount);
  return sum;
}

const char* to_string(ArrangementStatus s) {
  switch (s) {
    case ArrangementStatus::pending_start: return "pending_start";
    case ArrangementStatus::current: return "current";
    case ArrangementStatus::broken: return "broken";
    case ArrangementStatus::completed: return "completed";
    case ArrangementStatus::cancelled: return "cancelled";
  }
  return "?";
}

Money Account::credit() const {
  Money sum;
  for (const PaymentRecord& p : payments)
    if (!p.returned) sum = *sum.checked_add(p.credit);
  return sum;
}

Money Account::debt() const {
  Money sum;
  for (const Obligation& o : obligations) {
    auto next = sum.checked_add(o.total());
    PAYDIST_INVARIANT(next.has_value());  // the engine rejects messages that would overflow
    sum = *next;
  }
  return sum;
}

Obligation* Account::find_obligation(const ObligationId& wanted) {
  for (Obligation& o : obligations)
    if (o.id == wanted) return &o;
  return nullptr;
}
const Obligation* Account::find_obligation(const ObligationId& wanted) const {
  return const_cast<Account*>(this)->find_obligation(wanted);
}

Arrangement* Account::find_arrangement(const ArrangementId& wanted) {
  for (Arrangement& a : arrangements)
    if (a.id == wanted) return &a;
  return nullptr;
}
const Arrangement* Account::find_arrangement(const ArrangementId& wanted) const {
  return const_cast<Account*>(this)->find_arrangement(wanted);
}

const PaymentRecord* Account::find_payment(const PaymentId& wanted) const {
  for (const PaymentRecord& p : payments)
    if (p.id == wanted) return &p;
  return nullptr;
}

Arrangement* Account::covering(const ObligationId& wanted) {
  for (Arrangement& a : arrangements) {
    if (!is_open(a.status)) continue;
    for (const ObligationId& covered : a.covered)
      if (covered == wanted) return &a;
  }
  return nullptr;
}
const Arrangement* Account::covering(const ObligationId& wanted) const {
  return const_cast<Account*>(this)->covering(wanted);
}

}  // namespace paydist
