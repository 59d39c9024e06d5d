// core/history.cpp: renders what one cause did to an account as audit lines.
#include "core/history.h"

#include <algorithm>
#include <iterator>

#include "core/instalments.h"

namespace paydist {
namespace {

using Out = std::back_insert_iterator<std::string>;

std::string date_text(std::optional<Date> d) { return d ? d->to_string() : std::string{"(no business date yet)"}; }

const char* method_name(PaymentMethod m) {
  switch (m) {
    case PaymentMethod::cash: return "cash";
    case PaymentMethod::card: return "card";
    case PaymentMethod::bpay: return "bpay";
    case PaymentMethod::eft: return "eft";
    case PaymentMethod::direct_debit: return "direct_debit";
    case PaymentMethod::cheque: return "cheque";
    case PaymentMethod::other: return "other";
  }
  return "?";
}

std::string amounts_text(const Amounts& a) {
  return fmt::format("tax {} penalty {} interest {}", a.tax, a.penalty, a.interest);
}

std::string ids_text(const std::vector<ObligationId>& ids) {
  std::string out;
  for (const ObligationId& id : ids) {
    if (!out.empty()) out += ", ";
    out += id.str();
  }
  return out;
}

// The header line: what arrived.
void header(Out out, const Message& message) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ObligationAssessed>) {
          fmt::format_to(out, "obligation_assessed {}: obligation {} due {}, {}{}", m.event_id, m.obligation_id,
                         m.due_date, amounts_text(m.amounts), m.plan_eligible ? "" : ", not plan-eligible");
        } else if constexpr (std::is_same_v<T, ObligationAdjusted>) {
          fmt::format_to(out, "obligation_adjusted {}: obligation {} by {}", m.event_id, m.obligation_id,
                         amounts_text(m.deltas));
        } else if constexpr (std::is_same_v<T, ArrangementCreated>) {
          fmt::format_to(out, "arrangement_created {}: {} arrangement {} covering {}", m.event_id, to_string(m.kind),
                         m.arrangement_id, ids_text(m.covered_obligations));
          if (m.settlement_amount) fmt::format_to(out, ", settlement {}", *m.settlement_amount);
        } else if constexpr (std::is_same_v<T, ArrangementActivated>) {
          fmt::format_to(out, "arrangement_activated {}: arrangement {}", m.event_id, m.arrangement_id);
        } else if constexpr (std::is_same_v<T, ArrangementUpdated>) {
          fmt::format_to(out, "arrangement_updated {}: arrangement {}{}{}", m.event_id, m.arrangement_id,
                         m.covered_obligations ? ", covers " + ids_text(*m.covered_obligations) : "",
                         m.schedule ? fmt::format(", new schedule of {} instalments", m.schedule->size()) : "");
        } else if constexpr (std::is_same_v<T, InstalmentSkipped>) {
          fmt::format_to(out, "instalment_skipped {}: arrangement {} instalment due {}", m.event_id, m.arrangement_id,
                         m.due_date);
        } else if constexpr (std::is_same_v<T, ArrangementReview>) {
          fmt::format_to(out, "arrangement_review {}: arrangement {} requested by {}", m.event_id, m.arrangement_id,
                         to_string(m.requested_by));
        } else if constexpr (std::is_same_v<T, ArrangementCancelled>) {
          fmt::format_to(out, "arrangement_cancelled {}: arrangement {}", m.event_id, m.arrangement_id);
        } else if constexpr (std::is_same_v<T, Payment>) {
          fmt::format_to(out, "payment {}: {} of {} by {}, received {}", m.event_id, m.payment_id, m.amount,
                         method_name(m.method), m.received_date);
          if (m.obligation_id) fmt::format_to(out, ", for obligation {}", *m.obligation_id);
          if (m.arrangement_id) fmt::format_to(out, ", for arrangement {}", *m.arrangement_id);
        } else if constexpr (std::is_same_v<T, PaymentReturned>) {
          fmt::format_to(out, "payment_returned {}: {} returned {} with reason {}", m.event_id, m.payment_id,
                         m.return_date, m.reason_code);
        } else {
          fmt::format_to(out, "business_date {}: {}", m.event_id, m.date);
        }
      },
      message);
}

