// connectors/kafka.cpp: librdkafka (C API) behind the types of kafka.h. Every handle has one
// owner and is destroyed in the right order; every librdkafka failure becomes a one-line
// Error naming what was being done. No message content is interpreted here.
#include "connectors/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include <fmt/format.h>

// A ThreadSanitizer build needs kafka_tsan.cpp in every program that uses librdkafka.
#if defined(__SANITIZE_THREAD__)
extern "C" int paydist_kafka_tsan_anchor;
[[gnu::used]] static int* const kafka_tsan_anchor = &paydist_kafka_tsan_anchor;
#endif

namespace paydist::kafka {
namespace {

constexpr std::size_t kErrorTextBytes = 512;
// How long produce() serves delivery reports before it tries a full local queue again.
constexpr int kQueueFullWaitMs = 100;
// Brokers of the local mock cluster: one is enough for development and tests.
constexpr int kMockBrokers = 1;
// Leaving the group: callbacks are served in slices this long; a consumer destroyed without
// close() leaves within this bound.
constexpr int kClosePollMs = 20;
constexpr int kDestroyCloseTimeoutMs = 1'000;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

Status set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  std::array<char, kErrorTextBytes> error{};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error.data(), error.size()) != RD_KAFKA_CONF_OK)
    return Error{fmt::format("kafka property {}: {}", name, error.data())};
  return Ok{};
}

// Our defaults first, then the deployment's own properties, which may override them.
Result<ConfPtr> make_conf(const ClientOptions& options, const Properties& ours) {
  ConfPtr conf{rd_kafka_conf_new()};
  if (Status s = set_property(conf.get(), "bootstrap.servers", options.brokers); !s) return Error{s.error()};
  if (Status s = set_property(conf.get(), "client.id", options.client_id); !s) return Error{s.error()};
  for (const auto& [name, value] : ours)
    if (Status s = set_property(conf.get(), name, value); !s) return Error{s.error()};
  for (const auto& [name, value] : options.client)
    if (Status s = set_property(conf.get(), name, value); !s) return Error{s.error()};
  return conf;
}

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// rd_kafka_new() takes the conf only when it succeeds.
Result<HandlePtr> make_handle(rd_kafka_type_t type, ConfPtr conf) {
  std::array<char, kErrorTextBytes> error{};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), error.data(), error.size());
  if (rk == nullptr) return Error{fmt::format("cannot create the kafka client: {}", error.data())};
  conf.release();
  return HandlePtr{rk};
}

// Asks for every topic's metadata rather than this one's: a request naming a topic may
// create it on a broker that auto-creates topics, and a typo must not make a topic.
Result<std::int32_t> topic_partition_count(rd_kafka_t* rk, const std::string& topic,
                                           std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error{fmt::format("metadata of topic {}: {}", topic, rd_kafka_err2str(err))};
  Result<std::int32_t> out = Error{fmt::format("topic {} does not exist", topic)};
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = metadata->topics[i];
    if (topic != t.topic) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR)
      out = Error{fmt::format("metadata of topic {}: {}", topic, rd_kafka_err2str(t.err))};
    else if (t.partition_cnt <= 0)
      out = Error{fmt::format("topic {} has no partitions", topic)};
    else
      out = static_cast<std::int32_t>(t.partition_cnt);
  }
  rd_kafka_metadata_destroy(metadata);
  return out;
}

}  // namespace

// --- MockCluster -----------------------------------------------------------------------

MockCluster::MockCluster(rd_kafka_s* handle, rd_kafka_mock_cluster_s* cluster, std::string bootstrap)
    : handle_(handle), cluster_(cluster), bootstrap_(std::move(bootstrap)) {}

MockCluster::~MockCluster() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

Result<std::unique_ptr<MockCluster>> MockCluster::start(const std::vector<std::string>& topics, int partitions) {
  if (partitions <= 0) return Error{fmt::format("partitions must be at least 1, not {}", partitions)};
  ConfPtr conf{rd_kafka_conf_new()};
  // The handle only hosts the cluster: keep it quiet and off the network.
  if (Status s = set_property(conf.get(), "log_level", "3"); !s) return Error{s.error()};
  Result<HandlePtr> handle = make_handle(RD_KAFKA_PRODUCER, std::move(conf));
  if (!handle) return Error{handle.error()};
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle->get(), kMockBrokers);
  if (cluster == nullptr) return Error{"cannot start the mock kafka cluster"};
  for (const std::string& topic : topics) {
    const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_mock_cluster_destroy(cluster);
      return Error{fmt::format("cannot create topic {}: {}", topic, rd_kafka_err2str(err))};
    }
  }
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  return std::unique_ptr<MockCluster>(new MockCluster(handle->release(), cluster, std::move(bootstrap)));
}

