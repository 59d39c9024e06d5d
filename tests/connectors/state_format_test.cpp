// tests/connectors/state_format_test.cpp: a state written by an earlier format (6: history
// entries in a database of their own; 7: beside their account records, and no fired
// database) is read as it is by a read-only open and moved to the current one (8, with the
// fired database) by the first read-write open, with every account, history entry and
// timeline row as it was.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/state_verify.h"
#include "tests/connectors/replayed_state.h"

namespace paydist {
namespace {

using testing::ReplayedState;

// What a reader sees of a state: each account's record and kept history, and every row of
// timeline 0 (the changelog's view), in order.
struct Seen {
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>> history;
  std::uint64_t accounts = 0;
  std::vector<StateRow> rows;
  bool operator==(const Seen&) const = default;
};

Seen seen(StateStore& store) {
  Seen out;
  out.accounts = store.count_accounts();
  store.for_each_account([&](const Account& a) {
    for (HistoryEntry& e : store.read_history(a.id)) out.history[a.id.str()].emplace_back(e.number, std::move(e.text));
  });
  store.for_each_row(0, [&](const StateRow& row) { out.rows.push_back(row); });
  return out;
}

std::string version_of(const std::filesystem::path& dir) {
  const std::string bytes = testing::raw_lmdb_get(dir, "meta", "format_version");
  return bytes.size() == 4 ? std::to_string(static_cast<unsigned char>(bytes[3])) : "?";
}

class OlderFormat : public ::testing::TestWithParam<int> {};

TEST_P(OlderFormat, IsReadAsItIsAndMovedToFormat8ByTheFirstWritingOpen) {
  const int version = GetParam();
  ReplayedState state;
  const Seen before = seen(*state.open_read_only());
  ASSERT_GT(before.accounts, 10u);
  std::size_t entries = 0;
  for (const auto& [id, history] : before.history) entries += history.size();
  ASSERT_GT(entries, before.accounts);  // the sample holds accounts with several entries
  EXPECT_EQ(version_of(state.dir()), "8");
  EXPECT_FALSE(testing::raw_lmdb_has_db(state.dir(), "history"));
  // The sample's last business dates fired deadlines that no message has followed yet.
  ASSERT_GT(testing::raw_lmdb_count(state.dir(), "fired"), 0u);

  ASSERT_NO_FATAL_FAILURE(testing::raw_lmdb_to_format(state.dir(), version));
  ASSERT_EQ(version_of(state.dir()), std::to_string(version));
  ASSERT_EQ(testing::raw_lmdb_has_db(state.dir(), "history"), version == 6);
  ASSERT_FALSE(testing::raw_lmdb_has_db(state.dir(), "fired"));
  {
    std::unique_ptr<StateStore> old = state.open_read_only();
    ASSERT_NE(old, nullptr);
    EXPECT_EQ(seen(*old), before);
    const VerifyReport report = verify_state(*old, state.rules(), {});
    EXPECT_EQ(report.violations_total, 0u) << (report.violations.empty() ? "" : report.violations[0]);
    EXPECT_EQ(report.checked.history_entries, entries);
  }
  EXPECT_EQ(version_of(state.dir()), std::to_string(version));  // a reader changes nothing

  {
    Result<std::unique_ptr<StateStore>> moved = StateStore::open(state.dir(), StoreOptions{});
    ASSERT_TRUE(moved.ok()) << moved.error();
    EXPECT_EQ(seen(**moved), before);
  }
  EXPECT_EQ(version_of(state.dir()), "8");
  EXPECT_FALSE(testing::raw_lmdb_has_db(state.dir(), "history"));
  EXPECT_TRUE(testing::raw_lmdb_has_db(state.dir(), "fired"));
  std::unique_ptr<StateStore> now = state.open_read_only();
  EXPECT_EQ(seen(*now), before);
  const VerifyReport report = verify_state(*now, state.rules(), {});
  EXPECT_EQ(report.violations_total, 0u) << (report.violations.empty() ? "" : report.violations[0]);
  EXPECT_EQ(report.checked.history_entries, entries);
  EXPECT_EQ(report.checked.accounts, before.accounts);
}

INSTANTIATE_TEST_SUITE_P(StateFormat, OlderFormat, ::testing::Values(6, 7),
                         [](const ::testing::TestParamInfo<int>& format) { return "Format" + std::to_string(format.param); });

// A version older than 6 is still refused, naming the versions this build reads.
TEST(StateFormat, AVersionBefore6IsRefusedNamingWhatThisBuildReads) {
  ReplayedState state;
  state.put("meta", "format_version", std::string{"\0\0\0\x05", 4});
  StoreOptions options;
  options.access = StoreOptions::Access::read_only;
  Result<std::unique_ptr<StateStore>> store = StateStore::open(state.dir(), options);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().find("format version 5, a development format this paydist does not read (it reads 6 to 8)"),
            std::string::npos)
      << store.error();
}

}  // namespace
}  // namespace paydist