// contract 3 steps 1-3: which step paid each line, inferred from the payment and the
// arrangements as they were before it.
std::vector<std::string> line_steps(const Payment& p, const AccountSnapshot& before, const Account& after,
                                    const std::vector<DistributionLine>& lines) {
  auto step2_owner = [&](const ObligationId& id) -> const Arrangement* {
    for (std::size_t i = 0; i < before.arrangements.size(); ++i) {
      const auto& view = before.arrangements[i];
      if (view.status != ArrangementStatus::current && view.status != ArrangementStatus::broken) continue;
      if (p.arrangement_id && after.arrangements[i].id != *p.arrangement_id) continue;
      if (std::find(view.covered.begin(), view.covered.end(), id) != view.covered.end()) return &after.arrangements[i];
    }
    return nullptr;
  };
  std::vector<std::string> steps;
  int phase = p.obligation_id ? 1 : 2;
  for (const DistributionLine& line : lines) {
    if (phase == 1 && line.obligation_id == *p.obligation_id) {
      steps.emplace_back("step 1: designated obligation");
      continue;
    }
    if (phase < 3) {
      phase = 2;
      if (const Arrangement* owner = step2_owner(line.obligation_id)) {
        steps.push_back(fmt::format("step 2: covered by arrangement {}", owner->id));
        continue;
      }
    }
    phase = 3;
    steps.emplace_back("step 3: oldest due date first");
  }
  return steps;
}

void describe_distribution(Out out, const Distribution& d, const Message* message, const AccountSnapshot& before,
                           const Account& after) {
  switch (d.kind) {
    case DistributionKind::applied: {
      const Payment* p = message ? std::get_if<Payment>(message) : nullptr;
      std::vector<std::string> steps = p ? line_steps(*p, before, after, d.lines) : std::vector<std::string>{};
      for (std::size_t i = 0; i < d.lines.size(); ++i)
        fmt::format_to(out, "\n  applied {} to {} {} ({})", d.lines[i].amount, d.lines[i].obligation_id,
                       to_string(d.lines[i].component), i < steps.size() ? steps[i] : "distribution");
      if (d.credit.is_positive()) fmt::format_to(out, "\n  kept {} as account credit (step 4)", d.credit);
      break;
    }
    case DistributionKind::reversed:
      for (const DistributionLine& line : d.lines)
        fmt::format_to(out, "\n  reversed {} back onto {} {}", line.amount, line.obligation_id, to_string(line.component));
      if (d.credit.is_positive()) fmt::format_to(out, "\n  removed {} of credit", d.credit);
      break;
    case DistributionKind::write_off:
      for (const DistributionLine& line : d.lines)
        fmt::format_to(out, "\n  wrote off {} of {} {} (discount {} settled)", line.amount, line.obligation_id,
                       to_string(line.component), d.arrangement_id ? d.arrangement_id->str() : "?");
      break;
  }
}

void describe_activity(Out out, const Activity& a, const Account& after, const Outputs& outputs, const Rules& rules) {
  fmt::format_to(out, "\n  activity {} {}: ", to_string(a.type), a.activity_id);
  switch (a.type) {
    case ActivityType::broken_arrangement: {
      fmt::format_to(out, "arrangement {} broken, instalment due {} short by {}", *a.arrangement_id, a.missed_due_date,
                     a.amount);
      const Arrangement* arr = after.find_arrangement(*a.arrangement_id);
      const Instalment* inst = nullptr;
      if (arr)
        for (const Instalment& i : arr->instalments)
          if (i.due_date == a.missed_due_date) inst = &i;
      if (a.reason_code && inst && inst->return_date)
        fmt::format_to(out, " (rule: direct debit returned {} with reason {}, not paid again within {} days)",
                       *inst->return_date, *a.reason_code, rules.dd_return_grace_days);
      else
        fmt::format_to(out, " (rule: unpaid {} days after its due date)", rules.cash_grace_days);
      break;
    }
    case ActivityType::no_arrangement:
      fmt::format_to(out, "debt {} is over the threshold {}", a.debt_balance, rules.no_arrangement_threshold);
      if (a.trigger == NoArrangementTrigger::arrangement_cancelled)
        fmt::format_to(out, " (rule: arrangement {} cancelled and no other pending or current arrangement)",
                       a.arrangement_id ? a.arrangement_id->str() : "?");
      else if (a.trigger == NoArrangementTrigger::debt_due)
        fmt::format_to(out, " (rule: obligation {} passed its due date with a balance and no arrangement)",
                       a.obligation_id ? a.obligation_id->str() : "?");
      else
        fmt::format_to(out, " (rule: obligation {} adjusted from zero to above zero with no arrangement)",
                       a.obligation_id ? a.obligation_id->str() : "?");
      break;
    case ActivityType::arrangement_completed: {
      const bool settled = std::any_of(outputs.distributions.begin(), outputs.distributions.end(), [&](const Distribution& d) {
        return d.kind == DistributionKind::write_off && d.arrangement_id == a.arrangement_id;
      });
      const Arrangement* arr = after.find_arrangement(*a.arrangement_id);
      if (settled || (arr && arr->kind == ArrangementKind::discount && arr->applied() >= arr->settlement))
        fmt::format_to(out, "arrangement {} completed (rule: discount settlement {} reached)", *a.arrangement_id,
                       arr ? arr->settlement : Money{});
      else
        fmt::format_to(out, "arrangement {} completed (rule: every covered obligation at zero)", *a.arrangement_id);
      break;
    }
    case ActivityType::review_due:
      if (a.requested_by == RequestedBy::customer)
        fmt::format_to(out, "review of arrangement {} (rule: customer request, due at once)", *a.arrangement_id);
      else
        fmt::format_to(out, "review of arrangement {} (rule: agency request, {} days' notice ended)", *a.arrangement_id,
                       rules.review_notice_days);
      break;
    case ActivityType::unmatched_payment:
      fmt::format_to(out, "payment {} of {} kept as credit (rule: no obligation was ever assessed on this account)",
                     *a.payment_id, a.amount);
      break;
  }
}

