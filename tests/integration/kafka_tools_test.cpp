// tests/integration/kafka_tools_test.cpp: `paydist broker`, `feed` and `tail` as real
// processes on loopback: what feed sends arrives once, keyed by account_id (every message
// of an account in one partition, in file order), business_date lines in every partition;
// tail prints it back; the broker stops cleanly on SIGTERM.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "connectors/kafka.h"
#include "tests/support/process.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Child;
using testing::run_to_end;
using testing::split_lines;

const std::string kBinary = PAYDIST_BINARY;
constexpr int kPartitions = 3;

// A few accounts' messages interleaved, two business dates, a blank line, and a line that
// is not JSON (unkeyed). Values are distinct so that each can be found again.
std::vector<std::string> sample_lines() {
  std::vector<std::string> lines;
  lines.push_back(R"({"type":"business_date","event_id":"BD1","date":"2026-01-01"})");
  for (int i = 0; i < 40; ++i)
    lines.push_back(fmt::format(
        R"({{"type":"payment","event_id":"E{}","account_id":"ACC{}","payment_id":"P{}","amount":"10.00","received_date":"2026-01-01","method":"cash"}})",
        i, i % 7, i));
  lines.push_back("");
  lines.push_back("not json at all");
  lines.push_back(R"({"type":"business_date","event_id":"BD2","date":"2026-01-02"})");
  return lines;
}

class KafkaToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("paydist-kafka-tools");
    testing::Broker broker = testing::start_broker(kBinary, kPartitions, dir_);
    broker_ = std::move(broker.process);
    bootstrap_ = broker.bootstrap;
    ASSERT_FALSE(bootstrap_.empty()) << broker_.err();
  }
  void TearDown() override {
    broker_.stop(SIGKILL, 5s);
    fs::remove_all(dir_);
  }

  fs::path write_events(const std::vector<std::string>& lines) {
    const fs::path path = dir_ / "events.jsonl";
    std::ofstream out(path);
    for (const std::string& line : lines) out << line << '\n';
    return path;
  }

  fs::path dir_;
  Child broker_;
  std::string bootstrap_;
};

TEST_F(KafkaToolsTest, BrokerPrintsItsAddressAndStopsOnSigterm) {
  EXPECT_EQ(split_lines(broker_.out()), std::vector<std::string>{bootstrap_});
  EXPECT_NE(bootstrap_.find("127.0.0.1:"), std::string::npos);
  EXPECT_EQ(broker_.stop(SIGTERM, 5s), 0);
  EXPECT_FALSE(fs::exists(dir_ / "brokers")) << "the address file is removed once the broker stops";
}

TEST_F(KafkaToolsTest, FeedSendsEachLineOnceAndTailPrintsThemBack) {
  const std::vector<std::string> lines = sample_lines();
  const testing::Finished fed =
      run_to_end({kBinary, "feed", "--brokers", bootstrap_, write_events(lines).string()}, dir_ / "feed", 60s);
  ASSERT_EQ(fed.status, 0) << fed.err;
  // 40 payments, 1 unkeyed line, 2 business dates x 3 partitions; the blank line is skipped.
  EXPECT_NE(fed.err.find("acknowledged=47 failed=0"), std::string::npos) << fed.err;

  const testing::Finished tailed = run_to_end(
      {kBinary, "tail", "--brokers", bootstrap_, "--topic", "paydist.events", "--until-end"}, dir_ / "tail", 60s);
  ASSERT_EQ(tailed.status, 0) << tailed.err;
  std::multiset<std::string> got;
  for (const std::string& line : split_lines(tailed.out)) got.insert(line);
  std::multiset<std::string> want;
  for (const std::string& line : lines) {
    if (line.empty()) continue;
    const int copies = line.find("business_date") != std::string::npos ? kPartitions : 1;
    for (int i = 0; i < copies; ++i) want.insert(line);
  }
  EXPECT_EQ(got, want);
}

// --compression zstd is what bench/run uses to keep a whole benchmark input on the local
// broker (which keeps 5 MiB a partition): the lines must still arrive as they were.
TEST_F(KafkaToolsTest, FeedWithZstdCompressionDeliversTheSameLinesAndRefusesAnUnknownCodec) {
  const std::vector<std::string> lines = sample_lines();
  const fs::path events = write_events(lines);
  const testing::Finished fed = run_to_end(
      {kBinary, "feed", "--brokers", bootstrap_, "--compression", "zstd", events.string()}, dir_ / "feed", 60s);
  ASSERT_EQ(fed.status, 0) << fed.err;
  EXPECT_NE(fed.err.find("acknowledged=47 failed=0"), std::string::npos) << fed.err;
  const testing::Finished tailed = run_to_end(
      {kBinary, "tail", "--brokers", bootstrap_, "--topic", "paydist.events", "--until-end"}, dir_ / "tail", 60s);
  ASSERT_EQ(tailed.status, 0) << tailed.err;
  std::multiset<std::string> got;
  for (const std::string& line : split_lines(tailed.out)) got.insert(line);
  EXPECT_EQ(got.count(lines[1]), 1u);
  EXPECT_EQ(got.count(lines.front()), static_cast<std::size_t>(kPartitions));
  EXPECT_EQ(got.size(), 47u);

  const testing::Finished refused = run_to_end(
      {kBinary, "feed", "--brokers", bootstrap_, "--compression", "brotli", events.string()}, dir_ / "refused", 60s);
  EXPECT_EQ(refused.status, 2) << refused.err;
}

