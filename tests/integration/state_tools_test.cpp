// tests/integration/state_tools_test.cpp: `paydist verify`, `backup` and `restore` as real
// processes. verify passes on a replayed generated stream and fails, exit 1, naming a damaged
// record; a backup taken while a replay is stopped in the middle of its writes, and another
// while it runs on, each restore to the state of one commit (equal to a fresh replay of the
// lines that commit had consumed), and replaying the rest on the restored copy ends where a
// replay of everything ends, outputs included.
#include <gtest/gtest.h>

#include <lmdb.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/state_store.h"
#include "tests/support/raw_lmdb.h"
#include "tests/support/process.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Finished;
using testing::read_text;
using testing::run_to_end;
using testing::split_lines;

const std::string kBinary = PAYDIST_BINARY;
constexpr auto kRunTimeout = 300s;  // Asan builds are slow
// The backup is taken once the replay of b.jsonl (about 14,000 lines, 100 a batch) has
// committed this many of its lines: in the middle of it.
constexpr std::uint64_t kLinesBeforeBackup = 2'000;

// A temporary directory of this suite's, removed at scope end.
class TempDir : public testing::TempDir {
 public:
  TempDir() : testing::TempDir("paydist-state-tools") {}
};

Finished paydist(const std::vector<std::string>& args, const fs::path& log_stem) {
  std::vector<std::string> argv{kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_to_end(argv, log_stem, kRunTimeout);
}

void write_lines(const fs::path& path, const std::vector<std::string>& lines, std::size_t from, std::size_t to) {
  std::ofstream out(path, std::ios::binary);
  for (std::size_t i = from; i < to; ++i) out << lines[i] << '\n';
}

std::unique_ptr<StateStore> open_read_only(const fs::path& dir) {
  StoreOptions options;
  options.access = StoreOptions::Access::read_only;
  Result<std::unique_ptr<StateStore>> store = StateStore::open(dir, options);
  return store ? std::move(*store) : nullptr;
}

std::map<std::string, Account> accounts_of(const fs::path& dir) {
  std::map<std::string, Account> out;
  std::unique_ptr<StateStore> store = open_read_only(dir);
  EXPECT_NE(store, nullptr) << dir;
  if (store) store->for_each_account([&](const Account& a) { out.emplace(a.id.str(), a); });
  return out;
}

// One raw LMDB write, as a disk fault or a bug would make it.
void put_raw(const fs::path& dir, const char* db, std::string_view key, std::string_view value) {
  testing::raw_lmdb_put(dir, db, key, value);
}

// A generated stream replayed into `dir`/state.
void replayed_stream(const TempDir& dir) {
  const Finished generated = paydist({"generate", "--seed", "5", "--accounts", "1500", "--days", "90", "--out",
                                      (dir / "events.jsonl").string()},
                                     dir / "generate");
  ASSERT_EQ(generated.status, 0) << generated.err;
  const Finished replayed = paydist(
      {"replay", "--state", (dir / "state").string(), "--out", (dir / "out").string(), (dir / "events.jsonl").string()},
      dir / "replay");
  ASSERT_EQ(replayed.status, 0) << replayed.err;
}

TEST(StateTools, VerifyPassesOnAReplayedGeneratedStream) {
  ASSERT_TRUE(fs::exists(kBinary)) << "paydist binary not built: " << kBinary;
  TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(replayed_stream(tmp));
  const Finished verified = paydist({"verify", "--state", (tmp / "state").string()}, tmp / "verify");
  EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
  EXPECT_EQ(verified.out, "");
  EXPECT_EQ(verified.err.rfind("verify: ok accounts=", 0), 0u) << verified.err;
  EXPECT_EQ(split_lines(verified.err).size(), 1u) << verified.err;
  EXPECT_EQ(verified.err.find("accounts=0 "), std::string::npos) << verified.err;
}

TEST(StateTools, VerifyFailsNamingADamagedRecordAndAnotherFormat) {
  TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(replayed_stream(tmp));
  const std::string state = (tmp / "state").string();
  const std::string victim = accounts_of(state).begin()->first;
  ASSERT_NO_FATAL_FAILURE(put_raw(state, "accounts", victim, std::string{"\x02", 1} + "A truncated"));
  const Finished damaged = paydist({"verify", "--state", state}, tmp / "damaged");
  EXPECT_EQ(damaged.status, 1) << damaged.err;
  const std::vector<std::string> lines = split_lines(damaged.out);
  ASSERT_EQ(lines.size(), 1u) << damaged.out;
  EXPECT_EQ(lines[0].rfind("database 'accounts' key \"" + victim + "\": does not decode: account record: ", 0), 0u)
      << lines[0];
  EXPECT_EQ(damaged.err.rfind("verify: FAILED violations=1 listed=1 ", 0), 0u) << damaged.err;

  ASSERT_NO_FATAL_FAILURE(put_raw(state, "meta", "format_version", std::string{"\0\0\0\x09", 4}));
  const Finished newer = paydist({"verify", "--state", state}, tmp / "newer");
  EXPECT_EQ(newer.status, 1) << newer.err;
  EXPECT_NE(newer.err.find("was written by format version 9; this paydist reads up to 8"), std::string::npos) << newer.err;
}

TEST(StateTools, UsageErrorsExitTwoAndARestoreNeverWritesIntoAState) {
  TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(replayed_stream(tmp));
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"verify"}, std::vector<std::string>{"backup", "--state", (tmp / "state").string()},
        std::vector<std::string>{"verify", "--state", (tmp / "state").string(), "--config", (tmp / "none.toml").string()},
        std::vector<std::string>{"restore", "--state", (tmp / "new").string(), "--from", (tmp / "none.mdb").string()}}) {
    const Finished run = paydist(args, tmp / "usage");
    EXPECT_EQ(run.status, 2) << args.front() << ": " << run.err;
  }
  const Finished backup = paydist({"backup", "--state", (tmp / "state").string(), "--to", (tmp / "b.mdb").string()},
                                  tmp / "backup");
  ASSERT_EQ(backup.status, 0) << backup.err;
  const Finished over = paydist({"restore", "--from", (tmp / "b.mdb").string(), "--state", (tmp / "state").string()},
                                tmp / "over");
  EXPECT_EQ(over.status, 1);
  EXPECT_NE(over.err.find("is not empty"), std::string::npos) << over.err;
  const Finished still = paydist({"verify", "--state", (tmp / "state").string()}, tmp / "still");
  EXPECT_EQ(still.status, 0) << still.err;
}

