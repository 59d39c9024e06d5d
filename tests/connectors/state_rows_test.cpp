// tests/connectors/state_rows_test.cpp: a timeline's state as rows (StateStore::for_each_row,
// Batch::import_row, changelog_key / changelog_row), the ground a partition's state moving to
// another instance stands on (issue 8). Every acceptance scenario's messages, spread over
// three timelines the way the daemon spreads accounts over partitions, exported timeline by
// timeline through the changelog's record form and imported into fresh states: each must be
// that timeline's state exactly, and nothing of the others.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "connectors/codec.h"
#include "connectors/message_apply.h"
#include "connectors/state_layout.h"
#include "connectors/state_store.h"
#include "connectors/state_verify.h"
#include "core/rules.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;

constexpr TimelineId kTimelines = 3;

struct Line {
  TimelineId timeline = 0;  // kTimelines: a business date, applied on every timeline
  std::string text;
};

TimelineId timeline_of(const DecodedLine& decoded) {
  if (!decoded.account_id) return kTimelines;
  return static_cast<TimelineId>(std::hash<std::string>{}(decoded.account_id->str()) % kTimelines);
}

class StateRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "paydist-rows-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    std::ifstream in{std::string{PAYDIST_SOURCE_DIR} + "/docs/sample-events.jsonl"};
    for (std::string text; std::getline(in, text);)
      if (!text.empty()) lines_.push_back(Line{timeline_of(decoder_.decode(text)), text});
    ASSERT_GT(lines_.size(), 100u);
    source_ = open(root_ / "source");
    // A batch a line: each business date's batch leaves the accounts whose deadlines fired in
    // the fired database (state format 8) until a later batch stores them for a message,
    // so the rows below cover both places an account's record and history can be.
    apply(*source_, kTimelines, 1);
  }
  void TearDown() override {
    source_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<StateStore> open(const fs::path& dir, StoreOptions options = {}) {
    options.initial_map_bytes = std::size_t{64} << 20;
    auto store = StateStore::open(dir, options);
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error());
    return store ? std::move(*store) : nullptr;
  }

  // Applies `timeline`'s lines (every timeline's: kTimelines) to `store` in one batch; each
  // timeline's input offset follows its lines. Returns how each message ended.
  // With `batch_lines`, a batch ends (committed in the background) after that many lines.
  std::map<MessageOutcome, int> apply(StateStore& store, TimelineId only, std::size_t batch_lines = SIZE_MAX) {
    std::map<MessageOutcome, int> outcomes;
    auto batch = store.begin(0);
    std::int64_t offset[kTimelines] = {};
    std::size_t in_batch = 0;
    for (const Line& line : lines_) {
      if (++in_batch > batch_lines) {
        StateStore::Batch::commit_in_background(std::move(batch), Durability::buffered,
                                                [](Status s, StateStore::Batch&) { EXPECT_TRUE(s.ok()); });
        batch = store.begin(0);
        in_batch = 1;
      }
      for (TimelineId t = 0; t < kTimelines; ++t) {
        if (line.timeline != t && line.timeline != kTimelines) continue;
        ++offset[t];
        if (only != kTimelines && t != only) continue;
        batch->switch_timeline(t);
        const std::string prefix = "events/" + std::to_string(t);  // outlives the source that views it
        const MessageSource source{prefix, '/', static_cast<std::uint64_t>(offset[t])};
        ++outcomes[applier_.apply(*batch, decoder_.decode(line.text), line.text, source)];
        batch->set_input_offset(InputPartition{"events", static_cast<std::int32_t>(t)}, offset[t]);
      }
    }
    EXPECT_TRUE(batch->commit(Durability::buffered));
    EXPECT_TRUE(store.wait_for_commits().ok());
    return outcomes;
  }
  void apply_all(StateStore& store) { apply(store, kTimelines); }

  // `timeline`'s rows of `store`, as a changelog would carry them: key and value bytes.
  std::vector<std::pair<std::string, std::string>> records_of(StateStore& store, TimelineId timeline) {
    std::vector<std::pair<std::string, std::string>> records;
    store.for_each_row(timeline, [&](const StateRow& row) {
      EXPECT_TRUE(row.value.has_value());
      records.emplace_back(changelog_key(timeline, row), row.value.value_or(""));
    });
    return records;
  }

  // A new state holding what the records say, imported through changelog_row and import_row.
  std::unique_ptr<StateStore> restored(const std::vector<std::pair<std::string, std::string>>& records,
                                       const std::string& name) {
    auto store = open(root_ / name);
    auto batch = store->begin(0);
    for (const auto& [key, value] : records) {
      auto parsed = changelog_row(key, value);
      EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error());
      if (!parsed) continue;
      Status s = batch->import_row(parsed->first, parsed->second);
      EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    }
    EXPECT_TRUE(batch->commit(Durability::buffered));
    return store;
  }

  fs::path root_;
  Rules rules_;
  Decoder decoder_{rules_};
  MessageApplier applier_{rules_};
  std::vector<Line> lines_;
  std::unique_ptr<StateStore> source_;
};

