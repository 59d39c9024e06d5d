// core/history.cpp: renders what one cause did to an account as audit lines.
//
// With history on this runs for every message, so it writes the entry's compact form straight
// into one string: put() appends a phrase code, or money, dates, ids and numbers in binary,
// with no format string to parse, no number formatting and no temporary strings; the text is
// made only when someone reads the entry (render_entry). Stored entries render forever: keep
// what a token renders to the same byte for byte.
#include "core/history.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "core/instalments.h"

namespace paydist {
namespace {

// YYYY-MM-DD, as Date::append_to writes it ("{:04}-{:02}-{:02}"), digit by digit. A year
// outside 0-9999 (past the contract's range) takes Date::append_to itself.
void put_date_text(std::string& out, Date d) {
  const CivilDate c = d.civil();
  if (c.year < 0 || c.year > 9999) {
    d.append_to(out);
    return;
  }
  char text[10];
  auto two_digits = [&](std::size_t at, int value) {
    text[at] = static_cast<char>('0' + value / 10);
    text[at + 1] = static_cast<char>('0' + value % 10);
  };
  two_digits(0, c.year / 100);
  two_digits(2, c.year % 100);
  text[4] = '-';
  two_digits(5, c.month);
  text[7] = '-';
  two_digits(8, c.day);
  out.append(text, sizeof text);
}

// ---- The compact form (see history.h) ----
//
// Tokens, one after another:
//   0x00 .. kPhraseCount-1   phrase n of kPhrases
//   kText   varint n, n bytes   any other text: ids, codes, what no phrase holds
//   kMoney  zigzag varint       an amount in cents (written as Money::append_to does)
//   kDate   zigzag varint       a day serial (YYYY-MM-DD)
//   kNumber zigzag varint       an integer (decimal)
// kPhrases is append-only: an entry stored once must render the same forever, so a phrase
// is never changed, moved or removed; new wording is a new phrase at the end.
constexpr std::string_view kPhrases[] = {
    // 0: punctuation and connectives
    "[", "] ", "(no business date yet)", ": ", ", ", " ", "?", "(", ")", " (", " of ", " to ", " by ", " due ",
    " -> ", ", received ",
    // 16: message headers
    "obligation_assessed ", ": obligation ", "tax ", " penalty ", " interest ", ", not plan-eligible",
    "obligation_adjusted ", "arrangement_created ", " arrangement ", " covering ", ", settlement ",
    "arrangement_activated ", ": arrangement ", "arrangement_updated ", ", covers ", ", new schedule of ",
    " instalments", "instalment_skipped ", " instalment due ", "arrangement_review ", " requested by ",
    "arrangement_cancelled ", "payment ", ", for obligation ", ", for arrangement ", "payment_returned ",
    " returned ", " with reason ", "business_date ",
    // 45: payment methods, components, kinds, statuses, activity types
    "cash", "card", "bpay", "eft", "direct_debit", "cheque", "other", "tax", "penalty", "interest", "discount",
    "customer", "agency", "pending_start", "current", "broken", "completed", "cancelled", "due", "paid", "missed",
    "skipped", "BROKEN_ARRANGEMENT", "NO_ARRANGEMENT", "ARRANGEMENT_COMPLETED", "REVIEW_DUE", "UNMATCHED_PAYMENT",
    // 72: distributions
    "step 1: designated obligation", "step 2: covered by arrangement ", "step 3: oldest due date first",
    "\n  applied ", "distribution", "\n  kept ", " as account credit (step 4)", "\n  reversed ", " back onto ",
    "\n  removed ", " of credit", "\n  wrote off ", " (discount ", " settled)",
    // 86: activities
    "\n  activity ", "arrangement ", " broken, instalment due ", " short by ", " (rule: direct debit returned ",
    ", not paid again within ", " days)", " (rule: unpaid ", " days after its due date)", "debt ",
    " is over the threshold ", " (rule: arrangement ", " cancelled and no other pending or current arrangement)",
    " (rule: obligation ", " passed its due date with a balance and no arrangement)",
    " adjusted from zero to above zero with no arrangement)", " completed (rule: discount settlement ", " reached)",
    " completed (rule: every covered obligation at zero)", "review of arrangement ",
    " (rule: customer request, due at once)", " (rule: agency request, ", " days' notice ended)",
    " kept as credit (rule: no obligation was ever assessed on this account)",
    // 110: arrangements, deadlines
    "\n  arrangement ", " created pending_start: ", " instalments totalling ", ", first due ", " status ",
    " schedule replaced: ", " instalments; money applied so far re-flowed", " skipped", ": paid ",
    "business date passed the deadline of ",
};
constexpr std::size_t kPhraseCount = std::size(kPhrases);
constexpr std::uint8_t kText = 0xC0, kMoney = 0xC1, kDate = 0xC2, kNumber = 0xC3;
static_assert(kPhraseCount <= kText);
constexpr std::int64_t kDateSerialMax = 100'000'000;  // days either side of 1970-01-01

// Phrase lookup at write time: an open-addressing table over FNV-1a, built at compile time.
constexpr std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t h = 2166136261u;
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}
constexpr std::size_t kSlots = 512;  // a power of two, well over kPhraseCount
constexpr auto kPhraseSlots = [] {
  std::array<std::uint8_t, kSlots> slots{};
  for (std::uint8_t& slot : slots) slot = 0xFF;
  for (std::size_t i = 0; i < kPhraseCount; ++i) {
    std::size_t at = fnv1a(kPhrases[i]) & (kSlots - 1);
    while (slots[at] != 0xFF) {
      if (kPhrases[slots[at]] == kPhrases[i]) throw "a phrase is in kPhrases twice";
      at = (at + 1) & (kSlots - 1);
    }
    slots[at] = static_cast<std::uint8_t>(i);
  }
  return slots;
}();

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>(static_cast<std::uint8_t>(v) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_signed(std::string& out, std::uint8_t tag, std::int64_t v) {
  out += static_cast<char>(tag);
  put_varint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

// Text: one byte when it is a phrase, else a text token.
void put_text(std::string& out, std::string_view text) {
  if (text.empty()) return;
  for (std::size_t at = fnv1a(text) & (kSlots - 1); kPhraseSlots[at] != 0xFF; at = (at + 1) & (kSlots - 1))
    if (kPhrases[kPhraseSlots[at]] == text) {
      out += static_cast<char>(kPhraseSlots[at]);
      return;
    }
  out += static_cast<char>(kText);
  put_varint(out, text.size());
  out += text;
}

template <class T>
void put_one(std::string& out, const T& value) {
  static_assert(!std::is_same_v<T, bool>, "say what a flag means in words");
  if constexpr (std::is_same_v<T, Money>) {
    put_signed(out, kMoney, value.cents());
  } else if constexpr (std::is_same_v<T, Date>) {
    put_signed(out, kDate, value.serial());
  } else if constexpr (std::is_same_v<T, char>) {
    put_text(out, std::string_view{&value, 1});
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(sizeof(T) <= sizeof(std::int64_t));
    put_signed(out, kNumber, static_cast<std::int64_t>(value));
  } else if constexpr (requires { value.view(); }) {  // the ids
    put_text(out, value.view());
  } else {
    put_text(out, std::string_view{value});
  }
}

// Appends each value's token(s); rendered, each reads as fmt's "{}" would write it.
template <class... T>
void put(std::string& out, const T&... values) {
  (put_one(out, values), ...);
}

template <class Id>
void put_or_unknown(std::string& out, const std::optional<Id>& id) {
  if (id)
    put(out, *id);
  else
    put(out, "?");
}

void put_ids(std::string& out, const std::vector<ObligationId>& ids) {
  bool first = true;
  for (const ObligationId& id : ids) {
    if (!std::exchange(first, false)) put(out, ", ");
    put(out, id);
  }
}

void put_amounts(std::string& out, const Amounts& a) {
  put(out, "tax ", a.tax, " penalty ", a.penalty, " interest ", a.interest);
}

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

// "[business date] ", the start of every entry.
void put_business_date(std::string& out, std::optional<Date> business_date) {
  put(out, "[");
  if (business_date)
    put(out, *business_date);
  else
    put(out, "(no business date yet)");
  put(out, "] ");
}

// The header line: what arrived.
void header(std::string& out, const Message& message) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ObligationAssessed>) {
          put(out, "obligation_assessed ", m.event_id, ": obligation ", m.obligation_id, " due ", m.due_date, ", ");
          put_amounts(out, m.amounts);
          if (!m.plan_eligible) put(out, ", not plan-eligible");
        } else if constexpr (std::is_same_v<T, ObligationAdjusted>) {
          put(out, "obligation_adjusted ", m.event_id, ": obligation ", m.obligation_id, " by ");
          put_amounts(out, m.deltas);
        } else if constexpr (std::is_same_v<T, ArrangementCreated>) {
          put(out, "arrangement_created ", m.event_id, ": ", to_string(m.kind), " arrangement ", m.arrangement_id,
              " covering ");
          put_ids(out, m.covered_obligations);
          if (m.settlement_amount) put(out, ", settlement ", *m.settlement_amount);
        } else if constexpr (std::is_same_v<T, ArrangementActivated>) {
          put(out, "arrangement_activated ", m.event_id, ": arrangement ", m.arrangement_id);
        } else if constexpr (std::is_same_v<T, ArrangementUpdated>) {
          put(out, "arrangement_updated ", m.event_id, ": arrangement ", m.arrangement_id);
          if (m.covered_obligations) {
            put(out, ", covers ");
            put_ids(out, *m.covered_obligations);
          }
          if (m.schedule) put(out, ", new schedule of ", m.schedule->size(), " instalments");
        } else if constexpr (std::is_same_v<T, InstalmentSkipped>) {
          put(out, "instalment_skipped ", m.event_id, ": arrangement ", m.arrangement_id, " instalment due ",
              m.due_date);
        } else if constexpr (std::is_same_v<T, ArrangementReview>) {
          put(out, "arrangement_review ", m.event_id, ": arrangement ", m.arrangement_id, " requested by ",
              to_string(m.requested_by));
        } else if constexpr (std::is_same_v<T, ArrangementCancelled>) {
          put(out, "arrangement_cancelled ", m.event_id, ": arrangement ", m.arrangement_id);
        } else if constexpr (std::is_same_v<T, Payment>) {
          put(out, "payment ", m.event_id, ": ", m.payment_id, " of ", m.amount, " by ", method_name(m.method),
              ", received ", m.received_date);
          if (m.obligation_id) put(out, ", for obligation ", *m.obligation_id);
          if (m.arrangement_id) put(out, ", for arrangement ", *m.arrangement_id);
        } else if constexpr (std::is_same_v<T, PaymentReturned>) {
          put(out, "payment_returned ", m.event_id, ": ", m.payment_id, " returned ", m.return_date,
              " with reason ", m.reason_code);
        } else {
          put(out, "business_date ", m.event_id, ": ", m.date);
        }
      },
      message);
}

