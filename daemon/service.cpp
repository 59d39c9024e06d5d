// daemon/service.cpp: the daemon's consume -> apply -> commit -> publish -> acknowledge cycle
// (see service.h). Exactly-once comes from three rules kept here:
//   1. a batch's state, input offsets and outbox entries commit in one LMDB transaction;
//   2. on (re)assignment a partition is read from the offset in the state, never the group's;
//   3. every output carries its outbox seq (header paydist-seq) and its state's id (header
//      paydist-state) and goes to a partition we choose (murmur2 of the key, or 0 unkeyed;
//      with [kafka] changelog, its input partition), in seq order per partition; after a restart, an outbox entry whose seq is not above
//      the last seq already in its output partition was published before the crash and is
//      only acknowledged, provided that last message came from this state (a new state on
//      topics an older one filled starts its seqs again at 1).
// With extra input topics (co-partitioned), partition p of every input topic is one timeline:
// fetched messages wait in a queue per topic-partition and are applied in (timestamp, topic
// order) as long as every input partition of p has a message queued or is known to be at its
// end (or merge_wait_ms passed), the way Kafka Streams aligns its inputs. Queues are not
// state: offsets in the state are those applied, so a restart fetches the queued ones again.
#include "daemon/service.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <deque>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "connectors/codec.h"
#include "connectors/kafka.h"
#include "connectors/fault_point.h"
#include "daemon/address_file.h"
#include "connectors/message_apply.h"
#include "connectors/state_store.h"
#include "core/invariant.h"

