// tests/core/property_test.cpp: properties over generated streams (style.md "Tests").
// A seeded generator reads the engine's own state to build random but mostly valid streams
// over a few accounts (every message type, every arrangement kind, returns of earlier
// payments, business-date jumps, some redeliveries and some invalid references). Checked:
// money is conserved, balances never go negative, instalment accounting adds up, deadlines
// are never left unfired, core/account_check.h (what `paydist verify` checks) finds nothing
// after any message, a replay of the stream adds nothing, and a "crash" (continue from a copy
// of the state, redelivering the last few messages) changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "core/account_check.h"
#include "core/engine.h"
#include "tests/core/stream.h"

namespace paydist {
namespace {

using namespace paydist::test;

constexpr int kSeeds = 20;  // PAYDIST_PROPERTY_SEEDS=N runs seeds 1..N instead (soak runs)
constexpr int kMessagesPerStream = 300;

std::uint64_t seed_count() {
  const char* text = std::getenv("PAYDIST_PROPERTY_SEEDS");
  if (!text || !*text) return kSeeds;
  return std::strtoull(text, nullptr, 10);
}

// --- the generator ----------------------------------------------------------------------

class StreamGenerator {
 public:
  explicit StreamGenerator(std::uint64_t seed) : rng_(seed) {}

  Message next(const MemoryState& state, std::optional<Date> business_date) {
    const Date today = business_date.value_or(date("2026-01-01"));
    Message m = pick(state, business_date, today);
    if (event_id_of(m).empty()) m = with_event(std::move(m), fmt::format("e{}", ++events_));
    sent_.push_back(m);
    return m;
  }

 private:
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>{lo, hi}(rng_); }
  bool chance(int percent) { return uniform(1, 100) <= percent; }
  Money cents(std::int64_t lo, std::int64_t hi) {
    return Money::from_cents(std::uniform_int_distribution<std::int64_t>{lo, hi}(rng_));
  }
  template <class T>
  const T& one_of(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(uniform(0, static_cast<int>(items.size()) - 1))];
  }

  std::string account_name() { return fmt::format("A{}", uniform(0, 3)); }

  const Account* account_in(const MemoryState& state, const std::string& name) {
    auto it = state.accounts().find(name);
    return it == state.accounts().end() ? nullptr : &it->second;
  }

  std::vector<const Arrangement*> arrangements(const Account& a, bool (*wanted)(ArrangementStatus)) {
    std::vector<const Arrangement*> out;
    for (const Arrangement& r : a.arrangements)
      if (wanted(r.status)) out.push_back(&r);
    return out;
  }

  std::vector<ScheduleEntry> schedule(Date today) {
    std::vector<ScheduleEntry> out;
    Date due = today.plus_days(uniform(-20, 30));
    const int count = uniform(1, 5);
    for (int i = 0; i < count; ++i) {
      out.push_back({due, cents(1000, 80000)});
      due = due.plus_days(uniform(1, 40));
    }
    return out;
  }

  std::vector<ObligationId> coverable(const Account& a) {
    std::vector<ObligationId> out;
    for (const Obligation& o : a.obligations)
      if (o.plan_eligible && !a.covering(o.id)) out.push_back(o.id);
    std::shuffle(out.begin(), out.end(), rng_);
    out.resize(std::min<std::size_t>(out.size(), static_cast<std::size_t>(uniform(1, 3))));
    return out;
  }