TEST_F(StateRowsTest, EachTimelineRestoresExactlyFromItsRowsAndNothingElse) {
  std::map<std::string, TimelineId> timeline_of_account;
  source_->for_each_account([&](const Account& a) { timeline_of_account[a.id.str()] = a.timeline; });
  std::set<TimelineId> used;
  for (const auto& [id, t] : timeline_of_account) used.insert(t);
  ASSERT_EQ(used.size(), kTimelines) << "the sample spreads over every timeline";

  for (TimelineId t = 0; t < kTimelines; ++t) {
    SCOPED_TRACE(fmt::format("timeline {}", t));
    const auto records = records_of(*source_, t);
    auto copy = restored(records, fmt::format("copy{}", t));

    // Its accounts, their history, its business date and offset: exactly the source's.
    int accounts = 0;
    for (const auto& [id, home] : timeline_of_account) {
      const AccountId account = AccountId::trusted(id);
      if (home != t) {
        EXPECT_FALSE(copy->read_account(account).has_value()) << id << " lives on timeline " << home;
        continue;
      }
      ++accounts;
      EXPECT_EQ(copy->read_account(account), source_->read_account(account)) << id;
      const auto history = source_->read_history(account);
      const auto copied = copy->read_history(account);
      ASSERT_EQ(copied.size(), history.size()) << id;
      for (std::size_t i = 0; i < history.size(); ++i) {
        EXPECT_EQ(copied[i].number, history[i].number) << id;
        EXPECT_EQ(copied[i].text, history[i].text) << id;
      }
    }
    EXPECT_GT(accounts, 0);
    ASSERT_TRUE(copy->read_timeline(t).has_value());
    EXPECT_EQ(copy->read_timeline(t)->business_date, source_->read_timeline(t)->business_date);
    EXPECT_EQ(copy->read_input_offset({"events", static_cast<std::int32_t>(t)}),
              source_->read_input_offset({"events", static_cast<std::int32_t>(t)}));
    for (TimelineId other = 0; other < kTimelines; ++other) {
      if (other != t) {
        EXPECT_FALSE(copy->read_timeline(other).has_value()) << other;
      }
    }

    // The deadline index was rebuilt and every invariant holds.
    const VerifyReport report = verify_state(*copy, rules_, VerifyLimits{});
    EXPECT_TRUE(report.ok()) << (report.violations.empty() ? "" : report.violations.front());
    EXPECT_EQ(report.checked.accounts, static_cast<std::uint64_t>(accounts));

    // The copy's rows are the source's, byte for byte.
    EXPECT_EQ(records_of(*copy, t), records);

    // The accepted events came along: the timeline's messages again are all duplicates.
    // (Its bad lines are rejected again, which numbers more outputs of the timeline.)
    const std::uint64_t next_seq = copy->read_partition_output_seq(t);
    EXPECT_EQ(next_seq, source_->read_partition_output_seq(t));
    const auto again = apply(*copy, t);
    EXPECT_EQ(again.count(MessageOutcome::accepted), 0u);
    EXPECT_GT(again.at(MessageOutcome::duplicate), 0);
    const auto rejected = again.find(MessageOutcome::rejected);
    EXPECT_EQ(copy->read_partition_output_seq(t),
              next_seq + static_cast<std::uint64_t>(rejected == again.end() ? 0 : rejected->second));
  }
}

