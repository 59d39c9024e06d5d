// connectors/state_verify.cpp: the integrity walk over a state (see state_verify.h). Reads the
// raw databases of connectors/state_layout.h in one read transaction, decodes every record
// with connectors/record.cpp and leaves every business rule to core/account_check.h.
// Unlike the store's own reads, a record that does not decode or an LMDB failure is reported
// (naming the database and key) and the walk goes on with the next record or database.
#include "connectors/state_verify.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "connectors/history_codec.h"
#include "connectors/record.h"
#include "connectors/state_layout.h"
#include "core/account_check.h"
#include "core/ids.h"

namespace paydist {
namespace {

using namespace state_layout;

// What the later databases need to know of each account: the walk keeps this, not accounts.
struct AccountSummary {
  std::string key;
  bool decoded = false;
  TimelineId timeline = 0;
  std::uint64_t seq = 0;
  std::optional<Date> indexed_deadline;
  std::uint64_t history_entries = 0;
};

// An index entry the accounts imply: (timeline, date, seq) -> the account at `account`.
struct ExpectedDeadline {
  TimelineId timeline = 0;
  Date date;
  std::uint64_t seq = 0;
  std::size_t account = 0;  // into Walk::accounts_
  auto order() const { return std::tuple{timeline, date, seq}; }
};

std::string describe(TimelineId timeline, Date date, std::uint64_t seq) {
  return fmt::format("(timeline {}, {}, seq {})", timeline, date, seq);
}

class Walk {
 public:
  Walk(const RawTables& tables, const Rules& rules, const VerifyLimits& limits, VerifyReport& report)
      : t_(tables), rules_(rules), limits_(limits), report_(report) {}

  void run() {
    walk_meta();
    walk_timelines();
    load_fired();
    walk_accounts();
    check_timeline_counts();
    walk_deadlines();
    walk_events();
    walk_history();
    walk_fired();
    walk_files();
    walk_output_files();
    walk_outbox();
    walk_offsets();
  }

 private:
  template <class... Args>
  void violation(const Db& db, std::string_view key, fmt::format_string<Args...> format, Args&&... args) {
    add(fmt::format("database '{}' key \"{}\": {}", db.name, printable(key),
                    fmt::format(format, std::forward<Args>(args)...)));
  }
  template <class... Args>
  void violation_in(const Db& db, fmt::format_string<Args...> format, Args&&... args) {
    add(fmt::format("database '{}': {}", db.name, fmt::format(format, std::forward<Args>(args)...)));
  }
  void add(std::string line) {
    ++report_.violations_total;
    if (report_.violations.size() < limits_.violations_max) report_.violations.push_back(std::move(line));
  }

  // Visits every entry of `db` in key order. An LMDB failure (a corrupt page) is reported and
  // ends the walk of that database.
  template <class Visit>
  void for_each(const Db& db, Visit visit) {
    MDB_cursor* cursor = nullptr;
    if (int rc = mdb_cursor_open(t_.txn, db.dbi, &cursor); rc != 0) {
      violation_in(db, "cannot open a cursor: {}", mdb_strerror(rc));
      return;
    }
    MDB_val key{}, value{};
    std::string last_key;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
      const int rc = mdb_cursor_get(cursor, &key, &value, op);
      if (rc == MDB_NOTFOUND) break;
      if (rc != 0) {
        violation_in(db, "LMDB failure after key \"{}\": {}; the rest of the database is not checked",
                  printable(last_key), mdb_strerror(rc));
        break;
      }
      last_key.assign(to_view(key));
      visit(to_view(key), to_view(value));
    }
    mdb_cursor_close(cursor);
  }

  const AccountSummary* find_account(std::string_view id) const {
    auto it = std::lower_bound(accounts_.begin(), accounts_.end(), id,
                               [](const AccountSummary& a, std::string_view wanted) { return a.key < wanted; });
    return it != accounts_.end() && it->key == id ? &*it : nullptr;
  }

