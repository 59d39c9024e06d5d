// tests/support/changelog.h: the state changelog ([kafka] changelog = true) read back from the
// broker and imported, partition by partition, into fresh states, for the tests that check it
// gives the daemon's state back (daemon_test.cpp, crash_campaign_test.cpp).
//   RestoredChangelog r = restore_changelog(bootstrap, "paydist.state-changelog", 3, dir);
//   EXPECT_EQ(rows_of(*r.stores[p], p), rows_of(daemon_state, p));
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "connectors/kafka.h"
#include "connectors/state_store.h"

namespace paydist::testing {

struct RestoredChangelog {
  std::vector<std::unique_ptr<StateStore>> stores;  // by partition: DIR/restored-P
  std::int64_t records = 0;
  std::int64_t tombstones = 0;
  std::int64_t repeated = 0;  // records whose (paydist-state, paydist-seq) came before
  std::int64_t unfinished = 0;  // rows after the last commit row of their partition
  std::string problem;        // "" or why the restore is incomplete
};

// Every record of `topic` from the start of each partition, imported in offset order.
inline RestoredChangelog restore_changelog(const std::string& bootstrap, const std::string& topic, int partitions,
                                           const std::filesystem::path& dir) {
  using namespace std::chrono_literals;
  RestoredChangelog out;
  auto reader = kafka::Reader::create({.brokers = bootstrap});
  if (!reader) return {.problem = reader.error()};
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> from;
  std::int64_t expected = 0;
  std::vector<std::unique_ptr<StateStore::Batch>> batches;
  for (int p = 0; p < partitions; ++p) {
    auto w = (*reader)->watermarks({topic, p}, 10s);
    if (!w) return {.problem = w.error()};
    if (w->low != 0) return {.problem = fmt::format("the broker dropped records of {}/{}", topic, p)};
    expected += w->high;
    from.push_back({{topic, p}, 0});
    auto store = StateStore::open(dir / fmt::format("restored-{}", p), StoreOptions{});
    if (!store) return {.problem = store.error()};
    out.stores.push_back(std::move(*store));
    batches.push_back(out.stores.back()->begin(0));
  }
  if (!(*reader)->assign(from)) return {.problem = "cannot assign " + topic};
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<std::int64_t> open_rows(static_cast<std::size_t>(partitions), 0);
  for (auto deadline = std::chrono::steady_clock::now() + 120s;
       out.records < expected && std::chrono::steady_clock::now() < deadline;) {
    auto polled = (*reader)->poll(100ms);
    if (!polled) return {.problem = polled.error()};
    if (!*polled) continue;
    const kafka::ConsumedMessage& m = **polled;
    ++out.records;
    out.tombstones += m.null_value ? 1 : 0;
    std::string state, seq;
    for (const kafka::Header& h : m.headers) {
      if (h.name == "paydist-state") state = h.value;
      if (h.name == "paydist-seq") seq = h.value;
    }
    if (!seen.insert({state, seq}).second) ++out.repeated;
    if (!m.key) return {.problem = fmt::format("{}/{} offset {}: no key", topic, m.partition, m.offset)};
    auto row = changelog_row(*m.key, m.null_value ? std::nullopt : std::optional<std::string_view>{m.value});
    if (!row) return {.problem = row.error()};
    if (static_cast<std::int32_t>(row->first) != m.partition)
      return {.problem = fmt::format("{}/{} offset {}: a row of partition {}", topic, m.partition, m.offset, row->first)};
    const auto p = static_cast<std::size_t>(m.partition);
    if (!row->second.value && row->second.table != RowTable::history) {
      // A write-back's tombstone (daemon/service.cpp write_back): deleted as a restore does.
      if (Status s = batches[p]->commit(Durability::buffered); !s) return {.problem = s.error()};
      if (Status s = out.stores[p]->delete_rows(row->first, {row->second}); !s) return {.problem = s.error()};
      batches[p] = out.stores[p]->begin(0);
    } else if (Status s = batches[p]->import_row(row->first, row->second); !s) {
      return {.problem = s.error()};
    }
    std::int64_t& open = open_rows[static_cast<std::size_t>(m.partition)];
    open = row->second.table == RowTable::commit ? 0 : open + 1;
  }
  for (const std::int64_t open : open_rows) out.unfinished += open;
  if (out.records != expected) out.problem = fmt::format("read {} of {} records of {}", out.records, expected, topic);
  for (auto& batch : batches)
    if (Status s = batch->commit(Durability::buffered); !s && out.problem.empty()) out.problem = s.error();
  return out;
}

// Per partition of the changelog `topic`: how many outputs of that input partition its last
// whole commit (the last commit row) counts, from the partition's output count row before it
// (RowTable::output_seq, the next partition seq). -1 when a partition cannot be read.
inline std::vector<std::int64_t> changelog_output_counts(const std::string& bootstrap, const std::string& topic,
                                                         int partitions) {
  using namespace std::chrono_literals;
  std::vector<std::int64_t> counts(static_cast<std::size_t>(partitions), -1);
  auto reader = kafka::Reader::create({.brokers = bootstrap});
  if (!reader) return counts;
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> from;
  std::int64_t expected = 0;
  for (int p = 0; p < partitions; ++p) {
    auto w = (*reader)->watermarks({topic, p}, 10s);
    if (!w) return counts;
    expected += w->high - w->low;
    from.push_back({{topic, p}, 0});
    counts[static_cast<std::size_t>(p)] = 0;
  }
  if (!(*reader)->assign(from)) return std::vector<std::int64_t>(static_cast<std::size_t>(partitions), -1);
  std::vector<std::uint64_t> open_next(static_cast<std::size_t>(partitions), 1);
  std::int64_t read = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 60s; read < expected && std::chrono::steady_clock::now() < deadline;) {
    auto polled = (*reader)->poll(100ms);
    if (!polled || !*polled) continue;
    const kafka::ConsumedMessage& m = **polled;
    ++read;
    if (!m.key) continue;
    auto row = changelog_row(*m.key, m.null_value ? std::nullopt : std::optional<std::string_view>{m.value});
    if (!row) continue;
    const auto p = static_cast<std::size_t>(m.partition);
    if (row->second.table == RowTable::output_seq && row->second.value && row->second.value->size() == 8) {
      std::uint64_t next = 0;
      for (unsigned char c : *row->second.value) next = next << 8 | c;
      open_next[p] = next;
    }
    if (row->second.table == RowTable::commit) counts[p] = static_cast<std::int64_t>(open_next[p]) - 1;
  }
  if (read < expected) return std::vector<std::int64_t>(static_cast<std::size_t>(partitions), -1);
  return counts;
}

// A partition's state as rows (StateStore::for_each_row), to compare two states by.
inline std::vector<StateRow> rows_of(StateStore& store, int partition) {
  std::vector<StateRow> rows;
  store.for_each_row(static_cast<TimelineId>(partition), [&](const StateRow& r) { rows.push_back(r); });
  return rows;
}

}  // namespace paydist::testing
