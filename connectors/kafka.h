// connectors/kafka.h: thin owners of librdkafka handles (configuration, producer, consumer,
// and the mock cluster that serves as the local broker). Moves bytes and reports librdkafka
// errors as one-line Errors; decides no business rule and never parses a message.
//   auto producer = kafka::Producer::create({.brokers = "127.0.0.1:9092"}).value();
//   producer->produce({.topic = "paydist.events", .key = "ACC1", .value = line});
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace paydist::kafka {

// The contract's topic names (contract 2); configurable because a deployment may rename them.
struct TopicNames {
  std::string events = "paydist.events";
  std::string activities = "wlm.activities";
  std::string distributions = "paydist.distributions";
  std::string rejects = "paydist.rejects";
  std::vector<std::string> all() const { return {events, activities, distributions, rejects}; }
};

// librdkafka properties, applied in order after ours (so that a deployment can override any
// of them, e.g. SASL/SSL settings from the config file's [kafka.client] table).
using Properties = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
  std::string brokers;       // bootstrap list, "host:port,..."
  Properties client;         // passed through to librdkafka
  std::string client_id = "paydist";
  // Consumers: at most this many bytes of a message's value are copied out of librdkafka's
  // buffer (ConsumedMessage::value_bytes keeps the real size), so an oversized message
  // costs no allocation of its size on our side (contract 6: rejected unread).
  std::size_t value_bytes_max = SIZE_MAX;
};

// A message header: name and value bytes.
struct Header {
  std::string name;
  std::string value;
};

// Kafka's partitioner for keyed messages: murmur2, as the Java client does, so that our
// producer and any other producer of the same topic agree on an account's partition.
constexpr const char* kPartitioner = "murmur2_random";
constexpr std::int32_t kAnyPartition = -1;

// librdkafka's mock cluster (rdkafka_mock.h): a Kafka broker in this process, in memory,
// for development and tests. Creates the given topics with `partitions` each.
class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> start(const std::vector<std::string>& topics, int partitions);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  // Creates another topic, with its own partition count.
  Status create_topic(const std::string& topic, int partitions);
  // Takes every broker of the cluster down (connections refused/closed) or back up: lets a
  // test show that clients survive the broker going away.
  void set_brokers_up(bool up);
  // Fault injection for tests, in Kafka protocol numbers: the next requests with ApiKey
  // `api_key` (0 Produce, 1 Fetch, 3 Metadata, 8 OffsetCommit, 12 Heartbeat, ...) are
  // answered with `errors` in order, one each (6 NOT_LEADER_OR_FOLLOWER, 7 REQUEST_TIMED_OUT,
  // ...), on whichever connection sends them; the request itself is not carried out.
  void push_request_errors(std::int16_t api_key, const std::vector<std::int16_t>& errors);
  // Every broker answers each request `rtt` late (0: at once): a slow or distant broker.
  void set_round_trip(std::chrono::milliseconds rtt);

 private:
  MockCluster(rd_kafka_s* handle, rd_kafka_mock_cluster_s* cluster, std::string bootstrap);
  rd_kafka_s* handle_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::string bootstrap_;
};