namespace paydist {
namespace {

using Clock = std::chrono::steady_clock;

// How long a changelog catch-up waits for this state's own records to be delivered.
constexpr auto kRestoreFlushTimeout = std::chrono::seconds{30};
constexpr auto kMetadataTimeout = std::chrono::milliseconds{10'000};
constexpr auto kMembershipCheckInterval = std::chrono::milliseconds{10};
constexpr auto kStandbyInterval = std::chrono::seconds{5};
constexpr auto kStallThreshold = std::chrono::seconds{2};
constexpr auto kTailReadTimeout = std::chrono::milliseconds{30'000};
constexpr const char* kSeqHeader = "paydist-seq";
constexpr const char* kStateHeader = "paydist-state";
// With [kafka] changelog: an output's number among its input partition's outputs.
constexpr const char* kPartitionSeqHeader = "paydist-partition-seq";
// Outbox entries republished per round at start-up (bounds memory).
constexpr std::size_t kRecoveryChunk = 10'000;
// How often delivered outputs are acknowledged in the state when no batch carries them.
constexpr auto kIdleAcknowledgeInterval = std::chrono::seconds{1};
constexpr std::int64_t kUnknownPosition = -1;
// At shutdown, the longest wait for the broker to let this member leave the group (a
// broker that is away cannot; the group then drops the member at its session timeout).
constexpr auto kLeaveGroupTimeout = std::chrono::milliseconds{1'000};
// How often the clock is read for [business_date] source = "clock".
constexpr auto kClockCheckInterval = std::chrono::seconds{1};
// After a failed state commit (a full disk, an I/O error), a commit is tried again this often.
constexpr auto kStorageRetryInterval = std::chrono::seconds{2};
// While the client reports broker trouble, a metadata request this often says when it ends.
constexpr auto kBrokerProbeInterval = std::chrono::seconds{2};
constexpr auto kBrokerProbeTimeout = std::chrono::milliseconds{500};
// The consumer's longest wait inside one poll call.
constexpr auto kPollSliceMax = std::chrono::milliseconds{10};
// The merge of input topics stops fetching an input partition with this many messages
// queued (the others are behind it in time) and resumes it at half.
constexpr std::size_t kMergeQueuePause = 10'000;

std::optional<std::uint64_t> parse_seq(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

struct Service::Impl {
  Config config;
  ServiceLog log;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<kafka::MockCluster> embedded;
  std::string bootstrap;
  std::unique_ptr<kafka::Producer> producer;
  std::unique_ptr<kafka::GroupConsumer> consumer;
  Decoder decoder;
  MessageApplier applier;
  Metrics metrics;

  // Output topics: names and partition counts, by OutputTopic.
  // [kafka] changelog adds the state changelog as a fourth (both of its OutputTopic kinds).
  std::vector<std::string> output_names;
  std::vector<std::int32_t> output_partitions;
  static std::size_t output_index(OutputTopic topic) {
    return std::min(static_cast<std::size_t>(topic), static_cast<std::size_t>(OutputTopic::state_changelog));
  }

  // The open batch.
  std::unique_ptr<StateStore::Batch> batch;
  std::size_t batch_messages = 0;
  Clock::time_point batch_started;
  // Every assigned input partition and its next offset as applied (committed or in the
  // batch); kUnknownPosition until its first message when the state holds none.
  std::map<kafka::TopicPartition, std::int64_t> positions;

  // Publishing: outputs handed to the producer and not yet acknowledged (seq -> topic).
  std::map<std::uint64_t, OutputTopic> in_flight;
  std::uint64_t last_published_seq = 0;    // highest seq handed to the producer
  // [kafka] changelog: per (output topic, input partition), the highest paydist-partition-seq
  // that partition of the output topic held when the input partition was assigned here. An
  // output numbered no higher was published already (by the instance that owned the
  // partition before, whose changelog stopped short of it) and is not published again.
  std::map<std::pair<std::size_t, TimelineId>, std::uint64_t> published_partition_seqs;
  // [kafka] changelog: the changelog records of committed batches, held until every output of
  // their batch is acknowledged, so that the changelog never holds a commit some output of
  // which may be missing from the output topics (a next owner restores past that commit and
  // never makes the output again). Per batch: the seq of its last output (0: none) and how
  // many of its records wait.
  std::deque<PendingOutput> changelog_waiting;
  std::deque<std::pair<std::uint64_t, std::size_t>> changelog_batches;
  // Committed with the monitoring offsets (`paydist partitions` shows it): host, pid, state.
  std::string owner_name;
  std::uint64_t acknowledged_in_state = 0; // highest seq the state no longer holds
  Clock::time_point last_acknowledge = Clock::now();
  std::string delivery_failure;            // a delivery that failed for good: fatal
  // [business_date] source = "clock": the date each assigned partition was last moved to.
  std::map<kafka::TopicPartition, Date> clock_dates;
  Clock::time_point last_clock_check{};
  bool paused = false;

  // The merge of input topics (only with extra input topics): by input partition, a queue
  // per input topic (in input_topics order) of fetched messages not yet applied.
  std::vector<std::string> input_topics;
  bool merging = false;
  struct MergeQueue {
    std::deque<kafka::ConsumedMessage> messages;
    std::int64_t fetched_next = kUnknownPosition;  // offset after the last one fetched
    bool paused = false;                           // kMergeQueuePause reached
  };
  struct MergePartition {
    std::vector<MergeQueue> queues;
    std::optional<Clock::time_point> waiting_since;  // a queue empty, its end not known
  };
  std::map<std::int32_t, MergePartition> merge;
  std::size_t merge_queued = 0;

  bool broker_trouble = false;             // the client reported trouble; cleared by traffic or a probe
  Clock::time_point last_probe = Clock::now();

  // A state commit failed (a full disk, an I/O error): nothing of the batch is in the state
  // and nothing of it was published. Consumption stops (/readyz fails); the batch's input
  // messages and those fetched since are held, in order, and applied again once a commit
  // succeeds, tried every kStorageRetryInterval. The process keeps running: the condition
  // is the operator's to clear (free space), and a restart would find it still there. One
  // warning per distinct error, not one per retry; the resume line says how many it took.
  bool storage_failed = false;
  std::vector<kafka::ConsumedMessage> batch_inputs;  // the open batch's input messages
  std::deque<kafka::ConsumedMessage> held;
  Clock::time_point last_storage_retry{};
  std::string storage_error_logged;  // a retry failing the same way logs nothing more
  std::uint64_t storage_retries = 0;

  // The batch committing on the store's committer thread while the next one applies
  // (StateStore::Batch::commit_in_background): at most one. Its outputs are published, and
  // its inputs forgotten, only once finish_commit() has seen it committed; if it failed, its
  // inputs and the open batch's are applied again after the storage retry, in order.
  struct Committing {
    std::vector<kafka::ConsumedMessage> inputs;
    std::uint64_t acknowledged_through = 0;  // what the batch acknowledged in the state
    std::size_t messages = 0;
    std::size_t outputs = 0;
    std::vector<std::pair<kafka::TopicPartition, std::int64_t>> monitoring;  // positions it committed
  };
  std::optional<Committing> committing;
  // Filled on the committer thread, taken by finish_commit() on the loop's.
  struct CommitResult {
    Status status = Ok{};
    double seconds = 0;
    std::vector<PendingOutput> outputs;
  };
  std::mutex commit_result_mutex;
  std::optional<CommitResult> commit_result;
  // A commit is in flight and the committer thread has not finished it yet.
  bool commit_running() {
    if (!committing) return false;
    std::lock_guard lock{commit_result_mutex};
    return !commit_result.has_value();
  }

  Impl(Config c, ServiceLog l) : config(std::move(c)), log(std::move(l)), decoder(config.rules), applier(config.rules) {}
  ~Impl() {
    // The committer thread writes into commit_result: nothing may go before it is done. The
    // open batch goes first: its read transaction would keep a map growth waiting.
    batch.reset();
    if (store) (void)store->wait_for_commits();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  kafka::ClientOptions client_options() const {
    kafka::ClientOptions options{.brokers = bootstrap, .client = config.kafka.client};
    options.client_id = "paydistd";
    return options;
  }
  // For a consumer or reader. The embedded broker (librdkafka's mock cluster) answers a fetch
  // that found nothing only when fetch.wait.max.ms (500 by default) is over, even if messages
  // came meanwhile; a real broker answers as they come. So on the embedded broker a message
  // would wait up to half a second to be fetched: it is asked every 10 ms instead ([kafka.client]
  // may say otherwise).
  kafka::ClientOptions consumer_options() const {
    kafka::ClientOptions options = client_options();
    if (embedded) options.client.insert(options.client.begin(), {"fetch.wait.max.ms", "10"});
    return options;
  }

  std::uint64_t acknowledged_through() const {
    const std::uint64_t through = in_flight.empty() ? last_published_seq : in_flight.begin()->first - 1;
    return changelog_waiting.empty() ? through : std::min(through, changelog_waiting.front().seq - 1);
  }
  // Outputs not yet acknowledged by the broker: handed to the producer, or waiting.
  std::size_t unacknowledged() const { return in_flight.size() + changelog_waiting.size(); }
  static bool is_changelog(OutputTopic topic) { return output_index(topic) == output_index(OutputTopic::state_changelog); }
  Status release_changelog();
  Status flush_published(std::chrono::milliseconds timeout);

  Status connect();
  Status recover_outbox();
  Status drop_unpublished();
  Result<std::map<std::pair<int, std::int32_t>, std::uint64_t>> last_published_seqs();
  Result<std::map<kafka::TopicPartition, kafka::ConsumedMessage>> last_messages(
      const std::vector<kafka::TopicPartition>& tps);
  Status note_published_partition_seqs(const std::vector<std::int32_t>& partitions);
  Status join_group();
  std::int32_t output_partition(OutputTopic topic, std::string_view key, TimelineId timeline) const;
  Status produce(const QueuedOutput& output);
  void on_delivery(const kafka::Delivery& d);
  void apply(kafka::ConsumedMessage m);
  void storage_failure(const std::string& error);
  void retry_storage();
  void receive(kafka::ConsumedMessage m);
  // The topic's place in input_topics (input_topics.size() if it is none of them).
  std::size_t topic_index(std::string_view topic) const {
    return static_cast<std::size_t>(std::find(input_topics.begin(), input_topics.end(), topic) - input_topics.begin());
  }
  bool at_end(const kafka::TopicPartition& tp, const MergeQueue& queue) const;
  void release(std::int32_t partition, MergePartition& part, Clock::time_point now);
  void release_all();
  void pause_merge_queues();
  Status commit_batch();
  Status finish_commit(bool wait);
  void open_batch(std::int32_t partition);
  void follow_clock();
  Status acknowledge_if_idle();
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> start_offsets(const std::vector<kafka::TopicPartition>& tps);
  void on_revoked(const std::vector<kafka::TopicPartition>& tps, bool lost);
  // [kafka] changelog: the group gave this instance's partitions to another member without it
  // (a zombie: it stalled past its session timeout or max.poll.interval.ms). From then on it
  // publishes nothing (no output, no changelog record: the new owner's would conflict) and
  // stops; restarted, it drops what it had not published (recover_outbox) and restores those
  // partitions from the changelog when assigned again.
  bool fenced = false;
  Clock::time_point last_membership_check{};
  // When the event loop last entered or left a consumer poll. A lost assignment found while
  // the loop had not been there for kStallThreshold is a zombie's (it stalled: a pause, a
  // stopped process); one found by a loop that polls on time is the group's own doing (a
  // commit that raced a rebalance makes librdkafka call the assignment lost) and is handed
  // over as a revoke is.
  Clock::time_point last_alive = Clock::now();
  bool stalled() const { return Clock::now() - last_alive >= kStallThreshold; }
  void fence(std::string_view how);
  bool assignment_gone();
  // What restore_partition did: imported what it read, or also wrote back the rows of a commit
  // left unfinished (then the partition is caught up once more, to import them).
  enum class Restored : std::uint8_t { nothing, imported, wrote_back };
  // `standby`: a warm copy of a partition another member owns (keep_standbys): quiet, and an
  // unfinished last commit is the owner's commit in progress, never written back.
  Result<Restored> restore_partition(kafka::Reader& reader, const kafka::TopicPartition& tp, kafka::Watermarks marks,
                                     std::int64_t from, std::string_view why, bool standby = false);
  // [kafka] standby_replicas: which partitions this instance keeps warm copies of, and
  // bringing them up to date every kStandbyInterval.
  Status keep_standbys();
  Clock::time_point next_standby_check{};
  std::set<std::int32_t> standbys;
  Status write_back(const kafka::TopicPartition& tp, std::int64_t at, const std::vector<StateRow>& unfinished);
  // The restore's state of a partition, for `paydist partitions`: the group's committed offset
  // of it goes back with OWNER " restore: " `what` as its metadata (the offset as it is).
  void note_restore(std::int32_t partition, std::optional<std::int64_t> committed, std::string_view what);
  bool note_changelog_positions(StateStore::Batch& into);
  // `importing_write_back`: once more after restore_partition wrote rows back (not counted as
  // a partition restored again).
  Status catch_up_from_changelog(std::int32_t partition, bool importing_write_back = false);
  // [kafka] changelog: by partition, the offset after this state's last delivered changelog
  // record, and what the state last recorded of it (StateStore::read_changelog_position).
  std::map<std::int32_t, std::int64_t> changelog_delivered, changelog_recorded;
};

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() = default;

Result<std::unique_ptr<Service>> Service::start(const Config& config, ServiceLog log) {
  auto impl = std::make_unique<Impl>(config, std::move(log));
  StoreOptions store_options;
  store_options.history_entries_per_account = config.history.entries_per_account;
  store_options.initial_map_bytes = static_cast<std::size_t>(config.state.initial_map_mb) << 20;
  store_options.changelog = config.kafka.changelog;
  Result<std::unique_ptr<StateStore>> store = StateStore::open(config.state.dir, store_options);
  if (!store) return Error{fmt::format("state {}: {}", config.state.dir, store.error())};
  impl->store = std::move(*store);
  {
    char host[256] = {};
    (void)::gethostname(host, sizeof host - 1);
    impl->owner_name = fmt::format("{} pid {} state {}", host, ::getpid(), impl->store->state_id());
  }
  if (Status s = impl->connect(); !s) return Error{s.error()};
  if (Status s = impl->recover_outbox(); !s) return Error{s.error()};
  if (Status s = impl->join_group(); !s) return Error{s.error()};
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

Status Service::Impl::connect() {
  const KafkaConfig& k = config.kafka;
  output_names = {k.activities_topic, k.distributions_topic, k.rejects_topic};
  if (k.changelog) output_names.push_back(k.changelog_topic);
  output_partitions.assign(output_names.size(), 0);
  input_topics = k.input_topics();
  merging = input_topics.size() > 1;
  if (k.brokers == "embedded") {
    std::vector<std::string> topics = input_topics;
    topics.insert(topics.end(), output_names.begin(), output_names.end());
    Result<std::unique_ptr<kafka::MockCluster>> cluster = kafka::MockCluster::start(topics, k.embedded_partitions);
    if (!cluster) return Error{fmt::format("embedded broker: {}", cluster.error())};
    embedded = std::move(*cluster);
    bootstrap = embedded->bootstrap();
    const std::filesystem::path file = std::filesystem::path{config.state.dir} / "embedded-brokers";
    if (!write_address_file(file, bootstrap))
      return Error{fmt::format("cannot write {}", file.string())};
    log.info(fmt::format("embedded broker listening on {} (address in {}; {} partitions per topic)", bootstrap,
                         file.string(), k.embedded_partitions));
  } else {
    bootstrap = k.brokers;
  }
  kafka::ClientOptions options = client_options();
  // Outputs wait for a broker that is away rather than fail: the outbox holds them anyway.
  options.client.insert(options.client.begin(), {{"message.timeout.ms", "0"},
                                                 {"queue.buffering.max.messages", "10000000"}});
  Result<std::unique_ptr<kafka::Producer>> p =
      kafka::Producer::create(options, kafka::Idempotence::on, [this](const kafka::Delivery& d) { on_delivery(d); });
  if (!p) return Error{p.error()};
  producer = std::move(*p);
  for (std::size_t t = 0; t < output_names.size(); ++t) {
    Result<std::int32_t> count = producer->partition_count(output_names[t], kMetadataTimeout);
    if (!count) return Error{fmt::format("broker {}: {}", bootstrap, count.error())};
    output_partitions[t] = *count;
  }
  if (k.standby_replicas > 0 && !k.changelog)
    return Error{"[kafka] standby_replicas keeps copies of other members' partitions from the state changelog: it "
                 "needs changelog = true"};
  // A changelog record, and with the changelog every output, goes to the partition of its
  // timeline: one per input partition.
  if (k.changelog) {
    Result<std::int32_t> inputs = producer->partition_count(input_topics.front(), kMetadataTimeout);
    if (!inputs) return Error{fmt::format("broker {}: {}", bootstrap, inputs.error())};
    if (output_partitions.back() < *inputs)
      return Error{fmt::format("the state changelog {} has {} partitions and the input topic {} has {}: it needs one "
                               "per input partition (create it with as many, cleanup.policy=compact)",
                               k.changelog_topic, output_partitions.back(), input_topics.front(), *inputs)};
    for (std::size_t t = 0; t + 1 < output_names.size(); ++t)
      if (output_partitions[t] < *inputs)
        return Error{fmt::format("{} has {} partitions and the input topic {} has {}: with [kafka] changelog each "
                                 "output goes to the partition of the input it came from, so it needs as many",
                                 output_names[t], output_partitions[t], input_topics.front(), *inputs)};
  }
  // contract 2: extra input topics must be co-partitioned with the events topic.
  if (merging) {
    std::vector<std::string> counts;
    bool equal = true;
    std::optional<std::int32_t> events_count;
    for (const std::string& topic : input_topics) {
      Result<std::int32_t> count = producer->partition_count(topic, kMetadataTimeout);
      if (!count) return Error{fmt::format("broker {}: {}", bootstrap, count.error())};
      if (!events_count) events_count = *count;  // the first: the events topic
      equal = equal && *count == *events_count;
      counts.push_back(fmt::format("{} has {}", topic, *count));
    }
    if (!equal)
      return Error{fmt::format("input topics are not co-partitioned ({}): every input topic needs the same "
                               "partition count, keyed by account_id",
                               fmt::join(counts, ", "))};
  }
  return Ok{};
}

// The last message of each of `tps` that holds any.
Result<std::map<kafka::TopicPartition, kafka::ConsumedMessage>> Service::Impl::last_messages(
    const std::vector<kafka::TopicPartition>& tps) {
  kafka::ClientOptions options = consumer_options();
  options.client_id = "paydistd-recovery";
  Result<std::unique_ptr<kafka::Reader>> reader = kafka::Reader::create(options);
  if (!reader) return Error{reader.error()};
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> from;
  for (const kafka::TopicPartition& tp : tps) {
    Result<kafka::Watermarks> marks = (*reader)->watermarks(tp, kMetadataTimeout);
    if (!marks) return Error{marks.error()};
    if (marks->high > marks->low) from.emplace_back(tp, marks->high - 1);
  }
  std::map<kafka::TopicPartition, kafka::ConsumedMessage> last;
  if (from.empty()) return last;
  if (Status s = (*reader)->assign(from); !s) return Error{s.error()};
  const auto deadline = Clock::now() + kTailReadTimeout;
  while (last.size() < from.size()) {
    if (Clock::now() > deadline) return Error{"reading the last outputs back: timed out"};
    Result<std::optional<kafka::ConsumedMessage>> polled = (*reader)->poll(std::chrono::milliseconds{100});
    if (!polled) return Error{polled.error()};
    if (!*polled) continue;
    last.insert_or_assign(kafka::TopicPartition{(*polled)->topic, (*polled)->partition}, std::move(**polled));
  }
  return last;
}

// The seq of the last message in every non-empty output partition.
Result<std::map<std::pair<int, std::int32_t>, std::uint64_t>> Service::Impl::last_published_seqs() {
  std::vector<kafka::TopicPartition> tps;
  for (std::size_t t = 0; t < output_names.size(); ++t)
    for (std::int32_t p = 0; p < output_partitions[t]; ++p) tps.push_back({output_names[t], p});
  Result<std::map<kafka::TopicPartition, kafka::ConsumedMessage>> messages = last_messages(tps);
  if (!messages) return Error{messages.error()};
  std::map<std::pair<int, std::int32_t>, std::uint64_t> last;
  for (const auto& [tp, m] : *messages) {
    std::optional<std::uint64_t> seq;
    bool ours = false;
    for (const kafka::Header& h : m.headers) {
      if (h.name == kSeqHeader) seq = parse_seq(h.value);
      if (h.name == kStateHeader) ours = h.value == store->state_id();
    }
    const auto t = std::find(output_names.begin(), output_names.end(), tp.topic) - output_names.begin();
    // A message this state did not write bounds nothing: none of this state's outputs came
    // after it (one writer per output partition at a time).
    last[{static_cast<int>(t), tp.partition}] = ours ? seq.value_or(0) : 0;
  }
  return last;
}

// [kafka] changelog, input partitions `partitions` assigned: notes the last
// paydist-partition-seq in each of those partitions of each output topic, whoever wrote it
// (published_partition_seqs).
Status Service::Impl::note_published_partition_seqs(const std::vector<std::int32_t>& partitions) {
  std::vector<kafka::TopicPartition> tps;
  for (const std::int32_t partition : partitions)
    for (std::size_t t = 0; t < output_names.size(); ++t)
      if (output_index(OutputTopic::state_changelog) != t) tps.push_back({output_names[t], partition});
  Result<std::map<kafka::TopicPartition, kafka::ConsumedMessage>> messages = last_messages(tps);
  if (!messages) return Error{messages.error()};
  for (const kafka::TopicPartition& tp : tps) {
    const auto t = static_cast<std::size_t>(std::find(output_names.begin(), output_names.end(), tp.topic) -
                                            output_names.begin());
    std::uint64_t seq = 0;
    if (const auto it = messages->find(tp); it != messages->end())
      for (const kafka::Header& h : it->second.headers)
        if (h.name == kPartitionSeqHeader) seq = parse_seq(h.value).value_or(0);
    published_partition_seqs[{t, static_cast<TimelineId>(tp.partition)}] = seq;
  }
  return Ok{};
}

// Rule 3 above: murmur2 of the account, or partition 0 for an output with none. With
// [kafka] changelog, every output goes to its input partition (`timeline`): each partition
// of an output topic then has one writer, the input partition's owner, and the outputs in it
// are numbered by that partition's seq, whichever instance made them.
std::int32_t Service::Impl::output_partition(OutputTopic topic, std::string_view key, TimelineId timeline) const {
  // A changelog record's key starts with its timeline, the input partition (changelog_key).
  if (is_changelog(topic)) return static_cast<std::int32_t>(changelog_key_timeline(key));
  if (config.kafka.changelog) return static_cast<std::int32_t>(timeline);
  return key.empty() ? 0 : kafka::partition_for_key(key, output_partitions[output_index(topic)]);
}

Status Service::Impl::produce(const QueuedOutput& output) {
  if (assignment_gone()) return Error{delivery_failure};
  if (output.partition_seq > 0) {
    const auto it = published_partition_seqs.find({output_index(output.topic), output.timeline});
    if (it != published_partition_seqs.end() && output.partition_seq <= it->second) {
      ++metrics.outputs_already_published;
      last_published_seq = std::max(last_published_seq, output.seq);
      return Ok{};
    }
  }
  kafka::OutgoingMessage message{.topic = output_names[output_index(output.topic)], .key = output.key,
                                 .value = output.json};
  message.null_value = output.topic == OutputTopic::state_changelog_deleted;  // a tombstone
  message.partition = output_partition(output.topic, output.key, output.timeline);
  message.headers.push_back({kSeqHeader, std::to_string(output.seq)});
  message.headers.push_back({kStateHeader, store->state_id()});
  if (output.partition_seq > 0) message.headers.push_back({kPartitionSeqHeader, std::to_string(output.partition_seq)});
  message.token = output.seq;
  if (Status s = producer->produce(message); !s) return s;
  in_flight.emplace(output.seq, output.topic);
  last_published_seq = std::max(last_published_seq, output.seq);
  PAYDIST_FAULT_POINT("publish:after-produce");
  return Ok{};
}

// Republishes what the outbox holds, skipping what its output partition already has.
Status Service::Impl::recover_outbox() {
  std::vector<PendingOutput> pending = store->read_outbox(kRecoveryChunk);
  if (pending.empty()) return Ok{};
  if (config.kafka.changelog) return drop_unpublished();
  Result<std::map<std::pair<int, std::int32_t>, std::uint64_t>> last = last_published_seqs();
  if (!last) return Error{last.error()};
  std::uint64_t republished = 0, skipped = 0;
  while (!pending.empty()) {
    // The outputs first, then the changelog records (held until the outputs before them are
    // acknowledged, as in finish_commit): a commit's records follow its outputs in seq order.
    for (const bool changelog : {false, true}) {
      for (const PendingOutput& o : pending) {
        if (is_changelog(o.topic) != changelog) continue;
        auto it = last->find({static_cast<int>(output_index(o.topic)), output_partition(o.topic, o.key, o.timeline)});
        if (it != last->end() && o.seq <= it->second) {
          ++skipped;
          last_published_seq = std::max(last_published_seq, o.seq);
          continue;
        }
        if (Status s = produce(QueuedOutput{o.seq, o.topic, o.key, o.json, o.timeline, o.partition_seq}); !s) return s;
        PAYDIST_FAULT_POINT("recover:after-produce");
        ++republished;
      }
      // Wait until these are acknowledged.
      if (Status s = producer->flush(kTailReadTimeout); !s)
        return Error{fmt::format("republishing the outbox: {}", s.error())};
      if (!delivery_failure.empty()) return Error{fmt::format("republishing the outbox: {}", delivery_failure)};
    }
    if (Status s = store->acknowledge_outbox(pending.back().seq, {}); !s) return s;
    acknowledged_in_state = pending.back().seq;
    pending = store->read_outbox(kRecoveryChunk);
  }
  log.info(fmt::format("outbox recovered: {} output(s) republished, {} already on their topics", republished, skipped));
  return Ok{};
}

// [kafka] changelog, at start with outputs in the outbox: this instance does not know yet
// which partitions it will own, and another instance may have taken some of them over and be
// applying the same messages: republishing could publish an output twice, or append this
// state's older changelog records after the new owner's. So the entries are dropped, and
// with them this state's copy of every partition they came from, which is restored from the
// changelog when assigned here again. Nothing is lost: a commit's changelog records leave
// only after all its outputs are acknowledged, so a commit some output of which is not on
// its topic is not in the changelog either, and whoever owns the partition next applies its
// messages again (and publishes only what is missing: published_partition_seqs).
Status Service::Impl::drop_unpublished() {
  std::set<TimelineId> timelines;
  std::uint64_t last = 0, entries = 0;
  for (std::vector<PendingOutput> chunk = store->read_outbox(kRecoveryChunk); !chunk.empty();
       chunk = store->read_outbox(kRecoveryChunk, last)) {
    for (const PendingOutput& o : chunk) timelines.insert(o.timeline);
    last = chunk.back().seq;
    entries += chunk.size();
  }
  for (const TimelineId t : timelines) {
    Result<std::uint64_t> dropped = store->drop_timeline(t);
    if (!dropped) return Error{dropped.error()};
    log.warn(fmt::format("partition {}: the outbox held outputs of it not known to be published: this state's copy of "
                         "it ({} accounts) is dropped, to be restored from {} when assigned",
                         t, *dropped, config.kafka.changelog_topic));
  }
  PAYDIST_FAULT_POINT("recover:after-drop");
  if (Status s = store->acknowledge_outbox(last, {}); !s) return s;
  acknowledged_in_state = last;
  last_published_seq = std::max(last_published_seq, last);
  log.info(fmt::format("outbox recovered: {} entries of {} partition(s) dropped, not republished", entries,
                       timelines.size()));
  return Ok{};
}

void Service::Impl::on_delivery(const kafka::Delivery& d) {
  auto it = in_flight.find(d.token);
  if (!d.delivered) {
    if (delivery_failure.empty()) delivery_failure = fmt::format("output seq {} not delivered: {}", d.token, d.error);
    return;
  }
  broker_trouble = false;
  if (it == in_flight.end()) return;
  if (is_changelog(it->second)) {
    std::int64_t& position = changelog_delivered[d.partition];
    position = std::max(position, d.offset + 1);
  }
  ++metrics.outputs_delivered[output_names[output_index(it->second)]];
  in_flight.erase(it);
  PAYDIST_FAULT_POINT("publish:after-delivery");
}

std::vector<std::pair<kafka::TopicPartition, std::int64_t>> Service::Impl::start_offsets(
    const std::vector<kafka::TopicPartition>& tps) {
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> out;
  std::vector<std::int32_t> noting;  // [kafka] changelog: the input partitions just assigned
  for (const kafka::TopicPartition& tp : tps) {
    // [kafka] changelog: a partition this state holds nothing of is rebuilt from its
    // changelog partition first (another instance may have owned it), then resumed from the
    // offset the restored state holds.
    if (config.kafka.changelog && tp.topic == input_topics.front()) {
      if (Status s = catch_up_from_changelog(tp.partition); !s && delivery_failure.empty())
        delivery_failure = fmt::format("restoring partition {} from {}: {}", tp.partition,
                                       config.kafka.changelog_topic, s.error());
      noting.push_back(tp.partition);
    }
    const std::optional<std::int64_t> stored = store->read_input_offset({tp.topic, tp.partition});
    // Nothing stored: from the beginning (RD_KAFKA_OFFSET_BEGINNING).
    out.emplace_back(tp, stored.value_or(-2));
    positions[tp] = stored.value_or(kUnknownPosition);
    if (merging) {
      MergePartition& part = merge[tp.partition];
      part.queues.resize(input_topics.size());
      if (const std::size_t t = topic_index(tp.topic); t < part.queues.size()) part.queues[t] = MergeQueue{};
    }
    log.info(fmt::format("assigned {}/{} from offset {}", tp.topic, tp.partition,
                         stored ? std::to_string(*stored) : std::string{"beginning"}));
  }
  if (!noting.empty())
    if (Status s = note_published_partition_seqs(noting); !s && delivery_failure.empty())
      delivery_failure = fmt::format("reading back the last outputs of the partitions assigned: {}", s.error());
  return out;
}

// A partition assigned here, with [kafka] changelog: restored from its changelog partition
// when this state holds nothing of it; brought up to date from where this state's copy
// stops when the changelog goes further (another instance owned it meanwhile: its records
// follow this state's position); left as it is when the changelog ends where this state
// knows it does. A state that never recorded a position (the changelog was off) imports the
// whole partition over what it has, which converges to the changelog's state.
Status Service::Impl::catch_up_from_changelog(std::int32_t partition, bool importing_write_back) {
  // A restore batch logs nothing to the changelog, so it holds nothing else: the batch being
  // applied is committed first.
  if (batch)
    if (Status s = commit_batch(); !s) return s;
  if (Status s = finish_commit(true); !s) return s;
  const bool has_copy = store->read_input_offset({input_topics.front(), partition}).has_value();
  std::optional<std::int64_t> position;
  if (has_copy) {
    // This state's own records must all be in the changelog first: importing its older rows
    // over its newer state would take it back (the import ends on each key's last record,
    // which is then this state's own newest, or a later owner's).
    if (Status s = flush_published(kRestoreFlushTimeout); !s) return s;
    for (const auto& [seq, topic] : in_flight)
      if (is_changelog(topic)) return Error{fmt::format("changelog record seq {} of this state is not delivered yet", seq)};
    position = store->read_changelog_position(static_cast<TimelineId>(partition));
  }
  kafka::ClientOptions options = consumer_options();
  options.client_id = "paydistd-restore";
  Result<std::unique_ptr<kafka::Reader>> reader = kafka::Reader::create(options);
  if (!reader) return Error{reader.error()};
  const kafka::TopicPartition tp{config.kafka.changelog_topic, partition};
  Result<kafka::Watermarks> marks = (*reader)->watermarks(tp, kMetadataTimeout);
  if (!marks) return Error{marks.error()};
  if (has_copy && position && marks->high <= *position) return Ok{};
  Result<Restored> restored =
      !has_copy ? restore_partition(**reader, tp, *marks, 0, "no state here")
      : !position
          ? restore_partition(**reader, tp, *marks, 0,
                              "this state never recorded its changelog position: importing the whole changelog "
                              "partition over its copy")
          : restore_partition(**reader, tp, *marks, *position,
                              fmt::format("this state's copy stops at offset {} of the changelog", *position));
  if (!restored) return Error{restored.error()};
  if (*restored != Restored::nothing && !importing_write_back) ++metrics.partitions_restored;
  // The rows written back follow this state's position: imported like another owner's.
  if (*restored == Restored::wrote_back) return catch_up_from_changelog(partition, true);
  return Ok{};
}

namespace {

// Reads changelog partition `tp` from offset `start` to `high` (its end as the broker gave
// it), handing each record to `visit`; an Error for a record-less minute or a consumer error.
Status read_changelog(kafka::Reader& reader, const kafka::TopicPartition& tp, std::int64_t start, std::int64_t high,
                      const std::function<Status(const kafka::ConsumedMessage&)>& visit) {
  constexpr auto kStall = std::chrono::seconds{60};
  if (Status s = reader.assign({{tp, start}}); !s) return s;
  std::int64_t next = start;
  auto last_record = Clock::now();
  while (next < high) {
    Result<std::optional<kafka::ConsumedMessage>> polled = reader.poll(std::chrono::milliseconds{100});
    if (!polled) return Error{polled.error()};
    if (!*polled) {
      if (Clock::now() - last_record > kStall)
        return Error{fmt::format("{}/{}: no record for {} s at offset {} of {}", tp.topic, tp.partition, kStall.count(),
                                 next, high)};
      continue;
    }
    next = (**polled).offset + 1;
    last_record = Clock::now();
    if (Status s = visit(**polled); !s) return s;
  }
  return Ok{};
}

// The changelog record `m` of partition `partition` as a row.
Result<StateRow> changelog_record_row(const kafka::ConsumedMessage& m, std::int32_t partition) {
  if (!m.key) return Error{fmt::format("offset {}: a record without a key", m.offset)};
  Result<std::pair<TimelineId, StateRow>> row =
      changelog_row(*m.key, m.null_value ? std::nullopt : std::optional<std::string_view>{m.value});
  if (!row) return Error{fmt::format("offset {}: {}", m.offset, row.error())};
  if (row->first != static_cast<TimelineId>(partition))
    return Error{fmt::format("offset {}: a row of partition {}", m.offset, row->first)};
  return std::move(row->second);
}

// The end of a changelog partition: where its last whole commit ends, and the rows after it.
struct ChangelogTail {
  std::int64_t end = 0;             // the offset after the last commit row (`from` when none)
  std::vector<StateRow> unfinished; // the rows after it (table and key; no value)
};

// The tail of changelog partition `tp` between `from` and `high`: read back from the end in
// growing windows, since what follows the last commit row is at most one commit's rows
// (compaction keeps the newest commit row, and the order). Each window gets a reader of its
// own, so that no record fetched for another can come back.
Result<ChangelogTail> last_commit_end(const kafka::ClientOptions& options, const kafka::TopicPartition& tp,
                                      std::int64_t from, std::int64_t high) {
  for (std::int64_t window = 4'096;; window *= 8) {
    const std::int64_t start = std::max(from, high - window);
    std::optional<std::int64_t> end;
    std::vector<StateRow> after;
    Result<std::unique_ptr<kafka::Reader>> reader = kafka::Reader::create(options);
    if (!reader) return Error{reader.error()};
    Status read = read_changelog(**reader, tp, start, high, [&](const kafka::ConsumedMessage& m) -> Status {
      Result<StateRow> row = changelog_record_row(m, tp.partition);
      if (!row) return Error{row.error()};
      if (row->table == RowTable::commit) {
        end = m.offset + 1;
        after.clear();
      } else {
        after.push_back(StateRow{row->table, std::move(row->key), std::nullopt});
      }
      return Ok{};
    });
    if (!read) return Error{read.error()};
    if (end) return ChangelogTail{*end, std::move(after)};
    if (start == from) return ChangelogTail{from, std::move(after)};
  }
}

}  // namespace

// Reads changelog partition `tp` from offset `from` (0: from its start) to `marks.high` (its
// end as the broker gave it) and imports the rows of every whole commit in it (each ends with
// a RowTable::commit row; StateStore::Batch::import_row, and StateStore::delete_rows for a
// tombstone other than a history entry's), in synced batches of kRestoreBatchRows, the last
// one recording the position reached: the end, or the start of a commit left unfinished
// there, whose rows are then written back (write_back); progress goes to the log and
// /metrics. No batch of the daemon's own is open (catch_up_from_changelog).
Result<Service::Impl::Restored> Service::Impl::restore_partition(kafka::Reader& reader, const kafka::TopicPartition& tp,
                                                                 kafka::Watermarks marks, std::int64_t from,
                                                                 std::string_view why, bool standby) {
  constexpr std::uint64_t kRestoreBatchRows = 20'000;
  const std::int32_t partition = tp.partition;
  const auto started = Clock::now();
  if (marks.low > from)  // compaction keeps offset 0 as the log start; deletion does not
    return Error{fmt::format("{}/{} starts at offset {}, after offset {} this state needs: its oldest records were "
                             "deleted, so it cannot give the state back (the topic needs cleanup.policy=compact, not "
                             "delete)",
                             tp.topic, partition, marks.low, from)};
  if (marks.high <= from) {
    if (from == 0 && !standby)
      log.info(fmt::format("partition {}: nothing in {}/{}: starting it from no state", partition, tp.topic, partition));
    return Restored::nothing;
  }
  if (!standby)
    log.info(fmt::format("partition {}: {}: restoring it from {}/{} (offsets {} to {})", partition, why, tp.topic,
                         partition, from, marks.high - 1));
  std::optional<std::int64_t> committed;
  if (!standby) {
    const kafka::TopicPartition input{input_topics.front(), partition};
    Result<std::vector<kafka::CommittedOffset>> c =
        kafka::committed_offsets(client_options(), config.kafka.group_id, {input}, kMetadataTimeout);
    if (c && !c->empty()) committed = c->front().offset;
  }
  if (!standby) note_restore(partition, committed, fmt::format("restoring, changelog offset {} of {}", from, marks.high));
  PAYDIST_FAULT_POINT("restore:started");
  // Rows after the last commit row are the start of a commit whose writer stopped before its
  // last record reached the changelog: importing them would give this state part of a commit
  // without the input offset that goes with it (messages applied twice, or skipped). They are
  // left out; applying the partition from the restored offsets writes them again.
  kafka::ClientOptions scan = client_options();
  scan.client_id = "paydistd-restore-scan";
  Result<ChangelogTail> tail = last_commit_end(scan, tp, from, marks.high);
  if (!tail) return Error{tail.error()};
  const std::int64_t end = tail->end;
  const std::uint64_t left_out = standby ? 0 : tail->unfinished.size();
  if (left_out > 0) {
    metrics.restore_rows_left_out += left_out;
    log.warn(fmt::format("partition {}: the last {} rows of {}/{} (offsets {} to {}) are part of a commit whose writer "
                         "stopped before the commit's end reached the changelog: not restored",
                         partition, left_out, tp.topic, partition, end, marks.high - 1));
  }
  const auto timeline = static_cast<TimelineId>(partition);
  std::unique_ptr<StateStore::Batch> restoring = store->begin(timeline);
  std::uint64_t rows = 0, in_batch = 0;
  // Rows deleted (a write-back's tombstones; a history entry's go in the batch): a run of them
  // is deleted in one commit after the batch holding the rows before them.
  std::vector<StateRow> deleting;
  auto delete_run = [&]() -> Status {
    if (deleting.empty()) return Ok{};
    if (Status s = store->delete_rows(timeline, deleting); !s) return s;
    deleting.clear();
    restoring = store->begin(timeline);
    in_batch = 0;
    return Ok{};
  };
  if (end > from) {
    Status read = read_changelog(reader, tp, from, end, [&](const kafka::ConsumedMessage& m) -> Status {
      Result<StateRow> row = changelog_record_row(m, partition);
      if (!row) return Error{row.error()};
      ++rows;
      ++(standby ? metrics.standby_rows : metrics.restored_rows)[partition];
      if (!row->value && row->table != RowTable::history) {
        if (deleting.empty())
          if (Status s = restoring->commit(Durability::buffered); !s) return s;
        deleting.push_back(std::move(*row));
        return Ok{};
      }
      if (Status s = delete_run(); !s) return Error{fmt::format("offset {}: {}", m.offset, s.error())};
      if (Status s = restoring->import_row(timeline, *row); !s)
        return Error{fmt::format("offset {}: {}", m.offset, s.error())};
      if (++in_batch == kRestoreBatchRows) {
        if (Status s = restoring->commit(Durability::synced); !s) return s;
        if (!standby) {
          log.info(fmt::format("partition {}: restored {} rows, to offset {} of {}", partition, rows, m.offset + 1, end));
          note_restore(partition, committed,
                       fmt::format("restoring, changelog offset {} of {}", m.offset + 1, marks.high));
        }
        restoring = store->begin(timeline);
        in_batch = 0;
      }
      return Ok{};
    });
    if (!read) return Error{read.error()};
    if (Status s = delete_run(); !s) return Error{s.error()};
  }
  restoring->set_changelog_position(timeline, end);
  if (Status s = restoring->commit(Durability::synced); !s) return Error{s.error()};
  changelog_delivered[partition] = changelog_recorded[partition] = end;
  if (standby) return Restored::imported;
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  log.info(fmt::format("partition {}: restored from {}: {} rows in {:.2f} s ({:.0f} rows/s)", partition, tp.topic, rows,
                       seconds, seconds > 0 ? static_cast<double>(rows) / seconds : 0.0));
  note_restore(partition, committed, fmt::format("restored, {} rows in {:.2f} s", rows, seconds));
  if (tail->unfinished.empty()) return Restored::imported;
  if (Status s = write_back(tp, end, tail->unfinished); !s) return Error{s.error()};
  return Restored::wrote_back;
}

// [kafka] standby_replicas = N. The members that own partitions are named by the state id in
// the metadata of the group's committed offsets (the last committer of each partition; each
// owner commits its positions again at every round; a member that owns none is not seen,
// nor needed); with this state's id they are ordered, and
// this instance keeps warm copies of the partitions of the N owners before it in that
// circle. Each is brought up to the last whole commit in its changelog partition (never
// written back: the owner is alive and committing), so that taking it over imports only the
// changelog's tail (catch_up_from_changelog). Runs at most every kStandbyInterval; a failure
// is a warning, retried next time. Commits the open batch before an import (a restore batch
// holds nothing else), only when a copy has something new.
Status Service::Impl::keep_standbys() {
  if (config.kafka.standby_replicas == 0 || !consumer || fenced) return Ok{};
  const auto now = Clock::now();
  if (now < next_standby_check) return Ok{};
  next_standby_check = now + kStandbyInterval;
  // Owners are known by what they commit, and an owner with nothing new to apply commits
  // nothing: each one says again, at each round, which partitions it holds and where it is.
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> holding;
  for (const auto& [tp, next] : positions)
    if (next != kUnknownPosition) holding.emplace_back(tp, next);
  consumer->commit_for_monitoring(holding, owner_name);
  const std::int32_t count = output_partitions.back();  // the changelog: one per input partition
  std::vector<kafka::TopicPartition> tps;
  for (std::int32_t p = 0; p < count; ++p) tps.push_back({input_topics.front(), p});
  Result<std::vector<kafka::CommittedOffset>> committed =
      kafka::committed_offsets(client_options(), config.kafka.group_id, tps, kMetadataTimeout);
  if (!committed) {
    log.warn(fmt::format("standby copies: reading the group's offsets: {}", committed.error()));
    return Ok{};
  }
  const std::string& self = store->state_id();
  std::map<std::int32_t, std::string> owner_of;
  std::set<std::string> members{self};
  for (const kafka::CommittedOffset& c : *committed) {
    const std::size_t at = c.metadata.find(" state ");
    if (at == std::string::npos) continue;
    std::string id = c.metadata.substr(at + 7, store->state_id().size());
    members.insert(id);
    owner_of[c.tp.partition] = std::move(id);
  }
  const std::vector<std::string> circle(members.begin(), members.end());
  const auto self_at = static_cast<std::size_t>(std::find(circle.begin(), circle.end(), self) - circle.begin());
  std::set<std::string> followed;  // the owners whose partitions this instance keeps warm
  for (std::size_t k = 1; k <= config.kafka.standby_replicas && k < circle.size(); ++k)
    followed.insert(circle[(self_at + circle.size() - k) % circle.size()]);
  std::set<std::int32_t> owned;
  for (const kafka::TopicPartition& tp : consumer->assignment()) owned.insert(tp.partition);
  std::set<std::int32_t> wanted;
  for (const auto& [partition, owner] : owner_of)
    if (!owned.contains(partition) && followed.contains(owner)) wanted.insert(partition);
  if (wanted != standbys)
    log.info(fmt::format("standby copies: keeping partitions [{}] warm (their owners: the {} member(s) before this one "
                         "of {})",
                         fmt::join(wanted, ", "), followed.size(), circle.size()));
  standbys = wanted;
  for (const std::int32_t partition : wanted) {
    const kafka::TopicPartition tp{config.kafka.changelog_topic, partition};
    kafka::ClientOptions options = consumer_options();
    options.client_id = "paydistd-standby";
    Result<std::unique_ptr<kafka::Reader>> reader = kafka::Reader::create(options);
    if (!reader) return Error{reader.error()};
    Result<kafka::Watermarks> marks = (*reader)->watermarks(tp, kMetadataTimeout);
    if (!marks) {
      log.warn(fmt::format("standby copy of partition {}: {}", partition, marks.error()));
      continue;
    }
    const std::int64_t from = store->read_changelog_position(static_cast<TimelineId>(partition)).value_or(0);
    if (marks->high <= from) continue;  // nothing new: the open batch goes on
    if (batch)
      if (Status s = commit_batch(); !s) return s;
    if (Status s = finish_commit(true); !s) return s;
    Result<Restored> r = restore_partition(**reader, tp, *marks, from, "standby copy", true);
    if (!r) log.warn(fmt::format("standby copy of partition {}: {}", partition, r.error()));
  }
  return Ok{};
}

void Service::Impl::note_restore(std::int32_t partition, std::optional<std::int64_t> committed, std::string_view what) {
  if (!consumer) return;
  consumer->commit_for_monitoring({{kafka::TopicPartition{input_topics.front(), partition}, committed.value_or(0)}},
                                  fmt::format("{} restore: {}", owner_name, what));
}

// The rows of a commit left unfinished at `at` in changelog partition `tp` (its writer stopped
// before the commit row) are written back after it as this state holds them, the last whole
// commit's values, or as tombstones where it holds none, closed by a commit row of their own.
// Otherwise a later commit of this instance would close them: should it stop before it has
// applied every message the unfinished commit had, the next restore would import rows of
// messages its offsets say are still to come (applied twice, or events skipped as already
// accepted). Compaction then keeps the rows written back, not the unfinished ones.
Status Service::Impl::write_back(const kafka::TopicPartition& tp, std::int64_t at,
                                 const std::vector<StateRow>& unfinished) {
  const auto timeline = static_cast<TimelineId>(tp.partition);
  std::set<std::pair<RowTable, std::string>> keys;
  for (const StateRow& row : unfinished) keys.emplace(row.table, row.key);
  std::string failure;
  std::size_t delivered = 0;
  Result<std::unique_ptr<kafka::Producer>> writer =
      kafka::Producer::create(client_options(), kafka::Idempotence::on, [&](const kafka::Delivery& d) {
        if (!d.delivered && failure.empty()) failure = d.error;
        delivered += d.delivered ? 1 : 0;
      });
  if (!writer) return Error{writer.error()};
  std::string key;
  std::size_t produced = 0, tombstones = 0;
  auto produce = [&](RowTable table, const std::string& row_key, const std::optional<std::string>& value) {
    changelog_key(timeline, table, row_key, key);
    kafka::OutgoingMessage message{.topic = tp.topic, .partition = tp.partition, .key = key};
    if (value) message.value = *value;
    message.null_value = !value;
    message.headers.push_back({kStateHeader, store->state_id()});
    message.headers.push_back({kSeqHeader, fmt::format("write-back:{}:{}", at, produced)});
    ++produced;
    return (*writer)->produce(message);
  };
  // History entries: an unfinished tombstone of entry N took entries 0..N of its account (as
  // retention does), so each account named goes back whole: the entries this state lacks
  // deleted exactly (an empty value), then every entry it keeps. The restore applies rows in
  // the order they come.
  std::set<std::string> history_accounts;
  for (const auto& [table, row_key] : keys) {
    if (table == RowTable::history) {
      if (const std::string_view account = history_key_account(row_key); !account.empty())
        history_accounts.emplace(account);
      if (store->read_row(timeline, table, row_key)) continue;
      ++tombstones;
      if (Status s = produce(table, row_key, std::string{}); !s) return Error{fmt::format("writing back: {}", s.error())};
      continue;
    }
    const std::optional<std::string> value = store->read_row(timeline, table, row_key);
    tombstones += value ? 0 : 1;
    if (Status s = produce(table, row_key, value); !s) return Error{fmt::format("writing back: {}", s.error())};
  }
  for (const std::string& account : history_accounts)
    for (const StateRow& row : store->read_history_rows(account))
      if (Status s = produce(row.table, row.key, row.value); !s) return Error{fmt::format("writing back: {}", s.error())};
  if (Status s = produce(RowTable::commit, commit_row_key(timeline), std::string{}); !s)
    return Error{fmt::format("writing back: {}", s.error())};
  if (Status s = (*writer)->flush(kRestoreFlushTimeout); !s) return Error{fmt::format("writing back: {}", s.error())};
  if (!failure.empty() || delivered != produced)
    return Error{fmt::format("writing back to {}/{}: {} of {} rows delivered{}{}", tp.topic, tp.partition, delivered,
                             produced, failure.empty() ? "" : ": ", failure)};
  metrics.rows_written_back += keys.size();
  log.warn(fmt::format("partition {}: wrote back the {} rows the unfinished commit at offset {} of {}/{} changed ({} of "
                       "them deleted: this state holds none), closed by a commit row",
                       tp.partition, keys.size(), at, tp.topic, tp.partition, tombstones));
  return Ok{};
}

void Service::Impl::on_revoked(const std::vector<kafka::TopicPartition>& tps, bool lost) {
  if (config.kafka.changelog && stalled() && (lost || consumer->assignment_lost()))
    fence(fmt::format("{} partition(s) lost after {} s without a poll: this instance missed its session timeout or "
                      "max.poll.interval.ms",
                      tps.size(), std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - last_alive).count()));
  if (!fenced) {
    // Whatever was applied from them is committed before they go: the next owner starts
    // where this state says.
    if (batch)
      if (Status s = commit_batch(); !s && delivery_failure.empty()) delivery_failure = s.error();
    if (Status s = finish_commit(true); !s && delivery_failure.empty()) delivery_failure = s.error();
    // With the changelog, the next owner reads the last outputs and the changelog as they
    // are when it gets the partitions: everything this instance made of them goes out first.
    if (config.kafka.changelog)
      if (Status s = flush_published(kRestoreFlushTimeout); !s)
        log.warn(
            fmt::format("revoked partitions: {}; the next owner may publish some of their outputs again", s.error()));
  }
  for (const kafka::TopicPartition& tp : tps) {
    positions.erase(tp);
    clock_dates.erase(tp);
    // What the queues hold was never applied: the next owner fetches it again.
    if (auto it = merge.find(tp.partition); it != merge.end()) {
      if (const std::size_t t = topic_index(tp.topic); t < it->second.queues.size()) {
        merge_queued -= it->second.queues[t].messages.size();
        it->second.queues[t] = MergeQueue{};
      }
    }
    log.info(fmt::format("revoked {}/{}", tp.topic, tp.partition));
  }
  // Held messages of those partitions were never committed: the next owner fetches them.
  const std::set<kafka::TopicPartition> gone(tps.begin(), tps.end());
  std::erase_if(held, [&](const kafka::ConsumedMessage& m) { return gone.contains({m.topic, m.partition}); });
}

// True once the group has taken this instance's assignment away, as the rebalance said or as
// the consumer knows before the rebalance reaches it (then fences it).
// Asked before each output is handed over, so it looks at the consumer at most every
// kMembershipCheckInterval: that bounds the time an instance may still publish once the group
// has let it go.
bool Service::Impl::assignment_gone() {
  if (!config.kafka.changelog || fenced || !consumer) return fenced;
  const auto now = Clock::now();
  if (now - last_membership_check < kMembershipCheckInterval) return false;
  last_membership_check = now;
  if (stalled() && consumer->assignment_lost())
    fence(fmt::format("its consumer is out of the group after {} s without a poll: it missed its session timeout or "
                      "max.poll.interval.ms",
                      std::chrono::duration_cast<std::chrono::seconds>(now - last_alive).count()));
  return fenced;
}

void Service::Impl::fence(std::string_view how) {
  if (fenced) return;
  fenced = true;
  const std::string why = fmt::format(
      "the consumer group gave this instance's partitions to another member ({}): it publishes nothing more of them "
      "and stops; restarted, it drops what it had not published and restores those partitions from {} when assigned",
      how, config.kafka.changelog_topic);
  log.warn(why);
  if (delivery_failure.empty()) delivery_failure = why;
  // The open batch is not committed (the new owner applies its messages) and records not yet
  // sent are taken back. Nothing more is produced (produce() refuses), and nothing more is
  // acknowledged in the outbox: a restart finds there what was not published, and drops it.
  batch.reset();
  producer->purge_unsent();
}

Status Service::Impl::join_group() {
  kafka::RebalanceHandler handler;
  handler.assigned = [this](const std::vector<kafka::TopicPartition>& tps) { return start_offsets(tps); };
  handler.revoked = [this](const std::vector<kafka::TopicPartition>& tps, bool lost) { on_revoked(tps, lost); };
  kafka::ClientOptions options = consumer_options();
  // contract 6: one byte over max_message_bytes is enough for the codec to reject a message
  // by its size; more of an oversized message is never copied.
  options.value_bytes_max = config.rules.max_message_bytes + 1;
  // Co-partitioned input topics need partition p of each on one member: the range assignor.
  Result<std::unique_ptr<kafka::GroupConsumer>> c = kafka::GroupConsumer::create(
      options, config.kafka.group_id, input_topics, std::move(handler),
      merging ? kafka::Assignor::range : kafka::Assignor::cooperative_sticky);
  if (!c) return Error{c.error()};
  consumer = std::move(*c);
  log.info(fmt::format("joined consumer group {} on {} (brokers {})", config.kafka.group_id,
                       fmt::join(input_topics, ", "), bootstrap));
  return Ok{};
}

void Service::Impl::apply(kafka::ConsumedMessage m) {
  const kafka::TopicPartition tp{m.topic, m.partition};
  // A message below the position was applied already (a fetch from before a seek).
  if (auto it = positions.find(tp); it != positions.end() && it->second != kUnknownPosition && m.offset < it->second)
    return;
  if (storage_failed) {
    held.push_back(std::move(m));
    return;
  }
  open_batch(m.partition);
  const DecodedLine decoded = decoder.decode(m.value, m.value_bytes);
  const std::string prefix = fmt::format("{}/{}", m.topic, m.partition);
  const MessageSource source{prefix, '/', static_cast<std::uint64_t>(m.offset)};
  const MessageOutcome outcome = applier.apply(*batch, decoded, m.value, source);
  batch->set_input_offset({m.topic, m.partition}, m.offset + 1);
  positions[tp] = m.offset + 1;
  ++metrics.messages_in[m.topic][static_cast<std::size_t>(outcome)];
  ++batch_messages;
  batch_inputs.push_back(std::move(m));
}

void Service::Impl::storage_failure(const std::string& error) {
  // Back to what the state holds: the lost batch's messages are applied again from there.
  for (auto& [tp, next] : positions)
    next = store->read_input_offset({tp.topic, tp.partition}).value_or(kUnknownPosition);
  held.insert(held.begin(), std::make_move_iterator(batch_inputs.begin()), std::make_move_iterator(batch_inputs.end()));
  batch_inputs.clear();
  clock_dates.clear();  // a clock date moved in the lost batch is moved again
  last_storage_retry = Clock::now();
  if (storage_failed) return;
  storage_failed = true;
  if (!paused) consumer->pause_all();
  if (error == storage_error_logged) return;
  storage_error_logged = error;
  log.warn(fmt::format("{}: consumption stopped until the state can be committed (tried again every {} s; "
                       "nothing is lost)",
                       error, std::chrono::duration_cast<std::chrono::seconds>(kStorageRetryInterval).count()));
}

void Service::Impl::retry_storage() {
  last_storage_retry = Clock::now();
  storage_failed = false;
  ++storage_retries;
  std::deque<kafka::ConsumedMessage> again = std::move(held);
  held.clear();
  for (kafka::ConsumedMessage& m : again) apply(std::move(m));
  if (batch) {
    // A failure comes back through storage_failure(); this waits for it.
    if (Status c = commit_batch(); !c && delivery_failure.empty()) delivery_failure = c.error();
    if (Status f = finish_commit(true); !f && delivery_failure.empty()) delivery_failure = f.error();
  } else if (acknowledged_through() > acknowledged_in_state) {
    if (Status a = store->acknowledge_outbox(acknowledged_through(), {}); !a)
      storage_failure(a.error());
    else
      acknowledged_in_state = acknowledged_through();
  }
  if (storage_failed) return;
  log.info(fmt::format("state commits succeed again: consumption resumed (after {} {})", storage_retries,
                       storage_retries == 1 ? "retry" : "retries"));
  storage_error_logged.clear();
  storage_retries = 0;
  if (!paused) {
    consumer->resume_all();
    pause_merge_queues();
  }
}

// A fetched message: applied now, or with extra input topics queued for the merge.
void Service::Impl::receive(kafka::ConsumedMessage m) {
  if (!merging) {
    apply(std::move(m));
    return;
  }
  const kafka::TopicPartition tp{m.topic, m.partition};
  const auto position = positions.find(tp);
  if (position == positions.end()) return;  // not (or no longer) assigned here
  if (position->second != kUnknownPosition && m.offset < position->second) return;  // applied already
  MergePartition& part = merge[m.partition];
  part.queues.resize(input_topics.size());
  const std::size_t t = topic_index(m.topic);
  if (t >= part.queues.size()) return;
  MergeQueue& queue = part.queues[t];
  queue.fetched_next = m.offset + 1;
  queue.messages.push_back(std::move(m));
  ++merge_queued;
  if (!queue.paused && queue.messages.size() >= kMergeQueuePause) {
    consumer->pause({tp});
    queue.paused = true;
  }
  release(tp.partition, part, Clock::now());
}

// Known to hold nothing more right now: what was fetched reaches the high watermark of the
// last fetch response.
bool Service::Impl::at_end(const kafka::TopicPartition& tp, const MergeQueue& queue) const {
  const std::optional<std::int64_t> high = consumer->cached_high_watermark(tp);
  if (!high) return false;
  std::int64_t next = queue.fetched_next;
  if (next == kUnknownPosition) {
    const auto position = positions.find(tp);
    next = position == positions.end() ? kUnknownPosition : position->second;
  }
  // Nothing stored and nothing fetched: at the end only if the partition was never written.
  return next == kUnknownPosition ? *high == 0 : next >= *high;
}

// Applies the queued messages of one input partition in (timestamp, topic order) while every
// assigned input topic of it has one queued or is at its end; after merge_wait_ms of waiting
// for one that is neither, goes on without it.
void Service::Impl::release(std::int32_t partition, MergePartition& part, Clock::time_point now) {
  for (;;) {
    std::size_t best = part.queues.size();
    bool waiting = false;
    for (std::size_t t = 0; t < part.queues.size(); ++t) {
      const kafka::TopicPartition tp{input_topics[t], partition};
      if (!positions.contains(tp)) continue;
      const MergeQueue& queue = part.queues[t];
      if (queue.messages.empty()) {
        waiting = waiting || !at_end(tp, queue);
        continue;
      }
      // Strictly earlier only: on a tie the topic listed first goes first.
      if (best == part.queues.size() ||
          queue.messages.front().timestamp_ms < part.queues[best].messages.front().timestamp_ms)
        best = t;
    }
    if (best == part.queues.size()) {
      part.waiting_since.reset();
      return;
    }
    if (waiting) {
      if (!part.waiting_since) part.waiting_since = now;
      if (now - *part.waiting_since < std::chrono::milliseconds{config.kafka.merge_wait_ms}) return;
      ++metrics.merge_forced;
    } else {
      part.waiting_since.reset();
    }
    MergeQueue& queue = part.queues[best];
    kafka::ConsumedMessage m = std::move(queue.messages.front());
    queue.messages.pop_front();
    --merge_queued;
    if (queue.paused && queue.messages.size() <= kMergeQueuePause / 2) {
      if (!paused && !storage_failed) consumer->resume({{m.topic, m.partition}});
      queue.paused = false;
    }
    apply(std::move(m));
  }
}

void Service::Impl::release_all() {
  const auto now = Clock::now();
  for (auto& [partition, part] : merge) release(partition, part, now);
}

// After a resume_all (backpressure over): the merge queues that are full stay paused.
void Service::Impl::pause_merge_queues() {
  std::vector<kafka::TopicPartition> full;
  for (const auto& [partition, part] : merge)
    for (std::size_t t = 0; t < part.queues.size(); ++t)
      if (part.queues[t].paused) full.push_back({input_topics[t], partition});
  consumer->pause(full);
}

// Opens a batch if none is open, on the partition's timeline: contract 2, each partition is
// its own timeline (business date, deadlines).
void Service::Impl::open_batch(std::int32_t partition) {
  if (!batch) {
    batch = store->begin(static_cast<TimelineId>(partition));
    batch_started = Clock::now();
    batch_messages = 0;
  }
  batch->switch_timeline(static_cast<TimelineId>(partition));
}

// Today's date where the business day is kept ([business_date] time_zone, set as the
// process's TZ by paydistd at start).
Date local_today() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return Date::from_civil(CivilDate{local.tm_year + 1900, local.tm_mon + 1, local.tm_mday});
}

// [business_date] source = "clock": moves every assigned partition's business date up to
// today with a business_date message of its own (event id clock-DATE, so a restart or a
// second instance applies it once per timeline), as if the scheduler had sent it.
void Service::Impl::follow_clock() {
  if (config.business_date.source != BusinessDateConfig::Source::clock || storage_failed) return;
  if (Clock::now() - last_clock_check < kClockCheckInterval && clock_dates.size() == positions.size()) return;
  last_clock_check = Clock::now();
  const Date today = local_today();
  for (const auto& [tp, next] : positions) {
    if (auto it = clock_dates.find(tp); it != clock_dates.end() && it->second >= today) continue;
    open_batch(tp.partition);
    const std::optional<Date> current = batch->timeline().business_date;
    if (!current || *current < today) {
      const std::string text =
          fmt::format(R"({{"type":"business_date","event_id":"clock-{}","date":"{}"}})", today, today);
      const MessageOutcome outcome = applier.apply(*batch, decoder.decode(text), text, {"clock", ':', 0});
      ++metrics.messages_in["clock"][static_cast<std::size_t>(outcome)];
      ++batch_messages;
      log.info(fmt::format("business date of {}/{} moved to {} by the clock", tp.topic, tp.partition, today));
    }
    clock_dates[tp] = today;
  }
}

// Hands the open batch to the store's committer thread. The commit before it is finished
// (and its outputs published) first: one commit in flight at most.
// Puts into `into` the changelog positions delivered since the last batch that recorded
// them; says whether there was any.
bool Service::Impl::note_changelog_positions(StateStore::Batch& into) {
  bool noted = false;
  for (const auto& [partition, position] : changelog_delivered)
    if (std::int64_t& recorded = changelog_recorded[partition]; recorded != position) {
      into.set_changelog_position(static_cast<TimelineId>(partition), position);
      recorded = position;
      noted = true;
    }
  return noted;
}

Status Service::Impl::commit_batch() {
  PAYDIST_INVARIANT(batch != nullptr);
  if (Status f = finish_commit(true); !f) return f;
  if (!batch) return Ok{};  // the commit before it failed, and took this batch with it
  const std::uint64_t through = acknowledged_through();
  if (through > acknowledged_in_state) batch->acknowledge_outbox(through, {});
  (void)note_changelog_positions(*batch);
  Committing c;
  c.inputs = std::move(batch_inputs);
  batch_inputs.clear();
  c.acknowledged_through = through;
  c.messages = batch_messages;
  batch->for_each_output([&](const QueuedOutput&) { ++c.outputs; });
  for (const auto& [tp, next] : positions)
    if (next != kUnknownPosition) c.monitoring.emplace_back(tp, next);
  committing = std::move(c);
  const auto started = Clock::now();
  StateStore::Batch::commit_in_background(
      std::move(batch), Durability::synced, [this, started](Status status, StateStore::Batch& done) {
        CommitResult r;
        r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        if (status)
          done.for_each_output([&](const QueuedOutput& o) {
            r.outputs.push_back(
                PendingOutput{o.seq, o.topic, std::string{o.key}, std::string{o.json}, o.timeline, o.partition_seq});
          });
        r.status = std::move(status);
        std::lock_guard lock{commit_result_mutex};
        commit_result = std::move(r);
      });
  return Ok{};
}

// Takes the result of the commit in flight, if there is one and it is done (or, with
// `wait`, once it is): publishes its outputs, or on a failure stops consumption with its
// inputs and the open batch's held for the retry.
Status Service::Impl::finish_commit(bool wait) {
  if (!committing) return Ok{};
  // (The open batch's read transaction ends first: StateStore::wait_for_commits.)
  if (wait) (void)store->wait_for_commits();  // a failure comes through commit_result
  std::optional<CommitResult> r;
  {
    std::lock_guard lock{commit_result_mutex};
    r = std::exchange(commit_result, std::nullopt);
  }
  if (!r) return Ok{};  // still committing
  Committing c = std::move(*committing);
  committing.reset();
  if (!r->status) {
    // The open batch read through the failed one's writes: it goes too, and both batches'
    // messages are applied again, in order, once a commit succeeds.
    batch.reset();
    (void)store->take_commit_failure();
    batch_inputs.insert(batch_inputs.begin(), std::make_move_iterator(c.inputs.begin()),
                        std::make_move_iterator(c.inputs.end()));
    storage_failure(fmt::format("state commit failed: {}", r->status.error()));
    return Ok{};  // nothing lost: the messages are held
  }
  metrics.commit_seconds.observe(r->seconds);
  metrics.batch_messages.observe(static_cast<double>(c.messages));
  ++metrics.commits;
  if (c.acknowledged_through > acknowledged_in_state) acknowledged_in_state = c.acknowledged_through;
  std::uint64_t last_output = 0;
  std::size_t records = 0;
  for (PendingOutput& o : r->outputs) {
    if (is_changelog(o.topic)) {
      changelog_waiting.push_back(std::move(o));
      ++records;
      continue;
    }
    if (Status p = produce(QueuedOutput{o.seq, o.topic, o.key, o.json, o.timeline, o.partition_seq}); !p) return p;
    last_output = o.seq;
  }
  if (records > 0) changelog_batches.emplace_back(last_output, records);
  if (Status p = release_changelog(); !p) return p;
  consumer->commit_for_monitoring(c.monitoring, owner_name);
  return Ok{};
}

// Hands the waiting changelog records of each batch, oldest first, to the producer once
// nothing at or below the batch's last output is in flight.
Status Service::Impl::release_changelog() {
  while (!changelog_batches.empty()) {
    const auto [last_output, records] = changelog_batches.front();
    if (last_output != 0 && !in_flight.empty() && in_flight.begin()->first <= last_output) break;
    for (std::size_t i = 0; i < records; ++i) {
      const PendingOutput& o = changelog_waiting.front();
      if (Status p = produce(QueuedOutput{o.seq, o.topic, o.key, o.json, o.timeline, o.partition_seq}); !p) return p;
      changelog_waiting.pop_front();
    }
    changelog_batches.pop_front();
    PAYDIST_FAULT_POINT("publish:after-changelog-release");
  }
  return Ok{};
}

// Waits up to `timeout` for every output and changelog record handed over or waiting to be
// acknowledged by the broker.
Status Service::Impl::flush_published(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    Status flushed = producer->flush(std::max(left, std::chrono::milliseconds{0}));
    if (Status p = release_changelog(); !p) return p;
    if (!delivery_failure.empty()) return Error{delivery_failure};
    if (changelog_waiting.empty()) return flushed;
    if (Clock::now() >= deadline) return Error{fmt::format("{} output(s) not acknowledged in time", unacknowledged())};
  }
}

Status Service::Impl::acknowledge_if_idle() {
  const std::uint64_t through = acknowledged_through();
  if (batch || committing || storage_failed || through <= acknowledged_in_state ||
      Clock::now() - last_acknowledge < kIdleAcknowledgeInterval)
    return Ok{};
  last_acknowledge = Clock::now();
  if (Status s = store->acknowledge_outbox(through, {}); !s) {
    storage_failure(fmt::format("acknowledging outputs in the state failed: {}", s.error()));
    return Ok{};  // the outputs stay in the outbox: the next commit acknowledges them
  }
  acknowledged_in_state = through;
  return Ok{};
}

Result<bool> Service::turn(std::chrono::milliseconds budget) {
  Impl& s = *impl_;
  s.producer->poll(std::chrono::milliseconds{0});
  if (!s.delivery_failure.empty()) return Error{s.delivery_failure};
  if (Status r = s.release_changelog(); !r) return Error{r.error()};
  if (Status f = s.finish_commit(false); !f) return Error{f.error()};
  // Backpressure, with hysteresis: pause at the bound, resume at half of it.
  const std::size_t bound = s.config.kafka.outbox_messages_max;
  if (!s.paused && s.unacknowledged() >= bound) {
    s.consumer->pause_all();
    s.paused = true;
    s.log.warn(fmt::format("outbox at {} outputs: consumption paused until the broker takes them", s.unacknowledged()));
  } else if (s.paused && s.unacknowledged() <= bound / 2) {
    if (!s.storage_failed) {  // else retry_storage() resumes
      s.consumer->resume_all();
      s.pause_merge_queues();
    }
    s.paused = false;
    s.log.info("consumption resumed");
  }

  if (s.storage_failed && Clock::now() - s.last_storage_retry >= kStorageRetryInterval) s.retry_storage();
  s.follow_clock();
  const auto turn_end = Clock::now() + budget;
  bool more = false;
  for (;;) {
    const auto now = Clock::now();
    if (s.batch && (s.batch_messages >= s.config.kafka.batch_messages_max ||
                    now - s.batch_started >= std::chrono::milliseconds{s.config.kafka.batch_interval_ms})) {
      if (Status c = s.commit_batch(); !c) return Error{c.error()};
      more = true;
      break;
    }
    if (now >= turn_end) break;
    const auto slice = std::min(kPollSliceMax, std::chrono::duration_cast<std::chrono::milliseconds>(turn_end - now));
    s.last_alive = Clock::now();
    Result<kafka::Polled> polled = s.consumer->poll(s.batch ? std::chrono::milliseconds{0} : slice);
    s.last_alive = Clock::now();
    if (!polled) return Error{polled.error()};
    if (!s.delivery_failure.empty()) return Error{s.delivery_failure};
    if (!polled->transient_error.empty()) {
      ++s.metrics.transient_errors;
      if (!s.broker_trouble) s.log.warn(fmt::format("kafka: {}", polled->transient_error));
      s.broker_trouble = true;
    }
    if (!polled->message) {
      if (!s.batch) break;  // idle
      // Nothing more to read just now: the batch commits unless the commit before it is
      // still running (it then grows until that one is done, or to the bounds above). Under
      // a load the daemon keeps up with, a message so waits for about one commit, not for
      // batch_interval_ms; under a backlog the consumer's queue is seldom empty and the
      // bounds end the batches.
      if (!s.commit_running()) {
        if (Status c = s.commit_batch(); !c) return Error{c.error()};
        more = true;
        break;
      }
      continue;
    }
    s.broker_trouble = false;
    s.receive(std::move(*polled->message));
    more = true;
  }
  // A timeline waiting on an input partition moves on once that partition is at its end or
  // the wait is over, even while other partitions keep the consumer busy.
  if (s.merge_queued > 0) s.release_all();
  if (Status a = s.acknowledge_if_idle(); !a) return Error{a.error()};
  if (Status k = s.keep_standbys(); !k) return Error{k.error()};
  // With no traffic nothing would say the broker is back: ask it, now and then.
  if (s.broker_trouble && Clock::now() - s.last_probe >= kBrokerProbeInterval) {
    s.last_probe = Clock::now();
    if (s.producer->partition_count(s.output_names[0], kBrokerProbeTimeout)) {
      s.broker_trouble = false;
      s.log.info("kafka: broker reachable again");
    }
  }
  return more;
}

Status Service::shutdown(std::chrono::milliseconds flush_timeout) {
  Impl& s = *impl_;
  if (s.fenced) return Error{s.delivery_failure};  // nothing committed, published or acknowledged
  if (s.batch)
    if (Status c = s.commit_batch(); !c) return c;
  if (Status f = s.finish_commit(true); !f) return f;
  if (s.consumer) s.consumer->close(kLeaveGroupTimeout);  // its revoke handler finds no batch open
  Status flushed = s.flush_published(flush_timeout);
  s.producer->poll(std::chrono::milliseconds{0});
  // Outputs not acknowledged in the state (a full disk): the next start finds them on their
  // topics and does not publish them again. The changelog positions delivered since the last
  // commit go with them, so that the next assignment knows this copy exactly.
  auto last = s.store->begin(0);
  const bool acknowledging = s.acknowledged_through() > s.acknowledged_in_state;
  if (acknowledging) last->acknowledge_outbox(s.acknowledged_through(), {});
  if (s.note_changelog_positions(*last) || acknowledging) {
    if (Status a = last->commit(Durability::synced); !a)
      s.log.warn(fmt::format("acknowledging outputs in the state failed: {}", a.error()));
    else
      s.acknowledged_in_state = s.acknowledged_through();
  }
  if (!flushed)
    s.log.warn(fmt::format("{} output(s) not acknowledged before stopping: they stay in the outbox for the next start",
                           s.unacknowledged()));
  return Ok{};
}

const Metrics& Service::metrics() const { return impl_->metrics; }

bool Service::ready() const {
  const Impl& s = *impl_;
  return !s.positions.empty() && !s.paused && !s.broker_trouble && !s.storage_failed;
}

std::string Service::bootstrap() const { return impl_->bootstrap; }

Gauges Service::gauges() {
  Impl& s = *impl_;
  Gauges g;
  for (const auto& [tp, next] : s.positions) {
    Gauges::Partition p{tp.topic, tp.partition};
    // With no position yet, everything in the partition is still to come. The high
    // watermark is the one the last fetch response gave: while the consumer cannot reach
    // the broker it is not moved by what arrives meanwhile.
    if (std::optional<std::int64_t> high = s.consumer->cached_high_watermark(tp))
      p.lag = std::max<std::int64_t>(0, *high - std::max<std::int64_t>(next, 0));
    if (next != kUnknownPosition) p.position = next;
    if (std::optional<TimelineState> t = s.store->read_timeline(static_cast<TimelineId>(tp.partition)); t && t->business_date)
      p.business_date_unix = std::int64_t{t->business_date->serial()} * 86'400;
    g.partitions.push_back(std::move(p));
  }
  // Outputs committed or committing and not yet acknowledged by the broker.
  g.outbox_depth = s.unacknowledged() + (s.committing ? s.committing->outputs : 0);
  g.merge_queued = s.merge_queued;
  g.paused = s.paused || s.storage_failed;
  g.ready = ready();
  return g;
}

}  // namespace paydist
