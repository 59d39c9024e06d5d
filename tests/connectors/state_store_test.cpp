// tests/connectors/state_store_test.cpp: the LMDB state store: a batch reads its own writes
// and is all or nothing; the deadline index orders by date then seq per timeline; event
// scopes; the outbox; map growth; format versions; a reader in another process.
#include "connectors/state_store.h"
#include "tests/support/raw_lmdb.h"
#include "tests/support/small_tmpfs.h"

#include <lmdb.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>
#include <mutex>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace paydist {
namespace {

namespace fs = std::filesystem;

Date day(int y, int m, int d) { return Date::from_civil({y, m, d}); }
AccountId acc(const char* id) { return AccountId::parse(id).value(); }
EventId ev(const char* id) { return EventId::parse(id).value(); }

Account make_account(const char* id, std::uint64_t seq, std::optional<Date> deadline = std::nullopt) {
  Account a;
  a.id = acc(id);
  a.seq = seq;
  a.indexed_deadline = deadline;
  Obligation o;
  o.id = ObligationId::parse("OB1").value();
  o.due_date = day(2025, 1, 31);
  o.balance.tax = Money::from_cents(static_cast<std::int64_t>(seq) * 100);
  a.obligations.push_back(o);
  return a;
}

// Stores accounts PREFIX0 .. PREFIX<count-1> in `batch`, each with one output of
// `output_bytes` bytes: a batch big enough to fill a small map or file system.
void store_accounts(StateStore::Batch& batch, const char* prefix, int count, std::size_t output_bytes) {
  for (int i = 0; i < count; ++i) {
    const std::string id = fmt::format("{}{}", prefix, i);
    batch.store_account(make_account(id.c_str(), static_cast<std::uint64_t>(i)), std::nullopt);
    batch.add_output(OutputTopic::distributions, id, std::string(output_bytes, 'd'));
  }
}

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "paydist-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ / "state";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<StateStore> open_store(StoreOptions options = {}) {
    Result<std::unique_ptr<StateStore>> store = StateStore::open(dir_, options);
    EXPECT_TRUE(store) << store.error();
    return store ? std::move(store).value() : nullptr;
  }

  fs::path root_;
  fs::path dir_;
};

std::optional<DeadlineEntry> first(StateStore::Batch& batch, Date up_to) { return batch.first_deadline_up_to(up_to); }

#define EXPECT_DEADLINE(entry, date_, seq_, id_)      \
  do {                                                \
    auto e_ = (entry);                                \
    ASSERT_TRUE(e_.has_value());                      \
    EXPECT_EQ(e_->date, (date_));                     \
    EXPECT_EQ(e_->account_seq, std::uint64_t{seq_});  \
    EXPECT_EQ(e_->account_id, acc(id_));              \
  } while (0)

TEST_F(StateStoreTest, OpenCreatesTheDirectoryWithPrivateFiles) {
  auto store = open_store();
  ASSERT_TRUE(store);
  struct stat st{};
  ASSERT_EQ(stat((dir_ / "data.mdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ / "lock.mdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
}

TEST_F(StateStoreTest, StateIdIsRandomPerStateAndKeptAcrossReopen) {
  std::string id;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    id = store->state_id();
  }
  ASSERT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  {
    auto again = open_store();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->state_id(), id);
  }
  StoreOptions read_only;
  read_only.access = StoreOptions::Access::read_only;
  auto reader = open_store(read_only);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->state_id(), id);
  dir_ = root_ / "other";
  auto other = open_store();
  ASSERT_TRUE(other);
  EXPECT_EQ(other->state_id().size(), 32u);
  EXPECT_NE(other->state_id(), id);
}

TEST_F(StateStoreTest, AnAccountLivesOnTheTimelineThatFirstStoredIt) {
  auto store = open_store();
  ASSERT_TRUE(store);
  {
    auto batch = store->begin(TimelineId{0});
    batch->switch_timeline(TimelineId{3});
    batch->store_account(make_account("ACC3", 1), std::nullopt);
    batch->switch_timeline(TimelineId{0});
    batch->store_account(make_account("ACC0", 2), std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  EXPECT_EQ(store->read_account(acc("ACC3"))->timeline, 3u);
  EXPECT_EQ(store->read_account(acc("ACC0"))->timeline, 0u);
}

TEST_F(StateStoreTest, BatchReadsItsOwnWrites) {
  auto store = open_store();
  auto batch = store->begin(0);
  EXPECT_FALSE(batch->load_account(acc("A1")));
  const Account a = make_account("A1", 0, day(2025, 2, 14));
  batch->store_account(a, std::nullopt);
  EXPECT_EQ(batch->load_account(acc("A1")), a);

  const AccountId id = acc("A1");
  EXPECT_FALSE(batch->event_accepted(EventScope{&id}, ev("E1")));
  batch->mark_event_accepted(EventScope{&id}, ev("E1"));
  EXPECT_TRUE(batch->event_accepted(EventScope{&id}, ev("E1")));

  EXPECT_EQ(batch->timeline(), TimelineState{});
  batch->store_timeline(TimelineState{day(2025, 2, 1), 1});
  EXPECT_EQ(batch->timeline(), (TimelineState{day(2025, 2, 1), 1}));

  EXPECT_DEADLINE(first(*batch, day(2025, 2, 14)), day(2025, 2, 14), 0, "A1");
  EXPECT_FALSE(first(*batch, day(2025, 2, 13)));
  EXPECT_GT(batch->pending_writes(), 0u);

  // Nothing reaches LMDB until commit: the read side still sees nothing.
  EXPECT_FALSE(store->read_account(acc("A1")));
  ASSERT_TRUE(batch->commit(Durability::synced));
  EXPECT_EQ(store->read_account(acc("A1")), a);
}

TEST_F(StateStoreTest, BatchDestroyedWithoutCommitLeavesNothing) {
  auto store = open_store();
  const AccountId id = acc("A1");
  {
    auto batch = store->begin(0);
    batch->store_account(make_account("A1", 0, day(2025, 2, 14)), std::nullopt);
    batch->mark_event_accepted(EventScope{&id}, ev("E1"));
    batch->mark_event_accepted(EventScope{}, ev("BD1"));
    batch->store_timeline(TimelineState{day(2025, 2, 1), 1});
    batch->add_output(OutputTopic::activities, "A1", "{}");
    batch->set_file_position(FilePosition{"/in/f.jsonl", 1, 10, {}});
  }
  EXPECT_FALSE(store->read_account(id));
  EXPECT_FALSE(store->read_timeline(0));
  EXPECT_FALSE(store->read_file_position("/in/f.jsonl"));
  EXPECT_TRUE(store->read_outbox(10).empty());
  auto batch = store->begin(0);
  EXPECT_FALSE(batch->event_accepted(EventScope{&id}, ev("E1")));
  EXPECT_FALSE(batch->event_accepted(EventScope{}, ev("BD1")));
  EXPECT_FALSE(first(*batch, day(9999, 12, 31)));
  EXPECT_EQ(batch->timeline(), TimelineState{});
}

TEST_F(StateStoreTest, CommitPersistsAcrossReopen) {
  const AccountId id = acc("A1");
  Account a = make_account("A1", 7, day(2025, 3, 1));
  a.timeline = 3;  // the timeline it is stored on below
  FilePosition position{"/in/events.jsonl", 12, 3400, {}};
  position.sha256[0] = 0xab;
  {
    auto store = open_store();
    auto batch = store->begin(3);
    batch->store_account(a, std::nullopt);
    batch->mark_event_accepted(EventScope{&id}, ev("E1"));
    batch->mark_event_accepted(EventScope{}, ev("BD1"));
    batch->store_timeline(TimelineState{day(2025, 2, 1), 8});
    batch->set_file_position(position);
    batch->add_output(OutputTopic::distributions, "A1", R"({"kind":"applied"})");
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  auto store = open_store();
  EXPECT_EQ(store->read_account(id), a);
  EXPECT_EQ(store->read_timeline(3), (TimelineState{day(2025, 2, 1), 8}));
  EXPECT_FALSE(store->read_timeline(0));
  EXPECT_EQ(store->read_file_position("/in/events.jsonl"), position);
  const std::vector<PendingOutput> outbox = store->read_outbox(10);
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].topic, OutputTopic::distributions);
  EXPECT_EQ(outbox[0].key, "A1");
  EXPECT_EQ(outbox[0].json, R"({"kind":"applied"})");
  EXPECT_EQ(store->count_accounts(), 1u);

  auto batch = store->begin(3);
  EXPECT_TRUE(batch->event_accepted(EventScope{&id}, ev("E1")));
  EXPECT_TRUE(batch->event_accepted(EventScope{}, ev("BD1")));
  EXPECT_EQ(batch->load_account(id), a);
  EXPECT_DEADLINE(first(*batch, day(2025, 3, 1)), day(2025, 3, 1), 7, "A1");
}

TEST_F(StateStoreTest, BufferedCommitIsVisibleAndSurvivesReopen) {
  {
    auto store = open_store();
    auto batch = store->begin(0);
    batch->store_account(make_account("A1", 0), std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::buffered));
    EXPECT_TRUE(store->read_account(acc("A1")));
    auto next = store->begin(0);
    next->store_account(make_account("A2", 1), std::nullopt);
    ASSERT_TRUE(next->commit(Durability::synced));
  }
  auto store = open_store();
  EXPECT_TRUE(store->read_account(acc("A1")));
  EXPECT_TRUE(store->read_account(acc("A2")));
}

