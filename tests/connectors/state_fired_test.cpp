// tests/connectors/state_fired_test.cpp: state format 8's fired database
// (connectors/state_layout.h). A business-date advance writes what it did to an account
// there and leaves the account's record as it was; every read sees the fired record and its
// history entries; the next message's batch moves them back; retention trims entries in
// either place; a batch that reads a predecessor's fired account while that one is still
// committing moves it back all the same.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/codec.h"
#include "connectors/message_apply.h"
#include "connectors/state_store.h"
#include "connectors/state_verify.h"
#include "core/rules.h"
#include "tests/support/process.h"
#include "tests/support/raw_lmdb.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;

// ACC owes two obligations above the NO_ARRANGEMENT threshold, due on 10 and 20 January:
// their due-date checks fire on the 11th and the 21st.
const std::vector<std::string> kSetUp = {
    R"({"type":"business_date","event_id":"b1","date":"2026-01-05"})",
    R"({"type":"obligation_assessed","event_id":"a1","account_id":"ACC","obligation_id":"O1","due_date":"2026-01-10","amounts":{"tax":"2000.00"}})",
    R"({"type":"obligation_assessed","event_id":"a2","account_id":"ACC","obligation_id":"O2","due_date":"2026-01-20","amounts":{"tax":"2000.00"}})",
};
const std::string kFirstCheck = R"({"type":"business_date","event_id":"b2","date":"2026-01-12"})";
const std::string kSecondCheck = R"({"type":"business_date","event_id":"b3","date":"2026-01-22"})";
const std::string kPayment =
    R"({"type":"payment","event_id":"p1","account_id":"ACC","payment_id":"P1","amount":"100.00","received_date":"2026-01-22","method":"eft"})";

class StateFiredTest : public ::testing::Test {
 protected:
  void TearDown() override { store_.reset(); }
  fs::path dir() const { return tmp_ / "state"; }

  void open(StoreOptions::Access access = StoreOptions::Access::read_write) {
    store_.reset();
    auto store = StateStore::open(dir(), StoreOptions{.initial_map_bytes = std::size_t{16} << 20,
                                                      .access = access,
                                                      .history_entries_per_account = retention_});
    ASSERT_TRUE(store.ok()) << store.error();
    store_ = std::move(*store);
  }
  void close() { store_.reset(); }

  void apply_to(StateStore::Batch& batch, const std::vector<std::string>& lines) {
    for (const std::string& line : lines)
      EXPECT_EQ(applier_.apply(batch, decoder_.decode(line), line, MessageSource{"test", ':', ++position_}),
                MessageOutcome::accepted)
          << line;
  }
  // The lines in one batch, committed.
  void apply(const std::vector<std::string>& lines) {
    auto batch = store_->begin(0);
    apply_to(*batch, lines);
    ASSERT_TRUE(batch->commit(Durability::synced));
  }

  Account account() {
    std::optional<Account> a = store_->read_account(AccountId::trusted("ACC"));
    EXPECT_TRUE(a.has_value());
    return a.value_or(Account{});
  }
  void expect_clean() {
    const VerifyReport report = verify_state(*store_, rules_, {});
    EXPECT_EQ(report.violations_total, 0u) << (report.violations.empty() ? "" : report.violations.front());
  }

  testing::TempDir tmp_{"paydist-fired"};
  Rules rules_;
  Decoder decoder_{rules_};
  MessageApplier applier_{rules_};
  std::uint64_t position_ = 0;
  std::uint32_t retention_ = 64;
  std::unique_ptr<StateStore> store_;
};

