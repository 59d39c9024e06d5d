// daemon/metrics.h: the daemon's counters and histograms, rendered as Prometheus text for
// GET /metrics. Plain values owned by the event loop's thread; no locking, no globals.
//   metrics.messages_in["paydist.events"][MessageOutcome::accepted] += 1;
//   std::string body = render_metrics(metrics, gauges);
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/message_apply.h"

namespace paydist {

// A Prometheus histogram with fixed upper bounds.
struct Histogram {
  std::vector<double> bounds;           // upper bounds, increasing; +Inf is implicit
  std::vector<std::uint64_t> counts;    // per bound (not cumulative), plus one for +Inf
  double sum = 0;
  std::uint64_t count = 0;

  explicit Histogram(std::vector<double> upper_bounds)
      : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}
  void observe(double value);
};

struct Metrics {
  // Input messages by topic and result (accepted, rejected, duplicate).
  std::map<std::string, std::array<std::uint64_t, 3>> messages_in;
  // Outputs the broker acknowledged, by topic.
  std::map<std::string, std::uint64_t> outputs_delivered;
  // [kafka] changelog: outputs not published because their partition already held them
  // (another instance published them before its changelog caught up).
  std::uint64_t outputs_already_published = 0;
  Histogram batch_messages{{1, 10, 100, 1'000, 10'000, 100'000}};
  Histogram commit_seconds{{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};
  std::uint64_t commits = 0;
  std::uint64_t transient_errors = 0;  // broker trouble reported by the client (reconnects)
  // Messages the merge of input topics applied before every input partition had one queued
  // or was known to be at its end (after [kafka] merge_wait_ms).
  std::uint64_t merge_forced = 0;
  // [kafka] changelog: rows imported from the state changelog, by input partition, and the
  // partitions restored (a partition assigned with no state here is rebuilt before use).
  std::map<std::int32_t, std::uint64_t> restored_rows;
  std::uint64_t partitions_restored = 0;
  // Rows a restore left out: the start of a commit whose writer stopped halfway.
  std::uint64_t restore_rows_left_out = 0;
  // Rows written back after such a commit, as the restored state holds them (or deleted).
  std::uint64_t rows_written_back = 0;
  // [kafka] standby_replicas: rows imported into warm copies of partitions this instance
  // does not own, by partition.
  std::map<std::int32_t, std::uint64_t> standby_rows;
};

// Values read at the moment of a scrape.
struct Gauges {
  struct Partition {
    std::string topic;
    std::int32_t partition = 0;
    std::optional<std::int64_t> lag;                 // high watermark of the last fetch - next offset
    std::optional<std::int64_t> position;            // next offset to apply (known once stored or applied)
    std::optional<std::int64_t> business_date_unix;  // midnight UTC of its business date
  };
  std::vector<Partition> partitions;
  std::uint64_t outbox_depth = 0;  // outputs committed but not yet acknowledged by the broker
  std::uint64_t merge_queued = 0;  // fetched input messages waiting in the merge of input topics
  bool paused = false;             // backpressure
  bool ready = false;
};

std::string render_metrics(const Metrics& metrics, const Gauges& gauges);

}  // namespace paydist