TEST_F(StateStoreTest, DeadlinesOrderByDateThenSeq) {
  auto store = open_store();
  {
    auto batch = store->begin(0);
    batch->store_account(make_account("LATE", 0, day(2025, 5, 1)), std::nullopt);
    batch->store_account(make_account("SEQ9", 9, day(2025, 4, 1)), std::nullopt);
    batch->store_account(make_account("SEQ2", 2, day(2025, 4, 1)), std::nullopt);
    batch->store_account(make_account("NONE", 3), std::nullopt);
    // Before 1970 (negative day serials) sorts before after it.
    batch->store_account(make_account("OLD", 300, day(1960, 1, 1)), std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  auto batch = store->begin(0);
  EXPECT_FALSE(first(*batch, day(1959, 12, 31)));
  EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(1960, 1, 1), 300, "OLD");
  Account old = batch->load_account(acc("OLD")).value();
  old.indexed_deadline.reset();
  batch->store_account(old, day(1960, 1, 1));
  EXPECT_FALSE(first(*batch, day(2025, 3, 31)));
  EXPECT_DEADLINE(first(*batch, day(2025, 4, 1)), day(2025, 4, 1), 2, "SEQ2");
  Account seq2 = batch->load_account(acc("SEQ2")).value();
  seq2.indexed_deadline.reset();
  batch->store_account(seq2, day(2025, 4, 1));
  EXPECT_DEADLINE(first(*batch, day(2025, 4, 1)), day(2025, 4, 1), 9, "SEQ9");
}

TEST_F(StateStoreTest, DeadlineTimelinesAreSeparate) {
  auto store = open_store();
  for (TimelineId t : {TimelineId{0}, TimelineId{1}, TimelineId{0xffffffff}}) {
    auto batch = store->begin(t);
    batch->store_account(make_account(t == 0 ? "T0" : t == 1 ? "T1" : "TMAX", 0, day(2025, 1, 1 + t % 20)),
                         std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  auto b1 = store->begin(1);
  EXPECT_DEADLINE(first(*b1, day(2025, 12, 31)), day(2025, 1, 2), 0, "T1");
  b1.reset();
  auto b0 = store->begin(0);
  EXPECT_DEADLINE(first(*b0, day(2025, 12, 31)), day(2025, 1, 1), 0, "T0");
  b0.reset();
  auto bmax = store->begin(0xffffffff);
  EXPECT_DEADLINE(first(*bmax, day(2025, 12, 31)), day(2025, 1, 16), 0, "TMAX");
  bmax.reset();
  auto b2 = store->begin(2);
  EXPECT_FALSE(first(*b2, day(9999, 12, 31)));
}

// The daemon's batch spans its partitions: each timeline keeps its own business date,
// deadline index and business_date event scope inside one transaction, and a later batch
// (begun while this one commits in the background) sees them per timeline.
TEST_F(StateStoreTest, OneBatchSpansTimelinesKeepingEachApart) {
  auto store = open_store();
  const EventScope business_date_scope{};
  {
    auto batch = store->begin(0);
    batch->store_timeline(TimelineState{day(2025, 1, 10), 1});
    batch->store_account(make_account("A0", 0, day(2025, 2, 1)), std::nullopt);
    batch->mark_event_accepted(business_date_scope, ev("BD1"));
    batch->switch_timeline(1);
    EXPECT_EQ(batch->timeline(), TimelineState{}) << "timeline 1 starts empty";
    EXPECT_FALSE(batch->event_accepted(business_date_scope, ev("BD1")));
    EXPECT_FALSE(first(*batch, day(2025, 12, 31))) << "timeline 0's deadline is not timeline 1's";
    batch->store_timeline(TimelineState{day(2025, 1, 20), 1});
    batch->store_account(make_account("A1", 0, day(2025, 3, 1)), std::nullopt);
    EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 1), 0, "A1");
    batch->switch_timeline(0);
    EXPECT_EQ(batch->timeline().business_date, day(2025, 1, 10));
    EXPECT_TRUE(batch->event_accepted(business_date_scope, ev("BD1")));
    EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 2, 1), 0, "A0");
    StateStore::Batch::commit_in_background(std::move(batch), Durability::synced,
                                            [](Status s, StateStore::Batch&) { ASSERT_TRUE(s); });
  }
  auto next = store->begin(1);  // may read the batch above before its commit ends
  EXPECT_EQ(next->timeline().business_date, day(2025, 1, 20));
  EXPECT_DEADLINE(first(*next, day(2025, 12, 31)), day(2025, 3, 1), 0, "A1");
  next->switch_timeline(0);
  EXPECT_EQ(next->timeline().business_date, day(2025, 1, 10));
  EXPECT_DEADLINE(first(*next, day(2025, 12, 31)), day(2025, 2, 1), 0, "A0");
  next.reset();
  ASSERT_TRUE(store->wait_for_commits());
  EXPECT_EQ(store->read_timeline(0)->business_date, day(2025, 1, 10));
  EXPECT_EQ(store->read_timeline(1)->business_date, day(2025, 1, 20));
}

TEST_F(StateStoreTest, DeadlineOverlayHidesRemovedAndShowsAddedBeforeCommit) {
  auto store = open_store();
  {
    auto batch = store->begin(0);
    batch->store_account(make_account("A", 1, day(2025, 3, 1)), std::nullopt);
    batch->store_account(make_account("B", 2, day(2025, 3, 2)), std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  {
    auto batch = store->begin(0);
    // A moves later, past B; C is new and earliest of all.
    Account a = batch->load_account(acc("A")).value();
    a.indexed_deadline = day(2025, 3, 10);
    batch->store_account(a, day(2025, 3, 1));
    EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 2), 2, "B");
    batch->store_account(make_account("C", 3, day(2025, 2, 1)), std::nullopt);
    EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 2, 1), 3, "C");
    // C added then removed in the same batch: gone.
    Account c = batch->load_account(acc("C")).value();
    c.indexed_deadline.reset();
    batch->store_account(c, day(2025, 2, 1));
    EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 2), 2, "B");
    // Storing B again at the same deadline keeps one entry.
    batch->store_account(batch->load_account(acc("B")).value(), day(2025, 3, 2));
    EXPECT_DEADLINE(first(*batch, day(2025, 3, 2)), day(2025, 3, 2), 2, "B");
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  auto batch = store->begin(0);
  EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 2), 2, "B");
  Account b = batch->load_account(acc("B")).value();
  b.indexed_deadline.reset();
  batch->store_account(b, day(2025, 3, 2));
  EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 10), 1, "A");
  EXPECT_FALSE(first(*batch, day(2025, 3, 9)));
}

// The batch finds its earliest added entry through a heap that keeps slots taken out since
// (skipped when they come up): a slot added, moved away and added back is found, once; taken
// out again, neither of its copies in the heap is found.
TEST_F(StateStoreTest, ASlotAddedMovedAwayAndAddedBackInOneBatchIsFoundUntilItGoes) {
  auto store = open_store();
  auto batch = store->begin(0);
  batch->store_account(make_account("B", 2, day(2025, 3, 5)), std::nullopt);
  Account d = make_account("D", 4, day(2025, 3, 1));
  batch->store_account(d, std::nullopt);
  d.indexed_deadline = day(2025, 3, 9);
  batch->store_account(d, day(2025, 3, 1));
  EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 5), 2, "B");
  d.indexed_deadline = day(2025, 3, 1);
  batch->store_account(d, day(2025, 3, 9));
  EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 1), 4, "D");
  d.indexed_deadline.reset();
  batch->store_account(d, day(2025, 3, 1));
  EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 5), 2, "B");
  ASSERT_TRUE(batch->commit(Durability::synced));
  auto after = store->begin(0);
  EXPECT_DEADLINE(first(*after, day(2025, 12, 31)), day(2025, 3, 5), 2, "B");
  Account b = after->load_account(acc("B")).value();
  b.indexed_deadline.reset();
  after->store_account(b, day(2025, 3, 5));
  EXPECT_FALSE(first(*after, day(9999, 12, 31)));
}