Status MockCluster::create_topic(const std::string& topic, int partitions) {
  if (partitions <= 0) return Error{fmt::format("partitions must be at least 1, not {}", partitions)};
  const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Error{fmt::format("cannot create topic {}: {}", topic, rd_kafka_err2str(err))};
  return Ok{};
}

void MockCluster::set_brokers_up(bool up) {
  for (int id = 1; id <= kMockBrokers; ++id) {
    if (up)
      rd_kafka_mock_broker_set_up(cluster_, id);
    else
      rd_kafka_mock_broker_set_down(cluster_, id);
  }
}

void MockCluster::push_request_errors(std::int16_t api_key, const std::vector<std::int16_t>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  codes.reserve(errors.size());
  for (std::int16_t e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, codes.size(), codes.data());
}

void MockCluster::set_round_trip(std::chrono::milliseconds rtt) {
  for (int id = 1; id <= kMockBrokers; ++id) rd_kafka_mock_broker_set_rtt(cluster_, id, static_cast<int>(rtt.count()));
}

// --- Producer --------------------------------------------------------------------------

struct Producer::Impl {
  HandlePtr handle;
  std::function<void(const Delivery&)> on_delivery;
};

namespace {

void on_delivery_report(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* opaque) {
  auto* impl = static_cast<Producer::Impl*>(opaque);
  if (!impl->on_delivery) return;
  Delivery d;
  d.token = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(message->_private));
  d.delivered = message->err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (!d.delivered) d.error = rd_kafka_err2str(message->err);
  d.partition = message->partition;
  d.offset = message->offset;
  impl->on_delivery(d);
}

}  // namespace

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() = default;

Result<std::unique_ptr<Producer>> Producer::create(const ClientOptions& options, Idempotence idempotence,
                                                   std::function<void(const Delivery&)> on_delivery) {
  Properties ours = {{"acks", "all"}, {"partitioner", kPartitioner}, {"linger.ms", "5"}};
  if (idempotence == Idempotence::on) ours.emplace_back("enable.idempotence", "true");
  Result<ConfPtr> conf = make_conf(options, ours);
  if (!conf) return Error{conf.error()};
  auto impl = std::make_unique<Impl>();
  impl->on_delivery = std::move(on_delivery);
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery_report);
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  Result<HandlePtr> handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle) return Error{handle.error()};
  impl->handle = std::move(*handle);
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Status Producer::produce(const OutgoingMessage& message) {
  rd_kafka_headers_t* headers = nullptr;
  if (!message.headers.empty()) {
    headers = rd_kafka_headers_new(message.headers.size());
    for (const Header& h : message.headers)
      rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
  }
  const std::string topic{message.topic};
  void* token = reinterpret_cast<void*>(static_cast<std::uintptr_t>(message.token));
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        impl_->handle.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(message.partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(message.key.empty() ? nullptr : const_cast<char*>(message.key.data()), message.key.size()),
        RD_KAFKA_V_VALUE(message.null_value ? nullptr : const_cast<char*>(message.value.data()),
                         message.null_value ? 0 : message.value.size()),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(token), RD_KAFKA_V_TIMESTAMP(message.timestamp_ms),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Ok{};
    // The local queue is full: serve delivery reports (which empty it) and try again.
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(impl_->handle.get(), kQueueFullWaitMs);
      continue;
    }
    if (headers != nullptr) rd_kafka_headers_destroy(headers);  // only taken on success
    return Error{fmt::format("cannot produce to {}: {}", topic, rd_kafka_err2str(err))};
  }
}

void Producer::poll(std::chrono::milliseconds timeout) {
  rd_kafka_poll(impl_->handle.get(), static_cast<int>(timeout.count()));
}

Status Producer::flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(impl_->handle.get(), static_cast<int>(timeout.count()));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT)
    return Error{fmt::format("{} message(s) not delivered within {} ms", in_flight(), timeout.count())};
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Error{fmt::format("flush: {}", rd_kafka_err2str(err))};
  return Ok{};
}

void Producer::purge_unsent() {
  (void)rd_kafka_purge(impl_->handle.get(), RD_KAFKA_PURGE_F_QUEUE);  // fails only for a consumer handle
  rd_kafka_poll(impl_->handle.get(), 0);  // the purged messages' delivery reports
}

