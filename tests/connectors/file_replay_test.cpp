// tests/connectors/file_replay_test.cpp: the file connector through FileReplay (not the
// binary): blank lines, PATH:LINE sources, file positions (same, grown, rewritten files) and
// the outbox recovery after a crash between a commit and its acknowledgement.
#include "connectors/file_replay.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "connectors/state_store.h"
#include "core/rules.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;

std::string business_date(const std::string& event_id, const std::string& date) {
  return fmt::format(R"({{"type":"business_date","event_id":"{}","date":"{}"}})", event_id, date);
}

std::string assess(const std::string& event_id, const std::string& account, const std::string& obligation) {
  return fmt::format(R"({{"type":"obligation_assessed","event_id":"{}","account_id":"{}","obligation_id":"{}",)"
                     R"("due_date":"2026-03-01","amounts":{{"tax":"100.00","penalty":"10.00"}}}})",
                     event_id, account, obligation);
}

std::string pay(const std::string& event_id, const std::string& account, const std::string& payment,
                const std::string& amount) {
  return fmt::format(R"({{"type":"payment","event_id":"{}","account_id":"{}","payment_id":"{}","amount":"{}",)"
                     R"("received_date":"2026-01-02","method":"eft"}})",
                     event_id, account, payment, amount);
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
  ASSERT_TRUE(out.good());
}

void append_file(const fs::path& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::app};
  out << text;
  ASSERT_TRUE(out.good());
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in{read_file(path)};
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string lines_text(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// A stand-in for a crash: thrown from the stage hook, it unwinds out of FileReplay.
struct SimulatedCrash : std::runtime_error {
  SimulatedCrash() : std::runtime_error("simulated crash") {}
};

class FileReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "paydist-file-replay-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path state() const { return dir_ / "state"; }
  fs::path out() const { return dir_ / "out"; }
  fs::path input(const std::string& name) const { return dir_ / name; }
  std::vector<std::string> activities() const { return read_lines(out() / "activities.jsonl"); }
  std::vector<std::string> distributions() const { return read_lines(out() / "distributions.jsonl"); }
  std::vector<std::string> rejects() const { return read_lines(out() / "rejects.jsonl"); }

  // One run of `paydist replay` over `files`, with the store opened and closed around it.
  ReplaySummary replay(const std::vector<std::string>& files, ReplayOptions options = {},
                       const fs::path& out_dir = {}, const StoreOptions& store_options = {}) {
    auto store = StateStore::open(state(), store_options);
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error());
    if (!store) return {};
    options.out_dir = out_dir.empty() ? out() : out_dir;
    FileReplay replay{**store, rules_, std::move(options)};
    Status opened = replay.open();
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error());
    for (const std::string& file : files) {
      Status s = replay.replay_file(file);
      EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    }
    return replay.summary();
  }

  fs::path dir_;
  Rules rules_;
};

TEST_F(FileReplayTest, SkipsBlankLinesAndCountsThemInLineNumbers) {
  const fs::path events = input("events.jsonl");
  write_file(events, "\n  \t\r\n" + assess("E1", "A1", "O1") + "\n\r\nnot json\n");
  const ReplaySummary s = replay({events.string()});
  EXPECT_EQ(s.lines, 5u);
  EXPECT_EQ(s.blank, 3u);
  EXPECT_EQ(s.accepted, 1u);
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(s.duplicates, 0u);
  const std::vector<std::string> r = rejects();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find(fmt::format(R"("source":"{}:5")", events.string())), std::string::npos) << r[0];
}

TEST_F(FileReplayTest, RejectSourceIsThePathAsGiven) {
  write_file(input("events.jsonl"), assess("E1", "A1", "O1") + "\n" + R"({"type":"payment","event_id":"E2"})" + "\n");
  const std::string given = (dir_ / "." / "events.jsonl").string();
  replay({given});
  const std::vector<std::string> r = rejects();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find(fmt::format(R"("source":"{}:2")", given)), std::string::npos) << r[0];
}

TEST_F(FileReplayTest, ALastLineWithoutNewlineIsALine) {
  const fs::path events = input("events.jsonl");
  write_file(events, assess("E1", "A1", "O1") + "\nnot json");
  const ReplaySummary s = replay({events.string()});
  EXPECT_EQ(s.lines, 2u);
  EXPECT_EQ(s.rejected, 1u);
}

