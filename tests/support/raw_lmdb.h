// tests/support/raw_lmdb.h: one raw LMDB write or read on a state directory, beneath the
// StateStore, as a disk fault or a bug would make it (tests of verify and of corruption).
//   raw_lmdb_put(dir, "accounts", "ACC1", "garbage");   // std::nullopt deletes the key
//   std::string bytes = raw_lmdb_get(dir, "meta", "format_version");
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

}  // namespace paydist::testing
