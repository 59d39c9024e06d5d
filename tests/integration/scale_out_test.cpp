// tests/integration/scale_out_test.cpp: issue 8's "done when". Three paydistd processes in one
// consumer group on one local broker with 16 partitions, [kafka] changelog on, each with a
// state directory of its own; a generated stream fed in parts while instances are killed
// (SIGKILL) and started again and a fourth joins. In the end every partition is held by one
// instance and applied to its end; the output topics hold exactly what one `paydist replay` of
// the stream gives, none twice (and numbered 1 to N in each partition); and each partition's
// accounts, read from the state of the instance that owns it, are replay's accounts.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "connectors/kafka.h"
#include "tests/support/daemon_client.h"
#include "tests/support/process.h"
#include "tests/support/replay_compare.h"

namespace paydist::integration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Child;
using testing::eventually;
using testing::read_text;
using testing::run_to_end;
using testing::split_lines;

const std::string kBinary = PAYDIST_BINARY;
const std::string kDaemon = PAYDISTD_BINARY;
constexpr int kWide = 16;
const std::string kChangelog = "paydist.state-changelog";
const std::vector<std::string> kOutputs = {"wlm.activities", "paydist.distributions", "paydist.rejects"};

class ScaleOutTest : public ::testing::Test {
 protected:
  struct Instance {
    fs::path dir;
    Child process;
    int port = 0;
    int starts = 0;
  };

  void SetUp() override {
    dir_ = testing::make_temp_dir("paydist-scale-out");
    testing::Broker broker = testing::start_broker(kBinary, kWide, dir_, {kChangelog});
    broker_ = std::move(broker.process);
    bootstrap_ = broker.bootstrap;
    ASSERT_FALSE(bootstrap_.empty()) << broker_.err();
  }
  void TearDown() override {
    for (auto& i : instances_) i->process.stop(SIGKILL, 5s);
    broker_.stop(SIGKILL, 5s);
    if (!HasFailure()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    } else {
      std::printf("scale-out test files kept in %s\n", dir_.c_str());
    }
  }

  Instance& add_instance() {
    auto instance = std::make_unique<Instance>();
    instance->dir = dir_ / fmt::format("instance{}", instances_.size() + 1);
    fs::create_directories(instance->dir);
    std::ofstream(instance->dir / "paydist.toml") << fmt::format(R"([state]
dir = "{}"
[kafka]
brokers = "{}"
changelog = true
batch_messages_max = 300
batch_interval_ms = 30
[kafka.client]
# A SIGKILLed member leaves the group only at its session timeout: keep that short here.
"session.timeout.ms" = 6000
"heartbeat.interval.ms" = 500
[http]
listen = "127.0.0.1:0"
)",
                                                                 (instance->dir / "state").string(), bootstrap_);
    instances_.push_back(std::move(instance));
    return *instances_.back();
  }

  void start(Instance& i) {
    i.process = Child::spawn({kDaemon, "--config", (i.dir / "paydist.toml").string()},
                             i.dir / fmt::format("daemon{}", ++i.starts));
    i.port = 0;
    ASSERT_TRUE(eventually(30s, [&] {
      i.port = testing::http_port_in_log(i.process.err());
      return i.port != 0;
    })) << i.process.err();
  }

  void feed(const fs::path& events) {
    const testing::Finished f =
        run_to_end({kBinary, "feed", "--brokers", bootstrap_, events.string()}, dir_ / fmt::format("feed{}", ++feeds_), 120s);
    ASSERT_EQ(f.status, 0) << f.err;
  }

  std::string metrics(const Instance& i) { return i.port != 0 ? testing::http_get(i.port, "/metrics").second : ""; }

  // The input partitions each running instance holds, by instance.
  std::map<const Instance*, std::set<std::int32_t>> holdings() {
    std::map<const Instance*, std::set<std::int32_t>> out;
    for (const auto& i : instances_) {
      if (i->process.wait_for(0ms)) continue;  // not running
      for (const auto& [tp, lag] : testing::partition_values(metrics(*i), "paydist_consumer_lag"))
        if (tp.first == "paydist.events") out[i.get()].insert(tp.second);
    }
    return out;
  }

  // Every partition held by exactly one running instance, and every running instance applied
  // to its partitions' ends with every output acknowledged.
  bool caught_up() {
    std::multiset<std::int32_t> held;
    for (const auto& [instance, partitions] : holdings()) held.insert(partitions.begin(), partitions.end());
    if (held.size() != kWide || std::set<std::int32_t>(held.begin(), held.end()).size() != kWide) return false;
    for (const auto& i : instances_) {
      if (i->process.wait_for(0ms)) continue;
      const std::string m = metrics(*i);
      if (testing::metric(m, "paydist_consumer_lag") > 0 || testing::metric(m, "paydist_outbox_depth") != 0 ||
          !testing::applied_to_end(m, bootstrap_, end_offsets_))
        return false;
    }
    return true;
  }

  fs::path dir_;
  Child broker_;
  std::string bootstrap_;
  std::vector<std::unique_ptr<Instance>> instances_;
  testing::EndOffsets end_offsets_;
  int feeds_ = 0;
};

