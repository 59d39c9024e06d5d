// connectors/state_store.cpp: the LMDB state store (see state_store.h). Owns every LMDB
// detail: named databases, key layouts, map growth, durability flags. Decides no business
// rule; records are encoded by connectors/record.cpp.
//
// LMDB codes fall into three classes (house style, "lmdb++ lessons"):
//   - a value: MDB_NOTFOUND is "absent" (an empty optional), never an error;
//   - a runtime condition: MDB_MAP_FULL grows the map and retries the transaction,
//     MDB_MAP_RESIZED adopts the size another process chose; I/O failures (ENOSPC, EIO,
//     MDB_TXN_FULL) in commit() / acknowledge_outbox() / open() come back as an Error;
//   - corruption or a broken invariant: MDB_CORRUPTED, MDB_PANIC, any LMDB failure where
//     the API has no error channel, and a stored record that does not decode. These stop
//     the process (one line on stderr naming the database and the key, then abort): a
//     record we wrote ourselves that no longer decodes means the state cannot be trusted
//     with money, and StateAccess (called from inside the core) has no error channel.
//     The one exception is open(): a bad or newer format version is reported as an Error,
//     because "can this paydist read that directory at all" is an operating question.
//
// Key layouts: connectors/state_layout.h.
#include "connectors/state_store.h"

#include <lmdb.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "connectors/history_codec.h"
#include "connectors/key_set.h"
#include "connectors/fault_point.h"
#include "connectors/record.h"
#include "connectors/state_layout.h"
#include "core/invariant.h"

namespace paydist {

using namespace state_layout;

const char* to_string(OutputTopic t) {
  switch (t) {
    case OutputTopic::activities: return "activities";
    case OutputTopic::distributions: return "distributions";
    case OutputTopic::rejects: return "rejects";
    case OutputTopic::state_changelog: return "state_changelog";
    case OutputTopic::state_changelog_deleted: return "state_changelog_deleted";
  }
  return "unknown";
}

namespace {

constexpr unsigned kMaxDbs = 16;  // 11 in use; room for later layouts
constexpr mdb_mode_t kFileMode = 0600;
constexpr std::size_t kMaxMapBytes = std::size_t{1} << 44;  // 16 TiB: growth stops here

// ---------------------------------------------------------------------------------------
// Failures

// Corruption or an LMDB failure with no error channel: stop, naming where (see the header).
[[noreturn]] void fatal(const Db& db, std::string_view key, std::string_view reason) {
  std::fprintf(stderr, "paydist: state store failure in database '%s' at key \"%s\": %.*s\n", db.name,
               printable(key).c_str(), static_cast<int>(reason.size()), reason.data());
  std::abort();
}
[[noreturn]] void fatal(std::string_view what, int rc) {
  std::fprintf(stderr, "paydist: state store failure: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               mdb_strerror(rc));
  std::abort();
}

template <class T>
T decoded_or_fatal(Result<T> result, const Db& db, std::string_view key) {
  if (!result) fatal(db, key, result.error());
  return std::move(result).value();
}

// An LMDB transaction that aborts unless committed.
class Txn {
 public:
  Txn() = default;
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  Txn(Txn&& other) noexcept : txn_(std::exchange(other.txn_, nullptr)) {}
  Txn& operator=(Txn&& other) noexcept {
    if (this != &other) {
      abort();
      txn_ = std::exchange(other.txn_, nullptr);
    }
    return *this;
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() { abort(); }

  MDB_txn* get() const { return txn_; }
  bool active() const { return txn_ != nullptr; }
  void abort() {
    if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
  }
  // LMDB frees the transaction whether or not the commit succeeds.
  int commit() { return mdb_txn_commit(std::exchange(txn_, nullptr)); }

 private:
  MDB_txn* txn_ = nullptr;
};

// A cursor closed with its scope (before its transaction ends).
class Cursor {
 public:
  Cursor(MDB_txn* txn, const Db& db) {
    const int rc = mdb_cursor_open(txn, db.dbi, &cursor_);
    if (rc != 0) fatal(db, "", fmt::format("cannot open a cursor: {}", mdb_strerror(rc)));
  }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor() { mdb_cursor_close(cursor_); }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
};

// Reads one value: absent is a value, any other failure is fatal.
std::optional<std::string_view> get(MDB_txn* txn, const Db& db, std::string_view key) {
  MDB_val k = to_val(key), v{};
  const int rc = mdb_get(txn, db.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) fatal(db, key, mdb_strerror(rc));
  return to_view(v);
}

// Steps a cursor; false at the end. Any failure but the end is fatal.
bool step(MDB_cursor* cursor, const Db& db, MDB_cursor_op op, MDB_val& key, MDB_val& value) {
  const int rc = mdb_cursor_get(cursor, &key, &value, op);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) fatal(db, to_view(key), mdb_strerror(rc));
  return true;
}

// Steps a cursor over the account records of the accounts database (format 7), jumping over
// the history entries that follow each record with one seek (id + '\x01' sorts after every
// "id NUL ..." key and before the next id); `seek` is the caller's buffer. op: MDB_FIRST, then
// MDB_NEXT. Entries with no record before them (a record deleted alone) are stepped over too.
bool step_records(MDB_cursor* cursor, const Db& db, MDB_cursor_op op, MDB_val& key, MDB_val& value, std::string& seek) {
  if (op == MDB_NEXT && !is_history_entry_key(to_view(key))) {
    seek.assign(to_view(key));
    seek.push_back('\x01');
    key = to_val(seek);
    op = MDB_SET_RANGE;
  }
  for (;; op = MDB_NEXT) {
    if (!step(cursor, db, op, key, value)) return false;
    if (!is_history_entry_key(to_view(key))) return true;
  }
}

// The runtime conditions a writer reports as an Error (or handles: MDB_MAP_FULL). Every
// other code while writing is corruption (MDB_CORRUPTED, MDB_PANIC, MDB_PAGE_NOTFOUND, ...)
// or a bug of ours (EINVAL, MDB_BAD_VALSIZE, MDB_KEYEXIST on an outbox append): fatal.
bool is_runtime_condition(int rc) {
  return rc == MDB_MAP_FULL || rc == MDB_TXN_FULL || rc == MDB_READERS_FULL || (rc > 0 && rc != EINVAL);
}

// The room left where the state lives, for a failed write's Error: LMDB reports a write
// that a full file system cut short as EIO, not ENOSPC, so the errno alone can mislead.
std::string free_space_note(const std::filesystem::path& dir) {
  std::error_code ec;
  const std::filesystem::space_info space = std::filesystem::space(dir, ec);
  if (ec) return {};
  return fmt::format(" ({} bytes free on the state's file system)", space.available);
}

// Where a write failed, for the Error commit() returns.
struct WriteFailure {
  int rc = 0;
  const char* db = nullptr;  // nullptr: the commit itself failed
  std::string key;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// The environment

namespace {

// What a batch keeps in memory until commit(): its overlay over LMDB and its outbox. The
// store lends the same buffers to one batch after another, emptied but with their capacity:
// growing a megabytes-long outbox afresh for every batch costs page faults and copies.
struct BatchBuffers {
  // The accounts the batch stored: account id -> its record, encoded at store_account()
  // while the account is still in the CPU's cache (encoding them all at commit reads every
  // one back from memory). Loads decode from here. Keyed by std::string so that each node
  // caches its hash.
  //
  // With each record, the account's entry in the deadline index: where it was before the
  // batch first stored the account and where it is now; commit moves the entry when the
  // two differ. Kept beside the record because store_account has that node in hand: kept
  // as sets of index slots instead, each message that moves its deadline paid for lookups
  // that miss the cache (ordered trees, 5% of a replay's samples; hash tables, 4%).
  struct StoredAccount {
    std::string record;
    TimelineId timeline = 0;
    std::uint64_t seq = 0;
    std::optional<Date> deadline_before, deadline_now;
    bool deadline_moved() const { return deadline_before != deadline_now; }
    // State format 8: the date of the fired entry that stood for the account when the batch
    // first stored it (none: its record in 'accounts' did), and whether every store of it in
    // this batch was a business-date advance's (store_fired): then commit writes it to the
    // fired database, under fired_date(), instead of to 'accounts'.
    std::optional<Date> fired_at;
    bool lazy = false;
    Date fired_date() const { return fired_at ? *fired_at : *deadline_before; }
    // The fired record's key (lazy) in `out`.
    void fired_key(std::string& out) const { deadline_key(timeline, DeadlineSlot{fired_date(), seq}, out); }
  };
  using AccountRecords = std::unordered_map<std::string, StoredAccount>;
  AccountRecords account_records;
  std::size_t deadlines_moved = 0;  // accounts whose deadline_before != deadline_now
  std::size_t lazy_records = 0;     // accounts whose StoredAccount::lazy
  // The account the batch last loaded from LMDB or the predecessor, and the date of the fired
  // entry that stood for it: its store (right after, from the processor) needs no lookup.
  std::string last_load;
  std::optional<Date> last_load_fired_at;

  // An index entry an account was moved to: its slot, and the account it belongs to.
  struct AddedEntry {
    DeadlineSlot slot;
    const AccountRecords::value_type* account;
    bool operator>(const AddedEntry& other) const { return slot > other.slot; }
    // The account's entry is still here (it has not moved on since).
    bool current() const { return account->second.deadline_now == slot.date(); }
  };

  KeySet accepted_events;  // event keys
  std::string event_key_buffer;
  // The processor asks about a message's event twice (the redelivery check, then apply):
  // the last key found absent stays absent until it is marked accepted.
  std::string last_absent_event;

  // What the batch changed in one timeline (the daemon's batch spans its partitions).
  struct TimelineChanges {
    // The index entries the batch added, for first_deadline_up_to: a min-heap with an
    // element for each time store_account moved an account's entry in this timeline to a
    // date. An element whose account has moved on since is dead: skipped (and popped) when
    // it comes to the top.
    std::vector<AddedEntry> added_heap;
    // The deadline scan: LMDB's entries do not change while the batch is open, so every
    // entry before `scan_from` was found dead (its account moved away) once and need not be
    // looked at again; if its account moves back, the heap above has it. Keeps a long date
    // jump linear.
    std::string scan_from;
    bool scan_exhausted = false;
    // The same for the entries the predecessor added (they do not change either): every one
    // before `predecessor_added_from` was found moved away by this batch.
    std::optional<DeadlineSlot> predecessor_added_from;
    bool predecessor_added_exhausted = false;
    // The predecessor's moved entries in this timeline, in order: gathered at the first look.
    std::optional<std::vector<AddedEntry>> predecessor_added;

    std::optional<TimelineState> state;  // loaded or stored
    bool state_dirty = false;
    // The timeline's next PendingOutput::partition_seq: loaded at its first output, and
    // written at commit when the batch gave it outputs (or imported it).
    std::optional<std::uint64_t> next_partition_seq;
    bool partition_seq_dirty = false;
  };
  std::map<TimelineId, TimelineChanges> timelines;
  std::unordered_map<std::string, FilePosition> file_positions;
  std::map<std::string, std::int64_t> input_offsets;  // offset_key -> next offset
  std::map<TimelineId, std::int64_t> changelog_positions;

  // The outbox: records encoded at add_output(), back to back in one buffer.
  struct OutputSlot {
    OutputTopic topic;
    std::size_t record_begin, key_begin, key_size, json_begin, json_size;
    TimelineId timeline;
    std::uint64_t partition_seq;
  };
  std::optional<std::uint64_t> first_output_seq;  // loaded at the first add_output
  std::string output_records;
  std::vector<OutputSlot> outputs;

  // An acknowledgement of earlier outputs, written first at commit (Batch::acknowledge_outbox).
  struct Acknowledgement {
    std::uint64_t through_seq = 0;
    std::vector<OutputFileMark> marks;
  };
  std::optional<Acknowledgement> acknowledgement;

  // Audit history entries appended (key -> compact entry), and per account the number of its
  // oldest entry to keep: older ones are deleted at commit (retention).
  std::vector<std::pair<std::string, std::string>> history_entries;
  std::unordered_map<std::string, std::uint64_t> history_keep_from;
  // History rows imported (Batch::import_row), applied at commit in the order they came: an
  // entry as stored; a tombstone of entry N (retention's: entries 0..N of the account go); an
  // empty value (a write-back's: exactly that entry goes).
  struct HistoryImport {
    enum class Kind : std::uint8_t { put, through, exactly } kind;
    std::string key;
    std::string value;  // put
  };
  std::vector<HistoryImport> history_rows;
  bool imported = false;  // rows were imported: a restore, which logs nothing

  // The state changelog (StoreOptions::changelog): the timeline of each account stored or
  // given history, each accepted event's and each history entry's (by index into
  // history_entries), noted as they happen and turned into outputs at commit.
  std::unordered_map<std::string, TimelineId> changelog_accounts;
  std::vector<std::pair<std::string, TimelineId>> changelog_events;
  std::vector<TimelineId> history_timelines;
  bool changelog_captured = false;

  // commit()'s views of the entries above in key order.
  std::vector<const AccountRecords::value_type*> sorted_records;
  std::vector<std::string_view> sorted_events;
  std::vector<std::pair<TimelineId, DeadlineSlot>> deadline_deletes;
  std::vector<std::pair<std::pair<TimelineId, DeadlineSlot>, const std::string*>> deadline_puts;

  void clear() {
    account_records.clear();
    accepted_events.clear();
    last_absent_event.clear();
    timelines.clear();
    file_positions.clear();
    input_offsets.clear();
    changelog_positions.clear();
    first_output_seq.reset();
    output_records.clear();
    outputs.clear();
    acknowledgement.reset();
    history_entries.clear();
    history_keep_from.clear();
    history_rows.clear();
    imported = false;
    changelog_accounts.clear();
    changelog_events.clear();
    history_timelines.clear();
    changelog_captured = false;
    sorted_records.clear();
    sorted_events.clear();
    deadline_deletes.clear();
    deadline_puts.clear();
    deadlines_moved = 0;
    lazy_records = 0;
    last_load.clear();
    last_load_fired_at.reset();
  }
};

}  // namespace

struct StateStore::Impl {
  MDB_env* env = nullptr;
  std::filesystem::path dir;
  bool read_only = false;
  Db meta{"meta"}, accounts{"accounts"}, events{"events"}, deadlines{"deadlines"}, timelines{"timelines"},
      files{"files"}, outfiles{"outfiles"}, outbox{"outbox"}, offsets{"offsets"};
  // The history entries' database: the accounts database itself (format 7, set at open), or
  // the "history" database of a format 6 state opened read-only (state_layout.h).
  Db history{"accounts"};
  // The fired database (format 8, state_layout.h). `has_fired` is false only for a format 6
  // or 7 state opened read-only, which has none: nothing there has fired lazily.
  Db fired{"fired"};
  bool has_fired = false;
  std::uint32_t history_retention = 0;  // StoreOptions::history_entries_per_account
  bool changelog = false;               // StoreOptions::changelog
  std::string state_id;                 // hex of the meta "state_id"; empty if none (read-only)

  // mdb_env_set_mapsize needs no transaction active in this process: read transactions hold
  // this shared, a map size change holds it exclusive. Writers are serialized by the gate.
  std::shared_mutex map_mutex;
  // One writer (a Batch or acknowledge_outbox) at a time in this process. A writer from
  // another thread waits; the same thread opening a second writer is a bug (it would wait
  // for itself inside LMDB forever).
  std::mutex writer_mutex;
  std::condition_variable writer_released;
  bool writer_active = false;
  std::thread::id writer_thread;
  bool nosync = false;  // the env's MDB_NOSYNC flag as last set (writer only)
  bool unsynced = false;  // a buffered commit not yet followed by a synced one

  int writer_lock_fd = -1;  // flock()ed: one read-write process per state directory

  // Background commits (Batch::commit_in_background): one committer thread, at most one
  // batch in flight. `in_flight` is the batch being committed (or last committed) so that
  // the next batch can read its writes; `background_failure` is sticky: after a background commit
  // failed, nothing else commits.
  std::mutex commit_mutex;
  std::condition_variable commit_changed;
  std::shared_ptr<StateStore::Batch::Impl> in_flight;
  std::optional<std::string> background_failure;
  struct Job {
    std::unique_ptr<StateStore::Batch> batch;
    Durability durability;
    std::function<void(Status, StateStore::Batch&)> then;
  };
  std::optional<Job> queued;
  bool running = false;  // a job taken from `queued`, until its `then` returned
  bool stopping = false;
  std::thread committer;

  void run_committer();

  // The batch that holds the writer (begun and not yet ended or handed to the committer), on
  // the writer's thread: wait_for_commits() ends its read transaction before it waits, as
  // a map growth in the commit waited for needs every reader out.
  StateStore::Batch::Impl* open_batch = nullptr;
  void settle_open_batch();

  // The buffers the last batch gave back (see BatchBuffers). Its own mutex: a committed
  // batch has let the next writer in before it is destroyed and gives its buffers back.
  std::mutex spare_mutex;
  BatchBuffers spare_buffers;

  BatchBuffers take_buffers() {
    std::lock_guard lock{spare_mutex};
    return std::exchange(spare_buffers, BatchBuffers{});
  }
  void give_back(BatchBuffers&& buffers) {
    buffers.clear();
    std::lock_guard lock{spare_mutex};
    spare_buffers = std::move(buffers);
  }

  ~Impl() {
    if (committer.joinable()) {
      {
        std::lock_guard lock{commit_mutex};
        stopping = true;
      }
      commit_changed.notify_all();
      committer.join();
    }
    // Before the buffers it gives back (declared after it) are gone, and before the env.
    in_flight.reset();
    // mdb_env_close does not flush: a run that ends on buffered commits is made durable here.
    if (env != nullptr && unsynced) {
      if (int rc = mdb_env_sync(env, 1); rc != 0)
        std::fprintf(stderr, "paydist: state store %s: final sync failed: %s\n", dir.c_str(), mdb_strerror(rc));
    }
    if (env != nullptr) mdb_env_close(env);
    if (writer_lock_fd >= 0) ::close(writer_lock_fd);
  }

  Db* all_dbs[9] = {&meta, &accounts, &events, &deadlines, &timelines, &files, &outfiles, &outbox, &offsets};

  void acquire_writer() {
    std::unique_lock lock{writer_mutex};
    PAYDIST_INVARIANT(!(writer_active && writer_thread == std::this_thread::get_id()));
    writer_released.wait(lock, [&] { return !writer_active; });
    writer_active = true;
    writer_thread = std::this_thread::get_id();
  }
  void release_writer() {
    {
      std::lock_guard lock{writer_mutex};
      writer_active = false;
    }
    writer_released.notify_one();
  }
  // The writer role for one scope (a whole-store write outside a Batch).
  struct HeldWriter {
    explicit HeldWriter(Impl& s) : store(s) { store.acquire_writer(); }
    ~HeldWriter() { store.release_writer(); }
    HeldWriter(const HeldWriter&) = delete;
    HeldWriter& operator=(const HeldWriter&) = delete;
    Impl& store;
  };

  // Adopts a map size another process grew to (MDB_MAP_RESIZED).
  void adopt_map_size() {
    std::unique_lock lock{map_mutex};
    const int rc = mdb_env_set_mapsize(env, 0);
    if (rc != 0) fatal("adopting the map size grown by another process", rc);
  }

  // Every byte of the map is reserved on disk (posix_fallocate) before LMDB may write there:
  // at open and before each growth. A full disk then fails a growth, with an error naming
  // the bytes free, and never a commit's write halfway; and the map may be made writable
  // (MDB_WRITEMAP, where a store into a page the file system cannot back is SIGBUS, not an
  // error) without another change. The price: the state file is as large as the map.
  Status reserve_map(std::size_t bytes) {
    int fd = -1;
    if (const int rc = mdb_env_get_fd(env, &fd); rc != 0)
      return Error{fmt::format("state store {}: no file descriptor: {}", dir.string(), mdb_strerror(rc))};
    if (const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)); rc != 0) {
      struct stat st {};
      (void)::fstat(fd, &st);
      return Error{fmt::format("state store {}: cannot reserve {} bytes on disk for the map (the file has {}): {}{}",
                               dir.string(), bytes, st.st_size, std::strerror(rc), free_space_note(dir))};
    }
    return Ok{};
  }

  // Grows the map after MDB_MAP_FULL: doubles it, or more when the failed transaction was
  // writing more than that (`batch_bytes`, so a huge batch does not retry once per doubling).
  // Called by the writer with no transaction of its own.
  Status grow_map(std::size_t batch_bytes) {
    MDB_envinfo info{};
    mdb_env_info(env, &info);
    if (info.me_mapsize >= kMaxMapBytes)
      return Error{fmt::format("state store {} is full: the map reached {} bytes", dir.string(), info.me_mapsize)};
    const std::size_t page = 4096;
    const std::size_t wanted = std::min(kMaxMapBytes, std::max(info.me_mapsize * 2, info.me_mapsize + 3 * batch_bytes));
    const std::size_t grown = (wanted + page - 1) / page * page;
    if (Status s = reserve_map(grown); !s) return s;  // before LMDB may write past the old end
    std::unique_lock lock{map_mutex};
    const int rc = mdb_env_set_mapsize(env, grown);
    if (rc != 0) return Error{fmt::format("state store {}: cannot grow the map: {}", dir.string(), mdb_strerror(rc))};
    return Ok{};
  }

  Txn begin_write() {
    for (;;) {
      MDB_txn* txn = nullptr;
      const int rc = mdb_txn_begin(env, nullptr, 0, &txn);
      if (rc == 0) return Txn{txn};
      if (rc != MDB_MAP_RESIZED) fatal("beginning a write transaction", rc);
      adopt_map_size();
    }
  }

  // Durability::buffered sets MDB_NOSYNC: the commit survives a process crash at once and
  // an OS crash after the next synced commit (or the OS's own flush); on a filesystem that
  // keeps write order LMDB stays consistent either way (lmdb.h, MDB_NOSYNC).
  void set_durability(Durability durability) {
    const bool want_nosync = durability == Durability::buffered;
    if (want_nosync == nosync) return;
    const int rc = mdb_env_set_flags(env, MDB_NOSYNC, want_nosync ? 1 : 0);
    if (rc != 0) fatal("setting the sync flag", rc);
    nosync = want_nosync;
  }

  // A failed write or commit: an Error for a runtime condition, else fatal (see the top).
  Status commit_error(const WriteFailure& failure) const {
    if (failure.db == nullptr) {
      if (!is_runtime_condition(failure.rc)) fatal("committing a write transaction", failure.rc);
      return Error{fmt::format("state store {}: commit failed: {}{}", dir.string(), mdb_strerror(failure.rc),
                               free_space_note(dir))};
    }
    if (!is_runtime_condition(failure.rc)) fatal(Db{failure.db}, failure.key, mdb_strerror(failure.rc));
    return Error{fmt::format("state store {}: writing database '{}' key \"{}\" failed: {}{}", dir.string(),
                             failure.db, printable(failure.key), mdb_strerror(failure.rc), free_space_note(dir))};
  }
};

namespace {

// A read-only transaction holding the map lock shared for its lifetime.
class ReadTxn {
 public:
  explicit ReadTxn(StateStore::Impl& store) : lock_(store.map_mutex) {
    for (;;) {
      MDB_txn* txn = nullptr;
      const int rc = mdb_txn_begin(store.env, nullptr, MDB_RDONLY, &txn);
      if (rc == 0) {
        txn_ = Txn{txn};
        return;
      }
      if (rc != MDB_MAP_RESIZED) fatal("beginning a read transaction", rc);
      lock_.unlock();
      store.adopt_map_size();
      lock_.lock();
    }
  }
  MDB_txn* get() const { return txn_.get(); }