TEST_F(FileReplayTest, ReplayingTheSameFileAgainAddsNothing) {
  const fs::path events = input("events.jsonl");
  write_file(events, business_date("B1", "2026-01-01") + "\n" + assess("E1", "A1", "O1") + "\n" +
                         pay("E2", "A1", "P1", "50.00") + "\n" + pay("E3", "NOBODY", "P2", "5.00") + "\nbad\n\n");
  const ReplaySummary first = replay({events.string()});
  EXPECT_EQ(first.accepted, 4u);
  EXPECT_EQ(first.rejected, 1u);
  EXPECT_EQ(first.blank, 1u);
  const std::string acts = read_file(out() / "activities.jsonl");
  const std::string dists = read_file(out() / "distributions.jsonl");
  const std::string rejs = read_file(out() / "rejects.jsonl");
  EXPECT_EQ(distributions().size(), 2u);
  EXPECT_EQ(activities().size(), 1u);  // UNMATCHED_PAYMENT

  const ReplaySummary second = replay({events.string()});
  EXPECT_EQ(second.lines, 0u);
  EXPECT_EQ(second.lines_already_consumed, 6u);
  EXPECT_EQ(read_file(out() / "activities.jsonl"), acts);
  EXPECT_EQ(read_file(out() / "distributions.jsonl"), dists);
  EXPECT_EQ(read_file(out() / "rejects.jsonl"), rejs);
}

TEST_F(FileReplayTest, TheSameFileTwiceInOneRunIsReadOnce) {
  const fs::path events = input("events.jsonl");
  write_file(events, assess("E1", "A1", "O1") + "\nbad\n");
  const ReplaySummary s = replay({events.string(), events.string()});
  EXPECT_EQ(s.lines, 2u);
  EXPECT_EQ(s.lines_already_consumed, 2u);
  EXPECT_EQ(rejects().size(), 1u);
}

TEST_F(FileReplayTest, AGrownFileGoesOnWhereItStopped) {
  const fs::path events = input("events.jsonl");
  write_file(events, assess("E1", "A1", "O1") + "\nbad one\n");
  replay({events.string()});
  append_file(events, "\n" + pay("E2", "A1", "P1", "20.00") + "\nbad two\n");
  const ReplaySummary s = replay({events.string()});
  EXPECT_EQ(s.lines, 3u);
  EXPECT_EQ(s.lines_already_consumed, 2u);
  EXPECT_EQ(s.accepted, 1u);
  EXPECT_EQ(s.rejected, 1u);
  const std::vector<std::string> r = rejects();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NE(r[0].find(fmt::format(R"("source":"{}:2")", events.string())), std::string::npos) << r[0];
  EXPECT_NE(r[1].find(fmt::format(R"("source":"{}:5")", events.string())), std::string::npos) << r[1];
  EXPECT_EQ(distributions().size(), 1u);
}

TEST_F(FileReplayTest, AGrownFileWhoseLastLineHadNoNewlineGoesOnAfterIt) {
  const fs::path events = input("events.jsonl");
  write_file(events, assess("E1", "A1", "O1"));
  replay({events.string()});
  append_file(events, "\nbad\n");
  const ReplaySummary s = replay({events.string()});
  EXPECT_EQ(s.lines, 1u);
  EXPECT_EQ(s.rejected, 1u);
  const std::vector<std::string> r = rejects();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find(fmt::format(R"("source":"{}:2")", events.string())), std::string::npos) << r[0];
}

TEST_F(FileReplayTest, ARewrittenFileIsReadFromLineOne) {
  const fs::path events = input("events.jsonl");
  write_file(events, assess("E1", "A1", "O1") + "\n" + pay("E2", "A1", "P1", "20.00") + "\n");
  replay({events.string()});
  ASSERT_EQ(distributions().size(), 1u);
  // Same length or longer, different first bytes: accepted events are redeliveries.
  write_file(events, "bad\n" + assess("E1", "A1", "O1") + "\n" + pay("E2", "A1", "P1", "20.00") + "\n" +
                         pay("E3", "A1", "P2", "30.00") + "\n");
  const ReplaySummary s = replay({events.string()});
  EXPECT_EQ(s.lines, 4u);
  EXPECT_EQ(s.lines_already_consumed, 0u);
  EXPECT_EQ(s.duplicates, 2u);
  EXPECT_EQ(s.accepted, 1u);
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(distributions().size(), 2u);
  const std::vector<std::string> r = rejects();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find(fmt::format(R"("source":"{}:1")", events.string())), std::string::npos) << r[0];
}