void describe_arrangements(Out out, const AccountSnapshot& before, const Account& after, std::optional<Date> business_date,
                           const Rules& rules) {
  for (std::size_t i = 0; i < after.arrangements.size(); ++i) {
    const Arrangement& arr = after.arrangements[i];
    if (i >= before.arrangements.size()) {
      Money total;
      for (const Instalment& inst : arr.instalments) total = *total.checked_add(inst.amount);
      fmt::format_to(out, "\n  arrangement {} created pending_start: {} instalments totalling {}, first due {}",
                     arr.id, arr.instalments.size(), total, arr.instalments.front().due_date);
      continue;
    }
    const auto& was = before.arrangements[i];
    if (was.status != arr.status)
      fmt::format_to(out, "\n  arrangement {} status {} -> {}", arr.id, to_string(was.status), to_string(arr.status));
    if (was.paid.size() != arr.instalments.size()) {
      fmt::format_to(out, "\n  arrangement {} schedule replaced: {} instalments; money applied so far re-flowed",
                     arr.id, arr.instalments.size());
      continue;
    }
    for (std::size_t k = 0; k < arr.instalments.size(); ++k) {
      const Instalment& inst = arr.instalments[k];
      if (inst.skipped && !was.skipped[k])
        fmt::format_to(out, "\n  arrangement {} instalment due {} skipped", arr.id, inst.due_date);
      const Money paid = inst.paid();
      if (paid != was.paid[k])
        fmt::format_to(out, "\n  arrangement {} instalment due {}: paid {} -> {} of {} ({})", arr.id, inst.due_date,
                       was.paid[k], paid, inst.amount, to_string(instalment_status(arr, inst, business_date, rules)));
    }
  }
}

}  // namespace

AccountSnapshot AccountSnapshot::of(const Account& account) {
  AccountSnapshot s;
  s.obligations = account.obligations.size();
  s.arrangements.reserve(account.arrangements.size());
  for (const Arrangement& a : account.arrangements) {
    ArrangementView view{a.status, a.covered, {}, {}};
    for (const Instalment& i : a.instalments) {
      view.paid.push_back(i.paid());
      view.skipped.push_back(i.skipped);
    }
    s.arrangements.push_back(std::move(view));
  }
  return s;
}

std::string describe(const AccountSnapshot& before, const Account& after, const Message* message,
                     std::optional<Date> deadline, const Outputs& outputs, std::optional<Date> business_date,
                     const Rules& rules) {
  std::string body;
  Out out{body};
  for (const Distribution& d : outputs.distributions) describe_distribution(out, d, message, before, after);
  describe_arrangements(out, before, after, business_date, rules);
  for (const Activity& a : outputs.activities) describe_activity(out, a, after, outputs, rules);
  if (!message && body.empty()) return {};

  std::string entry = fmt::format("[{}] ", date_text(business_date));
  Out head{entry};
  if (message)
    header(head, *message);
  else
    fmt::format_to(head, "business date passed the deadline of {}", *deadline);
  entry += body;
  return entry;
}

}  // namespace paydist