TEST_F(StateRowsTest, ImportingOverAnOlderCopyMovesTheDeadlineAndAHistoryTombstoneDeletes) {
  // An older copy: the timeline's state after its first half of the lines.
  std::vector<Line> all = lines_;
  lines_.resize(lines_.size() / 2);
  auto older = open(root_ / "older");
  apply_all(*older);
  lines_ = all;
  for (TimelineId t = 0; t < kTimelines; ++t) {
    auto batch = older->begin(0);
    source_->for_each_row(t, [&](const StateRow& row) {
      Status s = batch->import_row(t, row);
      EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    });
    ASSERT_TRUE(batch->commit(Durability::buffered));
  }
  const VerifyReport report = verify_state(*older, rules_, VerifyLimits{});
  EXPECT_TRUE(report.ok()) << (report.violations.empty() ? "" : report.violations.front());
  std::vector<std::pair<std::string, std::string>> source_rows, older_rows;
  for (TimelineId t = 0; t < kTimelines; ++t) {
    for (auto& r : records_of(*source_, t)) source_rows.push_back(std::move(r));
    for (auto& r : records_of(*older, t)) older_rows.push_back(std::move(r));
  }
  EXPECT_EQ(older_rows, source_rows);

  // A tombstone of entry N lets entries 0..N go, as retention does; an empty value (a
  // write-back's) deletes exactly its entry. Both apply in the order they come: an entry
  // imported after them stays.
  std::optional<Account> busy;
  source_->for_each_account([&](const Account& a) {
    if (!busy || a.history_entries > busy->history_entries) busy = a;
  });
  ASSERT_TRUE(busy && busy->history_entries >= 4);
  auto entry = [&](char n) { return busy->id.str() + std::string(1, '\0') + std::string(7, '\0') + std::string(1, n); };
  const std::optional<std::string> stored0 = older->read_row(busy->timeline, RowTable::history, entry(0));
  ASSERT_TRUE(stored0.has_value());
  auto batch = older->begin(busy->timeline);
  ASSERT_TRUE(batch->import_row(busy->timeline, StateRow{RowTable::history, entry(1), std::nullopt}));
  ASSERT_TRUE(batch->import_row(busy->timeline, StateRow{RowTable::history, entry(0), *stored0}));
  ASSERT_TRUE(batch->import_row(busy->timeline, StateRow{RowTable::history, entry(3), ""}));
  ASSERT_TRUE(batch->commit(Durability::buffered));
  const auto kept = older->read_history(busy->id);
  ASSERT_EQ(kept.size() + 2, source_->read_history(busy->id).size());
  EXPECT_EQ(kept[0].number, 0u);
  EXPECT_EQ(kept[1].number, 2u);
  EXPECT_FALSE(older->read_row(busy->timeline, RowTable::history, entry(1)).has_value());
  EXPECT_FALSE(older->read_row(busy->timeline, RowTable::history, entry(3)).has_value());
}

// StoreOptions::changelog: every commit queues the rows it changed in its outbox, after its own
// outputs. Those records alone, imported in their order (a changelog partition read from its
// start), give each timeline's state exactly, with retention's deletions (history kept at 2
// entries, so most accounts lose some) and batches committed in the background.
TEST_F(StateRowsTest, TheChangelogACommitQueuesRestoresEachTimelineExactly) {
  auto logged = open(root_ / "logged", StoreOptions{.history_entries_per_account = 2, .changelog = true});
  apply(*logged, kTimelines, 7);
  std::vector<PendingOutput> outbox = logged->read_outbox(1'000'000);
  std::map<OutputTopic, int> kinds;
  for (const PendingOutput& o : outbox) ++kinds[o.topic];
  EXPECT_GT(kinds[OutputTopic::activities], 0);
  EXPECT_GT(kinds[OutputTopic::state_changelog], 0);
  EXPECT_GT(kinds[OutputTopic::state_changelog_deleted], 0) << "retention let entries go";

  std::vector<std::unique_ptr<StateStore>> restored(kTimelines);
  for (TimelineId t = 0; t < kTimelines; ++t) restored[t] = open(root_ / fmt::format("restored{}", t));
  for (const PendingOutput& o : outbox) {
    if (o.topic != OutputTopic::state_changelog && o.topic != OutputTopic::state_changelog_deleted) continue;
    const std::optional<std::string_view> value =
        o.topic == OutputTopic::state_changelog ? std::optional<std::string_view>{o.json} : std::nullopt;
    auto parsed = changelog_row(o.key, value);
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    ASSERT_LT(parsed->first, kTimelines);
    auto batch = restored[parsed->first]->begin(0);  // one record a batch: order is all
    ASSERT_TRUE(batch->import_row(parsed->first, parsed->second));
    ASSERT_TRUE(batch->commit(Durability::buffered));
  }
  std::uint64_t accounts = 0;
  for (TimelineId t = 0; t < kTimelines; ++t) {
    SCOPED_TRACE(fmt::format("timeline {}", t));
    EXPECT_EQ(records_of(*restored[t], t), records_of(*logged, t));
    EXPECT_FALSE(records_of(*restored[t], t).empty());
    const VerifyReport report = verify_state(*restored[t], rules_, VerifyLimits{});
    EXPECT_TRUE(report.ok()) << (report.violations.empty() ? "" : report.violations.front());
    accounts += restored[t]->count_accounts();
    // A restore logs nothing itself.
    EXPECT_TRUE(restored[t]->read_outbox(10).empty());
  }
  EXPECT_EQ(accounts, logged->count_accounts());
}

