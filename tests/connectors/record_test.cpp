// tests/connectors/record_test.cpp: the state store's binary records round-trip every field,
// and decoding bad bytes (truncated, corrupt, newer) is an Error, never a crash.
#include "connectors/record.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace paydist {
namespace {

Date day(int y, int m, int d) { return Date::from_civil({y, m, d}); }
Money cents(std::int64_t c) { return Money::from_cents(c); }

// Every field of every nested struct away from its default.
Account full_account() {
  Account a;
  a.id = AccountId::parse("ACC-1.x:y_z").value();
  a.seq = 123456789012345ULL;
  a.ever_assessed = true;

  Obligation o1;
  o1.id = ObligationId::parse("OB1").value();
  o1.due_date = day(2025, 3, 31);
  o1.balance = {cents(123456), cents(-7), cents(999'999'999'999'999)};
  o1.plan_eligible = false;
  o1.due_checked = true;
  Obligation o2 = o1;
  o2.id = ObligationId::parse("OB2").value();
  o2.due_date = day(1, 1, 1);
  o2.plan_eligible = true;
  o2.due_checked = false;
  a.obligations = {o1, o2};

  Instalment i1;
  i1.due_date = day(2025, 4, 30);
  i1.amount = cents(5000);
  i1.skipped = true;
  i1.parts = {{0, cents(2500)}, {1, cents(100)}};
  i1.return_date = day(2025, 5, 2);
  i1.return_reason_code = "R01";
  Instalment i2;
  i2.due_date = day(9999, 12, 31);
  i2.amount = cents(1);
  a.arrangements.push_back(Arrangement{ArrangementId::parse("ARR1").value(), ArrangementKind::discount,
                                       ArrangementStatus::broken,
                                       {ObligationId::parse("OB2").value(), ObligationId::parse("OB1").value()},
                                       cents(88'000),
                                       {i1, i2},
                                       {{1, cents(42)}},
                                       true,
                                       day(2025, 6, 1)});
  Arrangement second;
  second.id = ArrangementId::parse("ARR2").value();
  second.kind = ArrangementKind::direct_debit;
  second.status = ArrangementStatus::cancelled;
  a.arrangements.push_back(second);

  PaymentRecord p1{PaymentId::parse("PAY1").value(),
                   cents(10'000),
                   {{ObligationId::parse("OB1").value(), Component::penalty, cents(9000)},
                    {ObligationId::parse("OB2").value(), Component::interest, cents(500)}},
                   cents(500),
                   true};
  PaymentRecord p2{PaymentId::parse("PAY2").value(), cents(1), {}, cents(1), false};
  a.payments = {p1, p2};
  a.reviews = {{ArrangementId::parse("ARR1").value(), day(2025, 7, 1)},
               {ArrangementId::parse("ARR2").value(), day(2025, 7, 2)}};
  a.indexed_deadline = day(2025, 5, 5);
  a.history_entries = 300;  // a two-byte varint
  a.timeline = 70'000;      // a three-byte varint
  return a;
}

FilePosition full_file_position() {
  FilePosition f;
  f.real_path = "/var/lib/paydist/in/events-2025-01-01.jsonl";
  f.lines_consumed = 77;
  f.bytes_consumed = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t i = 0; i < f.sha256.size(); ++i) f.sha256[i] = static_cast<std::uint8_t>(0xa0 + i);
  return f;
}

PendingOutput full_output() {
  return PendingOutput{std::numeric_limits<std::uint64_t>::max() - 1,
                       OutputTopic::rejects,
                       "ACC1",
                       R"({"source":"f:1","error":"bad","event":"{\"x\":1}"})",
                       std::numeric_limits<TimelineId>::max(),
                       std::numeric_limits<std::uint64_t>::max()};
}

TEST(Record, AccountRoundTripsEveryField) {
  const Account a = full_account();
  const std::string bytes = encode_account(a);
  EXPECT_EQ(bytes[0], 2) << "leading format version byte";
  Result<Account> back = decode_account(bytes);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, a);
}

TEST(Record, DefaultAccountRoundTrips) {
  Account a;
  a.id = AccountId::parse("A").value();
  Result<Account> back = decode_account(encode_account(a));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, a);
}

TEST(Record, ExtremeMoneyAndDatesRoundTrip) {
  Account a = full_account();
  a.obligations[0].balance = {cents(std::numeric_limits<std::int64_t>::min()),
                              cents(std::numeric_limits<std::int64_t>::max()), cents(-1)};
  a.obligations[1].due_date = Date::from_serial(std::numeric_limits<std::int32_t>::min());
  a.indexed_deadline = Date::from_serial(std::numeric_limits<std::int32_t>::max());
  a.seq = std::numeric_limits<std::uint64_t>::max();
  a.history_entries = std::numeric_limits<std::uint64_t>::max();
  Result<Account> back = decode_account(encode_account(a));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, a);
}

