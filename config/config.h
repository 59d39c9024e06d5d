// config/config.h: loads paydist's TOML configuration into plain structs (docs/decisions.md,
// "Configuration"). Owns validation and one-line error messages; never decides a business rule.
//   Result<Config> config = load_config("/etc/paydist/paydist.toml");
//   if (!config) { fmt::print(stderr, "{}\n", config.error()); return 2; }
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/rules.h"

namespace paydist {

// Everything a paydist process reads from its configuration file. Every field has a
// default, so an empty file (or no file at all) is a valid configuration.
// [history]: the audit trail behind `paydist explain`, kept in the state store.
struct HistoryConfig {
  // The newest entries kept per account (one per message that changed it, plus one per
  // deadline that fired on it); 0 keeps none.
  std::uint32_t entries_per_account = 64;
};

// [state]: where the daemon keeps its LMDB state (paydist replay takes --state instead).
struct StateConfig {
  std::string dir = "/var/lib/paydist";
  // LMDB's map at open, in MiB; it grows (doubling) whenever a transaction fills it, so this
  // only sets where growth starts (small values let tests exercise the growth).
  std::int64_t initial_map_mb = 1024;
};

// [kafka], [kafka.topics], [kafka.client]: the daemon's broker, topics and batching.
struct KafkaConfig {
  // "embedded": a local mock broker inside paydistd (development; its address is written to
  // STATE/embedded-brokers). Otherwise a bootstrap list, "host:port,host:port".
  std::string brokers = "embedded";
  std::int32_t embedded_partitions = 4;
  std::string group_id = "paydist";
  // contract 2: topic names.
  std::string events_topic = "paydist.events";
  std::string activities_topic = "wlm.activities";
  std::string distributions_topic = "paydist.distributions";
  std::string rejects_topic = "paydist.rejects";
  // The state changelog (issue 8): with `changelog`, every commit also publishes the rows of
  // each partition's state it changed to partition p of this topic (compacted, one partition
  // per input partition), so that another instance can restore the partition's state.
  bool changelog = false;
  std::string changelog_topic = "paydist.state-changelog";
  // With the changelog: keep warm copies of the partitions of up to this many other members
  // (daemon/service.cpp keep_standbys), so that taking one over imports only the changelog's
  // tail. 0: none.
  std::uint32_t standby_replicas = 0;
  // More input topics, co-partitioned with events_topic (same partition count, same keys):
  // partition p of every input topic is one timeline, merged by message timestamp (ties in
  // the order events, then these as listed), the way Kafka Streams aligns its inputs.
  std::vector<std::string> extra_input_topics;
  // The merge waits this long for an input partition with nothing fetched yet unless it is
  // known to be at its end (Kafka Streams' max.task.idle.ms); then it goes on without it.
  std::uint32_t merge_wait_ms = 1'000;
  // events_topic, then extra_input_topics: a topic's place here breaks timestamp ties.
  std::vector<std::string> input_topics() const {
    std::vector<std::string> all{events_topic};
    all.insert(all.end(), extra_input_topics.begin(), extra_input_topics.end());
    return all;
  }
  // One LMDB transaction per batch: it ends after this many messages or this long.
  std::uint32_t batch_messages_max = 20'000;
  std::uint32_t batch_interval_ms = 200;
  // Backpressure: consumption pauses while more outputs than this wait to be delivered.
  std::uint32_t outbox_messages_max = 200'000;
  // [kafka.client]: librdkafka properties passed through as they are (SASL, SSL, ...).
  std::vector<std::pair<std::string, std::string>> client;
};

// [http]: the metrics and health endpoint.
struct HttpConfig {
  std::string listen = "127.0.0.1:9464";  // host:port; port 0 picks a free one
};

// [business_date]: where the daemon's business date comes from.
struct BusinessDateConfig {
  // messages: only `business_date` messages move it (contract 2). clock: paydistd also moves
  // every partition's business date to today's date in `time_zone` (at local midnight).
  enum class Source : std::uint8_t { messages, clock } source = Source::messages;
  std::string time_zone = "UTC";  // an IANA zone name, "Australia/Sydney"
};

struct Config {
  Rules rules;  // [rules]: the business rules' numbers (contract 6, "Configuration keys")
  HistoryConfig history;
  StateConfig state;
  KafkaConfig kafka;
  HttpConfig http;
  BusinessDateConfig business_date;
};

// Bounds on the configuration file itself: it is input like any other.
inline constexpr std::size_t kConfigFileBytesMax = 1 << 20;

// Reads and validates the file at path. Errors are one line, starting with the path as
// given: `paydist.toml: rules.cash_grace_days: expected an integer from 0 to 3650, got "14"`.
Result<Config> load_config(const std::filesystem::path& path);

// Validates TOML text; source_name stands for the file in error messages.
// Syntax errors carry the line: `paydist.toml:7: TOML syntax error: ...`.
Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);

}  // namespace paydist