TEST_F(FileReplayTest, AShorterFileIsReadFromLineOne) {
  const fs::path events = input("events.jsonl");
  write_file(events, assess("E1", "A1", "O1") + "\n" + pay("E2", "A1", "P1", "20.00") + "\n");
  replay({events.string()});
  write_file(events, "bad\n");
  const ReplaySummary s = replay({events.string()});
  EXPECT_EQ(s.lines, 1u);
  EXPECT_EQ(s.rejected, 1u);
  const std::vector<std::string> r = rejects();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find(fmt::format(R"("source":"{}:1")", events.string())), std::string::npos) << r[0];
}

TEST_F(FileReplayTest, AnOversizedLineIsRejectedAndTheNextLineIsRead) {
  rules_.max_message_bytes = 1000;
  const fs::path events = input("events.jsonl");
  write_file(events, std::string(5000, 'x') + "\n" + assess("E1", "A1", "O1") + "\n");
  const ReplaySummary s = replay({events.string()});
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(s.accepted, 1u);
}

// Input that spreads over several batches of two lines, with outputs on every topic.
std::string crash_test_input() {
  std::string text = business_date("B1", "2026-01-01") + "\n";
  for (int i = 0; i < 6; ++i) {
    text += assess(fmt::format("EA{}", i), fmt::format("A{}", i), "O1") + "\n";
    text += pay(fmt::format("EP{}", i), fmt::format("A{}", i), "P1", "20.00") + "\n";
    text += fmt::format("bad line {}\n", i);
    text += pay(fmt::format("EU{}", i), fmt::format("U{}", i), "P1", "1.00") + "\n";
  }
  return text;
}

ReplayOptions small_batches() {
  ReplayOptions options;
  options.batch_lines_max = 2;
  options.batch_interval_ms = 3'600'000;
  return options;
}

// Each committed batch's outputs go to the files straight from memory and are acknowledged:
// after the run the outbox is empty and every output is in its file, once, in order.
TEST_F(FileReplayTest, EveryBatchsOutputsReachTheFilesAndLeaveTheOutboxEmpty) {
  const fs::path events = input("events.jsonl");
  write_file(events, crash_test_input());
  const ReplaySummary small = replay({events.string()}, small_batches());
  const std::string acts = read_file(out() / "activities.jsonl");
  const std::string dists = read_file(out() / "distributions.jsonl");
  const std::string rejs = read_file(out() / "rejects.jsonl");
  EXPECT_EQ(small.outputs_written, activities().size() + distributions().size() + rejects().size());
  EXPECT_FALSE(rejects().empty());
  {
    auto store = StateStore::open(state(), StoreOptions{});
    ASSERT_TRUE(store.ok());
    EXPECT_TRUE((*store)->read_outbox(1).empty());
  }
  // One batch for the whole file writes the same bytes.
  const fs::path saved = dir_;
  dir_ = dir_ / "one-batch";
  fs::create_directories(dir_);
  const ReplaySummary whole = replay({events.string()});
  EXPECT_EQ(whole.outputs_written, small.outputs_written);
  EXPECT_EQ(read_file(out() / "activities.jsonl"), acts);
  EXPECT_EQ(read_file(out() / "distributions.jsonl"), dists);
  EXPECT_EQ(read_file(out() / "rejects.jsonl"), rejs);
  dir_ = saved;
}

