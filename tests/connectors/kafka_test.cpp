// tests/connectors/kafka_test.cpp: connectors/kafka.h against an in-process mock cluster:
// deliveries report the caller's token, headers and keys survive the trip, watermarks and
// partition counts are right, a missing topic is an error, and a producer rides out the
// broker going down and coming back.
#include "connectors/kafka.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace paydist::kafka {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 2;

std::unique_ptr<MockCluster> start_cluster() {
  auto cluster = MockCluster::start(TopicNames{}.all(), kPartitions);
  EXPECT_TRUE(cluster) << cluster.error();
  return std::move(*cluster);
}

// Reads `count` messages (at most 20 s) from every partition of `topic`.
std::vector<ConsumedMessage> read_all(const std::string& bootstrap, const std::string& topic, std::size_t count,
                                      std::size_t value_bytes_max = SIZE_MAX) {
  auto reader = Reader::create({.brokers = bootstrap, .value_bytes_max = value_bytes_max}).value();
  std::vector<std::pair<TopicPartition, std::int64_t>> from;
  for (int p = 0; p < kPartitions; ++p) from.push_back({{topic, p}, 0});
  EXPECT_TRUE(reader->assign(from));
  std::vector<ConsumedMessage> out;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; out.size() < count && std::chrono::steady_clock::now() < deadline;) {
    auto polled = reader->poll(100ms);
    EXPECT_TRUE(polled) << polled.error();
    if (polled && *polled) out.push_back(std::move(**polled));
  }
  return out;
}

TEST(Kafka, DeliveriesCarryTokensAndMessagesKeepKeysAndHeaders) {
  auto cluster = start_cluster();
  std::map<std::uint64_t, Delivery> deliveries;
  auto producer = Producer::create({.brokers = cluster->bootstrap()}, Idempotence::on,
                                   [&](const Delivery& d) { deliveries[d.token] = d; })
                      .value();
  ASSERT_TRUE(producer->produce({.topic = "wlm.activities", .key = "ACC1", .value = "one",
                                 .headers = {{"paydist-seq", "17"}}, .token = 101}));
  ASSERT_TRUE(producer->produce({.topic = "wlm.activities", .partition = 1, .value = "two", .token = 102}));
  ASSERT_TRUE(producer->flush(10s));
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_TRUE(deliveries[101].delivered);
  EXPECT_EQ(deliveries[102].partition, 1);
  EXPECT_EQ(deliveries[102].offset, 0);

  const std::vector<ConsumedMessage> got = read_all(cluster->bootstrap(), "wlm.activities", 2);
  ASSERT_EQ(got.size(), 2u);
  for (const ConsumedMessage& m : got) {
    if (m.value == "one") {
      EXPECT_EQ(m.key, std::optional<std::string>{"ACC1"});
      ASSERT_EQ(m.headers.size(), 1u);
      EXPECT_EQ(m.headers[0].name, "paydist-seq");
      EXPECT_EQ(m.headers[0].value, "17");
      EXPECT_EQ(m.partition, deliveries[101].partition);
    } else {
      EXPECT_EQ(m.value, "two");
      EXPECT_FALSE(m.key.has_value());
      EXPECT_TRUE(m.headers.empty());
    }
  }
}

// contract 6: an oversized input is rejected unread; the consumer copies no more of it than
// the codec needs to tell (paydistd: max_message_bytes + 1), and keeps its real size.
TEST(Kafka, AConsumerCopiesAtMostValueBytesMaxAndKeepsTheRealSize) {
  auto cluster = start_cluster();
  auto producer = Producer::create({.brokers = cluster->bootstrap()}, Idempotence::on, [](const Delivery&) {}).value();
  const std::string big(100'000, 'x');
  ASSERT_TRUE(producer->produce({.topic = "paydist.events", .partition = 0, .value = big}));
  ASSERT_TRUE(producer->produce({.topic = "paydist.events", .partition = 0, .value = "small"}));
  ASSERT_TRUE(producer->flush(10s));
  const std::vector<ConsumedMessage> got = read_all(cluster->bootstrap(), "paydist.events", 2, 1025);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].value, std::string(1025, 'x'));
  EXPECT_EQ(got[0].value_bytes, 100'000u);
  EXPECT_EQ(got[1].value, "small");
  EXPECT_EQ(got[1].value_bytes, 5u);
}

TEST(Kafka, SameKeyAlwaysGoesToTheSamePartition) {
  auto cluster = start_cluster();
  std::map<std::uint64_t, Delivery> deliveries;
  auto producer = Producer::create({.brokers = cluster->bootstrap()}, Idempotence::on,
                                   [&](const Delivery& d) { deliveries[d.token] = d; })
                      .value();
  for (std::uint64_t i = 0; i < 20; ++i)
    ASSERT_TRUE(producer->produce({.topic = "paydist.events", .key = i % 2 == 0 ? "ACC-A" : "ACC-B", .value = "x", .token = i}));
  ASSERT_TRUE(producer->flush(10s));
  for (std::uint64_t i = 2; i < 20; ++i) EXPECT_EQ(deliveries[i].partition, deliveries[i % 2].partition);
}

TEST(Kafka, PartitionCountsWatermarksAndMissingTopics) {
  auto cluster = start_cluster();
  auto reader = Reader::create({.brokers = cluster->bootstrap()}).value();
  EXPECT_EQ(reader->partition_count("paydist.events", 10s).value(), kPartitions);
  auto missing = reader->partition_count("no.such.topic", 10s);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "topic no.such.topic does not exist");

  auto producer = Producer::create({.brokers = cluster->bootstrap()}, Idempotence::on, nullptr).value();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(producer->produce({.topic = "paydist.rejects", .partition = 0, .value = "r"}));
  ASSERT_TRUE(producer->flush(10s));
  const Watermarks w = reader->watermarks({"paydist.rejects", 0}, 10s).value();
  EXPECT_EQ(w.low, 0);
  EXPECT_EQ(w.high, 3);
}

TEST(Kafka, BadClientPropertyIsAnErrorNamingIt) {
  auto producer = Producer::create({.brokers = "127.0.0.1:1", .client = {{"no.such.property", "1"}}}, Idempotence::on, nullptr);
  ASSERT_FALSE(producer);
  EXPECT_NE(producer.error().find("no.such.property"), std::string::npos) << producer.error();
}

TEST(Kafka, ProducerDeliversOnceTheBrokerComesBack) {
  auto cluster = start_cluster();
  int delivered = 0;
  auto producer = Producer::create({.brokers = cluster->bootstrap()}, Idempotence::on,
                                   [&](const Delivery& d) { delivered += d.delivered ? 1 : 0; })
                      .value();
  ASSERT_TRUE(producer->produce({.topic = "paydist.events", .partition = 0, .value = "before"}));
  ASSERT_TRUE(producer->flush(10s));
  cluster->set_brokers_up(false);
  ASSERT_TRUE(producer->produce({.topic = "paydist.events", .partition = 0, .value = "while down"}));
  EXPECT_FALSE(producer->flush(1500ms)) << "nothing can be acknowledged while the broker is down";
  EXPECT_EQ(delivered, 1);
  cluster->set_brokers_up(true);
  ASSERT_TRUE(producer->flush(30s));
  EXPECT_EQ(delivered, 2);
  EXPECT_EQ(read_all(cluster->bootstrap(), "paydist.events", 2).size(), 2u);
}

}  // namespace
}  // namespace paydist::kafka