std::size_t Producer::in_flight() const {
  return static_cast<std::size_t>(rd_kafka_outq_len(impl_->handle.get()));
}

Result<std::int32_t> Producer::partition_count(const std::string& topic, std::chrono::milliseconds timeout) {
  return topic_partition_count(impl_->handle.get(), topic, timeout);
}

// --- Reader ----------------------------------------------------------------------------

struct Reader::Impl {
  HandlePtr handle;
  std::size_t value_bytes_max = SIZE_MAX;
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Reader::~Reader() {
  if (impl_ && impl_->handle) rd_kafka_consumer_close(impl_->handle.get());
}

Result<std::unique_ptr<Reader>> Reader::create(const ClientOptions& options) {
  // librdkafka's assign() wants a group.id, but this reader never joins the group (it
  // assigns partitions itself) and never commits an offset to it.
  const Properties ours = {{"group.id", options.client_id + "-reader"},
                           {"enable.auto.commit", "false"},
                           {"enable.auto.offset.store", "false"},
                           {"enable.partition.eof", "false"}};
  Result<ConfPtr> conf = make_conf(options, ours);
  if (!conf) return Error{conf.error()};
  Result<HandlePtr> handle = make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return Error{handle.error()};
  rd_kafka_poll_set_consumer(handle->get());
  auto impl = std::make_unique<Impl>();
  impl->handle = std::move(*handle);
  impl->value_bytes_max = options.value_bytes_max;
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

Result<std::vector<CommittedOffset>> committed_offsets(const ClientOptions& options, const std::string& group_id,
                                                       const std::vector<TopicPartition>& tps,
                                                       std::chrono::milliseconds timeout) {
  const Properties ours = {{"group.id", group_id}, {"enable.auto.commit", "false"}};
  Result<ConfPtr> conf = make_conf(options, ours);
  if (!conf) return Error{conf.error()};
  Result<HandlePtr> handle = make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return Error{handle.error()};
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(tps.size()));
  for (const TopicPartition& tp : tps) rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition);
  const rd_kafka_resp_err_t err = rd_kafka_committed(handle->get(), list, static_cast<int>(timeout.count()));
  std::vector<CommittedOffset> out;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& e = list->elems[i];
      CommittedOffset c{{e.topic, e.partition}, std::nullopt, {}};
      if (e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0) c.offset = e.offset;
      if (e.metadata != nullptr) c.metadata.assign(static_cast<const char*>(e.metadata), e.metadata_size);
      out.push_back(std::move(c));
    }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(handle->get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error{fmt::format("the offsets group {} committed: {}", group_id, rd_kafka_err2str(err))};
  return out;
}

Result<std::int32_t> Reader::partition_count(const std::string& topic, std::chrono::milliseconds timeout) {
  return topic_partition_count(impl_->handle.get(), topic, timeout);
}

Result<Watermarks> Reader::watermarks(const TopicPartition& tp, std::chrono::milliseconds timeout) {
  Watermarks w;
  const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      impl_->handle.get(), tp.topic.c_str(), tp.partition, &w.low, &w.high, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error{fmt::format("watermarks of {}/{}: {}", tp.topic, tp.partition, rd_kafka_err2str(err))};
  return w;
}

Status Reader::assign(const std::vector<std::pair<TopicPartition, std::int64_t>>& from) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(from.size()));
  for (const auto& [tp, offset] : from)
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = offset;
  const rd_kafka_resp_err_t err = rd_kafka_assign(impl_->handle.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Error{fmt::format("assign: {}", rd_kafka_err2str(err))};
  return Ok{};
}

namespace {

ConsumedMessage copy_message(const rd_kafka_message_t& m, std::size_t value_bytes_max) {
  ConsumedMessage out;
  out.topic = rd_kafka_topic_name(m.rkt);
  out.partition = m.partition;
  out.offset = m.offset;
  rd_kafka_timestamp_type_t type{};
  out.timestamp_ms = rd_kafka_message_timestamp(&m, &type);
  if (m.key != nullptr) out.key.emplace(static_cast<const char*>(m.key), m.key_len);
  out.value_bytes = m.len;
  out.null_value = m.payload == nullptr;
  if (m.payload != nullptr) out.value.assign(static_cast<const char*>(m.payload), std::min(m.len, value_bytes_max));
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
      out.headers.push_back({name, value == nullptr ? std::string{} : std::string(static_cast<const char*>(value), size)});
  }
  return out;
}

}  // namespace