// One generated stream cut in two files, A and B. The source state replays A, then B with small
// batches; the backup is taken while that replay is stopped (SIGSTOP) somewhere in its writes.
class BackupWhileWriting : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir;
    const TempDir& tmp = *tmp_;
    const Finished generated = paydist({"generate", "--seed", "9", "--accounts", "3000", "--days", "90", "--out",
                                        (tmp / "all.jsonl").string()},
                                       tmp / "generate");
    ASSERT_EQ(generated.status, 0) << generated.err;
    lines_ = split_lines(read_text(tmp / "all.jsonl"));
    ASSERT_GT(lines_.size(), 15'000u);
    cut_ = lines_.size() / 3;
    write_lines(tmp / "a.jsonl", lines_, 0, cut_);
    write_lines(tmp / "b.jsonl", lines_, cut_, lines_.size());
    const std::string source = (tmp / "source").string();
    const Finished a = paydist({"replay", "--state", source, "--out", (tmp / "out-source").string(),
                                (tmp / "a.jsonl").string()},
                               tmp / "replay-a");
    ASSERT_EQ(a.status, 0) << a.err;

    testing::Child writer = testing::Child::spawn(
        {kBinary, "replay", "--batch-lines", "100", "--state", source, "--out", (tmp / "out-source").string(),
         (tmp / "b.jsonl").string()},
        tmp / "replay-b");
    const std::string b_path = fs::canonical(tmp / "b.jsonl").string();
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {  // until a few of B's batches are committed
      std::unique_ptr<StateStore> store = open_read_only(source);
      const std::optional<FilePosition> position = store ? store->read_file_position(b_path) : std::nullopt;
      if (position && position->lines_consumed >= kLinesBeforeBackup) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "replay of b.jsonl committed nothing";
      std::this_thread::sleep_for(2ms);
    }
    writer.signal(SIGSTOP);
    verify_while_stopped_ = paydist({"verify", "--state", source}, tmp / "verify-source");
    backup_ = paydist({"backup", "--state", source, "--to", (tmp / "backup.mdb").string()}, tmp / "backup");
    writer.signal(SIGCONT);
    // And one while it runs on.
    running_backup_ = paydist({"backup", "--state", source, "--to", (tmp / "backup-running.mdb").string()},
                              tmp / "backup-running");
    writer_ran_past_backup_ = !writer.wait_for(0ms).has_value();
    const std::optional<int> status = writer.wait_for(kRunTimeout);
    ASSERT_EQ(status, 0) << writer.err();
    restore_ = paydist({"restore", "--from", (tmp / "backup.mdb").string(), "--state", (tmp / "restored").string()},
                       tmp / "restore");
    ASSERT_EQ(restore_.status, 0) << restore_.err;
    const std::optional<FilePosition> position = open_read_only(tmp / "restored")->read_file_position(b_path);
    ASSERT_TRUE(position.has_value());
    b_lines_at_backup_ = position->lines_consumed;
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }

  static TempDir* tmp_;
  static std::vector<std::string> lines_;
  static std::size_t cut_;
  static Finished verify_while_stopped_, backup_, restore_, running_backup_;
  static std::uint64_t b_lines_at_backup_;
  static bool writer_ran_past_backup_;
};

