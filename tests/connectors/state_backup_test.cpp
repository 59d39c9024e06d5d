// tests/connectors/state_backup_test.cpp: connectors/state_backup.h. A backup is one private
// file, written without leftovers, that restores into a state equal to its source (accounts,
// timelines, file positions) which verifies clean; a restore never writes into a directory
// that holds anything; a new state id tells the copy from its source.
#include "connectors/state_backup.h"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "connectors/state_verify.h"
#include "tests/connectors/replayed_state.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;
using testing::ReplayedState;

std::string text_of(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::map<std::string, Account> accounts_of(StateStore& store) {
  std::map<std::string, Account> out;
  store.for_each_account([&](const Account& a) { out.emplace(a.id.str(), a); });
  return out;
}

std::unique_ptr<StateStore> open_read_only(const fs::path& dir) {
  StoreOptions options;
  options.access = StoreOptions::Access::read_only;
  auto store = StateStore::open(dir, options);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error());
  return store ? std::move(*store) : nullptr;
}

TEST(StateBackup, RestoresIntoAnEqualStateThatVerifies) {
  ReplayedState source;
  const fs::path file = source.root() / "backup.mdb";
  {
    std::unique_ptr<StateStore> store = source.open_read_only();
    Result<std::uint64_t> bytes = backup_state(*store, file);
    ASSERT_TRUE(bytes.ok()) << bytes.error();
    EXPECT_EQ(*bytes, fs::file_size(file));
  }
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const fs::directory_entry& entry : fs::directory_iterator(source.root()))
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();

  const fs::path restored = source.root() / "restored";
  ASSERT_TRUE(restore_into_empty_dir(file, restored).ok());
  EXPECT_EQ(fs::status(restored).permissions() & fs::perms::all, fs::perms::owner_all);
  ASSERT_EQ(::stat((restored / "data.mdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::unique_ptr<StateStore> original = source.open_read_only();
  std::unique_ptr<StateStore> copy = open_read_only(restored);
  ASSERT_TRUE(original && copy);
  EXPECT_TRUE(accounts_of(*copy) == accounts_of(*original));
  EXPECT_EQ(copy->read_timeline(0), original->read_timeline(0));
  const std::string sample = fs::canonical(fs::path{PAYDIST_SOURCE_DIR} / "docs/sample-events.jsonl").string();
  EXPECT_EQ(copy->read_file_position(sample), original->read_file_position(sample));
  EXPECT_EQ(copy->state_id(), original->state_id());
  const VerifyReport report = verify_state(*copy, source.rules(), {});
  EXPECT_TRUE(report.ok()) << (report.violations.empty() ? "" : report.violations[0]);
  EXPECT_EQ(report.checked.accounts, accounts_of(*original).size());
}

TEST(StateBackup, ANewStateIdTellsTheCopyFromItsSource) {
  ReplayedState source;
  const fs::path file = source.root() / "backup.mdb";
  ASSERT_TRUE(backup_state(*source.open_read_only(), file).ok());
  const fs::path restored = source.root() / "restored";
  ASSERT_TRUE(restore_into_empty_dir(file, restored).ok());
  std::string new_id;
  {
    auto store = StateStore::open(restored, StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.error();
    ASSERT_TRUE((*store)->replace_state_id().ok());
    new_id = (*store)->state_id();
  }
  EXPECT_EQ(new_id.size(), 32u);
  EXPECT_NE(new_id, source.open_read_only()->state_id());
  EXPECT_EQ(open_read_only(restored)->state_id(), new_id);  // kept, not redrawn at open
}

TEST(StateBackup, RestoreRefusesADirectoryThatHoldsAnything) {
  ReplayedState source;
  const fs::path file = source.root() / "backup.mdb";
  ASSERT_TRUE(backup_state(*source.open_read_only(), file).ok());
  const fs::path occupied = source.root() / "occupied";
  fs::create_directories(occupied);
  std::ofstream(occupied / "notes.txt") << "keep me\n";
  Status s = restore_into_empty_dir(file, occupied);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("is not empty"), std::string::npos) << s.error();
  EXPECT_FALSE(fs::exists(occupied / "data.mdb"));
  EXPECT_EQ(text_of(occupied / "notes.txt"), "keep me\n");
  // Over the live state itself, too.
  EXPECT_FALSE(restore_into_empty_dir(file, source.dir()).ok());
}

TEST(StateBackup, ABackupIntoADirectoryPathIsRefusedAndLeavesNothing) {
  ReplayedState source;
  fs::create_directories(source.root() / "dir.mdb");
  Result<std::uint64_t> bytes = backup_state(*source.open_read_only(), source.root() / "dir.mdb");
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.error().find("is a directory"), std::string::npos) << bytes.error();
  ASSERT_FALSE(backup_state(*source.open_read_only(), source.root() / "no-such-dir" / "backup.mdb").ok());
}

}  // namespace
}  // namespace paydist
