// tests/connectors/state_verify_test.cpp: connectors/state_verify.h over a real replayed state.
// A sound state passes with every database counted; each kind of damage written with a raw
// LMDB transaction (garbage or a cut record, a deadline entry deleted or added, a negative
// balance, an outbox seq past its counter, records nobody owns) is named, database and key,
// and the report is capped while every violation is counted.
#include "connectors/state_verify.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "connectors/record.h"
#include "tests/connectors/replayed_state.h"

namespace paydist {
namespace {

using testing::ReplayedState;

std::string be(std::uint64_t v, int bytes) {
  std::string out;
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

// The deadline index key of (timeline, date, seq): connectors/state_layout.h.
std::string deadline_key(std::uint32_t timeline, Date date, std::uint64_t seq) {
  return be(timeline, 4) + be(static_cast<std::uint32_t>(date.serial()) ^ 0x80000000u, 4) + be(seq, 8);
}

// A binary key as the report prints it: \xNN for every byte outside printable ASCII.
std::string escaped(std::string_view key) {
  std::string out;
  for (unsigned char c : key) out += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
  return out;
}

std::string joined(const VerifyReport& report) {
  std::string out;
  for (const std::string& line : report.violations) out += line + "\n";
  return out;
}

class StateVerify : public ::testing::Test {
 protected:
  VerifyReport verify(VerifyLimits limits = {}) {
    std::unique_ptr<StateStore> store = state.open_read_only();
    return store ? verify_state(*store, state.rules(), limits) : VerifyReport{};
  }
  // The report holds a line equal to `line`.
  static void expect_line(const VerifyReport& report, const std::string& line) {
    EXPECT_FALSE(report.ok());
    EXPECT_NE(joined(report).find(line + "\n"), std::string::npos) << "wanted: " << line << "\ngot:\n" << joined(report);
  }

  ReplayedState state;
};

TEST_F(StateVerify, ASoundStatePassesWithEveryDatabaseCounted) {
  const VerifyReport report = verify();
  EXPECT_TRUE(report.ok()) << joined(report);
  EXPECT_EQ(report.violations_total, 0u);
  const VerifyCounts& c = report.checked;
  EXPECT_GT(c.accounts, 10u);
  EXPECT_GT(c.payments, 10u);
  EXPECT_GT(c.deadlines, 0u);
  EXPECT_GT(c.events, c.accounts);
  EXPECT_GT(c.history_entries, c.accounts);
  EXPECT_EQ(c.timelines, 1u);
  EXPECT_EQ(c.file_positions, 1u);
  EXPECT_EQ(c.output_files, 3u);
  EXPECT_EQ(c.outbox_entries, 0u);  // a finished replay acknowledged everything
}

TEST_F(StateVerify, GarbageUnderAnAccountKeyIsReportedWithItsKeyNotSkipped) {
  const Account account = state.account_with_deadline();
  state.put("accounts", account.id.view(), "garbage");
  const VerifyReport report = verify();
  // 'g' reads as record version 103.
  expect_line(report, fmt::format("database 'accounts' key \"{}\": does not decode: account record: written by format "
                                  "version 103; this paydist reads up to version 2 (at byte 0 of 7)",
                                  account.id));
  EXPECT_EQ(report.violations_total, 1u) << joined(report);
}

TEST_F(StateVerify, ATruncatedRecordIsReported) {
  const Account account = state.account_with_deadline();
  const std::string record = state.get("accounts", account.id.view());
  ASSERT_GT(record.size(), 10u);
  state.put("accounts", account.id.view(), std::string_view{record}.substr(0, record.size() - 3));
  const VerifyReport report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(joined(report).find(fmt::format("database 'accounts' key \"{}\": does not decode: account record: ", account.id)),
            std::string::npos)
      << joined(report);
  // Its index entry points at an account already reported: not a second violation.
  EXPECT_EQ(report.violations_total, 1u) << joined(report);
}

TEST_F(StateVerify, ADeletedDeadlineEntryIsMissing) {
  const Account account = state.account_with_deadline();
  state.put("deadlines", deadline_key(account.timeline, *account.indexed_deadline, account.seq), std::nullopt);
  const VerifyReport report = verify();
  EXPECT_EQ(report.violations_total, 1u) << joined(report);
  expect_line(report, fmt::format("database 'deadlines': missing entry (timeline 0, {}, seq {}) for account \"{}\"",
                                  *account.indexed_deadline, account.seq, account.id));
}

TEST_F(StateVerify, AnAddedDeadlineEntryIsStale) {
  const Account account = state.account_with_deadline();
  const Date later = account.indexed_deadline->plus_days(1);
  state.put("deadlines", deadline_key(0, later, account.seq), account.id.view());
  const VerifyReport report = verify();
  EXPECT_EQ(report.violations_total, 1u) << joined(report);
  expect_line(report, fmt::format("database 'deadlines': stale entry (timeline 0, {}, seq {}) for account \"{}\", whose "
                                  "deadline entry is (timeline 0, {}, seq {})",
                                  later, account.seq, account.id, *account.indexed_deadline, account.seq));
}

TEST_F(StateVerify, AnEntryForAnAccountThatDoesNotExistIsStale) {
  state.put("deadlines", deadline_key(0, Date::parse("2027-01-01").value(), 999), "NOBODY");
  expect_line(verify(), "database 'deadlines': stale entry (timeline 0, 2027-01-01, seq 999): account \"NOBODY\" does "
                        "not exist");
}

TEST_F(StateVerify, ANegativeBalanceWrittenThroughTheCodecIsNamed) {
  Account account = state.account_with_deadline();
  ASSERT_FALSE(account.obligations.empty());
  account.obligations[0].balance.tax = Money::from_cents(-1);
  state.put("accounts", account.id.view(), encode_account(account));
  const VerifyReport report = verify();
  expect_line(report, fmt::format("database 'accounts' key \"{}\": obligation \"{}\": tax balance -0.01 is negative",
                                  account.id, account.obligations[0].id));
}

TEST_F(StateVerify, AnOutboxSeqNotBelowTheCounterIsNamed) {
  const std::string counter = state.get("meta", "next_output_seq");
  ASSERT_EQ(counter.size(), 8u);
  std::uint64_t next = 0;
  for (char c : counter) next = (next << 8) | static_cast<std::uint8_t>(c);
  const PendingOutput output{next, OutputTopic::activities, "ACC1", R"({"type":"X"})"};
  state.put("outbox", be(next, 8), encode_pending_output(output));
  const VerifyReport report = verify();
  EXPECT_EQ(report.checked.outbox_entries, 1u);
  expect_line(report, fmt::format("database 'outbox' key \"{}\": seq {} is not below the next output seq {}",
                                  escaped(be(next, 8)), next, next));
}

TEST_F(StateVerify, RecordsThatBelongToNoAccountAreNamed) {
  state.put("events", std::string{"e1"} + '\0' + "GHOST", "");
  state.put("accounts", std::string{"GHOST"} + '\0' + be(0, 8), "x");  // a history entry (format 7)
  const VerifyReport report = verify();
  EXPECT_EQ(report.violations_total, 2u) << joined(report);
  expect_line(report, "database 'events' key \"e1\\x00GHOST\": event of account \"GHOST\", which does not exist");
  expect_line(report,
              "database 'accounts' key \"GHOST\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\": entry of account \"GHOST\", "
              "which does not exist");
}

TEST_F(StateVerify, AnotherFormatVersionIsNamed) {
  state.put("meta", "format_version", be(99, 4));
  // open() refuses it first (what `paydist verify` reports); the walk names it too.
  StoreOptions options;
  options.access = StoreOptions::Access::read_only;
  Result<std::unique_ptr<StateStore>> store = StateStore::open(state.dir(), options);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().find("format version 99"), std::string::npos) << store.error();
}

TEST_F(StateVerify, TheReportIsCappedButEveryViolationCounted) {
  std::vector<std::string> ids;
  state.open_read_only()->for_each_account([&](const Account& a) {
    if (ids.size() < 5) ids.push_back(a.id.str());
  });
  ASSERT_EQ(ids.size(), 5u);
  for (const std::string& id : ids) state.put("accounts", id, "garbage");
  const VerifyReport report = verify(VerifyLimits{.violations_max = 2});
  EXPECT_EQ(report.violations.size(), 2u);
  EXPECT_GE(report.violations_total, 5u);
}

}  // namespace
}  // namespace paydist
