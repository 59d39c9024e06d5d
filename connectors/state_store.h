// connectors/state_store.h: the LMDB state store. Speaks in domain types (accounts, the
// deadline index, event ids, file positions, the outbox); LMDB handles, keys, encodings
// and map growth stay inside state_store.cpp and record.cpp.
//   auto store = StateStore::open(dir, {}).value();
//   auto batch = store->begin(TimelineId{0});      // one LMDB write transaction
//   Processor{rules, *batch}.apply(message);         // batch is a StateAccess
//   batch->add_output(OutputTopic::activities, "ACC1", json);
//   batch->commit(Durability::synced);               // all or nothing
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/account.h"
#include "core/processor.h"
#include "core/result.h"

namespace paydist {

// A timeline is one exact sequence of messages with its own business date and deadlines:
// the replay state (0), or one input partition of the daemon.
using TimelineId = std::uint32_t;

enum class Durability : std::uint8_t { buffered, synced };
// The daemon's output topics; with StoreOptions::changelog also the state changelog, whose
// records are rows of a timeline's state (StateRow, keyed by changelog_key): a row's bytes, or
// for a deleted row no value at all (a tombstone).
enum class OutputTopic : std::uint8_t {
  activities = 0,
  distributions = 1,
  rejects = 2,
  state_changelog = 3,
  state_changelog_deleted = 4,
};
const char* to_string(OutputTopic t);

struct PendingOutput {
  std::uint64_t seq = 0;  // strictly increasing across the store, never reused
  OutputTopic topic = OutputTopic::activities;
  std::string key;        // account_id, or empty
  std::string json;       // one compact JSON object, no newline
  // The timeline (input partition) the output came from, and for an output of the contract
  // (not a changelog record) its number among that timeline's outputs: 1, 2, 3, ... with no
  // gap, the same whichever state made it (the count is part of the timeline's state and of
  // its changelog rows). 0 for a changelog record.
  TimelineId timeline = 0;
  std::uint64_t partition_seq = 0;
};

// One output a batch queued, as the outbox holds it (views into the batch's own buffer).
struct QueuedOutput {
  std::uint64_t seq = 0;
  OutputTopic topic = OutputTopic::activities;
  std::string_view key;
  std::string_view json;
  TimelineId timeline = 0;         // PendingOutput::timeline
  std::uint64_t partition_seq = 0;  // PendingOutput::partition_seq
};

// contract 6: how far replay got in one input file.
struct FilePosition {
  std::string real_path;
  std::uint64_t lines_consumed = 0;
  std::uint64_t bytes_consumed = 0;
  std::array<std::uint8_t, 32> sha256{};  // of the first bytes_consumed bytes
  bool operator==(const FilePosition&) const = default;
};

// One partition of an input topic (the daemon's), and where its consumption stands.
struct InputPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const InputPartition&) const = default;
};

// An output file's length once everything up to `through_seq` was written to it.
struct OutputFileMark {
  std::string real_path;
  std::uint64_t length = 0;
};

struct StoreOptions {
  std::size_t initial_map_bytes = std::size_t{1} << 30;  // grows on MDB_MAP_FULL; reserved on disk
  enum class Access : std::uint8_t { read_write, read_only } access = Access::read_write;
  // The audit entries kept per account for `paydist explain` (the newest ones); 0 keeps none
  // and spares the processor writing them. Config: [history] entries_per_account.
  std::uint32_t history_entries_per_account = 64;
  // Every commit also queues, in its outbox, the rows of each timeline's state it changed
  // (OutputTopic::state_changelog*): a changelog another instance can restore the timeline
  // from (issue 8). The deadline index is not logged: importing the accounts rebuilds it.
  bool changelog = false;
};

// One kept audit entry: its number in the account's history (0 = the first ever) and text.
struct HistoryEntry {
  std::uint64_t number = 0;
  std::string text;
};

// One row of one timeline's state, as a state changelog carries it (issue 8: a partition's
// state follows the partition to another instance). The databases that belong to a timeline,
// each row under its own key and with its stored bytes. The deadline index is not a row:
// importing an account indexes its deadline again.
// `commit` is not a row of the state: it ends the rows one commit changed on a timeline (key:
// the u32 timeline, value empty), so that a reader of the changelog can tell a commit whose
// rows all reached it from the start of one whose writer stopped halfway (a restore imports
// whole commits only). Importing it writes nothing.
// `output_seq` is the timeline's next PendingOutput::partition_seq (key the u32 timeline,
// value u64).
enum class RowTable : std::uint8_t {
  account = 1,
  event = 2,
  history = 3,
  timeline = 4,
  input_offset = 5,
  commit = 6,
  output_seq = 7,
};
struct StateRow {
  RowTable table = RowTable::account;
  std::string key;
  std::optional<std::string> value;  // none: the row was deleted (a changelog tombstone)
  bool operator==(const StateRow&) const = default;
};

