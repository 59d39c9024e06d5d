// tests/integration/fired_batches_test.cpp: state format 8 keeps what a business-date advance
// did to an account in the fired database until a message stores the account again
// (connectors/state_layout.h). Where a change lands depends on how the lines fall into
// batches, so a generated stream (every message type, every deadline kind) is replayed in
// process with batches of 1, 3 and 50 lines and in one batch: the outputs must be the same
// bytes, the state the same rows (StateStore::for_each_row: records and history wherever
// they are kept), every state clean by verify, and the small batches must have left
// accounts in the fired database (else this test would cover nothing).
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/file_replay.h"
#include "connectors/state_store.h"
#include "connectors/state_verify.h"
#include "core/rules.h"
#include "daemon/generate.h"
#include "tests/support/process.h"
#include "tests/support/raw_lmdb.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class FiredBatches : public ::testing::Test {
 protected:
  void SetUp() override {
    StringSink sink;
    GenerateSummary summary;
    ASSERT_TRUE(generate_events(GenerateOptions{.seed = 11, .accounts = 400, .days = 120, .bad_permille = 5}, sink,
                                summary));
    events_ = root_ / "events.jsonl";
    std::ofstream{events_, std::ios::binary} << sink.text;
    ASSERT_GT(summary.lines, 2'000u);
  }
  struct Run {
    std::string activities, distributions, rejects;
    std::vector<StateRow> rows;
    std::size_t fired_entries = 0;
    std::uint64_t violations = 0;
    std::string first_violation;
  };

  // Replays the stream into a new state with `batch_lines` per batch (0: the default, one
  // batch for this stream) and reads back what it made.
  Run replay(const std::string& name, std::size_t batch_lines, std::uint32_t history_entries = 64) {
    Run run;
    const fs::path dir = root_ / name;
    {
      auto store = StateStore::open(dir / "state", StoreOptions{.initial_map_bytes = std::size_t{64} << 20,
                                                                .history_entries_per_account = history_entries});
      EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error());
      if (!store) return run;
      ReplayOptions options{.out_dir = dir / "out"};
      if (batch_lines > 0) options.batch_lines_max = batch_lines;
      FileReplay replay{**store, rules_, options};
      Status s = replay.open();
      if (s) s = replay.replay_file(events_.string());
      EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    }
    run.activities = read_file(dir / "out" / "activities.jsonl");
    run.distributions = read_file(dir / "out" / "distributions.jsonl");
    run.rejects = read_file(dir / "out" / "rejects.jsonl");
    run.fired_entries = testing::raw_lmdb_count(dir / "state", "fired");
    auto store = StateStore::open(dir / "state", StoreOptions{.access = StoreOptions::Access::read_only});
    EXPECT_TRUE(store.ok());
    if (!store) return run;
    (*store)->for_each_row(0, [&](const StateRow& row) { run.rows.push_back(row); });
    const VerifyReport report = verify_state(**store, rules_, {});
    run.violations = report.violations_total;
    if (!report.violations.empty()) run.first_violation = report.violations.front();
    return run;
  }

  testing::TempDir tmp_{"paydist-fired"};
  const fs::path root_ = tmp_.path();
  fs::path events_;
  Rules rules_;
};

TEST_F(FiredBatches, AnyBatchingGivesTheSameOutputsAndTheSameState) {
  const Run whole = replay("whole", 0);
  ASSERT_FALSE(whole.activities.empty());
  EXPECT_EQ(whole.violations, 0u) << whole.first_violation;
  for (const std::size_t lines : {1, 3, 50}) {
    SCOPED_TRACE(::testing::Message() << lines << " lines a batch");
    const Run run = replay("lines-" + std::to_string(lines), lines);
    EXPECT_EQ(run.violations, 0u) << run.first_violation;
    EXPECT_EQ(run.activities, whole.activities);
    EXPECT_EQ(run.distributions, whole.distributions);
    EXPECT_EQ(run.rejects, whole.rejects);
    ASSERT_EQ(run.rows.size(), whole.rows.size());
    for (std::size_t i = 0; i < run.rows.size(); ++i) {
      ASSERT_EQ(run.rows[i], whole.rows[i]) << "row " << i << " key \"" << run.rows[i].key << "\"";
    }
    if (lines < 50) {
      EXPECT_GT(run.fired_entries, 0u) << "no account was left in the fired database";
    }
  }
}

// With a retention of 1 entry an account, the older entries go from wherever they are
// kept: the fired database's and the accounts database's alike.
TEST_F(FiredBatches, RetentionKeepsTheSameEntriesWhateverTheBatching) {
  const Run whole = replay("whole", 0, 1);
  const Run small = replay("lines-1", 1, 1);
  EXPECT_EQ(whole.violations, 0u) << whole.first_violation;
  EXPECT_EQ(small.violations, 0u) << small.first_violation;
  EXPECT_GT(small.fired_entries, 0u);
  EXPECT_EQ(small.activities, whole.activities);
  ASSERT_EQ(small.rows.size(), whole.rows.size());
  for (std::size_t i = 0; i < small.rows.size(); ++i) {
    ASSERT_EQ(small.rows[i], whole.rows[i]) << "row " << i << " key \"" << small.rows[i].key << "\"";
  }
}

}  // namespace
}  // namespace paydist
