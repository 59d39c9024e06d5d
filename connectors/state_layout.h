// connectors/state_layout.h: the state store's on-disk layout: which databases exist, how
// their keys are made, the meta records. Internal to the store's own files (state_store.cpp,
// state_verify.cpp); nothing outside connectors/ includes it, and it decides no business rule.
//   std::string key;
//   deadline_key(timeline, DeadlineSlot{date, account_seq}, key);   // 16 bytes, sorts by date
#pragma once

#include <lmdb.h>
#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "connectors/state_store.h"
#include "core/invariant.h"

namespace paydist::state_layout {

// Key layouts (all integers big-endian so that LMDB's byte order is numeric order):
//   meta       "format_version" -> u32, "next_output_seq" -> u64, "state_id" -> 16 random bytes,
//              "changelog_position" u32 timeline -> u64 (StateStore::read_changelog_position),
//              "partition_output_seq" u32 timeline -> u64 (StateStore::read_partition_output_seq)
//   accounts   account_id -> account record
//   events     event_id '\0' account_id -> ""              (account scope: the event id
//                                                            first, so that ids issued in
//                                                            time order are appended)
//              '\x01' u32 timeline event_id -> ""          (business_date scope)
//   deadlines  u32 timeline, u32 (date serial ^ 0x80000000), u64 account_seq -> account_id
//   timelines  u32 timeline -> timeline record
//   files      path key -> file position record
//   outfiles   path key -> u64 length
//   outbox     u64 seq -> pending output record (with its timeline and partition seq)
//   offsets    topic '\0' u32 partition -> u64 next offset to consume (the daemon's input)
//   accounts   account_id '\0' u64 entry number -> audit entry (core/history.h) stored by
//              connectors/history_codec.cpp, the newest
//              StoreOptions::history_entries_per_account of each account. In the accounts
//              database since format 7: an entry's key sorts right after its account's
//              record, so the entry a message adds usually lands on the page the message's
//              new record already rewrites (the store's `history` handle is that database).
//              Format 6 kept them in a database of their own, "history", with the same keys.
//   fired      u32 timeline, u32 (date serial ^ 0x80000000), u64 account_seq -> account record
//              u32 timeline, u32 date, u64 account_seq, u64 entry number -> audit entry
//              (format 8) What business-date advances did to an account since a message last
//              stored it: its record as it now is, and the history entries the firings
//              added, under the key of the deadline its stored record is indexed at (the
//              one that fired first). An advance writes here instead of the accounts
//              database, so its writes land on a few pages in key order rather than on one
//              scattered page per due account. A read finds a record by its id in
//              'accounts' and, when 'fired' holds an entry at that record's deadline, takes
//              that entry's record instead; the next batch that stores the account for a
//              message moves it back (the record to 'accounts', its entries to their
//              account keys there) and deletes it here. At most one record per account.
// A path key is the real path itself, or '\0' + SHA-256(path) when the path is empty or too
// long for an LMDB key (the file position record still holds the full path).

// The layout above. A state written by another layout is refused at open(). Version 2 added
// the history database and the account record's history counter; version 3 stores history
// entries in their compact form (connectors/history_codec.cpp); version 5 puts the event id
// before the account id in an account-scope events key; version 6 numbers each timeline's
// outputs (meta "partition_output_seq", and the outbox record's timeline and partition seq).
// Version 7 moves the history entries into the accounts database (above). A version 6 state
// is read as it is by a read-only open and moved to version 7, in one transaction, by the
// first read-write open. Version 8 adds the fired database (above); the first read-write
// open of a version 6 or 7 state creates it (empty) and writes version 8, and a read-only
// open reads such a state as having none. Versions 1 to 5 came only from development builds
// and are not migrated (replay the input again).
inline constexpr std::uint32_t kFormatVersion = 8;
inline constexpr std::uint32_t kOldestReadFormatVersion = 6;
inline constexpr const char* kFormat6HistoryDb = "history";
inline constexpr std::size_t kMaxPathKeyBytes = 400;  // LMDB's default key limit is 511
inline constexpr std::string_view kMetaFormatVersion = "format_version";
inline constexpr std::string_view kMetaNextOutputSeq = "next_output_seq";
inline constexpr std::string_view kMetaStateId = "state_id";
inline constexpr std::size_t kStateIdBytes = 16;
inline constexpr std::uint64_t kFirstOutputSeq = 1;  // 0 means "nothing" to acknowledge_outbox

// ---------------------------------------------------------------------------------------
// Bytes and keys

inline void append_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
inline void append_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
inline std::uint64_t read_be(std::string_view bytes) {
  std::uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

inline std::string be32(std::uint32_t v) {
  std::string out;
  append_be32(out, v);
  return out;
}
inline std::string be64(std::uint64_t v) {
  std::string out;
  append_be64(out, v);
  return out;
}

// "changelog_position" u32 timeline -> u64: how far into the timeline's state changelog
// partition this state is known to hold (its own delivered records, or a restore's end).
inline constexpr std::string_view kMetaChangelogPosition = "changelog_position";
inline std::string changelog_position_key(TimelineId timeline) {
  std::string key{kMetaChangelogPosition};
  append_be32(key, timeline);
  return key;
}

// "partition_output_seq" u32 timeline -> u64: the timeline's next PendingOutput::partition_seq.
inline constexpr std::string_view kMetaPartitionOutputSeq = "partition_output_seq";
inline std::string partition_output_seq_key(TimelineId timeline) {
  std::string key{kMetaPartitionOutputSeq};
  append_be32(key, timeline);
  return key;
}

// Order-preserving: flipping the sign bit makes signed serials sort as unsigned bytes.
inline std::uint32_t date_key(Date d) { return static_cast<std::uint32_t>(d.serial()) ^ 0x80000000u; }
inline Date date_from_key(std::uint32_t k) { return Date::from_serial(static_cast<std::int32_t>(k ^ 0x80000000u)); }

// Writes the event key into `key` (a buffer the caller reuses: one lookup per message).
inline void event_key(TimelineId timeline, EventScope scope, const EventId& id, std::string& key) {
  key.clear();
  if (scope.account != nullptr) {
    key.append(id.view());
    key.push_back('\0');
    key.append(scope.account->view());
  } else {
    key.push_back('\x01');
    append_be32(key, timeline);
    key.append(id.view());
  }
}

// The history key of entry `number` of an account; number 0 is the account's first.
inline void history_key(std::string_view account_id, std::uint64_t number, std::string& key) {
  key.assign(account_id);
  key.push_back('\0');
  append_be64(key, number);
}

// One entry of the deadline index within a timeline, (date, account_seq), packed into one
// integer whose order is the index's order: the date key above the account's seq. The batch
// keeps the entries its accounts moved to in a heap of these, and commit sorts its moves by them.
class DeadlineSlot {
 public:
  DeadlineSlot(Date date, std::uint64_t account_seq)
      : packed_((static_cast<unsigned __int128>(date_key(date)) << 64) | account_seq) {}
  Date date() const { return date_from_key(static_cast<std::uint32_t>(packed_ >> 64)); }
  std::uint64_t account_seq() const { return static_cast<std::uint64_t>(packed_); }
  auto operator<=>(const DeadlineSlot&) const = default;

 private:
  unsigned __int128 packed_;
};

inline constexpr std::size_t kDeadlineKeyBytes = 16;

inline void deadline_key(TimelineId timeline, DeadlineSlot slot, std::string& key) {
  key.clear();
  append_be32(key, timeline);
  append_be32(key, date_key(slot.date()));
  append_be64(key, slot.account_seq());
}

// An input partition's key in `offsets`: the topic, a NUL (topic names hold none), the
// partition.
inline std::string offset_key(const InputPartition& partition) {
  std::string key = partition.topic;
  key += '\0';
  append_be32(key, static_cast<std::uint32_t>(partition.partition));
  return key;
}

inline std::string path_key(const std::string& path) {
  if (!path.empty() && path.size() <= kMaxPathKeyBytes && path.front() != '\0') return path;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  PAYDIST_INVARIANT(EVP_Digest(path.data(), path.size(), digest, &size, EVP_sha256(), nullptr) == 1);
  std::string key(1, '\0');
  key.append(reinterpret_cast<const char*>(digest), size);
  return key;
}

inline MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view to_view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// A key as it can be printed in one line of stderr: printable ASCII as is, the rest \xNN.
inline std::string printable(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') out.push_back(static_cast<char>(c));
    else out += fmt::format("\\x{:02x}", c);
  }
  if (key.size() > 200) out += "...";
  return out;
}

// ---------------------------------------------------------------------------------------
// Databases

struct Db {
  const char* name;
  MDB_dbi dbi = 0;
};

// Every database of the layout, as one read transaction sees them: what the integrity walk
// (state_verify.cpp) reads. Unlike the store's own reads it reports what it finds, never
// stops the process.
struct RawTables {
  MDB_txn* txn = nullptr;
  Db meta{"meta"}, accounts{"accounts"}, events{"events"}, deadlines{"deadlines"}, timelines{"timelines"},
      files{"files"}, outfiles{"outfiles"}, outbox{"outbox"}, offsets{"offsets"};
  // Where the history entries are: the accounts database (format 7; a walk of it skips the
  // keys that are not entries) or a read-only format 6 state's "history".
  Db history{"accounts"};
  // The fired database (format 8); `has_fired` is false for an older state opened read-only.
  Db fired{"fired"};
  bool has_fired = false;
};

struct RawAccess {
  // Runs `read` inside one read transaction of the store's environment (state_store.cpp).
  static void read(StateStore& store, const std::function<void(const RawTables&)>& read);
};

// ---------------------------------------------------------------------------------------
// Keys taken apart (for the integrity walk); nullopt: not a key of that layout.

struct DeadlineKeyParts {
  TimelineId timeline = 0;
  Date date;
  std::uint64_t account_seq = 0;
};
inline std::optional<DeadlineKeyParts> parse_deadline_key(std::string_view key) {
  if (key.size() != kDeadlineKeyBytes) return std::nullopt;
  return DeadlineKeyParts{static_cast<TimelineId>(read_be(key.substr(0, 4))),
                          date_from_key(static_cast<std::uint32_t>(read_be(key.substr(4, 4)))), read_be(key.substr(8))};
}

// An events key: the account scope (account id, event id) or the business_date scope
// (timeline, event id).
struct EventKeyParts {
  std::optional<std::string_view> account_id;  // empty: the business_date scope
  TimelineId timeline = 0;                     // the business_date scope only
  std::string_view event_id;
};
inline std::optional<EventKeyParts> parse_event_key(std::string_view key) {
  if (!key.empty() && key.front() == '\x01') {
    if (key.size() < 5) return std::nullopt;
    return EventKeyParts{std::nullopt, static_cast<TimelineId>(read_be(key.substr(1, 4))), key.substr(5)};
  }
  const std::size_t nul = key.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  return EventKeyParts{key.substr(nul + 1), 0, key.substr(0, nul)};
}

// A history key: account id and entry number.
struct HistoryKeyParts {
  std::string_view account_id;
  std::uint64_t number = 0;
};
inline std::optional<HistoryKeyParts> parse_history_key(std::string_view key) {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return std::nullopt;
  return HistoryKeyParts{key.substr(0, key.size() - 9), read_be(key.substr(key.size() - 8))};
}

// In the accounts database (format 7): an account record's key is the id alone, which holds
// no NUL (core/ids.h); every other key there is a history entry's.
inline bool is_history_entry_key(std::string_view key) { return key.find('\0') != std::string_view::npos; }

// The fired database's keys (format 8): an account's record under its deadline key
// (deadline_key), and its entries under that key and the u64 entry number.
inline constexpr std::size_t kFiredEntryKeyBytes = kDeadlineKeyBytes + 8;
inline void fired_entry_key(std::string_view record_key, std::uint64_t number, std::string& key) {
  key.assign(record_key);
  append_be64(key, number);
}


// An offsets key: topic and partition.
inline std::optional<InputPartition> parse_offset_key(std::string_view key) {
  if (key.size() < 6 || key[key.size() - 5] != '\0') return std::nullopt;
  const std::string_view topic = key.substr(0, key.size() - 5);
  if (topic.find('\0') != std::string_view::npos) return std::nullopt;
  return InputPartition{std::string{topic}, static_cast<std::int32_t>(read_be(key.substr(key.size() - 4)))};
}

}  // namespace paydist::state_layout
