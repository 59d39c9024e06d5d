// connectors/file_replay.h: replays JSONL input files into a StateStore on timeline 0 and
// appends the outputs to OUT/{activities,distributions,rejects}.jsonl (contract 5 and 6,
// "Outputs and files"). Moves bytes and keeps file positions; decides no business rule.
//   FileReplay replay{*store, rules, {.out_dir = "out"}};
//   Status s = replay.open();  then  replay.replay_file("events.jsonl");
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/state_store.h"
#include "core/result.h"
#include "core/rules.h"

namespace paydist {

// What one run did so far. lines = blank + accepted + rejected + duplicates: the physical
// lines read in this run, not counting lines an earlier run had already consumed.
struct ReplaySummary {
  std::uint64_t files = 0;
  std::uint64_t lines = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t duplicates = 0;  // redeliveries: silent no-ops
  std::uint64_t blank = 0;
  std::uint64_t lines_already_consumed = 0;  // skipped thanks to a stored file position
  std::uint64_t outputs_written = 0;         // lines appended to the three output files
  double seconds = 0;
};

// Where a batch stands; test hooks use it to simulate a crash at that instant.
enum class ReplayStage : std::uint8_t {
  batch_committed,   // state, file position and outbox are in LMDB; files not yet written
  outputs_written,   // output files appended (not yet fsynced), outbox not acknowledged
  outputs_synced,    // output files fsynced, outbox not acknowledged
};

enum class NoticeLevel : std::uint8_t { info, warning };

struct ReplayOptions {
  std::filesystem::path out_dir;
  // A batch (one LMDB write transaction) ends after this many lines or this much time,
  // whichever comes first, and at the end of each file. A commit rewrites every LMDB page
  // the batch touched, and with accounts spread over the whole database that is most of
  // it: larger batches amortize that (bench/results/replay-*.txt). Memory grows with the
  // batch (its changed accounts, its outputs and LMDB's dirty pages, which LMDB keeps for
  // reuse: RssAnon 467 MiB at 1M lines over 100,000 accounts, 279-330 MiB with 50,000).
  // 100,000 since 2026-12-06: 1M lines over 100,000 accounts, back to back on a quiet
  // machine, gave 113,646 / 111,927 / 91,962 lines/s against 90,661 / 97,538 / 89,173 with
  // 50,000 (README, Performance).
  // The time bound only caps the work a crash makes replay read again: it is long, because
  // a short one collapses on a busy machine (slower lines -> smaller batches -> more pages
  // rewritten per line -> slower still: 500 ms gave 8,100 lines/s and 24.8 GB written where
  // no time bound gave 16,175 lines/s and 4.1 GB, same 1M lines, same loaded machine).
  std::size_t batch_lines_max = 100'000;
  // The batch also ends once committing it would rewrite about this many 4 KiB pages of the
  // state (StateStore::Batch::estimated_dirty_pages): LMDB holds a commit's dirty pages in
  // its heap, and with a large state each changed account is a page of its own, so without
  // this bound memory grows with the state up to batch_lines_max pages per database.
  std::size_t batch_pages_max = 32'768;  // 128 MiB
  std::uint32_t batch_interval_ms = 10'000;
  // Outbox entries read back and written per acknowledgement: bounds memory while flushing.
  std::size_t flush_entries_max = 50'000;
  // Called every few thousand lines and after each commit (the CLI throttles its display).
  std::function<void(const ReplaySummary&)> on_progress;
  // Operator notices, one line each: lines skipped as already consumed (info); a rewritten
  // file, output recovered after a crash (warning).
  std::function<void(NoticeLevel, std::string_view)> on_notice;
  // Test hook: called at each stage of each batch; a test throws from it to "crash".
  std::function<void(ReplayStage)> on_stage_for_test;
};

class FileReplay {
 public:
  FileReplay(StateStore& store, const Rules& rules, ReplayOptions options);
  ~FileReplay();
  FileReplay(const FileReplay&) = delete;
  FileReplay& operator=(const FileReplay&) = delete;

  // Creates OUT and the output files if needed and finishes the output of a run that
  // crashed between a commit and its acknowledgement. Call once, before replay_file().
  Status open();

  // Replays one file from where the state's file position for it stopped. `path` is used
  // as given in rejects' `source` (PATH:LINE). An Error means the run failed (I/O, state):
  // everything committed before it stays consistent, nothing after it was stored.
  Status replay_file(const std::string& path);

  const ReplaySummary& summary() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace paydist