// A business-date jump: fire the first deadline, move the account to a later one, repeat.
// Each account fires on each of its dates, in (date, seq) order, and the loop ends.
TEST_F(StateStoreTest, DeadlineFiringLoopVisitsEntriesInOrder) {
  auto store = open_store();
  constexpr int kAccounts = 200;
  {
    auto batch = store->begin(0);
    for (int i = 0; i < kAccounts; ++i) {
      const std::string id = "A" + std::to_string(i);
      batch->store_account(make_account(id.c_str(), static_cast<std::uint64_t>(i), day(2025, 1, 1 + i % 5)),
                           std::nullopt);
    }
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  auto batch = store->begin(0);
  const Date up_to = day(2025, 1, 10);
  std::optional<std::pair<Date, std::uint64_t>> last;
  int fired = 0;
  while (auto entry = first(*batch, up_to)) {
    const std::pair<Date, std::uint64_t> at{entry->date, entry->account_seq};
    if (last) {
      EXPECT_LT(*last, at);
    }
    last = at;
    ++fired;
    ASSERT_LE(fired, kAccounts * 3);
    Account a = batch->load_account(entry->account_id).value();
    EXPECT_EQ(a.seq, entry->account_seq);
    const std::optional<Date> previous = a.indexed_deadline;
    // Every account fires twice: its own date and 5 days later (still <= up_to), then leaves.
    a.indexed_deadline = entry->date < day(2025, 1, 6) ? std::optional<Date>{entry->date.plus_days(5)} : std::nullopt;
    batch->store_account(a, previous);
  }
  EXPECT_EQ(fired, kAccounts * 2);
  ASSERT_TRUE(batch->commit(Durability::synced));
  auto after = store->begin(0);
  EXPECT_FALSE(first(*after, day(9999, 12, 31)));
}

TEST_F(StateStoreTest, EventScopesAreSeparate) {
  auto store = open_store();
  const AccountId a1 = acc("A1"), a2 = acc("A2");
  {
    auto batch = store->begin(0);
    batch->mark_event_accepted(EventScope{&a1}, ev("E1"));
    batch->mark_event_accepted(EventScope{}, ev("BD1"));
    EXPECT_FALSE(batch->event_accepted(EventScope{&a2}, ev("E1")));
    EXPECT_FALSE(batch->event_accepted(EventScope{}, ev("E1")));
    EXPECT_FALSE(batch->event_accepted(EventScope{&a1}, ev("BD1")));
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  {
    auto batch = store->begin(0);
    EXPECT_TRUE(batch->event_accepted(EventScope{&a1}, ev("E1")));
    EXPECT_FALSE(batch->event_accepted(EventScope{&a2}, ev("E1")));
    EXPECT_TRUE(batch->event_accepted(EventScope{}, ev("BD1")));
    EXPECT_FALSE(batch->event_accepted(EventScope{}, ev("E1")));
  }
  // The business_date scope is per timeline; the account scope is not.
  auto other = store->begin(1);
  EXPECT_FALSE(other->event_accepted(EventScope{}, ev("BD1")));
  EXPECT_TRUE(other->event_accepted(EventScope{&a1}, ev("E1")));
}

TEST_F(StateStoreTest, OutputSeqsIncreaseAcrossBatchesAndAcknowledgeTrimsTheOutbox) {
  auto store = open_store();
  for (int round = 0; round < 2; ++round) {
    auto batch = store->begin(0);
    for (int i = 0; i < 3; ++i)
      batch->add_output(OutputTopic::activities, "A1", "{\"n\":" + std::to_string(round * 3 + i) + "}");
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  std::vector<PendingOutput> outbox = store->read_outbox(100);
  ASSERT_EQ(outbox.size(), 6u);
  for (std::size_t i = 1; i < outbox.size(); ++i) EXPECT_EQ(outbox[i].seq, outbox[i - 1].seq + 1);
  EXPECT_EQ(outbox[5].json, "{\"n\":5}");
  EXPECT_EQ(store->read_outbox(2).size(), 2u);

  ASSERT_TRUE(store->acknowledge_outbox(outbox[3].seq, {{"/out/activities.jsonl", 1234}}));
  std::vector<PendingOutput> rest = store->read_outbox(100);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].seq, outbox[4].seq);
  EXPECT_EQ(store->read_output_file_length("/out/activities.jsonl"), 1234u);
  EXPECT_FALSE(store->read_output_file_length("/out/other.jsonl"));

  // Seqs are never reused, even once the outbox is empty.
  ASSERT_TRUE(store->acknowledge_outbox(outbox[5].seq, {}));
  EXPECT_TRUE(store->read_outbox(100).empty());
  auto batch = store->begin(0);
  batch->add_output(OutputTopic::rejects, "", "{}");
  ASSERT_TRUE(batch->commit(Durability::synced));
  rest = store->read_outbox(100);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].seq, outbox[5].seq + 1);
  EXPECT_EQ(rest[0].topic, OutputTopic::rejects);
}

// The file connector writes a committed batch's outputs from memory: the batch shows them
// in seq order, before and after commit, exactly as the outbox holds them.
TEST_F(StateStoreTest, QueuedOutputsAreShownInSeqOrderBeforeAndAfterCommit) {
  auto store = open_store();
  {
    auto first = store->begin(0);
    first->add_output(OutputTopic::activities, "A0", "{}");
    ASSERT_TRUE(first->commit(Durability::synced));
  }
  const std::string long_json = "{\"pad\":\"" + std::string(500, 'p') + "\"}";
  auto batch = store->begin(0);
  batch->add_output(OutputTopic::distributions, "A1", long_json);
  batch->add_output(OutputTopic::rejects, "", "{\"r\":1}");
  batch->add_output(OutputTopic::activities, "A2", "{\"a\":2}");
  auto shown = [&] {
    std::vector<PendingOutput> out;
    batch->for_each_output([&](const QueuedOutput& o) {
      out.push_back(PendingOutput{o.seq, o.topic, std::string{o.key}, std::string{o.json}, o.timeline, o.partition_seq});
    });
    return out;
  };
  const std::vector<PendingOutput> before = shown();
  ASSERT_EQ(before.size(), 3u);
  EXPECT_EQ(before[0].seq, 2u);  // the first batch took seq 1
  EXPECT_EQ(before[0].topic, OutputTopic::distributions);
  EXPECT_EQ(before[0].key, "A1");
  EXPECT_EQ(before[0].json, long_json);
  EXPECT_EQ(before[1].seq, 3u);
  EXPECT_EQ(before[1].key, "");
  EXPECT_EQ(before[1].json, "{\"r\":1}");
  EXPECT_EQ(before[2].seq, 4u);
  EXPECT_EQ(before[2].json, "{\"a\":2}");

  ASSERT_TRUE(batch->commit(Durability::synced));
  const std::vector<PendingOutput> after = shown();
  const std::vector<PendingOutput> outbox = store->read_outbox(10);
  ASSERT_EQ(after.size(), 3u);
  ASSERT_EQ(outbox.size(), 4u);
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].seq, before[i].seq);
    EXPECT_EQ(after[i].json, before[i].json);
    EXPECT_EQ(outbox[i + 1].seq, after[i].seq);
    EXPECT_EQ(outbox[i + 1].topic, after[i].topic);
    EXPECT_EQ(outbox[i + 1].key, after[i].key);
    EXPECT_EQ(outbox[i + 1].json, after[i].json);
  }
}

