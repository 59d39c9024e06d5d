// core/engine.cpp: one handler per message type, the completion rule, and the deadlines
// (breaks, due-date checks, reviews). Every check that can reject runs before the first
// change; the caller works on a copy anyway, so an Error never leaves a partial apply.
#include "core/engine.h"

#include <algorithm>

#include "core/distribution.h"
#include "core/instalments.h"
#include "core/invariant.h"
#include "core/schedule.h"

namespace paydist {

Activity& Context::activity(const Account& account, ActivityType type) {
  Activity& a = outputs.activities.emplace_back();
  a.activity_id = fmt::format("{}/{}/{}{}", account.id.view(), event_id.view(),
                              scope == Scope::business_date ? "d" : "", activity_count++);
  a.type = type;
  a.account_id = account.id;
  a.business_date = business_date;
  return a;
}

namespace {

Error reject(std::string reason) { return Error{std::move(reason)}; }

// contract 3 "No arrangement": debt strictly over the threshold.
bool over_threshold(const Account& account, const Rules& rules) {
  return account.debt() > rules.no_arrangement_threshold;
}

void emit_no_arrangement(Account& account, NoArrangementTrigger trigger, Context& ctx) {
  Activity& a = ctx.activity(account, ActivityType::no_arrangement);
  a.trigger = trigger;
  a.debt_balance = account.debt();
}

// Covered obligations must exist, be plan-eligible and not be covered by another open
// arrangement (contract 2).
Status check_coverable(const Account& account, const std::vector<ObligationId>& covered, const Arrangement* self) {
  for (const ObligationId& id : covered) {
    const Obligation* o = account.find_obligation(id);
    if (!o) return reject(fmt::format("covered obligation \"{}\" does not exist", id));
    if (!o->plan_eligible) return reject(fmt::format("covered obligation \"{}\" is not plan_eligible", id));
    const Arrangement* other = account.covering(id);
    if (other && other != self)
      return reject(fmt::format("obligation \"{}\" is already covered by arrangement \"{}\" ({})", id, other->id,
                                to_string(other->status)));
  }
  return Ok{};
}

Result<Arrangement*> open_arrangement(Account& account, const ArrangementId& id, const char* action) {
  Arrangement* a = account.find_arrangement(id);
  if (!a) return reject(fmt::format("arrangement \"{}\" does not exist", id));
  if (!is_open(a->status))
    return reject(fmt::format("cannot {} arrangement \"{}\": it is {}", action, id, to_string(a->status)));
  return a;
}

Status handle(Account& account, const ObligationAssessed& m, Context& ctx) {
  if (account.find_obligation(m.obligation_id))
    return reject(fmt::format("obligation \"{}\" already exists (use obligation_adjusted)", m.obligation_id));
  if (account.obligations.size() >= ctx.rules.max_obligations_per_account)
    return reject(fmt::format("account has the maximum of {} obligations (max_obligations_per_account)",
                              ctx.rules.max_obligations_per_account));
  account.obligations.push_back(Obligation{.id = m.obligation_id,
                                           .due_date = m.due_date,
                                           .balance = m.amounts,
                                           .plan_eligible = m.plan_eligible,
                                           .due_checked = false});
  account.ever_assessed = true;
  return Ok{};
}

Status handle(Account& account, const ObligationAdjusted& m, Context& ctx) {
  Obligation* o = account.find_obligation(m.obligation_id);
  if (!o) return reject(fmt::format("obligation \"{}\" does not exist", m.obligation_id));
  Amounts next = o->balance;
  for (Component c : kComponents) {
    auto sum = next[c].checked_add(m.deltas[c]);
    if (!sum) return reject(fmt::format("adjustment of {} overflows", to_string(c)));
    if (sum->is_negative())
      return reject(fmt::format("adjustment would take {} of \"{}\" below zero", to_string(c), m.obligation_id));
    next[c] = *sum;
  }
  const bool was_zero = o->total().is_zero();
  o->balance = next;
  if (!sums_fit(account)) return reject("adjustment would overflow the account's debt");
  // contract 6: debt_increased = an uncovered obligation taken from zero to above zero.
  if (was_zero && o->total().is_positive() && !account.covering(m.obligation_id) &&
      over_threshold(account, ctx.rules)) {
    emit_no_arrangement(account, NoArrangementTrigger::debt_increased, ctx);
    ctx.outputs.activities.back().obligation_id = m.obligation_id;
  }
  complete_settled_arrangements(account, ctx);
  return Ok{};
}

Status handle(Account& account, const ArrangementCreated& m, Context& ctx) {
  if (account.find_arrangement(m.arrangement_id))
    return reject(fmt::format("arrangement \"{}\" already exists", m.arrangement_id));
  if (account.arrangements.size() >= ctx.rules.max_arrangements_per_account)
    return reject(fmt::format("account has the maximum of {} arrangements (max_arrangements_per_account)",
                              ctx.rules.max_arrangements_per_account));
  if (Status s = check_coverable(account, m.covered_obligations, nullptr); !s) return Error{s.error()};
  const bool discount = m.kind == ArrangementKind::discount;
  if (discount != m.settlement_amount.has_value())
    return reject(discount ? "settlement_amount is required for a discount arrangement"
                           : "settlement_amount is only allowed on a discount arrangement");
  Result<std::vector<Instalment>> schedule = Error{"arrangement needs a schedule or a recommend rule"};
  if (m.schedule) {
    schedule = explicit_schedule(*m.schedule, ctx.rules);
  } else if (m.recommend) {
    Money total;
    if (discount) {
      total = *m.settlement_amount;
    } else {
      for (const ObligationId& id : m.covered_obligations) total = *total.checked_add(account.find_obligation(id)->total());
    }
    schedule = recommend_schedule(*m.recommend, total, ctx.rules);
  }
  if (!schedule) return Error{schedule.error()};
  account.arrangements.push_back(Arrangement{.id = m.arrangement_id,
                                             .kind = m.kind,
                                             .status = ArrangementStatus::pending_start,
                                             .covered = m.covered_obligations,
                                             .settlement = m.settlement_amount.value_or(Money::zero()),
                                             .instalments = std::move(schedule).value()});
  return Ok{};
}

Status handle(Account& account, const ArrangementActivated& m, Context& ctx) {
  Arrangement* a = account.find_arrangement(m.arrangement_id);
  if (!a) return reject(fmt::format("arrangement \"{}\" does not exist", m.arrangement_id));
  if (a->status != ArrangementStatus::pending_start)
    return reject(fmt::format("cannot activate arrangement \"{}\": it is {}", m.arrangement_id, to_string(a->status)));
  a->status = ArrangementStatus::current;
  a->activated = true;
  // contract 6: a pending discount is not capped; its settlement is checked on activation.
  if (a->kind == ArrangementKind::discount && a->applied() >= a->settlement)
    settle_discount(account, *a, std::nullopt, ctx);
  complete_settled_arrangements(account, ctx);
  return Ok{};
}

Status handle(Account& account, const ArrangementUpdated& m, Context& ctx) {
  auto found = open_arrangement(account, m.arrangement_id, "update");
  if (!found) return Error{found.error()};
  Arrangement* a = *found;
  if (!m.covered_obligations && !m.schedule)
    return reject("arrangement_updated needs covered_obligations and/or schedule");
  if (m.covered_obligations) {
    if (Status s = check_coverable(account, *m.covered_obligations, a); !s) return Error{s.error()};
  }
  if (m.schedule) {
    auto schedule = explicit_schedule(*m.schedule, ctx.rules);
    if (!schedule) return Error{schedule.error()};
    // contract 6: the new schedule starts with no skips and no return marks; all money
    // applied so far flows in again: old instalments' parts in schedule order, then excess.
    std::vector<PaymentPart> parts;
    for (const Instalment& old : a->instalments) parts.insert(parts.end(), old.parts.begin(), old.parts.end());
    parts.insert(parts.end(), a->excess.begin(), a->excess.end());
    a->instalments = std::move(schedule).value();
    a->excess.clear();
    for (const PaymentPart& part : parts) flow_part(*a, part);
  }
  if (m.covered_obligations) a->covered = *m.covered_obligations;
  complete_settled_arrangements(account, ctx);
  return Ok{};
}

bool has_missed_instalment(const Arrangement& a, Date on, const Rules& rules) {
  for (const Instalment& i : a.instalments)
    if (!i.skipped && i.paid() < i.amount && break_deadline(a, i, rules) <= on) return true;
  return false;
}

Status handle(Account& account, const InstalmentSkipped& m, Context& ctx) {
  auto found = open_arrangement(account, m.arrangement_id, "skip an instalment of");
  if (!found) return Error{found.error()};
  Arrangement* a = *found;
  auto it = std::find_if(a->instalments.begin(), a->instalments.end(),
                         [&](const Instalment& i) { return i.due_date == m.due_date; });
  if (it == a->instalments.end())
    return reject(fmt::format("arrangement \"{}\" has no instalment due {}", m.arrangement_id, m.due_date));
  if (it->skipped) return reject(fmt::format("instalment due {} is already skipped", m.due_date));
  if (it->paid() == it->amount) return reject(fmt::format("instalment due {} is already paid", m.due_date));
  // contract 6: money on a partly paid skipped instalment moves to the oldest unpaid ones.
  std::vector<PaymentPart> moved = std::move(it->parts);
  it->parts.clear();
  it->skipped = true;
  for (const PaymentPart& part : moved) flow_part(*a, part);
  if (a->status == ArrangementStatus::broken && ctx.business_date &&
      !has_missed_instalment(*a, *ctx.business_date, ctx.rules))
    a->status = ArrangementStatus::current;
  return Ok{};
}

Status handle(Account& account, const ArrangementReview& m, Context& ctx) {
  auto found = open_arrangement(account, m.arrangement_id, "review");
  if (!found) return Error{found.error()};
  if (m.requested_by == RequestedBy::customer) {
    Activity& a = ctx.activity(account, ActivityType::review_due);
    a.arrangement_id = m.arrangement_id;
    a.requested_by = RequestedBy::customer;
    return Ok{};
  }
  if (!ctx.business_date) return reject("an agency review needs a business date (none received yet)");
  if (account.reviews.size() >= ctx.rules.max_pending_reviews_per_account)
    return reject(fmt::format("account has the maximum of {} agency reviews waiting (max_pending_reviews_per_account)",
                              ctx.rules.max_pending_reviews_per_account));
  account.reviews.push_back(
      PendingReview{m.arrangement_id, ctx.business_date->plus_days(ctx.rules.review_notice_days)});
  return Ok{};
}

Status handle(Account& account, const ArrangementCancelled& m, Context& ctx) {
  auto found = open_arrangement(account, m.arrangement_id, "cancel");
  if (!found) return Error{found.error()};
  Arrangement* a = *found;
  a->status = ArrangementStatus::cancelled;
  a->closing_date = ctx.business_date;
  // contract 6: a broken arrangement does not count as "another one".
  const bool another = std::any_of(account.arrangements.begin(), account.arrangements.end(), [](const Arrangement& o) {
    return o.status == ArrangementStatus::pending_start || o.status == ArrangementStatus::current;
  });
  if (!another && over_threshold(account, ctx.rules)) {
    emit_no_arrangement(account, NoArrangementTrigger::arrangement_cancelled, ctx);
    ctx.outputs.activities.back().arrangement_id = m.arrangement_id;
  }
  return Ok{};
}

Status handle(Account& account, const Payment& m, Context& ctx) {
  if (account.find_payment(m.payment_id)) return reject(fmt::format("payment \"{}\" already exists", m.payment_id));
  if (m.obligation_id && !account.find_obligation(*m.obligation_id))
    return reject(fmt::format("obligation \"{}\" does not exist", *m.obligation_id));
  if (m.arrangement_id && !account.find_arrangement(*m.arrangement_id))
    return reject(fmt::format("arrangement \"{}\" does not exist", *m.arrangement_id));
  if (account.payments.size() >= ctx.rules.max_payments_per_account)
    return reject(fmt::format("account has the maximum of {} payments (max_payments_per_account)",
                              ctx.rules.max_payments_per_account));
  if (!account.credit().checked_add(m.amount)) return reject("payment would overflow the account's credit");
  const auto index = static_cast<std::uint32_t>(account.payments.size());
  account.payments.push_back(PaymentRecord{.id = m.payment_id, .amount = m.amount});
  if (!account.ever_assessed) {
    // contract 3 "Unknown account": kept in full as credit; money is never dropped.
    account.payments.back().credit = m.amount;
    ctx.outputs.distributions.push_back(Distribution{.event_id = ctx.event_id,
                                                     .account_id = account.id,
                                                     .payment_id = m.payment_id,
                                                     .kind = DistributionKind::applied,
                                                     .business_date = ctx.business_date,
                                                     .lines = {},
                                                     .credit = m.amount});
    Activity& a = ctx.activity(account, ActivityType::unmatched_payment);
    a.payment_id = m.payment_id;
    a.amount = m.amount;
    return Ok{};
  }
  distribute_payment(account, index, m, ctx);
  complete_settled_arrangements(account, ctx);
  return Ok{};
}

Status handle(Account& account, const PaymentReturned& m, Context& ctx) {
  auto it = std::find_if(account.payments.begin(), account.payments.end(),
                         [&](const PaymentRecord& p) { return p.id == m.payment_id; });
  if (it == account.payments.end()) return reject(fmt::format("payment \"{}\" does not exist", m.payment_id));
  if (it->returned) return reject(fmt::format("payment \"{}\" was already returned", m.payment_id));
  const auto index = static_cast<std::uint32_t>(it - account.payments.begin());
  for (const DistributionLine& line : it->lines) {
    Obligation* o = account.find_obligation(line.obligation_id);
    PAYDIST_INVARIANT(o != nullptr);
    auto restored = o->balance[line.component].checked_add(line.amount);
    if (!restored) return reject("return would overflow a balance");
    o->balance[line.component] = *restored;
  }
  if (!sums_fit(account)) return reject("return would overflow the account's debt");
  it->returned = true;
  // contract 3: the instalments it paid become unpaid again, in any status; nothing reopens.
  for (Arrangement& a : account.arrangements) unpay(a, index, m.return_date, m.reason_code);
  ctx.outputs.distributions.push_back(Distribution{.event_id = ctx.event_id,
                                                   .account_id = account.id,
                                                   .payment_id = m.payment_id,
                                                   .kind = DistributionKind::reversed,
                                                   .business_date = ctx.business_date,
                                                   .lines = it->lines,
                                                   .credit = it->credit,
                                                   .arrangement_id = std::nullopt,
                                                   .reason_code = m.reason_code});
  return Ok{};
}

// --- deadlines ---------------------------------------------------------------------

// The missed instalment a break reports: earliest deadline, ties by earliest due date.
const Instalment* first_missed(const Arrangement& a, Date on, const Rules& rules) {
  const Instalment* best = nullptr;
  Date best_deadline;
  for (const Instalment& i : a.instalments) {
    if (i.skipped || i.paid() >= i.amount) continue;
    const Date deadline = break_deadline(a, i, rules);
    if (deadline > on) continue;
    if (!best || deadline < best_deadline || (deadline == best_deadline && i.due_date < best->due_date)) {
      best = &i;
      best_deadline = deadline;
    }
  }
  return best;
}

void fire_breaks(Account& account, Date on, Context& ctx) {
  for (Arrangement& a : account.arrangements) {
    if (a.status != ArrangementStatus::current) continue;
    const Instalment* missed = first_missed(a, on, ctx.rules);
    if (!missed) continue;
    a.status = ArrangementStatus::broken;
    Activity& act = ctx.activity(account, ActivityType::broken_arrangement);
    act.arrangement_id = a.id;
    act.kind = a.kind;
    act.missed_due_date = missed->due_date;
    act.amount = *missed->amount.checked_sub(missed->paid());
    if (a.kind == ArrangementKind::direct_debit && missed->return_date)
      act.reason_code = missed->return_reason_code;
  }
}

void fire_due_checks(Account& account, Date on, Context& ctx) {
  std::vector<std::size_t> due;
  for (std::size_t i = 0; i < account.obligations.size(); ++i) {
    const Obligation& o = account.obligations[i];
    if (!o.due_checked && o.due_date.plus_days(1) <= on) due.push_back(i);
  }
  std::sort(due.begin(), due.end(), [&](std::size_t x, std::size_t y) {
    const Obligation& a = account.obligations[x];
    const Obligation& b = account.obligations[y];
    return a.due_date != b.due_date ? a.due_date < b.due_date : a.id < b.id;
  });
  for (std::size_t i : due) {
    Obligation& o = account.obligations[i];
    o.due_checked = true;  // contract 6: checked once per obligation, plan-ineligible too
    if (o.total().is_positive() && !account.covering(o.id) && over_threshold(account, ctx.rules)) {
      emit_no_arrangement(account, NoArrangementTrigger::debt_due, ctx);
      ctx.outputs.activities.back().obligation_id = o.id;
    }
  }
}

void fire_reviews(Account& account, Date on, Context& ctx) {
  std::vector<PendingReview> waiting;
  std::vector<PendingReview> ripe;
  for (PendingReview& r : account.reviews) (r.due <= on ? ripe : waiting).push_back(std::move(r));
  account.reviews = std::move(waiting);
  for (const PendingReview& r : ripe) {
    const Arrangement* a = account.find_arrangement(r.arrangement_id);
    PAYDIST_INVARIANT(a != nullptr);
    if (!is_open(a->status)) continue;  // contract 6: only if still open
    Activity& act = ctx.activity(account, ActivityType::review_due);
    act.arrangement_id = r.arrangement_id;
    act.requested_by = RequestedBy::agency;
  }
}

}  // namespace

bool sums_fit(const Account& account) {
  Money debt;
  for (const Obligation& o : account.obligations) {
    auto sum = o.balance.tax.checked_add(o.balance.penalty);
    if (!sum) return false;
    sum = sum->checked_add(o.balance.interest);
    if (!sum) return false;
    auto next = debt.checked_add(*sum);
    if (!next) return false;
    debt = *next;
  }
  return true;
}

void complete_settled_arrangements(Account& account, Context& ctx) {
  for (Arrangement& a : account.arrangements) {
    if (a.status != ArrangementStatus::current && a.status != ArrangementStatus::broken) continue;
    const bool settled = std::all_of(a.covered.begin(), a.covered.end(), [&](const ObligationId& id) {
      return account.find_obligation(id)->total().is_zero();
    });
    if (!settled) continue;
    a.status = ArrangementStatus::completed;
    a.closing_date = ctx.business_date;
    ctx.activity(account, ActivityType::arrangement_completed).arrangement_id = a.id;
  }
}

Status apply_message(Account& account, const Message& message, Context& ctx) {
  Status status = std::visit(
      [&](const auto& m) -> Status {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, BusinessDate>) {
          PAYDIST_INVARIANT(!"a business_date message is not an account message");
          return Ok{};
        } else {
          return handle(account, m, ctx);
        }
      },
      message);
  if (!status) return status;
  if (!sums_fit(account)) return reject("message would overflow the account's money range");
  return status;
}

std::optional<Date> next_deadline(const Account& account, const Rules& rules) {
  std::optional<Date> next;
  auto consider = [&](Date d) {
    if (!next || d < *next) next = d;
  };
  for (const Arrangement& a : account.arrangements) {
    if (a.status != ArrangementStatus::current) continue;
    for (const Instalment& i : a.instalments)
      if (!i.skipped && i.paid() < i.amount) consider(break_deadline(a, i, rules));
  }
  for (const Obligation& o : account.obligations)
    if (!o.due_checked) consider(o.due_date.plus_days(1));
  for (const PendingReview& r : account.reviews) consider(r.due);
  return next;
}

void fire_deadlines(Account& account, Date date, Context& ctx) {
  // contract 6: ties in one date go breaks, then due-date checks, then reviews.
  fire_breaks(account, date, ctx);
  fire_due_checks(account, date, ctx);
  fire_reviews(account, date, ctx);
}

}  // namespace paydist
