// daemon/kafka_tools.cpp: `paydist broker`, `paydist feed`, `paydist tail` (issue 5, item 5).
// Wiring only: each reads its arguments, drives a connectors/kafka.h client and maps the
// outcome to an exit status (0 done, 1 failed, 2 usage). Holds no business rule.
#include "daemon/kafka_tools.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "config/config.h"
#include "connectors/codec.h"
#include "connectors/kafka.h"
#include "daemon/address_file.h"

namespace paydist {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr auto kMetadataTimeout = std::chrono::milliseconds{10'000};
constexpr auto kPollInterval = std::chrono::milliseconds{100};
constexpr auto kProgressInterval = std::chrono::milliseconds{250};
// How long `feed` waits for the last acknowledgements before it gives up.
constexpr auto kFeedFlushTimeout = std::chrono::milliseconds{60'000};
// Input lines are bounded by max_message_bytes (contract 6, default 1 MiB); longer ones are
// still sent (the daemon rejects them unread), up to what the producer accepts.
constexpr const char* kFeedMessageBytesMax = "8388608";
constexpr std::size_t kFeedLineBytesMax = 8'000'000;

// Blocks the given signals in this thread and every thread started after it (librdkafka's
// included), so that they are taken only by pending()/wait(), never by a handler.
class BlockedSignals {
 public:
  explicit BlockedSignals(std::initializer_list<int> signals) {
    sigemptyset(&set_);
    for (int s : signals) sigaddset(&set_, s);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  // A signal that arrived, if any, without waiting.
  std::optional<int> pending() {
    const timespec zero{0, 0};
    const int s = sigtimedwait(&set_, nullptr, &zero);
    return s > 0 ? std::optional<int>{s} : std::nullopt;
  }
  int wait() {
    for (;;) {
      int s = 0;
      if (sigwait(&set_, &s) == 0) return s;
    }
  }

 private:
  sigset_t set_{};
};

double per_second(std::uint64_t count, std::chrono::steady_clock::duration elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return seconds > 0 ? static_cast<double>(count) / seconds : static_cast<double>(count);
}

int run_broker(int partitions, const std::string& brokers_file, const std::vector<std::string>& extra_topics) {
  BlockedSignals signals{SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
  std::vector<std::string> topics = kafka::TopicNames{}.all();
  for (const std::string& topic : extra_topics)
    if (std::find(topics.begin(), topics.end(), topic) == topics.end()) topics.push_back(topic);
  Result<std::unique_ptr<kafka::MockCluster>> cluster = kafka::MockCluster::start(topics, partitions);
  if (!cluster) {
    fmt::print(stderr, "paydist broker: {}\n", cluster.error());
    return kExitFailed;
  }
  const std::string& bootstrap = (*cluster)->bootstrap();
  if (!brokers_file.empty() && !write_address_file(brokers_file, bootstrap)) {
    fmt::print(stderr, "paydist broker: cannot write {}: {}\n", brokers_file, std::strerror(errno));
    return kExitFailed;
  }
  fmt::print("{}\n", bootstrap);
  std::fflush(stdout);
  fmt::print(stderr, "paydist broker: listening on {} ({} partitions per topic: {}); SIGTERM stops it\n", bootstrap,
             partitions, fmt::join(topics, ", "));
  for (;;) {
    const int s = signals.wait();
    if (s == SIGUSR1) {
      (*cluster)->set_brokers_up(false);
      fmt::print(stderr, "paydist broker: down (SIGUSR1); SIGUSR2 brings it back\n");
    } else if (s == SIGUSR2) {
      (*cluster)->set_brokers_up(true);
      fmt::print(stderr, "paydist broker: up again (SIGUSR2)\n");
    } else {
      break;
    }
  }
  if (!brokers_file.empty()) std::filesystem::remove(brokers_file);
  fmt::print(stderr, "paydist broker: stopped\n");
  return kExitOk;
}

// Counts of one feed run, updated from delivery reports.
struct FeedCounts {
  std::uint64_t lines = 0;       // input lines read (blank ones included)
  std::uint64_t messages = 0;    // messages produced (a business_date line is one per partition)
  std::uint64_t acknowledged = 0;
  std::uint64_t failed = 0;
  std::string first_error;
};

int run_feed(const std::string& brokers, const std::string& topic, const std::string& compression,
             int max_in_flight, const std::vector<std::string>& files) {
  BlockedSignals signals{SIGTERM, SIGINT};
  FeedCounts counts;
  kafka::ClientOptions options{.brokers = brokers, .client = {{"message.max.bytes", kFeedMessageBytesMax}}};
  if (!compression.empty()) options.client.emplace_back("compression.type", compression);
  if (max_in_flight > 0)
    options.client.emplace_back("max.in.flight.requests.per.connection", std::to_string(max_in_flight));
  options.client_id = "paydist-feed";
  Result<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::create(options, kafka::Idempotence::on, [&counts](const kafka::Delivery& d) {
        if (d.delivered) {
          ++counts.acknowledged;
        } else if (counts.failed++ == 0) {
          counts.first_error = d.error;
        }
      });
  if (!producer) {
    fmt::print(stderr, "paydist feed: {}\n", producer.error());
    return kExitFailed;
  }
  Result<std::int32_t> partitions = (*producer)->partition_count(topic, kMetadataTimeout);
  if (!partitions) {
    fmt::print(stderr, "paydist feed: {}\n", partitions.error());
    return kExitFailed;
  }

  // Only the envelope matters here (its type and account_id); the daemon validates the rest.
  const Rules rules;
  Decoder decoder{rules};
  const bool show_progress = ::isatty(STDERR_FILENO) == 1;
  const auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  std::uint64_t unkeyed = 0;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      fmt::print(stderr, "paydist feed: cannot open {}: {}\n", path, std::strerror(errno));
      return kExitFailed;
    }
    std::string line;
    while (std::getline(in, line)) {
      ++counts.lines;
      if (signals.pending()) {
        fmt::print(stderr, "\npaydist feed: interrupted after {} lines\n", counts.lines - 1);
        return kExitFailed;
      }
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank (contract 6)
      if (line.size() > kFeedLineBytesMax) {
        fmt::print(stderr, "paydist feed: {} line {}: {} bytes, over the {} a message may hold\n", path, counts.lines,
                   line.size(), kFeedLineBytesMax);
        return kExitFailed;
      }
      const DecodedLine envelope = decoder.decode(line);
      kafka::OutgoingMessage message{.topic = topic, .value = line};
      // contract 2: a business_date goes to every partition; an account's line by its key;
      // any other line round robin, to a partition chosen here (left to the partitioner it
      // could land after a business_date produced to the same partition later).
      std::int32_t first = 0, last = *partitions - 1;
      if (!envelope.business_date_scope) {
        if (envelope.account_id) {
          message.key = envelope.account_id->view();
          first = last = kafka::kAnyPartition;
        } else {
          first = last = static_cast<std::int32_t>(unkeyed++ % static_cast<std::uint64_t>(*partitions));
        }
      }
      for (std::int32_t p = first; p <= last; ++p) {
        message.partition = p;
        if (Status s = (*producer)->produce(message); !s) {
          fmt::print(stderr, "paydist feed: {} line {}: {}\n", path, counts.lines, s.error());
          return kExitFailed;
        }
        ++counts.messages;
      }
      (*producer)->poll(std::chrono::milliseconds{0});
      const auto now = std::chrono::steady_clock::now();
      if (show_progress && now - last_progress >= kProgressInterval) {
        last_progress = now;
        fmt::print(stderr, "\rfeed: lines={} acknowledged={} messages_per_s={:.0f}   ", counts.lines,
                   counts.acknowledged, per_second(counts.acknowledged, now - started));
        std::fflush(stderr);
      }
    }
    if (in.bad()) {
      fmt::print(stderr, "paydist feed: reading {}: {}\n", path, std::strerror(errno));
      return kExitFailed;
    }
  }
  const Status flushed = (*producer)->flush(kFeedFlushTimeout);
  if (show_progress) fmt::print(stderr, "\r\033[K");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  fmt::print(stderr, "feed: lines={} messages={} acknowledged={} failed={} seconds={:.2f} messages_per_s={:.0f}\n",
             counts.lines, counts.messages, counts.acknowledged, counts.failed,
             std::chrono::duration<double>(elapsed).count(), per_second(counts.acknowledged, elapsed));
  if (!flushed) {
    fmt::print(stderr, "paydist feed: {}\n", flushed.error());
    return kExitFailed;
  }
  if (counts.failed > 0) {
    fmt::print(stderr, "paydist feed: {} message(s) not delivered: {}\n", counts.failed, counts.first_error);
    return kExitFailed;
  }
  return kExitOk;
}

int run_tail(const std::string& brokers, const std::string& topic, bool until_end) {
  BlockedSignals signals{SIGTERM, SIGINT};
  kafka::ClientOptions options{.brokers = brokers};
  options.client_id = "paydist-tail";
  Result<std::unique_ptr<kafka::Reader>> reader = kafka::Reader::create(options);
  if (!reader) {
    fmt::print(stderr, "paydist tail: {}\n", reader.error());
    return kExitFailed;
  }
  Result<std::int32_t> partitions = (*reader)->partition_count(topic, kMetadataTimeout);
  if (!partitions) {
    fmt::print(stderr, "paydist tail: {}\n", partitions.error());
    return kExitFailed;
  }
  // With --until-end: the end is each partition's high watermark when tail started.
  std::map<std::int32_t, std::int64_t> remaining_until;  // partition -> high watermark
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> from;
  for (std::int32_t p = 0; p < *partitions; ++p) {
    const kafka::TopicPartition tp{topic, p};
    Result<kafka::Watermarks> marks = (*reader)->watermarks(tp, kMetadataTimeout);
    if (!marks) {
      fmt::print(stderr, "paydist tail: {}\n", marks.error());
      return kExitFailed;
    }
    from.emplace_back(tp, marks->low);
    if (until_end && marks->high > marks->low) remaining_until[p] = marks->high;
  }
  if (Status s = (*reader)->assign(from); !s) {
    fmt::print(stderr, "paydist tail: {}\n", s.error());
    return kExitFailed;
  }
  std::string out;
  while (!(until_end && remaining_until.empty())) {
    if (signals.pending()) break;
    Result<std::optional<kafka::ConsumedMessage>> polled = (*reader)->poll(kPollInterval);
    if (!polled) {
      fmt::print(stderr, "paydist tail: {}\n", polled.error());
      return kExitFailed;
    }
    if (!*polled) continue;
    const kafka::ConsumedMessage& m = **polled;
    out.assign(m.value);
    out += '\n';
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) {
      fmt::print(stderr, "paydist tail: writing to stdout failed: {}\n", std::strerror(errno));
      return kExitFailed;
    }
    if (auto it = remaining_until.find(m.partition); it != remaining_until.end() && m.offset + 1 >= it->second)
      remaining_until.erase(it);
  }
  if (std::fflush(stdout) != 0) return kExitFailed;
  return kExitOk;
}

// The bootstrap list from --brokers, or from a paydistd config (--config): its [kafka]
// brokers, or for "embedded" the address paydistd wrote to STATE/embedded-brokers; with
// `topic` set and empty, the config's input topic too. nullopt: reported, and `status` says
// how to exit (a bad config file: 2; no address from a running paydistd: 1).
std::optional<std::string> brokers_from(const std::string& brokers, const std::string& config_path, const char* command,
                                        std::string* topic, int& status) {
  status = kExitUsage;
  if (config_path.empty()) return brokers;
  Result<Config> config = load_config(config_path);
  if (!config) {
    fmt::print(stderr, "paydist {}: {}\n", command, config.error());
    return std::nullopt;
  }
  if (topic != nullptr && topic->empty()) *topic = config->kafka.events_topic;
  if (config->kafka.brokers != "embedded") return config->kafka.brokers;
  const std::filesystem::path file = std::filesystem::path{config->state.dir} / "embedded-brokers";
  std::ifstream in(file);
  std::string address;
  if (!std::getline(in, address) || address.empty()) {
    fmt::print(stderr, "paydist {}: {} uses the embedded broker, but {} is missing: is paydistd running?\n", command,
               config_path, file.string());
    status = kExitFailed;
    return std::nullopt;
  }
  return address;
}

// `paydist partitions`: each input partition with the member that last committed it (the
// metadata paydistd commits with its offsets), its committed offset, end and lag, and with
// [kafka] changelog the records of its changelog partition. One line per partition under a
// header, then a summary line; exit 1 when the broker cannot be asked.
int run_partitions(const std::string& config_path) {
  Result<Config> config = load_config(config_path);
  if (!config) {
    fmt::print(stderr, "paydist partitions: {}\n", config.error());
    return kExitUsage;
  }
  int status = kExitOk;
  std::optional<std::string> brokers = brokers_from("", config_path, "partitions", nullptr, status);
  if (!brokers) return status;
  kafka::ClientOptions options{.brokers = *brokers};
  options.client = config->kafka.client;
  options.client_id = "paydist-partitions";
  const auto fail = [](const std::string& why) {
    fmt::print(stderr, "paydist partitions: {}\n", why);
    return kExitFailed;
  };
  Result<std::unique_ptr<kafka::Reader>> reader = kafka::Reader::create(options);
  if (!reader) return fail(reader.error());
  constexpr auto kTimeout = std::chrono::seconds{10};
  const std::string& events = config->kafka.events_topic;
  Result<std::int32_t> count = (*reader)->partition_count(events, kTimeout);
  if (!count) return fail(count.error());
  std::vector<kafka::TopicPartition> tps;
  for (std::int32_t p = 0; p < *count; ++p) tps.push_back({events, p});
  Result<std::vector<kafka::CommittedOffset>> committed =
      kafka::committed_offsets(options, config->kafka.group_id, tps, kTimeout);
  if (!committed) return fail(committed.error());
  fmt::print("{:<10} {:>12} {:>12} {:>10} {:>18}  {:<44}  {}\n", "partition", "committed", "end", "lag",
             config->kafka.changelog ? "changelog_records" : "changelog", "restore", "owner (as last committed)");
  std::int64_t total_lag = 0;
  int owned = 0, restoring = 0;
  for (const kafka::CommittedOffset& c : *committed) {
    Result<kafka::Watermarks> marks = (*reader)->watermarks(c.tp, kTimeout);
    if (!marks) return fail(marks.error());
    std::string changelog = "off";
    if (config->kafka.changelog) {
      Result<kafka::Watermarks> log = (*reader)->watermarks({config->kafka.changelog_topic, c.tp.partition}, kTimeout);
      changelog = log ? std::to_string(log->high - log->low) : std::string{"?"};
    }
    const std::int64_t lag = marks->high - c.offset.value_or(marks->low);
    total_lag += lag;
    owned += c.metadata.empty() ? 0 : 1;
    // paydistd's metadata: OWNER, or OWNER " restore: " STATE while it restores the partition
    // from the changelog and until its next commit (daemon/service.cpp note_restore).
    std::string owner = c.metadata, restore = "-";
    if (const std::size_t at = owner.find(" restore: "); at != std::string::npos) {
      restore = owner.substr(at + 10);
      owner.resize(at);
      restoring += restore.starts_with("restoring") ? 1 : 0;
    }
    fmt::print("{:<10} {:>12} {:>12} {:>10} {:>18}  {:<44}  {}\n", c.tp.partition,
               c.offset ? std::to_string(*c.offset) : std::string{"-"}, marks->high, lag, changelog, restore,
               owner.empty() ? std::string{"-"} : owner);
  }
  fmt::print(stderr, "partitions: topic={} group={} partitions={} with_owner={} restoring={} lag={}\n", events,
             config->kafka.group_id, *count, owned, restoring, total_lag);
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailed;
}

}  // namespace

KafkaTools::KafkaTools(CLI::App& app) {
  broker_ = app.add_subcommand("broker", "Run a local development Kafka broker (librdkafka's mock cluster)");
  broker_->add_option("--partitions", broker_args_.partitions, "Partitions of every contract topic")
      ->check(CLI::Range(1, 1024));
  broker_->add_option("--brokers-file", broker_args_.brokers_file, "Also write the bootstrap address to this file");
  broker_->add_option("--topic", broker_args_.extra_topics,
                      "Also create this topic (repeatable), e.g. an extra input topic");

  feed_ = app.add_subcommand("feed", "Send input lines to the input topic, keyed by account_id");
  CLI::Option* feed_brokers =
      feed_->add_option("--brokers", feed_args_.brokers, "Bootstrap servers, host:port[,host:port...]");
  CLI::Option* feed_config = feed_->add_option("--config", feed_args_.config_path,
                                               "paydistd's configuration: its brokers (or embedded broker) and input topic")
                                 ->check(CLI::ExistingFile);
  feed_brokers->excludes(feed_config);
  feed_->require_option(1, 0);
  feed_->add_option("--topic", feed_args_.topic, "Input topic (default: the config's, or paydist.events)");
  feed_->add_option("--compression", feed_args_.compression,
                    "Compress message batches (librdkafka's compression.type; default none): a local broker "
                    "keeps several times more of a topic with zstd")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  feed_->add_option("--max-in-flight", feed_args_.max_in_flight,
                    "Produce requests in flight per broker connection (librdkafka's "
                    "max.in.flight.requests.per.connection; default 5)")
      ->check(CLI::Range(1, 5));
  feed_->add_option("EVENTS", feed_args_.files, "Input files, one JSON message per line")
      ->required()
      ->check(CLI::ExistingFile);

  tail_ = app.add_subcommand("tail", "Print a topic's message values, one a line, from the beginning");
  CLI::Option* tail_brokers =
      tail_->add_option("--brokers", tail_args_.brokers, "Bootstrap servers, host:port[,host:port...]");
  CLI::Option* tail_config = tail_->add_option("--config", tail_args_.config_path,
                                               "paydistd's configuration: its brokers (or embedded broker)")
                                 ->check(CLI::ExistingFile);
  tail_brokers->excludes(tail_config);
  tail_->add_option("--topic", tail_args_.topic, "Topic to read")->required();
  tail_->add_flag("--until-end", tail_args_.until_end, "Exit at the end of the topic (as it was when tail started)");

  partitions_ = app.add_subcommand(
      "partitions", "List the input partitions: committed offset, end, lag, changelog records, restore state, owner");
  partitions_->add_option("--config", partitions_config_, "paydistd's configuration: brokers, group, topics")
      ->required()
      ->check(CLI::ExistingFile);
}

std::optional<int> KafkaTools::run_parsed() {
  if (broker_->parsed()) return run_broker(broker_args_.partitions, broker_args_.brokers_file, broker_args_.extra_topics);
  if (feed_->parsed()) {
    std::string topic = feed_args_.topic;
    int status = kExitOk;
    std::optional<std::string> brokers = brokers_from(feed_args_.brokers, feed_args_.config_path, "feed", &topic, status);
    if (!brokers) return status;
    return run_feed(*brokers, topic.empty() ? kafka::TopicNames{}.events : topic, feed_args_.compression,
                    feed_args_.max_in_flight, feed_args_.files);
  }
  if (tail_->parsed()) {
    int status = kExitOk;
    std::optional<std::string> brokers = brokers_from(tail_args_.brokers, tail_args_.config_path, "tail", nullptr, status);
    if (!brokers) return status;
    if (brokers->empty()) {
      fmt::print(stderr, "paydist tail: give --brokers or --config\n");
      return kExitUsage;
    }
    return run_tail(*brokers, tail_args_.topic, tail_args_.until_end);
  }
  if (partitions_->parsed()) return run_partitions(partitions_config_);
  return std::nullopt;
}

}  // namespace paydist