Result<std::optional<ConsumedMessage>> Reader::poll(std::chrono::milliseconds timeout) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->handle.get(), static_cast<int>(timeout.count()));
  if (m == nullptr) return std::optional<ConsumedMessage>{};
  std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned{m, rd_kafka_message_destroy};
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::optional<ConsumedMessage>{};
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error{fmt::format("consume: {}", rd_kafka_message_errstr(m))};
  return std::optional<ConsumedMessage>{copy_message(*m, impl_->value_bytes_max)};
}

// --- GroupConsumer ---------------------------------------------------------------------

struct GroupConsumer::Impl {
  HandlePtr handle;
  RebalanceHandler handler;
  std::set<TopicPartition> assigned;
  std::string last_error;  // from the error callback, handed out by the next poll()
  std::size_t value_bytes_max = SIZE_MAX;
  rd_kafka_queue_t* close_queue = nullptr;  // once close() began
};

namespace {

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  for (int i = 0; list != nullptr && i < list->cnt; ++i)
    out.push_back({list->elems[i].topic, list->elems[i].partition});
  return out;
}

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                  void* opaque) {
  auto* impl = static_cast<GroupConsumer::Impl*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  const std::vector<TopicPartition> changed = to_vector(partitions);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (impl->handler.assigned)
      for (const auto& [tp, offset] : impl->handler.assigned(changed))
        if (auto* elem = rd_kafka_topic_partition_list_find(partitions, tp.topic.c_str(), tp.partition))
          elem->offset = offset;
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions)) {
        impl->last_error = fmt::format("incremental assign: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, partitions);
    }
    impl->assigned.insert(changed.begin(), changed.end());
    return;
  }
  // Revoked (or lost), or a rebalance error: give the partitions up after the handler ran.
  if (impl->handler.revoked) impl->handler.revoked(changed, rd_kafka_assignment_lost(rk) == 1);
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions)) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
  for (const TopicPartition& tp : changed) impl->assigned.erase(tp);
}

void on_consumer_error(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
  auto* impl = static_cast<GroupConsumer::Impl*>(opaque);
  impl->last_error = fmt::format("{}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

rd_kafka_topic_partition_list_t* make_list(const std::set<TopicPartition>& partitions) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (const TopicPartition& tp : partitions) rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition);
  return list;
}

}  // namespace

GroupConsumer::GroupConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GroupConsumer::~GroupConsumer() {
  if (impl_) impl_->handler = {};  // the owner may be half gone: no callbacks into it
  close(std::chrono::milliseconds{kDestroyCloseTimeoutMs});
  if (!impl_ || !impl_->handle) return;
  // Not closed in time: stopped without leaving (librdkafka may still wait here for
  // requests in flight to a broker that does not answer).
  rd_kafka_queue_destroy(std::exchange(impl_->close_queue, nullptr));
  rd_kafka_destroy_flags(impl_->handle.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

Result<std::unique_ptr<GroupConsumer>> GroupConsumer::create(const ClientOptions& options, const std::string& group_id,
                                                             const std::vector<std::string>& topics,
                                                             RebalanceHandler handler, Assignor assignor) {
  // Offsets come from the daemon's state (handler.assigned); the group's committed offsets
  // are for monitoring only, so nothing is stored or committed automatically.
  const Properties ours = {{"group.id", group_id},
                           {"partition.assignment.strategy",
                            assignor == Assignor::range ? "range" : "cooperative-sticky"},
                           {"enable.auto.commit", "false"},
                           {"enable.auto.offset.store", "false"},
                           {"auto.offset.reset", "earliest"},
                           {"enable.partition.eof", "false"}};
  Result<ConfPtr> conf = make_conf(options, ours);
  if (!conf) return Error{conf.error()};
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  rd_kafka_conf_set_rebalance_cb(conf->get(), on_rebalance);
  rd_kafka_conf_set_error_cb(conf->get(), on_consumer_error);
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  Result<HandlePtr> handle = make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return Error{handle.error()};
  rd_kafka_poll_set_consumer(handle->get());
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const std::string& topic : topics)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(handle->get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Error{fmt::format("subscribe: {}", rd_kafka_err2str(err))};
  impl->handle = std::move(*handle);
  impl->value_bytes_max = options.value_bytes_max;
  return std::unique_ptr<GroupConsumer>(new GroupConsumer(std::move(impl)));
}

Result<Polled> GroupConsumer::poll(std::chrono::milliseconds timeout) {
  Polled out;
  rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->handle.get(), static_cast<int>(timeout.count()));
  out.transient_error = std::exchange(impl_->last_error, {});
  if (m == nullptr) return out;
  std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned{m, rd_kafka_message_destroy};
  if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
    std::array<char, kErrorTextBytes> reason{};
    rd_kafka_fatal_error(impl_->handle.get(), reason.data(), reason.size());
    return Error{fmt::format("kafka consumer: fatal: {}", reason.data())};
  }
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return out;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.transient_error = rd_kafka_message_errstr(m);
    return out;
  }
  out.message = copy_message(*m, impl_->value_bytes_max);
  return out;
}

