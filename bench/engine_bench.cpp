// bench/engine_bench.cpp: micro-benchmarks of the pure core: Processor::apply for each
// message type on a realistic account held in a MemoryState, and one payment's distribution
// over 1, 10 and 100 obligations. No LMDB and no JSON here (bench/store_bench.cpp has those).
//   paydist_engine_bench --benchmark_filter=Apply --benchmark_min_time=0.2
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "core/distribution.h"
#include "core/memory_state.h"
#include "core/processor.h"

namespace paydist {
namespace {

Date day(int n) { return Date::from_civil({2026, 1, 1}).plus_days(n); }
Money cents(std::int64_t c) { return Money::from_cents(c); }

const AccountId kAccount = AccountId::trusted("ACC00000042");

// Every message gets its own event id, as a real stream would.
EventId next_event() {
  static std::uint64_t counter = 0;
  return EventId::trusted(fmt::format("E{}", ++counter));
}

Message assess(const char* obligation, int due_day, Amounts amounts) {
  return ObligationAssessed{.event_id = next_event(), .account_id = kAccount,
                            .obligation_id = ObligationId::trusted(obligation), .due_date = day(due_day),
                            .amounts = amounts};
}
std::vector<ScheduleEntry> every_four_weeks(int count, std::int64_t amount_cents) {
  std::vector<ScheduleEntry> schedule;
  for (int k = 0; k < count; ++k) schedule.push_back({day(14 + 28 * k), cents(amount_cents)});
  return schedule;
}
Message create_cash(const char* arrangement, std::vector<ObligationId> covered, std::vector<ScheduleEntry> schedule) {
  ArrangementCreated m{.event_id = next_event(), .account_id = kAccount,
                       .arrangement_id = ArrangementId::trusted(arrangement), .kind = ArrangementKind::cash,
                       .covered_obligations = std::move(covered)};
  m.schedule = std::move(schedule);
  return m;
}
Message activate(const char* arrangement) {
  return ArrangementActivated{next_event(), kAccount, ArrangementId::trusted(arrangement)};
}
Message pay(std::string payment, std::int64_t amount_cents) {
  return Payment{.event_id = next_event(), .account_id = kAccount, .payment_id = PaymentId::trusted(payment),
                 .amount = cents(amount_cents), .received_date = day(0), .method = PaymentMethod::bpay};
}
Message business_date(int n) { return BusinessDate{next_event(), day(n)}; }

// The account a few months in, as bench/gen_events.cpp makes them: business date day 0, two
// obligations (due days 19 and 49), a current cash arrangement over both (eight instalments
// of 300.00 every four weeks from day 14) and ten payments of 100.00 through it: instalments
// 1-3 paid, the fourth (due day 98, breaks day 112) a third paid. Debt 3,668.00.
std::vector<Message> typical_account() {
  std::vector<Message> stream{
      business_date(0),
      assess("OBL1", 19, {cents(250'011), cents(22'561), cents(2'728)}),
      assess("OBL2", 49, {cents(180'000), cents(10'000), cents(1'000)}),
      ObligationAdjusted{next_event(), kAccount, ObligationId::trusted("OBL1"), {{}, {}, cents(500)}},
      create_cash("ARR1", {ObligationId::trusted("OBL1"), ObligationId::trusted("OBL2")}, every_four_weeks(8, 30'000)),
      activate("ARR1"),
  };
  for (int k = 1; k <= 10; ++k) stream.push_back(pay(fmt::format("PAY{}", k), 10'000));
  return stream;
}

// One case: the typical account, `extra` messages more, then the `measured` message.
struct HandlerCase {
  const char* label;
  std::vector<Message> extra;
  Message measured;
};

std::vector<HandlerCase> handler_cases() {
  const ArrangementId arr1 = ArrangementId::trusted("ARR1");
  const ObligationId obl3 = ObligationId::trusted("OBL3");
  const Message assess_obl3 = assess("OBL3", 60, {cents(90'000), cents(4'500), cents(900)});
  const Message create_arr2 = create_cash("ARR2", {obl3}, every_four_weeks(6, 15'900));
  ArrangementUpdated update{.event_id = next_event(), .account_id = kAccount, .arrangement_id = arr1};
  update.schedule = every_four_weeks(12, 20'000);  // all ten payments flow again
  return {
      {"obligation_assessed", {}, assess_obl3},
      {"obligation_adjusted", {}, ObligationAdjusted{next_event(), kAccount, ObligationId::trusted("OBL1"),
                                                     {{}, cents(-500), cents(1'234)}}},
      {"arrangement_created", {assess_obl3}, create_arr2},
      {"arrangement_activated", {assess_obl3, create_arr2}, activate("ARR2")},
      {"arrangement_updated", {}, update},
      {"instalment_skipped", {}, InstalmentSkipped{next_event(), kAccount, arr1, day(14 + 28 * 5)}},
      {"arrangement_review", {}, ArrangementReview{next_event(), kAccount, arr1, RequestedBy::agency}},
      {"arrangement_cancelled", {}, ArrangementCancelled{next_event(), kAccount, arr1}},  // NO_ARRANGEMENT
      {"payment", {}, pay("PAY11", 10'000)},
      {"payment_returned", {}, PaymentReturned{next_event(), kAccount, PaymentId::trusted("PAY5"), day(0), "AC04"}},
      {"business_date_nothing_due", {}, business_date(1)},
      // Three deadlines of the account fire: the due-date checks of days 20 and 50 and the
      // break of day 112 (BROKEN_ARRANGEMENT): three index entries, three loads and stores.
      {"business_date_3_due", {}, business_date(112)},
  };
}

// Copies of a prepared value made `kCopies` at a time with the timer paused, so that each
// iteration works on a fresh one and the pause's own cost is spread over many iterations.
constexpr std::size_t kCopies = 256;

template <class Value, class Work>
void on_fresh_copies(benchmark::State& state, const Value& prepared, Work work) {
  std::vector<Value> copies;
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == copies.size()) {
      state.PauseTiming();
      copies.assign(kCopies, prepared);
      next = 0;
      state.ResumeTiming();
    }
    work(copies[next++]);
  }
}

// Processor::apply of one message (Arg 0: handler_cases() index; Arg 1: history off/record).
// Includes what apply does around the engine: the redelivery check, the account's copy out
// of and back into MemoryState (where the LMDB store decodes and encodes), the deadline
// check, and with history the audit entry's description.
void BM_Apply(benchmark::State& state) {
  static const std::vector<HandlerCase> cases = handler_cases();
  const HandlerCase& c = cases.at(static_cast<std::size_t>(state.range(0)));
  const History history = state.range(1) == 0 ? History::off : History::record;
  state.SetLabel(c.label);
  const Rules rules;
  MemoryState prepared;
  {
    Processor processor{rules, prepared, History::off};
    std::vector<Message> stream = typical_account();
    stream.insert(stream.end(), c.extra.begin(), c.extra.end());
    for (const Message& m : stream)
      if (Result<Applied> r = processor.apply(m); !r) return state.SkipWithError(r.error().c_str());
  }
  // Once outside the loop: the measured message must be accepted, and say what it emits.
  {
    MemoryState trial = prepared;
    Result<Applied> r = Processor{rules, trial, history}.apply(c.measured);
    if (!r || r->kind != Applied::Kind::accepted) return state.SkipWithError("the measured message is not accepted");
    state.counters["activities"] = static_cast<double>(r->outputs.activities.size());
    state.counters["distributions"] = static_cast<double>(r->outputs.distributions.size());
  }
  on_fresh_copies(state, prepared, [&](MemoryState& fresh) {
    Result<Applied> r = Processor{rules, fresh, history}.apply(c.measured);
    benchmark::DoNotOptimize(r);
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Apply)->ArgNames({"case", "history"})->ArgsProduct({benchmark::CreateDenseRange(0, 11, 1), {0, 1}});

// An account with `count` uncovered obligations (tax 100.00, penalty 10.00, interest 1.00,
// due on consecutive days) or with all of them covered by one current cash arrangement, and
// an accepted payment of the whole debt at payments[0]: the payment pays every component.
enum class Cover { none, one_arrangement };
Account account_with_obligations(int count, Cover cover) {
  Account account{.id = kAccount, .ever_assessed = true};
  Arrangement arrangement{.id = ArrangementId::trusted("ARR1"), .status = ArrangementStatus::current,
                          .activated = true};
  for (int k = 0; k < count; ++k) {
    Obligation o{.id = ObligationId::trusted(fmt::format("OBL{}", k)), .due_date = day(k),
                 .balance = {cents(10'000), cents(1'000), cents(100)}};
    account.obligations.push_back(o);
    arrangement.covered.push_back(o.id);
    arrangement.instalments.push_back(Instalment{.due_date = day(14 + 28 * k), .amount = cents(11'100)});
  }
  if (cover == Cover::one_arrangement) account.arrangements.push_back(arrangement);
  account.payments.push_back(PaymentRecord{.id = PaymentId::trusted("PAY1"), .amount = account.debt()});
  return account;
}

// distribute_payment alone (contract 3 steps 1-5): Arg 0 obligations, Arg 1 covered by an
// arrangement (0/1). items/s: obligations paid per second.
void BM_DistributePayment(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const Account prepared = account_with_obligations(count, state.range(1) == 0 ? Cover::none : Cover::one_arrangement);
  const Payment payment{.event_id = EventId::trusted("E1"), .account_id = kAccount,
                        .payment_id = PaymentId::trusted("PAY1"), .amount = prepared.payments[0].amount,
                        .received_date = day(0), .method = PaymentMethod::bpay};
  const Rules rules;
  on_fresh_copies(state, prepared, [&](Account& account) {
    Outputs outputs;
    std::uint32_t activity_count = 0;
    Context ctx{rules, payment.event_id, day(0), outputs, activity_count};
    distribute_payment(account, 0, payment, ctx);
    benchmark::DoNotOptimize(outputs);
  });
  Account check = prepared;
  Outputs outputs;
  std::uint32_t activity_count = 0;
  Context ctx{rules, payment.event_id, day(0), outputs, activity_count};
  distribute_payment(check, 0, payment, ctx);
  if (!check.debt().is_zero() || check.payments[0].lines.size() != static_cast<std::size_t>(3 * count))
    return state.SkipWithError("the payment did not pay every component");
  state.counters["lines"] = static_cast<double>(check.payments[0].lines.size());
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_DistributePayment)->ArgNames({"obligations", "covered"})->ArgsProduct({{1, 10, 100}, {0, 1}});

}  // namespace
}  // namespace paydist

BENCHMARK_MAIN();
