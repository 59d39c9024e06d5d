// bench/store_bench.cpp: micro-benchmarks for the pieces of `paydist replay` below the
// Processor: an account record's encode and decode, a Batch commit of 100 to 50k accounts
// into a real LMDB state, the deadline index per entry (insert, advance), and the JSON
// decode of one line of each message type. Replay's whole-program figure is
// bench/replay_bench.sh; this says where a line's time goes.
//   paydist_store_bench --benchmark_filter=Commit --benchmark_repetitions=3
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "connectors/codec.h"
#include "connectors/record.h"
#include "connectors/state_store.h"
#include "core/rules.h"

namespace paydist {
namespace {

Date day(int n) { return Date::from_civil({2026, 1, 1}).plus_days(n); }
Money cents(std::int64_t c) { return Money::from_cents(c); }

// An account like the generator's after a few months (bench/gen_events.cpp): two
// obligations, a six-instalment cash arrangement, ten payments of one or two lines each.
Account typical_account(std::uint64_t i) {
  Account a;
  a.id = AccountId::trusted(fmt::format("ACC{:08}", i));
  a.seq = i;
  a.ever_assessed = true;
  for (int k = 0; k < 2; ++k) {
    Obligation o;
    o.id = ObligationId::trusted(fmt::format("OBL{}", i * 2 + static_cast<std::uint64_t>(k)));
    o.due_date = day(-20 + 30 * k);
    o.balance = {cents(250'011), cents(22'561), cents(2'728)};
    a.obligations.push_back(o);
  }
  Arrangement arrangement;
  arrangement.id = ArrangementId::trusted(fmt::format("ARR{}", i));
  arrangement.status = ArrangementStatus::current;
  arrangement.covered = {a.obligations[0].id};
  arrangement.activated = true;
  for (int k = 0; k < 6; ++k) {
    Instalment instalment;
    instalment.due_date = day(14 + 28 * k);
    instalment.amount = cents(10'776);
    if (k < 2) instalment.parts = {{static_cast<std::uint32_t>(k), cents(10'776)}};
    arrangement.instalments.push_back(instalment);
  }
  a.arrangements.push_back(arrangement);
  for (int k = 0; k < 10; ++k) {
    PaymentRecord p;
    p.id = PaymentId::trusted(fmt::format("PAY{}", i * 10 + static_cast<std::uint64_t>(k)));
    p.amount = cents(52'655);
    p.lines = {{a.obligations[0].id, Component::tax, cents(40'000)}};
    if (k % 2 == 1) p.lines.push_back({a.obligations[1].id, Component::penalty, cents(12'655)});
    a.payments.push_back(p);
  }
  a.indexed_deadline = day(14 * 3);
  return a;
}

void BM_EncodeAccount(benchmark::State& state) {
  const Account account = typical_account(42);
  std::string buffer;
  for (auto _ : state) {
    encode_account(account, buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.counters["record_bytes"] = static_cast<double>(buffer.size());
}
BENCHMARK(BM_EncodeAccount);

void BM_DecodeAccount(benchmark::State& state) {
  const std::string bytes = encode_account(typical_account(42));
  for (auto _ : state) {
    Result<Account> account = decode_account(bytes);
    benchmark::DoNotOptimize(account);
  }
}
BENCHMARK(BM_DecodeAccount);

// A fresh state directory under $TMPDIR, removed when the benchmark ends.
class TempState {
 public:
  TempState() {
    std::string pattern = (std::filesystem::temp_directory_path() / "paydist-store-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    auto opened = StateStore::open(dir_ / "state", {});
    if (!opened) {
      fmt::print(stderr, "store_bench: {}\n", opened.error());
      std::abort();
    }
    store_ = std::move(opened).value();
  }
  ~TempState() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  StateStore& store() { return *store_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<StateStore> store_;
};

// One batch as replay makes it: per account a changed record, an accepted event and a
// distribution output. Measures the commit alone (encoding happens at store_account), into
// a state that already holds the same accounts, as in a steady replay.
void BM_BatchCommit(benchmark::State& state) {
  const auto accounts = static_cast<std::uint64_t>(state.range(0));
  const Durability durability = state.range(1) == 0 ? Durability::buffered : Durability::synced;
  TempState temp;
  std::vector<Account> records;
  for (std::uint64_t i = 0; i < accounts; ++i) records.push_back(typical_account(i * 7919 % accounts));
  const std::string json(240, 'd');
  std::uint64_t event = 0;
  auto fill = [&](StateStore::Batch& batch) {
    for (const Account& account : records) {
      batch.store_account(account, account.indexed_deadline);
      batch.mark_event_accepted(EventScope{&account.id}, EventId::trusted(fmt::format("E{}", ++event)));
      batch.add_output(OutputTopic::distributions, account.id.view(), json);
    }
  };
  // Untimed, the first batch puts the accounts into the state: every timed commit then
  // rewrites records that exist (with few iterations, the 10k and 50k runs would otherwise
  // time mostly the first commit, into an empty state).
  {
    auto batch = temp.store().begin(0);
    fill(*batch);
    if (Status s = batch->commit(durability); !s) return state.SkipWithError(s.error().c_str());
    if (Status s = temp.store().acknowledge_outbox(event * 2, {}); !s) return state.SkipWithError(s.error().c_str());
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = temp.store().begin(0);
    fill(*batch);
    state.ResumeTiming();
    if (Status s = batch->commit(durability); !s) state.SkipWithError(s.error().c_str());
    state.PauseTiming();
    if (Status s = temp.store().acknowledge_outbox(event * 2, {}); !s) state.SkipWithError(s.error().c_str());
    batch.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(accounts));
}
BENCHMARK(BM_BatchCommit)
    ->ArgNames({"accounts", "synced"})
    ->ArgsProduct({{100, 1'000, 10'000, 50'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The deadline index per entry, without the engine: bench/advance_bench.cpp times whole
// advances through the Processor with their synced commit; these say what the index itself
// costs for one entry. An idle account: one obligation, its due-date check as its deadline.
Account small_account(std::uint64_t seq, Date deadline) {
  Account a;
  a.id = AccountId::trusted(fmt::format("ACC{:09}", seq));
  a.seq = seq;
  a.ever_assessed = true;
  Obligation o;
  o.id = ObligationId::trusted("OBL1");
  o.due_date = deadline.plus_days(-1);
  o.balance.tax = cents(200'000);
  a.obligations.push_back(o);
  a.indexed_deadline = deadline;
  return a;
}

constexpr std::uint64_t kDeadlineEntries = 10'000;

// Insert: store_account of kDeadlineEntries accounts in one batch, with a new index entry
// each (new_entry:1) or with the deadline they had (new_entry:0: the record alone, the
// baseline to subtract); commit:1 adds the buffered commit of the batch, where the entries
// are written to LMDB. items/s: accounts stored per second.
void BM_DeadlineInsert(benchmark::State& state) {
  const bool new_entry = state.range(0) == 1;
  const bool commit = state.range(1) == 1;
  TempState temp;
  std::vector<Account> accounts;
  for (std::uint64_t i = 0; i < kDeadlineEntries; ++i) accounts.push_back(small_account(i, day(30 + static_cast<int>(i % 60))));
  if (commit) {  // untimed: the records exist before the first timed commit, as in BM_BatchCommit
    auto batch = temp.store().begin(0);
    for (const Account& account : accounts) batch->store_account(account, account.indexed_deadline);
    if (Status s = batch->commit(Durability::buffered); !s) return state.SkipWithError(s.error().c_str());
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = temp.store().begin(0);
    state.ResumeTiming();
    for (const Account& account : accounts)
      batch->store_account(account, new_entry ? std::nullopt : account.indexed_deadline);
    if (commit)
      if (Status s = batch->commit(Durability::buffered); !s) state.SkipWithError(s.error().c_str());
    state.PauseTiming();
    batch.reset();  // aborts an uncommitted batch
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kDeadlineEntries));
}
BENCHMARK(BM_DeadlineInsert)
    ->ArgNames({"new_entry", "commit"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Advance: a committed state of Arg 0 accounts, kDeadlineEntries of them (spread through the
// keys) due on day 1, the rest in 2031. Each iteration, in a fresh batch, takes every entry
// due by day 1 with first_deadline_up_to and moves it to day 400 with store_account, as a
// business date does, but without loading, decoding or firing anything. The batch is not
// committed. items/s: entries moved per second.
void BM_DeadlineAdvance(benchmark::State& state) {
  const auto total = static_cast<std::uint64_t>(state.range(0));
  const std::uint64_t stride = total / kDeadlineEntries;
  TempState temp;
  std::vector<Account> moved;  // the due accounts with their deadline on day 400, by seq / stride
  const std::uint64_t chunk = 50'000;
  for (std::uint64_t from = 0; from < total; from += chunk) {
    auto batch = temp.store().begin(0);
    for (std::uint64_t i = from; i < std::min(total, from + chunk); ++i) {
      const bool due = i % stride == 0;
      Account a = small_account(i, due ? day(1) : Date::from_civil({2031, 7, 1}));
      batch->store_account(a, std::nullopt);
      if (due) {
        a.indexed_deadline = day(400);
        moved.push_back(std::move(a));
      }
    }
    if (Status s = batch->commit(Durability::buffered); !s) return state.SkipWithError(s.error().c_str());
  }
  std::uint64_t entries = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = temp.store().begin(0);
    state.ResumeTiming();
    entries = 0;
    while (std::optional<DeadlineEntry> entry = batch->first_deadline_up_to(day(1))) {
      batch->store_account(moved[entry->account_seq / stride], entry->date);
      ++entries;
    }
    state.PauseTiming();
    batch.reset();
    state.ResumeTiming();
  }
  if (entries != kDeadlineEntries) return state.SkipWithError("not every due entry was found");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kDeadlineEntries));
}
BENCHMARK(BM_DeadlineAdvance)
    ->ArgName("accounts")
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// One representative line per message type (the shapes of tests/scenarios).
struct TypedLine {
  const char* type;
  const char* line;
};
constexpr TypedLine kLines[] = {
    {"obligation_assessed",
     R"({"type":"obligation_assessed","event_id":"E1","account_id":"ACC00000001","obligation_id":"OBL1","due_date":"2025-12-14","amounts":{"tax":"287.11","penalty":"225.61","interest":"27.28"},"tax_type":"income","period":"2025"})"},
    {"obligation_adjusted",
     R"({"type":"obligation_adjusted","event_id":"E2","account_id":"ACC00000001","obligation_id":"OBL1","amounts":{"interest":"5.00","penalty":"-5.00"},"reason":"interest accrual; penalty remission"})"},
    {"arrangement_created",
     R"({"type":"arrangement_created","event_id":"E3","account_id":"ACC00000001","arrangement_id":"ARR1","kind":"cash","covered_obligations":["OBL1"],"schedule":[{"due_date":"2026-01-15","amount":"107.76"},{"due_date":"2026-02-12","amount":"107.76"},{"due_date":"2026-03-12","amount":"107.76"},{"due_date":"2026-04-09","amount":"107.76"},{"due_date":"2026-05-07","amount":"107.76"},{"due_date":"2026-06-04","amount":"107.76"}]})"},
    {"arrangement_activated",
     R"({"type":"arrangement_activated","event_id":"E4","account_id":"ACC00000001","arrangement_id":"ARR1"})"},
    {"arrangement_updated",
     R"({"type":"arrangement_updated","event_id":"E5","account_id":"ACC00000001","arrangement_id":"ARR1","covered_obligations":["OBL1"],"schedule":[{"due_date":"2026-03-31","amount":"300.00"}]})"},
    {"instalment_skipped",
     R"({"type":"instalment_skipped","event_id":"E6","account_id":"ACC00000001","arrangement_id":"ARR1","due_date":"2026-03-15"})"},
    {"arrangement_review",
     R"({"type":"arrangement_review","event_id":"E7","account_id":"ACC00000001","arrangement_id":"ARR1","requested_by":"customer"})"},
    {"arrangement_cancelled",
     R"({"type":"arrangement_cancelled","event_id":"E8","account_id":"ACC00000001","arrangement_id":"ARR1","reason":"customer request"})"},
    {"payment",
     R"({"type":"payment","event_id":"E9","account_id":"ACC00000001","payment_id":"PAY1","amount":"526.55","received_date":"2026-01-01","method":"cash"})"},
    {"payment_returned",
     R"({"type":"payment_returned","event_id":"E10","account_id":"ACC00000001","payment_id":"PAY1","return_date":"2026-03-05","reason_code":"AC04"})"},
    {"business_date", R"({"type":"business_date","event_id":"BD1","date":"2026-03-01"})"},
};

void BM_DecodeLine(benchmark::State& state) {
  const TypedLine& typed = kLines[state.range(0)];
  state.SetLabel(typed.type);
  const Rules rules;
  Decoder decoder{rules};
  const std::string_view line = typed.line;
  if (!decoder.decode(line).message) {
    state.SkipWithError("the sample line does not decode");
    return;
  }
  for (auto _ : state) {
    DecodedLine decoded = decoder.decode(line);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(line.size()));
}
BENCHMARK(BM_DecodeLine)->DenseRange(0, static_cast<int>(std::size(kLines)) - 1);

}  // namespace
}  // namespace paydist

BENCHMARK_MAIN();