// The file connector acknowledges one batch's outputs in the next batch's transaction:
// the earlier entries go (all, or up to through_seq), the batch's own stay, marks are kept.
TEST_F(StateStoreTest, ABatchCarriesTheAcknowledgementOfEarlierOutputs) {
  auto store = open_store();
  {
    auto batch = store->begin(0);
    for (int i = 0; i < 3; ++i) batch->add_output(OutputTopic::activities, "A1", "{\"n\":" + std::to_string(i) + "}");
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  const std::vector<PendingOutput> earlier = store->read_outbox(10);
  ASSERT_EQ(earlier.size(), 3u);
  {
    auto batch = store->begin(0);
    batch->add_output(OutputTopic::rejects, "", "{\"n\":3}");
    batch->acknowledge_outbox(earlier[1].seq, {{"/out/activities.jsonl", 20}});
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  std::vector<PendingOutput> outbox = store->read_outbox(10);
  ASSERT_EQ(outbox.size(), 2u);
  EXPECT_EQ(outbox[0].seq, earlier[2].seq);
  EXPECT_EQ(outbox[1].json, "{\"n\":3}");
  EXPECT_EQ(store->read_output_file_length("/out/activities.jsonl"), 20u);
  {
    auto batch = store->begin(0);
    batch->add_output(OutputTopic::rejects, "", "{\"n\":4}");
    batch->acknowledge_outbox(outbox[1].seq, {{"/out/activities.jsonl", 30}, {"/out/rejects.jsonl", 7}});
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  outbox = store->read_outbox(10);
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].seq, earlier[2].seq + 2);
  EXPECT_EQ(outbox[0].json, "{\"n\":4}");
  EXPECT_EQ(store->read_output_file_length("/out/activities.jsonl"), 30u);
  EXPECT_EQ(store->read_output_file_length("/out/rejects.jsonl"), 7u);
  // Not committed: nothing of the acknowledgement stays.
  {
    auto batch = store->begin(0);
    batch->acknowledge_outbox(outbox[0].seq, {{"/out/rejects.jsonl", 99}});
  }
  EXPECT_EQ(store->read_outbox(10).size(), 1u);
  EXPECT_EQ(store->read_output_file_length("/out/rejects.jsonl"), 7u);
}

// Batches reuse their buffers: nothing of a committed or abandoned batch shows in the next.
TEST_F(StateStoreTest, ABatchAfterAnotherStartsEmpty) {
  auto store = open_store();
  const AccountId a1 = acc("A1"), a2 = acc("A2");
  {
    auto batch = store->begin(0);
    batch->store_account(make_account("A1", 0, day(2025, 2, 1)), std::nullopt);
    batch->mark_event_accepted(EventScope{&a1}, ev("E1"));
    batch->add_output(OutputTopic::activities, "A1", "{}");
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  {
    auto abandoned = store->begin(0);
    abandoned->store_account(make_account("A2", 1, day(2025, 1, 1)), std::nullopt);
    abandoned->mark_event_accepted(EventScope{&a2}, ev("E2"));
    abandoned->add_output(OutputTopic::activities, "A2", "{}");
    abandoned->store_timeline(TimelineState{day(2025, 1, 5), 2});
  }
  auto batch = store->begin(0);
  EXPECT_EQ(batch->pending_writes(), 0u);
  std::size_t outputs = 0;
  batch->for_each_output([&](const QueuedOutput&) { ++outputs; });
  EXPECT_EQ(outputs, 0u);
  EXPECT_FALSE(batch->load_account(a2));
  EXPECT_FALSE(batch->event_accepted(EventScope{&a2}, ev("E2")));
  EXPECT_TRUE(batch->event_accepted(EventScope{&a1}, ev("E1")));
  EXPECT_EQ(batch->timeline(), TimelineState{});
  EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 2, 1), 0, "A1");
}

// An event found absent is remembered as absent only until it is marked accepted.
TEST_F(StateStoreTest, AnEventCheckedAbsentThenMarkedIsAccepted) {
  auto store = open_store();
  const AccountId a1 = acc("A1");
  auto batch = store->begin(0);
  EXPECT_FALSE(batch->event_accepted(EventScope{&a1}, ev("E1")));
  EXPECT_FALSE(batch->event_accepted(EventScope{&a1}, ev("E1")));
  batch->mark_event_accepted(EventScope{&a1}, ev("E1"));
  EXPECT_TRUE(batch->event_accepted(EventScope{&a1}, ev("E1")));
  EXPECT_FALSE(batch->event_accepted(EventScope{&a1}, ev("E2")));
  EXPECT_FALSE(batch->event_accepted(EventScope{}, ev("E2")));
  batch->mark_event_accepted(EventScope{}, ev("E2"));
  EXPECT_TRUE(batch->event_accepted(EventScope{}, ev("E2")));
  EXPECT_FALSE(batch->event_accepted(EventScope{&a1}, ev("E2")));
}

