// daemon/metrics.cpp: Prometheus text exposition (version 0.0.4) of daemon/metrics.h.
// Names follow Prometheus conventions: paydist_ prefix, _total for counters, base units.
#include "daemon/metrics.h"

#include <iterator>

#include <fmt/format.h>

namespace paydist {

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds.size() && value > bounds[i]) ++i;
  ++counts[i];
  sum += value;
  ++count;
}

namespace {

constexpr std::array<const char*, 3> kOutcomeNames = {"accepted", "rejected", "duplicate"};

void header(std::string& out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void histogram(std::string& out, const char* name, const char* help, const Histogram& h) {
  header(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", name, h.bounds[i], cumulative);
  }
  cumulative += h.counts.back();
  fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative,
                 name, h.sum, name, h.count);
}

}  // namespace

std::string render_metrics(const Metrics& m, const Gauges& g) {
  std::string out;
  auto to = std::back_inserter(out);

  header(out, "paydist_messages_in_total", "counter", "Input messages by topic and result.");
  for (const auto& [topic, counts] : m.messages_in)
    for (std::size_t i = 0; i < counts.size(); ++i)
      fmt::format_to(to, "paydist_messages_in_total{{topic=\"{}\",result=\"{}\"}} {}\n", topic, kOutcomeNames[i], counts[i]);

  header(out, "paydist_outputs_total", "counter", "Outputs acknowledged by the broker, by topic.");
  for (const auto& [topic, count] : m.outputs_delivered) fmt::format_to(to, "paydist_outputs_total{{topic=\"{}\"}} {}\n", topic, count);
  header(out, "paydist_outputs_already_published_total", "counter",
         "Outputs not published again: their partition held them already, from the partition's previous owner.");
  fmt::format_to(to, "paydist_outputs_already_published_total {}\n", m.outputs_already_published);

  header(out, "paydist_restored_rows_total", "counter",
         "State rows imported from the state changelog, by input partition ([kafka] changelog).");
  for (const auto& [partition, rows] : m.restored_rows)
    fmt::format_to(to, "paydist_restored_rows_total{{partition=\"{}\"}} {}\n", partition, rows);
  header(out, "paydist_partitions_restored_total", "counter",
         "Input partitions rebuilt from the state changelog when assigned with no state here.");
  fmt::format_to(to, "paydist_partitions_restored_total {}\n", m.partitions_restored);
  header(out, "paydist_restore_rows_left_out_total", "counter",
         "Changelog rows a restore did not import: the start of a commit whose writer stopped before its end.");
  fmt::format_to(to, "paydist_restore_rows_left_out_total {}\n", m.restore_rows_left_out);
  header(out, "paydist_rows_written_back_total", "counter",
         "Changelog rows written back after a commit left unfinished there, as the restored state holds them.");
  fmt::format_to(to, "paydist_rows_written_back_total {}\n", m.rows_written_back);
  header(out, "paydist_standby_rows_total", "counter",
         "Changelog rows imported into warm copies of other members' partitions ([kafka] standby_replicas), by "
         "input partition.");
  for (const auto& [partition, rows] : m.standby_rows)
    fmt::format_to(to, "paydist_standby_rows_total{{partition=\"{}\"}} {}\n", partition, rows);

  header(out, "paydist_consumer_lag", "gauge", "Messages of an input partition not yet applied.");
  for (const Gauges::Partition& p : g.partitions)
    if (p.lag) fmt::format_to(to, "paydist_consumer_lag{{topic=\"{}\",partition=\"{}\"}} {}\n", p.topic, p.partition, *p.lag);

  header(out, "paydist_consumer_position", "gauge",
         "Next offset of an input partition to apply (what the state has applied through).");
  for (const Gauges::Partition& p : g.partitions)
    if (p.position)
      fmt::format_to(to, "paydist_consumer_position{{topic=\"{}\",partition=\"{}\"}} {}\n", p.topic, p.partition,
                     *p.position);

  header(out, "paydist_business_date_seconds", "gauge",
         "Business date of an input partition's timeline, as a Unix timestamp (midnight UTC).");
  for (const Gauges::Partition& p : g.partitions)
    if (p.business_date_unix)
      fmt::format_to(to, "paydist_business_date_seconds{{topic=\"{}\",partition=\"{}\"}} {}\n", p.topic, p.partition,
          *p.business_date_unix);

  histogram(out, "paydist_batch_messages", "Input messages per state transaction.", m.batch_messages);
  histogram(out, "paydist_commit_seconds", "Time to commit one state transaction (synced).", m.commit_seconds);

  header(out, "paydist_outbox_depth", "gauge", "Outputs committed but not yet acknowledged by the broker.");
  fmt::format_to(to, "paydist_outbox_depth {}\n", g.outbox_depth);
  header(out, "paydist_merge_queued", "gauge",
         "Fetched input messages waiting for the merge of input topics (extra input topics only).");
  fmt::format_to(to, "paydist_merge_queued {}\n", g.merge_queued);
  header(out, "paydist_merge_forced_total", "counter",
         "Messages merged without word from every input partition, after [kafka] merge_wait_ms.");
  fmt::format_to(to, "paydist_merge_forced_total {}\n", m.merge_forced);
  header(out, "paydist_consumption_paused", "gauge",
         "1 while consumption is paused (backpressure, or a state that cannot be committed).");
  fmt::format_to(to, "paydist_consumption_paused {}\n", g.paused ? 1 : 0);
  header(out, "paydist_ready", "gauge", "1 when /readyz would answer 200.");
  fmt::format_to(to, "paydist_ready {}\n", g.ready ? 1 : 0);
  header(out, "paydist_kafka_transient_errors_total", "counter", "Broker trouble reported by the Kafka client.");
  fmt::format_to(to, "paydist_kafka_transient_errors_total {}\n", m.transient_errors);
  return out;
}

}  // namespace paydist
