// bench/raw_consume.cpp: the ceiling for bench/run's e2e figure: a bare librdkafka consumer
// (the C API, nothing of paydist) that reads every partition of a topic from the beginning
// and only counts messages, until each partition reaches the high watermark it had at start.
// It refuses to measure a topic the broker has already trimmed (low watermark above 0).
//   paydist_raw_consume --brokers 127.0.0.1:9092 --topic paydist.events --repeat 3
//   -> raw_consume: messages=N seconds=S messages_per_s=R   (one line per repetition)
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kMetadataTimeoutMs = 10'000;
constexpr int kPollTimeoutMs = 100;
// A repetition that sees no message for this long gives up (a broker gone, a bug).
constexpr auto kStallTimeout = std::chrono::seconds{30};

struct Options {
  std::string brokers;
  std::string topic = "paydist.events";
  int repeat = 3;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "raw_consume: %s\n", what.c_str());
  std::exit(1);
}

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK)
    fail(std::string{name} + ": " + error);
}

rd_kafka_t* make_consumer(const Options& opt, int repetition) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", opt.brokers);
  // A group id is required by the consumer API; nothing is committed and no group is joined
  // (partitions are assigned by hand).
  set(conf, "group.id", "paydist-raw-consume-" + std::to_string(repetition));
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.partition.eof", "false");
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (rk == nullptr) fail(error);
  return rk;
}

int32_t partition_count(rd_kafka_t* rk, const std::string& topic) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle, &metadata, kMetadataTimeoutMs);
  rd_kafka_topic_destroy(handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) fail("metadata: " + std::string{rd_kafka_err2str(err)});
  int32_t count = 0;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
    count = metadata->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(metadata);
  if (count <= 0) fail("topic " + topic + " not found");
  return count;
}

// One repetition: returns the messages counted and the seconds from assign to the last one.
std::pair<int64_t, double> consume_all(const Options& opt, int repetition) {
  rd_kafka_t* rk = make_consumer(opt, repetition);
  const int32_t partitions = partition_count(rk, opt.topic);
  std::vector<int64_t> high(static_cast<std::size_t>(partitions));
  int64_t expected = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    int64_t low = 0;
    const rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, opt.topic.c_str(), p, &low, &high[static_cast<std::size_t>(p)],
                                         kMetadataTimeoutMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) fail("watermarks: " + std::string{rd_kafka_err2str(err)});
    // The local broker keeps only the newest 5 MiB of a partition: a trimmed topic would be
    // counted short, and the daemon would read less than replay does.
    if (low != 0) fail("partition " + std::to_string(p) + " starts at offset " + std::to_string(low) +
                       ": the broker dropped messages (use more partitions or compression)");
    expected += high[static_cast<std::size_t>(p)];
  }

  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  int remaining = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    if (high[static_cast<std::size_t>(p)] == 0) continue;
    rd_kafka_topic_partition_list_add(assignment, opt.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ++remaining;
  }
  const auto started = std::chrono::steady_clock::now();
  auto last_message = started;
  if (const rd_kafka_resp_err_t err = rd_kafka_assign(rk, assignment); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    fail("assign: " + std::string{rd_kafka_err2str(err)});
  rd_kafka_topic_partition_list_destroy(assignment);

  int64_t counted = 0;
  while (remaining > 0) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, kPollTimeoutMs);
    const auto now = std::chrono::steady_clock::now();
    if (m == nullptr) {
      if (now - last_message > kStallTimeout) fail("no message for 30 s");
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string error = rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      fail("consume: " + error);
    }
    ++counted;
    last_message = now;
    if (m->offset + 1 == high[static_cast<std::size_t>(m->partition)]) --remaining;
    rd_kafka_message_destroy(m);
  }
  const double seconds = std::chrono::duration<double>(last_message - started).count();
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (counted != expected) fail("counted " + std::to_string(counted) + " of " + std::to_string(expected));
  return {counted, seconds};
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--brokers") opt.brokers = argv[i + 1];
    else if (flag == "--topic") opt.topic = argv[i + 1];
    else if (flag == "--repeat") opt.repeat = std::atoi(argv[i + 1]);
    else opt.brokers.clear();
  }
  if (opt.brokers.empty() || opt.repeat < 1 || argc % 2 == 0) {
    std::fprintf(stderr, "usage: paydist_raw_consume --brokers HOST:PORT [--topic T] [--repeat N]\n");
    return 2;
  }
  for (int r = 0; r < opt.repeat; ++r) {
    const auto [messages, seconds] = consume_all(opt, r);
    std::printf("raw_consume: messages=%lld seconds=%.3f messages_per_s=%.0f\n", static_cast<long long>(messages),
                seconds, seconds > 0 ? static_cast<double>(messages) / seconds : 0.0);
    std::fflush(stdout);
  }
  return 0;
}