  // meta: the format version this build knows, the output counter, the state id.
  void walk_meta() {
    bool saw_version = false;
    for_each(t_.meta, [&](std::string_view key, std::string_view value) {
      if (key == kMetaFormatVersion) {
        saw_version = true;
        if (value.size() != 4) return violation(t_.meta, key, "{} bytes, not 4", value.size());
        if (read_be(value) < kOldestReadFormatVersion || read_be(value) > kFormatVersion)
          violation(t_.meta, key, "format version {}; this paydist knows {} to {}", read_be(value),
                    kOldestReadFormatVersion, kFormatVersion);
      } else if (key == kMetaNextOutputSeq) {
        if (value.size() != 8) return violation(t_.meta, key, "{} bytes, not 8", value.size());
        next_output_seq_ = read_be(value);
        if (*next_output_seq_ < kFirstOutputSeq) violation(t_.meta, key, "next output seq {} is below {}", *next_output_seq_, kFirstOutputSeq);
      } else if (key == kMetaStateId) {
        if (value.size() != kStateIdBytes) violation(t_.meta, key, "{} bytes, not {}", value.size(), kStateIdBytes);
      } else if (key.size() == kMetaChangelogPosition.size() + 4 && key.starts_with(kMetaChangelogPosition)) {
        if (value.size() != 8) violation(t_.meta, key, "{} bytes, not 8", value.size());
      } else if (key.size() == kMetaPartitionOutputSeq.size() + 4 && key.starts_with(kMetaPartitionOutputSeq)) {
        if (value.size() != 8) violation(t_.meta, key, "{} bytes, not 8", value.size());
        else if (read_be(value) < 1) violation(t_.meta, key, "next partition output seq 0");
      } else {
        violation(t_.meta, key, "not a key of this format");
      }
    });
    if (!saw_version) violation_in(t_.meta, "no format version");
    if (!next_output_seq_) violation_in(t_.meta, "no next output seq");
  }

  void walk_timelines() {
    for_each(t_.timelines, [&](std::string_view key, std::string_view value) {
      ++report_.checked.timelines;
      if (key.size() != 4) return violation(t_.timelines, key, "key of {} bytes, not 4", key.size());
      Result<TimelineState> timeline = decode_timeline(value);
      if (!timeline) return violation(t_.timelines, key, "does not decode: {}", timeline.error());
      timelines_.emplace(static_cast<TimelineId>(read_be(key)), *timeline);
    });
  }

  // The fired database (format 8): its records, for walk_accounts to find each account's.
  void load_fired() {
    if (!t_.has_fired) return;
    for_each(t_.fired, [&](std::string_view key, std::string_view value) {
      if (key.size() == kDeadlineKeyBytes) fired_.emplace(std::string{key}, FiredRecord{value, std::nullopt});
    });
  }

  void walk_accounts() {
    std::string fired_key;
    for_each(t_.accounts, [&](std::string_view key, std::string_view value) {
      if (is_history_entry_key(key)) return;  // walk_history's (format 7)
      ++report_.checked.accounts;
      AccountSummary& summary = accounts_.emplace_back();
      summary.key.assign(key);
      Result<Account> decoded = decode_account(value);
      if (!decoded) return violation(t_.accounts, key, "does not decode: {}", decoded.error());
      // A fired record at the stored record's deadline stands for the account (format 8).
      if (decoded->indexed_deadline && !fired_.empty()) {
        deadline_key(decoded->timeline, DeadlineSlot{*decoded->indexed_deadline, decoded->seq}, fired_key);
        if (auto it = fired_.find(fired_key); it != fired_.end()) {
          it->second.account = accounts_.size() - 1;
          Result<Account> fired = decode_account(it->second.value);
          if (!fired) return violation(t_.fired, fired_key, "does not decode: {}", fired.error());
          if (fired->timeline != decoded->timeline || fired->seq != decoded->seq)
            violation(t_.fired, fired_key, "holds an account of timeline {} seq {}, not {} and {}", fired->timeline,
                      fired->seq, decoded->timeline, decoded->seq);
          decoded = std::move(fired);
        }
      }
      const Account& account = *decoded;
      summary.decoded = true;
      summary.timeline = account.timeline;
      summary.seq = account.seq;
      summary.indexed_deadline = account.indexed_deadline;
      summary.history_entries = account.history_entries;
      report_.checked.payments += account.payments.size();
      if (account.id.view() != key) violation(t_.accounts, key, "holds account \"{}\"", account.id);
      check_account_on_timeline(key, account);
      if (account.indexed_deadline)
        expected_deadlines_.push_back({account.timeline, *account.indexed_deadline, account.seq, accounts_.size() - 1});
    });
  }