TEST(Record, TimelineFilePositionAndOutputRoundTrip) {
  const TimelineState t{day(2025, 1, 2), 99};
  Result<TimelineState> t_back = decode_timeline(encode_timeline(t));
  ASSERT_TRUE(t_back) << t_back.error();
  EXPECT_EQ(*t_back, t);
  Result<TimelineState> empty_back = decode_timeline(encode_timeline(TimelineState{}));
  ASSERT_TRUE(empty_back);
  EXPECT_EQ(*empty_back, TimelineState{});

  const FilePosition f = full_file_position();
  Result<FilePosition> f_back = decode_file_position(encode_file_position(f));
  ASSERT_TRUE(f_back) << f_back.error();
  EXPECT_EQ(*f_back, f);

  const PendingOutput o = full_output();
  Result<PendingOutput> o_back = decode_pending_output(encode_pending_output(o));
  ASSERT_TRUE(o_back) << o_back.error();
  EXPECT_EQ(o_back->seq, o.seq);
  EXPECT_EQ(o_back->topic, o.topic);
  EXPECT_EQ(o_back->key, o.key);
  EXPECT_EQ(o_back->json, o.json);
  EXPECT_EQ(o_back->timeline, o.timeline);
  EXPECT_EQ(o_back->partition_seq, o.partition_seq);
}

TEST(Record, EncodeReusesTheBufferItIsGiven) {
  std::string buffer = "left over from the previous record";
  encode_timeline(TimelineState{day(2025, 1, 2), 1}, buffer);
  EXPECT_EQ(buffer, encode_timeline(TimelineState{day(2025, 1, 2), 1}));
}

TEST(Record, EncodingASmallAccountOverALargeOneLeavesNothingBehind) {
  std::string buffer;
  encode_account(full_account(), buffer);
  Account small;
  small.id = AccountId::parse("S").value();
  encode_account(small, buffer);
  EXPECT_EQ(buffer, encode_account(small));
  Result<Account> back = decode_account(buffer);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, small);
}

// A batch keeps its outbox as records appended back to back; each slice is one record and
// the reported offsets point at its key and json (json lengths past one varint byte too).
TEST(Record, AppendedOutputsAreRecordsBackToBackWithTheirKeyAndJsonFound) {
  const std::string long_json = "{\"x\":\"" + std::string(300, 'j') + "\"}";
  std::string buffer = "earlier bytes";
  const std::size_t first_begin = buffer.size();
  const AppendedOutput first = append_pending_output(7, OutputTopic::rejects, "", "{}", 0, 1, buffer);
  const std::size_t second_begin = buffer.size();
  const AppendedOutput second =
      append_pending_output(300, OutputTopic::distributions, "ACC1", long_json, 130, 200, buffer);
  EXPECT_EQ(buffer.substr(0, first_begin), "earlier bytes");
  EXPECT_EQ(buffer.substr(first.json_begin, 2), "{}");
  EXPECT_EQ(buffer.substr(second.key_begin, 4), "ACC1");
  EXPECT_EQ(buffer.substr(second.json_begin), long_json);

  Result<PendingOutput> a = decode_pending_output(std::string_view{buffer}.substr(first_begin, second_begin - first_begin));
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->seq, 7u);
  EXPECT_EQ(a->topic, OutputTopic::rejects);
  EXPECT_EQ(a->key, "");
  EXPECT_EQ(a->json, "{}");
  Result<PendingOutput> b = decode_pending_output(std::string_view{buffer}.substr(second_begin));
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->seq, 300u);
  EXPECT_EQ(b->key, "ACC1");
  EXPECT_EQ(b->json, long_json);
  EXPECT_EQ(b->timeline, 130u);
  EXPECT_EQ(b->partition_seq, 200u);
  EXPECT_EQ(std::string_view{buffer}.substr(second_begin),
            encode_pending_output(PendingOutput{300, OutputTopic::distributions, "ACC1", long_json, 130, 200}));
}

template <class Decode>
void expect_every_truncation_fails(const std::string& bytes, Decode decode) {
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto result = decode(std::string_view{bytes}.substr(0, n));
    EXPECT_FALSE(result) << "a record cut to " << n << " of " << bytes.size() << " bytes decoded";
    if (!result) {
      EXPECT_FALSE(result.error().empty());
    }
  }
}

TEST(Record, TruncatedAtEveryByteIsAnError) {
  expect_every_truncation_fails(encode_account(full_account()), decode_account);
  expect_every_truncation_fails(encode_timeline(TimelineState{day(2025, 1, 2), 300}), decode_timeline);
  expect_every_truncation_fails(encode_file_position(full_file_position()), decode_file_position);
  expect_every_truncation_fails(encode_pending_output(full_output()), decode_pending_output);
}