// contract 3 step 2: the arrangement that, as it was before the payment, covered the line's
// obligation and could take the payment.
const Arrangement* step2_owner(const Payment& p, const ObligationId& id, const AccountSnapshot& before,
                               const Account& after) {
  for (std::size_t i = 0; i < before.arrangements.size(); ++i) {
    const AccountSnapshot::ArrangementView& view = before.arrangements[i];
    if (view.status != ArrangementStatus::current && view.status != ArrangementStatus::broken) continue;
    if (p.arrangement_id && after.arrangements[i].id != *p.arrangement_id) continue;
    const auto first = before.covered.begin() + view.covered_begin;
    const auto last = before.covered.begin() + view.covered_end;
    if (std::find(first, last, id) != last) return &after.arrangements[i];
  }
  return nullptr;
}

// contract 3 steps 1-3: which step paid a line, inferred from the payment and the
// arrangements as they were before it. Lines come in payment order and the step only moves
// on, so `phase` carries it from one line to the next (start: 1 with a designated
// obligation, else 2).
void put_step(std::string& out, const Payment& p, int& phase, const ObligationId& line_obligation,
              const AccountSnapshot& before, const Account& after) {
  if (phase == 1 && line_obligation == *p.obligation_id) {
    put(out, "step 1: designated obligation");
    return;
  }
  if (phase < 3) {
    phase = 2;
    if (const Arrangement* owner = step2_owner(p, line_obligation, before, after)) {
      put(out, "step 2: covered by arrangement ", owner->id);
      return;
    }
  }
  phase = 3;
  put(out, "step 3: oldest due date first");
}

