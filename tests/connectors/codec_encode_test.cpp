// tests/connectors/codec_encode_test.cpp: the encoders of connectors/codec (contract 4, 5, 6):
// exact compact JSON for activities, distributions, rejects and inspect.
#include <string>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "connectors/codec.h"

namespace paydist {
namespace {

Date date(const char* text) { return Date::parse(text).value(); }
Money cents(std::int64_t c) { return Money::from_cents(c); }
template <class Id>
Id id(const char* text) {
  return Id::parse(text).value();
}

std::string activity_json(const Activity& a) {
  std::string out;
  append_activity_json(out, a);
  return out;
}
std::string distribution_json(const Distribution& d) {
  std::string out;
  append_distribution_json(out, d);
  return out;
}
std::string reject_json(std::string_view source, std::string_view error, std::string_view raw) {
  std::string out;
  append_reject_json(out, source, error, raw);
  return out;
}

// Parses `json` strictly and returns the string field `key` (fails the test if invalid).
std::string string_field(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto error = parser.parse(json).get(doc);
  EXPECT_FALSE(error) << simdjson::error_message(error) << ": " << json;
  if (error) return {};
  std::string_view value;
  error = doc[key].get_string().get(value);
  EXPECT_FALSE(error) << key;
  return std::string(value);
}

Activity base_activity(ActivityType type) {
  Activity a;
  a.activity_id = "act-1";
  a.type = type;
  a.account_id = id<AccountId>("A1");
  a.business_date = date("2026-02-15");
  return a;
}

TEST(EncodeActivity, WritesBrokenArrangementWithoutReasonCode) {
  Activity a = base_activity(ActivityType::broken_arrangement);
  a.arrangement_id = id<ArrangementId>("R1");
  a.kind = ArrangementKind::cash;
  a.missed_due_date = date("2026-01-31");
  a.amount = cents(50000);
  EXPECT_EQ(activity_json(a),
            R"({"activity_id":"act-1","type":"BROKEN_ARRANGEMENT","account_id":"A1","business_date":"2026-02-15",)"
            R"("arrangement_id":"R1","kind":"cash","missed_due_date":"2026-01-31","amount_missed":"500.00"})");
}

TEST(EncodeActivity, WritesBrokenArrangementReasonCodeAfterReturn) {
  Activity a = base_activity(ActivityType::broken_arrangement);
  a.arrangement_id = id<ArrangementId>("R1");
  a.kind = ArrangementKind::direct_debit;
  a.missed_due_date = date("2026-02-02");
  a.amount = cents(1);
  a.reason_code = "R01";
  EXPECT_EQ(activity_json(a),
            R"({"activity_id":"act-1","type":"BROKEN_ARRANGEMENT","account_id":"A1","business_date":"2026-02-15",)"
            R"("arrangement_id":"R1","kind":"direct_debit","missed_due_date":"2026-02-02","amount_missed":"0.01",)"
            R"("reason_code":"R01"})");
}

TEST(EncodeActivity, WritesNoArrangementWithObligation) {
  Activity a = base_activity(ActivityType::no_arrangement);
  a.trigger = NoArrangementTrigger::debt_due;
  a.debt_balance = cents(150001);
  a.obligation_id = id<ObligationId>("O1");
  EXPECT_EQ(activity_json(a),
            R"({"activity_id":"act-1","type":"NO_ARRANGEMENT","account_id":"A1","business_date":"2026-02-15",)"
            R"("trigger":"debt_due","debt_balance":"1500.01","obligation_id":"O1"})");
}

TEST(EncodeActivity, WritesNoArrangementWithArrangement) {
  Activity a = base_activity(ActivityType::no_arrangement);
  a.trigger = NoArrangementTrigger::arrangement_cancelled;
  a.debt_balance = cents(200000);
  a.arrangement_id = id<ArrangementId>("R9");
  EXPECT_EQ(activity_json(a),
            R"({"activity_id":"act-1","type":"NO_ARRANGEMENT","account_id":"A1","business_date":"2026-02-15",)"
            R"("trigger":"arrangement_cancelled","debt_balance":"2000.00","arrangement_id":"R9"})");
  a.arrangement_id.reset();
  a.obligation_id = id<ObligationId>("O2");
  a.trigger = NoArrangementTrigger::debt_increased;
  EXPECT_NE(activity_json(a).find(R"("trigger":"debt_increased","debt_balance":"2000.00","obligation_id":"O2"})"),
            std::string::npos);
}

TEST(EncodeActivity, WritesArrangementCompleted) {
  Activity a = base_activity(ActivityType::arrangement_completed);
  a.arrangement_id = id<ArrangementId>("R1");
  EXPECT_EQ(activity_json(a),
            R"({"activity_id":"act-1","type":"ARRANGEMENT_COMPLETED","account_id":"A1","business_date":"2026-02-15",)"
            R"("arrangement_id":"R1"})");
}

TEST(EncodeActivity, WritesReviewDueWithRequestedBy) {
  Activity a = base_activity(ActivityType::review_due);
  a.arrangement_id = id<ArrangementId>("R2");
  a.requested_by = RequestedBy::agency;
  EXPECT_EQ(activity_json(a),
            R"({"activity_id":"act-1","type":"REVIEW_DUE","account_id":"A1","business_date":"2026-02-15",)"
            R"("arrangement_id":"R2","requested_by":"agency"})");
}

TEST(EncodeActivity, WritesUnmatchedPayment) {
  Activity a = base_activity(ActivityType::unmatched_payment);
  a.payment_id = id<PaymentId>("P1");
  a.amount = cents(12345);
  EXPECT_EQ(activity_json(a),
            R"({"activity_id":"act-1","type":"UNMATCHED_PAYMENT","account_id":"A1","business_date":"2026-02-15",)"
            R"("payment_id":"P1","amount":"123.45"})");
}

TEST(EncodeActivity, WritesNullBusinessDateBeforeTheFirstOne) {
  Activity a = base_activity(ActivityType::unmatched_payment);
  a.business_date.reset();
  a.payment_id = id<PaymentId>("P1");
  a.amount = cents(5);
  EXPECT_NE(activity_json(a).find(R"("business_date":null,)"), std::string::npos);
}

TEST(EncodeActivity, EscapesActivityIdAndReasonCode) {
  Activity a = base_activity(ActivityType::broken_arrangement);
  a.activity_id = "a\"b\\c";
  a.arrangement_id = id<ArrangementId>("R1");
  a.reason_code = "R\n\xC3\xA9";
  const std::string json = activity_json(a);
  EXPECT_EQ(string_field(json, "activity_id"), "a\"b\\c");
  EXPECT_EQ(string_field(json, "reason_code"), "R\n\xC3\xA9");
}

// The encoder writes dates digit by digit; it must agree with Date's own text everywhere,
// and a deadline past 9999-12-31 still comes out as Date writes it.
TEST(EncodeActivity, WritesDatesAsDateDoesAcrossTheRange) {
  const Date max = date("9999-12-31");
  for (Date d : {date("0001-01-01"), date("0999-12-31"), date("1970-01-01"), date("2026-02-28"),
                 date("2028-02-29"), max, max.plus_days(400)}) {
    Activity a = base_activity(ActivityType::unmatched_payment);
    a.business_date = d;
    EXPECT_EQ(string_field(activity_json(a), "business_date"), d.to_string());
  }
}

TEST(EncodeActivity, AppendsWithoutNewlineToExistingText) {
  std::string out = "x";
  Activity a = base_activity(ActivityType::arrangement_completed);
  a.arrangement_id = id<ArrangementId>("R1");
  append_activity_json(out, a);
  EXPECT_EQ(out.front(), 'x');
  EXPECT_EQ(out.back(), '}');
}

Distribution applied() {
  Distribution d;
  d.event_id = id<EventId>("e10");
  d.account_id = id<AccountId>("A1");
  d.payment_id = id<PaymentId>("P2");
  d.kind = DistributionKind::applied;
  d.business_date = date("2026-02-28");
  d.lines = {{id<ObligationId>("O2"), Component::tax, cents(10000)},
             {id<ObligationId>("O1"), Component::penalty, cents(90000)},
             {id<ObligationId>("O1"), Component::interest, cents(5)}};
  d.credit = cents(10000);
  return d;
}

TEST(EncodeDistribution, WritesAppliedLinesInOrderAndCredit) {
  EXPECT_EQ(distribution_json(applied()),
            R"({"event_id":"e10","account_id":"A1","payment_id":"P2","kind":"applied","business_date":"2026-02-28",)"
            R"("lines":[{"obligation_id":"O2","component":"tax","amount":"100.00"},)"
            R"({"obligation_id":"O1","component":"penalty","amount":"900.00"},)"
            R"({"obligation_id":"O1","component":"interest","amount":"0.05"}],"credit":"100.00"})");
}

TEST(EncodeDistribution, WritesReversedWithReasonCode) {
  Distribution d = applied();
  d.kind = DistributionKind::reversed;
  d.lines.resize(1);
  d.credit = Money::zero();
  d.reason_code = "AM04";
  EXPECT_EQ(
      distribution_json(d),
      R"({"event_id":"e10","account_id":"A1","payment_id":"P2","kind":"reversed","business_date":"2026-02-28",)"
      R"("lines":[{"obligation_id":"O2","component":"tax","amount":"100.00"}],"credit":"0.00","reason_code":"AM04"})");
}

TEST(EncodeDistribution, WritesWriteOffWithArrangementAndNullPayment) {
  Distribution d = applied();
  d.kind = DistributionKind::write_off;
  d.payment_id.reset();
  d.lines.resize(1);
  d.credit = Money::zero();
  d.arrangement_id = id<ArrangementId>("R1");
  EXPECT_EQ(
      distribution_json(d),
      R"({"event_id":"e10","account_id":"A1","payment_id":null,"kind":"write_off","business_date":"2026-02-28",)"
      R"("lines":[{"obligation_id":"O2","component":"tax","amount":"100.00"}],"credit":"0.00","arrangement_id":"R1"})");
}

TEST(EncodeDistribution, WritesEmptyLinesAndNullBusinessDate) {
  Distribution d = applied();
  d.lines.clear();
  d.business_date.reset();
  EXPECT_EQ(distribution_json(d),
            R"({"event_id":"e10","account_id":"A1","payment_id":"P2","kind":"applied","business_date":null,)"
            R"("lines":[],"credit":"100.00"})");
}

TEST(EncodeDistribution, OmitsKindSpecificFieldsOnApplied) {
  Distribution d = applied();
  d.arrangement_id = id<ArrangementId>("R1");
  d.reason_code = "R01";
  const std::string json = distribution_json(d);
  EXPECT_EQ(json.find("arrangement_id"), std::string::npos);
  EXPECT_EQ(json.find("reason_code"), std::string::npos);
}

TEST(EncodeDistribution, WritesLargestAmountsExactly) {
  Distribution d = applied();
  d.lines = {{id<ObligationId>("O1"), Component::tax, cents(kMaxMessageCents)}};
  d.credit = cents(0);
  EXPECT_NE(distribution_json(d).find(R"("amount":"9999999999999.99")"), std::string::npos);
}

TEST(EncodeReject, WritesSourceErrorAndRawEvent) {
  EXPECT_EQ(
      reject_json("in.jsonl:3", R"(field "amount": invalid money "1e3": not a decimal number)", R"({"amount":"1e3"})"),
      R"({"source":"in.jsonl:3","error":"field \"amount\": invalid money \"1e3\": not a decimal number",)"
      R"("event":"{\"amount\":\"1e3\"}"})");
}

TEST(EncodeReject, EscapesControlCharactersAndBackslashes) {
  const std::string raw = std::string("a\\b\t\r\n\b\f\x01\x1f\x7f", 11) + std::string(1, '\0');
  const std::string json = reject_json("paydist.events/0/42", "e", raw);
  EXPECT_NE(json.find(R"("event":"a\\b\t\r\n\b\f\u0001\u001f)"
                      "\x7f"
                      R"(\u0000")"),
            std::string::npos)
      << json;
  EXPECT_EQ(string_field(json, "event"), raw);
}