// --max-in-flight 1 (BrokerFaultTest feeds so under injected produce errors): every line
// still arrives once; a count librdkafka's idempotent producer does not take is refused.
TEST_F(KafkaToolsTest, FeedWithOneRequestInFlightDeliversEveryLineAndRefusesCountsOutOfRange) {
  const std::vector<std::string> lines = sample_lines();
  const fs::path events = write_events(lines);
  const testing::Finished fed = run_to_end(
      {kBinary, "feed", "--brokers", bootstrap_, "--max-in-flight", "1", events.string()}, dir_ / "feed", 60s);
  ASSERT_EQ(fed.status, 0) << fed.err;
  EXPECT_NE(fed.err.find("acknowledged=47 failed=0"), std::string::npos) << fed.err;
  const testing::Finished tailed = run_to_end(
      {kBinary, "tail", "--brokers", bootstrap_, "--topic", "paydist.events", "--until-end"}, dir_ / "tail", 60s);
  ASSERT_EQ(tailed.status, 0) << tailed.err;
  EXPECT_EQ(split_lines(tailed.out).size(), 47u);

  for (const char* count : {"0", "6"}) {
    const testing::Finished refused =
        run_to_end({kBinary, "feed", "--brokers", bootstrap_, "--max-in-flight", count, events.string()},
                   dir_ / fmt::format("refused{}", count), 60s);
    EXPECT_EQ(refused.status, 2) << count << ": " << refused.err;
    EXPECT_NE(refused.err.find("--max-in-flight"), std::string::npos) << refused.err;
  }
}

TEST_F(KafkaToolsTest, FeedKeysByAccountInFileOrderAndBroadcastsBusinessDates) {
  const std::vector<std::string> lines = sample_lines();
  ASSERT_EQ(run_to_end({kBinary, "feed", "--brokers", bootstrap_, write_events(lines).string()}, dir_ / "feed", 60s).status,
            0);

  auto reader = kafka::Reader::create({.brokers = bootstrap_}).value();
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> from;
  for (int p = 0; p < kPartitions; ++p) from.push_back({{"paydist.events", p}, 0});
  ASSERT_TRUE(reader->assign(from));
  std::map<int, std::vector<kafka::ConsumedMessage>> by_partition;
  std::size_t received = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 30s; received < 47 && std::chrono::steady_clock::now() < deadline;) {
    auto polled = reader->poll(100ms);
    ASSERT_TRUE(polled) << polled.error();
    if (!*polled) continue;
    by_partition[(*polled)->partition].push_back(std::move(**polled));
    ++received;
  }
  ASSERT_EQ(received, 47u);

  std::map<std::string, int> partition_of_account;
  for (const auto& [partition, messages] : by_partition) {
    // Each partition starts and ends with the two business dates, in order.
    ASSERT_GE(messages.size(), 2u);
    EXPECT_EQ(messages.front().value, lines.front());
    EXPECT_EQ(messages.back().value, lines.back());
    EXPECT_FALSE(messages.front().key.has_value()) << "business_date lines go unkeyed, to every partition";
    // Within a partition, an account's payments keep their file order (E ids increase).
    std::map<std::string, int> last_event_of_account;
    for (const kafka::ConsumedMessage& m : messages) {
      if (!m.key) continue;
      auto [it, inserted] = partition_of_account.emplace(*m.key, partition);
      EXPECT_EQ(it->second, partition) << "account " << *m.key << " in two partitions";
      const int event = std::stoi(m.value.substr(m.value.find("\"E") + 2));
      EXPECT_LT(last_event_of_account[*m.key], event + 1);
      last_event_of_account[*m.key] = event + 1;
      EXPECT_NE(m.value.find("\"account_id\":\"" + *m.key + "\""), std::string::npos);
    }
  }
  EXPECT_EQ(partition_of_account.size(), 7u);
}