  void check_account_on_timeline(std::string_view key, const Account& account) {
    std::optional<Date> business_date;
    auto timeline = timelines_.find(account.timeline);
    if (timeline == timelines_.end()) {
      violation(t_.accounts, key, "lives on timeline {}, which has no record", account.timeline);
    } else {
      business_date = timeline->second.business_date;
      if (account.seq >= timeline->second.accounts_seen)
        violation(t_.accounts, key, "seq {} is not below timeline {}'s accounts_seen {}", account.seq, account.timeline,
                  timeline->second.accounts_seen);
    }
    seqs_.emplace_back(account.timeline, account.seq);
    for (const std::string& problem : account_problems(account, AccountCheckContext{rules_, business_date}))
      violation(t_.accounts, key, "{}", problem);
  }

  // Each account was counted in accounts_seen when first seen, with the next seq: on every
  // timeline the seqs are distinct and as many as accounts_seen.
  void check_timeline_counts() {
    std::sort(seqs_.begin(), seqs_.end());
    std::map<TimelineId, std::uint64_t> counts;
    for (std::size_t i = 0; i < seqs_.size(); ++i) {
      ++counts[seqs_[i].first];
      if (i > 0 && seqs_[i] == seqs_[i - 1])
        violation_in(t_.accounts, "two accounts share seq {} on timeline {}", seqs_[i].second, seqs_[i].first);
    }
    // An account that does not decode (reported) may live on any timeline.
    const std::uint64_t undecoded = static_cast<std::uint64_t>(
        std::count_if(accounts_.begin(), accounts_.end(), [](const AccountSummary& a) { return !a.decoded; }));
    for (const auto& [id, timeline] : timelines_)
      if (counts[id] > timeline.accounts_seen || counts[id] + undecoded < timeline.accounts_seen)
        violation(t_.timelines, be32(id), "accounts_seen is {} but {} accounts live on timeline {}", timeline.accounts_seen,
                  counts[id], id);
  }

  // The index holds exactly the entries the accounts imply: no missing, no stale one.
  void walk_deadlines() {
    std::sort(expected_deadlines_.begin(), expected_deadlines_.end(),
              [](const ExpectedDeadline& a, const ExpectedDeadline& b) { return a.order() < b.order(); });
    std::size_t next = 0;
    auto report_missing_before = [&](std::optional<std::tuple<TimelineId, Date, std::uint64_t>> found) {
      for (; next < expected_deadlines_.size() && (!found || expected_deadlines_[next].order() < *found); ++next) {
        const ExpectedDeadline& e = expected_deadlines_[next];
        violation_in(t_.deadlines, "missing entry {} for account \"{}\"", describe(e.timeline, e.date, e.seq),
                  printable(accounts_[e.account].key));
      }
    };
    for_each(t_.deadlines, [&](std::string_view key, std::string_view value) {
      ++report_.checked.deadlines;
      std::optional<DeadlineKeyParts> parts = parse_deadline_key(key);
      if (!parts) return violation(t_.deadlines, key, "key of {} bytes, not {}", key.size(), kDeadlineKeyBytes);
      const auto found = std::tuple{parts->timeline, parts->date, parts->account_seq};
      report_missing_before(found);
      const std::string entry = describe(parts->timeline, parts->date, parts->account_seq);
      if (next < expected_deadlines_.size() && expected_deadlines_[next].order() == found) {
        const AccountSummary& account = accounts_[expected_deadlines_[next++].account];
        if (value != account.key)
          violation_in(t_.deadlines, "entry {} names account \"{}\", not \"{}\"", entry, printable(value), account.key);
        return;
      }
      check_stale(entry, value);
    });
    report_missing_before(std::nullopt);
  }