  Message pick(const MemoryState& state, std::optional<Date> business_date, Date today) {
    const int roll = uniform(1, 100);
    const std::string name = account_name();
    const AccountId acc = id<AccountId>(name);
    const Account* a = account_in(state, name);

    if (roll <= 2 && !sent_.empty()) return one_of(sent_);  // a redelivery, event id and all
    if (roll <= 11) {
      const int days = chance(10) ? 0 : uniform(1, chance(20) ? 45 : 8);
      return BusinessDate{.event_id = {}, .date = business_date ? business_date->plus_days(days) : today};
    }
    if (roll <= 23 || !a || a->obligations.empty()) {
      ObligationAssessed m{.event_id = {}, .account_id = acc,
                           .obligation_id = id<ObligationId>(fmt::format("O{}", uniform(1, 40))),
                           .due_date = today.plus_days(uniform(-40, 40)), .amounts = {},
                           .plan_eligible = chance(85)};
      m.amounts.tax = cents(0, 200000);
      if (chance(50)) m.amounts.penalty = cents(0, 30000);
      if (chance(30)) m.amounts.interest = cents(0, 10000);
      if (a == nullptr && chance(30)) return payment(acc, nullptr, today);  // never-assessed account
      return m;
    }
    if (roll <= 29) {
      const Obligation& o = one_of(a->obligations);
      ObligationAdjusted m{.event_id = {}, .account_id = acc, .obligation_id = o.id, .deltas = {}};
      for (Component c : kComponents) {
        if (chance(50)) continue;
        const std::int64_t floor = chance(5) ? -o.balance[c].cents() - 100 : -o.balance[c].cents();
        m.deltas[c] = cents(floor, 30000);
      }
      return m;
    }
    if (roll <= 39) return created(*a, acc, today);
    if (roll <= 45) {
      auto pending = arrangements(*a, [](ArrangementStatus s) { return s == ArrangementStatus::pending_start; });
      if (!pending.empty() || chance(10)) {
        const ArrangementId target = pending.empty() ? id<ArrangementId>("R1") : one_of(pending)->id;
        return ArrangementActivated{.event_id = {}, .account_id = acc, .arrangement_id = target};
      }
    }
    auto open = arrangements(*a, is_open);
    if (roll <= 49 && !open.empty()) {
      const Arrangement& r = *one_of(open);
      ArrangementUpdated m{.event_id = {}, .account_id = acc, .arrangement_id = r.id};
      const int what = uniform(0, 2);
      if (what != 1) m.schedule = schedule(today);
      if (what != 0) {
        std::vector<ObligationId> covered = r.covered;
        if (chance(50) && covered.size() > 1) covered.pop_back();
        for (const ObligationId& more : coverable(*a))
          if (chance(50)) covered.push_back(more);
        std::shuffle(covered.begin(), covered.end(), rng_);
        m.covered_obligations = covered;
      }
      return m;
    }
    if (roll <= 54 && !open.empty()) {
      const Arrangement& r = *one_of(open);
      std::vector<Date> skippable;
      for (const Instalment& i : r.instalments)
        if (!i.skipped && i.paid() < i.amount) skippable.push_back(i.due_date);
      const Date due = skippable.empty() || chance(10) ? today.plus_days(uniform(-30, 30)) : one_of(skippable);
      return InstalmentSkipped{.event_id = {}, .account_id = acc, .arrangement_id = r.id, .due_date = due};
    }
    if (roll <= 57 && !open.empty())
      return ArrangementCancelled{.event_id = {}, .account_id = acc, .arrangement_id = one_of(open)->id};
    if (roll <= 60 && !open.empty())
      return ArrangementReview{.event_id = {}, .account_id = acc, .arrangement_id = one_of(open)->id,
                               .requested_by = chance(50) ? RequestedBy::agency : RequestedBy::customer};
    if (roll <= 69) {
      std::vector<const PaymentRecord*> returnable;
      for (const PaymentRecord& p : a->payments)
        if (!p.returned || chance(3)) returnable.push_back(&p);
      if (!returnable.empty()) {
        static const std::vector<std::string> kReasons{"R01", "MD06", "AC04", "1", "AM04"};
        return PaymentReturned{.event_id = {}, .account_id = acc, .payment_id = one_of(returnable)->id,
                               .return_date = today.plus_days(-uniform(0, 6)), .reason_code = one_of(kReasons)};
      }
    }
    return payment(acc, a, today);
  }

  Message created(const Account& a, const AccountId& acc, Date today) {
    ArrangementCreated m{.event_id = {}, .account_id = acc,
                         .arrangement_id = id<ArrangementId>(fmt::format("R{}", a.arrangements.size() + 1)),
                         .kind = static_cast<ArrangementKind>(uniform(0, 2)), .covered_obligations = coverable(a)};
    if (m.covered_obligations.empty()) m.covered_obligations.push_back(one_of(a.obligations).id);  // rejected
    Money covered_total;
    for (const ObligationId& o : m.covered_obligations) covered_total = *covered_total.checked_add(a.find_obligation(o)->total());
    if (m.kind == ArrangementKind::discount)
      m.settlement_amount = cents(1, std::max<std::int64_t>(covered_total.cents(), 100));
    if (chance(60)) {
      m.schedule = schedule(today);
    } else {
      Recommend r;
      r.frequency = static_cast<Frequency>(uniform(0, 2));
      r.first_due_date = today.plus_days(uniform(-20, 20));
      if (chance(50)) {
        r.rule = Recommend::Rule::equal_instalments;
        r.count = uniform(1, 6);
      } else {
        r.rule = Recommend::Rule::fixed_amount;
        r.amount = cents(1000, 60000);
      }
      m.recommend = r;
    }
    return m;
  }

