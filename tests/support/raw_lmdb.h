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
#include <utility>

#include <gtest/gtest.h>

namespace paydist::testing {

// One LMDB environment on `dir` with one transaction (a write one unless `read_only`), both
// closed by the destructor unless commit() ran; ok() is false (and the test failed) when
// either did not open.
class RawTxn {
 public:
  RawTxn(const std::filesystem::path& dir, bool read_only) {
    const unsigned flags = read_only ? MDB_RDONLY : 0;
    if (mdb_env_create(&env_) != 0 || mdb_env_set_maxdbs(env_, 16) != 0 || mdb_env_open(env_, dir.c_str(), flags, 0600) != 0 ||
        mdb_txn_begin(env_, nullptr, flags, &txn_) != 0) {
      ADD_FAILURE() << "cannot open an LMDB transaction on " << dir;
      txn_ = nullptr;
    }
  }
  ~RawTxn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    if (env_ != nullptr) mdb_env_close(env_);
  }
  RawTxn(const RawTxn&) = delete;
  RawTxn& operator=(const RawTxn&) = delete;

  bool ok() const { return txn_ != nullptr; }
  MDB_txn* get() const { return txn_; }
  // The database's handle, or nullopt when the state has none of that name.
  std::optional<MDB_dbi> db(const char* name, unsigned flags = 0) const {
    MDB_dbi dbi = 0;
    if (mdb_dbi_open(txn_, name, flags, &dbi) != 0) return std::nullopt;
    return dbi;
  }
  void commit() {
    EXPECT_EQ(mdb_txn_commit(std::exchange(txn_, nullptr)), 0);
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
};

inline MDB_val raw_val(std::string_view bytes) { return MDB_val{bytes.size(), const_cast<char*>(bytes.data())}; }

inline void raw_lmdb_put(const std::filesystem::path& dir, const char* db, std::string_view key,
                         std::optional<std::string_view> value) {
  RawTxn txn{dir, false};
  ASSERT_TRUE(txn.ok());
  const std::optional<MDB_dbi> dbi = txn.db(db);
  ASSERT_TRUE(dbi) << db;
  MDB_val k = raw_val(key);
  if (value) {
    MDB_val v = raw_val(*value);
    EXPECT_EQ(mdb_put(txn.get(), *dbi, &k, &v, 0), 0);
  } else {
    EXPECT_EQ(mdb_del(txn.get(), *dbi, &k, nullptr), 0);
  }
  txn.commit();
}

// The raw value under `key` in `db` ("" when absent).
inline std::string raw_lmdb_get(const std::filesystem::path& dir, const char* db, std::string_view key) {
  RawTxn txn{dir, true};
  if (!txn.ok()) return {};
  const std::optional<MDB_dbi> dbi = txn.db(db);
  EXPECT_TRUE(dbi) << db;
  MDB_val k = raw_val(key), v{};
  if (!dbi || mdb_get(txn.get(), *dbi, &k, &v) != 0) return {};
  return std::string{static_cast<const char*>(v.mv_data), v.mv_size};
}

// Whether the state holds a database named `db`.
inline bool raw_lmdb_has_db(const std::filesystem::path& dir, const char* db) {
  RawTxn txn{dir, true};
  return txn.ok() && txn.db(db).has_value();
}

// Rewrites a format 7 state as format 6 wrote it: every history entry (a key of the accounts
// database with a NUL in it) moved to a "history" database, and format_version 6.
inline void raw_lmdb_to_format6(const std::filesystem::path& dir) {
  RawTxn txn{dir, false};
  ASSERT_TRUE(txn.ok());
  const std::optional<MDB_dbi> accounts = txn.db("accounts"), meta = txn.db("meta"), history = txn.db("history", MDB_CREATE);
  ASSERT_TRUE(accounts && meta && history);
  MDB_cursor* cursor = nullptr;
  ASSERT_EQ(mdb_cursor_open(txn.get(), *accounts, &cursor), 0);
  MDB_val k{}, v{};
  for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    if (std::string_view{static_cast<const char*>(k.mv_data), k.mv_size}.find('\0') == std::string_view::npos) continue;
    EXPECT_EQ(mdb_put(txn.get(), *history, &k, &v, 0), 0);
    EXPECT_EQ(mdb_cursor_del(cursor, 0), 0);  // MDB_NEXT then reads the entry after it
  }
  mdb_cursor_close(cursor);
  MDB_val vk = raw_val("format_version"), vv = raw_val(std::string_view{"\0\0\0\x06", 4});
  EXPECT_EQ(mdb_put(txn.get(), *meta, &vk, &vv, 0), 0);
  txn.commit();
}

}  // namespace paydist::testing