// Each timeline numbers its outputs 1, 2, 3, ... in the order they are queued, across the
// output topics and across commits (committed in the background, so each batch reads its
// predecessor's count before it is in LMDB); changelog records are not numbered. The count
// is state: read back, and a changelog row.
TEST_F(StateRowsTest, EachTimelinesOutputsAreNumberedWithoutAGapAcrossCommits) {
  auto logged = open(root_ / "logged", StoreOptions{.changelog = true});
  apply(*logged, kTimelines, 5);
  std::map<TimelineId, std::uint64_t> last;
  std::uint64_t outputs = 0;
  for (const PendingOutput& o : logged->read_outbox(1'000'000)) {
    if (o.topic == OutputTopic::state_changelog || o.topic == OutputTopic::state_changelog_deleted) {
      EXPECT_EQ(o.partition_seq, 0u);
      EXPECT_EQ(o.timeline, changelog_key_timeline(o.key));
      continue;
    }
    ASSERT_LT(o.timeline, kTimelines);
    EXPECT_EQ(o.partition_seq, last[o.timeline] + 1) << "timeline " << o.timeline << ", outbox seq " << o.seq;
    last[o.timeline] = o.partition_seq;
    ++outputs;
  }
  ASSERT_EQ(last.size(), static_cast<std::size_t>(kTimelines));
  EXPECT_GT(outputs, 3u * kTimelines);
  for (TimelineId t = 0; t < kTimelines; ++t) {
    EXPECT_EQ(logged->read_partition_output_seq(t), last[t] + 1);
    const auto rows = records_of(*logged, t);
    const std::string key = changelog_key(t, StateRow{RowTable::output_seq, state_layout::be32(t), std::nullopt});
    const auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.first == key; });
    ASSERT_NE(it, rows.end()) << "timeline " << t;
    EXPECT_EQ(it->second, state_layout::be64(last[t] + 1));
  }
  EXPECT_EQ(logged->read_partition_output_seq(kTimelines + 5), 1u) << "a timeline with no output";
}