TempDir* BackupWhileWriting::tmp_ = nullptr;
std::vector<std::string> BackupWhileWriting::lines_;
std::size_t BackupWhileWriting::cut_ = 0;
Finished BackupWhileWriting::verify_while_stopped_, BackupWhileWriting::backup_, BackupWhileWriting::restore_,
    BackupWhileWriting::running_backup_;
std::uint64_t BackupWhileWriting::b_lines_at_backup_ = 0;
bool BackupWhileWriting::writer_ran_past_backup_ = false;

TEST_F(BackupWhileWriting, TheCopyVerifiesAndEqualsAFreshReplayOfWhatItsCommitHadRead) {
  ASSERT_NE(tmp_, nullptr);
  const TempDir& tmp = *tmp_;
  EXPECT_EQ(verify_while_stopped_.status, 0) << verify_while_stopped_.out << verify_while_stopped_.err;
  EXPECT_EQ(backup_.status, 0) << backup_.err;
  EXPECT_NE(restore_.err.find("restore: verify: ok "), std::string::npos) << restore_.err;
  // Taken in the middle of b.jsonl: some of it, not all.
  std::printf("[ backup ] taken after %llu of %zu lines of b.jsonl\n", static_cast<unsigned long long>(b_lines_at_backup_),
              lines_.size() - cut_);
  EXPECT_GT(b_lines_at_backup_, 0u);
  EXPECT_LT(b_lines_at_backup_, lines_.size() - cut_);

  // The same lines replayed afresh (B's part in a file of its own).
  write_lines(tmp / "b-part.jsonl", lines_, cut_, cut_ + b_lines_at_backup_);
  const Finished reference = paydist({"replay", "--state", (tmp / "reference").string(), "--out",
                                      (tmp / "out-reference").string(), (tmp / "a.jsonl").string(),
                                      (tmp / "b-part.jsonl").string()},
                                     tmp / "replay-reference");
  ASSERT_EQ(reference.status, 0) << reference.err;
  const std::map<std::string, Account> restored = accounts_of(tmp / "restored");
  EXPECT_GT(restored.size(), 0u);
  EXPECT_TRUE(restored == accounts_of(tmp / "reference")) << "the restored copy is not the state of one commit";
  EXPECT_EQ(open_read_only(tmp / "restored")->read_timeline(0), open_read_only(tmp / "reference")->read_timeline(0));

  // paydist inspect reads both the same, for a spread of accounts.
  std::size_t n = 0;
  for (const auto& [id, account] : restored) {
    if (n++ % 97 != 0) continue;
    const Finished from_copy = paydist({"inspect", "--state", (tmp / "restored").string(), "account", id}, tmp / "inspect-r");
    const Finished from_reference =
        paydist({"inspect", "--state", (tmp / "reference").string(), "account", id}, tmp / "inspect-f");
    ASSERT_EQ(from_copy.status, 0) << from_copy.err;
    EXPECT_EQ(from_copy.out, from_reference.out) << id;
  }
}