void describe_distribution(std::string& out, const Distribution& d, const Message* message,
                           const AccountSnapshot& before, const Account& after) {
  switch (d.kind) {
    case DistributionKind::applied: {
      const Payment* p = message ? std::get_if<Payment>(message) : nullptr;
      int phase = p && p->obligation_id ? 1 : 2;
      for (const DistributionLine& line : d.lines) {
        put(out, "\n  applied ", line.amount, " to ", line.obligation_id, ' ', to_string(line.component), " (");
        if (p)
          put_step(out, *p, phase, line.obligation_id, before, after);
        else
          put(out, "distribution");
        put(out, ")");
      }
      if (d.credit.is_positive()) put(out, "\n  kept ", d.credit, " as account credit (step 4)");
      break;
    }
    case DistributionKind::reversed:
      for (const DistributionLine& line : d.lines)
        put(out, "\n  reversed ", line.amount, " back onto ", line.obligation_id, ' ', to_string(line.component));
      if (d.credit.is_positive()) put(out, "\n  removed ", d.credit, " of credit");
      break;
    case DistributionKind::write_off:
      for (const DistributionLine& line : d.lines) {
        put(out, "\n  wrote off ", line.amount, " of ", line.obligation_id, ' ', to_string(line.component),
            " (discount ");
        put_or_unknown(out, d.arrangement_id);
        put(out, " settled)");
      }
      break;
  }
}