  Message payment(const AccountId& acc, const Account* a, Date today) {
    Payment m{.event_id = {}, .account_id = acc, .payment_id = id<PaymentId>(fmt::format("P{}", ++payments_)),
              .amount = chance(15) ? cents(100000, 400000) : cents(1, 90000), .received_date = today,
              .method = static_cast<PaymentMethod>(uniform(0, 6))};
    if (a && !a->obligations.empty() && chance(20)) m.obligation_id = one_of(a->obligations).id;
    if (a && !a->arrangements.empty() && chance(25)) m.arrangement_id = one_of(a->arrangements).id;
    if (chance(2)) m.obligation_id = id<ObligationId>("NOPE");  // rejected
    return m;
  }

  std::mt19937_64 rng_;
  std::uint64_t events_ = 0;
  std::uint64_t payments_ = 0;
  std::vector<Message> sent_;
};

// --- one run of a stream -------------------------------------------------------------------

struct Step {
  bool accepted = false;
  bool duplicate = false;
  std::string reject_reason;
  Outputs outputs;
};

Step apply_step(Processor& processor, const Message& m) {
  Step step;
  Result<Applied> r = processor.apply(m);
  if (r) {
    step.accepted = true;
    step.duplicate = r->kind == Applied::Kind::duplicate;
    step.outputs = std::move(r->outputs);
  } else {
    step.reject_reason = r.error();
  }
  return step;
}

// The `paydist explain` audit history of every account, as the processor recorded it.
std::map<std::string, std::vector<std::string>> histories(MemoryState& state) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, account] : state.accounts()) out[name] = state.history(name);
  return out;
}

bool same_outputs(const Outputs& a, const Outputs& b) {
  return a.activities == b.activities && a.distributions == b.distributions;
}

// Invariants that hold after every message.
void check_state(const MemoryState& state, std::optional<Date> business_date, const Rules& rules,
                 const std::string& where) {
  for (const auto& [name, account] : state.accounts()) {
    SCOPED_TRACE(where + " account " + name);
    std::map<std::string, int> open_covers;
    for (const Obligation& o : account.obligations)
      for (Component c : kComponents) ASSERT_FALSE(o.balance[c].is_negative()) << "negative balance " << o.id.str();
    std::vector<Money> parts_per_payment(account.payments.size());
    for (const Arrangement& r : account.arrangements) {
      if (is_open(r.status))
        for (const ObligationId& o : r.covered) ++open_covers[o.str()];
      auto count_part = [&](const PaymentPart& part) {
        ASSERT_LT(part.payment_index, account.payments.size());
        ASSERT_TRUE(part.amount.is_positive());
        ASSERT_FALSE(account.payments[part.payment_index].returned) << "a returned payment still pays " << r.id.str();
        parts_per_payment[part.payment_index] = *parts_per_payment[part.payment_index].checked_add(part.amount);
      };
      for (const Instalment& i : r.instalments) {
        ASSERT_LE(i.paid(), i.amount) << r.id.str() << " instalment " << i.due_date.to_string();
        if (i.skipped) {
          ASSERT_TRUE(i.parts.empty()) << r.id.str() << " skipped instalment holds money";
        }
        for (const PaymentPart& part : i.parts) count_part(part);
      }
      for (const PaymentPart& part : r.excess) count_part(part);
      if (r.kind == ArrangementKind::discount &&
          (r.status == ArrangementStatus::current || r.status == ArrangementStatus::broken)) {
        ASSERT_LT(r.applied(), r.settlement) << "discount " << r.id.str() << " reached its settlement but is open";
      }
      if (r.status == ArrangementStatus::current && business_date) {
        for (const Instalment& i : r.instalments)
          ASSERT_FALSE(!i.skipped && i.paid() < i.amount && break_deadline(r, i, rules) <= *business_date)
              << "current arrangement " << r.id.str() << " has a missed instalment " << i.due_date.to_string();
      }
    }
    for (const auto& [obligation, covers] : open_covers) ASSERT_EQ(covers, 1) << obligation << " covered twice";
    for (std::size_t p = 0; p < account.payments.size(); ++p) {
      Money lines;
      for (const DistributionLine& l : account.payments[p].lines) lines = *lines.checked_add(l.amount);
      ASSERT_LE(parts_per_payment[p], lines) << "payment " << account.payments[p].id.str() << " counted twice";
    }
    ASSERT_EQ(account.indexed_deadline, next_deadline(account, rules));
    if (business_date && account.indexed_deadline) {
      ASSERT_GT(*account.indexed_deadline, *business_date) << "a deadline was left unfired";
    }
    // What `paydist verify` checks of every stored account holds after every message.
    ASSERT_EQ(account_problems(account, AccountCheckContext{rules, business_date}), std::vector<std::string>{});
  }
}