TEST_F(BackupWhileWriting, ABackupWhileTheReplayRunsIsTheStateOfOneCommitToo) {
  ASSERT_NE(tmp_, nullptr);
  const TempDir& tmp = *tmp_;
  ASSERT_EQ(running_backup_.status, 0) << running_backup_.err;
  std::printf("[ backup ] the replay %s still running when the backup ended\n", writer_ran_past_backup_ ? "was" : "was not");
  const std::string restored = (tmp / "restored-running").string();
  const Finished restore = paydist({"restore", "--from", (tmp / "backup-running.mdb").string(), "--state", restored},
                                   tmp / "restore-running");
  ASSERT_EQ(restore.status, 0) << restore.err;  // verified on the way in
  const std::string b_path = fs::canonical(tmp / "b.jsonl").string();
  const std::optional<FilePosition> position = open_read_only(restored)->read_file_position(b_path);
  ASSERT_TRUE(position.has_value());
  EXPECT_GE(position->lines_consumed, b_lines_at_backup_);
  write_lines(tmp / "b-running-part.jsonl", lines_, cut_, cut_ + position->lines_consumed);
  const Finished reference = paydist({"replay", "--state", (tmp / "reference-running").string(), "--out",
                                      (tmp / "out-reference-running").string(), (tmp / "a.jsonl").string(),
                                      (tmp / "b-running-part.jsonl").string()},
                                     tmp / "replay-reference-running");
  ASSERT_EQ(reference.status, 0) << reference.err;
  EXPECT_TRUE(accounts_of(restored) == accounts_of(tmp / "reference-running"));
}

TEST_F(BackupWhileWriting, RestoreThenReplayOfTheRestEqualsAReplayOfEverything) {
  ASSERT_NE(tmp_, nullptr);
  const TempDir& tmp = *tmp_;
  const std::string restored = (tmp / "restored-continued").string();
  const Finished restore = paydist({"restore", "--from", (tmp / "backup.mdb").string(), "--state", restored},
                                   tmp / "restore-2");
  ASSERT_EQ(restore.status, 0) << restore.err;
  // The whole of b.jsonl again: its stored position skips what the backup had consumed.
  const Finished rest = paydist({"replay", "--state", restored, "--out", (tmp / "out-rest").string(),
                                 (tmp / "b.jsonl").string()},
                                tmp / "replay-rest");
  ASSERT_EQ(rest.status, 0) << rest.err;
  const Finished everything = paydist({"replay", "--state", (tmp / "everything").string(), "--out",
                                       (tmp / "out-everything").string(), (tmp / "a.jsonl").string(),
                                       (tmp / "b.jsonl").string()},
                                      tmp / "replay-everything");
  ASSERT_EQ(everything.status, 0) << everything.err;

  const std::map<std::string, Account> all = accounts_of(tmp / "everything");
  EXPECT_TRUE(accounts_of(restored) == all) << "restore + the rest differs from everything";
  EXPECT_TRUE(accounts_of(tmp / "source") == all) << "the source itself differs from everything";
  const Finished verified = paydist({"verify", "--state", restored}, tmp / "verify-continued");
  EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
  // Outputs: the source's files equal everything's; the restored copy's new out directory gets
  // the backup's unacknowledged outbox and the rest, which ends everything's files.
  for (const char* file : {"activities.jsonl", "distributions.jsonl", "rejects.jsonl"}) {
    const std::string whole = read_text(tmp / "out-everything" / file);
    const std::string tail = read_text(tmp / "out-rest" / file);
    EXPECT_EQ(read_text(tmp / "out-source" / file), whole) << file;
    ASSERT_LE(tail.size(), whole.size()) << file;
    EXPECT_EQ(whole.compare(whole.size() - tail.size(), tail.size(), tail), 0) << file << " is not a tail of everything's";
    if (std::string{file} != "rejects.jsonl") {
      EXPECT_FALSE(tail.empty()) << file;
    }
  }
}

}  // namespace
}  // namespace paydist