// feed and tail can take paydistd's configuration instead of --brokers: its bootstrap list,
// or for brokers = "embedded" the address paydistd wrote into its state directory.
TEST_F(KafkaToolsTest, FeedAndTailFindTheBrokerInADaemonConfig) {
  const fs::path events = write_events({R"({"type":"business_date","event_id":"BD1","date":"2026-01-01"})"});
  std::ofstream(dir_ / "listed.toml") << fmt::format("[kafka]\nbrokers = \"{}\"\n", bootstrap_);
  fs::create_directories(dir_ / "state");
  std::ofstream(dir_ / "state" / "embedded-brokers") << bootstrap_ << "\n";
  std::ofstream(dir_ / "embedded.toml") << fmt::format("[state]\ndir = \"{}\"\n[kafka]\nbrokers = \"embedded\"\n",
                                                       (dir_ / "state").string());
  for (const char* config : {"listed.toml", "embedded.toml"}) {
    const testing::Finished fed =
        run_to_end({kBinary, "feed", "--config", (dir_ / config).string(), events.string()}, dir_ / "feed", 60s);
    EXPECT_EQ(fed.status, 0) << config << ": " << fed.err;
  }
  const testing::Finished tailed = run_to_end(
      {kBinary, "tail", "--config", (dir_ / "listed.toml").string(), "--topic", "paydist.events", "--until-end"},
      dir_ / "tail", 60s);
  ASSERT_EQ(tailed.status, 0) << tailed.err;
  EXPECT_EQ(split_lines(tailed.out).size(), 2u * kPartitions) << "one business date per partition per feed";

  fs::remove(dir_ / "state" / "embedded-brokers");
  const testing::Finished missing =
      run_to_end({kBinary, "feed", "--config", (dir_ / "embedded.toml").string(), events.string()}, dir_ / "feed", 60s);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("is paydistd running?"), std::string::npos) << missing.err;
  EXPECT_EQ(run_to_end({kBinary, "feed", "--brokers", bootstrap_, "--config", (dir_ / "listed.toml").string(),
                        events.string()},
                       dir_ / "feed", 10s)
                .status,
            2);
}

TEST_F(KafkaToolsTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run_to_end({kBinary, "feed", "events.jsonl"}, dir_ / "usage1", 10s).status, 2);
  EXPECT_EQ(run_to_end({kBinary, "tail", "--brokers", bootstrap_}, dir_ / "usage2", 10s).status, 2);
  EXPECT_EQ(run_to_end({kBinary, "broker", "--partitions", "0"}, dir_ / "usage3", 10s).status, 2);
  EXPECT_EQ(run_to_end({kBinary, "partitions"}, dir_ / "usage4", 10s).status, 2);
}

// `paydist partitions` with no paydistd ever run: every partition listed, nothing committed
// ("-"), no owner, the whole topic as lag; the changelog column says "off" by default. An
// embedded-broker config whose daemon is not running: one line, exit 1.
TEST_F(KafkaToolsTest, PartitionsListsEveryInputPartitionEvenWithNoDaemon) {
  const fs::path events = write_events({R"({"type":"business_date","event_id":"BD1","date":"2026-01-01"})"});
  std::ofstream(dir_ / "listed.toml") << fmt::format("[kafka]\nbrokers = \"{}\"\ngroup_id = \"nobody\"\n", bootstrap_);
  ASSERT_EQ(run_to_end({kBinary, "feed", "--brokers", bootstrap_, events.string()}, dir_ / "feed", 60s).status, 0);
  const testing::Finished listed =
      run_to_end({kBinary, "partitions", "--config", (dir_ / "listed.toml").string()}, dir_ / "partitions", 60s);
  ASSERT_EQ(listed.status, 0) << listed.err;
  const std::vector<std::string> rows = split_lines(listed.out);
  ASSERT_EQ(rows.size(), 1u + kPartitions) << listed.out;
  for (int p = 0; p < kPartitions; ++p) {
    const std::string& row = rows[1 + static_cast<std::size_t>(p)];
    EXPECT_EQ(row.rfind(std::to_string(p) + " ", 0), 0u) << row;
    EXPECT_NE(row.find(" - "), std::string::npos) << row;    // nothing committed
    EXPECT_NE(row.find(" off "), std::string::npos) << row;  // no changelog
  }
  EXPECT_NE(listed.err.find(fmt::format("partitions: topic=paydist.events group=nobody partitions={} with_owner=0 restoring=0 lag={}",
                                        kPartitions, kPartitions)),
            std::string::npos)
      << listed.err;

  fs::create_directories(dir_ / "state");
  std::ofstream(dir_ / "embedded.toml") << fmt::format("[state]\ndir = \"{}\"\n[kafka]\nbrokers = \"embedded\"\n",
                                                       (dir_ / "state").string());
  const testing::Finished missing =
      run_to_end({kBinary, "partitions", "--config", (dir_ / "embedded.toml").string()}, dir_ / "missing", 30s);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("is paydistd running?"), std::string::npos) << missing.err;
}

TEST_F(KafkaToolsTest, TailOfAnUnknownTopicFailsWithOneLine) {
  const testing::Finished tailed =
      run_to_end({kBinary, "tail", "--brokers", bootstrap_, "--topic", "no.such.topic", "--until-end"}, dir_ / "tail", 30s);
  EXPECT_EQ(tailed.status, 1);
  EXPECT_NE(tailed.err.find("no.such.topic"), std::string::npos) << tailed.err;
}

}  // namespace
}  // namespace paydist