TEST(Record, TruncationErrorSaysWhatWasBeingRead) {
  const std::string bytes = encode_account(full_account());
  Result<Account> r = decode_account(std::string_view{bytes}.substr(0, 5));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("account record"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("truncated"), std::string::npos) << r.error();
}

TEST(Record, NewerVersionIsRefusedSayingSo) {
  std::string bytes = encode_account(full_account());
  bytes[0] = 3;
  Result<Account> r = decode_account(bytes);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("format version 3"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("reads up to version 2"), std::string::npos) << r.error();

  std::string timeline = encode_timeline(TimelineState{});
  timeline[0] = static_cast<char>(0xff);
  EXPECT_FALSE(decode_timeline(timeline));
}

// Version 1 accounts (written before the timeline was kept) read as living on timeline 0.
TEST(Record, VersionOneAccountReadsAsTimelineZero) {
  Account a = full_account();
  a.timeline = 5;
  std::string bytes = encode_account(a);
  ASSERT_EQ(static_cast<unsigned char>(bytes.back()), 5u) << "the timeline is the last field";
  bytes.pop_back();
  bytes[0] = 1;
  Result<Account> back = decode_account(bytes);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->timeline, 0u);
  a.timeline = 0;
  EXPECT_EQ(*back, a);
  bytes[0] = 2;
  EXPECT_FALSE(decode_account(bytes)) << "version 2 without its timeline is truncated";
}

TEST(Record, VersionZeroAndEmptyInputAreErrors) {
  std::string bytes = encode_timeline(TimelineState{});
  bytes[0] = 0;
  EXPECT_FALSE(decode_timeline(bytes));
  EXPECT_FALSE(decode_account(""));
}

TEST(Record, OneRecordKindDoesNotDecodeAsAnother) {
  Result<Account> r = decode_account(encode_timeline(TimelineState{}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("kind"), std::string::npos) << r.error();
  EXPECT_FALSE(decode_pending_output(encode_file_position(full_file_position())));
}

TEST(Record, TrailingBytesAreAnError) {
  std::string bytes = encode_account(full_account());
  bytes.push_back('\0');
  Result<Account> r = decode_account(bytes);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("after the last field"), std::string::npos) << r.error();
}

TEST(Record, HugeCountIsAnErrorNotAnAllocation) {
  // version, kind, id "A", seq 0, ever_assessed 0, obligation count 2^62.
  std::string bytes = {1, 'A', 1, 'A', 0, 0};
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(0xff));
  bytes.push_back(0x3f);
  Result<Account> r = decode_account(bytes);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("count"), std::string::npos) << r.error();
}

TEST(Record, OverlongVarintIsAnError) {
  std::string bytes = {1, 'T', 0};
  for (int i = 0; i < 10; ++i) bytes.push_back(static_cast<char>(0xff));
  bytes.push_back(0x01);
  EXPECT_FALSE(decode_timeline(bytes));
}

TEST(Record, PaymentPartPastThePaymentsIsAnError) {
  Account a = full_account();
  a.arrangements[0].instalments[0].parts[1].payment_index = 2;  // only payments 0 and 1
  Result<Account> r = decode_account(encode_account(a));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("refers to payment 2 of 2"), std::string::npos) << r.error();
}

TEST(Record, InvalidIdIsAnError) {
  Account a = full_account();
  a.id = AccountId::trusted("bad id");
  EXPECT_FALSE(decode_account(encode_account(a)));
}

TEST(Record, OutOfRangeEnumIsAnError) {
  PendingOutput o = full_output();
  std::string bytes = encode_pending_output(o);
  // version, kind, seq varint (10 bytes for 2^64-2), then the topic byte.
  bytes[12] = 5;  // one past OutputTopic::state_changelog_deleted
  Result<PendingOutput> r = decode_pending_output(bytes);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("topic"), std::string::npos) << r.error();
}

// A small deterministic fuzz: every byte of a full account replaced by a few values. Each
// decode must return (ok or an error); ASan/UBSan builds check that nothing reads out of
// bounds on the way.
TEST(Record, CorruptedBytesNeverCrash) {
  const std::string good = encode_account(full_account());
  const unsigned char replacements[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff};
  std::size_t errors = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (unsigned char value : replacements) {
      std::string bytes = good;
      bytes[i] = static_cast<char>(value);
      Result<Account> r = decode_account(bytes);
      if (!r) ++errors;
    }
  }
  EXPECT_GT(errors, good.size());
}

}  // namespace
}  // namespace paydist