  void check_stale(const std::string& entry, std::string_view value) {
    if (!is_valid_id(value)) return violation_in(t_.deadlines, "entry {} holds no account id", entry);
    const AccountSummary* account = find_account(value);
    if (account == nullptr) return violation_in(t_.deadlines, "stale entry {}: account \"{}\" does not exist", entry, value);
    if (!account->decoded) return;  // reported with the account
    const std::string now = account->indexed_deadline
                                ? describe(account->timeline, *account->indexed_deadline, account->seq)
                                : std::string{"none"};
    violation_in(t_.deadlines, "stale entry {} for account \"{}\", whose deadline entry is {}", entry, value, now);
  }

  void walk_events() {
    for_each(t_.events, [&](std::string_view key, std::string_view value) {
      ++report_.checked.events;
      if (!value.empty()) violation(t_.events, key, "value of {} bytes, not empty", value.size());
      std::optional<EventKeyParts> parts = parse_event_key(key);
      if (!parts) return violation(t_.events, key, "not an event key");
      if (!is_valid_id(parts->event_id)) return violation(t_.events, key, "the event id is not valid");
      if (!parts->account_id) {
        if (!timelines_.contains(parts->timeline))
          violation(t_.events, key, "business_date event of timeline {}, which has no record", parts->timeline);
        return;
      }
      // An accepted account message always stores its account (core/processor.cpp).
      if (!is_valid_id(*parts->account_id)) return violation(t_.events, key, "the account id is not valid");
      if (!find_account(*parts->account_id))
        violation(t_.events, key, "event of account \"{}\", which does not exist", *parts->account_id);
    });
  }

  void walk_history() {
    for_each(t_.history, [&](std::string_view key, std::string_view value) {
      if (!is_history_entry_key(key)) return;  // an account record: walk_accounts's (format 7)
      ++report_.checked.history_entries;
      std::optional<HistoryKeyParts> parts = parse_history_key(key);
      if (!parts || !is_valid_id(parts->account_id)) return violation(t_.history, key, "not a history key");
      const AccountSummary* account = find_account(parts->account_id);
      if (account == nullptr)
        return violation(t_.history, key, "entry of account \"{}\", which does not exist", parts->account_id);
      if (account->decoded && parts->number >= account->history_entries)
        violation(t_.history, key, "entry number {} but the account counts {} entries", parts->number,
                  account->history_entries);
      if (Result<std::string> text = decode_history_entry(value); !text)
        violation(t_.history, key, "does not decode: {}", text.error());
    });
  }

  // Every fired record stands for an account (walk_accounts found it at the account's record's
  // deadline) and every fired entry follows its record, numbered below the account's count.
  void walk_fired() {
    if (!t_.has_fired) return;
    const FiredRecord* last = nullptr;
    std::string_view last_key;
    for_each(t_.fired, [&](std::string_view key, std::string_view value) {
      if (key.size() == kDeadlineKeyBytes) {
        auto it = fired_.find(std::string{key});
        last = it == fired_.end() ? nullptr : &it->second;
        last_key = it == fired_.end() ? std::string_view{} : std::string_view{it->first};
        if (last != nullptr && !last->account)
          violation(t_.fired, key, "a record no account's stored record names (its deadline is elsewhere)");
        return;
      }
      if (key.size() != kFiredEntryKeyBytes)
        return violation(t_.fired, key, "key of {} bytes, neither {} nor {}", key.size(), kDeadlineKeyBytes,
                         kFiredEntryKeyBytes);
      ++report_.checked.history_entries;
      if (last == nullptr || !key.starts_with(last_key))
        return violation(t_.fired, key, "a history entry with no fired record before it");
      const std::uint64_t number = read_be(key.substr(kDeadlineKeyBytes));
      if (last->account) {
        const AccountSummary& account = accounts_[*last->account];
        if (account.decoded && number >= account.history_entries)
          violation(t_.fired, key, "entry number {} but account \"{}\" counts {} entries", number, account.key,
                    account.history_entries);
      }
      if (Result<std::string> text = decode_history_entry(value); !text)
        violation(t_.fired, key, "does not decode: {}", text.error());
    });
  }

