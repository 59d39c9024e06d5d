// tests/fuzz/engine_fuzz.cpp: libFuzzer target for the engine fed message sequences. The
// input is split into lines; each line goes through contract 6's order of checks as
// connectors/message_apply.cpp does it (decode, envelope, redelivery, engine) into one
// in-memory timeline (core/memory_state.h). After every line the whole state is checked:
// money is conserved (every obligation's balance = assessed + adjusted - applied - written
// off + reversed; every account's credit = the credit of its payments not returned; each
// applied distribution's lines + credit = the payment), no balance is negative, instalment
// accounting adds up, no deadline is left unfired, a rejected or redelivered message
// changed nothing and emitted nothing, activity ids are never reused, and every output
// (and `inspect` of every account) is one valid JSON object.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "connectors/codec.h"
#include "core/engine.h"
#include "core/instalments.h"
#include "core/memory_state.h"
#include "core/processor.h"
#include "tests/fuzz/fuzz_check.h"

namespace paydist::fuzz {
namespace {

using ObligationKey = std::pair<std::string, std::string>;  // (account, obligation)
using PaymentKey = std::pair<std::string, std::string>;     // (account, payment)

// What the accepted messages and the outputs say the money should be, kept apart from the
// engine's own state and compared with it after every message.
struct Ledger {
  std::map<ObligationKey, Amounts> balances;
  std::map<std::string, Money> credit;
  std::map<PaymentKey, Money> payments;
  std::set<std::string> activity_ids;
};

Money plus(Money a, Money b) {
  std::optional<Money> sum = a.checked_add(b);
  PAYDIST_FUZZ_CHECK(sum.has_value(), "ledger sum overflows: {} + {}", a, b);
  return *sum;
}

Money minus(Money a, Money b) {
  std::optional<Money> difference = a.checked_sub(b);
  PAYDIST_FUZZ_CHECK(difference.has_value(), "ledger difference overflows: {} - {}", a, b);
  return *difference;
}

// The accepted message's own money: assessments set balances, adjustments move them,
// payments are remembered for their distribution.
void record_message(Ledger& ledger, const Message& message) {
  if (const auto* m = std::get_if<ObligationAssessed>(&message))
    ledger.balances[{m->account_id.str(), m->obligation_id.str()}] = m->amounts;
  if (const auto* m = std::get_if<ObligationAdjusted>(&message)) {
    Amounts& balance = ledger.balances[{m->account_id.str(), m->obligation_id.str()}];
    for (Component c : kComponents) balance[c] = plus(balance[c], m->deltas[c]);
  }
  if (const auto* m = std::get_if<Payment>(&message))
    ledger.payments[{m->account_id.str(), m->payment_id.str()}] = m->amount;
}

void record_outputs(Ledger& ledger, const Outputs& outputs) {
  std::string json;
  for (const Activity& a : outputs.activities) {
    PAYDIST_FUZZ_CHECK(ledger.activity_ids.insert(a.activity_id).second, "activity id {} used twice",
                       a.activity_id);
    json.clear();
    append_activity_json(json, a);
    PAYDIST_FUZZ_CHECK(is_json_object_line(json), "activity is not one JSON object line: {}", json);
  }
  for (const Distribution& d : outputs.distributions) {
    json.clear();
    append_distribution_json(json, d);
    PAYDIST_FUZZ_CHECK(is_json_object_line(json), "distribution is not one JSON object line: {}", json);
    Money sum = d.credit;
    for (const DistributionLine& line : d.lines) {
      PAYDIST_FUZZ_CHECK(line.amount.is_positive(), "distribution line of {} in {}", line.amount, json);
      sum = plus(sum, line.amount);
      Money& balance = ledger.balances[{d.account_id.str(), line.obligation_id.str()}][line.component];
      balance = d.kind == DistributionKind::reversed ? plus(balance, line.amount) : minus(balance, line.amount);
    }
    Money& credit = ledger.credit[d.account_id.str()];
    switch (d.kind) {
      case DistributionKind::applied: {
        PAYDIST_FUZZ_CHECK(d.payment_id.has_value(), "applied distribution without a payment: {}", json);
        const Money paid = ledger.payments[{d.account_id.str(), d.payment_id->str()}];
        PAYDIST_FUZZ_CHECK(sum == paid, "lines + credit {} != payment {}: {}", sum, paid, json);
        credit = plus(credit, d.credit);
        break;
      }
      case DistributionKind::reversed:
        credit = minus(credit, d.credit);
        break;
      case DistributionKind::write_off:
        PAYDIST_FUZZ_CHECK(d.credit.is_zero() && d.arrangement_id && !d.lines.empty(), "bad write-off: {}", json);
        break;
    }
  }
}

void check_instalments(const Account& account, std::optional<Date> business_date, const Rules& rules) {
  std::vector<Money> parts_of_payment(account.payments.size());
  std::map<std::string, int> open_covers;
  for (const Arrangement& r : account.arrangements) {
    if (is_open(r.status))
      for (const ObligationId& o : r.covered) ++open_covers[o.str()];
    auto count = [&](const PaymentPart& part) {
      PAYDIST_FUZZ_CHECK(part.payment_index < account.payments.size(), "part of payment {} of {}",
                         part.payment_index, account.payments.size());
      PAYDIST_FUZZ_CHECK(part.amount.is_positive(), "part of {} in {}", part.amount, r.id);
      PAYDIST_FUZZ_CHECK(!account.payments[part.payment_index].returned, "returned payment still pays {}", r.id);
      parts_of_payment[part.payment_index] = plus(parts_of_payment[part.payment_index], part.amount);
    };
    for (const Instalment& i : r.instalments) {
      PAYDIST_FUZZ_CHECK(i.paid() <= i.amount, "{} instalment {} paid {} of {}", r.id, i.due_date, i.paid(),
                         i.amount);
      PAYDIST_FUZZ_CHECK(!i.skipped || i.parts.empty(), "{}: skipped instalment {} holds money", r.id, i.due_date);
      for (const PaymentPart& part : i.parts) count(part);
    }
    for (const PaymentPart& part : r.excess) count(part);
    if (r.kind == ArrangementKind::discount &&
        (r.status == ArrangementStatus::current || r.status == ArrangementStatus::broken)) {
      PAYDIST_FUZZ_CHECK(r.applied() < r.settlement, "open discount {} reached its settlement", r.id);
    }
    if (r.status == ArrangementStatus::current && business_date) {
      for (const Instalment& i : r.instalments)
        PAYDIST_FUZZ_CHECK(i.skipped || i.paid() >= i.amount || break_deadline(r, i, rules) > *business_date,
                           "current arrangement {} has a missed instalment {}", r.id, i.due_date);
    }
  }
  for (const auto& [obligation, covers] : open_covers)
    PAYDIST_FUZZ_CHECK(covers == 1, "{}/{} covered by {} open arrangements", account.id, obligation, covers);
  for (std::size_t p = 0; p < account.payments.size(); ++p) {
    Money lines;
    for (const DistributionLine& l : account.payments[p].lines) lines = plus(lines, l.amount);
    PAYDIST_FUZZ_CHECK(parts_of_payment[p] <= lines, "payment {} counts {} towards instalments of {} applied",
                       account.payments[p].id, parts_of_payment[p], lines);
  }
}

void check_state(MemoryState& state, const Ledger& ledger, const Rules& rules) {
  const std::optional<Date> business_date = state.timeline().business_date;
  for (const auto& [name, account] : state.accounts()) {
    Money unreturned_credit;
    for (const PaymentRecord& p : account.payments) {
      if (p.returned) continue;
      Money spread = p.credit;
      for (const DistributionLine& l : p.lines) spread = plus(spread, l.amount);
      PAYDIST_FUZZ_CHECK(spread == p.amount, "{}: payment {} of {} spread as {}", name, p.id, p.amount, spread);
      unreturned_credit = plus(unreturned_credit, p.credit);
    }
    auto credit = ledger.credit.find(name);
    const Money expected_credit = credit == ledger.credit.end() ? Money::zero() : credit->second;
    PAYDIST_FUZZ_CHECK(account.credit() == expected_credit && unreturned_credit == expected_credit,
                       "{}: credit {} (payments: {}), outputs say {}", name, account.credit(), unreturned_credit,
                       expected_credit);
    for (const Obligation& o : account.obligations) {
      for (Component c : kComponents)
        PAYDIST_FUZZ_CHECK(!o.balance[c].is_negative(), "{}/{}: negative {} {}", name, o.id, to_string(c),
                           o.balance[c]);
      auto expected = ledger.balances.find({name, o.id.str()});
      PAYDIST_FUZZ_CHECK(expected != ledger.balances.end() && expected->second == o.balance,
                         "{}/{}: balance is not assessed + adjusted - applied - written off + reversed", name, o.id);
    }
    check_instalments(account, business_date, rules);
    PAYDIST_FUZZ_CHECK(account.indexed_deadline == next_deadline(account, rules), "{}: deadline index is stale",
                       name);
    if (business_date && account.indexed_deadline)
      PAYDIST_FUZZ_CHECK(*account.indexed_deadline > *business_date, "{}: deadline {} left unfired at {}", name,
                         *account.indexed_deadline, *business_date);
  }
}

// What a rejected or redelivered line must leave as it was: the timeline, the number of
// accounts, and the one account an account message names (all of them for the others).
// Copying only that account keeps the check cheap enough to run after every line.
struct Snapshot {
  TimelineState timeline;
  std::size_t account_count = 0;
  std::optional<Account> account;
  std::map<std::string, Account> all_accounts;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(MemoryState& state, const DecodedLine& decoded) {
  Snapshot s{state.timeline(), state.accounts().size(), std::nullopt, {}};
  if (decoded.account_id && !decoded.business_date_scope) {
    s.account = state.load_account(*decoded.account_id);
  } else {
    s.all_accounts = state.accounts();
  }
  return s;
}

// One line through contract 6's order of checks, as connectors/message_apply.cpp does it.
// Returns the outputs of an accepted message, nothing otherwise.
std::optional<Applied> apply_line(Processor& processor, const DecodedLine& decoded) {
  if (!decoded.envelope_ok) return std::nullopt;
  if (decoded.business_date_scope || decoded.account_id) {
    const EventScope scope{decoded.business_date_scope ? nullptr : &*decoded.account_id};
    if (processor.is_redelivery(scope, decoded.event_id)) return Applied{Applied::Kind::duplicate, {}};
  }
  if (!decoded.message) return std::nullopt;
  Result<Applied> applied = processor.apply(*decoded.message);
  if (!applied) {
    PAYDIST_FUZZ_CHECK(is_one_line_reason(applied.error()), "engine reason is not one line: {}", applied.error());
    return std::nullopt;
  }
  return std::move(*applied);
}

// The per-account bounds and the schedule length are configuration: small ones here, so
// that a stream of a few kilobytes reaches them (and long schedules do not make every
// account copy slow). The contract's defaults are the message target's.
Rules engine_rules() {
  Rules rules;
  rules.max_instalments = 60;
  rules.max_obligations_per_account = 8;
  rules.max_arrangements_per_account = 6;
  rules.max_payments_per_account = 24;
  rules.max_pending_reviews_per_account = 4;
  return rules;
}

}  // namespace
}  // namespace paydist::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace paydist;
  using namespace paydist::fuzz;
  static const Rules rules = engine_rules();
  static Decoder decoder{rules};
  const std::string_view input{reinterpret_cast<const char*>(data), size};

  MemoryState state;
  Processor processor{rules, state};
  Ledger ledger;
  for (std::size_t begin = 0; begin <= input.size();) {
    std::size_t end = input.find('\n', begin);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // contract 6: blank

    const DecodedLine decoded = decoder.decode(line);
    const Snapshot before = snapshot(state, decoded);
    const std::optional<Applied> applied = apply_line(processor, decoded);
    const bool accepted = applied && applied->kind == Applied::Kind::accepted;
    if (!accepted) {
      PAYDIST_FUZZ_CHECK(!applied || applied->outputs.empty(), "a redelivery emitted outputs: {}", line);
      PAYDIST_FUZZ_CHECK(snapshot(state, decoded) == before, "a {} message changed the state: {}",
                         applied ? "redelivered" : "rejected", line);
      continue;
    }
    record_message(ledger, *decoded.message);
    record_outputs(ledger, applied->outputs);
    check_state(state, ledger, rules);
  }
  for (const auto& [name, account] : state.accounts()) {
    const std::string inspected = inspect_json(account, state.timeline().business_date, rules);
    PAYDIST_FUZZ_CHECK(is_json_object_line(inspected), "inspect {} is not one JSON object line: {}", name, inspected);
  }
  return 0;
}
