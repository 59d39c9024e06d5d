// tests/crash/crash_campaign_test.cpp: the crash campaign (issue 7, item 1). A real `paydist
// broker` and `paydistd`; each round feeds more of a generated stream and kills the daemon
// mid-work, with SIGKILL from outside at a random instant or at a fault point it passes
// (connectors/fault_point.h: inside a state commit, between publishing and acknowledging).
// After an episode's rounds a clean daemon finishes the stream, and the output topics and
// every account must equal a clean `paydist replay` of the same stream, and `paydist verify`
// must pass on the daemon's state. Every other episode runs with [kafka] changelog = true, and
// then the changelog topic alone must give the daemon's state back. Prints one line:
//   crash-campaign: rounds=12 kills=12 fault_kills=8 resumed_mid_stream=9 changelog_episodes=1 lost=0 duplicated=0 mismatched=0
// Built only with -DPAYDIST_FAULT_INJECTION=ON; CTest label `crash`. More rounds:
//   PAYDIST_CRASH_ROUNDS=200 ctest --test-dir build -L crash --output-on-failure
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "connectors/state_store.h"
#include "tests/support/changelog.h"
#include "tests/support/daemon_client.h"
#include "tests/support/process.h"
#include "tests/support/replay_compare.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Child;
using testing::eventually;
using testing::http_get;
using testing::metric;
using testing::read_text;
using testing::run_to_end;
using testing::split_lines;

const std::string kBinary = PAYDIST_BINARY;
const std::string kDaemon = PAYDISTD_BINARY;
constexpr int kPartitions = 3;
constexpr int kRoundsPerEpisode = 6;
const std::vector<std::string> kOutputTopics = {"wlm.activities", "paydist.distributions", "paydist.rejects"};
// Every other episode runs with [kafka] changelog = true, and its changelog must then give
// the daemon's state back (tests/support/changelog.h).
const std::string kChangelogTopic = "paydist.state-changelog";

// Every fault point the daemon passes (connectors/fault_point.h's PAYDIST_FAULT_POINT uses).
const std::vector<std::string> kFaultPoints = {
    "commit:before-put",     "commit:after-put",       "commit:after-commit",  "ack:after-put",
    "ack:after-commit",      "publish:after-produce",  "publish:after-delivery", "recover:after-produce",
    "publish:after-changelog-release", "recover:after-drop"};

struct Tally {
  int rounds = 0;
  int kills = 0;
  int fault_kills = 0;     // the daemon killed itself at its fault point
  int resumed_mid_stream = 0;  // starts that resumed a partition from an offset above 0
  long lost = 0;           // outputs replay has and the topics lack; unknown accounts
  long duplicated = 0;     // outputs the topics have more often than replay; seqs published twice
  long mismatched = 0;     // accounts whose state differs from replay's; failed verifies;
                           // partitions the changelog does not give back
  int changelog_episodes = 0;  // episodes run with [kafka] changelog = true and checked
};

int rounds_wanted() {
  const char* text = std::getenv("PAYDIST_CRASH_ROUNDS");
  const int rounds = text != nullptr ? std::atoi(text) : 12;
  return std::max(rounds, 1);
}

// A multiset difference of two sorted vectors: how many of `a` are not matched in `b`.
long missing_from(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> only;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only));
  for (std::size_t i = 0; i < only.size() && i < 3; ++i) ADD_FAILURE() << "only one side has: " << only[i];
  return static_cast<long>(only.size());
}

class Episode {
 public:
  Episode(int number, std::mt19937& random, Tally& tally) : number_(number), random_(random), tally_(tally) {}
  ~Episode() {
    daemon_.stop(SIGKILL, 5s);
    broker_.stop(SIGKILL, 5s);
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
  }

  void run(int rounds) {
    dir_ = testing::make_temp_dir(fmt::format("paydist-crash{}", number_));
    testing::Broker broker = testing::start_broker(kBinary, kPartitions, dir_, {kChangelogTopic});
    broker_ = std::move(broker.process);
    bootstrap_ = broker.bootstrap;
    ASSERT_FALSE(bootstrap_.empty()) << broker_.err();
    write_config();
    const std::vector<fs::path> parts = generate_parts(rounds);
    for (int round = 0; round < rounds; ++round) {
      feed(parts[static_cast<std::size_t>(round)]);
      kill_once();
      if (::testing::Test::HasFatalFailure()) return;
      if (changelog()) check_changelog_follows_outputs();
      ++tally_.rounds;
    }
    // A clean daemon finishes the stream.
    start_daemon({});
    ASSERT_TRUE(wait_port()) << daemon_.err();
    ASSERT_TRUE(eventually(180s, [&] { return caught_up(); })) << metrics() << daemon_.err();
    EXPECT_EQ(daemon_.stop(SIGTERM, 10s), 0) << daemon_.err();
    count_resumed();
    compare_with_replay();
    if (changelog()) compare_changelog();
  }

