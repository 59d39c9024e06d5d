// tests/connectors/replayed_state.h: a real state to damage, for the integrity tools' tests:
// docs/sample-events.jsonl (every acceptance scenario) replayed into a temporary directory,
// and raw LMDB writes that bypass the store the way a disk fault or a bug would.
//   ReplayedState state;                       // replayed, store closed
//   state.put("accounts", "ACC1", "garbage");  // one raw write transaction
#pragma once

#include <lmdb.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "connectors/file_replay.h"
#include "connectors/state_store.h"
#include "tests/support/raw_lmdb.h"

namespace paydist::testing {

class ReplayedState {
 public:
  ReplayedState() {
    std::string pattern = (std::filesystem::temp_directory_path() / "paydist-integrity-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
    auto store = StateStore::open(dir(), StoreOptions{});
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error());
    // A batch a line, as a slow feed would: the accounts whose deadlines the last business
    // dates fired stay in the fired database (state format 8) for the tests to see.
    FileReplay replay{**store, rules_, ReplayOptions{.out_dir = root_ / "out", .batch_lines_max = 1}};
    Status s = replay.open();
    if (s) s = replay.replay_file(std::string{PAYDIST_SOURCE_DIR} + "/docs/sample-events.jsonl");
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  }
  ~ReplayedState() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  ReplayedState(const ReplayedState&) = delete;
  ReplayedState& operator=(const ReplayedState&) = delete;

  std::filesystem::path dir() const { return root_ / "state"; }
  std::filesystem::path root() const { return root_; }
  const Rules& rules() const { return rules_; }

  std::unique_ptr<StateStore> open_read_only() const {
    StoreOptions options;
    options.access = StoreOptions::Access::read_only;
    auto store = StateStore::open(dir(), options);
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error());
    return store ? std::move(*store) : nullptr;
  }

  // The first account (in key order) with a pending deadline.
  Account account_with_deadline() const {
    std::optional<Account> found;
    open_read_only()->for_each_account([&](const Account& a) {
      if (!found && a.indexed_deadline) found = a;
    });
    EXPECT_TRUE(found.has_value());
    return found.value_or(Account{});
  }

  // One raw write transaction: `value` under `key` in `db` (nullopt deletes the key).
  void put(const char* db, std::string_view key, std::optional<std::string_view> value) const {
    raw_lmdb_put(dir(), db, key, value);
  }

  // The raw value under `key` in `db` ("" when absent).
  std::string get(const char* db, std::string_view key) const { return raw_lmdb_get(dir(), db, key); }

 private:
  std::filesystem::path root_;
  Rules rules_;
};

}  // namespace paydist::testing