// What a delivery report says about one produced message.
struct Delivery {
  std::uint64_t token = 0;    // the caller's, from OutgoingMessage::token
  bool delivered = false;
  std::string error;          // when not delivered
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

struct OutgoingMessage {
  std::string_view topic;
  std::int32_t partition = kAnyPartition;  // kAnyPartition: by key (murmur2), or spread
  std::string_view key;                    // empty: unkeyed
  std::string_view value;
  bool null_value = false;                 // no value at all (a compacted topic's tombstone)
  std::vector<Header> headers;
  std::uint64_t token = 0;                 // returned in the Delivery
  std::int64_t timestamp_ms = 0;           // the message's CreateTime; 0: now
};

enum class Idempotence : std::uint8_t { off, on };

// A producer with acks=all. Deliveries are reported through `on_delivery`, called from
// poll() / flush() on the caller's thread.
class Producer {
 public:
  static Result<std::unique_ptr<Producer>> create(const ClientOptions& options, Idempotence idempotence,
                                                  std::function<void(const Delivery&)> on_delivery);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues one message; while the local queue is full it serves delivery reports (calling
  // on_delivery) and waits. An Error: the message is refused (too large, unknown topic).
  Status produce(const OutgoingMessage& message);
  // Serves delivery reports; waits at most `timeout`.
  void poll(std::chrono::milliseconds timeout);
  // Waits until every queued message is delivered or failed, at most `timeout`.
  Status flush(std::chrono::milliseconds timeout);
  // Drops every message not yet sent to a broker (their delivery reports say so); what is
  // already sent may still be appended.
  void purge_unsent();
  std::size_t in_flight() const;
  // The topic's partition count from the cluster's metadata.
  Result<std::int32_t> partition_count(const std::string& topic, std::chrono::milliseconds timeout);

  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One consumed message (copies: the librdkafka message is freed before this is returned).
struct ConsumedMessage {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;
  std::optional<std::string> key;
  std::string value;          // at most ClientOptions::value_bytes_max bytes of it
  std::size_t value_bytes = 0;  // the value's size as produced
  bool null_value = false;      // no value at all (a tombstone), not an empty one
  std::vector<Header> headers;
};

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// The low and high watermarks of a partition: the first offset it holds and the next to be
// written.
struct Watermarks {
  std::int64_t low = 0;
  std::int64_t high = 0;
};

// A consumer that assigns partitions itself (no consumer group): reads whole topics for
// `paydist tail` and tests.
class Reader {
 public:
  static Result<std::unique_ptr<Reader>> create(const ClientOptions& options);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  Result<std::int32_t> partition_count(const std::string& topic, std::chrono::milliseconds timeout);
  Result<Watermarks> watermarks(const TopicPartition& tp, std::chrono::milliseconds timeout);
  // Reads the given partitions from the given offsets (replacing any previous assignment).
  Status assign(const std::vector<std::pair<TopicPartition, std::int64_t>>& from);
  // The next message, or nullopt after `timeout` with none; an Error for a consumer error
  // (other than reaching the end of a partition, which is not an error).
  Result<std::optional<ConsumedMessage>> poll(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A consumer group's committed offset of one partition, with the metadata committed with it.
struct CommittedOffset {
  TopicPartition tp;
  std::optional<std::int64_t> offset;  // none: the group committed nothing for it
  std::string metadata;
};
// The offsets `group_id` committed for `tps`, asked of the group's coordinator without
// joining the group.
Result<std::vector<CommittedOffset>> committed_offsets(const ClientOptions& options, const std::string& group_id,
                                                       const std::vector<TopicPartition>& tps,
                                                       std::chrono::milliseconds timeout);

// Called on the polling thread, inside GroupConsumer::poll(), when the group moves
// partitions: `assigned` returns the offset to start each new partition from (the daemon's
// come from its state, not from the group); `revoked` runs before they are taken away.
struct RebalanceHandler {
  std::function<std::vector<std::pair<TopicPartition, std::int64_t>>(const std::vector<TopicPartition>&)> assigned;
  // `lost`: the group gave the partitions to another member without this one taking part
  // (it missed its session timeout or max.poll.interval.ms); it no longer owns them.
  std::function<void(const std::vector<TopicPartition>&, bool lost)> revoked;
};

// What a poll of the group consumer brought: a message, nothing, or a client error that
// does not stop the consumer (a broker down: librdkafka reconnects by itself).
struct Polled {
  std::optional<ConsumedMessage> message;
  std::string transient_error;
};

// How the group spreads partitions over its members. cooperative_sticky moves only the
// partitions that must move; range gives partition p of every subscribed topic (with equal
// partition counts) to one member, which co-partitioned topics need (eager: a rebalance
// revokes everything first).
enum class Assignor : std::uint8_t { cooperative_sticky, range };

// A consumer group member over the given topics.
class GroupConsumer {
 public:
  static Result<std::unique_ptr<GroupConsumer>> create(const ClientOptions& options, const std::string& group_id,
                                                       const std::vector<std::string>& topics,
                                                       RebalanceHandler handler,
                                                       Assignor assignor = Assignor::cooperative_sticky);
  ~GroupConsumer();
  GroupConsumer(const GroupConsumer&) = delete;
  GroupConsumer& operator=(const GroupConsumer&) = delete;

  // An Error is fatal (the client cannot go on); transient trouble is in Polled.
  Result<Polled> poll(std::chrono::milliseconds timeout);
  // Stops or restarts fetching from every assigned partition (backpressure).
  void pause_all();
  void resume_all();
  // The same for some partitions (a resume_all resumes these too).
  void pause(const std::vector<TopicPartition>& tps);
  void resume(const std::vector<TopicPartition>& tps);
  std::vector<TopicPartition> assignment() const;
  // The group took this member's assignment away without it (session timeout, or too long
  // between polls): it must not act for those partitions any more. Either says so: librdkafka
  // marks the assignment lost, or (when a rebalance was already under way) only forgets its
  // member id, until the revoke is served and it joins again. A lock and a copy: not per message.
  bool assignment_lost() const;
  // The partition's high watermark as last fetched (no network call); nullopt if unknown.
  std::optional<std::int64_t> cached_high_watermark(const TopicPartition& tp) const;
  // Tells the group how far this member got (for monitoring: the daemon's own positions are
  // in its state). Asynchronous; failures are ignored.
  // `metadata` rides with each offset (the daemon names itself there: `paydist partitions`).
  void commit_for_monitoring(const std::vector<std::pair<TopicPartition, std::int64_t>>& next_offsets,
                             std::string_view metadata = {});
  // Leaves the group (revoking what it holds, through the handler), waiting at most
  // `timeout` for the broker. Past it (the broker is away or slow) the destructor stops the
  // client without leaving, and the group drops this member at its session timeout.
  void close(std::chrono::milliseconds timeout);

  struct Impl;

 private:
  explicit GroupConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Kafka's murmur2 partition for a key (what the Java client and our producers use).
std::int32_t partition_for_key(std::string_view key, std::int32_t partition_count);

}  // namespace paydist::kafka