 private:
  void write_config() {
    std::ofstream(dir_ / "paydist.toml") << fmt::format(R"([state]
dir = "{}"
[kafka]
brokers = "{}"
batch_messages_max = 300
batch_interval_ms = 30
changelog = {}
[kafka.client]
# A killed member leaves the group at its session timeout: short, so rounds follow quickly
# (the local broker assigns nothing with 2000).
"session.timeout.ms" = 6000
"heartbeat.interval.ms" = 500
[http]
listen = "127.0.0.1:0"
)",
                                                        (dir_ / "state").string(), bootstrap_, changelog() ? "true" : "false");
  }
  bool changelog() const { return number_ % 2 == 1; }

  // The episode's stream (every message type, some bad lines, a few redeliveries), and the
  // same lines cut into `rounds` consecutive files.
  std::vector<fs::path> generate_parts(int rounds) {
    events_ = dir_ / "events.jsonl";
    const testing::Finished g =
        run_to_end({kBinary, "generate", "--seed", std::to_string(1000 + number_), "--accounts", "800", "--days", "40",
                    "--out", events_.string()},
                   dir_ / "generate", 60s);
    EXPECT_EQ(g.status, 0) << g.err;
    const std::vector<std::string> lines = split_lines(read_text(events_));
    std::vector<fs::path> parts;
    const std::size_t per_part = lines.size() / static_cast<std::size_t>(rounds) + 1;
    for (int r = 0; r < rounds; ++r) {
      parts.push_back(dir_ / fmt::format("part{}.jsonl", r));
      std::ofstream out(parts.back());
      for (std::size_t i = static_cast<std::size_t>(r) * per_part; i < std::min(lines.size(), (r + 1) * per_part); ++i)
        out << lines[i] << '\n';
    }
    return parts;
  }

  void feed(const fs::path& part) {
    const testing::Finished f = run_to_end({kBinary, "feed", "--brokers", bootstrap_, part.string()}, dir_ / "feed", 120s);
    ASSERT_EQ(f.status, 0) << f.err;
  }

  // One round's kill: at a fault point (two rounds in three) or from outside at a random
  // instant after the daemon got its partitions. A fault point the daemon does not reach
  // before it catches up is replaced by a SIGKILL from outside then.
  void kill_once() {
    const bool at_fault = std::uniform_int_distribution<int>{0, 2}(random_) != 0;
    std::vector<std::string> env;
    if (at_fault) {
      const std::string& point = kFaultPoints[std::uniform_int_distribution<std::size_t>{0, kFaultPoints.size() - 1}(random_)];
      env.push_back(fmt::format("PAYDIST_FAULT={}:{}", point, std::uniform_int_distribution<int>{1, 4}(random_)));
    }
    start_daemon(env);
    if (at_fault) {
      const bool ended = eventually(90s, [&] { return daemon_.wait_for(0ms).has_value() || (wait_port(0ms) && caught_up()); });
      ASSERT_TRUE(ended) << "the daemon neither died at its fault point nor caught up\n" << daemon_.err();
      if (daemon_.wait_for(0ms)) {
        ASSERT_EQ(*daemon_.wait_for(0ms), -SIGKILL) << daemon_.err();
        ASSERT_NE(daemon_.err().find("paydist fault point"), std::string::npos) << daemon_.err();
        ++tally_.fault_kills;
        ++tally_.kills;
        return;
      }
    } else {
      ASSERT_TRUE(eventually(60s, [&] { return daemon_.err().find("assigned paydist.events/") != std::string::npos; }))
          << daemon_.err();
      std::this_thread::sleep_for(std::chrono::milliseconds{std::uniform_int_distribution<int>{0, 400}(random_)});
    }
    daemon_.stop(SIGKILL, 5s);
    ++tally_.kills;
  }

  void start_daemon(const std::vector<std::string>& env) {
    daemon_ = Child::spawn({kDaemon, "--config", (dir_ / "paydist.toml").string()}, dir_ / fmt::format("daemon{}", ++starts_),
                           env);
    port_ = 0;
  }

  // Reads the daemon's HTTP port from its log (waits at most `timeout`).
  bool wait_port(std::chrono::milliseconds timeout = 30s) {
    if (port_ != 0) return true;
    return eventually(timeout, [&] {
      port_ = testing::http_port_in_log(daemon_.err());
      return port_ != 0;
    });
  }

  std::string metrics() { return port_ != 0 ? http_get(port_, "/metrics").second : ""; }

  // Every input partition assigned and applied to its end as the broker says now (the lag
  // gauge alone can be stale: testing::applied_to_end), every output acknowledged.
  bool caught_up() {
    const std::string m = metrics();
    int assigned = 0;
    for (const std::string& line : split_lines(m)) assigned += line.rfind("paydist_consumer_lag{", 0) == 0 ? 1 : 0;
    return assigned == kPartitions && metric(m, "paydist_consumer_lag") == 0 && metric(m, "paydist_outbox_depth") == 0 &&
           testing::applied_to_end(m, bootstrap_, end_offsets_);
  }
  testing::EndOffsets end_offsets_;

  void count_resumed() {
    for (int i = 1; i <= starts_; ++i) {
      const std::string err = read_text(dir_ / fmt::format("daemon{}.err", i));
      for (char digit = '1'; digit <= '9'; ++digit)
        if (err.find(std::string{"from offset "} + digit) != std::string::npos) {
          ++tally_.resumed_mid_stream;
          break;
        }
    }
  }

  void compare_with_replay() {
    const fs::path state = dir_ / "replay-state", out = dir_ / "replay-out";
    const testing::Finished r =
        run_to_end({kBinary, "replay", "--state", state.string(), "--out", out.string(), events_.string()}, dir_ / "replay", 120s);
    ASSERT_EQ(r.status, 0) << r.err;
    const std::map<std::string, std::string> files = {{"wlm.activities", "activities.jsonl"},
                                                      {"paydist.distributions", "distributions.jsonl"},
                                                      {"paydist.rejects", "rejects.jsonl"}};
    for (const std::string& topic : kOutputTopics) {
      const testing::TopicContents contents = testing::read_output_topic(bootstrap_, topic, kPartitions);
      ASSERT_EQ(contents.problem, "");
      std::set<std::pair<std::string, std::string>> seqs;
      std::vector<std::string> got;
      for (const testing::PublishedOutput& o : contents.messages) {
        if (!seqs.insert({o.state, o.seq}).second) ++tally_.duplicated;
        got.push_back(o.value);
      }
      std::vector<std::string> want = testing::replay_outputs_on_topics(read_text(out / files.at(topic)), kPartitions);
      if (topic == "paydist.rejects") {
        got = testing::without_source(got);
        want = testing::without_source(want);
      } else {
        std::sort(got.begin(), got.end());
        std::sort(want.begin(), want.end());
      }
      tally_.lost += missing_from(want, got);
      tally_.duplicated += missing_from(got, want);
    }
    // `paydist verify`: every invariant of the daemon's state (balances, payments' lines,
    // instalments, the deadline index, offsets and outbox).
    const testing::Finished verified =
        run_to_end({kBinary, "verify", "--state", (dir_ / "state").string()}, dir_ / "verify", 120s);
    if (verified.status != 0) {
      ++tally_.mismatched;
      ADD_FAILURE() << "paydist verify of the daemon's state failed:\n" << verified.out << verified.err;
    }
    // Every account, as `paydist inspect accounts` prints them from both states.
    const testing::Finished want_accounts =
        run_to_end({kBinary, "inspect", "--state", state.string(), "accounts"}, dir_ / "inspect-replay", 60s);
    const testing::Finished got_accounts =
        run_to_end({kBinary, "inspect", "--state", (dir_ / "state").string(), "accounts"}, dir_ / "inspect-daemon", 60s);
    ASSERT_EQ(want_accounts.status, 0) << want_accounts.err;
    ASSERT_EQ(got_accounts.status, 0) << got_accounts.err;
    const std::map<std::string, std::string> want = testing::by_account(want_accounts.out), got = testing::by_account(got_accounts.out);
    ASSERT_GT(want.size(), 100u);
    for (const auto& [id, line] : want) {
      const auto it = got.find(id);
      if (it == got.end()) {
        ++tally_.lost;
        ADD_FAILURE() << "account " << id << " missing from the daemon's state";
      } else if (it->second != line) {
        ++tally_.mismatched;
        ADD_FAILURE() << "account " << id << " differs:\n  replay: " << line << "\n  daemon: " << it->second;
      }
    }
    for (const auto& [id, line] : got)
      if (!want.contains(id)) {
        ++tally_.mismatched;
        ADD_FAILURE() << "account " << id << " only in the daemon's state";
      }
  }

  // With the changelog on, after a kill: a commit reaches the changelog only once its outputs
  // are on their topics, so every output the changelog's whole commits count in a partition
  // is there (paydist-partition-seq 1 to that count).
  void check_changelog_follows_outputs() {
    const std::vector<std::int64_t> counted = testing::changelog_output_counts(bootstrap_, kChangelogTopic, kPartitions);
    std::vector<std::int64_t> published(kPartitions, 0);
    for (const std::string& topic : kOutputTopics) {
      const testing::TopicContents contents = testing::read_output_topic(bootstrap_, topic, kPartitions);
      ASSERT_EQ(contents.problem, "") << topic;
      for (const testing::PublishedOutput& o : contents.messages)
        if (!o.partition_seq.empty())
          published[static_cast<std::size_t>(o.partition)] =
              std::max<std::int64_t>(published[static_cast<std::size_t>(o.partition)], std::stoll(o.partition_seq));
    }
    for (int p = 0; p < kPartitions; ++p) {
      ASSERT_GE(counted[static_cast<std::size_t>(p)], 0) << "changelog partition " << p << " not read";
      if (counted[static_cast<std::size_t>(p)] > published[static_cast<std::size_t>(p)]) ++tally_.lost;
      EXPECT_LE(counted[static_cast<std::size_t>(p)], published[static_cast<std::size_t>(p)])
          << "partition " << p << ": the changelog counts outputs its topics lack";
    }
  }

  // With the changelog on: it alone, imported partition by partition, gives the daemon's state.
  void compare_changelog() {
    const testing::RestoredChangelog restored =
        testing::restore_changelog(bootstrap_, kChangelogTopic, kPartitions, dir_ / "changelog");
    ASSERT_EQ(restored.problem, "");
    tally_.duplicated += restored.repeated;
    EXPECT_EQ(restored.repeated, 0) << "changelog records published twice";
    EXPECT_EQ(restored.unfinished, 0) << "rows after the last commit row: the recovered daemon left a commit unfinished";
    auto state = StateStore::open(dir_ / "state", StoreOptions{.access = StoreOptions::Access::read_only});
    ASSERT_TRUE(state.ok()) << state.error();
    for (int p = 0; p < kPartitions; ++p) {
      if (testing::rows_of(*restored.stores[p], p) == testing::rows_of(**state, p)) continue;
      ++tally_.mismatched;
      ADD_FAILURE() << "partition " << p << ": the changelog does not give the daemon's state back";
    }
    ++tally_.changelog_episodes;
  }

  int number_;
  std::mt19937& random_;
  Tally& tally_;
  fs::path dir_;
  fs::path events_;
  Child broker_;
  Child daemon_;
  std::string bootstrap_;
  int port_ = 0;
  int starts_ = 0;
};

