// bench/advance_bench.cpp: what one business-date advance costs through the real LMDB
// deadline index, and that the cost follows the deadlines due, not the number of accounts.
// Builds a state of `accounts` accounts of which `due` have a deadline on each of the next
// days (an obligation over the no-arrangement threshold falling due: a NO_ARRANGEMENT each);
// the rest are idle (deadlines years away). Then advances the business date one day at a
// time and times Processor::apply(business_date) and the synced commit separately.
// Each account starts with the history its obligations' assessments would have left (one
// entry each, as describe() makes it; --prior-history off: none), so that the entries an
// advance adds land among those of 1,000,000 accounts, as they would in a real state.
//   paydist_advance_bench --accounts 1000000 --due 10000 --advances 5 --state /tmp/adv
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "connectors/state_store.h"
#include "core/history.h"
#include "core/processor.h"

namespace paydist {
namespace {

struct Options {
  std::uint64_t accounts = 1'000'000;
  std::uint64_t due = 10'000;
  int advances = 5;
  std::string state = "/tmp/paydist-advance-bench";
  bool history = true;
  bool prior_history = true;
};

Date day(int n) { return Date::from_civil({2026, 1, 1}).plus_days(n); }

// Account i: idle ones owe one obligation due in 2031; busy ones one obligation due on each
// of days 1..advances, each over the threshold so the due-date check emits an activity.
Account make_account(std::uint64_t i, bool busy, int advances) {
  Account a;
  a.id = AccountId::trusted(fmt::format("ACC{:09}", i));
  a.seq = i;
  a.ever_assessed = true;
  const int count = busy ? advances : 1;
  for (int k = 0; k < count; ++k) {
    Obligation o;
    o.id = ObligationId::trusted(fmt::format("O{}", k));
    o.due_date = busy ? day(k) : Date::from_civil({2031, 6, 30});  // checked at due + 1 day
    o.balance.tax = Money::from_cents(200'000);
    a.obligations.push_back(o);
  }
  return a;
}

int run(const Options& opt) {
  std::filesystem::remove_all(opt.state);
  auto opened = StateStore::open(opt.state, {});
  if (!opened) {
    fmt::print(stderr, "advance_bench: {}\n", opened.error());
    return 1;
  }
  auto& store = *opened.value();
  const Rules rules;

  // Busy accounts are spread evenly through the key space, as real ones would be.
  const std::uint64_t stride = std::max<std::uint64_t>(1, opt.accounts / std::max<std::uint64_t>(1, opt.due));
  auto fill_start = std::chrono::steady_clock::now();
  const std::uint64_t chunk = 100'000;
  for (std::uint64_t from = 0; from < opt.accounts; from += chunk) {
    auto batch = store.begin(0);
    for (std::uint64_t i = from; i < std::min(opt.accounts, from + chunk); ++i) {
      const bool busy = i % stride == 0 && i / stride < opt.due;
      Account a = make_account(i, busy, opt.advances);
      a.indexed_deadline = a.obligations.front().due_date.plus_days(1);
      if (opt.history && opt.prior_history && batch->keeps_history()) {
        // One obligation_assessed entry per obligation, in order, as replay would record it.
        Account built = a;
        built.obligations.clear();
        for (const Obligation& o : a.obligations) {
          const AccountSnapshot before = AccountSnapshot::of(built);
          built.obligations.push_back(o);
          const Message assessed{ObligationAssessed{EventId::trusted(fmt::format("E{}-{}", i, o.id)), a.id, o.id,
                                                    o.due_date, o.balance}};
          ++a.history_entries;
          batch->append_history(a, describe(before, built, &assessed, std::nullopt, Outputs{}, day(0), rules));
        }
      }
      batch->store_account(a, std::nullopt);
    }
    if (from == 0) batch->store_timeline(TimelineState{day(0), opt.accounts});
    if (Status s = batch->commit(Durability::buffered); !s) {
      fmt::print(stderr, "advance_bench: {}\n", s.error());
      return 1;
    }
  }
  const double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();
  fmt::print("state: {} accounts ({} with deadlines due each day), built in {:.1f} s\n", opt.accounts, opt.due, fill_s);

  const History history = opt.history ? History::record : History::off;
  std::vector<double> apply_ms, commit_ms;
  for (int k = 1; k <= opt.advances; ++k) {
    auto batch = store.begin(0);
    Processor processor{rules, *batch, history};
    const BusinessDate message{EventId::trusted(fmt::format("bd{}", k)), day(k)};
    auto t0 = std::chrono::steady_clock::now();
    Result<Applied> applied = processor.apply(Message{message});
    auto t1 = std::chrono::steady_clock::now();
    if (!applied) {
      fmt::print(stderr, "advance_bench: {}\n", applied.error());
      return 1;
    }
    if (Status s = batch->commit(Durability::synced); !s) {
      fmt::print(stderr, "advance_bench: {}\n", s.error());
      return 1;
    }
    auto t2 = std::chrono::steady_clock::now();
    apply_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    commit_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    fmt::print("advance {} -> {}: activities={} apply_ms={:.1f} commit_ms={:.1f}\n", day(k - 1), day(k),
               applied->outputs.activities.size(), apply_ms.back(), commit_ms.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::vector<double> total;
  for (std::size_t i = 0; i < apply_ms.size(); ++i) total.push_back(apply_ms[i] + commit_ms[i]);
  fmt::print("advance_bench: accounts={} due={} advance_ms_median={:.1f} min={:.1f} max={:.1f} (apply {:.1f} + commit {:.1f})\n",
             opt.accounts, opt.due, median(total), *std::min_element(total.begin(), total.end()),
             *std::max_element(total.begin(), total.end()), median(apply_ms), median(commit_ms));
  std::filesystem::remove_all(opt.state);
  return 0;
}

}  // namespace
}  // namespace paydist

int main(int argc, char** argv) {
  paydist::Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--accounts") opt.accounts = std::strtoull(value, nullptr, 10);
    else if (flag == "--due") opt.due = std::strtoull(value, nullptr, 10);
    else if (flag == "--advances") opt.advances = std::atoi(value);
    else if (flag == "--state") opt.state = value;
    else if (flag == "--history") opt.history = std::string{value} != "off";
    else if (flag == "--prior-history") opt.prior_history = std::string{value} != "off";
    else {
      std::fprintf(stderr, "usage: paydist_advance_bench [--accounts N] [--due N] [--advances N] [--state DIR] [--history on|off] [--prior-history on|off]\n");
      return 2;
    }
  }
  return paydist::run(opt);
}