// A batch that commits in the background and finds the map full grows it, and a map growth
// needs every read transaction of the process ended: the next batch, which reads as it
// applies, must let go of its own before it waits for that commit (it did not, and replay
// hung for good: seen on 2M lines with the 1 GiB default map). A 64 KiB map makes nearly
// every commit grow it; the outputs must be those of a replay that never grew it.
TEST_F(FileReplayTest, AMapGrowthInABackgroundCommitDoesNotWaitForeverForTheNextBatch) {
  std::string text = business_date("B1", "2026-01-01") + "\n";
  for (int i = 0; i < 400; ++i) {
    text += assess(fmt::format("EA{}", i), fmt::format("A{}", i), "O1") + "\n";
    text += pay(fmt::format("EP{}", i), fmt::format("A{}", i), "P1", "20.00") + "\n";
  }
  const fs::path events = input("events.jsonl");
  write_file(events, text);
  ReplayOptions options;
  options.batch_lines_max = 40;
  options.batch_interval_ms = 3'600'000;
  std::future<ReplaySummary> grown = std::async(std::launch::async, [&] {
    return replay({events.string()}, options, dir_ / "out-grown", StoreOptions{.initial_map_bytes = 64 * 1024});
  });
  if (grown.wait_for(std::chrono::seconds{120}) != std::future_status::ready) {
    std::fputs("FileReplayTest: replay with map growth hung for 120 s (deadlock)\n", stderr);
    std::abort();  // the replay thread cannot be stopped, and the test cannot go on
  }
  const ReplaySummary s = grown.get();
  EXPECT_EQ(s.lines, 801u);
  EXPECT_EQ(s.accepted, 801u);
  const fs::path grown_state = state();
  dir_ = dir_ / "roomy";
  fs::create_directories(dir_);
  const ReplaySummary roomy = replay({events.string()});
  EXPECT_EQ(s.outputs_written, 400u);  // a distribution per payment
  EXPECT_EQ(roomy.outputs_written, s.outputs_written);
  // The state outgrew the 64 KiB map several times over: it did grow.
  EXPECT_GT(fs::file_size(grown_state / "data.mdb"), 4u * 64 * 1024);
  for (const char* name : {"activities.jsonl", "distributions.jsonl", "rejects.jsonl"})
    EXPECT_EQ(read_file(grown_state.parent_path() / "out-grown" / name), read_file(out() / name)) << name;
  dir_ = grown_state.parent_path();
}

// A batch ends at ReplayOptions::batch_pages_max (the pages its commit would rewrite) as it
// does at batch_lines_max: more batches, the same outputs and state.
TEST_F(FileReplayTest, ABatchEndsAtItsPageBoundWithTheSameOutputs) {
  std::string text = business_date("B1", "2026-01-01") + "\n";
  for (int i = 0; i < 1'000; ++i) {
    text += assess(fmt::format("EA{:04}", i), fmt::format("A{:04}", i), "O1") + "\n";
    text += pay(fmt::format("EP{:04}", i), fmt::format("A{:04}", i), "P1", "20.00") + "\n";
  }
  const fs::path events = input("events.jsonl");
  write_file(events, text);
  auto commits_of = [&](std::size_t pages_max, const fs::path& out_dir) {
    ReplayOptions options;
    options.batch_pages_max = pages_max;
    options.batch_interval_ms = 3'600'000;
    int commits = 0;
    options.on_stage_for_test = [&](ReplayStage stage) { commits += stage == ReplayStage::batch_committed ? 1 : 0; };
    const ReplaySummary s = replay({events.string()}, options, out_dir);
    EXPECT_EQ(s.accepted, 2'001u);
    return commits;
  };
  const fs::path roomy_state = state();
  const int roomy = commits_of(1'000'000, dir_ / "out-roomy");
  dir_ = dir_ / "bounded";
  fs::create_directories(dir_);
  const int bounded = commits_of(8, dir_ / "out-bounded");
  EXPECT_EQ(roomy, 1);
  // 2,000 distributions of ~200 bytes are ~100 pages of outbox alone: a dozen batches at least.
  EXPECT_GE(bounded, 12);
  for (const char* name : {"activities.jsonl", "distributions.jsonl", "rejects.jsonl"})
    EXPECT_EQ(read_file(dir_ / "out-bounded" / name), read_file(roomy_state.parent_path() / "out-roomy" / name)) << name;
  auto a = StateStore::open(roomy_state, {.access = StoreOptions::Access::read_only});
  auto b = StateStore::open(state(), {.access = StoreOptions::Access::read_only});
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)->count_accounts(), 1'000u);
  for (const char* id : {"A0000", "A0500", "A0999"})
    EXPECT_EQ((*a)->read_account(AccountId::trusted(id)), (*b)->read_account(AccountId::trusted(id))) << id;
  dir_ = roomy_state.parent_path();
}

// contract 6 and file_replay.cpp's crash-safety comment: a crash after a commit and before
// its acknowledgement leaves the outputs, after the next start, exactly as a run without
// a crash would have written them: no line lost, none duplicated.
class FileReplayCrashTest : public FileReplayTest, public ::testing::WithParamInterface<ReplayStage> {};