// A row's changelog record key: u32 timeline (big-endian), the table, the row's key; and back.
std::string changelog_key(TimelineId timeline, const StateRow& row);
// The same key written into `out` (replacing it), for a row not held in a StateRow.
void changelog_key(TimelineId timeline, RowTable table, std::string_view row_key, std::string& out);
// The account a history row's key names (empty for a key that is not one).
std::string_view history_key_account(std::string_view key);
// The key of `timeline`'s commit row (RowTable::commit), which closes each commit's rows.
std::string commit_row_key(TimelineId timeline);
// The timeline (partition) a changelog key names; 0 for a key too short to name one.
TimelineId changelog_key_timeline(std::string_view key);
Result<std::pair<TimelineId, StateRow>> changelog_row(std::string_view key, std::optional<std::string_view> value);

namespace state_layout {
struct RawAccess;  // the store's integrity walk (connectors/state_layout.h)
}

class StateStore {
 public:
  class Batch;

  // Creates the directory and the database (mode 0600) if needed; refuses a state written
  // by a newer format version with a clear error.
  // A read-write store also holds DIR/writer.lock: a second writing process is refused.
  static Result<std::unique_ptr<StateStore>> open(const std::filesystem::path& dir, const StoreOptions& options);
  ~StateStore();  // flushes buffered commits; every Batch must be gone by then

  // One write transaction over one timeline. Only one batch may be open (begun, neither
  // committed nor destroyed) at a time: another thread's begin() waits, the same thread's is
  // a bug. A batch is begun and committed on one thread.
  std::unique_ptr<Batch> begin(TimelineId timeline);

  // Read side: each call uses its own read transaction; never blocks the writer.
  std::optional<Account> read_account(const AccountId& id);
  std::optional<TimelineState> read_timeline(TimelineId timeline);
  std::optional<FilePosition> read_file_position(const std::string& real_path);
  std::optional<std::uint64_t> read_output_file_length(const std::string& real_path);
  // The next offset of `partition` to consume, as the last committed batch left it.
  std::optional<std::int64_t> read_input_offset(const InputPartition& partition);
  // How far into `timeline`'s state changelog partition this state is known to hold (the
  // offset after the last record it delivered or imported there); none if never recorded.
  std::optional<std::int64_t> read_changelog_position(TimelineId timeline);
  // The PendingOutput::partition_seq the timeline's next output gets (1 before any).
  std::uint64_t read_partition_output_seq(TimelineId timeline);
  // Deletes everything of `timeline` (its accounts with their history and accepted events,
  // its business_date events, deadline index, record, input offsets, changelog position and
  // output count) in one synced commit, as if it had never been here; the outbox is left as
  // it is. Says how many accounts went. For a partition whose copy here can no longer be
  // trusted: it is restored from the changelog when assigned again.
  Result<std::uint64_t> drop_timeline(TimelineId timeline);
  // One row of `timeline`'s state as stored (the bytes for_each_row gives; an accepted event
  // is an empty string), none when this state does not hold it. For writing a row back to
  // the changelog as this state has it.
  std::optional<std::string> read_row(TimelineId timeline, RowTable table, std::string_view key);
  // The account's kept history entries as rows (key and stored value), oldest first.
  std::vector<StateRow> read_history_rows(std::string_view account_id);
  // Deletes rows of `timeline` (an account, with its deadline index entry; an accepted event;
  // a history entry; the timeline record; an input offset; the output count; the rows' values
  // are not looked at) in one buffered commit; a row not here is no error. A restore
  // importing changelog tombstones (Batch::import_row takes those of history entries only).
  Status delete_rows(TimelineId timeline, const std::vector<StateRow>& rows);
  // A random id drawn when the state was created (32 hex digits): tells this state's outputs
  // from another state's on the same topics. Empty for a read-only store of a state that has
  // none yet.
  const std::string& state_id() const;
  std::vector<PendingOutput> read_outbox(std::size_t max_entries, std::uint64_t after_seq = 0);
  // Visits every account (for verify and benchmarks), in key order, in one read
  // transaction. `visit` must not call back into the store.
  void for_each_account(const std::function<void(const Account&)>& visit);
  std::uint64_t count_accounts();  // accounts stored, all timelines (for stats)
  // The account's kept audit entries, oldest first (`paydist explain`).
  std::vector<HistoryEntry> read_history(const AccountId& id);
  // Every row of `timeline`'s state, from one read transaction: the accounts that live on it,
  // their accepted events and kept history entries, its timeline record and business_date
  // events, and the offsets of partition `timeline` of every input topic. Walks the whole
  // state (the accounts name their timeline; the other databases are keyed by account): for
  // a handoff or a restore, not per message. Batch::import_row() writes them back.
  void for_each_row(TimelineId timeline, const std::function<void(const StateRow&)>& visit);

  // Waits until no batch is committing in the background. An Error: a background commit
  // failed (the store commits nothing more; the process should stop and restart). Call it
  // on the writer's thread: a batch open there ends its read transaction first (a commit
  // waited for may have to grow the map, which waits for every reader).
  Status wait_for_commits();
  // Waits like wait_for_commits(), then forgets a background commit's failure, so that
  // batches may commit again (the daemon retries after a full disk; replay stops instead).
  // Returns the failure it forgot, if any. No batch should be open (one begun during the
  // failed commit fails too).
  std::optional<std::string> take_commit_failure();

