// tests/support/raw_lmdb.h: one raw LMDB write or read on a state directory, beneath the
// StateStore, as a disk fault or a bug would make it (tests of verify and of corruption).
//   raw_lmdb_put(dir, "accounts", "ACC1", "garbage");   // std::nullopt deletes the key
//   std::string bytes = raw_lmdb_get(dir, "meta", "format_version");
//   raw_lmdb_to_format(dir, 6);   // as format 6 wrote it (no fired database, history apart)
#pragma once

#include <lmdb.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "connectors/record.h"

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

// How many entries `db` holds (0 when the state has no such database).
inline std::size_t raw_lmdb_count(const std::filesystem::path& dir, const char* db) {
  RawTxn txn{dir, true};
  if (!txn.ok()) return 0;
  const std::optional<MDB_dbi> dbi = txn.db(db);
  MDB_stat st{};
  if (!dbi || mdb_stat(txn.get(), *dbi, &st) != 0) return 0;
  return st.ms_entries;
}

// Whether the state holds a database named `db`.
inline bool raw_lmdb_has_db(const std::filesystem::path& dir, const char* db) {
  RawTxn txn{dir, true};
  return txn.ok() && txn.db(db).has_value();
}

// Rewrites a format 8 state as an older format wrote it: what the fired database held put
// back in the accounts database (each fired record over its account's record, its history
// entries under their account keys) and that database dropped; for format 6, every history
// entry (a key of the accounts database with a NUL in it) then moved to a "history"
// database. format_version set to `version`.
inline void raw_lmdb_to_format(const std::filesystem::path& dir, int version) {
  ASSERT_TRUE(version == 6 || version == 7);
  RawTxn txn{dir, false};
  ASSERT_TRUE(txn.ok());
  const std::optional<MDB_dbi> accounts = txn.db("accounts"), meta = txn.db("meta"), fired = txn.db("fired");
  ASSERT_TRUE(accounts && meta && fired);
  MDB_cursor* cursor = nullptr;
  MDB_val k{}, v{};
  ASSERT_EQ(mdb_cursor_open(txn.get(), *fired, &cursor), 0);
  std::string account_id;
  for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    const std::string_view key{static_cast<const char*>(k.mv_data), k.mv_size};
    const std::string_view value{static_cast<const char*>(v.mv_data), v.mv_size};
    if (key.size() == 16) {  // a record: it replaces its account's
      Result<Account> account = decode_account(value);
      ASSERT_TRUE(account.ok()) << account.error();
      account_id = account->id.str();
      MDB_val ak = raw_val(account_id), av = raw_val(value);
      ASSERT_EQ(mdb_put(txn.get(), *accounts, &ak, &av, 0), 0);
    } else {  // an entry of the record before it
      ASSERT_EQ(key.size(), 24u);
      ASSERT_FALSE(account_id.empty());
      std::string entry_key = account_id;
      entry_key.push_back('\0');
      entry_key.append(key.substr(16));
      MDB_val ek = raw_val(entry_key);
      ASSERT_EQ(mdb_put(txn.get(), *accounts, &ek, &v, 0), 0);
    }
  }
  mdb_cursor_close(cursor);
  ASSERT_EQ(mdb_drop(txn.get(), *fired, 1), 0);
  if (version == 6) {
    const std::optional<MDB_dbi> history = txn.db("history", MDB_CREATE);
    ASSERT_TRUE(history);
    ASSERT_EQ(mdb_cursor_open(txn.get(), *accounts, &cursor), 0);
    for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      if (std::string_view{static_cast<const char*>(k.mv_data), k.mv_size}.find('\0') == std::string_view::npos) continue;
      EXPECT_EQ(mdb_put(txn.get(), *history, &k, &v, 0), 0);
      EXPECT_EQ(mdb_cursor_del(cursor, 0), 0);  // MDB_NEXT then reads the entry after it
    }
    mdb_cursor_close(cursor);
  }
  const char bytes[] = {0, 0, 0, static_cast<char>(version)};
  MDB_val vk = raw_val("format_version"), vv = raw_val(std::string_view{bytes, sizeof bytes});
  EXPECT_EQ(mdb_put(txn.get(), *meta, &vk, &vv, 0), 0);
  txn.commit();
}

}  // namespace paydist::testing