// An account stored again and again in one batch reads back as last stored; storing it at
// the deadline it was loaded with keeps its one index entry across commits.
TEST_F(StateStoreTest, AnAccountStoredAtItsOwnDeadlineKeepsOneIndexEntry) {
  auto store = open_store();
  {
    auto batch = store->begin(0);
    batch->store_account(make_account("A1", 4, day(2025, 3, 1)), std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  {
    auto batch = store->begin(0);
    for (int i = 1; i <= 3; ++i) {
      Account a = batch->load_account(acc("A1")).value();
      a.obligations[0].balance.penalty = Money::from_cents(i);
      batch->store_account(a, a.indexed_deadline);
      EXPECT_EQ(batch->load_account(acc("A1")), a);
    }
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  EXPECT_EQ(store->read_account(acc("A1"))->obligations[0].balance.penalty, Money::from_cents(3));
  auto batch = store->begin(0);
  EXPECT_DEADLINE(first(*batch, day(2025, 12, 31)), day(2025, 3, 1), 4, "A1");
  Account a = batch->load_account(acc("A1")).value();
  a.indexed_deadline.reset();
  batch->store_account(a, day(2025, 3, 1));
  EXPECT_FALSE(first(*batch, day(9999, 12, 31)));
}

TEST_F(StateStoreTest, LongAndEmptyFilePathsAreStored) {
  auto store = open_store();
  const std::string long_path = "/" + std::string(1000, 'x');
  auto batch = store->begin(0);
  batch->set_file_position(FilePosition{long_path, 3, 30, {}});
  batch->set_file_position(FilePosition{"", 1, 1, {}});
  ASSERT_TRUE(batch->commit(Durability::synced));
  EXPECT_EQ(store->read_file_position(long_path), (FilePosition{long_path, 3, 30, {}}));
  EXPECT_EQ(store->read_file_position(""), (FilePosition{"", 1, 1, {}}));
  EXPECT_FALSE(store->read_file_position("/" + std::string(999, 'x')));
  ASSERT_TRUE(store->acknowledge_outbox(0, {{long_path, 99}}));
  EXPECT_EQ(store->read_output_file_length(long_path), 99u);
}

TEST_F(StateStoreTest, MapGrowsWhenABatchOutgrowsIt) {
  auto store = open_store(StoreOptions{.initial_map_bytes = 64 * 1024});
  constexpr int kAccounts = 1500;  // about 4 MB of records
  {
    auto batch = store->begin(0);
    for (int i = 0; i < kAccounts; ++i) {
      const std::string id = "ACC" + std::to_string(i);
      Account a = make_account(id.c_str(), static_cast<std::uint64_t>(i), day(2025, 1, 1 + i % 28));
      for (int p = 0; p < 40; ++p)
        a.payments.push_back(PaymentRecord{PaymentId::parse("PAYMENT-" + std::to_string(p)).value(),
                                           Money::from_cents(p + 1),
                                           {{ObligationId::parse("OB1").value(), Component::tax,
                                             Money::from_cents(p + 1)}},
                                           Money::zero(),
                                           false});
      batch->store_account(a, std::nullopt);
      batch->add_output(OutputTopic::activities, id, std::string(200, 'j'));
    }
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  EXPECT_EQ(store->count_accounts(), static_cast<std::uint64_t>(kAccounts));
  store.reset();
  store = open_store(StoreOptions{.initial_map_bytes = 64 * 1024});
  ASSERT_TRUE(store);
  Account last = store->read_account(acc("ACC1499")).value();
  EXPECT_EQ(last.payments.size(), 40u);
  EXPECT_EQ(store->read_outbox(kAccounts + 1).size(), static_cast<std::size_t>(kAccounts));
  // The reopened (small) map grows again for the next batch.
  auto batch = store->begin(0);
  batch->store_account(make_account("MORE", kAccounts), std::nullopt);
  ASSERT_TRUE(batch->commit(Durability::synced));
}

// Rewrites meta "format_version" (u32 big-endian) as another paydist would have written it.
void set_format_version(const fs::path& dir, char version) {
  const char value[] = {0, 0, 0, version};
  testing::raw_lmdb_put(dir, "meta", "format_version", std::string_view{value, sizeof value});
}

TEST_F(StateStoreTest, NewerFormatIsRefused) {
  open_store().reset();
  set_format_version(dir_, 9);
  for (auto access : {StoreOptions::Access::read_write, StoreOptions::Access::read_only}) {
    Result<std::unique_ptr<StateStore>> store = StateStore::open(dir_, StoreOptions{.access = access});
    ASSERT_FALSE(store);
    EXPECT_NE(store.error().find("was written by format version 9; this paydist reads up to 8"), std::string::npos)
        << store.error();
    EXPECT_NE(store.error().find(dir_.string()), std::string::npos) << store.error();
  }
}

TEST_F(StateStoreTest, TheDevelopmentFormatsAreRefusedWithWhatToDo) {
  for (char version : {1, 2, 3, 4, 5}) {
    open_store().reset();
    set_format_version(dir_, version);
    Result<std::unique_ptr<StateStore>> store = StateStore::open(dir_, StoreOptions{});
    ASSERT_FALSE(store);
    EXPECT_NE(store.error().find(fmt::format("was written by format version {}, a development format", int{version})),
              std::string::npos)
        << store.error();
    EXPECT_NE(store.error().find("replay the input into a new state directory"), std::string::npos) << store.error();
    set_format_version(dir_, 7);
  }
}

// The estimate a replay bounds its batches by (ReplayOptions::batch_pages_max) follows the
// distinct accounts a batch changed, against the size of the state: one account changed a
// thousand times is a page or two; a thousand accounts of a state of 50,000 are close to a
// page each; and the same thousand in a state of a thousand share the state's few pages.
TEST_F(StateStoreTest, TheDirtyPageEstimateFollowsTheDistinctAccountsChangedAgainstTheStateSize) {
  auto store = open_store();
  {
    auto batch = store->begin(0);
    store_accounts(*batch, "SMALL", 1'000, 0);
    ASSERT_TRUE(batch->commit(Durability::buffered));
    batch = store->begin(0);
    store_accounts(*batch, "SMALL", 1'000, 0);
    const std::size_t small_state = batch->estimated_dirty_pages();
    EXPECT_GE(small_state, 1u);
    EXPECT_LT(small_state, 100u) << "1,000 small records fill a few dozen pages, not one each";
  }
  {
    auto batch = store->begin(0);
    store_accounts(*batch, "BIG", 50'000, 0);
    ASSERT_TRUE(batch->commit(Durability::buffered));
  }
  auto batch = store->begin(0);
  for (int i = 0; i < 1'000; ++i) batch->store_account(make_account("BIG7", 7), std::nullopt);
  const std::size_t one_account = batch->estimated_dirty_pages();
  EXPECT_LE(one_account, 2u);
  auto other = std::move(batch);
  other.reset();
  batch = store->begin(0);
  for (int i = 0; i < 1'000; ++i) {
    const std::string id = fmt::format("BIG{}", i * 50);  // spread through the key space
    batch->store_account(make_account(id.c_str(), static_cast<std::uint64_t>(i)), std::nullopt);
  }
  const std::size_t spread = batch->estimated_dirty_pages();
  EXPECT_GT(spread, 500u) << "a large state: most changed accounts are a page each";
  EXPECT_LE(spread, 1'011u);
  // Outputs append: their bytes count, a page per 4 KiB.
  for (int i = 0; i < 100; ++i) batch->add_output(OutputTopic::activities, "BIG0", std::string(4096, 'a'));
  EXPECT_GE(batch->estimated_dirty_pages(), spread + 100);
}

TEST_F(StateStoreTest, InputOffsetsAreCommittedWithTheBatch) {
  auto store = open_store();
  const InputPartition p0{"paydist.events", 0}, p1{"paydist.events", 1}, other{"paydist.events.extra", 0};
  EXPECT_FALSE(store->read_input_offset(p0));
  {
    auto batch = store->begin(0);
    batch->set_input_offset(p0, 41);
    batch->set_input_offset(p0, 42);
    batch->set_input_offset(p1, 7);
    EXPECT_FALSE(store->read_input_offset(p0)) << "not before the commit";
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  {
    auto abandoned = store->begin(0);
    abandoned->set_input_offset(p0, 99);
  }
  store.reset();
  store = open_store();
  EXPECT_EQ(store->read_input_offset(p0), 42);
  EXPECT_EQ(store->read_input_offset(p1), 7);
  EXPECT_FALSE(store->read_input_offset(other));
}

TEST_F(StateStoreTest, ForEachAccountVisitsEveryAccountInKeyOrder) {
  auto store = open_store();
  auto batch = store->begin(0);
  for (const char* id : {"B", "C", "A"}) batch->store_account(make_account(id, 0), std::nullopt);
  ASSERT_TRUE(batch->commit(Durability::synced));
  std::string order;
  store->for_each_account([&](const Account& a) { order += a.id.str(); });
  EXPECT_EQ(order, "ABC");
  EXPECT_EQ(store->count_accounts(), 3u);
}

// A stored record that does not decode is corruption: the process stops, naming the
// database and the key, rather than carry on with wrong money.
TEST_F(StateStoreTest, CorruptStoredRecordStopsNamingDatabaseAndKey) {
  {
    auto store = open_store();
    auto batch = store->begin(0);
    batch->store_account(make_account("A1", 0), std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  const char value[] = {1, 'A', 2, 'A'};  // cut short inside the account id
  testing::raw_lmdb_put(dir_, "accounts", "A1", std::string_view{value, sizeof value});

  EXPECT_DEATH(
      {
        auto store = StateStore::open(dir_, StoreOptions{.access = StoreOptions::Access::read_only});
        (void)(*store)->read_account(acc("A1"));
      },
      "database 'accounts' at key \"A1\": account record: truncated");
}

TEST_F(StateStoreTest, ReadOnlyOpenOfAMissingStateFails) {
  Result<std::unique_ptr<StateStore>> store =
      StateStore::open(dir_, StoreOptions{.access = StoreOptions::Access::read_only});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().find("holds no paydist state"), std::string::npos) << store.error();
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(StateStoreTest, SecondWriterIsRefused) {
  auto store = open_store();
  Result<std::unique_ptr<StateStore>> second = StateStore::open(dir_, {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find("in use by another writing process"), std::string::npos) << second.error();
}

// Runs `child` in a forked process (which opens its own read-only store, as LMDB requires)
// and returns its exit status; waits at most 30 s.
int run_in_child_process(const std::function<int()>& child) {
  const pid_t pid = fork();
  if (pid == 0) _exit(child());  // _exit: never run the parent's destructors in the child
  if (pid < 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -3;
}

TEST_F(StateStoreTest, ReaderInAnotherProcessSeesCommittedStateWhileABatchIsOpen) {
  auto store = open_store();
  const Account v1 = make_account("A1", 1);
  {
    auto batch = store->begin(0);
    batch->store_account(v1, std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  auto batch = store->begin(0);
  Account v2 = v1;
  v2.ever_assessed = true;
  batch->store_account(v2, std::nullopt);
  batch->store_account(make_account("A2", 2), std::nullopt);

  auto read_in_child = [&](const Account& expected_a1, bool expect_a2) {
    return run_in_child_process([&] {
      Result<std::unique_ptr<StateStore>> reader =
          StateStore::open(dir_, StoreOptions{.access = StoreOptions::Access::read_only});
      if (!reader) return 10;
      if ((*reader)->read_account(acc("A1")) != expected_a1) return 11;
      if ((*reader)->read_account(acc("A2")).has_value() != expect_a2) return 12;
      return 0;
    });
  };
  EXPECT_EQ(read_in_child(v1, false), 0) << "reader blocked or saw uncommitted writes";
  ASSERT_TRUE(batch->commit(Durability::synced));
  batch.reset();
  EXPECT_EQ(read_in_child(v2, true), 0) << "reader did not see the commit";
}

TEST_F(StateStoreTest, ReaderInAnotherProcessFollowsMapGrowth) {
  auto store = open_store(StoreOptions{.initial_map_bytes = 64 * 1024});
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  // The child opens the store first, then the parent grows the map a lot, then the child
  // reads again (MDB_MAP_RESIZED is adopted inside the store).
  const pid_t pid = fork();
  if (pid == 0) {
    Result<std::unique_ptr<StateStore>> reader =
        StateStore::open(dir_, StoreOptions{.access = StoreOptions::Access::read_only});
    char c = reader ? 'r' : 'x';
    if (write(to_parent[1], &c, 1) != 1) _exit(20);
    if (!reader) _exit(21);
    if (read(to_child[0], &c, 1) != 1) _exit(22);
    _exit((*reader)->count_accounts() == 2000 && (*reader)->read_account(acc("ACC1999")) ? 0 : 23);
  }
  ASSERT_GT(pid, 0);
  char c = 0;
  ASSERT_EQ(read(to_parent[0], &c, 1), 1);
  ASSERT_EQ(c, 'r');
  {
    auto batch = store->begin(0);
    for (int i = 0; i < 2000; ++i) {
      const std::string id = "ACC" + std::to_string(i);
      Account a = make_account(id.c_str(), static_cast<std::uint64_t>(i));
      a.obligations.resize(500, a.obligations[0]);  // ~17 MB in all: past the reader's 10 MB default map
      batch->store_account(a, std::nullopt);
    }
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  ASSERT_EQ(write(to_child[1], "g", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

TEST_F(StateStoreTest, BatchInAnotherThreadWaitsForTheOpenOne) {
  auto store = open_store();
  auto batch = store->begin(0);
  batch->store_account(make_account("A1", 0), std::nullopt);
  std::optional<Account> seen_by_second;
  std::thread second([&] {
    auto other = store->begin(0);  // waits until `batch` is gone
    seen_by_second = other->load_account(acc("A1"));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(batch->commit(Durability::synced));
  batch.reset();
  second.join();
  EXPECT_TRUE(seen_by_second.has_value());
}

// An entry in the compact form of core/history.cpp holding just `text` (one text token: 0xC0,
// the length as a varint, the bytes).
std::string compact_text(const std::string& text) {
  EXPECT_LT(text.size(), 128u);
  return std::string{"\xC0"} + static_cast<char>(text.size()) + text;
}

// Appends `count` history entries to the account the way the processor does: the counter
// first, then the entry, then the account record.
void append_entries(StateStore::Batch& batch, Account& account, int count) {
  for (int i = 0; i < count; ++i) {
    ++account.history_entries;
    batch.append_history(account, compact_text(fmt::format("entry {}", account.history_entries)));
    batch.store_account(account, account.indexed_deadline);
  }
}

std::vector<std::string> texts(const std::vector<HistoryEntry>& entries) {
  std::vector<std::string> out;
  for (const HistoryEntry& e : entries) out.push_back(fmt::format("{}:{}", e.number, e.text));
  return out;
}

TEST_F(StateStoreTest, HistoryIsKeptPerAccountInOrderAndSurvivesReopen) {
  {
    auto store = open_store();
    auto batch = store->begin(0);
    EXPECT_TRUE(batch->keeps_history());
    Account a = make_account("A1", 0), b = make_account("A10", 1), c = make_account("A", 2);
    append_entries(*batch, a, 2);
    append_entries(*batch, b, 1);  // "A10" sorts between "A1" and "A1\0...": must not mix in
    append_entries(*batch, c, 1);
    ASSERT_TRUE(batch->commit(Durability::synced));
    batch = store->begin(0);
    append_entries(*batch, a, 1);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  StoreOptions read_only;
  read_only.access = StoreOptions::Access::read_only;
  auto store = open_store(read_only);
  EXPECT_EQ(texts(store->read_history(acc("A1"))), (std::vector<std::string>{"0:entry 1", "1:entry 2", "2:entry 3"}));
  EXPECT_EQ(texts(store->read_history(acc("A10"))), (std::vector<std::string>{"0:entry 1"}));
  EXPECT_EQ(texts(store->read_history(acc("A"))), (std::vector<std::string>{"0:entry 1"}));
  EXPECT_TRUE(store->read_history(acc("B")).empty());
  EXPECT_EQ(store->read_account(acc("A1"))->history_entries, 3u);
}

TEST_F(StateStoreTest, HistoryRetentionKeepsTheNewestEntries) {
  StoreOptions three;
  three.history_entries_per_account = 3;
  {
    auto store = open_store(three);
    Account a = make_account("A1", 0);
    auto batch = store->begin(0);
    append_entries(*batch, a, 2);
    ASSERT_TRUE(batch->commit(Durability::synced));
    batch = store->begin(0);
    append_entries(*batch, a, 3);  // 5 in all: entries 0 and 1 go
    ASSERT_TRUE(batch->commit(Durability::synced));
    EXPECT_EQ(texts(store->read_history(acc("A1"))), (std::vector<std::string>{"2:entry 3", "3:entry 4", "4:entry 5"}));
    batch = store->begin(0);
    append_entries(*batch, a, 7);  // more than the retention in one batch
    ASSERT_TRUE(batch->commit(Durability::synced));
    EXPECT_EQ(texts(store->read_history(acc("A1"))),
              (std::vector<std::string>{"9:entry 10", "10:entry 11", "11:entry 12"}));
  }
  // A lower retention later trims what the higher one kept at the account's next entry.
  StoreOptions one;
  one.history_entries_per_account = 1;
  auto store = open_store(one);
  Account a = *store->read_account(acc("A1"));
  auto batch = store->begin(0);
  append_entries(*batch, a, 1);
  ASSERT_TRUE(batch->commit(Durability::synced));
  EXPECT_EQ(texts(store->read_history(acc("A1"))), (std::vector<std::string>{"12:entry 13"}));
}

TEST_F(StateStoreTest, ARetentionOfZeroKeepsNoHistory) {
  StoreOptions none;
  none.history_entries_per_account = 0;
  auto store = open_store(none);
  auto batch = store->begin(0);
  EXPECT_FALSE(batch->keeps_history());
}

TEST_F(StateStoreTest, HistoryOfABatchNotCommittedIsNotKept) {
  auto store = open_store();
  {
    auto batch = store->begin(0);
    Account a = make_account("A1", 0);
    append_entries(*batch, a, 2);
  }
  EXPECT_TRUE(store->read_history(acc("A1")).empty());
}

// ---- background commits ----

// A committer callback that records what it saw, for the test thread to wait on.
struct Committed {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> results;  // "ok:<outputs>" or the error
  void record(Status s, StateStore::Batch& batch) {
    std::size_t outputs = 0;
    batch.for_each_output([&](const QueuedOutput&) { ++outputs; });
    std::lock_guard lock{mutex};
    results.push_back(s ? fmt::format("ok:{}", outputs) : s.error());
    changed.notify_all();
  }
  auto callback() {
    return [this](Status s, StateStore::Batch& batch) { record(std::move(s), batch); };
  }
};

TEST_F(StateStoreTest, ABatchBegunDuringABackgroundCommitReadsItsWrites) {
  auto store = open_store();
  Committed committed;
  const AccountId id = acc("A1");
  auto first = store->begin(0);
  first->store_account(make_account("A1", 0, day(2025, 3, 1)), std::nullopt);
  first->mark_event_accepted(EventScope{&id}, ev("E1"));
  first->store_timeline(TimelineState{day(2025, 2, 1), 1});
  first->add_output(OutputTopic::activities, "A1", "{\"n\":1}");
  first->add_output(OutputTopic::activities, "A1", "{\"n\":2}");
  StateStore::Batch::commit_in_background(std::move(first), Durability::synced, committed.callback());

  auto second = store->begin(0);  // does not wait for the commit
  EXPECT_EQ(second->load_account(id), make_account("A1", 0, day(2025, 3, 1)));
  EXPECT_TRUE(second->event_accepted(EventScope{&id}, ev("E1")));
  EXPECT_EQ(second->timeline(), (TimelineState{day(2025, 2, 1), 1}));
  second->add_output(OutputTopic::activities, "A1", "{\"n\":3}");
  // The deadline index merges the first batch's changes while it commits.
  EXPECT_DEADLINE(second->first_deadline_up_to(day(2025, 3, 1)), day(2025, 3, 1), 0, "A1");
  Account changed = make_account("A1", 0, day(2025, 4, 1));
  second->store_account(changed, day(2025, 3, 1));
  StateStore::Batch::commit_in_background(std::move(second), Durability::synced, committed.callback());
  ASSERT_TRUE(store->wait_for_commits());

  EXPECT_EQ(committed.results, (std::vector<std::string>{"ok:2", "ok:1"}));
  EXPECT_EQ(store->read_account(id), changed);
  std::vector<PendingOutput> outbox = store->read_outbox(10);
  ASSERT_EQ(outbox.size(), 3u);
  EXPECT_EQ(outbox[2].json, "{\"n\":3}");
  EXPECT_EQ(outbox[2].seq, outbox[0].seq + 2);  // the second batch numbered on from the first
  auto third = store->begin(0);
  EXPECT_DEADLINE(third->first_deadline_up_to(day(2025, 12, 31)), day(2025, 4, 1), 0, "A1");
}

// Holds LMDB's write lock from another process, so that a background commit stays in flight
// until release() (or 20 s, so that a store that waits for it fails the test, not hangs it).
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const fs::path& dir) {
    if (pipe(to_child_) != 0 || pipe(to_parent_) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      MDB_env* env = nullptr;
      MDB_txn* txn = nullptr;
      if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 16) != 0 || mdb_env_open(env, dir.c_str(), 0, 0600) != 0 ||
          mdb_txn_begin(env, nullptr, 0, &txn) != 0)
        _exit(30);
      if (write(to_parent_[1], "l", 1) != 1) _exit(31);
      pollfd released{to_child_[0], POLLIN, 0};
      poll(&released, 1, 20'000);
      mdb_txn_abort(txn);
      mdb_env_close(env);
      _exit(0);
    }
    char c = 0;
    locked_ = pid_ > 0 && read(to_parent_[0], &c, 1) == 1 && c == 'l';
  }
  ~WriteLockHolder() {
    release();
    for (int fd : {to_child_[0], to_child_[1], to_parent_[0], to_parent_[1]}) close(fd);
  }
  bool locked() const { return locked_; }
  void release() {
    if (pid_ <= 0) return;
    (void)!write(to_child_[1], "g", 1);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  int to_child_[2] = {-1, -1}, to_parent_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool locked_ = false;
};

// For a test that scanned with a commit held in flight by `lock`: the scan did not wait for
// that commit (it has no result yet); then the commit goes on and `batch` commits after it.
void expect_no_wait_then_commit(Committed& committed, WriteLockHolder& lock, StateStore& store,
                                std::unique_ptr<StateStore::Batch> batch) {
  {
    std::lock_guard guard{committed.mutex};
    EXPECT_TRUE(committed.results.empty()) << "the scan waited for the commit in flight";
  }
  lock.release();
  StateStore::Batch::commit_in_background(std::move(batch), Durability::synced, committed.callback());
  ASSERT_TRUE(store.wait_for_commits());
}

// The deadline scan of a batch merges the index changes of the batch still committing before
// it (added, moved away, then removed by this batch) instead of waiting for that commit.
TEST_F(StateStoreTest, ADeadlineScanMergesTheCommitInFlightWithoutWaitingForIt) {
  auto store = open_store();
  {
    auto batch = store->begin(0);
    batch->store_account(make_account("A1", 0, day(2025, 3, 1)), std::nullopt);
    batch->store_account(make_account("A2", 1, day(2025, 3, 2)), std::nullopt);
    batch->store_account(make_account("A3", 2, day(2025, 3, 10)), std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  WriteLockHolder lock{dir_};
  ASSERT_TRUE(lock.locked());
  Committed committed;
  auto first = store->begin(0);
  first->store_account(make_account("A2", 1, day(2025, 4, 1)), day(2025, 3, 2));  // moved away
  first->store_account(make_account("A4", 3, day(2025, 3, 3)), std::nullopt);     // added
  StateStore::Batch::commit_in_background(std::move(first), Durability::synced, committed.callback());

  auto second = store->begin(0);
  auto fire = [&](const char* id, std::uint64_t seq, Date at) { second->store_account(make_account(id, seq), at); };
  EXPECT_DEADLINE(second->first_deadline_up_to(day(2025, 3, 31)), day(2025, 3, 1), 0, "A1");  // in LMDB
  fire("A1", 0, day(2025, 3, 1));
  EXPECT_DEADLINE(second->first_deadline_up_to(day(2025, 3, 31)), day(2025, 3, 3), 3, "A4");  // in flight
  fire("A4", 3, day(2025, 3, 3));
  EXPECT_DEADLINE(second->first_deadline_up_to(day(2025, 3, 31)), day(2025, 3, 10), 2, "A3");
  fire("A3", 2, day(2025, 3, 10));
  EXPECT_FALSE(second->first_deadline_up_to(day(2025, 3, 31)));
  EXPECT_DEADLINE(second->first_deadline_up_to(day(2025, 4, 30)), day(2025, 4, 1), 1, "A2");
  expect_no_wait_then_commit(committed, lock, *store, std::move(second));
  EXPECT_EQ(committed.results, (std::vector<std::string>{"ok:0", "ok:0"}));
  auto third = store->begin(0);
  EXPECT_DEADLINE(third->first_deadline_up_to(day(2025, 12, 31)), day(2025, 4, 1), 1, "A2");
}

// The daemon's batch spans timelines: the scan of one timeline merges what the commit in
// flight added in that timeline, and only that.
TEST_F(StateStoreTest, ADeadlineScanMergesTheCommitInFlightsEntriesOfItsOwnTimelineOnly) {
  auto store = open_store();
  WriteLockHolder lock{dir_};
  ASSERT_TRUE(lock.locked());
  Committed committed;
  auto first = store->begin(0);
  first->store_account(make_account("B1", 1, day(2025, 3, 5)), std::nullopt);
  first->switch_timeline(1);
  first->store_account(make_account("C1", 2, day(2025, 3, 1)), std::nullopt);
  Account c2 = make_account("C2", 3, day(2025, 3, 2));
  first->store_account(c2, std::nullopt);
  c2.indexed_deadline = day(2025, 3, 9);  // moved within the batch: only its last slot counts
  first->store_account(c2, day(2025, 3, 2));
  StateStore::Batch::commit_in_background(std::move(first), Durability::synced, committed.callback());

  auto second = store->begin(0);
  EXPECT_DEADLINE(second->first_deadline_up_to(day(2025, 12, 31)), day(2025, 3, 5), 1, "B1");
  second->switch_timeline(1);
  EXPECT_DEADLINE(second->first_deadline_up_to(day(2025, 12, 31)), day(2025, 3, 1), 2, "C1");
  second->store_account(make_account("C1", 2), day(2025, 3, 1));  // fired, no deadline left
  EXPECT_DEADLINE(second->first_deadline_up_to(day(2025, 12, 31)), day(2025, 3, 9), 3, "C2");
  expect_no_wait_then_commit(committed, lock, *store, std::move(second));
  auto third = store->begin(1);
  EXPECT_DEADLINE(third->first_deadline_up_to(day(2025, 12, 31)), day(2025, 3, 9), 3, "C2");
  third->switch_timeline(0);
  EXPECT_DEADLINE(third->first_deadline_up_to(day(2025, 12, 31)), day(2025, 3, 5), 1, "B1");
}

// A batch handed over while the batch before it is still committing waits for it in
// commit_in_background, then commits all it holds: accounts in key order whatever order they
// came in, history with retention, events, the deadline index. The first commit is held by
// LMDB's write lock until the second batch has been handed over.
TEST_F(StateStoreTest, ABatchHandedOverWhileItsPredecessorCommitsCommitsEverythingItHolds) {
  StoreOptions two;
  two.history_entries_per_account = 2;
  auto store = open_store(two);
  WriteLockHolder lock{dir_};
  ASSERT_TRUE(lock.locked());
  Committed committed;
  auto first = store->begin(0);
  Account b = make_account("B1", 0, day(2025, 3, 5));
  first->store_account(b, std::nullopt);  // new: indexed at the 5th
  append_entries(*first, b, 1);
  StateStore::Batch::commit_in_background(std::move(first), Durability::synced, committed.callback());

  auto second = store->begin(0);
  Account z = make_account("Z9", 1, day(2025, 3, 2)), a = make_account("A1", 2, day(2025, 3, 1));
  second->store_account(z, std::nullopt);  // before A1: commit puts them in key order
  second->store_account(a, std::nullopt);
  append_entries(*second, z, 1);
  append_entries(*second, a, 3);  // three entries, two kept
  append_entries(*second, b, 2);  // B1's entry from the first batch goes
  b.indexed_deadline = day(2025, 3, 8);
  second->store_account(b, day(2025, 3, 5));
  for (const char* id : {"E3", "E1", "E2"}) second->mark_event_accepted(EventScope{nullptr}, ev(id));
  std::thread releaser{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    lock.release();
  }};
  StateStore::Batch::commit_in_background(std::move(second), Durability::synced, committed.callback());
  releaser.join();
  ASSERT_TRUE(store->wait_for_commits());

  EXPECT_EQ(committed.results, (std::vector<std::string>{"ok:0", "ok:0"}));
  EXPECT_EQ(store->read_account(acc("A1")), a);
  EXPECT_EQ(store->read_account(acc("B1")), b);
  EXPECT_EQ(store->read_account(acc("Z9")), z);
  EXPECT_EQ(texts(store->read_history(acc("A1"))), (std::vector<std::string>{"1:entry 2", "2:entry 3"}));
  EXPECT_EQ(texts(store->read_history(acc("B1"))), (std::vector<std::string>{"1:entry 2", "2:entry 3"}));
  EXPECT_EQ(texts(store->read_history(acc("Z9"))), (std::vector<std::string>{"0:entry 1"}));
  auto third = store->begin(0);
  for (const char* id : {"E1", "E2", "E3"}) EXPECT_TRUE(third->event_accepted(EventScope{nullptr}, ev(id))) << id;
  EXPECT_FALSE(third->event_accepted(EventScope{nullptr}, ev("E4")));
  EXPECT_DEADLINE(third->first_deadline_up_to(day(2025, 3, 7)), day(2025, 3, 1), 2, "A1");
  third->store_account(make_account("A1", 2), day(2025, 3, 1));
  EXPECT_DEADLINE(third->first_deadline_up_to(day(2025, 3, 7)), day(2025, 3, 2), 1, "Z9");
  third->store_account(make_account("Z9", 1), day(2025, 3, 2));
  EXPECT_FALSE(third->first_deadline_up_to(day(2025, 3, 7)));  // B1 moved from the 5th to the 8th
  EXPECT_DEADLINE(third->first_deadline_up_to(day(2025, 3, 8)), day(2025, 3, 8), 0, "B1");
}

// A background commit that fails (here a full disk) fails the batch begun while it ran,
// and nothing commits after it until take_commit_failure() forgets the failure: then, with
// room again, batches commit as before (paydistd retries a full disk this way).
// The writer's map is writable (MDB_WRITEMAP), and a store into a page the file system
// cannot back would be SIGBUS: so the map is reserved on disk, at open and before each
// growth. The file's allocated blocks cover the map (a sparse file would not); a map that
// does not fit is refused at open with one line, and a growth that does not fit fails the
// commit, after which the state still holds what was committed.
TEST_F(StateStoreTest, TheWholeMapIsReservedOnDiskAndAMapThatDoesNotFitIsAnError) {
  testing::SmallTmpfs tmpfs(dir_, "8m");
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs for the state (" << tmpfs.error() << "): needs root";
  {
    const Result<std::unique_ptr<StateStore>> too_big = StateStore::open(dir_, StoreOptions{.initial_map_bytes = 16 << 20});
    ASSERT_FALSE(too_big);
    EXPECT_NE(too_big.error().find("cannot reserve 16777216 bytes on disk for the map"), std::string::npos)
        << too_big.error();
    EXPECT_NE(too_big.error().find("bytes free on the state's file system)"), std::string::npos) << too_big.error();
  }
  auto store = open_store(StoreOptions{.initial_map_bytes = 1 << 20});
  ASSERT_TRUE(store);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "data.mdb").c_str(), &st), 0);
  EXPECT_GE(static_cast<std::int64_t>(st.st_blocks) * 512, std::int64_t{1} << 20) << "the map is not backed on disk";
  {
    auto batch = store->begin(0);
    batch->store_account(make_account("KEPT", 0), std::nullopt);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }
  // About 12 MiB of records: the map must grow past what the 8 MiB file system holds.
  auto batch = store->begin(0);
  store_accounts(*batch, "BIG", 3000, 4000);
  const Status grown = batch->commit(Durability::synced);
  ASSERT_FALSE(grown) << "12 MiB fitted on an 8 MiB file system";
  EXPECT_NE(grown.error().find("bytes on disk for the map"), std::string::npos) << grown.error();
  EXPECT_TRUE(store->read_account(acc("KEPT")));
  EXPECT_FALSE(store->read_account(acc("BIG1")));
}

TEST_F(StateStoreTest, AFailedBackgroundCommitIsForgottenByTakeCommitFailureAndCommitsResume) {
  testing::SmallTmpfs tmpfs(dir_, "4m");
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs for the state (" << tmpfs.error() << "): needs root";
  auto store = open_store(StoreOptions{.initial_map_bytes = 64 * 1024});
  {
    auto small = store->begin(0);
    small->store_account(make_account("KEPT", 0), std::nullopt);
    ASSERT_TRUE(small->commit(Durability::synced));
  }
  const fs::path filler = dir_ / "filler";
  ASSERT_GT(testing::SmallTmpfs::fill(filler), 0u);
  Committed committed;
  auto first = store->begin(0);
  store_accounts(*first, "LOST", 600, 300);
  StateStore::Batch::commit_in_background(std::move(first), Durability::synced, committed.callback());
  // The first commit may have failed already (it fails fast on the full file system): then
  // this batch does not read its writes, and still cannot commit. Either way it fails below.
  auto second = store->begin(0);
  (void)second->load_account(acc("LOST1"));
  second->store_account(make_account("ALSO", 1), std::nullopt);
  StateStore::Batch::commit_in_background(std::move(second), Durability::synced, committed.callback());
  const Status waited = store->wait_for_commits();
  ASSERT_FALSE(waited) << "the first batch fitted on the full file system";
  // The second batch's callback may run before the first's (it runs on this thread).
  ASSERT_EQ(committed.results.size(), 2u);
  std::vector<std::string> results = committed.results;
  std::sort(results.begin(), results.end(), [](const std::string& a, const std::string& b) {
    return a.starts_with("not committed") < b.starts_with("not committed");
  });
  EXPECT_NE(results[0].find("bytes free on the state's file system"), std::string::npos) << results[0];
  EXPECT_TRUE(results[1].starts_with("not committed: an earlier commit failed: ")) << results[1];
  // Still failed: a batch commits nothing.
  {
    auto refused = store->begin(0);
    refused->store_account(make_account("REFUSED", 2), std::nullopt);
    EXPECT_FALSE(refused->commit(Durability::synced));
  }
  const std::optional<std::string> forgotten = store->take_commit_failure();
  ASSERT_TRUE(forgotten);
  EXPECT_EQ(*forgotten, waited.error());
  EXPECT_FALSE(store->take_commit_failure());  // once
  fs::remove(filler);
  auto third = store->begin(0);
  EXPECT_FALSE(third->load_account(acc("LOST1")));  // never committed
  third->store_account(make_account("AFTER", 3), std::nullopt);
  StateStore::Batch::commit_in_background(std::move(third), Durability::synced, committed.callback());
  ASSERT_TRUE(store->wait_for_commits());
  EXPECT_EQ(committed.results.back(), "ok:0");
  EXPECT_TRUE(store->read_account(acc("KEPT")));
  EXPECT_TRUE(store->read_account(acc("AFTER")));
  EXPECT_FALSE(store->read_account(acc("LOST1")));
  EXPECT_FALSE(store->read_account(acc("ALSO")));
  EXPECT_FALSE(store->read_account(acc("REFUSED")));
}

TEST_F(StateStoreTest, BackgroundCommitsGrowTheMapWhileTheNextBatchReads) {
  auto store = open_store(StoreOptions{.initial_map_bytes = 64 * 1024});
  Committed committed;
  constexpr int kAccounts = 600;
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    auto batch = store->begin(0);
    for (int i = 0; i < kAccounts; ++i) {
      const std::string id = fmt::format("ACC{}", i);
      std::optional<Account> a = batch->load_account(acc(id.c_str()));
      if (round > 0) {
        ASSERT_TRUE(a) << id << " round " << round;
        ASSERT_EQ(a->payments.size(), static_cast<std::size_t>(round)) << id;
      }
      if (!a) a = make_account(id.c_str(), static_cast<std::uint64_t>(i));
      a->payments.push_back(PaymentRecord{PaymentId::parse(fmt::format("P{}", round)).value(),
                                          Money::from_cents(100),
                                          {{ObligationId::parse("OB1").value(), Component::tax, Money::from_cents(100)}},
                                          Money::zero(),
                                          false});
      batch->store_account(*a, std::nullopt);
      batch->add_output(OutputTopic::distributions, id, std::string(300, 'd'));
    }
    StateStore::Batch::commit_in_background(std::move(batch), Durability::synced, committed.callback());
  }
  ASSERT_TRUE(store->wait_for_commits());
  EXPECT_EQ(committed.results.size(), static_cast<std::size_t>(kRounds));
  for (const std::string& r : committed.results) EXPECT_EQ(r, fmt::format("ok:{}", kAccounts));
  EXPECT_EQ(store->read_account(acc("ACC599"))->payments.size(), static_cast<std::size_t>(kRounds));
  EXPECT_EQ(store->read_outbox(10'000).size(), static_cast<std::size_t>(kAccounts * kRounds));
}

// The deadlock the store itself prevents: batch N commits in the background and must grow
// the map (64 KiB to start), which waits for every read transaction to end; batch N+1 is
// open on this thread with its read transaction, and this thread waits for the commits.
// wait_for_commits() ends the open batch's read transaction first, so both go on. Without
// that, the wait never ends: the test ends the process after 60 s instead of hanging.
TEST_F(StateStoreTest, WaitingForCommitsWithABatchOpenDoesNotBlockAMapGrowth) {
  auto store = open_store(StoreOptions{.initial_map_bytes = 64 * 1024});
  Committed committed;
  auto first = store->begin(0);
  store_accounts(*first, "GROW", 600, 300);
  StateStore::Batch::commit_in_background(std::move(first), Durability::synced, committed.callback());
  // Reads the committing batch's writes, and opens a read transaction on the map as it was,
  // most likely before the commit runs out of map (a few milliseconds of writing away).
  auto second = store->begin(0);
  EXPECT_FALSE(second->load_account(acc("ELSEWHERE")));
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 600 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds{100});
    if (!done) {
      std::fprintf(stderr, "wait_for_commits() with a batch open never returned: deadlock\n");
      std::_Exit(1);
    }
  });
  const Status waited = store->wait_for_commits();
  done = true;
  watchdog.join();
  ASSERT_TRUE(waited) << waited.error();
  ASSERT_EQ(committed.results.size(), 1u);
  EXPECT_EQ(committed.results[0], "ok:600");
  // The open batch goes on, reading the committed state.
  EXPECT_TRUE(second->load_account(acc("GROW599")));
  second->store_account(make_account("AFTER", 1), std::nullopt);
  ASSERT_TRUE(second->commit(Durability::synced));
  EXPECT_TRUE(store->read_account(acc("AFTER")));
  EXPECT_TRUE(store->read_account(acc("GROW0")));
}

TEST_F(StateStoreTest, AStoreClosedWithACommitInFlightFinishesIt) {
  {
    auto store = open_store();
    auto batch = store->begin(0);
    batch->store_account(make_account("A1", 0), std::nullopt);
    StateStore::Batch::commit_in_background(std::move(batch), Durability::buffered, [](Status, StateStore::Batch&) {});
  }
  auto store = open_store();
  EXPECT_TRUE(store->read_account(acc("A1")));
}

}  // namespace
}  // namespace paydist