// Dropping a timeline takes every row of it and nothing else: its accounts with their
// history and accepted events, its business date events, deadlines, record, input offset,
// changelog position and output count; the state still verifies, and the other timelines'
// rows are as they were.
TEST_F(StateRowsTest, DroppingATimelineTakesAllOfItAndNothingElse) {
  auto store = open(root_ / "dropping", StoreOptions{.history_entries_per_account = 2, .changelog = true});
  apply_all(*store);
  {
    auto batch = store->begin(0);
    batch->set_changelog_position(1, 77);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  const auto rows0 = records_of(*store, 0), rows1 = records_of(*store, 1), rows2 = records_of(*store, 2);
  ASSERT_FALSE(rows1.empty());
  std::vector<AccountId> of_one;
  store->for_each_account([&](const Account& a) {
    if (a.timeline == 1) of_one.push_back(a.id);
  });
  ASSERT_FALSE(of_one.empty());
  const std::uint64_t accounts = store->count_accounts();

  Result<std::uint64_t> dropped = store->drop_timeline(1);
  ASSERT_TRUE(dropped.ok()) << dropped.error();
  EXPECT_EQ(*dropped, of_one.size());
  EXPECT_TRUE(records_of(*store, 1).empty());
  EXPECT_EQ(records_of(*store, 0), rows0);
  EXPECT_EQ(records_of(*store, 2), rows2);
  EXPECT_EQ(store->count_accounts(), accounts - of_one.size());
  for (const AccountId& id : of_one) {
    EXPECT_FALSE(store->read_account(id).has_value()) << id.view();
    EXPECT_TRUE(store->read_history(id).empty()) << id.view();
  }
  EXPECT_FALSE(store->read_timeline(1).has_value());
  EXPECT_FALSE(store->read_input_offset({"events", 1}).has_value());
  EXPECT_FALSE(store->read_changelog_position(1).has_value());
  EXPECT_EQ(store->read_partition_output_seq(1), 1u);
  const VerifyReport report = verify_state(*store, rules_, VerifyLimits{});
  EXPECT_TRUE(report.ok()) << (report.violations.empty() ? "" : report.violations.front());

  // Applied again, timeline 1 comes back exactly as it was.
  apply(*store, 1);
  EXPECT_EQ(records_of(*store, 1), rows1);
  EXPECT_EQ(store->count_accounts(), accounts);
}

// read_row gives each row of a timeline as for_each_row does; delete_rows takes rows (an
// account with its deadline index entry): deleting every row of a timeline one by one leaves
// what drop_timeline leaves, a state that verifies, and the timeline applied again comes back.
TEST_F(StateRowsTest, EachRowCanBeReadBackAndDeletedOnItsOwn) {
  using state_layout::be32;
  auto store = open(root_ / "rows", StoreOptions{.history_entries_per_account = 2});
  apply_all(*store);
  const auto rows0 = records_of(*store, 0), rows1 = records_of(*store, 1), rows2 = records_of(*store, 2);
  std::vector<StateRow> of_one;
  store->for_each_row(1, [&](const StateRow& row) { of_one.push_back(row); });
  ASSERT_FALSE(of_one.empty());
  std::set<RowTable> tables;
  for (const StateRow& row : of_one) {
    tables.insert(row.table);
    EXPECT_EQ(store->read_row(1, row.table, row.key), row.value) << static_cast<int>(row.table);
  }
  EXPECT_EQ(tables.size(), 6u) << "accounts, events, history, timeline, offsets and the output count";
  EXPECT_FALSE(store->read_row(1, RowTable::timeline, be32(2)).has_value()) << "another timeline's record";
  EXPECT_FALSE(store->read_row(1, RowTable::commit, be32(1)).has_value()) << "a commit row is never stored";
  EXPECT_FALSE(store->delete_rows(1, {StateRow{RowTable::output_seq, be32(0), std::nullopt}}).ok())
      << "another timeline's count";

  for (const StateRow& row : of_one) ASSERT_TRUE(store->delete_rows(1, {row})) << static_cast<int>(row.table);
  ASSERT_TRUE(store->delete_rows(1, {StateRow{RowTable::account, "NOT-HERE", std::nullopt}})) << "no error";
  EXPECT_TRUE(records_of(*store, 1).empty());
  EXPECT_EQ(records_of(*store, 0), rows0);
  EXPECT_EQ(records_of(*store, 2), rows2);
  const VerifyReport report = verify_state(*store, rules_, VerifyLimits{});
  EXPECT_TRUE(report.ok()) << (report.violations.empty() ? "" : report.violations.front());
  apply(*store, 1);
  EXPECT_EQ(records_of(*store, 1), rows1);
}

// Each commit ends the rows it gives a timeline with that timeline's commit row, so a reader
// can tell a whole commit from one cut short: on every timeline the changelog records come in
// groups of at least one row, each closed by a commit row (key: the timeline), with nothing
// after the last; several commits give several groups. Importing a commit row writes nothing.
TEST_F(StateRowsTest, EachCommitClosesTheRowsItGivesATimelineWithACommitRow) {
  using state_layout::be32;
  auto logged = open(root_ / "logged", StoreOptions{.history_entries_per_account = 2, .changelog = true});
  apply(*logged, kTimelines, 7);
  std::map<TimelineId, int> open_rows, commits;
  for (const PendingOutput& o : logged->read_outbox(1'000'000)) {
    if (o.topic != OutputTopic::state_changelog && o.topic != OutputTopic::state_changelog_deleted) continue;
    auto parsed = changelog_row(
        o.key, o.topic == OutputTopic::state_changelog ? std::optional<std::string_view>{o.json} : std::nullopt);
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    const auto& [t, row] = *parsed;
    if (row.table != RowTable::commit) {
      ++open_rows[t];
      continue;
    }
    EXPECT_EQ(row.key, be32(t));
    EXPECT_EQ(row.value, std::optional<std::string>{""});
    EXPECT_GT(open_rows[t], 0) << "a commit row closes at least one row, timeline " << t;
    open_rows[t] = 0;
    ++commits[t];
  }
  ASSERT_EQ(commits.size(), static_cast<std::size_t>(kTimelines));
  for (TimelineId t = 0; t < kTimelines; ++t) {
    EXPECT_EQ(open_rows[t], 0) << "rows after timeline " << t << "'s last commit row";
    EXPECT_GT(commits[t], 1) << "several commits, timeline " << t;
  }

  auto copy = open(root_ / "copy");
  const auto before = records_of(*copy, 1);
  auto batch = copy->begin(0);
  ASSERT_TRUE(batch->import_row(1, StateRow{RowTable::commit, be32(1), ""}));
  EXPECT_FALSE(batch->import_row(1, StateRow{RowTable::commit, be32(2), ""}).ok()) << "another timeline's";
  EXPECT_FALSE(batch->import_row(1, StateRow{RowTable::commit, be32(1), "x"}).ok()) << "a commit row holds no value";
  ASSERT_TRUE(batch->commit(Durability::buffered));
  EXPECT_EQ(records_of(*copy, 1), before);
  EXPECT_EQ(copy->count_accounts(), 0u);
}

// A timeline's changelog position is state of this copy, not of the timeline: committed with
// a batch, read back, accepted by verify, and never among the rows a changelog carries.
TEST_F(StateRowsTest, AChangelogPositionIsCommittedWithABatchAndIsNotARow) {
  auto logged = open(root_ / "logged", StoreOptions{.changelog = true});
  EXPECT_FALSE(logged->read_changelog_position(1).has_value());
  apply_all(*logged);
  const std::size_t outbox_before = logged->read_outbox(1'000'000).size();
  const auto rows_before = records_of(*logged, 1);
  {
    auto batch = logged->begin(0);
    batch->set_changelog_position(1, 4'242);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  EXPECT_EQ(logged->read_changelog_position(1), 4'242);
  EXPECT_FALSE(logged->read_changelog_position(2).has_value());
  EXPECT_EQ(logged->read_outbox(1'000'000).size(), outbox_before) << "a position is not logged";
  EXPECT_EQ(records_of(*logged, 1), rows_before);
  const VerifyReport report = verify_state(*logged, rules_, VerifyLimits{});
  EXPECT_TRUE(report.ok()) << (report.violations.empty() ? "" : report.violations.front());
}

TEST_F(StateRowsTest, RowsThatAreNoPartOfTheTimelineAreRefusedWithNothingWritten) {
  std::optional<Account> account;
  source_->for_each_account([&](const Account& a) {
    if (!account && a.timeline == 1) account = a;
  });
  ASSERT_TRUE(account);
  std::string record;
  source_->for_each_row(1, [&](const StateRow& row) {
    if (row.table == RowTable::account && row.key == account->id.str()) record = *row.value;
  });
  ASSERT_FALSE(record.empty());

  auto copy = open(root_ / "copy");
  auto batch = copy->begin(0);
  auto refused = [&](TimelineId t, const StateRow& row, const std::string& why) {
    Status s = batch->import_row(t, row);
    ASSERT_FALSE(s.ok()) << why;
    EXPECT_NE(s.error().find(why), std::string::npos) << s.error();
  };
  refused(2, StateRow{RowTable::account, account->id.str(), record}, "the account lives on timeline 1");
  refused(1, StateRow{RowTable::account, "SOMEONE-ELSE", record}, "the record is account");
  refused(1, StateRow{RowTable::account, account->id.str(), std::nullopt},
          "only a history entry's tombstone is imported in a batch");
  refused(1, StateRow{RowTable::account, account->id.str(), "garbage"}, "state row of timeline 1");
  refused(1, StateRow{RowTable::timeline, std::string("\0\0\0\2", 4), "x"}, "the record of another timeline");
  refused(1, StateRow{RowTable::input_offset, std::string("events\0\0\0\0\2", 11), std::string(8, '\0')},
          "the offset of another partition");
  refused(1, StateRow{RowTable::event, std::string("\x01\0\0\0\2" "bd1", 8), ""}, "another timeline");
  ASSERT_TRUE(batch->commit(Durability::buffered));
  EXPECT_EQ(copy->count_accounts(), 0u);
  EXPECT_FALSE(copy->read_timeline(1).has_value());

  EXPECT_FALSE(changelog_row(std::string("\0\0\0\1", 4), std::nullopt).ok());
  EXPECT_FALSE(changelog_row(std::string("\0\0\0\1\x09" "k", 6), std::nullopt).ok());
  const auto parsed = changelog_row(changelog_key(7, StateRow{RowTable::history, "k", std::nullopt}), std::nullopt);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->first, 7u);
  EXPECT_EQ(parsed->second, (StateRow{RowTable::history, "k", std::nullopt}));
}

}  // namespace
}  // namespace paydist