void GroupConsumer::pause_all() { pause(assignment()); }

void GroupConsumer::resume_all() { resume(assignment()); }

void GroupConsumer::pause(const std::vector<TopicPartition>& tps) {
  if (tps.empty()) return;
  rd_kafka_topic_partition_list_t* list = make_list({tps.begin(), tps.end()});
  rd_kafka_pause_partitions(impl_->handle.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
}

void GroupConsumer::resume(const std::vector<TopicPartition>& tps) {
  if (tps.empty()) return;
  rd_kafka_topic_partition_list_t* list = make_list({tps.begin(), tps.end()});
  rd_kafka_resume_partitions(impl_->handle.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
}

std::vector<TopicPartition> GroupConsumer::assignment() const {
  return {impl_->assigned.begin(), impl_->assigned.end()};
}

bool GroupConsumer::assignment_lost() const {
  rd_kafka_t* rk = impl_->handle.get();
  if (rd_kafka_assignment_lost(rk) == 1) return true;
  if (impl_->assigned.empty()) return false;
  char* member = rd_kafka_memberid(rk);
  const bool out_of_group = member == nullptr || *member == '\0';
  if (member != nullptr) rd_kafka_mem_free(rk, member);
  return out_of_group;
}

std::optional<std::int64_t> GroupConsumer::cached_high_watermark(const TopicPartition& tp) const {
  std::int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(impl_->handle.get(), tp.topic.c_str(), tp.partition, &low, &high) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0)
    return std::nullopt;
  return high;
}

void GroupConsumer::commit_for_monitoring(const std::vector<std::pair<TopicPartition, std::int64_t>>& next_offsets,
                                          std::string_view metadata) {
  if (next_offsets.empty()) return;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size()));
  for (const auto& [tp, offset] : next_offsets) {
    rd_kafka_topic_partition_t* entry = rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition);
    entry->offset = offset;
    if (!metadata.empty()) {  // the list owns it: freed with the list
      entry->metadata = std::malloc(metadata.size());
      if (entry->metadata != nullptr) {
        std::memcpy(entry->metadata, metadata.data(), metadata.size());
        entry->metadata_size = metadata.size();
      }
    }
  }
  rd_kafka_commit(impl_->handle.get(), list, 1);
  rd_kafka_topic_partition_list_destroy(list);
}

void GroupConsumer::close(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->handle) return;
  if (impl_->assigned.empty() && impl_->close_queue == nullptr) {
    // librdkafka 2.0 asserts (aborting the process) when a cooperative-sticky member that
    // holds no assignment is closed or destroyed while the group is still joining (librdkafka
    // issue 4312, fixed in 2.2). Such a member has nothing to hand over, and this happens at
    // process exit (the daemon's only caller): the client is left running, its handle and
    // callback state deliberately not freed, and the group drops it at its session timeout.
    (void)impl_->handle.release();
    (void)impl_.release();
    return;
  }
  // rd_kafka_consumer_close() waits for the broker without a bound: close through a queue
  // of our own instead, serving its rebalance (the revoke) until closed or out of time.
  rd_kafka_t* rk = impl_->handle.get();
  if (impl_->close_queue == nullptr) {
    impl_->close_queue = rd_kafka_queue_new(rk);
    if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk, impl_->close_queue)) rd_kafka_error_destroy(e);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!rd_kafka_consumer_closed(rk) && std::chrono::steady_clock::now() < deadline) {
    // Events, not callbacks: the queue also carries what only the event API may take.
    rd_kafka_event_t* event = rd_kafka_queue_poll(impl_->close_queue, kClosePollMs);
    if (event == nullptr) continue;
    if (rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE)
      on_rebalance(rk, rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event), impl_.get());
    rd_kafka_event_destroy(event);
  }
  if (!rd_kafka_consumer_closed(rk)) return;  // the destructor gives up on leaving
  rd_kafka_queue_destroy(std::exchange(impl_->close_queue, nullptr));
  impl_->handle.reset();
}

std::int32_t partition_for_key(std::string_view key, std::int32_t partition_count) {
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partition_count, nullptr, nullptr);
}

}  // namespace paydist::kafka