void describe_activity(std::string& out, const Activity& a, const Account& after, const Outputs& outputs,
                       const Rules& rules) {
  put(out, "\n  activity ", to_string(a.type), ' ', a.activity_id, ": ");
  switch (a.type) {
    case ActivityType::broken_arrangement: {
      put(out, "arrangement ", *a.arrangement_id, " broken, instalment due ", a.missed_due_date, " short by ",
          a.amount);
      const Arrangement* arr = after.find_arrangement(*a.arrangement_id);
      const Instalment* inst = nullptr;
      if (arr)
        for (const Instalment& i : arr->instalments)
          if (i.due_date == a.missed_due_date) inst = &i;
      if (a.reason_code && inst && inst->return_date)
        put(out, " (rule: direct debit returned ", *inst->return_date, " with reason ", *a.reason_code,
            ", not paid again within ", rules.dd_return_grace_days, " days)");
      else
        put(out, " (rule: unpaid ", rules.cash_grace_days, " days after its due date)");
      break;
    }
    case ActivityType::no_arrangement:
      put(out, "debt ", a.debt_balance, " is over the threshold ", rules.no_arrangement_threshold);
      if (a.trigger == NoArrangementTrigger::arrangement_cancelled) {
        put(out, " (rule: arrangement ");
        put_or_unknown(out, a.arrangement_id);
        put(out, " cancelled and no other pending or current arrangement)");
      } else {
        put(out, " (rule: obligation ");
        put_or_unknown(out, a.obligation_id);
        put(out, a.trigger == NoArrangementTrigger::debt_due
                     ? " passed its due date with a balance and no arrangement)"
                     : " adjusted from zero to above zero with no arrangement)");
      }
      break;
    case ActivityType::arrangement_completed: {
      const bool settled = std::any_of(outputs.distributions.begin(), outputs.distributions.end(), [&](const Distribution& d) {
        return d.kind == DistributionKind::write_off && d.arrangement_id == a.arrangement_id;
      });
      const Arrangement* arr = after.find_arrangement(*a.arrangement_id);
      if (settled || (arr && arr->kind == ArrangementKind::discount && arr->applied() >= arr->settlement))
        put(out, "arrangement ", *a.arrangement_id, " completed (rule: discount settlement ",
            arr ? arr->settlement : Money{}, " reached)");
      else
        put(out, "arrangement ", *a.arrangement_id, " completed (rule: every covered obligation at zero)");
      break;
    }
    case ActivityType::review_due:
      if (a.requested_by == RequestedBy::customer)
        put(out, "review of arrangement ", *a.arrangement_id, " (rule: customer request, due at once)");
      else
        put(out, "review of arrangement ", *a.arrangement_id, " (rule: agency request, ", rules.review_notice_days,
            " days' notice ended)");
      break;
    case ActivityType::unmatched_payment:
      put(out, "payment ", *a.payment_id, " of ", a.amount,
          " kept as credit (rule: no obligation was ever assessed on this account)");
      break;
  }
}

void describe_arrangements(std::string& out, const AccountSnapshot& before, const Account& after,
                           std::optional<Date> business_date, const Rules& rules) {
  for (std::size_t i = 0; i < after.arrangements.size(); ++i) {
    const Arrangement& arr = after.arrangements[i];
    if (i >= before.arrangements.size()) {
      Money total;
      for (const Instalment& inst : arr.instalments) total = *total.checked_add(inst.amount);
      put(out, "\n  arrangement ", arr.id, " created pending_start: ", arr.instalments.size(),
          " instalments totalling ", total, ", first due ", arr.instalments.front().due_date);
      continue;
    }
    const AccountSnapshot::ArrangementView& was = before.arrangements[i];
    if (was.status != arr.status)
      put(out, "\n  arrangement ", arr.id, " status ", to_string(was.status), " -> ", to_string(arr.status));
    if (was.instalments_end - was.instalments_begin != arr.instalments.size()) {
      put(out, "\n  arrangement ", arr.id, " schedule replaced: ", arr.instalments.size(),
          " instalments; money applied so far re-flowed");
      continue;
    }
    const AccountSnapshot::InstalmentView* was_instalments = before.instalments.data() + was.instalments_begin;
    for (std::size_t k = 0; k < arr.instalments.size(); ++k) {
      const Instalment& inst = arr.instalments[k];
      const AccountSnapshot::InstalmentView& was_inst = was_instalments[k];
      if (inst.skipped && !was_inst.skipped)
        put(out, "\n  arrangement ", arr.id, " instalment due ", inst.due_date, " skipped");
      const Money paid = inst.paid();
      if (paid != was_inst.paid)
        put(out, "\n  arrangement ", arr.id, " instalment due ", inst.due_date, ": paid ", was_inst.paid, " -> ",
            paid, " of ", inst.amount, " (", to_string(instalment_status(arr, inst, business_date, rules)), ')');
    }
  }
}

}  // namespace