TEST(EncodeReject, ReplacesInvalidUtf8WithReplacementCharacter) {
  const std::string json = reject_json("f:1", "invalid UTF-8",
                                       "a\xff"
                                       "b\xC3"
                                       "c\xE2\x82"
                                       "d\xED\xA0\x80"
                                       "e");
  EXPECT_EQ(string_field(json, "event"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c\xEF\xBF\xBD"
            "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "e");
}

TEST(EncodeReject, KeepsValidMultibyteText) {
  const std::string raw = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  EXPECT_EQ(string_field(reject_json("f:1", "x", raw), "event"), raw);
}

TEST(EncodeReject, EscapesInvalidSourceAndError) {
  const std::string json = reject_json("dir\xff/f\"1:2", "bad\n\xC3", "{}");
  EXPECT_EQ(string_field(json, "source"), "dir\xEF\xBF\xBD/f\"1:2");
  EXPECT_EQ(string_field(json, "error"), "bad\n\xEF\xBF\xBD");
}

TEST(EncodeReject, CutsRawEventAt64KiB) {
  const std::string raw(100000, 'x');
  EXPECT_EQ(string_field(reject_json("f:1", "too long", raw), "event").size(), 65536u);
  const std::string exact(65536, 'y');
  EXPECT_EQ(string_field(reject_json("f:1", "e", exact), "event"), exact);
}

TEST(EncodeReject, CutsRawEventOnUtf8Boundary) {
  std::string raw = "x";  // "é" pairs now straddle the 65536-byte mark
  for (int i = 0; i < 40000; ++i) raw += "\xC3\xA9";
  const std::string event = string_field(reject_json("f:1", "e", raw), "event");
  EXPECT_EQ(event.size(), 65535u);
  EXPECT_EQ(event, raw.substr(0, 65535));
  std::string four = "";  // 4-byte sequences: the cut backs up to 65536 - 65536 % 4
  for (int i = 0; i < 20000; ++i) four += "\xF0\x9F\x98\x80";
  EXPECT_EQ(string_field(reject_json("f:1", "e", four), "event"), four.substr(0, 65536));
  EXPECT_EQ(string_field(reject_json("f:1", "e", "ab" + four), "event"), ("ab" + four).substr(0, 65534));
}

TEST(EncodeReject, RoundTripsEveryByteValueAsValidJson) {
  std::string raw;
  for (int b = 0; b < 256; ++b) raw.push_back(static_cast<char>(b));
  const std::string event = string_field(reject_json("f:1", "e", raw), "event");
  EXPECT_EQ(event.substr(0, 128), raw.substr(0, 128));  // ASCII comes back unchanged
  EXPECT_TRUE(simdjson::validate_utf8(event.data(), event.size()));
}

Account sample_account() {
  Account account;
  account.id = id<AccountId>("ACC8");
  Obligation late{id<ObligationId>("O3"), date("2026-06-30"), {cents(100), cents(0), cents(5)}, true, false};
  Obligation early_b{id<ObligationId>("O2"), date("2026-02-01"), {cents(0), cents(200), cents(0)}, true, false};
  Obligation early_a{id<ObligationId>("O10"), date("2026-02-01"), {}, false, false};
  account.obligations = {late, early_b, early_a};
  PaymentRecord kept{id<PaymentId>("P1"), cents(1000), {}, cents(700), false};
  PaymentRecord returned{id<PaymentId>("P2"), cents(1000), {}, cents(50), true};
  account.payments = {kept, returned};
  return account;
}

TEST(EncodeInspect, WritesAccountWithObligationsSortedByDueDateThenId) {
  Rules rules;
  EXPECT_EQ(
      inspect_json(sample_account(), date("2026-03-01"), rules),
      R"({"account_id":"ACC8","credit":"7.00","debt":"3.05","obligations":[)"
      R"({"obligation_id":"O10","due_date":"2026-02-01","balance":{"tax":"0.00","penalty":"0.00","interest":"0.00"}},)"
      R"({"obligation_id":"O2","due_date":"2026-02-01","balance":{"tax":"0.00","penalty":"2.00","interest":"0.00"}},)"
      R"({"obligation_id":"O3","due_date":"2026-06-30","balance":{"tax":"1.00","penalty":"0.00","interest":"0.05"}}],)"
      R"("arrangements":[]})");
}

TEST(EncodeInspect, WritesEmptyAccount) {
  Account account;
  account.id = id<AccountId>("A0");
  Rules rules;
  EXPECT_EQ(inspect_json(account, std::nullopt, rules),
            R"({"account_id":"A0","credit":"0.00","debt":"0.00","obligations":[],"arrangements":[]})");
}

TEST(EncodeInspect, WritesArrangementsInCreationOrderWithInstalmentStatuses) {
  Account account = sample_account();
  Arrangement first;
  first.id = id<ArrangementId>("R2");
  first.kind = ArrangementKind::cash;
  first.status = ArrangementStatus::current;
  first.activated = true;
  Instalment paid{date("2026-01-31"), cents(500), false, {{0, cents(500)}}, std::nullopt, ""};
  Instalment missed{date("2026-02-01"), cents(500), false, {{0, cents(100)}}, std::nullopt, ""};
  Instalment skipped{date("2026-02-10"), cents(500), true, {}, std::nullopt, ""};
  Instalment due{date("2026-03-31"), cents(500), false, {}, std::nullopt, ""};
  first.instalments = {paid, missed, skipped, due};
  Arrangement second;
  second.id = id<ArrangementId>("R1");
  second.kind = ArrangementKind::discount;
  second.status = ArrangementStatus::pending_start;
  second.instalments = {Instalment{date("2026-01-01"), cents(100), false, {}, std::nullopt, ""}};
  account.arrangements = {first, second};
  Rules rules;  // cash grace 14 days: 2026-02-01 + 14 = 2026-02-15 <= 2026-03-01
  const std::string json = inspect_json(account, date("2026-03-01"), rules);
  EXPECT_NE(json.find(R"("arrangements":[{"arrangement_id":"R2","kind":"cash","status":"current","instalments":[)"
                      R"({"due_date":"2026-01-31","amount":"5.00","paid":"5.00","status":"paid"},)"
                      R"({"due_date":"2026-02-01","amount":"5.00","paid":"1.00","status":"missed"},)"
                      R"({"due_date":"2026-02-10","amount":"5.00","paid":"0.00","status":"skipped"},)"
                      R"({"due_date":"2026-03-31","amount":"5.00","paid":"0.00","status":"due"}]},)"
                      R"({"arrangement_id":"R1","kind":"discount","status":"pending_start","instalments":[)"
                      R"({"due_date":"2026-01-01","amount":"1.00","paid":"0.00","status":"due"}]}]})"),
            std::string::npos)
      << json;
}

TEST(EncodeInspect, OutputDecodesAsStrictJson) {
  Rules rules;
  const std::string json = inspect_json(sample_account(), std::nullopt, rules);
  EXPECT_EQ(string_field(json, "account_id"), "ACC8");
}

}  // namespace
}  // namespace paydist
