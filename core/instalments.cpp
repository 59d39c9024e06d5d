// core/instalments.cpp: instalment accounting (contract 3 "Instalments", contract 6).
// Every instalment keeps the parts each payment put into it, so a return un-pays exactly
// that payment's money and nothing else flows into the gap.
#include "core/instalments.h"

#include "core/invariant.h"

namespace paydist {
namespace {

void append_part(std::vector<PaymentPart>& parts, PaymentPart part) {
  if (!parts.empty() && parts.back().payment_index == part.payment_index)
    parts.back().amount = *parts.back().amount.checked_add(part.amount);
  else
    parts.push_back(part);
}

}  // namespace

const char* to_string(InstalmentStatus s) {
  switch (s) {
    case InstalmentStatus::due: return "due";
    case InstalmentStatus::paid: return "paid";
    case InstalmentStatus::missed: return "missed";
    case InstalmentStatus::skipped: return "skipped";
  }
  return "?";
}

Date break_deadline(const Arrangement& arrangement, const Instalment& instalment, const Rules& rules) {
  // contract 6: a direct-debit instalment that lost money through a return breaks
  // dd_return_grace_days after the latest such return, even before its due date.
  if (arrangement.kind == ArrangementKind::direct_debit && instalment.return_date)
    return instalment.return_date->plus_days(rules.dd_return_grace_days);
  return instalment.due_date.plus_days(rules.cash_grace_days);
}

std::optional<Date> evaluation_date(const Arrangement& arrangement, std::optional<Date> business_date) {
  if (is_open(arrangement.status)) {
    if (arrangement.status == ArrangementStatus::pending_start) return std::nullopt;  // never activated
    return business_date;
  }
  if (!arrangement.activated) return std::nullopt;
  return arrangement.closing_date;
}

InstalmentStatus instalment_status(const Arrangement& arrangement, const Instalment& instalment,
                                   std::optional<Date> business_date, const Rules& rules) {
  if (instalment.skipped) return InstalmentStatus::skipped;
  if (instalment.paid() == instalment.amount) return InstalmentStatus::paid;
  std::optional<Date> evaluated_at = evaluation_date(arrangement, business_date);
  if (evaluated_at && break_deadline(arrangement, instalment, rules) <= *evaluated_at)
    return InstalmentStatus::missed;
  return InstalmentStatus::due;
}

void flow_part(Arrangement& arrangement, PaymentPart part) {
  std::size_t first_open = 0;
  flow_part(arrangement, part, first_open);
}

void flow_part(Arrangement& arrangement, PaymentPart part, std::size_t& first_open) {
  std::vector<Instalment>& instalments = arrangement.instalments;
  PAYDIST_INVARIANT(first_open <= instalments.size());
  for (std::size_t i = first_open; i < instalments.size(); ++i) {
    if (part.amount.is_zero()) return;
    Instalment& instalment = instalments[i];
    if (instalment.skipped) {
      if (i == first_open) ++first_open;
      continue;
    }
    const Money gap = *instalment.amount.checked_sub(instalment.paid());
    const Money take = gap.is_positive() ? min(gap, part.amount) : Money::zero();
    if (take.is_positive()) {
      append_part(instalment.parts, PaymentPart{part.payment_index, take});
      part.amount = *part.amount.checked_sub(take);
    }
    if (i == first_open && take == gap) ++first_open;  // full now (or already): never again
  }
  if (part.amount.is_positive()) append_part(arrangement.excess, part);
}

Money unpay(Arrangement& arrangement, std::uint32_t payment_index, Date return_date,
            const std::string& reason_code) {
  Money removed;
  auto remove_from = [&](std::vector<PaymentPart>& parts) {
    Money taken;
    std::erase_if(parts, [&](const PaymentPart& part) {
      if (part.payment_index != payment_index) return false;
      taken = *taken.checked_add(part.amount);
      return true;
    });
    removed = *removed.checked_add(taken);
    return taken;
  };
  for (Instalment& instalment : arrangement.instalments) {
    if (remove_from(instalment.parts).is_positive()) {
      // contract 6: the latest return wins; ties go to the return processed later.
      if (!instalment.return_date || return_date >= *instalment.return_date) {
        instalment.return_date = return_date;
        instalment.return_reason_code = reason_code;
      }
    }
  }
  remove_from(arrangement.excess);
  return removed;
}

}  // namespace paydist