using Statuses = std::map<std::pair<std::string, std::string>, ArrangementStatus>;  // (account, arrangement)

Statuses statuses(const MemoryState& state) {
  Statuses out;
  for (const auto& [name, account] : state.accounts())
    for (const Arrangement& r : account.arrangements) out[{name, r.id.str()}] = r.status;
  return out;
}

bool allowed_transition(ArrangementStatus from, ArrangementStatus to) {
  using S = ArrangementStatus;
  if (from == to) return true;
  switch (from) {
    case S::pending_start: return true;  // activation may complete or (back-dated) break at once
    case S::current: return to == S::broken || to == S::completed || to == S::cancelled;
    case S::broken: return to == S::current || to == S::completed || to == S::cancelled;
    case S::completed:
    case S::cancelled: return false;
  }
  return false;
}

// Each step's outputs against the status changes it made: exactly one BROKEN_ARRANGEMENT per
// transition to broken, one ARRANGEMENT_COMPLETED per completion, none otherwise; dates and
// event ids carried as the contract says.
void check_step(const Message& m, const Step& step, const Statuses& before, const Statuses& after,
                std::optional<Date> old_date, std::optional<Date> new_date) {
  std::map<std::pair<std::string, std::string>, int> broken, completed;
  for (const Activity& a : step.outputs.activities) {
    if (a.type == ActivityType::broken_arrangement) ++broken[{a.account_id.str(), a.arrangement_id->str()}];
    if (a.type == ActivityType::arrangement_completed) ++completed[{a.account_id.str(), a.arrangement_id->str()}];
  }
  for (const auto& [key, status] : after) {
    auto was = before.find(key);
    const ArrangementStatus from = was == before.end() ? ArrangementStatus::pending_start : was->second;
    EXPECT_TRUE(allowed_transition(from, status))
        << key.first << "/" << key.second << ": " << to_string(from) << " -> " << to_string(status);
    const int became_broken = status == ArrangementStatus::broken && from != ArrangementStatus::broken;
    const int became_completed = status == ArrangementStatus::completed && from != ArrangementStatus::completed;
    EXPECT_EQ(broken[key], became_broken) << key.first << "/" << key.second << " BROKEN_ARRANGEMENT count";
    EXPECT_EQ(completed[key], became_completed) << key.first << "/" << key.second << " ARRANGEMENT_COMPLETED count";
  }
  const bool is_business_date = std::holds_alternative<BusinessDate>(m);
  std::optional<Date> previous;
  for (const Activity& a : step.outputs.activities) {
    if (!is_business_date) {
      EXPECT_EQ(a.business_date, new_date) << "an account message's activity carries the current business date";
      continue;
    }
    ASSERT_TRUE(a.business_date.has_value());
    EXPECT_LE(*a.business_date, *new_date);
    if (old_date) {
      EXPECT_GT(*a.business_date, *old_date);
    }
    if (previous) {
      EXPECT_LE(*previous, *a.business_date) << "deadlines fired out of date order";
    }
    previous = a.business_date;
  }
  for (const Distribution& d : step.outputs.distributions) {
    EXPECT_EQ(d.event_id, event_id_of(m));
    EXPECT_EQ(d.business_date, new_date);
  }
}