  void walk_files() {
    for_each(t_.files, [&](std::string_view key, std::string_view value) {
      ++report_.checked.file_positions;
      Result<FilePosition> position = decode_file_position(value);
      if (!position) return violation(t_.files, key, "does not decode: {}", position.error());
      if (path_key(position->real_path) != key) violation(t_.files, key, "holds the position of {}", position->real_path);
      if (position->lines_consumed > position->bytes_consumed)
        violation(t_.files, key, "{} lines consumed in {} bytes", position->lines_consumed, position->bytes_consumed);
    });
  }

  void walk_output_files() {
    for_each(t_.outfiles, [&](std::string_view key, std::string_view value) {
      ++report_.checked.output_files;
      if (key.empty()) violation(t_.outfiles, key, "empty key");
      if (value.size() != 8) violation(t_.outfiles, key, "length of {} bytes, not 8", value.size());
    });
  }

  // Seqs only grow, below the next seq counter; the outbox is trimmed from the front.
  void walk_outbox() {
    std::uint64_t previous = 0;
    for_each(t_.outbox, [&](std::string_view key, std::string_view value) {
      ++report_.checked.outbox_entries;
      if (key.size() != 8) return violation(t_.outbox, key, "key of {} bytes, not 8", key.size());
      const std::uint64_t seq = read_be(key);
      Result<PendingOutput> output = decode_pending_output(value);
      if (!output) return violation(t_.outbox, key, "does not decode: {}", output.error());
      if (output->seq != seq) violation(t_.outbox, key, "holds seq {} under key seq {}", output->seq, seq);
      if (seq < kFirstOutputSeq || seq <= previous) violation(t_.outbox, key, "seq {} after seq {}", seq, previous);
      if (next_output_seq_ && seq >= *next_output_seq_)
        violation(t_.outbox, key, "seq {} is not below the next output seq {}", seq, *next_output_seq_);
      if (output->topic == OutputTopic::state_changelog || output->topic == OutputTopic::state_changelog_deleted) {
        // A state changelog record ([kafka] changelog): a row's key and bytes, or a deletion.
        const bool deleted = output->topic == OutputTopic::state_changelog_deleted;
        if (!changelog_row(output->key, deleted ? std::nullopt : std::optional<std::string_view>{output->json}))
          violation(t_.outbox, key, "a state changelog record whose key is no row's");
        else if (deleted && !output->json.empty())
          violation(t_.outbox, key, "a state changelog deletion with {} bytes of value", output->json.size());
      } else if (output->json.size() < 2 || output->json.front() != '{' || output->json.back() != '}') {
        violation(t_.outbox, key, "the output is not one JSON object");
      }
      previous = seq;
    });
  }

  void walk_offsets() {
    for_each(t_.offsets, [&](std::string_view key, std::string_view value) {
      ++report_.checked.input_offsets;
      std::optional<InputPartition> partition = parse_offset_key(key);
      if (!partition || partition->topic.empty()) return violation(t_.offsets, key, "not an offsets key");
      if (value.size() != 8) return violation(t_.offsets, key, "offset of {} bytes, not 8", value.size());
      if (read_be(value) > static_cast<std::uint64_t>(INT64_MAX))
        violation(t_.offsets, key, "offset {} is out of range", read_be(value));
    });
  }

  const RawTables& t_;
  const Rules& rules_;
  const VerifyLimits& limits_;
  VerifyReport& report_;

  std::optional<std::uint64_t> next_output_seq_;
  std::map<TimelineId, TimelineState> timelines_;
  std::vector<AccountSummary> accounts_;  // in key order
  // The fired database's records by key, and the account each stands for (into accounts_).
  struct FiredRecord {
    std::string_view value;  // valid for the read transaction
    std::optional<std::size_t> account;
  };
  std::map<std::string, FiredRecord> fired_;
  std::vector<ExpectedDeadline> expected_deadlines_;
  std::vector<std::pair<TimelineId, std::uint64_t>> seqs_;
};

}  // namespace

VerifyReport verify_state(StateStore& store, const Rules& rules, const VerifyLimits& limits) {
  VerifyReport report;
  RawAccess::read(store, [&](const RawTables& tables) { Walk{tables, rules, limits, report}.run(); });
  return report;
}

}  // namespace paydist