AccountSnapshot AccountSnapshot::of(const Account& account) {
  AccountSnapshot s;
  s.obligations = account.obligations.size();
  if (account.arrangements.empty()) return s;
  std::size_t covered = 0;
  std::size_t instalments = 0;
  for (const Arrangement& a : account.arrangements) {
    covered += a.covered.size();
    instalments += a.instalments.size();
  }
  s.arrangements.reserve(account.arrangements.size());
  s.covered.reserve(covered);
  s.instalments.reserve(instalments);
  for (const Arrangement& a : account.arrangements) {
    ArrangementView view{a.status, static_cast<std::uint32_t>(s.covered.size()), 0,
                         static_cast<std::uint32_t>(s.instalments.size()), 0};
    s.covered.insert(s.covered.end(), a.covered.begin(), a.covered.end());
    for (const Instalment& i : a.instalments) s.instalments.push_back({i.paid(), i.skipped});
    view.covered_end = static_cast<std::uint32_t>(s.covered.size());
    view.instalments_end = static_cast<std::uint32_t>(s.instalments.size());
    s.arrangements.push_back(view);
  }
  return s;
}

std::string describe(const AccountSnapshot& before, const Account& after, const Message* message,
                     std::optional<Date> deadline, const Outputs& outputs, std::optional<Date> business_date,
                     const Rules& rules) {
  std::string entry;
  if (message) {
    entry.reserve(96);  // most entries fit: one allocation
    put_business_date(entry, business_date);
    header(entry, *message);
  }
  for (const Distribution& d : outputs.distributions) describe_distribution(entry, d, message, before, after);
  describe_arrangements(entry, before, after, business_date, rules);
  for (const Activity& a : outputs.activities) describe_activity(entry, a, after, outputs, rules);
  if (message || entry.empty()) return entry;  // a deadline that changed nothing: no entry

  // A deadline's header goes in front of the body it found: written after it, rotated
  // (whole tokens either side).
  const std::size_t body = entry.size();
  put_business_date(entry, business_date);
  put(entry, "business date passed the deadline of ", *deadline);
  std::rotate(entry.begin(), entry.begin() + static_cast<std::ptrdiff_t>(body), entry.end());
  return entry;
}

Result<std::string> render_entry(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 3);
  std::size_t at = 0;
  auto varint = [&](std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && at < compact.size(); shift += 7) {
      const auto byte = static_cast<std::uint8_t>(compact[at++]);
      v |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  };
  auto signed_value = [&](std::int64_t& v) {
    std::uint64_t z = 0;
    if (!varint(z)) return false;
    v = static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
    return true;
  };
  while (at < compact.size()) {
    const std::size_t token_at = at;
    const auto tag = static_cast<std::uint8_t>(compact[at++]);
    if (tag < kPhraseCount) {
      out += kPhrases[tag];
      continue;
    }
    std::uint64_t size = 0;
    std::int64_t value = 0;
    bool ok = false;
    switch (tag) {
      case kText:
        ok = varint(size) && size <= compact.size() - at;
        if (ok) {
          out += compact.substr(at, size);
          at += size;
        }
        break;
      case kMoney:
        ok = signed_value(value);
        if (ok) Money::from_cents(value).append_to(out);
        break;
      case kDate:
        // Entries hold dates of years 1-9999 and a few days past them; far beyond, the civil
        // date arithmetic would overflow.
        ok = signed_value(value) && value >= -kDateSerialMax && value <= kDateSerialMax;
        if (ok) put_date_text(out, Date::from_serial(static_cast<std::int32_t>(value)));
        break;
      case kNumber: {
        ok = signed_value(value);
        char text[24];
        if (ok) out.append(text, static_cast<std::size_t>(std::to_chars(text, text + sizeof text, value).ptr - text));
        break;
      }
      default:
        return Error{fmt::format("history entry with an unknown token {:#04x} at byte {}", tag, token_at)};
    }
    if (!ok) return Error{fmt::format("history entry with a token cut short at byte {}", token_at)};
  }
  return out;
}

}  // namespace paydist