TEST_F(ScaleOutTest, ThreeInstancesWithKillsAndAFourthJoiningGiveWhatOneReplayGives) {
  const fs::path events = dir_ / "events.jsonl";
  const testing::Finished g = run_to_end({kBinary, "generate", "--seed", "47", "--accounts", "300", "--days", "60",
                                          "--out", events.string()},
                                         dir_ / "generate", 60s);
  ASSERT_EQ(g.status, 0) << g.err;
  const std::vector<std::string> lines = split_lines(read_text(events));
  ASSERT_GT(lines.size(), 1000u);
  std::vector<fs::path> parts;
  for (int k = 0; k < 4; ++k) {
    parts.push_back(dir_ / fmt::format("part{}.jsonl", k));
    std::ofstream out{parts.back()};
    for (std::size_t i = lines.size() * k / 4; i < lines.size() * (k + 1) / 4; ++i) out << lines[i] << "\n";
  }

  Instance& a = add_instance();
  Instance& b = add_instance();
  Instance& c = add_instance();
  for (Instance* i : {&a, &b, &c}) ASSERT_NO_FATAL_FAILURE(start(*i));
  ASSERT_TRUE(eventually(60s, [&] { return holdings().size() == 3; })) << a.process.err();

  // The stream goes in while instances die and join: four parts, a moment apart.
  std::thread feeder([&] {
    for (const fs::path& part : parts) {
      feed(part);
      std::this_thread::sleep_for(300ms);
    }
  });
  std::mt19937 random{20261207};
  auto pause = [&] { std::this_thread::sleep_for(std::chrono::milliseconds{std::uniform_int_distribution<int>{100, 700}(random)}); };
  // B dies and comes back at once (before its session times out).
  pause();
  b.process.stop(SIGKILL, 5s);
  ASSERT_NO_FATAL_FAILURE(start(b));
  // A fourth joins: partitions move to it.
  pause();
  Instance& d = add_instance();
  ASSERT_NO_FATAL_FAILURE(start(d));
  // A dies and stays away past its session timeout: its partitions go to the others, which
  // restore them from the changelog; then it comes back and gets some again.
  pause();
  a.process.stop(SIGKILL, 5s);
  std::this_thread::sleep_for(8s);
  ASSERT_NO_FATAL_FAILURE(start(a));
  // C dies and comes back at once.
  pause();
  c.process.stop(SIGKILL, 5s);
  ASSERT_NO_FATAL_FAILURE(start(c));
  feeder.join();

  std::string why;
  ASSERT_TRUE(eventually(240s, [&] { return caught_up(); })) << [&] {
    for (const auto& i : instances_) why += i->dir.string() + ":\n" + metrics(*i) + "\n";
    return why;
  }();
  const std::map<const Instance*, std::set<std::int32_t>> owners = holdings();
  for (const auto& i : instances_) EXPECT_EQ(i->process.stop(SIGTERM, 30s), 0) << i->process.err();
  // What the run went through, from the instances' logs: partitions restored from the
  // changelog, copies dropped at a restart, commits left unfinished by a kill.
  auto count = [&](const std::string& needle) {
    int n = 0;
    for (const auto& i : instances_)
      for (int s = 1; s <= i->starts; ++s) {
        const std::string err = read_text(i->dir / fmt::format("daemon{}.err", s));
        for (auto at = err.find(needle); at != std::string::npos; at = err.find(needle, at + 1)) ++n;
      }
    return n;
  };
  const int restored = count("restored from " + kChangelog), dropped = count("is dropped, to be restored"),
            left_out = count("stopped before the commit's end reached the changelog");
  std::printf("scale-out: instances=%zu restored=%d dropped=%d left_out=%d\n", instances_.size(), restored, dropped,
              left_out);
  EXPECT_GT(restored, 0) << "partitions moved to an instance that had no state of them";

  // The outputs: replay's, none twice, numbered 1 to N in each partition.
  const fs::path replay_state = dir_ / "replay-state", replay_out = dir_ / "replay-out";
  const testing::Finished r = run_to_end(
      {kBinary, "replay", "--state", replay_state.string(), "--out", replay_out.string(), events.string()}, dir_ / "replay", 120s);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::map<std::string, std::string> files = {{"wlm.activities", "activities.jsonl"},
                                                    {"paydist.distributions", "distributions.jsonl"},
                                                    {"paydist.rejects", "rejects.jsonl"}};
  std::map<std::int32_t, std::vector<std::uint64_t>> numbers;
  for (const std::string& topic : kOutputs) {
    const testing::TopicContents contents = testing::read_output_topic(bootstrap_, topic, kWide);
    ASSERT_EQ(contents.problem, "") << topic;
    std::vector<std::string> got;
    for (const testing::PublishedOutput& o : contents.messages) {
      got.push_back(o.value);
      ASSERT_FALSE(o.partition_seq.empty()) << topic << "/" << o.partition << " offset " << o.offset;
      numbers[o.partition].push_back(std::stoull(o.partition_seq));
    }
    std::vector<std::string> want = testing::replay_outputs_on_topics(read_text(replay_out / files.at(topic)), kWide);
    if (topic == "paydist.rejects") {
      got = testing::without_source(got);
      want = testing::without_source(want);
    } else {
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
    }
    EXPECT_EQ(got.size(), want.size()) << topic;
    std::vector<std::string> only_got, only_want;
    std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(only_got));
    std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(only_want));
    EXPECT_TRUE(only_got.empty()) << topic << ": " << only_got.size() << " published and not replay's (twice?), e.g. "
                                  << only_got.front();
    EXPECT_TRUE(only_want.empty()) << topic << ": " << only_want.size() << " of replay's not published, e.g. "
                                   << only_want.front();
  }
  for (auto& [partition, seqs] : numbers) {
    std::sort(seqs.begin(), seqs.end());
    for (std::size_t i = 0; i < seqs.size(); ++i)
      ASSERT_EQ(seqs[i], i + 1) << "partition " << partition << ": a gap or a number twice";
  }

  // The state: each partition's accounts as the instance owning it holds them are replay's.
  const testing::Finished want_accounts =
      run_to_end({kBinary, "inspect", "--state", replay_state.string(), "accounts"}, dir_ / "inspect-replay", 60s);
  ASSERT_EQ(want_accounts.status, 0) << want_accounts.err;
  const std::map<std::string, std::string> want = testing::by_account(want_accounts.out);
  ASSERT_GT(want.size(), 200u);
  std::map<std::string, std::string> got;
  for (const auto& [instance, partitions] : owners) {
    const testing::Finished inspected = run_to_end({kBinary, "inspect", "--state", (instance->dir / "state").string(), "accounts"},
                                                   instance->dir / "inspect", 60s);
    ASSERT_EQ(inspected.status, 0) << inspected.err;
    for (const auto& [id, line] : testing::by_account(inspected.out))
      if (partitions.contains(kafka::partition_for_key(id, kWide))) got.emplace(id, line);
  }
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [id, line] : want) {
    const auto it = got.find(id);
    if (it == got.end())
      ADD_FAILURE() << "account " << id << " is not in its owner's state";
    else
      EXPECT_EQ(it->second, line) << "account " << id;
  }
}

}  // namespace
}  // namespace paydist::integration
