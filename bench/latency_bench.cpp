// bench/latency_bench.cpp: bench/run's p99_ms. Offers an input file to a running paydistd at a
// steady rate and times each payment from its produce call to the moment its distribution can
// be read back from the broker. Measures only; never decides what the daemon should output.
//   paydist_latency_bench --brokers 127.0.0.1:9092 --topic paydist.events --rate 50000 EVENTS.jsonl
//   -> latency: offered_per_s=... matched=N p50_ms=... p99_ms=... max_ms=...
//
// What is timed, exactly: an input line with an event_id is produced (keyed by account_id as
// `paydist feed` does, a business_date to every partition) at a fixed pace; its produce call
// time is kept by event_id (the first time, if the file delivers it twice). Meanwhile a
// consumer in this process reads the distributions topic from its end; a distribution names
// the event_id of the payment (or return) that caused it, so its latency is the time it was
// read minus the time its input was produced (one clock: this process's steady clock). That
// includes the producer's linger, the daemon's batching and synced commit, its producer and
// the broker's acknowledgement, plus this consumer's fetch (fetch.wait.max.ms=5, an upper
// bound of a few ms). Inputs without a distribution (debts, arrangements, business dates,
// rejects) are offered but not timed. Also reported: the same to the distribution's
// CreateTime (when paydistd produced it, before the acknowledgement), a lower bound.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "connectors/codec.h"
#include "connectors/kafka.h"
#include "core/rules.h"

namespace paydist {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kMetadataTimeout = 10'000ms;
// After the last input: stop once no distribution arrived for this long, or at the bound. The
// bound is long: a daemon that takes the offered rate at less than that drains its queue
// after the last input (at 1M accounts, 3.5 minutes), and a payment whose distribution came
// after the bound would not be timed at all, which would make p99 look better than it is.
constexpr auto kQuietEnd = 3s;
constexpr auto kDrainMax = 1800s;
constexpr std::size_t kInputLinesMax = 50'000'000;

struct Options {
  std::string brokers;
  std::string topic = "paydist.events";
  std::string outputs = "paydist.distributions";
  double rate_per_s = 50'000;
  std::string events;
};

struct Line {
  std::string value;
  std::string key;
  std::string event_id;  // empty: a line without a valid event_id (not timed)
  bool broadcast = false;
};

struct Received {
  std::string event_id;
  Clock::time_point at;
  std::int64_t create_time_ms = 0;
};

[[noreturn]] void fail(const std::string& what) {
  fmt::print(stderr, "latency_bench: {}\n", what);
  std::exit(1);
}

std::vector<Line> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open " + path);
  const Rules rules;
  Decoder decoder{rules};
  std::vector<Line> lines;
  std::string text;
  while (std::getline(in, text) && lines.size() < kInputLinesMax) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const DecodedLine envelope = decoder.decode(text);
    Line line{.value = text};
    if (envelope.envelope_ok) line.event_id = std::string{envelope.event_id.view()};
    line.broadcast = envelope.business_date_scope;
    if (envelope.account_id) line.key = std::string{envelope.account_id->view()};
    lines.push_back(std::move(line));
  }
  return lines;
}

// A distribution's JSON starts with its event_id (connectors/codec_encode.cpp).
std::string event_id_of(const std::string& json) {
  constexpr std::string_view prefix = R"({"event_id":")";
  if (json.compare(0, prefix.size(), prefix) != 0) return {};
  const std::size_t end = json.find('"', prefix.size());
  return end == std::string::npos ? std::string{} : json.substr(prefix.size(), end - prefix.size());
}

double percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int run(const Options& opt) {
  const std::vector<Line> lines = read_lines(opt.events);

  // The consumer starts at the current end of every distributions partition.
  auto reader = kafka::Reader::create({.brokers = opt.brokers, .client = {{"fetch.wait.max.ms", "5"}},
                                       .client_id = "paydist-latency-bench"});
  if (!reader) fail(reader.error());
  Result<std::int32_t> out_partitions = (*reader)->partition_count(opt.outputs, kMetadataTimeout);
  if (!out_partitions) fail(out_partitions.error());
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> from;
  for (std::int32_t p = 0; p < *out_partitions; ++p) {
    Result<kafka::Watermarks> marks = (*reader)->watermarks({opt.outputs, p}, kMetadataTimeout);
    if (!marks) fail(marks.error());
    from.push_back({{opt.outputs, p}, marks->high});
  }
  if (Status s = (*reader)->assign(from); !s) fail(s.error());

  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> last_received_ns{Clock::now().time_since_epoch().count()};
  std::vector<Received> received;
  std::string consume_error;
  std::thread consumer([&] {
    while (!stop.load()) {
      Result<std::optional<kafka::ConsumedMessage>> polled = (*reader)->poll(50ms);
      const Clock::time_point now = Clock::now();
      if (!polled) {
        consume_error = polled.error();
        return;
      }
      if (!*polled) continue;
      received.push_back({event_id_of((*polled)->value), now, (*polled)->timestamp_ms});
      last_received_ns.store(now.time_since_epoch().count());
    }
  });

  std::uint64_t acknowledged = 0, failed = 0;
  // zstd as bench/run's feed: the local broker keeps only 5 MiB of a partition, and a daemon
  // that falls behind must still find every message.
  auto producer = kafka::Producer::create({.brokers = opt.brokers, .client = {{"compression.type", "zstd"}},
                                           .client_id = "paydist-latency-bench"},
                                          kafka::Idempotence::on, [&](const kafka::Delivery& d) {
                                            if (d.delivered) ++acknowledged;
                                            else ++failed;
                                          });
  if (!producer) fail(producer.error());
  Result<std::int32_t> in_partitions = (*producer)->partition_count(opt.topic, kMetadataTimeout);
  if (!in_partitions) fail(in_partitions.error());

  // event_id -> (produce call time, its CreateTime in ms)
  std::unordered_map<std::string, std::pair<Clock::time_point, std::int64_t>> produced_at;
  produced_at.reserve(lines.size());
  const auto interval = std::chrono::duration<double>(1.0 / opt.rate_per_s);
  const Clock::time_point started = Clock::now();
  std::uint64_t sent = 0, unkeyed = 0;
  for (const Line& line : lines) {
    std::int32_t first = 0, last = *in_partitions - 1;
    kafka::OutgoingMessage message{.topic = opt.topic, .value = line.value};
    if (!line.broadcast) {
      if (!line.key.empty()) {
        message.key = line.key;
        first = last = kafka::kAnyPartition;
      } else {
        first = last = static_cast<std::int32_t>(unkeyed++ % static_cast<std::uint64_t>(*in_partitions));
      }
    }
    for (std::int32_t p = first; p <= last; ++p) {
      // Steady pace: message n leaves at started + n * interval, never in a burst to catch up
      // more than the producer itself queues.
      const auto due = started + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(sent));
      if (Clock::now() < due) {
        (*producer)->poll(0ms);
        std::this_thread::sleep_until(due);
      }
      message.partition = p;
      message.timestamp_ms = wall_ms();
      const Clock::time_point now = Clock::now();
      if (Status s = (*producer)->produce(message); !s) fail(s.error());
      if (!line.event_id.empty()) produced_at.emplace(line.event_id, std::make_pair(now, message.timestamp_ms));
      ++sent;
    }
  }
  const double produce_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (Status s = (*producer)->flush(60'000ms); !s) fail(s.error());
  for (const auto drain_end = Clock::now() + kDrainMax; Clock::now() < drain_end;) {
    std::this_thread::sleep_for(100ms);
    const Clock::time_point last_received{Clock::duration{last_received_ns.load()}};
    if (Clock::now() - last_received > kQuietEnd) break;
  }
  stop.store(true);
  consumer.join();
  if (!consume_error.empty()) fail(consume_error);
  if (failed > 0 || acknowledged != sent) fail(fmt::format("{} of {} input messages not delivered", sent - acknowledged, sent));

  std::vector<double> to_read_ms, to_create_ms;
  std::unordered_map<std::string, bool> seen;
  std::uint64_t unmatched = 0;
  for (const Received& r : received) {
    auto it = produced_at.find(r.event_id);
    if (it == produced_at.end()) {
      ++unmatched;
      continue;
    }
    if (!seen.emplace(r.event_id, true).second) continue;  // a return's reversal: first output only
    to_read_ms.push_back(std::chrono::duration<double, std::milli>(r.at - it->second.first).count());
    to_create_ms.push_back(static_cast<double>(r.create_time_ms - it->second.second));
  }
  std::sort(to_read_ms.begin(), to_read_ms.end());
  std::sort(to_create_ms.begin(), to_create_ms.end());
  fmt::print("latency: offered_per_s={:.0f} messages={} seconds={:.2f} outputs={} timed={} unmatched={} "
             "p50_ms={:.1f} p90_ms={:.1f} p99_ms={:.1f} max_ms={:.1f} p99_to_output_createtime_ms={:.0f}\n",
             static_cast<double>(sent) / produce_s, sent, produce_s, received.size(), to_read_ms.size(), unmatched,
             percentile(to_read_ms, 0.50), percentile(to_read_ms, 0.90), percentile(to_read_ms, 0.99),
             to_read_ms.empty() ? 0.0 : to_read_ms.back(), percentile(to_create_ms, 0.99));
  return to_read_ms.empty() ? 1 : 0;
}

}  // namespace
}  // namespace paydist

int main(int argc, char** argv) {
  paydist::Options opt;
  int i = 1;
  for (; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--brokers") opt.brokers = argv[i + 1];
    else if (flag == "--topic") opt.topic = argv[i + 1];
    else if (flag == "--outputs") opt.outputs = argv[i + 1];
    else if (flag == "--rate") opt.rate_per_s = std::atof(argv[i + 1]);
    else break;
  }
  if (i + 1 == argc) opt.events = argv[i];
  if (opt.brokers.empty() || opt.events.empty() || opt.rate_per_s <= 0) {
    std::fprintf(stderr,
                 "usage: paydist_latency_bench --brokers HOST:PORT [--topic T] [--outputs T] [--rate MSGS_PER_S] "
                 "EVENTS.jsonl\n");
    return 2;
  }
  return paydist::run(opt);
}