TEST_F(StateFiredTest, AnAdvanceLeavesTheRecordAsItWasAndTheNextMessageMovesItBack) {
  open();
  apply(kSetUp);
  const std::uint64_t entries_before = account().history_entries;
  close();
  const std::string record_before = testing::raw_lmdb_get(dir(), "accounts", "ACC");
  ASSERT_FALSE(record_before.empty());
  EXPECT_EQ(testing::raw_lmdb_count(dir(), "fired"), 0u);

  open();
  apply({kFirstCheck});
  close();
  // The advance wrote the account's new record and its entry to 'fired', not 'accounts'.
  EXPECT_EQ(testing::raw_lmdb_get(dir(), "accounts", "ACC"), record_before);
  EXPECT_EQ(testing::raw_lmdb_count(dir(), "fired"), 2u);

  open(StoreOptions::Access::read_only);
  const Account fired = account();
  EXPECT_TRUE(fired.find_obligation(ObligationId::trusted("O1"))->due_checked);
  EXPECT_FALSE(fired.find_obligation(ObligationId::trusted("O2"))->due_checked);
  EXPECT_EQ(fired.indexed_deadline, Date::parse("2026-01-21").value());
  EXPECT_EQ(fired.history_entries, entries_before + 1);
  std::vector<HistoryEntry> history = store_->read_history(AccountId::trusted("ACC"));
  ASSERT_EQ(history.size(), entries_before + 1);
  EXPECT_EQ(history.back().number, entries_before);
  EXPECT_NE(history.back().text.find("NO_ARRANGEMENT"), std::string::npos) << history.back().text;
  expect_clean();

  open();
  apply({kPayment});
  close();
  EXPECT_EQ(testing::raw_lmdb_count(dir(), "fired"), 0u);
  EXPECT_NE(testing::raw_lmdb_get(dir(), "accounts", "ACC"), record_before);
  open(StoreOptions::Access::read_only);
  const Account paid = account();
  EXPECT_TRUE(paid.find_obligation(ObligationId::trusted("O1"))->due_checked);
  EXPECT_EQ(paid.history_entries, entries_before + 2);
  history = store_->read_history(AccountId::trusted("ACC"));
  ASSERT_EQ(history.size(), entries_before + 2);
  for (std::size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i].number, i);
  expect_clean();
}

// Two advances in a row, no message between: the second one's entry joins the first's in
// 'fired', and a retention of one entry leaves only the newest, wherever it is kept.
TEST_F(StateFiredTest, RetentionTrimsTheEntriesTheFiredDatabaseHolds) {
  retention_ = 1;
  open();
  apply(kSetUp);
  apply({kFirstCheck});
  apply({kSecondCheck});
  const Account twice = account();
  EXPECT_TRUE(twice.find_obligation(ObligationId::trusted("O2"))->due_checked);
  std::vector<HistoryEntry> history = store_->read_history(AccountId::trusted("ACC"));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].number, twice.history_entries - 1);
  expect_clean();
  close();
  EXPECT_EQ(testing::raw_lmdb_count(dir(), "fired"), 2u);  // the record and the newest entry
}

// The payment's batch begins while the advance's batch is still committing in the
// background: it reads the fired account from that batch and moves it back at its commit.
TEST_F(StateFiredTest, ABatchReadingAFiredAccountFromItsPredecessorMovesItBack) {
  open();
  apply(kSetUp);
  const std::uint64_t entries_before = account().history_entries;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    if (round > 0) {  // a fresh state each round: the timing of the overlap varies
      close();
      fs::remove_all(dir());
      position_ = 0;
      open();
      apply(kSetUp);
    }
    auto advance = store_->begin(0);
    apply_to(*advance, {kFirstCheck});
    StateStore::Batch::commit_in_background(std::move(advance), Durability::synced,
                                            [](Status s, StateStore::Batch&) { EXPECT_TRUE(s.ok()); });
    auto payment = store_->begin(0);
    apply_to(*payment, {kPayment});
    ASSERT_TRUE(payment->commit(Durability::synced));
    payment.reset();
    ASSERT_TRUE(store_->wait_for_commits().ok());
    const Account now = account();
    EXPECT_TRUE(now.find_obligation(ObligationId::trusted("O1"))->due_checked);
    EXPECT_EQ(now.history_entries, entries_before + 2);
    EXPECT_EQ(store_->read_history(AccountId::trusted("ACC")).size(), entries_before + 2);
    expect_clean();
    close();
    EXPECT_EQ(testing::raw_lmdb_count(dir(), "fired"), 0u);
    open();
  }
}

}  // namespace
}  // namespace paydist