  // Deletes outbox entries with seq <= through_seq and records output file lengths, in one
  // synced transaction (the file connector calls this after it fsynced the files).
  Status acknowledge_outbox(std::uint64_t through_seq, const std::vector<OutputFileMark>& marks);

  // Writes a compacted copy of the whole state, as one read transaction sees it, to `fd`
  // (LMDB's mdb_env_copyfd2 with MDB_CP_COMPACT: free pages left out). The copy is a
  // data.mdb that opens as a state directory of its own. Never blocks a writer, in this
  // process or another; the caller syncs and closes `fd` (connectors/state_backup.h).
  Status write_compacted_copy(int fd);

  // Draws a new random state id (a read-write store only), so that a restored copy does not
  // pass for the state it was copied from when it publishes (docs/operations.md).
  Status replace_state_id();

  struct Impl;

 private:
  friend struct state_layout::RawAccess;
  explicit StateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A write batch: reads see the batch's own writes; nothing reaches LMDB until commit().
class StateStore::Batch : public StateAccess {
 public:
  ~Batch() override;  // aborts unless committed

  // StateAccess
  bool event_accepted(EventScope scope, const EventId& id) override;
  void mark_event_accepted(EventScope scope, const EventId& id) override;
  std::optional<Account> load_account(const AccountId& id) override;
  void store_account(const Account& account, std::optional<Date> previous_deadline) override;
  // Kept in the fired database (state_layout.h) while every store of the account in this
  // batch is one of these.
  void store_fired(const Account& account, std::optional<Date> previous_deadline) override;
  std::optional<DeadlineEntry> first_deadline_up_to(Date up_to) override;
  TimelineState timeline() override;
  void store_timeline(const TimelineState& timeline) override;
  bool keeps_history() const override;
  void append_history(const Account& account, std::string entry) override;

  // Makes `timeline` the one the next messages apply to (its business date, deadlines and
  // business_date event scope). A batch may span timelines: the daemon's covers every
  // partition it polled, in one transaction.
  void switch_timeline(TimelineId timeline);

  // Writes a row of `timeline`'s state as StateStore::for_each_row() gave it (or a changelog
  // carried it): an account is stored on `timeline` and its deadline indexed (moved, if the
  // account was here already); the other rows are put as they are; a history row without a
  // value lets that entry and the account's older ones go. Rows of other databases, and
  // deleted rows other than history, are not part of a timeline's state: an Error, as is a
  // row that does not decode or names another timeline. Nothing of a failed row is written.
  Status import_row(TimelineId timeline, const StateRow& row);

  void add_output(OutputTopic topic, std::string_view key, std::string_view json);
  // StateStore::acknowledge_outbox() as part of this batch's transaction: the file connector
  // acknowledges one batch's outputs with the next batch's commit and saves a synced
  // transaction per batch. `through_seq` must be below this batch's own outputs.
  void acknowledge_outbox(std::uint64_t through_seq, std::vector<OutputFileMark> marks);
  void set_file_position(const FilePosition& position);
  // The daemon's input position, committed with the state it produced.
  void set_input_offset(const InputPartition& partition, std::int64_t next_offset);
  // StateStore::read_changelog_position, committed with this batch (not itself logged).
  void set_changelog_position(TimelineId timeline, std::int64_t next_offset);
  std::size_t pending_writes() const;
  // About how many LMDB pages committing the batch now would write (and, until then, hold in
  // memory: LMDB keeps a commit's dirty pages in its heap and reuses them). Grows with the
  // distinct accounts changed, up to one page each once the state is much larger than the
  // batch. A bound on it keeps a replay's memory flat however large the state grows.
  std::size_t estimated_dirty_pages();

  // The outputs queued so far, in seq order; still there after commit() until the batch is
  // destroyed, so that the file connector can write a committed batch's outbox from memory
  // rather than read it back from LMDB.
  void for_each_output(const std::function<void(const QueuedOutput&)>& visit) const;

  // Writes everything in one LMDB transaction; on MDB_MAP_FULL grows the map and retries.
  // Either way the batch is over afterwards (on an Error nothing was written). Waits for a
  // background commit begun before this batch.
  Status commit(Durability durability);

  // commit() on the store's committer thread, so that the caller can apply the next batch
  // while LMDB writes and syncs this one. Returns at once (after the commit before this
  // one finished: at most one is in flight). The next begin() reads this batch's writes
  // until they are committed. `then` runs on the committer thread with the commit's status,
  // the batch still alive (for_each_output), before the batch is destroyed there. After a
  // failed background commit nothing else commits (StateStore::wait_for_commits says why).
  static void commit_in_background(std::unique_ptr<Batch> batch, Durability durability,
                                   std::function<void(Status, Batch&)> then);

  struct Impl;
  explicit Batch(std::shared_ptr<Impl> impl);

 private:
  friend struct StateStore::Impl;  // the committer thread
  // store_account (fired: false) and store_fired (true).
  void store(const Account& account, std::optional<Date> previous_deadline, bool fired);
  std::shared_ptr<Impl> impl_;  // shared with the batch begun after it, while it commits
};

}  // namespace paydist
