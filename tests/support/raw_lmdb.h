// tests/support/raw_lmdb.h: one raw LMDB write or read on a state directory, beneath the
// StateStore, as a disk fault or a bug would make it (tests of verify and of corruption).
//   raw_lmdb_put(dir, "accounts", "ACC1", "garbage");   // std::nullopt deletes the key
//   std::string bytes = raw_lmdb_get(dir, "meta", "format_version");
//   raw_lmdb_to_format6(dir);   // the history entries back in a database of their own
#pragma once

#include <lmdb.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace paydist::testing {

inline void raw_lmdb_put(const std::filesystem::path& dir, const char* db, std::string_view key,
                         std::optional<std::string_view> value) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 16), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  ASSERT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  if (value) {
    MDB_val v{value->size(), const_cast<char*>(value->data())};
    EXPECT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  } else {
    EXPECT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
  }
  EXPECT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

// The raw value under `key` in `db` ("" when absent).
inline std::string raw_lmdb_get(const std::filesystem::path& dir, const char* db, std::string_view key) {
  MDB_env* env = nullptr;
  EXPECT_EQ(mdb_env_create(&env), 0);
  EXPECT_EQ(mdb_env_set_maxdbs(env, 16), 0);
  EXPECT_EQ(mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi dbi = 0;
  EXPECT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
  std::string value;
  if (mdb_get(txn, dbi, &k, &v) == 0) value.assign(static_cast<const char*>(v.mv_data), v.mv_size);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return value;
}

// Whether the state holds a database named `db`.
inline bool raw_lmdb_has_db(const std::filesystem::path& dir, const char* db) {
  MDB_env* env = nullptr;
  EXPECT_EQ(mdb_env_create(&env), 0);
  EXPECT_EQ(mdb_env_set_maxdbs(env, 16), 0);
  EXPECT_EQ(mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi dbi = 0;
  const bool found = mdb_dbi_open(txn, db, 0, &dbi) == 0;
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return found;
}

// Rewrites a format 7 state as format 6 wrote it: every history entry (a key of the accounts
// database with a NUL in it) moved to a "history" database, and format_version 6.
inline void raw_lmdb_to_format6(const std::filesystem::path& dir) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 16), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi accounts = 0, history = 0, meta = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "accounts", 0, &accounts), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "history", MDB_CREATE, &history), 0);
  MDB_cursor* cursor = nullptr;
  ASSERT_EQ(mdb_cursor_open(txn, accounts, &cursor), 0);
  MDB_val k{}, v{};
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  while (rc == 0) {
    if (std::string_view{static_cast<const char*>(k.mv_data), k.mv_size}.find('\0') != std::string_view::npos) {
      EXPECT_EQ(mdb_put(txn, history, &k, &v, 0), 0);
      EXPECT_EQ(mdb_cursor_del(cursor, 0), 0);  // MDB_NEXT then reads the entry after it
    }
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cursor);
  const char version[4] = {0, 0, 0, 6};
  MDB_val vk{14, const_cast<char*>("format_version")}, vv{4, const_cast<char*>(version)};
  EXPECT_EQ(mdb_put(txn, meta, &vk, &vv, 0), 0);
  EXPECT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

}  // namespace paydist::testing