 private:
  std::shared_lock<std::shared_mutex> lock_;  // declared first: released after the txn ends
  Txn txn_;
};

Status open_db(StateStore::Impl& store, MDB_txn* txn, Db& db) {
  const unsigned flags = store.read_only ? 0 : MDB_CREATE;
  const int rc = mdb_dbi_open(txn, db.name, flags, &db.dbi);
  if (rc == MDB_NOTFOUND)
    return Error{fmt::format("state directory {} has no '{}' database: not a paydist state", store.dir.string(),
                             db.name)};
  if (rc != 0)
    return Error{fmt::format("state directory {}: cannot open database '{}': {}", store.dir.string(), db.name,
                             mdb_strerror(rc))};
  return Ok{};
}

Status open_dbs(StateStore::Impl& store, MDB_txn* txn) {
  for (Db* db : store.all_dbs)
    if (Status s = open_db(store, txn, *db); !s) return s;
  return Ok{};
}

// Reads the state's id, writing a new random one first if it has none (a new state, or one
// from before ids were kept).
void set_state_id_text(StateStore::Impl& store, std::string_view bytes) {
  store.state_id.clear();
  for (unsigned char c : bytes) fmt::format_to(std::back_inserter(store.state_id), "{:02x}", c);
}

// Draws a new random state id and writes it in `txn` (committed by the caller).
Status write_new_state_id(StateStore::Impl& store, MDB_txn* txn) {
  std::string bytes(kStateIdBytes, '\0');
  if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    return Error{fmt::format("state directory {}: cannot draw a state id: {}", store.dir.string(), std::strerror(errno))};
  MDB_val k = to_val(kMetaStateId), v = to_val(bytes);
  if (int rc = mdb_put(txn, store.meta.dbi, &k, &v, 0); rc != 0)
    return Error{fmt::format("state directory {}: cannot write the state id: {}", store.dir.string(), mdb_strerror(rc))};
  set_state_id_text(store, bytes);
  return Ok{};
}

Status load_state_id(StateStore::Impl& store, MDB_txn* txn) {
  std::optional<std::string_view> stored = get(txn, store.meta, kMetaStateId);
  if (!stored && !store.read_only) return write_new_state_id(store, txn);
  set_state_id_text(store, stored.value_or(std::string_view{}));
  return Ok{};
}

// Checks (and for a new read-write state, writes) the format version; `found` is the
// version the state holds (kFormatVersion for a new one).
Status check_format(StateStore::Impl& store, MDB_txn* txn, std::uint64_t& found) {
  found = kFormatVersion;
  std::optional<std::string_view> stored = get(txn, store.meta, kMetaFormatVersion);
  if (!stored) {
    if (store.read_only)
      return Error{fmt::format("state directory {} has no format version: not a paydist state", store.dir.string())};
    const std::string version = be32(kFormatVersion), seq = be64(kFirstOutputSeq);
    MDB_val k = to_val(kMetaFormatVersion), v = to_val(version);
    MDB_val sk = to_val(kMetaNextOutputSeq), sv = to_val(seq);
    int rc = mdb_put(txn, store.meta.dbi, &k, &v, 0);
    if (rc == 0) rc = mdb_put(txn, store.meta.dbi, &sk, &sv, 0);
    if (rc != 0)
      return Error{fmt::format("state directory {}: cannot write the format version: {}", store.dir.string(),
                               mdb_strerror(rc))};
    return Ok{};
  }
  if (stored->size() != 4)
    return Error{fmt::format("state directory {}: the format version record is corrupt ({} bytes)",
                             store.dir.string(), stored->size())};
  const std::uint64_t version = read_be(*stored);
  found = version;
  if (version > kFormatVersion)
    return Error{fmt::format("state directory {} was written by format version {}; this paydist reads up to {}",
                             store.dir.string(), version, kFormatVersion)};
  if (version < kOldestReadFormatVersion)
    return Error{fmt::format("state directory {} was written by format version {}, a development format this "
                             "paydist does not read (it reads {} to {}): replay the input into a new state directory",
                             store.dir.string(), version, kOldestReadFormatVersion, kFormatVersion)};
  return Ok{};
}

// Points the store's history handle at where a state of format `version` keeps its entries;
// a read-write open of a format 6 state first moves them (state_layout.h) in `txn`, which
// the caller commits: a crash before that commit leaves the state at format 6, as it was.
Status place_history(StateStore::Impl& store, MDB_txn* txn, std::uint64_t version) {
  store.history = store.accounts;
  if (version >= 7) return Ok{};
  PAYDIST_INVARIANT(version == 6);
  Db old{kFormat6HistoryDb};
  if (Status s = open_db(store, txn, old); !s) return s;
  if (store.read_only) {
    store.history = old;
    return Ok{};
  }
  auto failed = [&](const char* what, int rc) {
    return Error{fmt::format("state directory {}: moving format 6's history into the accounts database: {}: {}",
                             store.dir.string(), what, mdb_strerror(rc))};
  };
  std::uint64_t moved = 0;
  {
    Cursor c{txn, old};
    MDB_val k{}, v{};
    for (MDB_cursor_op op = MDB_FIRST; step(c.get(), old, op, k, v); op = MDB_NEXT) {
      if (!parse_history_key(to_view(k)))
        return Error{fmt::format("state directory {}: database '{}' key \"{}\": not a history key", store.dir.string(),
                                 old.name, printable(to_view(k)))};
      if (int rc = mdb_put(txn, store.accounts.dbi, &k, &v, MDB_NOOVERWRITE); rc != 0) return failed("put", rc);
      ++moved;
    }
  }
  if (int rc = mdb_drop(txn, old.dbi, 1); rc != 0) return failed("dropping the old database", rc);
  const std::string now = be32(kFormatVersion);
  MDB_val k = to_val(kMetaFormatVersion), v = to_val(now);
  if (int rc = mdb_put(txn, store.meta.dbi, &k, &v, 0); rc != 0) return failed("writing the format version", rc);
  std::fprintf(stderr, "paydist: state store %s: format 6 -> %u: %llu history entries moved into the accounts database\n",
               store.dir.c_str(), kFormatVersion, static_cast<unsigned long long>(moved));
  return Ok{};
}

// Opens the fired database (format 8). A read-write open of a format 6 or 7 state creates it
// in `txn` and writes version 8; a read-only one reads the state as having none.
Status place_fired(StateStore::Impl& store, MDB_txn* txn, std::uint64_t version) {
  if (version < 8 && store.read_only) return Ok{};
  if (Status s = open_db(store, txn, store.fired); !s) return s;
  store.has_fired = true;
  if (version >= 8) return Ok{};
  const std::string now = be32(kFormatVersion);
  MDB_val k = to_val(kMetaFormatVersion), v = to_val(now);
  if (int rc = mdb_put(txn, store.meta.dbi, &k, &v, 0); rc != 0)
    return Error{fmt::format("state directory {}: writing format version {}: {}", store.dir.string(), kFormatVersion,
                             mdb_strerror(rc))};
  std::fprintf(stderr, "paydist: state store %s: format %llu -> %u: the fired database added\n", store.dir.c_str(),
               static_cast<unsigned long long>(version), kFormatVersion);
  return Ok{};
}

// An account's record as it stands (state_layout.h, fired): the accounts database's, or the
// fired entry at that record's deadline key. `fired_key` is that key when the fired entry
// is the one.
struct CurrentRecord {
  std::string_view bytes;
  std::optional<std::string> fired_key;
};

// The fired record that stands for `account` (as its record in 'accounts' decodes), if there
// is one; its key is left in `key`.
std::optional<std::string_view> fired_record(MDB_txn* txn, const StateStore::Impl& store, const Account& account,
                                             std::string& key) {
  if (!store.has_fired || !account.indexed_deadline) return std::nullopt;
  deadline_key(account.timeline, DeadlineSlot{*account.indexed_deadline, account.seq}, key);
  return get(txn, store.fired, key);
}

// Replaces `account` (as its record in 'accounts' decodes) by the fired record that stands for
// it, if there is one (whose key is then in `key`). True when it did.
bool take_fired(MDB_txn* txn, const StateStore::Impl& store, Account& account, std::string& key) {
  const std::optional<std::string_view> fired = fired_record(txn, store, account, key);
  if (!fired) return false;
  account = decoded_or_fatal(decode_account(*fired), store.fired, key);
  return true;
}

// Visits the fired record at `record_key` and then its history entries, in key order:
// visit(key, value, entry number (none for the record)) returns false to stop. The views are
// the transaction's: valid until it writes.
template <class Visit>
void for_each_fired_key(MDB_txn* txn, const StateStore::Impl& store, std::string_view record_key, Visit visit) {
  Cursor cursor{txn, store.fired};
  MDB_val k = to_val(record_key), v{};
  for (MDB_cursor_op op = MDB_SET_RANGE; step(cursor.get(), store.fired, op, k, v); op = MDB_NEXT) {
    const std::string_view found = to_view(k);
    if (!found.starts_with(record_key)) break;
    std::optional<std::uint64_t> number;
    if (found.size() == kFiredEntryKeyBytes)
      number = read_be(found.substr(kDeadlineKeyBytes));
    else if (found.size() != kDeadlineKeyBytes)
      fatal(store.fired, found, "fired key of the wrong length");
    if (!visit(found, to_view(v), number)) break;
  }
}

std::optional<CurrentRecord> current_record(MDB_txn* txn, const StateStore::Impl& store, std::string_view id) {
  std::optional<std::string_view> bytes = get(txn, store.accounts, id);
  if (!bytes) return std::nullopt;
  CurrentRecord current{*bytes, std::nullopt};
  if (!store.has_fired) return current;
  const Account base = decoded_or_fatal(decode_account(*bytes), store.accounts, id);
  std::string key;
  if (std::optional<std::string_view> fired = fired_record(txn, store, base, key)) {
    current.bytes = *fired;
    current.fired_key = std::move(key);
  }
  return current;
}

// The account's kept history entries as rows under their account keys, oldest first: those
// in the accounts database, then those a fired entry holds (numbered after them).
void append_history_rows(MDB_txn* txn, const StateStore::Impl& store, std::string_view account_id,
                         const std::optional<std::string>& fired_key, std::vector<StateRow>& rows) {
  const Db& db = store.history;
  std::string key;
  history_key(account_id, 0, key);
  const std::string prefix = key.substr(0, account_id.size() + 1);
  {
    Cursor cursor{txn, db};
    MDB_val k = to_val(key), v{};
    for (MDB_cursor_op op = MDB_SET_RANGE; step(cursor.get(), db, op, k, v); op = MDB_NEXT) {
      const std::string_view found = to_view(k);
      if (!found.starts_with(prefix)) break;
      rows.push_back(StateRow{RowTable::history, std::string{found}, std::string{to_view(v)}});
    }
  }
  if (!fired_key) return;
  const std::size_t first_fired = rows.size();
  for_each_fired_key(txn, store, *fired_key, [&](std::string_view, std::string_view value, std::optional<std::uint64_t> number) {
    if (number) {
      history_key(account_id, *number, key);
      rows.push_back(StateRow{RowTable::history, key, std::string{value}});
    }
    return true;
  });
  // Entries are numbered in the order they were added and the fired ones came last, but an
  // entry written back from a changelog may not follow that: keep the rows in number order.
  if (first_fired > 0 && first_fired < rows.size())
    std::sort(rows.begin(), rows.end(), [&](const StateRow& a, const StateRow& b) {
      return read_be(std::string_view{a.key}.substr(prefix.size())) < read_be(std::string_view{b.key}.substr(prefix.size()));
    });
}

Status prepare_dir(const std::filesystem::path& dir, StoreOptions::Access access) {
  std::error_code ec;
  if (access == StoreOptions::Access::read_only) {
    if (!std::filesystem::exists(dir / "data.mdb", ec))
      return Error{fmt::format("state directory {} holds no paydist state", dir.string())};
    return Ok{};
  }
  if (std::filesystem::is_directory(dir, ec)) return Ok{};
  if (!std::filesystem::create_directories(dir, ec) && ec)
    return Error{fmt::format("cannot create state directory {}: {}", dir.string(), ec.message())};
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);  // best effort
  return Ok{};
}

// A read-write store holds an exclusive lock on DIR/writer.lock for its lifetime: a second
// writer (a replay next to the daemon) would otherwise race the batch's cached reads.
Status lock_writer(StateStore::Impl& store) {
  const std::filesystem::path path = store.dir / "writer.lock";
  store.writer_lock_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
  if (store.writer_lock_fd < 0)
    return Error{fmt::format("cannot open {}: {}", path.string(), std::strerror(errno))};
  if (::flock(store.writer_lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Error{fmt::format("state directory {} is in use by another writing process", store.dir.string())};
    return Error{fmt::format("cannot lock {}: {}", path.string(), std::strerror(errno))};
  }
  return Ok{};
}

}  // namespace

StateStore::StateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::open(const std::filesystem::path& dir, const StoreOptions& options) {
  if (Status s = prepare_dir(dir, options.access); !s) return Error{s.error()};
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->read_only = options.access == StoreOptions::Access::read_only;
  impl->history_retention = options.history_entries_per_account;
  impl->changelog = options.changelog;
  if (!impl->read_only)
    if (Status s = lock_writer(*impl); !s) return Error{s.error()};
  auto lmdb_error = [&](const char* what, int rc) {
    return Error{fmt::format("state directory {}: {}: {}", dir.string(), what, mdb_strerror(rc))};
  };

  if (int rc = mdb_env_create(&impl->env); rc != 0) return lmdb_error("cannot create the LMDB environment", rc);
  if (int rc = mdb_env_set_maxdbs(impl->env, kMaxDbs); rc != 0) return lmdb_error("cannot set maxdbs", rc);
  if (!impl->read_only) {
    const std::size_t page = 4096;
    const std::size_t map_bytes = (std::max(options.initial_map_bytes, page) + page - 1) / page * page;
    if (int rc = mdb_env_set_mapsize(impl->env, map_bytes); rc != 0) return lmdb_error("cannot set the map size", rc);
  }
  // Not MDB_WRITEMAP: measured in 0e7f654, it took replay's RssAnon from 801 to 291 MiB at
  // 4M lines but a business-date advance from about 90 to 101-178 ms at 1M-3M accounts
  // (README, Performance). The map is reserved on disk all the same (reserve_map).
  const unsigned flags = MDB_NOTLS | (impl->read_only ? MDB_RDONLY : 0);
  if (int rc = mdb_env_open(impl->env, dir.c_str(), flags, kFileMode); rc != 0)
    return lmdb_error("cannot open the LMDB environment", rc);
  if (!impl->read_only) {
    MDB_envinfo info{};
    mdb_env_info(impl->env, &info);
    if (Status s = impl->reserve_map(info.me_mapsize); !s) return Error{s.error()};
  }

  MDB_txn* raw = nullptr;
  if (int rc = mdb_txn_begin(impl->env, nullptr, impl->read_only ? MDB_RDONLY : 0, &raw); rc != 0)
    return lmdb_error("cannot begin a transaction", rc);
  Txn txn{raw};
  // The format version first: an older state may lack a database this format added.
  if (Status s = open_db(*impl, txn.get(), impl->meta); !s) return Error{s.error()};
  std::uint64_t version = 0;
  if (Status s = check_format(*impl, txn.get(), version); !s) return Error{s.error()};
  if (Status s = open_dbs(*impl, txn.get()); !s) return Error{s.error()};
  if (Status s = place_history(*impl, txn.get(), version); !s) return Error{s.error()};
  if (Status s = place_fired(*impl, txn.get(), version); !s) return Error{s.error()};
  if (Status s = load_state_id(*impl, txn.get()); !s) return Error{s.error()};
  // Committing (a read transaction too) keeps the database handles for the environment.
  if (int rc = txn.commit(); rc != 0) return lmdb_error("cannot commit the opening transaction", rc);
  return std::unique_ptr<StateStore>(new StateStore(std::move(impl)));
}

// ---------------------------------------------------------------------------------------
// Read side

std::optional<Account> StateStore::read_account(const AccountId& id) {
  ReadTxn txn{*impl_};
  std::optional<std::string_view> bytes = get(txn.get(), impl_->accounts, id.view());
  if (!bytes) return std::nullopt;
  Account account = decoded_or_fatal(decode_account(*bytes), impl_->accounts, id.view());
  std::string fired_key;
  take_fired(txn.get(), *impl_, account, fired_key);
  return account;
}

std::vector<HistoryEntry> StateStore::read_history(const AccountId& id) {
  const std::size_t prefix = id.view().size() + 1;  // the account id and its NUL
  std::vector<HistoryEntry> entries;
  for (const StateRow& row : read_history_rows(id.view())) {
    if (row.key.size() != prefix + 8) fatal(impl_->history, row.key, "history key of the wrong length");
    Result<std::string> text = decode_history_entry(*row.value);
    if (!text) fatal(impl_->history, row.key, text.error());
    entries.push_back(HistoryEntry{read_be(std::string_view{row.key}.substr(prefix)), std::move(*text)});
  }
  return entries;
}

std::vector<StateRow> StateStore::read_history_rows(std::string_view account_id) {
  ReadTxn txn{*impl_};
  std::vector<StateRow> rows;
  std::optional<std::string> fired_key;
  if (is_valid_id(account_id))
    if (std::optional<CurrentRecord> current = current_record(txn.get(), *impl_, account_id))
      fired_key = std::move(current->fired_key);
  append_history_rows(txn.get(), *impl_, account_id, fired_key, rows);
  return rows;
}

std::optional<TimelineState> StateStore::read_timeline(TimelineId timeline) {
  ReadTxn txn{*impl_};
  const std::string key = be32(timeline);
  std::optional<std::string_view> bytes = get(txn.get(), impl_->timelines, key);
  if (!bytes) return std::nullopt;
  return decoded_or_fatal(decode_timeline(*bytes), impl_->timelines, key);
}

std::optional<FilePosition> StateStore::read_file_position(const std::string& real_path) {
  ReadTxn txn{*impl_};
  const std::string key = path_key(real_path);
  std::optional<std::string_view> bytes = get(txn.get(), impl_->files, key);
  if (!bytes) return std::nullopt;
  FilePosition position = decoded_or_fatal(decode_file_position(*bytes), impl_->files, key);
  if (position.real_path != real_path) fatal(impl_->files, key, "the record holds another path");
  return position;
}

const std::string& StateStore::state_id() const { return impl_->state_id; }

std::optional<std::int64_t> StateStore::read_input_offset(const InputPartition& partition) {
  ReadTxn txn{*impl_};
  const std::string key = offset_key(partition);
  std::optional<std::string_view> bytes = get(txn.get(), impl_->offsets, key);
  if (!bytes) return std::nullopt;
  if (bytes->size() != 8) fatal(impl_->offsets, key, "offset of the wrong length");
  const std::uint64_t offset = read_be(*bytes);
  if (offset > static_cast<std::uint64_t>(INT64_MAX)) fatal(impl_->offsets, key, "offset out of range");
  return static_cast<std::int64_t>(offset);
}

std::optional<std::int64_t> StateStore::read_changelog_position(TimelineId timeline) {
  ReadTxn txn{*impl_};
  const std::string key = changelog_position_key(timeline);
  std::optional<std::string_view> bytes = get(txn.get(), impl_->meta, key);
  if (!bytes) return std::nullopt;
  if (bytes->size() != 8 || read_be(*bytes) > static_cast<std::uint64_t>(INT64_MAX))
    fatal(impl_->meta, key, "not a changelog position");
  return static_cast<std::int64_t>(read_be(*bytes));
}

namespace {

// The timeline's next partition seq as `txn` sees it (1 before any output).
std::uint64_t stored_partition_seq(MDB_txn* txn, const Db& meta, TimelineId timeline) {
  const std::string key = partition_output_seq_key(timeline);
  std::optional<std::string_view> bytes = get(txn, meta, key);
  if (!bytes) return 1;
  if (bytes->size() != 8) fatal(meta, key, "next partition output seq of the wrong length");
  return read_be(*bytes);
}

}  // namespace

std::uint64_t StateStore::read_partition_output_seq(TimelineId timeline) {
  ReadTxn txn{*impl_};
  return stored_partition_seq(txn.get(), impl_->meta, timeline);
}

std::optional<std::uint64_t> StateStore::read_output_file_length(const std::string& real_path) {
  ReadTxn txn{*impl_};
  const std::string key = path_key(real_path);
  std::optional<std::string_view> bytes = get(txn.get(), impl_->outfiles, key);
  if (!bytes) return std::nullopt;
  if (bytes->size() != 8) fatal(impl_->outfiles, key, fmt::format("length record of {} bytes", bytes->size()));
  return read_be(*bytes);
}

std::vector<PendingOutput> StateStore::read_outbox(std::size_t max_entries, std::uint64_t after_seq) {
  std::vector<PendingOutput> out;
  ReadTxn txn{*impl_};
  Cursor cursor{txn.get(), impl_->outbox};
  const std::string from = be64(after_seq + 1);
  MDB_val key = to_val(from), value{};
  for (MDB_cursor_op op = after_seq == 0 ? MDB_FIRST : MDB_SET_RANGE; out.size() < max_entries; op = MDB_NEXT) {
    if (!step(cursor.get(), impl_->outbox, op, key, value)) break;
    out.push_back(decoded_or_fatal(decode_pending_output(to_view(value)), impl_->outbox, to_view(key)));
  }
  return out;
}

void StateStore::for_each_account(const std::function<void(const Account&)>& visit) {
  ReadTxn txn{*impl_};
  Cursor cursor{txn.get(), impl_->accounts};
  MDB_val key{}, value{};
  std::string seek, fired_key;
  for (MDB_cursor_op op = MDB_FIRST; step_records(cursor.get(), impl_->accounts, op, key, value, seek); op = MDB_NEXT) {
    Account account = decoded_or_fatal(decode_account(to_view(value)), impl_->accounts, to_view(key));
    take_fired(txn.get(), *impl_, account, fired_key);
    visit(account);
  }
}

void changelog_key(TimelineId timeline, RowTable table, std::string_view row_key, std::string& out) {
  out.clear();
  append_be32(out, timeline);
  out.push_back(static_cast<char>(table));
  out.append(row_key);
}

std::string changelog_key(TimelineId timeline, const StateRow& row) {
  std::string key;
  changelog_key(timeline, row.table, row.key, key);
  return key;
}

std::string commit_row_key(TimelineId timeline) { return be32(timeline); }

std::string_view history_key_account(std::string_view key) {
  const std::optional<HistoryKeyParts> parts = parse_history_key(key);
  return parts ? parts->account_id : std::string_view{};
}

TimelineId changelog_key_timeline(std::string_view key) {
  return key.size() >= 4 ? static_cast<TimelineId>(read_be(key.substr(0, 4))) : 0;
}

Result<std::pair<TimelineId, StateRow>> changelog_row(std::string_view key, std::optional<std::string_view> value) {
  if (key.size() < 6) return Error{fmt::format("changelog key of {} bytes: too short", key.size())};
  const auto table = static_cast<std::uint8_t>(key[4]);
  if (table < static_cast<std::uint8_t>(RowTable::account) || table > static_cast<std::uint8_t>(RowTable::output_seq))
    return Error{fmt::format("changelog key names table {}, which is none of a timeline's", table)};
  StateRow row{static_cast<RowTable>(table), std::string{key.substr(5)},
               value ? std::optional<std::string>{std::string{*value}} : std::nullopt};
  return std::pair{static_cast<TimelineId>(read_be(key.substr(0, 4))), std::move(row)};
}

void StateStore::for_each_row(TimelineId timeline, const std::function<void(const StateRow&)>& visit) {
  Impl& s = *impl_;
  ReadTxn txn{s};
  // The ids of the timeline's accounts, each with the key of its fired entry if that stands for it.
  std::unordered_map<std::string, std::optional<std::string>> accounts;
  StateRow row;
  auto emit = [&](RowTable table, std::string_view key, std::string_view value) {
    row.table = table;
    row.key.assign(key);
    row.value.emplace(value);
    visit(row);
  };
  MDB_val k{}, v{};
  {
    Cursor c{txn.get(), s.accounts};
    std::string seek;
    std::string fired_key;
    for (MDB_cursor_op op = MDB_FIRST; step_records(c.get(), s.accounts, op, k, v, seek); op = MDB_NEXT) {
      const Account base = decoded_or_fatal(decode_account(to_view(v)), s.accounts, to_view(k));
      if (base.timeline != timeline) continue;
      std::optional<std::string_view> fired = fired_record(txn.get(), s, base, fired_key);
      accounts.emplace(to_view(k), fired ? std::optional<std::string>{fired_key} : std::nullopt);
      emit(RowTable::account, to_view(k), fired ? *fired : to_view(v));
    }
  }
  {
    Cursor c{txn.get(), s.events};
    for (MDB_cursor_op op = MDB_FIRST; step(c.get(), s.events, op, k, v); op = MDB_NEXT) {
      std::optional<EventKeyParts> parts = parse_event_key(to_view(k));
      if (!parts) fatal(s.events, to_view(k), "not an event key");
      if (parts->account_id ? accounts.contains(std::string{*parts->account_id}) : parts->timeline == timeline)
        emit(RowTable::event, to_view(k), to_view(v));
    }
  }
  {
    // Each account's entries in number order, wherever they are (accounts or fired), in
    // account order: the same rows whichever batches made the state.
    std::vector<std::string> ids;
    ids.reserve(accounts.size());
    for (const auto& [id, fired_key] : accounts) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    std::vector<StateRow> rows;
    for (const std::string& id : ids) {
      rows.clear();
      append_history_rows(txn.get(), s, id, accounts.at(id), rows);
      for (const StateRow& entry : rows) visit(entry);
    }
  }
  if (std::optional<std::string_view> bytes = get(txn.get(), s.timelines, be32(timeline)))
    emit(RowTable::timeline, be32(timeline), *bytes);
  if (std::optional<std::string_view> bytes = get(txn.get(), s.meta, partition_output_seq_key(timeline)))
    emit(RowTable::output_seq, be32(timeline), *bytes);
  {
    Cursor c{txn.get(), s.offsets};
    for (MDB_cursor_op op = MDB_FIRST; step(c.get(), s.offsets, op, k, v); op = MDB_NEXT) {
      std::optional<InputPartition> partition = parse_offset_key(to_view(k));
      if (!partition) fatal(s.offsets, to_view(k), "not an offsets key");
      if (partition->partition >= 0 && static_cast<TimelineId>(partition->partition) == timeline)
        emit(RowTable::input_offset, to_view(k), to_view(v));
    }
  }
}

std::uint64_t StateStore::count_accounts() {
  ReadTxn txn{*impl_};
  // The accounts database holds the history entries too (format 7): count the records alone.
  std::uint64_t records = 0;
  Cursor c{txn.get(), impl_->accounts};
  MDB_val k{}, v{};
  std::string seek;
  for (MDB_cursor_op op = MDB_FIRST; step_records(c.get(), impl_->accounts, op, k, v, seek); op = MDB_NEXT) ++records;
  return records;
}

namespace {

// Deletes the outbox entries with seq <= through_seq. Usually that is all of them (the file
// connector acknowledges each batch whole): then the database is emptied in one step, which
// frees its pages without visiting every entry.
WriteFailure trim_outbox(StateStore::Impl& store, MDB_txn* txn, std::uint64_t through_seq) {
  MDB_val key{}, value{};
  bool all_acknowledged = false;
  {
    Cursor last{txn, store.outbox};
    if (!step(last.get(), store.outbox, MDB_LAST, key, value)) return {};
    all_acknowledged = read_be(to_view(key)) <= through_seq;
  }
  if (all_acknowledged) {
    const int rc = mdb_drop(txn, store.outbox.dbi, 0);
    return rc == 0 ? WriteFailure{} : WriteFailure{rc, store.outbox.name, ""};
  }
  Cursor cursor{txn, store.outbox};
  while (step(cursor.get(), store.outbox, MDB_FIRST, key, value) && read_be(to_view(key)) <= through_seq) {
    if (int rc = mdb_cursor_del(cursor.get(), 0); rc != 0) return {rc, store.outbox.name, std::string{to_view(key)}};
  }
  return {};
}

// An acknowledgement: the outbox trimmed through `through_seq`, each file's mark recorded.
WriteFailure write_acknowledgement(StateStore::Impl& store, MDB_txn* txn, std::uint64_t through_seq,
                                   const std::vector<OutputFileMark>& marks) {
  if (WriteFailure failure = trim_outbox(store, txn, through_seq); failure.rc != 0) return failure;
  for (const OutputFileMark& mark : marks) {
    const std::string key = path_key(mark.real_path), length = be64(mark.length);
    MDB_val k = to_val(key), v = to_val(length);
    if (int rc = mdb_put(txn, store.outfiles.dbi, &k, &v, 0); rc != 0) return {rc, store.outfiles.name, key};
  }
  return {};
}

}  // namespace

Status StateStore::write_compacted_copy(int fd) {
  Impl& store = *impl_;
  for (;;) {
    int rc = 0;
    {
      std::shared_lock lock{store.map_mutex};  // like a read transaction: the copy is one
      rc = mdb_env_copyfd2(store.env, fd, MDB_CP_COMPACT);
    }
    if (rc == 0) return Ok{};
    if (rc != MDB_MAP_RESIZED)
      return Error{fmt::format("state store {}: compacted copy failed: {}", store.dir.string(), mdb_strerror(rc))};
    store.adopt_map_size();  // another process grew the map: start the copy again
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
      return Error{fmt::format("state store {}: cannot restart the copy: {}", store.dir.string(), std::strerror(errno))};
  }
}

Status StateStore::replace_state_id() {
  PAYDIST_INVARIANT(!impl_->read_only);
  if (Status s = wait_for_commits(); !s) return s;
  Impl& store = *impl_;
  const Impl::HeldWriter writer{store};
  Txn txn = store.begin_write();
  if (Status s = write_new_state_id(store, txn.get()); !s) return s;
  store.set_durability(Durability::synced);
  if (int rc = txn.commit(); rc != 0) return store.commit_error(WriteFailure{rc, nullptr, ""});
  store.unsynced = false;
  return Ok{};
}

Result<std::uint64_t> StateStore::drop_timeline(TimelineId timeline) {
  PAYDIST_INVARIANT(!impl_->read_only);
  if (Status s = wait_for_commits(); !s) return Error{s.error()};
  Impl& store = *impl_;
  const Impl::HeldWriter writer{store};
  Txn txn = store.begin_write();
  MDB_txn* t = txn.get();
  auto fail = [&](const Db& db, std::string_view key, int rc) {
    return Error{fmt::format("state store {}: dropping timeline {}: database '{}' key \"{}\": {}", store.dir.string(),
                             timeline, db.name, printable(key), mdb_strerror(rc))};
  };
  // Each cursor walk deletes what belongs to the timeline; after a delete, MDB_NEXT reads the
  // entry that took the deleted one's place (LMDB does not move the cursor again).
  auto sweep = [&](const Db& db, std::string_view from, const std::function<int(std::string_view, std::string_view)>& verdict)
      -> std::optional<Error> {
    Cursor c{t, db};
    MDB_val key = to_val(from), value{};
    int rc = mdb_cursor_get(c.get(), &key, &value, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
    while (rc == 0) {
      const int decision = verdict(to_view(key), to_view(value));  // 1 delete, 0 keep, -1 stop
      if (decision < 0) break;
      if (decision > 0) {
        if (int d = mdb_cursor_del(c.get(), 0); d != 0) return fail(db, to_view(key), d);
        rc = mdb_cursor_get(c.get(), &key, &value, MDB_NEXT);
        continue;
      }
      rc = mdb_cursor_get(c.get(), &key, &value, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return fail(db, to_view(key), rc);
    return std::nullopt;
  };
  std::unordered_set<std::string> accounts;
  // An account's history entries sort right after its record (format 7): the record's verdict
  // is known when its entries come.
  if (auto e = sweep(store.accounts, {}, [&](std::string_view key, std::string_view value) {
        if (is_history_entry_key(key)) {
          const std::optional<HistoryKeyParts> parts = parse_history_key(key);
          if (!parts) fatal(store.accounts, key, "neither an account nor a history key");
          return accounts.contains(std::string{parts->account_id}) ? 1 : 0;
        }
        if (decoded_or_fatal(decode_account(value), store.accounts, key).timeline != timeline) return 0;
        accounts.emplace(key);
        return 1;
      }))
    return *e;
  if (auto e = sweep(store.events, {}, [&](std::string_view key, std::string_view) {
        std::optional<EventKeyParts> parts = parse_event_key(key);
        if (!parts) fatal(store.events, key, "not an event key");
        return (parts->account_id ? accounts.contains(std::string{*parts->account_id}) : parts->timeline == timeline) ? 1 : 0;
      }))
    return *e;
  const std::string deadlines_prefix = be32(timeline);
  if (auto e = sweep(store.deadlines, deadlines_prefix, [&](std::string_view key, std::string_view) {
        return key.substr(0, deadlines_prefix.size()) == deadlines_prefix ? 1 : -1;
      }))
    return *e;
  // The fired database's keys start with the timeline too.
  if (store.has_fired)
    if (auto e = sweep(store.fired, deadlines_prefix, [&](std::string_view key, std::string_view) {
          return key.substr(0, deadlines_prefix.size()) == deadlines_prefix ? 1 : -1;
        }))
      return *e;
  if (auto e = sweep(store.offsets, {}, [&](std::string_view key, std::string_view) {
        std::optional<InputPartition> partition = parse_offset_key(key);
        if (!partition) fatal(store.offsets, key, "not an offsets key");
        return partition->partition >= 0 && static_cast<TimelineId>(partition->partition) == timeline ? 1 : 0;
      }))
    return *e;
  for (const auto& [db, key] : {std::pair<const Db*, std::string>{&store.timelines, be32(timeline)},
                                {&store.meta, changelog_position_key(timeline)},
                                {&store.meta, partition_output_seq_key(timeline)}}) {
    MDB_val kv = to_val(key);
    if (int rc = mdb_del(t, db->dbi, &kv, nullptr); rc != 0 && rc != MDB_NOTFOUND) return fail(*db, key, rc);
  }
  store.set_durability(Durability::synced);
  if (int rc = txn.commit(); rc != 0) return Error{store.commit_error(WriteFailure{rc, nullptr, ""}).error()};
  store.unsynced = false;
  return static_cast<std::uint64_t>(accounts.size());
}

namespace {

// Where a row of `timeline` lives: its database and its key there (none for a commit row, or
// a key of another timeline).
std::optional<std::pair<const Db*, std::string>> row_location(const StateStore::Impl& store, TimelineId timeline,
                                                              RowTable table, std::string_view key) {
  switch (table) {
    case RowTable::account: return std::pair{&store.accounts, std::string{key}};
    case RowTable::event: return std::pair{&store.events, std::string{key}};
    case RowTable::history: return std::pair{&store.history, std::string{key}};
    case RowTable::input_offset: return std::pair{&store.offsets, std::string{key}};
    case RowTable::timeline:
      if (key != be32(timeline)) return std::nullopt;
      return std::pair{&store.timelines, std::string{key}};
    case RowTable::output_seq:
      if (key != be32(timeline)) return std::nullopt;
      return std::pair{&store.meta, partition_output_seq_key(timeline)};
    case RowTable::commit: return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> StateStore::read_row(TimelineId timeline, RowTable table, std::string_view key) {
  const std::optional<std::pair<const Db*, std::string>> at = row_location(*impl_, timeline, table, key);
  if (!at) return std::nullopt;
  ReadTxn txn{*impl_};
  if (table == RowTable::account) {
    if (!is_valid_id(key)) return std::nullopt;
    std::optional<CurrentRecord> current = current_record(txn.get(), *impl_, key);
    if (!current) return std::nullopt;
    return std::string{current->bytes};
  }
  std::optional<std::string_view> bytes = get(txn.get(), *at->first, at->second);
  if (!bytes && table == RowTable::history) {  // perhaps held by the account's fired entry
    const std::optional<HistoryKeyParts> parts = parse_history_key(key);
    if (!parts || !is_valid_id(parts->account_id)) return std::nullopt;
    std::optional<CurrentRecord> current = current_record(txn.get(), *impl_, parts->account_id);
    if (!current || !current->fired_key) return std::nullopt;
    std::string entry;
    fired_entry_key(*current->fired_key, parts->number, entry);
    bytes = get(txn.get(), impl_->fired, entry);
  }
  if (!bytes) return std::nullopt;
  return std::string{*bytes};
}

Status StateStore::delete_rows(TimelineId timeline, const std::vector<StateRow>& rows) {
  PAYDIST_INVARIANT(!impl_->read_only);
  if (Status s = wait_for_commits(); !s) return s;
  Impl& store = *impl_;
  const Impl::HeldWriter writer{store};
  Txn txn = store.begin_write();
  MDB_txn* t = txn.get();
  auto del = [&](const Db& db, const std::string& k) -> Status {
    MDB_val kv = to_val(k);
    if (int rc = mdb_del(t, db.dbi, &kv, nullptr); rc != 0 && rc != MDB_NOTFOUND)
      return Error{fmt::format("state store {}: deleting database '{}' key \"{}\": {}", store.dir.string(), db.name,
                               printable(k), mdb_strerror(rc))};
    return Ok{};
  };
  for (const StateRow& row : rows) {
    const std::optional<std::pair<const Db*, std::string>> at = row_location(store, timeline, row.table, row.key);
    if (!at)
      return Error{fmt::format("state store {}: no row of timeline {} in table {} has the key \"{}\"",
                               store.dir.string(), timeline, static_cast<int>(row.table), printable(row.key))};
    // A fired entry standing for the account goes with it (the record and its entries), or
    // with the entry of it named.
    std::optional<CurrentRecord> current;
    if (row.table == RowTable::account && is_valid_id(row.key)) current = current_record(t, store, row.key);
    if (row.table == RowTable::history)
      if (const std::optional<HistoryKeyParts> parts = parse_history_key(row.key); parts && is_valid_id(parts->account_id))
        current = current_record(t, store, parts->account_id);
    if (current && row.table == RowTable::account) {
      // The index entry is where the account as it stands has it.
      const Account account = decoded_or_fatal(decode_account(current->bytes), current->fired_key ? store.fired : store.accounts,
                                               current->fired_key ? std::string_view{*current->fired_key} : at->second);
      if (account.indexed_deadline) {
        std::string deadline;
        deadline_key(account.timeline, DeadlineSlot{*account.indexed_deadline, account.seq}, deadline);
        if (Status s = del(store.deadlines, deadline); !s) return s;
      }
    }
    if (current && current->fired_key) {
      std::vector<std::string> keys;  // the record and its entries, or the entry named
      if (row.table == RowTable::history) {
        fired_entry_key(*current->fired_key, parse_history_key(row.key)->number, keys.emplace_back());
      } else {
        for_each_fired_key(t, store, *current->fired_key, [&](std::string_view key, std::string_view, auto) {
          keys.emplace_back(key);
          return true;
        });
      }
      for (const std::string& key : keys)
        if (Status s = del(store.fired, key); !s) return s;
    }
    if (Status s = del(*at->first, at->second); !s) return s;
  }
  store.set_durability(Durability::buffered);
  if (int rc = txn.commit(); rc != 0) return store.commit_error(WriteFailure{rc, nullptr, ""});
  store.unsynced = true;
  return Ok{};
}

void state_layout::RawAccess::read(StateStore& store, const std::function<void(const RawTables&)>& read) {
  StateStore::Impl& impl = *store.impl_;
  ReadTxn txn{impl};
  RawTables tables;
  tables.txn = txn.get();
  tables.meta = impl.meta;
  tables.accounts = impl.accounts;
  tables.events = impl.events;
  tables.deadlines = impl.deadlines;
  tables.timelines = impl.timelines;
  tables.files = impl.files;
  tables.outfiles = impl.outfiles;
  tables.outbox = impl.outbox;
  tables.history = impl.history;
  tables.offsets = impl.offsets;
  tables.fired = impl.fired;
  tables.has_fired = impl.has_fired;
  read(tables);
}

Status StateStore::acknowledge_outbox(std::uint64_t through_seq, const std::vector<OutputFileMark>& marks) {
  PAYDIST_INVARIANT(!impl_->read_only);
  if (Status s = wait_for_commits(); !s) return s;
  Impl& store = *impl_;
  const Impl::HeldWriter writer{store};

  for (;;) {
    Txn txn = store.begin_write();
    WriteFailure failure = write_acknowledgement(store, txn.get(), through_seq, marks);
    int rc = failure.rc;
    if (rc == 0) {
      PAYDIST_FAULT_POINT("ack:after-put");
      store.set_durability(Durability::synced);
      rc = txn.commit();
      if (rc == 0) {
        store.unsynced = false;
        PAYDIST_FAULT_POINT("ack:after-commit");
        return Ok{};
      }
      failure = {rc, nullptr, ""};
    }
    txn.abort();
    if (rc != MDB_MAP_FULL) return store.commit_error(failure);
    if (Status s = store.grow_map(0); !s) return s;
  }
}

// ---------------------------------------------------------------------------------------
// Batch

struct StateStore::Batch::Impl : BatchBuffers {
  StateStore::Impl& store;
  TimelineId timeline;  // the one messages apply to now (switch_timeline)
  TimelineChanges* changes = nullptr;  // timelines[timeline]
  // Reads go through a read transaction (opened at the first read) and the batch's own
  // writes; the write transaction exists only inside commit.
  std::optional<ReadTxn> reader;
  Txn txn;
  bool committed = false;
  bool holds_writer = true;  // until the batch ends: committed, handed over, failed or destroyed
  // The batch committing in the background when this one began: its writes are read as if
  // committed until it is (settle_predecessor). `doomed`: it failed, so this batch can only
  // fail too.
  std::shared_ptr<const Impl> predecessor;
  bool doomed = false;
  // Background commit: set by the committer under store.commit_mutex.
  bool background_done = false;

  Impl(StateStore::Impl& s, TimelineId t, std::shared_ptr<const Impl> before)
      : BatchBuffers(s.take_buffers()), store(s), timeline(t), predecessor(std::move(before)) {
    changes = &timelines[t];
  }
  ~Impl() {
    reader.reset();
    txn.abort();
    store.give_back(std::move(static_cast<BatchBuffers&>(*this)));
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  MDB_txn* read_txn() {
    if (!reader) reader.emplace(store);
    return reader->get();
  }

  // Aborts what is not committed and lets the next writer in.
  void end() {
    reader.reset();
    txn.abort();
    if (std::exchange(holds_writer, false)) {
      if (store.open_batch == this) store.open_batch = nullptr;
      store.release_writer();
    }
  }

  // Waits for the predecessor's commit. On success its writes are in LMDB: the overlay goes
  // and reads start from a new snapshot. No read transaction is held while waiting (the
  // commit may have to grow the map, which needs every reader out).
  void settle_predecessor() {
    if (!predecessor) return;
    reader.reset();
    std::unique_lock lock{store.commit_mutex};
    store.commit_changed.wait(lock, [&] { return predecessor->background_done; });
    if (store.background_failure) {
      doomed = true;
      return;
    }
    lock.unlock();
    predecessor.reset();
    for (auto& [id, t] : timelines) {
      t.scan_from.clear();
      t.scan_exhausted = false;
      t.predecessor_added_from.reset();
      t.predecessor_added_exhausted = false;
      t.predecessor_added.reset();
    }
  }
  Status commit_now(Durability durability);

  const std::string& event_key_of(EventScope scope, const EventId& id) {
    event_key(timeline, scope, id, event_key_buffer);
    return event_key_buffer;
  }
  const TimelineChanges* predecessor_changes() const;
  bool entry_live(Date date, std::string_view account_id);
  std::string live_lookup;  // entry_live's key buffer
  std::optional<DeadlineEntry> first_stored_deadline(Date up_to);
  std::optional<DeadlineEntry> first_predecessor_deadline(Date up_to);
  WriteFailure write_all(std::string& scratch);
  WriteFailure write_history(std::string& key, std::string& scratch);
  std::size_t estimated_bytes() const;
  // Leaf pages of the accounts database (records and history entries), as the batch's
  // snapshot saw it at the first estimated_dirty_pages() (its size changes little within a
  // batch).
  std::optional<std::size_t> leaf_pages;
  std::uint64_t load_next_output_seq();
  std::uint64_t next_output_seq() const { return *first_output_seq + outputs.size(); }
  std::uint64_t take_partition_seq();
  void add_output(OutputTopic topic, std::string_view key, std::string_view json);
  void capture_changelog();
  QueuedOutput output(std::size_t index) const;
  std::optional<Date> fired_at_before(std::string_view id);
  std::string fired_lookup;  // load_account's fired key buffer
  // The fired entry (key) that holds the account's history now, if one does: for history
  // written or trimmed at commit, inside the write transaction after write_all's records.
  std::optional<std::string> fired_key_in_txn(std::string_view account_id);
  WriteFailure fold_fired(const AccountRecords::value_type& record);
};

std::unique_ptr<StateStore::Batch> StateStore::begin(TimelineId timeline) {
  PAYDIST_INVARIANT(!impl_->read_only);
  impl_->acquire_writer();
  std::shared_ptr<const Batch::Impl> before;
  {
    std::lock_guard lock{impl_->commit_mutex};
    if (impl_->in_flight && !impl_->in_flight->background_done) before = impl_->in_flight;
  }
  auto batch = std::make_shared<Batch::Impl>(*impl_, timeline, std::move(before));
  impl_->open_batch = batch.get();
  return std::make_unique<Batch>(std::move(batch));
}

StateStore::Batch::Batch(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

StateStore::Batch::~Batch() { impl_->end(); }

bool StateStore::Batch::event_accepted(EventScope scope, const EventId& id) {
  Impl& b = *impl_;
  const std::string& key = b.event_key_of(scope, id);
  if (key == b.last_absent_event) return false;
  if (b.accepted_events.contains(key)) return true;
  if (b.predecessor && b.predecessor->accepted_events.contains(key)) return true;
  if (get(b.read_txn(), b.store.events, key)) return true;
  b.last_absent_event = key;
  return false;
}

void StateStore::Batch::mark_event_accepted(EventScope scope, const EventId& id) {
  Impl& b = *impl_;
  const std::string& key = b.event_key_of(scope, id);
  if (key == b.last_absent_event) b.last_absent_event.clear();
  if (b.accepted_events.insert(key) && b.store.changelog) b.changelog_events.emplace_back(key, b.timeline);
}

std::optional<Account> StateStore::Batch::load_account(const AccountId& id) {
  Impl& b = *impl_;
  if (auto it = b.account_records.find(id.str()); it != b.account_records.end())
    return decoded_or_fatal(decode_account(it->second.record), b.store.accounts, id.view());
  b.last_load.assign(id.view());
  b.last_load_fired_at.reset();
  if (b.predecessor)
    if (auto it = b.predecessor->account_records.find(id.str()); it != b.predecessor->account_records.end()) {
      if (it->second.lazy) b.last_load_fired_at = it->second.fired_date();
      return decoded_or_fatal(decode_account(it->second.record), b.store.accounts, id.view());
    }
  std::optional<std::string_view> bytes = get(b.read_txn(), b.store.accounts, id.view());
  if (!bytes) return std::nullopt;
  Account account = decoded_or_fatal(decode_account(*bytes), b.store.accounts, id.view());
  // Decoded once: the stored record names the fired entry that may stand for it. Only a
  // record whose deadline is on or before the business date can have one (a message leaves
  // its account's next deadline after the business date, and only an advance past that
  // deadline fires it), so most loads need not look (the processor has read the timeline).
  if (account.timeline == b.timeline && b.changes->state) {
    const std::optional<Date>& business_date = b.changes->state->business_date;
    if (!business_date || !account.indexed_deadline || *account.indexed_deadline > *business_date) return account;
  }
  const std::optional<Date> stored_deadline = account.indexed_deadline;
  if (take_fired(b.read_txn(), b.store, account, b.fired_lookup)) b.last_load_fired_at = stored_deadline;
  return account;
}

// The date of the fired entry that stands for the account in this batch's view before the
// batch stores it (none: its record in 'accounts' does, or it is new).
std::optional<Date> StateStore::Batch::Impl::fired_at_before(std::string_view id) {
  if (id == last_load) return last_load_fired_at;
  if (predecessor)
    if (auto it = predecessor->account_records.find(std::string{id}); it != predecessor->account_records.end())
      return it->second.lazy ? std::optional<Date>{it->second.fired_date()} : std::nullopt;
  std::optional<std::string_view> bytes = get(read_txn(), store.accounts, id);
  if (!bytes) return std::nullopt;
  const Account stored = decoded_or_fatal(decode_account(*bytes), store.accounts, id);
  if (!fired_record(read_txn(), store, stored, fired_lookup)) return std::nullopt;
  return stored.indexed_deadline;  // the fired record's key date
}

void StateStore::Batch::store_account(const Account& account, std::optional<Date> previous_deadline) {
  store(account, previous_deadline, false);
}

void StateStore::Batch::store_fired(const Account& account, std::optional<Date> previous_deadline) {
  store(account, previous_deadline, true);
}

void StateStore::Batch::store(const Account& account, std::optional<Date> previous_deadline, bool fired) {
  Impl& b = *impl_;
  auto [it, inserted] = b.account_records.try_emplace(account.id.str());
  BatchBuffers::StoredAccount& stored = it->second;
  // Fired-only (state_layout.h, fired) while every store of it here is an advance's, and
  // only an account whose deadline fired (an index entry to key it by).
  const bool was_lazy = !inserted && stored.lazy;
  if (inserted) {
    stored.fired_at = b.fired_at_before(it->first);
    stored.lazy = fired && b.store.has_fired && account.timeline == b.timeline && (stored.fired_at || previous_deadline);
  } else {
    stored.lazy = stored.lazy && fired;
  }
  b.lazy_records = b.lazy_records + (stored.lazy ? 1 : 0) - (was_lazy ? 1 : 0);
  if (b.store.changelog) b.changelog_accounts.insert_or_assign(it->first, b.timeline);
  if (account.timeline == b.timeline) {
    encode_account(account, stored.record);
  } else {  // new here: it lives on this batch's timeline
    Account placed = account;
    placed.timeline = b.timeline;
    encode_account(placed, stored.record);
  }
  // The index entry: where it was before this batch (the first store's previous_deadline),
  // where it is now. Most messages leave it where it was.
  if (inserted) {
    stored.timeline = b.timeline;
    stored.seq = account.seq;
    stored.deadline_before = stored.deadline_now = previous_deadline;
  }
  if (stored.deadline_now == account.indexed_deadline) return;
  const bool was_moved = stored.deadline_moved();
  stored.deadline_now = account.indexed_deadline;
  b.deadlines_moved = b.deadlines_moved + (stored.deadline_moved() ? 1 : 0) - (was_moved ? 1 : 0);
  if (stored.deadline_now) {
    std::vector<BatchBuffers::AddedEntry>& heap = b.changes->added_heap;
    heap.push_back({DeadlineSlot{*stored.deadline_now, stored.seq}, &*it});
    std::push_heap(heap.begin(), heap.end(), std::greater<>{});
  }
}

// What the predecessor changed in this batch's timeline, while it is not yet in LMDB.
const BatchBuffers::TimelineChanges* StateStore::Batch::Impl::predecessor_changes() const {
  if (!predecessor) return nullptr;
  auto it = predecessor->timelines.find(timeline);
  return it == predecessor->timelines.end() ? nullptr : &it->second;
}

// Whether the index entry of `account_id` at `date` is live in this batch's view: the newest
// layer that stored the account (this batch, else the predecessor still committing) says
// where its entry is; an account neither stored has its entry where LMDB has it.
bool StateStore::Batch::Impl::entry_live(Date date, std::string_view account_id) {
  live_lookup.assign(account_id);
  if (auto it = account_records.find(live_lookup); it != account_records.end())
    return it->second.deadline_now == date;
  if (predecessor)
    if (auto it = predecessor->account_records.find(live_lookup); it != predecessor->account_records.end())
      return it->second.deadline_now == date;
  return true;
}

// The first index entry in LMDB up to `up_to` that is live (neither this batch nor its
// predecessor moved its account elsewhere).
std::optional<DeadlineEntry> StateStore::Batch::Impl::first_stored_deadline(Date up_to) {
  std::string& scan_from = changes->scan_from;
  if (changes->scan_exhausted) return std::nullopt;
  if (scan_from.empty()) deadline_key(timeline, DeadlineSlot{Date::from_serial(INT32_MIN), 0}, scan_from);
  const Db& db = store.deadlines;
  Cursor cursor{read_txn(), db};
  MDB_val key = to_val(scan_from), value{};
  for (MDB_cursor_op op = MDB_SET_RANGE;; op = MDB_NEXT) {
    if (!step(cursor.get(), db, op, key, value)) break;
    const std::string_view k = to_view(key);
    if (k.size() != kDeadlineKeyBytes) fatal(db, k, "deadline key of the wrong length");
    if (read_be(k.substr(0, 4)) != timeline) break;  // past this timeline's entries
    const DeadlineSlot slot{date_from_key(static_cast<std::uint32_t>(read_be(k.substr(4, 4)))), read_be(k.substr(8))};
    scan_from.assign(k);
    if (slot.date() > up_to) return std::nullopt;
    const std::string_view id = to_view(value);
    if (!is_valid_id(id)) fatal(db, k, "the value is not an account id");
    if (!entry_live(slot.date(), id)) continue;
    return DeadlineEntry{slot.date(), slot.account_seq(), AccountId::trusted(id)};
  }
  changes->scan_exhausted = true;
  return std::nullopt;
}

// The first entry up to `up_to` that the predecessor added and this batch did not move away.
std::optional<DeadlineEntry> StateStore::Batch::Impl::first_predecessor_deadline(Date up_to) {
  if (changes->predecessor_added_exhausted) return std::nullopt;
  std::optional<std::vector<BatchBuffers::AddedEntry>>& sorted = changes->predecessor_added;
  if (!sorted) {  // the predecessor no longer changes: gathered once, from its heap here
    sorted.emplace();
    if (const TimelineChanges* before = predecessor_changes())
      for (const BatchBuffers::AddedEntry& e : before->added_heap)
        if (e.current() && e.account->second.deadline_moved()) sorted->push_back(e);
    auto by_slot = [](const auto& a, const auto& b) { return a.slot < b.slot; };
    std::sort(sorted->begin(), sorted->end(), by_slot);
    // An account moved away and back has its slot in the heap twice.
    sorted->erase(std::unique(sorted->begin(), sorted->end(),
                              [](const auto& a, const auto& b) { return a.slot == b.slot; }),
                  sorted->end());
  }
  std::optional<DeadlineSlot>& from = changes->predecessor_added_from;
  auto added = sorted->begin();
  if (from)
    added = std::lower_bound(sorted->begin(), sorted->end(), *from,
                             [](const BatchBuffers::AddedEntry& e, DeadlineSlot slot) { return e.slot < slot; });
  while (added != sorted->end() && !entry_live(added->slot.date(), added->account->first)) ++added;
  if (added == sorted->end()) {
    changes->predecessor_added_exhausted = true;
    return std::nullopt;
  }
  from = added->slot;
  if (added->slot.date() > up_to) return std::nullopt;
  return DeadlineEntry{added->slot.date(), added->slot.account_seq(), AccountId::trusted(added->account->first)};
}

// Three layers, the newest deciding: LMDB's index, the changes of the predecessor still
// committing, this batch's own. Merging the predecessor's changes (rather than waiting for
// its commit) keeps a business date from stalling the apply thread behind the committer.
// If the read snapshot already holds the predecessor's commit, merging its changes again
// changes nothing. An entry is the same slot in every layer, so ties need no order.
std::optional<DeadlineEntry> StateStore::Batch::first_deadline_up_to(Date up_to) {
  Impl& b = *impl_;
  std::optional<DeadlineEntry> first = b.first_stored_deadline(up_to);
  auto keep_earlier = [&](std::optional<DeadlineEntry> candidate) {
    if (candidate && (!first || DeadlineSlot{candidate->date, candidate->account_seq} <
                                    DeadlineSlot{first->date, first->account_seq}))
      first = std::move(candidate);
  };
  if (b.predecessor) keep_earlier(b.first_predecessor_deadline(up_to));
  // This batch's earliest live entry: the heap's top, once the dead ones are popped.
  std::vector<BatchBuffers::AddedEntry>& heap = b.changes->added_heap;
  while (!heap.empty() && !heap.front().current()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    heap.pop_back();
  }
  if (!heap.empty() && heap.front().slot.date() <= up_to) {
    const BatchBuffers::AddedEntry& top = heap.front();
    keep_earlier(DeadlineEntry{top.slot.date(), top.slot.account_seq(), AccountId::trusted(top.account->first)});
  }
  return first;
}

TimelineState StateStore::Batch::timeline() {
  Impl& b = *impl_;
  std::optional<TimelineState>& state = b.changes->state;
  if (!state && b.predecessor)
    if (auto it = b.predecessor->timelines.find(b.timeline); it != b.predecessor->timelines.end() && it->second.state)
      state = it->second.state;
  if (!state) {
    const std::string key = be32(b.timeline);
    std::optional<std::string_view> bytes = get(b.read_txn(), b.store.timelines, key);
    state = bytes ? decoded_or_fatal(decode_timeline(*bytes), b.store.timelines, key) : TimelineState{};
  }
  return *state;
}

void StateStore::Batch::store_timeline(const TimelineState& timeline) {
  impl_->changes->state = timeline;
  impl_->changes->state_dirty = true;
}

void StateStore::Batch::switch_timeline(TimelineId timeline) {
  impl_->timeline = timeline;
  impl_->changes = &impl_->timelines[timeline];
}

std::uint64_t StateStore::Batch::Impl::load_next_output_seq() {
  if (predecessor && predecessor->first_output_seq) return predecessor->next_output_seq();
  std::optional<std::string_view> bytes = get(read_txn(), store.meta, kMetaNextOutputSeq);
  if (!bytes) return kFirstOutputSeq;
  if (bytes->size() != 8) fatal(store.meta, kMetaNextOutputSeq, "next output seq of the wrong length");
  return read_be(*bytes);
}

Status StateStore::Batch::import_row(TimelineId timeline, const StateRow& row) {
  Impl& b = *impl_;
  auto bad = [&](std::string_view why) {
    return Error{fmt::format("state row of timeline {}, table {}, key \"{}\": {}", timeline,
                             static_cast<int>(row.table), printable(row.key), why)};
  };
  if (!row.value && row.table != RowTable::history)
    return bad("deleted: only a history entry's tombstone is imported in a batch (StateStore::delete_rows)");
  b.imported = true;
  switch (row.table) {
    case RowTable::account: {
      Result<Account> account = decode_account(*row.value);
      if (!account) return bad(account.error());
      if (account->id.view() != row.key) return bad(fmt::format("the record is account \"{}\"", account->id.view()));
      if (account->timeline != timeline) return bad(fmt::format("the account lives on timeline {}", account->timeline));
      switch_timeline(timeline);
      const std::optional<Account> here = load_account(account->id);
      store_account(*account, here ? here->indexed_deadline : std::nullopt);
      return Ok{};
    }
    case RowTable::event: {
      std::optional<EventKeyParts> parts = parse_event_key(row.key);
      if (!parts || !is_valid_id(parts->event_id)) return bad("not an event key");
      if (!parts->account_id && parts->timeline != timeline) return bad("a business_date event of another timeline");
      if (!row.value->empty()) return bad("an event row holds no value");
      b.accepted_events.insert(row.key);
      return Ok{};
    }
    case RowTable::history: {
      std::optional<HistoryKeyParts> parts = parse_history_key(row.key);
      if (!parts || !is_valid_id(parts->account_id)) return bad("not a history key");
      using Kind = Impl::HistoryImport::Kind;
      if (!row.value || row.value->empty()) {
        b.history_rows.push_back({row.value ? Kind::exactly : Kind::through, row.key, {}});
        return Ok{};
      }
      if (Result<std::string> text = decode_history_entry(*row.value); !text) return bad(text.error());
      b.history_rows.push_back({Kind::put, row.key, *row.value});
      return Ok{};
    }
    case RowTable::timeline: {
      if (row.key != be32(timeline)) return bad("the record of another timeline");
      Result<TimelineState> state = decode_timeline(*row.value);
      if (!state) return bad(state.error());
      switch_timeline(timeline);
      store_timeline(*state);
      return Ok{};
    }
    case RowTable::input_offset: {
      std::optional<InputPartition> partition = parse_offset_key(row.key);
      if (!partition) return bad("not an offsets key");
      if (partition->partition < 0 || static_cast<TimelineId>(partition->partition) != timeline)
        return bad("the offset of another partition");
      if (row.value->size() != 8 || read_be(*row.value) > static_cast<std::uint64_t>(INT64_MAX))
        return bad("not an offset");
      set_input_offset(*partition, static_cast<std::int64_t>(read_be(*row.value)));
      return Ok{};
    }
    case RowTable::output_seq: {
      if (row.key != be32(timeline)) return bad("the output seq of another timeline");
      if (row.value->size() != 8 || read_be(*row.value) < 1) return bad("not a partition output seq");
      switch_timeline(timeline);
      b.changes->next_partition_seq = read_be(*row.value);
      b.changes->partition_seq_dirty = true;
      return Ok{};
    }
    case RowTable::commit:
      if (row.key != be32(timeline)) return bad("the commit of another timeline");
      if (!row.value->empty()) return bad("a commit row holds no value");
      return Ok{};
  }
  return bad("unknown table");
}

void StateStore::Batch::add_output(OutputTopic topic, std::string_view key, std::string_view json) {
  impl_->add_output(topic, key, json);
}

void StateStore::Batch::Impl::add_output(OutputTopic topic, std::string_view key, std::string_view json) {
  if (!first_output_seq) first_output_seq = load_next_output_seq();
  const bool changelog_record = topic == OutputTopic::state_changelog || topic == OutputTopic::state_changelog_deleted;
  const TimelineId from = changelog_record ? changelog_key_timeline(key) : timeline;
  const std::uint64_t partition_seq = changelog_record ? 0 : take_partition_seq();
  const std::size_t record_begin = output_records.size();
  const AppendedOutput at =
      append_pending_output(next_output_seq(), topic, key, json, from, partition_seq, output_records);
  outputs.push_back({topic, record_begin, at.key_begin, key.size(), at.json_begin, json.size(), from, partition_seq});
}

// The current timeline's next partition seq, counted: this batch's, else the predecessor's
// (still committing), else the stored one, else 1.
std::uint64_t StateStore::Batch::Impl::take_partition_seq() {
  if (!changes->next_partition_seq) {
    const TimelineChanges* before = predecessor_changes();
    if (before && before->next_partition_seq) {
      changes->next_partition_seq = before->next_partition_seq;
    } else {
      changes->next_partition_seq = stored_partition_seq(read_txn(), store.meta, timeline);
    }
  }
  changes->partition_seq_dirty = true;
  return (*changes->next_partition_seq)++;
}

QueuedOutput StateStore::Batch::Impl::output(std::size_t index) const {
  const OutputSlot& slot = outputs[index];
  const std::string_view records = output_records;
  return QueuedOutput{*first_output_seq + index,
                      slot.topic,
                      records.substr(slot.key_begin, slot.key_size),
                      records.substr(slot.json_begin, slot.json_size),
                      slot.timeline,
                      slot.partition_seq};
}

void StateStore::Batch::for_each_output(const std::function<void(const QueuedOutput&)>& visit) const {
  for (std::size_t i = 0; i < impl_->outputs.size(); ++i) visit(impl_->output(i));
}

void StateStore::Batch::acknowledge_outbox(std::uint64_t through_seq, std::vector<OutputFileMark> marks) {
  PAYDIST_INVARIANT(!impl_->first_output_seq || through_seq < *impl_->first_output_seq);
  impl_->acknowledgement = BatchBuffers::Acknowledgement{through_seq, std::move(marks)};
}

bool StateStore::Batch::keeps_history() const { return impl_->store.history_retention > 0; }

void StateStore::Batch::append_history(const Account& account, std::string entry) {
  Impl& b = *impl_;
  PAYDIST_INVARIANT(account.history_entries > 0);
  const std::uint64_t number = account.history_entries - 1;
  std::string key;
  history_key(account.id.view(), number, key);
  b.history_entries.emplace_back(std::move(key), std::move(entry));
  if (b.store.changelog) {
    b.history_timelines.push_back(b.timeline);
    b.changelog_accounts.insert_or_assign(account.id.str(), b.timeline);
  }
  if (account.history_entries > b.store.history_retention)
    b.history_keep_from.insert_or_assign(account.id.str(), account.history_entries - b.store.history_retention);
}

void StateStore::Batch::set_file_position(const FilePosition& position) {
  impl_->file_positions.insert_or_assign(position.real_path, position);
}

void StateStore::Batch::set_changelog_position(TimelineId timeline, std::int64_t next_offset) {
  PAYDIST_INVARIANT(next_offset >= 0);
  impl_->changelog_positions.insert_or_assign(timeline, next_offset);
}

void StateStore::Batch::set_input_offset(const InputPartition& partition, std::int64_t next_offset) {
  PAYDIST_INVARIANT(next_offset >= 0);
  impl_->input_offsets.insert_or_assign(offset_key(partition), next_offset);
}

namespace {

// The leaf pages that `rows` puts at random keys touch, in a database of `leaves` leaf pages:
// each page is missed by every row with probability (1 - 1/leaves)^rows ~ exp(-rows/leaves).
// A database smaller than the rows (or empty) gets a page per row it could hold.
double random_pages_touched(std::size_t leaves, std::size_t rows) {
  if (rows == 0) return 0;
  const double l = static_cast<double>(std::max<std::size_t>(leaves, 1));
  return l * -std::expm1(-static_cast<double>(rows) / l);
}

std::size_t leaf_pages_of(MDB_txn* txn, const Db& db) {
  MDB_stat st{};
  if (mdb_stat(txn, db.dbi, &st) != 0) return 0;
  return st.ms_leaf_pages;
}

}  // namespace

std::size_t StateStore::Batch::estimated_dirty_pages() {
  Impl& b = *impl_;
  if (!b.leaf_pages) b.leaf_pages.emplace(leaf_pages_of(b.read_txn(), b.store.accounts));
  const std::size_t account_leaves = *b.leaf_pages;
  // Account records land at random keys (the account id), each with its history entries right
  // after it (format 7), so the pages follow the accounts the batch changed. The events, the
  // outbox and the deadline index mostly append (event ids issued in time order, seqs, dates):
  // their pages follow the bytes.
  // Those an advance alone changed go to the fired database in key order (format 8): their
  // pages follow the bytes (a record and an entry, about 1 KiB).
  const std::size_t accounts = b.account_records.size() - b.lazy_records;
  double pages = random_pages_touched(account_leaves, accounts);
  pages += static_cast<double>(b.lazy_records) / 4;
  constexpr std::size_t kEventKeyBytes = 48;  // a typical key and LMDB's node header
  pages += static_cast<double>(b.output_records.size() + b.accepted_events.size() * kEventKeyBytes) / 4096;
  return static_cast<std::size_t>(pages * 1.01);  // and a branch page per hundred or so
}

std::size_t StateStore::Batch::pending_writes() const {
  std::size_t timeline_writes = 0;
  for (const auto& [id, t] : impl_->timelines) timeline_writes += (t.state_dirty ? 1 : 0) + (t.partition_seq_dirty ? 1 : 0);
  timeline_writes += 2 * impl_->deadlines_moved;  // a delete and a put each, at most
  return impl_->account_records.size() + impl_->accepted_events.size() + timeline_writes + impl_->outputs.size() +
         impl_->file_positions.size() + impl_->input_offsets.size() + impl_->history_entries.size() +
         impl_->history_rows.size() + impl_->history_keep_from.size();
}

namespace {

// Points `sorted` at the entries of `container`, in key order: LMDB takes keys in order with
// less work, since each put then lands next to the previous one.
template <class Container, class Less>
void sort_entries(const Container& container, std::vector<const typename Container::value_type*>& sorted, Less less) {
  sorted.clear();
  sorted.reserve(container.size());
  for (const auto& entry : container) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), less);
}

}  // namespace

// The rows of each timeline's state this batch changed, as changelog outputs after the
// batch's own outputs (so in commit order on each changelog partition): accounts, accepted
// events, history entries and the one each retention step lets go (a tombstone: the entry
// and any older one go), timeline records, input offsets; last, on each timeline that got
// any, a commit row (RowTable::commit). Runs on the batch's own thread before the commit is
// handed over, so that the next batch's output seqs follow these.
void StateStore::Batch::Impl::capture_changelog() {
  if (!store.changelog || changelog_captured || imported) return;
  changelog_captured = true;
  std::string key, value;
  std::vector<TimelineId> touched;  // the timelines given a row, each once
  auto row = [&](TimelineId t, RowTable table, std::string_view row_key, std::optional<std::string_view> bytes) {
    if (std::find(touched.begin(), touched.end(), t) == touched.end()) touched.push_back(t);
    changelog_key(t, table, row_key, key);
    add_output(bytes ? OutputTopic::state_changelog : OutputTopic::state_changelog_deleted, key, bytes.value_or(""));
  };
  auto timeline_of = [&](const std::string& account) {
    const auto it = changelog_accounts.find(account);
    PAYDIST_INVARIANT(it != changelog_accounts.end());
    return it->second;
  };
  sort_entries(account_records, sorted_records, [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* record : sorted_records) row(timeline_of(record->first), RowTable::account, record->first, record->second.record);
  for (const auto& [event, t] : changelog_events) row(t, RowTable::event, event, std::string_view{});
  PAYDIST_INVARIANT(history_timelines.size() == history_entries.size());
  for (std::size_t i = 0; i < history_entries.size(); ++i) {
    encode_history_entry(history_entries[i].second, value);
    row(history_timelines[i], RowTable::history, history_entries[i].first, value);
  }
  std::string entry_key;
  for (const auto& [account, keep_from] : history_keep_from) {
    if (keep_from == 0) continue;
    history_key(account, keep_from - 1, entry_key);
    row(timeline_of(account), RowTable::history, entry_key, std::nullopt);
  }
  for (const auto& [t, changed] : timelines) {
    if (changed.state_dirty) {
      encode_timeline(*changed.state, value);
      row(t, RowTable::timeline, be32(t), value);
    }
    if (changed.partition_seq_dirty) row(t, RowTable::output_seq, be32(t), be64(*changed.next_partition_seq));
  }
  for (const auto& [offset_key, next_offset] : input_offsets) {
    const std::optional<InputPartition> partition = parse_offset_key(offset_key);
    PAYDIST_INVARIANT(partition && partition->partition >= 0);
    row(static_cast<TimelineId>(partition->partition), RowTable::input_offset, offset_key,
        be64(static_cast<std::uint64_t>(next_offset)));
  }
  for (const TimelineId t : std::vector<TimelineId>{touched}) row(t, RowTable::commit, be32(t), std::string_view{});
}

WriteFailure StateStore::Batch::Impl::write_all(std::string& scratch) {
  MDB_txn* t = txn.get();
  // Before this batch's own outputs join the outbox: trimming looks at its last entry.
  if (acknowledgement)
    if (WriteFailure f = write_acknowledgement(store, t, acknowledgement->through_seq, acknowledgement->marks); f.rc != 0)
      return f;
  auto put = [&](const Db& db, std::string_view key, std::string_view value, unsigned flags = 0) {
    MDB_val k = to_val(key), v = to_val(value);
    const int rc = mdb_put(t, db.dbi, &k, &v, flags);
    return rc == 0 ? WriteFailure{} : WriteFailure{rc, db.name, std::string{key}};
  };
  sort_entries(account_records, sorted_records, [](const auto* a, const auto* b) { return a->first < b->first; });
  deadline_deletes.clear();
  deadline_puts.clear();
  std::string fired_key;
  for (const auto* record : sorted_records) {
    const StoredAccount& a = record->second;
    if (a.lazy) {
      a.fired_key(fired_key);
      if (WriteFailure f = put(store.fired, fired_key, a.record); f.rc != 0) return f;
    } else {
      if (WriteFailure f = put(store.accounts, record->first, a.record); f.rc != 0) return f;
      if (a.fired_at)
        if (WriteFailure f = fold_fired(*record); f.rc != 0) return f;
    }
    if (!a.deadline_moved()) continue;
    if (a.deadline_before) deadline_deletes.push_back({a.timeline, DeadlineSlot{*a.deadline_before, a.seq}});
    if (a.deadline_now) deadline_puts.push_back({{a.timeline, DeadlineSlot{*a.deadline_now, a.seq}}, &record->first});
  }
  sorted_events.clear();
  sorted_events.reserve(accepted_events.size());
  accepted_events.for_each([&](std::string_view key) { sorted_events.push_back(key); });
  std::sort(sorted_events.begin(), sorted_events.end());
  for (std::string_view key : sorted_events)
    if (WriteFailure f = put(store.events, key, {}); f.rc != 0) return f;
  // The deadline index, in key order (as LMDB takes keys best): the entries moved away, then
  // the entries moved to. No two accounts share a slot, and an account moved has two.
  std::string key;
  std::sort(deadline_deletes.begin(), deadline_deletes.end());
  for (const auto& [timeline_id, slot] : deadline_deletes) {
    deadline_key(timeline_id, slot, key);
    MDB_val k = to_val(key);
    const int rc = mdb_del(t, store.deadlines.dbi, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return WriteFailure{rc, store.deadlines.name, key};
  }
  std::sort(deadline_puts.begin(), deadline_puts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [at, id] : deadline_puts) {
    deadline_key(at.first, at.second, key);
    if (WriteFailure f = put(store.deadlines, key, *id); f.rc != 0) return f;
  }
  for (const auto& [timeline_id, changed] : timelines) {
    if (changed.state_dirty) {
      encode_timeline(*changed.state, scratch);
      if (WriteFailure f = put(store.timelines, be32(timeline_id), scratch); f.rc != 0) return f;
    }
    if (changed.partition_seq_dirty)
      if (WriteFailure f = put(store.meta, partition_output_seq_key(timeline_id), be64(*changed.next_partition_seq));
          f.rc != 0)
        return f;
  }
  for (const auto& [offset_key, next_offset] : input_offsets)
    if (WriteFailure f = put(store.offsets, offset_key, be64(static_cast<std::uint64_t>(next_offset))); f.rc != 0)
      return f;
  for (const auto& [timeline_id, position] : changelog_positions)
    if (WriteFailure f = put(store.meta, changelog_position_key(timeline_id), be64(static_cast<std::uint64_t>(position)));
        f.rc != 0)
      return f;
  for (const auto& [path, position] : file_positions) {
    encode_file_position(position, scratch);
    if (WriteFailure f = put(store.files, path_key(path), scratch); f.rc != 0) return f;
  }
  // Output seqs only grow and the outbox is only trimmed from the front: appends.
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const std::size_t record_end = outputs[i].json_begin + outputs[i].json_size;
    const std::string_view record =
        std::string_view{output_records}.substr(outputs[i].record_begin, record_end - outputs[i].record_begin);
    key = be64(*first_output_seq + i);
    if (WriteFailure f = put(store.outbox, key, record, MDB_APPEND); f.rc != 0) return f;
  }
  if (!outputs.empty())
    if (WriteFailure f = put(store.meta, kMetaNextOutputSeq, be64(next_output_seq())); f.rc != 0) return f;
  return write_history(key, scratch);
}

// A message stored the account whose current record was a fired entry: the entry goes, and
// the history entries it held move to their account keys in 'accounts' (state_layout.h).
WriteFailure StateStore::Batch::Impl::fold_fired(const AccountRecords::value_type& record) {
  const StoredAccount& a = record.second;
  MDB_txn* t = txn.get();
  std::string prefix;
  deadline_key(a.timeline, DeadlineSlot{*a.fired_at, a.seq}, prefix);
  // Copied first: writes move the transaction's pages.
  std::vector<std::tuple<std::string, std::string, std::optional<std::uint64_t>>> found;
  for_each_fired_key(t, store, prefix, [&](std::string_view key, std::string_view value, std::optional<std::uint64_t> number) {
    found.emplace_back(key, value, number);
    return true;
  });
  std::string key;
  for (const auto& [fired_key, value, number] : found) {
    if (number) {
      history_key(record.first, *number, key);
      MDB_val k = to_val(key), v = to_val(value);
      if (int rc = mdb_put(t, store.history.dbi, &k, &v, 0); rc != 0) return WriteFailure{rc, store.history.name, key};
    }
    MDB_val k = to_val(fired_key);
    if (int rc = mdb_del(t, store.fired.dbi, &k, nullptr); rc != 0) return WriteFailure{rc, store.fired.name, fired_key};
  }
  return {};
}

std::optional<std::string> StateStore::Batch::Impl::fired_key_in_txn(std::string_view account_id) {
  if (!store.has_fired) return std::nullopt;
  std::string key;
  if (auto it = account_records.find(std::string{account_id}); it != account_records.end()) {
    if (!it->second.lazy) return std::nullopt;  // in 'accounts' now (write_all folded it)
    it->second.fired_key(key);
    return key;
  }
  if (!is_valid_id(account_id)) return std::nullopt;
  std::optional<CurrentRecord> current = current_record(txn.get(), store, account_id);
  return current ? std::move(current->fired_key) : std::nullopt;
}

// The history entries in key order, then what retention lets go: each account's entries
// numbered below its keep-from (usually exactly one, the entry the newest one replaced; more
// after the retention was lowered).
WriteFailure StateStore::Batch::Impl::write_history(std::string& key, std::string& scratch) {
  if (history_entries.empty() && history_rows.empty() && history_keep_from.empty()) return {};
  MDB_txn* t = txn.get();
  std::sort(history_entries.begin(), history_entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string& stored = scratch;
  std::string fired_key;
  for (const auto& [entry_key, text] : history_entries) {
    encode_history_entry(text, stored);
    // An entry of an account kept in the fired database goes there, after its record.
    const StoredAccount* lazy = nullptr;
    std::optional<HistoryKeyParts> parts;
    if (lazy_records > 0 && (parts = parse_history_key(entry_key)))
      if (auto it = account_records.find(std::string{parts->account_id}); it != account_records.end() && it->second.lazy)
        lazy = &it->second;
    if (lazy) {
      lazy->fired_key(fired_key);
      append_be64(fired_key, parts->number);
      MDB_val k = to_val(fired_key), v = to_val(stored);
      if (int rc = mdb_put(t, store.fired.dbi, &k, &v, 0); rc != 0) return WriteFailure{rc, store.fired.name, fired_key};
      continue;
    }
    MDB_val k = to_val(entry_key), v = to_val(stored);
    if (int rc = mdb_put(t, store.history.dbi, &k, &v, 0); rc != 0) return WriteFailure{rc, store.history.name, entry_key};
  }
  const Db& db = store.history;
  Cursor cursor{t, db};
  // The same in the fired entry that holds the account's history, if one does.
  auto keep_only_from_fired = [&](std::string_view account_id, std::uint64_t keep_from) -> WriteFailure {
    const std::optional<std::string> prefix = fired_key_in_txn(account_id);
    if (!prefix) return {};
    std::vector<std::string> old_entries;
    for_each_fired_key(t, store, *prefix, [&](std::string_view found, std::string_view, std::optional<std::uint64_t> number) {
      if (number && *number >= keep_from) return false;
      if (number) old_entries.emplace_back(found);
      return true;
    });
    for (const std::string& entry : old_entries) {
      MDB_val k = to_val(entry);
      if (int rc = mdb_del(t, store.fired.dbi, &k, nullptr); rc != 0) return WriteFailure{rc, store.fired.name, entry};
    }
    return {};
  };
  // Deletes the account's entries numbered below `keep_from`.
  auto keep_only_from = [&](std::string_view account_id, std::uint64_t keep_from) -> WriteFailure {
    history_key(account_id, 0, key);
    const std::string_view prefix = std::string_view{key}.substr(0, account_id.size() + 1);
    for (;;) {
      MDB_val k = to_val(key), v{};
      if (!step(cursor.get(), db, MDB_SET_RANGE, k, v)) break;
      const std::string_view found = to_view(k);
      if (found.size() != prefix.size() + 8 || found.substr(0, prefix.size()) != prefix) break;
      if (read_be(found.substr(prefix.size())) >= keep_from) break;
      if (int rc = mdb_cursor_del(cursor.get(), 0); rc != 0) return WriteFailure{rc, db.name, std::string{found}};
    }
    return {};
  };
  for (const HistoryImport& row : history_rows) {
    MDB_val k = to_val(row.key), v = to_val(row.value);
    int rc = 0;
    switch (row.kind) {
      case HistoryImport::Kind::put: rc = mdb_put(t, db.dbi, &k, &v, 0); break;
      case HistoryImport::Kind::exactly: {
        rc = mdb_del(t, db.dbi, &k, nullptr);
        const std::optional<HistoryKeyParts> parts = parse_history_key(row.key);
        PAYDIST_INVARIANT(parts.has_value());  // checked by import_row
        if (std::optional<std::string> prefix = fired_key_in_txn(parts->account_id)) {
          std::string entry;
          fired_entry_key(*prefix, parts->number, entry);
          MDB_val fk = to_val(entry);
          if (int frc = mdb_del(t, store.fired.dbi, &fk, nullptr); frc != 0 && frc != MDB_NOTFOUND)
            return WriteFailure{frc, store.fired.name, entry};
        }
        break;
      }
      case HistoryImport::Kind::through: {
        const std::optional<HistoryKeyParts> parts = parse_history_key(row.key);
        PAYDIST_INVARIANT(parts.has_value());  // checked by import_row
        if (WriteFailure failure = keep_only_from(parts->account_id, parts->number + 1); failure.rc != 0) return failure;
        if (WriteFailure failure = keep_only_from_fired(parts->account_id, parts->number + 1); failure.rc != 0)
          return failure;
        break;
      }
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return WriteFailure{rc, db.name, row.key};
  }
  for (const auto& [account_id, keep_from] : history_keep_from) {
    if (WriteFailure failure = keep_only_from(account_id, keep_from); failure.rc != 0) return failure;
    if (lazy_records > 0 || !history_rows.empty())
      if (WriteFailure failure = keep_only_from_fired(account_id, keep_from); failure.rc != 0) return failure;
  }
  return {};
}

// About how many key and value bytes write_all() puts (for map growth; not exact).
std::size_t StateStore::Batch::Impl::estimated_bytes() const {
  std::size_t bytes = 0;
  for (const auto& [id, stored] : account_records) bytes += id.size() + stored.record.size();
  bytes += accepted_events.bytes();
  bytes += deadlines_moved * (kDeadlineKeyBytes + kMaxIdLength);
  for (const auto& [path, position] : file_positions) bytes += 2 * path.size() + 64;
  for (const auto& [key, offset] : input_offsets) bytes += key.size() + 8;
  bytes += output_records.size() + outputs.size() * 8;
  for (const auto& [key, text] : history_entries) bytes += key.size() + text.size();
  for (const HistoryImport& row : history_rows) bytes += row.key.size() + row.value.size();
  return bytes;
}

Status StateStore::Batch::commit(Durability durability) {
  Impl& b = *impl_;
  PAYDIST_INVARIANT(!b.committed && b.holds_writer);
  b.capture_changelog();
  b.settle_predecessor();
  Status s = b.commit_now(durability);
  b.end();
  return s;
}

// The commit itself, on whichever thread runs it; the predecessor is settled.
Status StateStore::Batch::Impl::commit_now(Durability durability) {
  {
    std::lock_guard lock{store.commit_mutex};
    if (store.background_failure)
      return Error{fmt::format("not committed: an earlier commit failed: {}", *store.background_failure)};
  }
  PAYDIST_INVARIANT(!doomed);
  reader.reset();  // the writer reads its own transaction; a map growth needs no reader
  txn = store.begin_write();
  std::string scratch;
  PAYDIST_FAULT_POINT("commit:before-put");
  for (;;) {
    WriteFailure failure = write_all(scratch);
    if (failure.rc == 0) {
      PAYDIST_FAULT_POINT("commit:after-put");
      store.set_durability(durability);
      failure.rc = txn.commit();
      if (failure.rc == 0) {
        store.unsynced = durability == Durability::buffered;
        PAYDIST_FAULT_POINT("commit:after-commit");
        break;
      }
    }
    txn.abort();
    if (failure.rc != MDB_MAP_FULL) return store.commit_error(failure);
    if (Status s = store.grow_map(estimated_bytes()); !s) return s;
    // Still the only writer: the gate (or the committer) keeps out this process's other
    // writers and the writer lock file other processes.
    txn = store.begin_write();
  }
  committed = true;
  return Ok{};
}

void StateStore::Batch::commit_in_background(std::unique_ptr<Batch> batch, Durability durability,
                                             std::function<void(Status, Batch&)> then) {
  Impl& b = *batch->impl_;
  StateStore::Impl& store = b.store;
  PAYDIST_INVARIANT(!b.committed && b.holds_writer);
  b.capture_changelog();   // before the next batch may read this one's output seqs
  b.settle_predecessor();  // at most one batch in flight
  b.reader.reset();
  std::unique_lock lock{store.commit_mutex};
  if (store.background_failure || b.doomed) {
    const std::string reason = store.background_failure.value_or("an earlier commit failed");
    lock.unlock();
    b.end();
    then(Error{fmt::format("not committed: an earlier commit failed: {}", reason)}, *batch);
    return;
  }
  PAYDIST_INVARIANT(!store.queued);
  store.in_flight = batch->impl_;
  // The next begin() may start now: it reads this batch's writes through `in_flight`.
  b.holds_writer = false;
  if (store.open_batch == &b) store.open_batch = nullptr;
  store.release_writer();
  store.queued = StateStore::Impl::Job{std::move(batch), durability, std::move(then)};
  if (!store.committer.joinable()) store.committer = std::thread([&store] { store.run_committer(); });
  lock.unlock();
  store.commit_changed.notify_all();
}

void StateStore::Impl::run_committer() {
  std::unique_lock lock{commit_mutex};
  for (;;) {
    commit_changed.wait(lock, [&] { return stopping || queued.has_value(); });
    if (!queued) return;  // stopping, nothing left
    Job job = std::move(*queued);
    queued.reset();
    running = true;
    lock.unlock();
    Batch::Impl& b = *job.batch->impl_;
    Status s = b.commit_now(job.durability);
    lock.lock();
    if (!s && !background_failure) background_failure = s.error();
    b.background_done = true;
    lock.unlock();
    commit_changed.notify_all();
    job.then(std::move(s), *job.batch);
    job.batch.reset();
    lock.lock();
    running = false;
    commit_changed.notify_all();
  }
}

// The open batch began while a commit was in flight reads that commit's writes through an
// old snapshot: its read transaction ends, and it waits for that commit, before anything
// waits for the committer (whose commit may be growing the map, which needs every reader
// out). A batch with no predecessor began with nothing in flight, and nothing can be queued
// while it holds the writer.
void StateStore::Impl::settle_open_batch() {
  if (open_batch) open_batch->settle_predecessor();
}

std::optional<std::string> StateStore::take_commit_failure() {
  impl_->settle_open_batch();
  std::unique_lock lock{impl_->commit_mutex};
  impl_->commit_changed.wait(lock, [&] { return !impl_->queued && !impl_->running; });
  impl_->in_flight.reset();
  return std::exchange(impl_->background_failure, std::nullopt);
}

Status StateStore::wait_for_commits() {
  impl_->settle_open_batch();
  std::unique_lock lock{impl_->commit_mutex};
  impl_->commit_changed.wait(lock, [&] { return !impl_->queued && !impl_->running; });
  impl_->in_flight.reset();
  if (impl_->background_failure) return Error{*impl_->background_failure};
  return Ok{};
}

}  // namespace paydist