// Money conservation over the whole run, from the accepted messages and the outputs alone.
void check_conservation(const MemoryState& state, const std::vector<Message>& stream, const std::vector<Step>& steps) {
  std::map<std::pair<std::string, std::string>, Amounts> expected;  // (account, obligation)
  std::map<std::pair<std::string, std::string>, Money> paid_amount;  // (account, payment)
  std::map<std::string, Money> credit;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (!steps[i].accepted || steps[i].duplicate) continue;
    if (const auto* m = std::get_if<ObligationAssessed>(&stream[i]))
      expected[{m->account_id.str(), m->obligation_id.str()}] = m->amounts;
    if (const auto* m = std::get_if<ObligationAdjusted>(&stream[i])) {
      Amounts& e = expected[{m->account_id.str(), m->obligation_id.str()}];
      for (Component c : kComponents) e[c] = *e[c].checked_add(m->deltas[c]);
    }
    if (const auto* m = std::get_if<Payment>(&stream[i])) paid_amount[{m->account_id.str(), m->payment_id.str()}] = m->amount;
    for (const Distribution& d : steps[i].outputs.distributions) {
      Money sum = d.credit;
      for (const DistributionLine& l : d.lines) {
        ASSERT_TRUE(l.amount.is_positive());
        sum = *sum.checked_add(l.amount);
        Money& e = expected[{d.account_id.str(), l.obligation_id.str()}][l.component];
        e = d.kind == DistributionKind::reversed ? *e.checked_add(l.amount) : *e.checked_sub(l.amount);
      }
      Money& c = credit[d.account_id.str()];
      if (d.kind == DistributionKind::applied) {
        ASSERT_TRUE(d.payment_id.has_value());
        ASSERT_EQ(sum, (paid_amount[{d.account_id.str(), d.payment_id->str()}])) << "lines + credit != amount";
        c = *c.checked_add(d.credit);
      } else if (d.kind == DistributionKind::reversed) {
        c = *c.checked_sub(d.credit);
      } else {
        ASSERT_TRUE(d.credit.is_zero());
        ASSERT_TRUE(d.arrangement_id.has_value());
        ASSERT_FALSE(d.lines.empty()) << "empty write_off emitted";
      }
    }
  }
  for (const auto& [key, amounts] : expected) {
    const Account& account = state.accounts().at(key.first);
    const Obligation* o = account.find_obligation(id<ObligationId>(key.second));
    ASSERT_NE(o, nullptr) << key.first << "/" << key.second;
    EXPECT_EQ(o->balance, amounts) << "assessed + adjusted - applied - written off != balance for " << key.first
                                   << "/" << key.second;
  }
  for (const auto& [name, account] : state.accounts()) {
    EXPECT_EQ(account.credit(), credit[name]) << name;
    Money payments, lines;
    for (const PaymentRecord& p : account.payments) {
      if (p.returned) continue;
      payments = *payments.checked_add(p.amount);
      lines = *lines.checked_add(p.credit);
      for (const DistributionLine& l : p.lines) lines = *lines.checked_add(l.amount);
    }
    EXPECT_EQ(payments, lines) << name << ": money of payments not returned != their lines + credit";
  }
}

struct Coverage {
  std::map<std::string, int> counts;
  int messages = 0;
  int rejects = 0;
};