TEST_P(FileReplayCrashTest, RecoversTheOutboxWithNoLostOrDuplicatedLine) {
  const fs::path events = input("events.jsonl");
  write_file(events, crash_test_input());

  // The reference: the same input without a crash, in another state and output directory.
  const fs::path reference_out = dir_ / "reference-out";
  {
    const fs::path saved = dir_;
    dir_ = dir_ / "reference";
    fs::create_directories(dir_);
    replay({events.string()}, small_batches(), reference_out);
    dir_ = saved;
  }
  ASSERT_FALSE(read_lines(reference_out / "rejects.jsonl").empty());

  // Crash at the chosen stage of the fourth batch; at outputs_written, leave half a line too.
  int batches = 0;
  ReplayOptions crashing = small_batches();
  const ReplayStage crash_stage = GetParam();
  crashing.on_stage_for_test = [&](ReplayStage stage) {
    if (stage != crash_stage || ++batches < 4) return;
    if (stage == ReplayStage::outputs_written) append_file(out() / "distributions.jsonl", R"({"event_id":"torn)");
    throw SimulatedCrash{};
  };
  EXPECT_THROW(replay({events.string()}, crashing), SimulatedCrash);

  const ReplaySummary resumed = replay({events.string()});
  EXPECT_GT(resumed.lines_already_consumed, 0u);
  for (const char* name : {"activities.jsonl", "distributions.jsonl", "rejects.jsonl"})
    EXPECT_EQ(read_file(out() / name), read_file(reference_out / name)) << name;
}

INSTANTIATE_TEST_SUITE_P(AtEachStage, FileReplayCrashTest,
                         ::testing::Values(ReplayStage::batch_committed, ReplayStage::outputs_written,
                                           ReplayStage::outputs_synced),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case ReplayStage::batch_committed: return std::string{"BatchCommitted"};
                             case ReplayStage::outputs_written: return std::string{"OutputsWritten"};
                             case ReplayStage::outputs_synced: return std::string{"OutputsSynced"};
                           }
                           return std::string{"Unknown"};
                         });

TEST_F(FileReplayTest, ACrashBeforeTheFirstAcknowledgementOfANewOutDirIsRecoveredExactly) {
  const fs::path events = input("events.jsonl");
  write_file(events, crash_test_input());
  const fs::path reference_out = dir_ / "reference-out";
  {
    const fs::path saved = dir_;
    dir_ = dir_ / "reference";
    fs::create_directories(dir_);
    replay({events.string()}, small_batches(), reference_out);
    dir_ = saved;
  }
  // Output files that already hold someone's lines: those stay, ours follow them once.
  fs::create_directories(out());
  write_file(out() / "rejects.jsonl", "operator's own line\n");
  ReplayOptions crashing = small_batches();
  crashing.on_stage_for_test = [&](ReplayStage stage) {
    if (stage == ReplayStage::outputs_written) throw SimulatedCrash{};
  };
  EXPECT_THROW(replay({events.string()}, crashing), SimulatedCrash);
  replay({events.string()});
  EXPECT_EQ(read_file(out() / "rejects.jsonl"), "operator's own line\n" + read_file(reference_out / "rejects.jsonl"));
  EXPECT_EQ(read_file(out() / "distributions.jsonl"), read_file(reference_out / "distributions.jsonl"));
}

// style.md: a file split anywhere gives the same result (rejects differ only by source).
TEST_F(FileReplayTest, AFileSplitAnywhereGivesTheSameOutputs) {
  std::vector<std::string> lines;
  {
    std::istringstream in{crash_test_input()};
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  const fs::path whole = input("whole.jsonl");
  write_file(whole, lines_text(lines));
  replay({whole.string()});
  const std::string acts = read_file(out() / "activities.jsonl");
  const std::string dists = read_file(out() / "distributions.jsonl");
  const fs::path base = dir_;
  for (std::size_t split = 1; split < lines.size(); split += 5) {
    dir_ = base / fmt::format("split-{}", split);
    fs::create_directories(dir_);
    const std::vector<std::string> head(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(split));
    const std::vector<std::string> tail(lines.begin() + static_cast<std::ptrdiff_t>(split), lines.end());
    write_file(input("a.jsonl"), lines_text(head));
    write_file(input("b.jsonl"), lines_text(tail));
    replay({input("a.jsonl").string(), input("b.jsonl").string()});
    EXPECT_EQ(read_file(out() / "activities.jsonl"), acts) << split;
    EXPECT_EQ(read_file(out() / "distributions.jsonl"), dists) << split;
  }
  dir_ = base;
}

}  // namespace
}  // namespace paydist