TEST(CrashCampaign, KillsAtRandomInstantsAndFaultPointsLoseNothingAndApplyNothingTwice) {
  const int rounds = rounds_wanted();
  std::mt19937 random{20261205};
  Tally tally;
  for (int episode = 0; tally.rounds < rounds; ++episode) {
    Episode e{episode, random, tally};
    e.run(std::min(kRoundsPerEpisode, rounds - tally.rounds));
    if (HasFatalFailure()) break;
  }
  const std::string line =
      fmt::format("crash-campaign: rounds={} kills={} fault_kills={} resumed_mid_stream={} changelog_episodes={} "
                  "lost={} duplicated={} mismatched={}",
                  tally.rounds, tally.kills, tally.fault_kills, tally.resumed_mid_stream, tally.changelog_episodes,
                  tally.lost, tally.duplicated, tally.mismatched);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  EXPECT_EQ(tally.rounds, rounds) << line;
  EXPECT_EQ(tally.kills, rounds) << line;
  EXPECT_GT(tally.fault_kills, 0) << line;
  EXPECT_GT(tally.resumed_mid_stream, 0) << "the kills must interrupt the stream, not just start-up: " << line;
  if (rounds > kRoundsPerEpisode) {
    EXPECT_GT(tally.changelog_episodes, 0) << line;
  }
  EXPECT_EQ(tally.lost, 0) << line;
  EXPECT_EQ(tally.duplicated, 0) << line;
  EXPECT_EQ(tally.mismatched, 0) << line;
}

}  // namespace
}  // namespace paydist