void run_seed(std::uint64_t seed, Coverage& coverage) {
  SCOPED_TRACE(fmt::format("seed {}", seed));
  const Rules rules;
  StreamGenerator generator{seed};
  std::mt19937_64 crash_rng{seed * 7919 + 1};
  const int crash_at = std::uniform_int_distribution<int>{0, kMessagesPerStream}(crash_rng);

  MemoryState state;
  Processor processor{rules, state};
  std::vector<Message> stream;
  std::vector<Step> steps;
  std::optional<MemoryState> crash_copy;
  for (int i = 0; i < kMessagesPerStream; ++i) {
    if (i == crash_at) crash_copy = state;
    const std::optional<Date> old_date = state.timeline().business_date;
    const Statuses before = statuses(state);
    stream.push_back(generator.next(state, old_date));
    steps.push_back(apply_step(processor, stream.back()));
    check_state(state, state.timeline().business_date, rules, fmt::format("after message {}", i));
    check_step(stream.back(), steps.back(), before, statuses(state), old_date, state.timeline().business_date);
    if (::testing::Test::HasFatalFailure()) return;
  }
  if (!crash_copy) crash_copy = state;
  check_conservation(state, stream, steps);

  std::set<std::string> activity_ids;
  for (const Step& step : steps) {
    ++coverage.messages;
    if (!step.accepted) ++coverage.rejects;
    if (step.duplicate) {
      EXPECT_TRUE(step.outputs.empty()) << "a redelivery produced output";
      ++coverage.counts["redelivery"];
    }
    for (const Activity& a : step.outputs.activities) {
      EXPECT_TRUE(activity_ids.insert(a.activity_id).second) << "duplicate activity id " << a.activity_id;
      ++coverage.counts[to_string(a.type)];
    }
    for (const Distribution& d : step.outputs.distributions) ++coverage.counts[to_string(d.kind)];
  }

  // Replaying every accepted message on the same state is a no-op.
  {
    MemoryState replayed = state;
    Processor again{rules, replayed};
    for (std::size_t i = 0; i < stream.size(); ++i) {
      if (!steps[i].accepted) continue;
      Step step = apply_step(again, stream[i]);
      EXPECT_TRUE(step.accepted && step.duplicate && step.outputs.empty()) << "replay of message " << i << " acted";
    }
    EXPECT_TRUE(replayed.accounts() == state.accounts()) << "replay changed an account";
    EXPECT_TRUE(replayed.timeline() == state.timeline());
    EXPECT_TRUE(histories(replayed) == histories(state)) << "replay added to the audit history";
  }

  // The same stream in a fresh state gives the same results, message by message.
  {
    MemoryState fresh;
    Processor rerun{rules, fresh};
    for (std::size_t i = 0; i < stream.size(); ++i) {
      Step step = apply_step(rerun, stream[i]);
      EXPECT_EQ(step.accepted, steps[i].accepted) << "message " << i;
      EXPECT_EQ(step.reject_reason, steps[i].reject_reason) << "message " << i;
      EXPECT_TRUE(same_outputs(step.outputs, steps[i].outputs)) << "message " << i;
    }
    EXPECT_TRUE(fresh.accounts() == state.accounts());
    EXPECT_TRUE(histories(fresh) == histories(state));
  }

  // A crash: continue from a copy taken before message crash_at, redelivering up to three
  // messages that were already applied; the end state and every output are the same.
  {
    MemoryState& resumed = *crash_copy;
    Processor after_crash{rules, resumed};
    for (int i = std::max(0, crash_at - 3); i < crash_at; ++i) {
      if (!steps[static_cast<std::size_t>(i)].accepted) continue;
      Step step = apply_step(after_crash, stream[static_cast<std::size_t>(i)]);
      EXPECT_TRUE(step.accepted && step.duplicate && step.outputs.empty()) << "redelivery after crash of " << i;
    }
    for (std::size_t i = static_cast<std::size_t>(crash_at); i < stream.size(); ++i) {
      Step step = apply_step(after_crash, stream[i]);
      EXPECT_EQ(step.accepted, steps[i].accepted) << "after crash, message " << i;
      EXPECT_TRUE(same_outputs(step.outputs, steps[i].outputs)) << "after crash, message " << i;
    }
    EXPECT_TRUE(resumed.accounts() == state.accounts()) << "crash at " << crash_at << " changed the end state";
    EXPECT_TRUE(resumed.timeline() == state.timeline());
    EXPECT_EQ(resumed.deadline_entries(), state.deadline_entries());
    EXPECT_TRUE(histories(resumed) == histories(state)) << "crash at " << crash_at << " changed the audit history";
  }
}

TEST(Property, GeneratedStreamsConserveMoneyReplayCleanlyAndSurviveACrash) {
  Coverage coverage;
  const std::uint64_t seeds = seed_count();
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    run_seed(seed, coverage);
    if (HasFatalFailure()) return;
  }
  // The generator must actually reach the interesting paths, or the properties say little.
  for (const char* kind : {"applied", "reversed", "write_off", "BROKEN_ARRANGEMENT", "NO_ARRANGEMENT",
                           "ARRANGEMENT_COMPLETED", "REVIEW_DUE", "UNMATCHED_PAYMENT", "redelivery"})
    EXPECT_GT(coverage.counts[kind], 0) << kind << " never happened in " << coverage.messages << " messages";
  EXPECT_LT(coverage.rejects * 100, coverage.messages * 35) << coverage.rejects << " rejects of " << coverage.messages;
  std::string summary;
  for (const auto& [kind, count] : coverage.counts) summary += fmt::format(" {}={}", kind, count);
  RecordProperty("coverage", summary);
  std::printf("[ coverage ] messages=%d rejects=%d%s\n", coverage.messages, coverage.rejects, summary.c_str());
}

}  // namespace
}  // namespace paydist
